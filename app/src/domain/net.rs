//! The client network a request comes from: the unit every per-client limit
//! and every aggregated audit row keys on. An IPv4 address is its own
//! network; an IPv6 address counts as its /64 (one host is routinely given a
//! whole /64, so keying on the full address would let it step around every
//! limit by changing its interface id). An IPv4-mapped IPv6 address is the
//! IPv4 address it maps.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientNetwork {
    V4(Ipv4Addr),
    /// The first 64 bits of the address; the rest are zero.
    V6(Ipv6Addr),
}

impl ClientNetwork {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
            },
        }
    }
}

impl fmt::Display for ClientNetwork {
    /// `203.0.113.7`, `2001:db8:1:2::/64`: what the audit log's `ip` column
    /// shows for an aggregated row.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(a) => write!(f, "{a}"),
            Self::V6(a) => write!(f, "{a}/64"),
        }
    }
}

/// An address range in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`; a bare
/// address is its /32 or /128), normalised: host bits cleared, IPv4-mapped
/// IPv6 as IPv4. What a registry credential may be limited to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    base: IpAddr,
    prefix: u8,
}

/// At most this many ranges per credential.
pub const CIDR_MAX: usize = 20;

impl Cidr {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let bad = || format!("{raw:?} is not an address range like 10.0.0.0/8 or 2001:db8::/32");
        if raw.is_empty() || raw.len() > 64 {
            return Err(bad());
        }
        let (addr, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw, None),
        };
        let ip: IpAddr = addr.parse().map_err(|_| bad())?;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("{raw:?}: the prefix length must be 0–{max}"))?
            }
            Some(_) => return Err(bad()),
        };
        Ok(Self { base: mask(ip, prefix), prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        ip.is_ipv4() == self.base.is_ipv4() && mask(ip, self.prefix) == self.base
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let m = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// A list of ranges as typed (separated by commas, spaces or lines), each
/// parsed, duplicates dropped, sorted; empty means no limit.
pub fn parse_cidrs(raw: &str) -> Result<Vec<Cidr>, String> {
    let mut out: Vec<Cidr> = Vec::new();
    for part in raw.split(|c: char| c == ',' || c.is_whitespace()).filter(|p| !p.is_empty()) {
        out.push(Cidr::parse(part)?);
        if out.len() > CIDR_MAX {
            return Err(format!("at most {CIDR_MAX} address ranges"));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The stored form of a list: `10.0.0.0/8 2001:db8::/32`.
pub fn format_cidrs(list: &[Cidr]) -> String {
    list.iter().map(Cidr::to_string).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> ClientNetwork {
        ClientNetwork::of(s.parse().unwrap())
    }

    #[test]
    fn ipv6_addresses_in_one_64_are_one_network() {
        assert_eq!(net("2001:db8:1:2::1"), net("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_ne!(net("2001:db8:1:2::1"), net("2001:db8:1:3::1"));
        assert_eq!(net("2001:db8:1:2:abcd::9").to_string(), "2001:db8:1:2::/64");
    }

    #[test]
    fn ipv4_addresses_are_their_own_network_also_when_mapped() {
        assert_ne!(net("203.0.113.7"), net("203.0.113.8"));
        assert_eq!(net("::ffff:203.0.113.7"), net("203.0.113.7"));
        assert_eq!(net("203.0.113.7").to_string(), "203.0.113.7");
    }

    #[test]
    fn cidr_ranges_parse_normalise_and_match() {
        let c = Cidr::parse("10.1.2.3/8").unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert!(c.contains("10.200.0.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.0.0.9".parse().unwrap()), "a mapped address is its IPv4 address");
        let one = Cidr::parse("127.0.0.2").unwrap();
        assert_eq!(one.to_string(), "127.0.0.2/32");
        assert!(one.contains("127.0.0.2".parse().unwrap()) && !one.contains("127.0.0.1".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::1/32").unwrap();
        assert_eq!(v6.to_string(), "2001:db8::/32");
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        for bad in ["", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/+8", "example.com", "10.0.0.0/8/8", "::/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidr_lists_dedup_and_are_bounded() {
        let l = parse_cidrs("10.0.0.0/8, 10.9.9.9/8\n192.168.0.0/16").unwrap();
        assert_eq!(format_cidrs(&l), "10.0.0.0/8 192.168.0.0/16");
        assert!(parse_cidrs("").unwrap().is_empty());
        let many = (0..21).map(|i| format!("10.0.{i}.0/24")).collect::<Vec<_>>().join(",");
        assert!(parse_cidrs(&many).is_err());
    }
}
