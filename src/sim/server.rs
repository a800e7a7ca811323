//! Serving the dialects: one HTTP/1 listener per cloud on loopback, request bodies bounded,
//! faults injected before a dialect sees the request, each request logged as one JSON line, and
//! the request and reply types the dialects work with.

use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tracing::{debug, warn};

use super::faults::{FaultKind, FaultState, FaultTarget, Injected};
use super::{Dialect, Fleet, MAX_REQUEST_BYTES};

/// One dialect's listener state.
pub(super) struct Server {
    pub(super) dialect: &'static dyn Dialect,
    pub(super) fleet: Mutex<Fleet>,
    pub(super) faults: Mutex<FaultState>,
    pub(super) delay: Duration,
    pub(super) log: Option<Arc<Mutex<std::fs::File>>>,
}

/// The answer to a request that is never sent: hyper closes the connection instead.
#[derive(Debug)]
struct DroppedConnection;

impl fmt::Display for DroppedConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by --fault drop")
    }
}

impl std::error::Error for DroppedConnection {}

impl Server {
    async fn handle(
        &self,
        request: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, DroppedConnection> {
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
            Ok(collected) => collected.to_bytes().to_vec(),
            Err(_) => return Ok(plain_response(413, "request body too large or unreadable")),
        };
        let request = SimRequest {
            method: parts.method.as_str().to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or("").to_string(),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_string(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body,
        };
        let action = self.dialect.action(&request);
        let injected = lock(&self.faults).decide(self.target_of(&action));
        let (reply, now) = {
            let mut fleet = lock(&self.fleet);
            let reply = match injected {
                Some(Injected::Rate | Injected::Fault(FaultKind::Throttle)) => {
                    self.dialect.throttled(&action, &mut fleet)
                }
                Some(Injected::Fault(kind)) if !kind.acts() => SimReply {
                    status: match kind {
                        FaultKind::Http500 => 500,
                        FaultKind::Http502 => 502,
                        FaultKind::Http503 => 503,
                        _ => 200,
                    },
                    ..SimReply::new(action)
                },
                _ => self.dialect.handle(&request, &mut fleet),
            };
            (reply, fleet.now())
        };
        self.log(&reply, injected);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let (content_type, body) = match injected.and_then(|i| match i {
            Injected::Fault(kind) => Some(kind),
            Injected::Rate => None,
        }) {
            Some(FaultKind::Drop) => return Err(DroppedConnection),
            Some(FaultKind::Http500 | FaultKind::Http502 | FaultKind::Http503) => (
                "text/html",
                error_page(reply.status, "the upstream server is unavailable"),
            ),
            Some(FaultKind::Html) => ("text/html", error_page(200, "please sign in to continue")),
            Some(FaultKind::NotJson) => ("text/plain", "upstream error\n".to_string()),
            Some(FaultKind::Truncate) => {
                let mut text = reply.body.to_string();
                text.truncate(text.len() / 2);
                ("application/json", text)
            }
            Some(FaultKind::Huge) => (
                "application/json",
                format!("\"{}\"", "x".repeat(HUGE_BODY_BYTES)),
            ),
            Some(FaultKind::Throttle) | None => ("application/json", reply.body.to_string()),
        };
        let mut builder = Response::builder()
            .status(reply.status)
            .header("content-type", content_type)
            .header("date", now.format(HTTP_DATE).to_string());
        for (name, value) in &reply.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        Ok(builder
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| plain_response(500, "cannot build the answer")))
    }

    /// Whether `action` is this cloud's start, stop, describe, or something else.
    fn target_of(&self, action: &str) -> FaultTarget {
        let actions = self.dialect.profile().actions();
        if action == actions.start {
            FaultTarget::Start
        } else if action == actions.stop {
            FaultTarget::Stop
        } else if action == actions.describe {
            FaultTarget::Describe
        } else {
            FaultTarget::Any
        }
    }

    fn log(&self, reply: &SimReply, injected: Option<Injected>) {
        let Some(log) = &self.log else { return };
        let line = serde_json::json!({
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "cloud": self.dialect.profile().provider,
            "action": reply.action,
            "ids": reply.ids,
            "signature": reply.signature.as_str(),
            "status": reply.status,
            "error_code": reply.error_code,
            "fault": injected.map(Injected::name),
        });
        let mut file = lock(log);
        if let Err(err) = writeln!(file, "{line}") {
            warn!("cannot write the simulator log: {err}");
        }
    }
}

/// HTTP's date format (IMF-fixdate), for the `Date` header.
const HTTP_DATE: &str = "%a, %d %b %Y %H:%M:%S GMT";

/// The size of a `huge` answer: more than a client should read.
const HUGE_BODY_BYTES: usize = 6 * 1024 * 1024;

/// A proxy's HTML page.
fn error_page(status: u16, what: &str) -> String {
    format!(
        "<html><head><title>{status}</title></head><body><h1>{status}</h1><p>{what}</p>\
         <hr><center>nginx</center></body></html>\n"
    )
}

/// Locks `mutex`, carrying on past a poisoned lock (the data is plain state).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn plain_response(status: u16, message: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message.to_string())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    response
}

/// A request as a dialect sees it.
pub(crate) struct SimRequest {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    /// Header names are lower-case.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl SimRequest {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A dialect's answer plus what the request log records about it.
pub(crate) struct SimReply {
    pub(crate) status: u16,
    pub(crate) body: serde_json::Value,
    pub(crate) action: String,
    pub(crate) ids: Vec<String>,
    pub(crate) signature: SignatureCheck,
    pub(crate) error_code: Option<String>,
    /// Response headers besides `content-type`, for clouds that answer in headers too (CompShare
    /// sends its request id as `X-UCLOUD-REQUEST-UUID`).
    pub(crate) headers: Vec<(String, String)>,
}

impl SimReply {
    /// A 200 reply to `action` with no body yet, its signature not checked yet.
    pub(crate) fn new(action: impl Into<String>) -> Self {
        SimReply {
            status: 200,
            body: serde_json::Value::Null,
            action: action.into(),
            ids: Vec::new(),
            signature: SignatureCheck::Missing,
            error_code: None,
            headers: Vec::new(),
        }
    }
}

/// Whether a request's signature verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureCheck {
    /// Verified.
    Ok,
    /// Present and wrong (unknown key, mismatch, stale time).
    Failed,
    /// Not checked: the request was rejected before (missing headers, bad method).
    Missing,
}

impl SignatureCheck {
    fn as_str(self) -> &'static str {
        match self {
            SignatureCheck::Ok => "ok",
            SignatureCheck::Failed => "failed",
            SignatureCheck::Missing => "missing",
        }
    }
}

pub(super) async fn accept_loop(listener: TcpListener, server: Arc<Server>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                warn!("simulator accept failed: {err}");
                continue;
            }
        };
        let server = server.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let server = server.clone();
                async move { server.handle(request).await }
            });
            let io = TokioIo::new(stream);
            if let Err(err) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                debug!("simulator connection ended: {err}");
            }
        });
    }
}
