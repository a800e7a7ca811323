//! Requests and answers as plain data: the [`ApiCall`] a provider builds, the [`SignedRequest`] it
//! signs (its `Debug` leaves out query, body and sensitive headers), and the [`HttpResponse`] the
//! engine hands back to be parsed.

use std::fmt;

/// HTTP methods the clouds use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
}

impl Method {
    /// The method as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One API call before signing: what to send, not yet how to authenticate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCall {
    /// The cloud's action name, for messages and logs (`StartInstances`).
    pub action: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The request path, e.g. `/`.
    pub path: String,
    /// Query parameters in sending order, not yet encoded.
    pub query: Vec<(String, String)>,
    /// Headers that carry no secret (action, version, region, content type).
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// A request ready to send: the call plus its authentication. `Debug` leaves out the query and
/// the body, where some clouds put the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// The HTTP method.
    pub method: Method,
    /// Path and encoded query string, e.g. `/?a=b`.
    pub path_and_query: String,
    /// Every header to send.
    pub headers: Vec<Header>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, query) = self
            .path_and_query
            .split_once('?')
            .unwrap_or((&self.path_and_query, ""));
        f.debug_struct("SignedRequest")
            .field("method", &self.method)
            .field("path", &path)
            .field("query_bytes", &query.len())
            .field("headers", &self.headers)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// One HTTP header; sensitive ones are hidden from logs and `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
    /// True for `Authorization`, tokens and anything else derived from a secret.
    pub sensitive: bool,
}

impl Header {
    /// A header that may be logged.
    pub fn plain(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            sensitive: false,
        }
    }

    /// A header that must never be logged.
    pub fn sensitive(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            sensitive: true,
        }
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.sensitive {
            "(redacted)"
        } else {
            &self.value
        };
        write!(f, "{}: {}", self.name, value)
    }
}

/// An HTTP answer as the engine read it (body already capped in size).
#[derive(Debug, Clone, Default)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Response headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with `status` and `body` and no headers.
    pub fn new(status: u16, body: impl AsRef<[u8]>) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: body.as_ref().to_vec(),
        }
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_requests_leave_query_and_body_out_of_debug_output() {
        let request = SignedRequest {
            method: Method::Post,
            path_and_query: "/api?signature=c2lnbmF0dXJl".into(),
            headers: vec![Header::plain("Host", "example.com")],
            body: b"Signature=0123abcd".to_vec(),
        };
        let printed = format!("{request:?}");
        assert!(
            printed.contains("\"/api\"") && printed.contains("Host"),
            "{printed}"
        );
        assert!(!printed.contains("c2lnbmF0dXJl"), "{printed}");
        assert!(!printed.contains("0123abcd"), "{printed}");
    }

    #[test]
    fn sensitive_headers_are_redacted_in_debug_output() {
        let header = Header::sensitive("Authorization", "TC3 Signature=abc");
        assert_eq!(format!("{header:?}"), "Authorization: (redacted)");
    }
}
