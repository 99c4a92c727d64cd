//! An OCI image layout as a tar archive (`oci-archive:` for skopeo, `podman
//! load`), laid out before a byte of it is read: the entries and their sizes
//! come from the manifest, so the archive's length and every entry's offset
//! are known, any byte range can be served (a download resumes), and the
//! blobs are streamed from the registry into their place, never held whole.
//!
//! Layout: `oci-layout`, `index.json`, the directories `blobs/` and
//! `blobs/sha256/`, then each blob (`blobs/sha256/<hex>`: the manifest, the
//! config, the layers), each a 512-byte ustar header and its data padded
//! to 512, then two zero blocks.

const BLOCK: u64 = 512;

/// One member of the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub size: u64,
    pub dir: bool,
}

impl Entry {
    pub fn file(path: impl Into<String>, size: u64) -> Self {
        Self { path: path.into(), size, dir: false }
    }

    pub fn dir(path: impl Into<String>) -> Self {
        Self { path: path.into(), size: 0, dir: true }
    }
}

/// Where each entry lies.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Each entry with the offset of its header.
    entries: Vec<(u64, Entry)>,
    total: u64,
}

/// A part of a byte range: a slice of a header, of an entry's data, or zeros
/// (padding and the end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Bytes `from..to` of entry `index`'s header.
    Header { index: usize, from: u64, to: u64 },
    /// Bytes `from..to` of entry `index`'s data.
    Data { index: usize, from: u64, to: u64 },
    Zeros(u64),
}

fn padded(n: u64) -> u64 {
    n.div_ceil(BLOCK) * BLOCK
}

impl Layout {
    /// The layout of `entries`, in order. Paths are at most 100 bytes.
    pub fn new(entries: Vec<Entry>) -> Result<Self, String> {
        let mut at = 0;
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            if e.path.is_empty() || e.path.len() > 100 || !e.path.is_ascii() {
                return Err(format!("{:?}: an archive path is 1–100 ASCII bytes", e.path));
            }
            let size = e.size;
            out.push((at, e));
            at += BLOCK + padded(size);
        }
        Ok(Self { entries: out, total: at + 2 * BLOCK })
    }

    /// The archive's length in bytes.
    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn entry(&self, index: usize) -> Option<&Entry> {
        self.entries.get(index).map(|(_, e)| e)
    }

    /// The ustar header of entry `index` (mode 0644 or 0755, owner 0, time 0).
    pub fn header(&self, index: usize) -> [u8; 512] {
        let mut h = [0u8; 512];
        let Some((_, e)) = self.entries.get(index) else { return h };
        let put = |h: &mut [u8; 512], at: usize, len: usize, v: &[u8]| h[at..at + v.len().min(len)].copy_from_slice(&v[..v.len().min(len)]);
        let octal = |n: u64, width: usize| format!("{n:0w$o}\0", w = width - 1).into_bytes();
        put(&mut h, 0, 100, e.path.as_bytes());
        put(&mut h, 100, 8, &octal(if e.dir { 0o755 } else { 0o644 }, 8));
        put(&mut h, 108, 8, &octal(0, 8));
        put(&mut h, 116, 8, &octal(0, 8));
        put(&mut h, 124, 12, &octal(e.size, 12));
        put(&mut h, 136, 12, &octal(0, 12));
        h[148..156].copy_from_slice(b"        ");
        h[156] = if e.dir { b'5' } else { b'0' };
        put(&mut h, 257, 6, b"ustar\0");
        put(&mut h, 263, 2, b"00");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        put(&mut h, 148, 8, &format!("{sum:06o}\0 ").into_bytes());
        h
    }

    /// The pieces that make bytes `start..end` (end exclusive, at most the total).
    pub fn pieces(&self, start: u64, end: u64) -> Vec<Piece> {
        let end = end.min(self.total);
        let mut out = Vec::new();
        let mut pos = start;
        for (index, (at, e)) in self.entries.iter().enumerate() {
            if pos >= end {
                break;
            }
            let header_end = at + BLOCK;
            let data_end = header_end + e.size;
            let entry_end = header_end + padded(e.size);
            if pos >= entry_end {
                continue;
            }
            if pos < header_end {
                let to = header_end.min(end);
                out.push(Piece::Header { index, from: pos - at, to: to - at });
                pos = to;
            }
            if pos < data_end && pos < end {
                let to = data_end.min(end);
                out.push(Piece::Data { index, from: pos - header_end, to: to - header_end });
                pos = to;
            }
            if pos < entry_end && pos < end {
                let to = entry_end.min(end);
                out.push(Piece::Zeros(to - pos));
                pos = to;
            }
        }
        if pos < end {
            out.push(Piece::Zeros(end - pos));
        }
        out
    }
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` of a `total`-byte body: the
/// half-open range it asks for. `None` for anything else (several ranges
/// included): the whole body is sent. `Err` when it lies outside (416).
pub fn parse_range(header: &str, total: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let num = |s: &str| s.trim().parse::<u64>().ok();
    let range = match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, false) => {
            let n = num(b)?;
            (total.saturating_sub(n), total)
        }
        (false, true) => (num(a)?, total),
        (false, false) => (num(a)?, num(b)?.saturating_add(1).min(total)),
        (true, true) => return None,
    };
    Some(if range.0 < range.1 && range.0 < total { Ok(range) } else { Err(()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::new(vec![Entry::file("oci-layout", 30), Entry::dir("blobs/"), Entry::file("blobs/sha256/aa", 1000)]).unwrap()
    }

    /// The whole archive as the pieces say it, data bytes from `fill`.
    fn bytes(l: &Layout, start: u64, end: u64, fill: &dyn Fn(usize, u64) -> u8) -> Vec<u8> {
        let mut out = Vec::new();
        for p in l.pieces(start, end) {
            match p {
                Piece::Header { index, from, to } => out.extend_from_slice(&l.header(index)[from as usize..to as usize]),
                Piece::Data { index, from, to } => out.extend((from..to).map(|i| fill(index, i))),
                Piece::Zeros(n) => out.extend(std::iter::repeat_n(0u8, n as usize)),
            }
        }
        out
    }

    #[test]
    fn the_layout_is_known_before_reading_and_ranges_reassemble() {
        let l = layout();
        assert_eq!(l.total(), 512 + 512 + 512 + 512 + 1024 + 1024);
        let fill = |index: usize, i: u64| (index as u64 * 7 + i) as u8;
        let whole = bytes(&l, 0, l.total(), &fill);
        assert_eq!(whole.len() as u64, l.total());
        for cut in [1, 511, 512, 513, 1500, 2047, 2048, 3000, l.total() - 1] {
            let mut joined = bytes(&l, 0, cut, &fill);
            joined.extend(bytes(&l, cut, l.total(), &fill));
            assert_eq!(joined, whole, "resumed at {cut}");
        }
        // The header checksum is what tar computes: the sum with the field as spaces.
        let h = l.header(0);
        let mut blank = h;
        blank[148..156].copy_from_slice(b"        ");
        let sum: u32 = blank.iter().map(|b| u32::from(*b)).sum();
        assert_eq!(std::str::from_utf8(&h[148..154]).unwrap(), format!("{sum:06o}"));
        assert_eq!(&h[257..263], b"ustar\0");
        assert_eq!(l.header(1)[156], b'5');
        assert!(Layout::new(vec![Entry::file("x".repeat(101), 1)]).is_err());
    }

    #[test]
    fn ranges_parse_as_http_says() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some(Ok((0, 100))));
        assert_eq!(parse_range("bytes=500-", 1000), Some(Ok((500, 1000))));
        assert_eq!(parse_range("bytes=-100", 1000), Some(Ok((900, 1000))));
        assert_eq!(parse_range("bytes=900-5000", 1000), Some(Ok((900, 1000))));
        assert_eq!(parse_range("bytes=1000-", 1000), Some(Err(())));
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
    }
}
