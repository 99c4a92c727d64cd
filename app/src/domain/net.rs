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
}
