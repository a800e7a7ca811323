//! What a failed attempt says: transport errors read from the HTTP library's chain into one
//! [`Trouble`] (DNS, refused, TLS, proxy, timeout, an answer too large), and the messages that
//! name the host, the proxy, where the credentials came from and what to check.

use std::fmt;
use std::time::Duration;

use crate::credentials::CredentialOrigin;
use crate::provider::{ApiError, ErrorClass};

use super::retry::Attempt;
use super::sender::Failure;

/// Unreadable answers and bare HTTP errors say which cloud sent them (the provider's message
/// names the action and the status).
pub(super) fn name_cloud(mut err: ApiError, cloud: &str) -> ApiError {
    if err.class == ErrorClass::BadResponse || err.code.starts_with("HTTP ") {
        err.message = format!("{cloud}: {}", err.message);
    }
    err
}

/// A request that got no usable answer.
#[derive(Debug)]
pub(super) enum SendError {
    /// No answer within the request timeout.
    TimedOut,
    /// The connection could not be made: nothing was sent.
    Connect(Trouble),
    /// Anything else: the request may have reached the cloud.
    Other(Trouble),
    /// A 3xx answer, not followed; `to` is the `Location`'s host.
    Redirected {
        /// The status.
        status: u16,
        /// Where it pointed: scheme, host and port only (its query may carry anything).
        to: String,
    },
    /// The proxy wants credentials (407, or a refused tunnel saying so).
    ProxyAuth,
}

impl From<reqwest::Error> for SendError {
    fn from(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            return SendError::TimedOut;
        }
        let connect = err.is_connect();
        if err.status().is_some_and(|s| s.as_u16() == 407) {
            return SendError::ProxyAuth;
        }
        // The URL may carry signature parameters on some clouds: keep it out of messages.
        let err = err.without_url();
        let mut chain = Vec::new();
        let mut io_kinds = Vec::new();
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        while let Some(cause) = source {
            chain.push(cause.to_string());
            if let Some(io) = cause.downcast_ref::<std::io::Error>() {
                io_kinds.push(io.kind());
            }
            source = cause.source();
        }
        // An https request through a proxy that refused the tunnel for want of credentials.
        let lower = chain.join(": ").to_ascii_lowercase();
        if lower.contains("407") || lower.contains("proxy authorization required") {
            return SendError::ProxyAuth;
        }
        let trouble = Trouble::classify(&chain, &io_kinds);
        if connect {
            SendError::Connect(trouble)
        } else {
            SendError::Other(trouble)
        }
    }
}

impl SendError {
    /// The attempt this error ends, for [`decide`]; `cut_short`: the request's timeout was the
    /// deadline's.
    pub(super) fn attempt(&self, cut_short: bool) -> Attempt {
        match self {
            SendError::TimedOut => Attempt::TimedOut { cut_short },
            SendError::Connect(_) => Attempt::NotConnected,
            SendError::Other(_) => Attempt::Lost,
            SendError::Redirected { .. } => Attempt::Redirected,
            SendError::ProxyAuth => Attempt::ProxyAuth,
        }
    }
}

/// What a request that got no answer ran into, in words a person can act on: the HTTP
/// library's error chain ("client error (Connect): dns error: …") read once, here, and never
/// shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Trouble {
    /// The host name did not resolve.
    Dns,
    /// Nothing listens at the address (connection refused).
    Refused,
    /// No route to the host or network.
    Unreachable,
    /// The connection was reset or aborted by the other side or something on the way.
    Reset,
    /// The connection was closed before a whole answer came.
    Closed,
    /// The server's TLS certificate was not accepted: why, in words.
    Certificate(String),
    /// The TLS handshake failed otherwise (e.g. plain http on that port).
    Tls,
    /// The proxy refused to open a tunnel to the host.
    TunnelRefused,
    /// Anything else, in the innermost cause's own words (or ours: an answer too large).
    Other(String),
}

impl Trouble {
    /// Reads an error chain, outermost first, and the kinds of the I/O errors in it.
    fn classify(chain: &[String], io_kinds: &[std::io::ErrorKind]) -> Self {
        use std::io::ErrorKind as K;
        let text = chain.join(": ").to_ascii_lowercase();
        let has = |word: &str| text.contains(word);
        if has("dns error") || has("failed to lookup address") || has("name or service not known") {
            return Trouble::Dns;
        }
        if has("tunnel error: unsuccessful") {
            return Trouble::TunnelRefused;
        }
        if has("certificate") || has("unknownissuer") || has("notvalidforname") {
            return Trouble::Certificate(certificate_problem(&text).into());
        }
        if io_kinds.contains(&K::ConnectionRefused) || has("connection refused") {
            return Trouble::Refused;
        }
        if io_kinds
            .iter()
            .any(|k| matches!(k, K::HostUnreachable | K::NetworkUnreachable))
            || has("unreachable")
        {
            return Trouble::Unreachable;
        }
        if (io_kinds.iter())
            .any(|k| matches!(k, K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe))
            || has("connection reset")
        {
            return Trouble::Reset;
        }
        if has("tls") || has("handshake") || has("corrupt message") || has("invalidcontenttype") {
            return Trouble::Tls;
        }
        if io_kinds.contains(&K::UnexpectedEof)
            || has("connection closed")
            || has("incomplete message")
            || has("unexpected end of file")
            || has("unexpected eof")
            || has("error decoding response body")
        {
            return Trouble::Closed;
        }
        let innermost = chain.last().map_or("", String::as_str);
        Trouble::Other(innermost.to_string())
    }

    /// What happened, where, and what to check, for a request to `target` (`host:port`),
    /// through `proxy` (`proxy 10.0.0.1:3128 (HTTPS_PROXY)`) when one is set. Never a URL, a
    /// query or the library's words.
    pub(super) fn explain(&self, target: &str, proxy: Option<&str>) -> String {
        let via = proxy.map(|p| format!(" through {p}")).unwrap_or_default();
        let host = target.rsplit_once(':').map_or(target, |(host, _)| host);
        match (self, proxy) {
            (Trouble::Dns, None) => format!(
                "cannot resolve the host name {host} (DNS lookup failed): check the endpoint's \
                 spelling, and this machine's DNS and network"
            ),
            (Trouble::Dns, Some(proxy)) => format!(
                "cannot resolve the host name of {proxy} (DNS lookup failed) on the way to \
                 {target}: check the proxy's address and this machine's DNS"
            ),
            (Trouble::Refused, None) => format!(
                "connection to {target} refused: nothing listens there; check the endpoint's \
                 host and port, and any firewall"
            ),
            (Trouble::Refused, Some(proxy)) => format!(
                "connection to {proxy} refused on the way to {target}: check that the proxy is \
                 running and that its address is right"
            ),
            (Trouble::Unreachable, _) => format!(
                "no route to {target}{via} (host or network unreachable): check this machine's \
                 network and routes"
            ),
            (Trouble::Reset, _) => format!(
                "the connection to {target}{via} was reset before an answer came: a firewall or \
                 proxy on the way may be cutting it; check the network path"
            ),
            (Trouble::Closed, _) => format!(
                "the connection to {target}{via} closed before a whole answer came: check that \
                 the endpoint is the cloud's API, and any proxy on the way"
            ),
            (Trouble::Certificate(why), _) => format!(
                "the TLS certificate presented for {target}{via} was not accepted ({why}): if a \
                 proxy or firewall inspects TLS, trust its CA with --ca-bundle or SSL_CERT_FILE; \
                 otherwise check the endpoint"
            ),
            (Trouble::Tls, _) => format!(
                "the TLS handshake with {target}{via} failed: check that the endpoint speaks \
                 https on that port (an http:// endpoint?)"
            ),
            (Trouble::TunnelRefused, Some(proxy)) => format!(
                "{proxy} refused to open a connection to {target}: check that the proxy may \
                 reach that host (its logs say why)"
            ),
            (Trouble::TunnelRefused, None) => {
                format!("a proxy refused to open a connection to {target}")
            }
            (Trouble::Other(what), _) => format!("request to {target}{via}: {what}"),
        }
    }
}

/// Why rustls refused a certificate, from its error's words.
fn certificate_problem(text: &str) -> &'static str {
    if text.contains("unknownissuer") || text.contains("unknown issuer") {
        "issued by an authority this machine does not trust"
    } else if text.contains("expired") {
        "expired"
    } else if text.contains("notvalidforname") || text.contains("not valid for name") {
        "issued for another host name"
    } else if text.contains("notvalidyet") {
        "not valid yet: check this machine's clock"
    } else if text.contains("revoked") {
        "revoked"
    } else {
        "not valid"
    }
}

/// A request that got no answer within `timeout`.
pub(super) fn timed_out(target: &str, proxy: Option<&str>, timeout: Duration) -> String {
    let via = proxy.map(|p| format!(" through {p}")).unwrap_or_default();
    format!(
        "no answer from {target}{via} within {:.0} s: check this machine's network, and any \
         proxy or firewall on the way",
        timeout.as_secs_f64().max(1.0)
    )
}

/// `host:port` of a base URL, for messages (the port the scheme implies when none is given).
pub(super) fn host_port(base: &str) -> String {
    match reqwest::Url::parse(base) {
        Ok(url) => {
            let host = url.host_str().unwrap_or("?");
            match url.port_or_known_default() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            }
        }
        Err(_) => "the endpoint".into(),
    }
}

/// What to tell a person whose credentials the cloud refused (`class`: [`ErrorClass::Auth`],
/// [`ErrorClass::TokenExpired`] or [`ErrorClass::PermissionDenied`]) for `action`, naming where
/// the credentials came from (`origin`); `vars` are the cloud's variables, for when it is unknown.
pub(super) fn credentials_hint(
    class: ErrorClass,
    origin: &CredentialOrigin,
    vars: &crate::credentials::CredentialVars,
    cloud: &str,
    action: &str,
) -> String {
    let keys = if origin.keys.is_empty() {
        format!(
            "{} and {}, or the config profile",
            vars.key_id.join("/"),
            vars.secret.join("/")
        )
    } else {
        origin.keys.clone()
    };
    match (class, &origin.token) {
        (ErrorClass::PermissionDenied, _) => format!(
            " (the {cloud} key from {keys} is valid but lacks a permission for {action}, or for \
             these machines: have it granted to the key's user or role, or use a key that has it)"
        ),
        (ErrorClass::TokenExpired, Some(token)) => format!(
            " (the session token from {token} has expired or is not valid: refresh the temporary \
             credentials and set the new token with the key id and secret issued with it)"
        ),
        (ErrorClass::TokenExpired, None) => match origin.token_var {
            Some(var) => format!(
                " (the {cloud} key from {keys} needs a valid session token and none was given: \
                 set {var} to the token issued with it, or use a permanent key)"
            ),
            None => format!(" (check the {cloud} key from {keys})"),
        },
        (_, Some(token)) => format!(
            " (check the {cloud} key from {keys}; it is a temporary key with the session token \
             from {token}: if it expired, refresh it)"
        ),
        (_, None) => format!(" (check the {cloud} key from {keys})"),
    }
}

/// A failed attempt in a log line: the cloud and action once, then what happened (a transport
/// failure's message names them already).
pub(super) struct FailureSummary<'a>(
    pub(super) &'a Failure,
    pub(super) &'a str,
    pub(super) &'a str,
);

impl fmt::Display for FailureSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let FailureSummary(failure, cloud, action) = self;
        match failure {
            Failure::Api(err) if err.code.starts_with("HTTP ") => {
                write!(f, "{cloud} {action}: {}", err.code)
            }
            Failure::Api(err) => {
                write!(f, "{cloud} {action}: HTTP {} {}", err.http_status, err.code)
            }
            Failure::Transport(message) | Failure::Ambiguous(message) => f.write_str(message),
            Failure::Deadline => write!(f, "{cloud} {action}: deadline"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::CallError;
    use crate::provider::Provider;

    /// The HTTP library's error chains (reqwest 0.12 over hyper-util and rustls, as printed),
    /// read into plain troubles.
    #[test]
    fn transport_troubles_are_read_from_the_library_chain() {
        use std::io::ErrorKind as K;
        let chain = |text: &str| text.split(": ").map(str::to_string).collect::<Vec<_>>();
        let cases: &[(&str, &[K], Trouble)] = &[
            (
                "error sending request: client error (Connect): dns error: failed to lookup \
                 address information: Name or service not known",
                &[K::Other],
                Trouble::Dns,
            ),
            (
                "error sending request: client error (Connect): dns error: failed to lookup \
                 address information: Temporary failure in name resolution",
                &[],
                Trouble::Dns,
            ),
            (
                "error sending request: client error (Connect): tcp connect error: Connection \
                 refused (os error 111)",
                &[K::ConnectionRefused],
                Trouble::Refused,
            ),
            (
                "error sending request: client error (Connect): tcp connect error: No route to \
                 host (os error 113)",
                &[K::HostUnreachable],
                Trouble::Unreachable,
            ),
            (
                "error sending request: client error (SendRequest): connection error: Connection \
                 reset by peer (os error 104)",
                &[K::ConnectionReset],
                Trouble::Reset,
            ),
            (
                "error sending request: client error (SendRequest): connection closed before \
                 message completed",
                &[],
                Trouble::Closed,
            ),
            (
                "error sending request: client error (Connect): invalid peer certificate: \
                 UnknownIssuer",
                &[K::InvalidData],
                Trouble::Certificate("issued by an authority this machine does not trust".into()),
            ),
            (
                "error sending request: client error (Connect): invalid peer certificate: \
                 certificate expired: verification time 1, but certificate is not valid after 0",
                &[K::InvalidData],
                Trouble::Certificate("expired".into()),
            ),
            (
                "error sending request: client error (Connect): received corrupt message of \
                 type InvalidContentType",
                &[K::InvalidData],
                Trouble::Tls,
            ),
            (
                "error sending request: client error (Connect): tunnel error: unsuccessful",
                &[],
                Trouble::TunnelRefused,
            ),
            (
                "error sending request: something new",
                &[],
                Trouble::Other("something new".into()),
            ),
        ];
        for (text, kinds, expected) in cases {
            assert_eq!(&Trouble::classify(&chain(text), kinds), expected, "{text}");
        }
    }

    /// Each trouble in words: the host and port, the proxy and where it was set when one is in
    /// the way, and what to check; never the library's words.
    #[test]
    fn transport_messages_name_the_host_the_proxy_and_what_to_check() {
        let target = "cvm.tencentcloudapi.com:443";
        let proxy = Some("proxy 10.0.0.1:3128 (HTTPS_PROXY)");
        assert_eq!(
            Trouble::Dns.explain(target, None),
            "cannot resolve the host name cvm.tencentcloudapi.com (DNS lookup failed): check \
             the endpoint's spelling, and this machine's DNS and network"
        );
        assert_eq!(
            Trouble::Dns.explain(target, proxy),
            "cannot resolve the host name of proxy 10.0.0.1:3128 (HTTPS_PROXY) (DNS lookup \
             failed) on the way to cvm.tencentcloudapi.com:443: check the proxy's address and \
             this machine's DNS"
        );
        assert_eq!(
            Trouble::Refused.explain("127.0.0.1:9", None),
            "connection to 127.0.0.1:9 refused: nothing listens there; check the endpoint's host \
             and port, and any firewall"
        );
        assert_eq!(
            Trouble::Refused.explain(target, proxy),
            "connection to proxy 10.0.0.1:3128 (HTTPS_PROXY) refused on the way to \
             cvm.tencentcloudapi.com:443: check that the proxy is running and that its address \
             is right"
        );
        assert_eq!(
            Trouble::TunnelRefused.explain(target, proxy),
            "proxy 10.0.0.1:3128 (HTTPS_PROXY) refused to open a connection to \
             cvm.tencentcloudapi.com:443: check that the proxy may reach that host (its logs say \
             why)"
        );
        assert_eq!(
            Trouble::Certificate("expired".into()).explain(target, proxy),
            "the TLS certificate presented for cvm.tencentcloudapi.com:443 through proxy \
             10.0.0.1:3128 (HTTPS_PROXY) was not accepted (expired): if a proxy or firewall \
             inspects TLS, trust its CA with --ca-bundle or SSL_CERT_FILE; otherwise check the \
             endpoint"
        );
        assert_eq!(
            timed_out(target, None, Duration::from_secs(30)),
            "no answer from cvm.tencentcloudapi.com:443 within 30 s: check this machine's \
             network, and any proxy or firewall on the way"
        );
        for trouble in [
            Trouble::Unreachable,
            Trouble::Reset,
            Trouble::Closed,
            Trouble::Tls,
            Trouble::Other("x".into()),
        ] {
            let text = trouble.explain(target, proxy);
            assert!(
                text.contains(target) && text.contains("proxy 10.0.0.1:3128 (HTTPS_PROXY)"),
                "{text}"
            );
        }
        assert_eq!(host_port("https://cvm.tencentcloudapi.com"), target);
        assert_eq!(host_port("http://127.0.0.1:8080/"), "127.0.0.1:8080");
    }

    /// A retry's log line names the cloud and the action once (it used to say `tencent
    /// StartInstances: tencent StartInstances: …`), and a final message counts the attempts
    /// without naming the action a second time.
    #[test]
    fn failures_name_the_cloud_and_action_once() {
        let transport = Failure::Transport(
            "tencent StartInstances: connection to 127.0.0.1:9 refused: …".into(),
        );
        assert_eq!(
            FailureSummary(&transport, "tencent", "StartInstances").to_string(),
            "tencent StartInstances: connection to 127.0.0.1:9 refused: …"
        );
        let api = Failure::Api(ApiError {
            code: "InternalError".into(),
            message: "internal error".into(),
            request_id: None,
            http_status: 200,
            class: ErrorClass::Transient,
        });
        assert_eq!(
            FailureSummary(&api, "tencent", "StartInstances").to_string(),
            "tencent StartInstances: HTTP 200 InternalError"
        );
        let err = |failure| CallError {
            action: "StartInstances",
            failure,
            attempts: 5,
            elapsed: Duration::from_millis(2100),
        };
        assert_eq!(
            err(transport).message(),
            "tencent StartInstances: connection to 127.0.0.1:9 refused: … (failed after 5 \
             attempts in 2.1s)"
        );
        assert_eq!(
            err(api).message(),
            "internal error (StartInstances failed after 5 attempts in 2.1s)"
        );
    }

    /// A refused key is named by where it came from, an expired token by its variable, and a
    /// missing permission by the action; with no origin known, the cloud's variables.
    #[test]
    fn credential_hints_name_where_the_key_came_from() {
        let vars = &crate::provider::TencentCvm.spec().credentials;
        let hint = |class, origin: &CredentialOrigin| {
            credentials_hint(class, origin, vars, "tencent", "StartInstances")
        };
        let env = CredentialOrigin {
            keys: "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY".into(),
            token: None,
            token_var: Some("TENCENTCLOUD_SECURITY_TOKEN"),
        };
        let with_token = CredentialOrigin {
            token: Some("TENCENTCLOUD_SECURITY_TOKEN".into()),
            ..env.clone()
        };
        let vendor = CredentialOrigin {
            keys: "tccli's file /home/u/.tccli/default.credential".into(),
            token: Some("tccli's file /home/u/.tccli/default.credential".into()),
            token_var: Some("TENCENTCLOUD_SECURITY_TOKEN"),
        };
        assert_eq!(
            hint(ErrorClass::Auth, &env),
            " (check the tencent key from TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY)"
        );
        assert_eq!(
            hint(ErrorClass::Auth, &vendor),
            " (check the tencent key from tccli's file /home/u/.tccli/default.credential; it is \
             a temporary key with the session token from tccli's file \
             /home/u/.tccli/default.credential: if it expired, refresh it)"
        );
        assert_eq!(
            hint(ErrorClass::TokenExpired, &with_token),
            " (the session token from TENCENTCLOUD_SECURITY_TOKEN has expired or is not valid: \
             refresh the temporary credentials and set the new token with the key id and secret \
             issued with it)"
        );
        assert_eq!(
            hint(ErrorClass::TokenExpired, &env),
            " (the tencent key from TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY needs a \
             valid session token and none was given: set TENCENTCLOUD_SECURITY_TOKEN to the \
             token issued with it, or use a permanent key)"
        );
        assert_eq!(
            hint(ErrorClass::PermissionDenied, &vendor),
            " (the tencent key from tccli's file /home/u/.tccli/default.credential is valid but \
             lacks a permission for StartInstances, or for these machines: have it granted to \
             the key's user or role, or use a key that has it)"
        );
        assert_eq!(
            hint(ErrorClass::Auth, &CredentialOrigin::default()),
            " (check the tencent key from TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, or \
             the config profile)"
        );
    }
}
