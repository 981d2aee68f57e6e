//! Who the client is behind trusted proxies. Security-sensitive: the IP
//! allowlist and the audit log rest on this answer.
//!
//! X-Forwarded-For is a list every proxy appends its peer to, so only the
//! right-hand end, written by proxies we trust, is believable; whatever a
//! client sent sits on the left. We walk from the right, past trusted
//! proxies, and the first address that is not one is the client (RFC 7239
//! §5.2 describes the same walk). A hop we cannot read (`unknown`, a
//! `_hidden` obfuscated name, garbage) ends the walk with no answer: skipping
//! it would hand the decision to the entries further left, which the client
//! wrote. An unknown client is then refused by an IP allowlist (fail closed).
//!
//! Only X-Forwarded-For is read, not RFC 7239 `Forwarded`: a proxy that
//! maintains one of the two passes the other through from the client
//! unchanged, so believing both (or whichever is present) would let a client
//! choose its own address.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The client's address: the socket peer, or, when the peer is a trusted
/// proxy, the nearest X-Forwarded-For hop that is not itself a trusted
/// proxy (the left-most hop when all are). `None` when a hop on the way
/// cannot be read.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return Some(client);
    }
    // Repeated header lines form one list, in order (RFC 9110 §5.3).
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        hops.extend(value.to_str().ok()?.split(','));
    }
    for hop in hops.into_iter().rev() {
        client = parse_hop(hop)?;
        if !is_trusted(&client) {
            break;
        }
    }
    Some(client)
}

/// One hop as proxies write it: `203.0.113.7`, `203.0.113.7:4711`,
/// `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:4711`, optionally in
/// double quotes (the RFC 7239 form some proxies copy into the header).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let hop = hop
        .strip_prefix('"')
        .and_then(|h| h.strip_suffix('"'))
        .unwrap_or(hop);
    let ip = hop
        .parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .or_else(|| {
            let bracketed = hop.strip_prefix('[')?.strip_suffix(']')?;
            bracketed.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn proxies() -> Vec<IpNet> {
        vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()]
    }

    /// The client as seen through the trusted proxy 10.0.0.2.
    fn behind_proxy(values: &[&str]) -> Option<IpAddr> {
        client_ip(ip("10.0.0.2"), &forwarded(values), &proxies())
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        let peer = ip("203.0.113.9");
        assert_eq!(
            client_ip(peer, &forwarded(&["198.51.100.1"]), &proxies()),
            Some(peer)
        );
    }

    #[test]
    fn a_trusted_proxy_passes_on_the_rightmost_untrusted_hop() {
        assert_eq!(
            behind_proxy(&["1.1.1.1, 198.51.100.7, 10.0.0.3"]),
            Some(ip("198.51.100.7"))
        );
    }

    #[test]
    fn the_forms_proxies_send_are_understood() {
        for (hop, expected) in [
            ("198.51.100.7", "198.51.100.7"),
            ("198.51.100.7:4711", "198.51.100.7"),
            ("2001:db8::7", "2001:db8::7"),
            ("[2001:db8::7]", "2001:db8::7"),
            ("[2001:db8::7]:4711", "2001:db8::7"),
            ("\"[2001:db8::7]:4711\"", "2001:db8::7"),
            ("\"198.51.100.7\"", "198.51.100.7"),
            ("  198.51.100.7  ", "198.51.100.7"),
            ("::ffff:198.51.100.7", "198.51.100.7"),
        ] {
            let header = format!("6.6.6.6, {hop}, 10.0.0.3");
            assert_eq!(behind_proxy(&[&header]), Some(ip(expected)), "{hop}");
        }
    }

    #[test]
    fn a_hop_that_cannot_be_read_ends_the_walk_without_a_client() {
        for hop in [
            "unknown",
            "_hidden",
            "",
            "garbage",
            "198.51.100.7:port",
            "[198.51.100.7]",
            "2001:db8::7:4711:",
        ] {
            let header = format!("6.6.6.6, {hop}, 10.0.0.3");
            assert_eq!(behind_proxy(&[&header]), None, "{hop:?}");
        }
    }

    #[test]
    fn garbage_left_of_the_client_does_not_matter() {
        assert_eq!(
            behind_proxy(&["unknown, 198.51.100.7:4711"]),
            Some(ip("198.51.100.7"))
        );
    }

    #[test]
    fn repeated_header_lines_are_one_list() {
        assert_eq!(
            behind_proxy(&["6.6.6.6", "198.51.100.7", "10.0.0.3"]),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(behind_proxy(&["6.6.6.6", "unknown", "10.0.0.3"]), None);
    }

    #[test]
    fn a_chain_of_trusted_addresses_ends_at_its_left_most_hop() {
        assert_eq!(behind_proxy(&["10.0.0.9, 10.0.0.3"]), Some(ip("10.0.0.9")));
        assert_eq!(behind_proxy(&[]), Some(ip("10.0.0.2")));
    }

    #[test]
    fn an_ipv4_mapped_peer_is_matched_against_ipv4_proxies() {
        let peer = ip("::ffff:10.0.0.2");
        assert_eq!(
            client_ip(peer, &forwarded(&["198.51.100.7"]), &proxies()),
            Some(ip("198.51.100.7"))
        );
    }
}
