//! Where a cloud's calls go: [`Endpoint`], a checked base URL and the `Host` that is signed.

use std::fmt;

/// The longest host name DNS allows (RFC 1035: 253 characters without the final dot).
const MAX_HOST_LEN: usize = 253;

/// A cloud's base URL, `scheme://host[:port]`, and the `Host` value that is signed and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    base: String,
    host: String,
}

impl Endpoint {
    /// Parses a base URL; only `http`/`https` with a host and nothing after it (a trailing `/` is fine).
    pub fn parse(url: &str) -> Result<Self, String> {
        // Repeated back short and without any password it may carry.
        let shown = crate::error::clip_url(url);
        let parsed =
            reqwest::Url::parse(url).map_err(|err| format!("`{shown}` is not a URL: {err}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("`{shown}` must start with http:// or https://"));
        }
        let Some(host) = parsed.host_str() else {
            return Err(format!("`{shown}` has no host"));
        };
        // A longer name is no DNS name, and a URL past 64 KiB is refused by the HTTP stack only
        // when the first request is sent; either way nothing could be reached.
        if host.len() > MAX_HOST_LEN {
            return Err(format!(
                "`{shown}` has a host longer than {MAX_HOST_LEN} characters, the most a DNS name has"
            ));
        }
        // The URL parser keeps `"`, `{`, `$` and the like in a name (no DNS name holds them),
        // and the HTTP stack refuses some of them only as the request goes out.
        let name_chars = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
        // An IPv6 literal is `[…]`; an IPv4 one is digits and dots.
        if !host.starts_with('[') && !host.chars().all(name_chars) {
            return Err(format!(
                "`{shown}` has a host name with characters no DNS name has (letters, digits, `-`, `.` and `_` only)"
            ));
        }
        if parsed.port() == Some(0) {
            return Err(format!("`{shown}` names port 0, which nothing listens on"));
        }
        if parsed.path() != "/"
            || parsed.query().is_some()
            || parsed.fragment().is_some()
            || !parsed.username().is_empty()
            || parsed.password().is_some()
        {
            return Err(format!(
                "`{shown}` must be a base URL scheme://host[:port], without path, query or user"
            ));
        }
        // `port()` is None when the URL gives the scheme's default port, and so is the Host header.
        let host = match parsed.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        Ok(Self {
            base: format!("{}://{host}", parsed.scheme()),
            host,
        })
    }

    /// Whether requests would travel unencrypted beyond this machine: `http://` to a host other
    /// than loopback.
    pub fn is_cleartext_remote(&self) -> bool {
        self.base.starts_with("http://") && !self.is_loopback()
    }

    /// Whether the host is this machine: `localhost` or a loopback address (the simulator).
    pub fn is_loopback(&self) -> bool {
        let rest = (self.base.split_once("://")).map_or(self.base.as_str(), |(_, rest)| rest);
        let host = match rest.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => rest,
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// `scheme://host[:port]`, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The `Host` header value: host, plus the port when it is not the scheme's default.
    pub fn host(&self) -> &str {
        &self.host
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn endpoint_keeps_non_default_ports_in_the_host() {
        let endpoint = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(endpoint.base(), "http://127.0.0.1:8080");
        assert_eq!(endpoint.host(), "127.0.0.1:8080");
        let endpoint = Endpoint::parse("https://cvm.tencentcloudapi.com:443/").unwrap();
        assert_eq!(endpoint.base(), "https://cvm.tencentcloudapi.com");
        assert_eq!(endpoint.host(), "cvm.tencentcloudapi.com");
    }

    #[test]
    fn only_plain_http_beyond_loopback_is_cleartext_remote() {
        for (url, remote) in [
            ("http://127.0.0.1:8080", false),
            ("http://127.9.9.9", false),
            ("http://[::1]:80", false),
            ("http://localhost:3000", false),
            ("https://cvm.tencentcloudapi.com", false),
            ("http://cvm.tencentcloudapi.com", true),
            ("http://10.0.0.7:8080", true),
            ("http://[2001:db8::1]:8080", true),
        ] {
            assert_eq!(
                Endpoint::parse(url).unwrap().is_cleartext_remote(),
                remote,
                "{url}"
            );
        }
    }

    #[test]
    fn loopback_endpoints_are_this_machine_whatever_the_scheme() {
        for (url, loopback) in [
            ("http://127.0.0.1:8080", true),
            ("https://[::1]:8443", true),
            ("http://localhost", true),
            ("https://cvm.tencentcloudapi.com", false),
            ("http://10.0.0.7:8080", false),
        ] {
            assert_eq!(
                Endpoint::parse(url).unwrap().is_loopback(),
                loopback,
                "{url}"
            );
        }
    }

    #[test]
    fn endpoint_errors_are_short_never_show_a_password_and_refuse_port_zero() {
        let err = Endpoint::parse("http://user:hunter2@127.0.0.1:8080/x").unwrap_err();
        assert!(
            !err.contains("hunter2") && err.contains("***@127.0.0.1:8080"),
            "{err}"
        );
        let err = Endpoint::parse(&format!("http://127.0.0.1/{}", "a".repeat(5000))).unwrap_err();
        assert!(err.len() < 400, "{err}");
        assert!(Endpoint::parse("http://127.0.0.1:0").is_err());
    }

    #[test]
    fn endpoint_rejects_what_is_not_a_base_url() {
        for bad in [
            "",
            "localhost:8080",
            "ftp://example.com",
            "http://example.com/api",
            "http://example.com/?a=b",
            "http://user:pw@example.com",
            "http://",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
