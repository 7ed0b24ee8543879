//! Where a webhook may be sent, so that an endpoint cannot make Pitch In reach into its own network (SSRF). In
//! production an endpoint is HTTPS and none of its addresses is loopback, private, link-local (cloud metadata
//! lives at 169.254.169.254), shared, multicast or otherwise special; development also allows loopback, so tests
//! can receive. The address is checked when the endpoint is registered and again at every delivery, on the
//! addresses actually connected to (the transport resolves through `allowed`), so a name that later resolves
//! somewhere else (DNS rebinding) reaches nothing it should not.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::error::{AppError, AppResult};

/// What a deployment lets webhooks reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetPolicy {
    pub require_https: bool,
    pub allow_loopback: bool,
}

impl TargetPolicy {
    pub const PRODUCTION: Self = Self { require_https: true, allow_loopback: false };
    pub const DEVELOPMENT: Self = Self { require_https: false, allow_loopback: true };
}

/// Longest endpoint address accepted.
const MAX_URL_CHARS: usize = 500;

/// An endpoint's address, parsed and checked as far as it can be without resolving its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    url: Url,
}

impl Target {
    /// Parses an address as given (`field` names it in errors). A literal IP address is checked here; a name is
    /// checked on the addresses it resolves to (`allowed`), by whoever resolves it.
    pub fn parse(field: &str, raw: &str, policy: TargetPolicy) -> AppResult<Self> {
        let raw = raw.trim();
        let bad = |why: &str| AppError::bad_input(field, why.to_owned());
        if raw.len() > MAX_URL_CHARS {
            return Err(bad("must be at most 500 characters"));
        }
        let url = Url::parse(raw).map_err(|_| bad("must be a web address such as https://partner.example/hooks"))?;
        match url.scheme() {
            "https" => {}
            "http" if !policy.require_https => {}
            _ => return Err(bad("must start with https://")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must not carry a user name or password"));
        }
        if url.fragment().is_some() {
            return Err(bad("must not have a #fragment"));
        }
        match url.host() {
            None => return Err(bad("must name a host")),
            Some(Host::Domain(name)) => {
                // Names that always mean this machine or its network, refused before anything resolves them.
                let name = name.trim_end_matches('.');
                let local = name == "localhost" || name.ends_with(".localhost") || name.ends_with(".local");
                if local && !policy.allow_loopback {
                    return Err(bad("must not be a local address"));
                }
            }
            Some(Host::Ipv4(ip)) => allowed(IpAddr::V4(ip), policy).map_err(bad)?,
            Some(Host::Ipv6(ip)) => allowed(IpAddr::V6(ip), policy).map_err(bad)?,
        }
        Ok(Self { url })
    }

    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The host name to resolve, if the address names one (a literal address was checked by `parse`).
    pub fn domain(&self) -> Option<&str> {
        self.url.domain()
    }

    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(443)
    }
}

/// Whether a webhook may connect to `ip`; the reason if not.
pub fn allowed(ip: IpAddr, policy: TargetPolicy) -> Result<(), &'static str> {
    let ip = match ip {
        // An IPv4 address written as IPv6 (::ffff:a.b.c.d, or through NAT64's 64:ff9b::/96) reaches the IPv4 one.
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    if ip.is_loopback() {
        return if policy.allow_loopback { Ok(()) } else { Err("must not be a loopback address") };
    }
    let special = match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    };
    special.map_or(Ok(()), Err)
}

fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    (s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]).then(|| Ipv4Addr::from(u32::from(s[6]) << 16 | u32::from(s[7])))
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_private() {
        Some("must not be a private address")
    } else if ip.is_link_local() {
        Some("must not be a link-local or cloud metadata address")
    } else if a == 0 || ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("must not be an unspecified, broadcast, multicast or reserved address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("must not be a shared (carrier-grade NAT) address")
    } else if (a == 192 && b == 0 && c == 0) || (a == 198 && (b == 18 || b == 19)) || ip.is_documentation() {
        Some("must not be a reserved address")
    } else {
        None
    }
}

/// IPv6 hosts are global unicast (2000::/3) or nothing: every other block is local, special or a way to write
/// some other address. Within it, the IETF's own blocks (2001::/23: Teredo, benchmarking, ORCHID), documentation
/// (2001:db8::/32) and 6to4 (2002::/16, which carries an IPv4 address) are refused too.
fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let [first, second, ..] = ip.segments();
    if first & 0xfe00 == 0xfc00 {
        // Unique local addresses (fc00::/7), where clouds put their IPv6 metadata service too.
        Some("must not be a private address")
    } else if first & 0xffc0 == 0xfe80 {
        Some("must not be a link-local address")
    } else if first & 0xe000 != 0x2000 {
        Some("must not be an unspecified, multicast, site-local or otherwise special address")
    } else if (first == 0x2001 && (second < 0x0200 || second == 0x0db8)) || first == 0x2002 {
        Some("must not be a reserved, tunnelled or documentation address")
    } else {
        None
    }
}

/// An endpoint's address for the audit log and errors: without its query, where a partner may keep a token.
pub fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROD: TargetPolicy = TargetPolicy::PRODUCTION;
    const DEV: TargetPolicy = TargetPolicy::DEVELOPMENT;

    #[test]
    fn production_refuses_every_internal_address() {
        for address in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
            "fec0::1",
            "2002:a9fe:a9fe::1",
            "64:ff9b:1::a9fe:a9fe",
            "::ffff:0:a9fe:a9fe",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:db8::1",
            "100::1",
            "ff02::1",
        ] {
            let ip: IpAddr = address.parse().unwrap();
            assert!(allowed(ip, PROD).is_err(), "{address} allowed in production");
        }
        for address in ["93.184.215.14", "2a00:1450:4009:81f::200e", "8.8.8.8"] {
            assert_eq!(allowed(address.parse().unwrap(), PROD), Ok(()), "{address}");
        }
    }

    #[test]
    fn development_allows_loopback_only() {
        assert_eq!(allowed("127.0.0.1".parse().unwrap(), DEV), Ok(()));
        assert_eq!(allowed("::1".parse().unwrap(), DEV), Ok(()));
        assert!(allowed("10.1.1.1".parse().unwrap(), DEV).is_err());
        assert!(allowed("169.254.169.254".parse().unwrap(), DEV).is_err());
    }

    #[test]
    fn addresses_are_parsed_as_a_browser_would() {
        assert!(Target::parse("url", "https://partner.example/hooks?x=1", PROD).is_ok());
        // http only in development; no credentials, fragments or other schemes anywhere.
        assert!(Target::parse("url", "http://partner.example/hooks", PROD).is_err());
        assert!(Target::parse("url", "http://partner.example/hooks", DEV).is_ok());
        for bad in ["ftp://partner.example/", "https://user:pw@partner.example/", "https://partner.example/#x", "nope"]
        {
            assert!(Target::parse("url", bad, DEV).is_err(), "{bad}");
        }
        // Spellings of internal addresses that a naive check misses: hex, short and decimal forms are normalised.
        for sneaky in [
            "https://0x7f.1/",
            "https://2130706433/",
            "https://0177.0.0.1/",
            "https://[::ffff:7f00:1]/",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/",
            "https://api.localhost/",
        ] {
            let refused = Target::parse("input.url", sneaky, PROD).unwrap_err();
            assert_eq!(refused.code(), "BAD_USER_INPUT", "{sneaky}");
        }
        assert!(Target::parse("url", "http://127.0.0.1:9000/hook", DEV).is_ok());
    }
}
