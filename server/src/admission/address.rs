//! The client's address: the TCP peer's, or behind a trusted reverse proxy, the right-most
//! address of `X-Forwarded-For` that is not one of the trusted proxies.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;

/// The peer of a connection, as the listener accepted it; put in each HTTP request's
/// extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

/// A network: an address and how many leading bits of it count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix_len: u8,
}

impl Network {
    /// Whether `address` is in this network (an IPv4 address mapped into IPv6 counts as IPv4).
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.address, canonical(address)) {
            (IpAddr::V4(network), IpAddr::V4(address)) => prefix_matches(
                network.to_bits().into(),
                address.to_bits().into(),
                self.prefix_len,
                32,
            ),
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                prefix_matches(network.to_bits(), address.to_bits(), self.prefix_len, 128)
            }
            _ => false,
        }
    }
}

fn prefix_matches(network: u128, address: u128, prefix_len: u8, bits: u32) -> bool {
    let prefix_len = u32::from(prefix_len);
    if prefix_len == 0 {
        return true;
    }
    let shift = bits - prefix_len;
    (network >> shift) == (address >> shift)
}

/// Parses `203.0.113.7`, `10.0.0.0/8`, `::1` or `2001:db8::/32`.
impl FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or a network like 10.0.0.0/8"))?;
        let address = canonical(address);
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix_len = match prefix {
            None => bits,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|len| *len <= bits)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {bits}"))?,
        };
        Ok(Network {
            address,
            prefix_len,
        })
    }
}

/// An IPv4 address mapped into IPv6 (`::ffff:a.b.c.d`) as the IPv4 address it is.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address for a request that reached us from `peer` with `headers`: `peer`
/// itself unless it is one of `trusted` proxies; then the right-most address of
/// `X-Forwarded-For` (every such header, in order, read as one list) that is not a trusted
/// proxy. Should the list hold only trusted proxies, its left-most; should an entry not be an
/// address, the trusted hop to its right (a proxy does not vouch for what it did not add).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[Network]) -> IpAddr {
    let is_trusted = |address: IpAddr| trusted.iter().any(|network| network.contains(address));
    let mut client = canonical(peer);
    if !is_trusted(client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    for hop in hops.iter().rev() {
        let Some(address) = parse_hop(hop) else {
            return client;
        };
        client = address;
        if !is_trusted(address) {
            return client;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(address) = hop.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    hop.parse::<SocketAddr>()
        .ok()
        .map(|socket| canonical(socket.ip()))
}

/// What limits per address count under: an IPv4 address itself, an IPv6 address by its /64
/// (one host usually holds a whole /64, and would otherwise have 2^64 addresses to spread over).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(IpAddr);

impl AddressKey {
    pub fn of(address: IpAddr) -> AddressKey {
        match canonical(address) {
            IpAddr::V6(v6) => {
                let bits = v6.to_bits() & !((1u128 << 64) - 1);
                AddressKey(IpAddr::V6(Ipv6Addr::from_bits(bits)))
            }
            v4 => AddressKey(v4),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn networks(list: &[&str]) -> Vec<Network> {
        list.iter()
            .map(|text| text.parse().expect("network"))
            .collect()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                "x-forwarded-for",
                HeaderValue::from_str(value).expect("value"),
            );
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn networks_parse_and_contain() {
        let trusted = networks(&["10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::1"]);
        assert!(trusted[0].contains(ip("10.200.3.4")));
        assert!(!trusted[0].contains(ip("11.0.0.1")));
        assert!(trusted[1].contains(ip("192.168.1.7")));
        assert!(!trusted[1].contains(ip("192.168.1.8")));
        assert!(trusted[2].contains(ip("2001:db8:ffff::1")));
        assert!(!trusted[2].contains(ip("2001:db9::1")));
        assert!(
            trusted[0].contains(ip("::ffff:10.1.2.3")),
            "a mapped IPv4 address is IPv4"
        );
        assert!(networks(&["0.0.0.0/0"])[0].contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "::/129", "example.com", "10.0.0.0/x", ""] {
            assert!(bad.parse::<Network>().is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn the_forwarded_address_counts_only_from_a_trusted_proxy() {
        let trusted = networks(&["10.0.0.0/8"]);
        let headers = forwarded(&["198.51.100.9"]);
        assert_eq!(
            client_address(ip("203.0.113.5"), &headers, &trusted),
            ip("203.0.113.5"),
            "a client that is not a proxy cannot claim another address"
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &headers, &trusted),
            ip("198.51.100.9")
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &headers, &[]),
            ip("10.0.0.2"),
            "with no trusted proxy the header is ignored"
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2"),
            "a trusted proxy that forwards nothing is the client"
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted = networks(&["10.0.0.0/8", "2001:db8::/32"]);
        // The client put a made-up address first; the proxies appended what they saw.
        let headers = forwarded(&["1.1.1.1, 198.51.100.9", "10.0.0.7"]);
        assert_eq!(
            client_address(ip("10.0.0.2"), &headers, &trusted),
            ip("198.51.100.9")
        );
        let only_proxies = forwarded(&["10.0.0.9, 10.0.0.7"]);
        assert_eq!(
            client_address(ip("10.0.0.2"), &only_proxies, &trusted),
            ip("10.0.0.9")
        );
        let with_ports = forwarded(&["[2001:db9::5]:443, 10.0.0.7:80"]);
        assert_eq!(
            client_address(ip("10.0.0.2"), &with_ports, &trusted),
            ip("2001:db9::5")
        );
        let garbage = forwarded(&["198.51.100.9, not-an-address, 10.0.0.7"]);
        assert_eq!(
            client_address(ip("10.0.0.2"), &garbage, &trusted),
            ip("10.0.0.7"),
            "past an entry that is not an address nothing is believed"
        );
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_bit_prefix() {
        assert_eq!(
            AddressKey::of(ip("2001:db8:1:2:aaaa::1")),
            AddressKey::of(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            AddressKey::of(ip("2001:db8:1:2::1")),
            AddressKey::of(ip("2001:db8:1:3::1"))
        );
        assert_ne!(
            AddressKey::of(ip("192.0.2.1")),
            AddressKey::of(ip("192.0.2.2"))
        );
        assert_eq!(
            AddressKey::of(ip("::ffff:192.0.2.1")),
            AddressKey::of(ip("192.0.2.1"))
        );
    }
}
