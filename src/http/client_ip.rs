//! The client's address behind a load balancer: the peer address, unless the peer is one of
//! `TRUSTED_PROXIES`; then the nearest `X-Forwarded-For` entry that is not a trusted proxy.
//!
//! Without it every client behind nginx would share the balancer's address, and the per-IP
//! rate limits would throttle all of them together. Entries added by the client itself
//! (the left end of the header) are never believed over what a trusted proxy appended.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// The address to count a request under.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|entry| entry.trim().parse().ok())
        .collect();
    // From the nearest hop outwards: the first address no trusted proxy claims is the client.
    Some(forwarded.iter().rev().find(|address| !trusted.contains(address)).copied().unwrap_or(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().expect("a header value"));
        headers
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "127.0.0.1".parse().expect("an address");
        let client: IpAddr = "203.0.113.7".parse().expect("an address");
        let other: IpAddr = "198.51.100.1".parse().expect("an address");
        let forwarded = headers("198.51.100.1, 203.0.113.7");
        assert_eq!(client_ip(Some(proxy), &forwarded, &[]), Some(proxy), "no trusted proxy: the peer");
        assert_eq!(client_ip(Some(other), &forwarded, &[proxy]), Some(other), "an untrusted peer is the client");
        assert_eq!(client_ip(Some(proxy), &forwarded, &[proxy]), Some(client), "the entry the proxy appended");
        assert_eq!(client_ip(Some(proxy), &HeaderMap::new(), &[proxy]), Some(proxy), "no header: the peer");
        assert_eq!(client_ip(Some(proxy), &headers("junk"), &[proxy]), Some(proxy), "unreadable entries are ignored");
    }
}
