//! The one HTTP layer: endpoint parsing, a single reqwest client (rustls), timeouts, and the request
//! retry loop with its classification.
//!
//! [`ApiClient`] is where a provider meets the network: it builds a call, signs it afresh for every
//! attempt (a new timestamp each time), sends it, lets the provider read the answer, and retries what
//! is safe to retry — connection failures, 5xx, throttling and the cloud's own transient codes — with
//! full-jitter exponential backoff, never past the run's deadline. Polling is `poll.rs`'s job.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;
use tracing::{debug, info, trace};

use crate::credentials::Credentials;
use crate::error::ErrorKind;
use crate::provider::{
    ApiCall, ApiError, ErrorClass, HttpResponse, InstanceState, Location, Method, Provider,
    SignedRequest, StartOptions,
};
use crate::settings::StartSettings;

/// Most bytes of an answer that are read; a larger answer is an error, not a memory spike.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

const USER_AGENT: &str = concat!("cloudstart/", env!("CARGO_PKG_VERSION"));

/// A cloud's base URL, `scheme://host[:port]`, and the `Host` value that is signed and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    base: String,
    host: String,
}

impl Endpoint {
    /// Parses a base URL; only `http`/`https` with a host and nothing after it (a trailing `/` is fine).
    pub fn parse(url: &str) -> Result<Self, String> {
        let parsed =
            reqwest::Url::parse(url).map_err(|err| format!("`{url}` is not a URL: {err}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("`{url}` must start with http:// or https://"));
        }
        let Some(host) = parsed.host_str() else {
            return Err(format!("`{url}` has no host"));
        };
        if parsed.path() != "/"
            || parsed.query().is_some()
            || parsed.fragment().is_some()
            || !parsed.username().is_empty()
            || parsed.password().is_some()
        {
            return Err(format!(
                "`{url}` must be a base URL scheme://host[:port], without path, query or user"
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

/// How often and how patiently a failed request is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Cap of the first backoff; each retry doubles it.
    pub base_delay: Duration,
    /// Largest backoff.
    pub max_delay: Duration,
    /// Longest wait for one answer (also bounded by the run's deadline).
    pub request_timeout: Duration,
    /// Wait between attempts while another operation holds the machine.
    pub busy_delay: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            request_timeout: Duration::from_secs(30),
            busy_delay: Duration::from_secs(5),
        }
    }
}

impl RetryConfig {
    /// Full-jitter backoff before retry `retry` (1-based): uniform in `0..=min(max, base·2^(retry-1))`.
    fn backoff(&self, retry: u32) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1 << (retry - 1).min(16))
            .min(self.max_delay);
        cap.mul_f64(fastrand::f64())
    }
}

/// Why a call failed in the end.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The cloud answered with an error (or an unreadable answer).
    Api(ApiError),
    /// No answer: connection refused or reset, DNS, TLS, request timeout.
    Transport(String),
    /// The run's deadline passed before an answer came.
    Deadline,
}

/// A call that failed after every attempt it was allowed.
#[derive(Debug, Clone)]
pub struct CallError {
    /// The cloud action, e.g. `StartInstances`.
    pub action: &'static str,
    /// What the last attempt ran into.
    pub failure: Failure,
    /// Attempts made, the first included.
    pub attempts: u32,
    /// Time from the first attempt to giving up.
    pub elapsed: Duration,
}

impl CallError {
    /// Who must act on this failure.
    pub fn kind(&self) -> ErrorKind {
        match &self.failure {
            Failure::Api(err) => match err.class {
                ErrorClass::Auth | ErrorClass::ClockSkew => ErrorKind::Auth,
                // Only the deadline ends a wait for a lock.
                ErrorClass::Busy => ErrorKind::Timeout,
                ErrorClass::Throttled | ErrorClass::Transient | ErrorClass::BadResponse => {
                    ErrorKind::Transport
                }
                _ => ErrorKind::Api,
            },
            Failure::Transport(_) => ErrorKind::Transport,
            Failure::Deadline => ErrorKind::Timeout,
        }
    }

    /// The cloud's error, when it answered with one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match &self.failure {
            Failure::Api(err) => Some(err),
            _ => None,
        }
    }
}

impl CallError {
    /// What went wrong and what to do, without the cloud's error code (the report carries that
    /// in a field of its own).
    pub fn message(&self) -> String {
        let mut text = match &self.failure {
            Failure::Api(err) => err.message.clone(),
            Failure::Transport(message) => message.clone(),
            Failure::Deadline => format!("{} cut short by the --timeout deadline", self.action),
        };
        if self.attempts > 1 {
            text.push_str(&format!(
                " ({} failed after {} attempts in {:.1}s)",
                self.action,
                self.attempts,
                self.elapsed.as_secs_f64()
            ));
        }
        if let Failure::Api(ApiError {
            class: ErrorClass::ClockSkew,
            ..
        }) = &self.failure
        {
            text.push_str(" (check this machine's clock)");
        }
        text
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Failure::Api(err) = &self.failure {
            write!(f, "{}: ", err.code)?;
        }
        f.write_str(&self.message())
    }
}

/// What an accepted start call said.
#[derive(Debug)]
pub struct StartReply {
    /// The cloud's asynchronous job for the start, where it reports one.
    pub job_id: Option<String>,
    /// Machines the cloud refused one by one inside the accepted call.
    pub refused: HashMap<String, CallError>,
}

/// One cloud, one region, one set of credentials: sends signed calls and reads the answers.
pub struct ApiClient<'a> {
    provider: &'static dyn Provider,
    credentials: &'a Credentials,
    location: &'a Location,
    endpoint: &'a Endpoint,
    retry: RetryConfig,
    without_gpu: bool,
    deadline: Instant,
    client: reqwest::Client,
}

impl<'a> ApiClient<'a> {
    /// A client for the cloud, place and credentials of `settings`; no call may outlive `deadline`.
    pub fn new(settings: &'a StartSettings, deadline: Instant) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            .https_only(settings.endpoint.base().starts_with("https://"))
            .build()?;
        Ok(Self {
            provider: settings.provider,
            credentials: &settings.credentials,
            location: &settings.location,
            endpoint: &settings.endpoint,
            retry: settings.retry,
            without_gpu: settings.without_gpu,
            deadline,
            client,
        })
    }

    /// The provider this client speaks for.
    pub fn provider(&self) -> &'static dyn Provider {
        self.provider
    }

    /// Starts `ids` (one start call's worth).
    ///
    /// A start is not retried after a request timeout: the cloud may have acted on it. Every other
    /// retry is safe because a repeated start of a starting machine is refused, not repeated —
    /// and the call carries one client token through all its retries, for clouds that use one.
    pub async fn start(&self, ids: &[String]) -> Result<StartReply, CallError> {
        let options = StartOptions {
            client_token: format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
            without_gpu: self.without_gpu,
        };
        let call = self.provider.start_call(ids, self.location, &options);
        let action = call.action;
        let accepted = self
            .call(call, false, |r| self.provider.parse_start(r))
            .await?;
        if let Some(request_id) = &accepted.request_id {
            debug!("{action} accepted, request id {request_id}");
        }
        let refused = accepted
            .refused
            .into_iter()
            .map(|(id, err)| {
                let err = CallError {
                    action,
                    failure: Failure::Api(err),
                    attempts: 1,
                    elapsed: Duration::ZERO,
                };
                (id, err)
            })
            .collect();
        Ok(StartReply {
            job_id: accepted.job_id,
            refused,
        })
    }

    /// The current state of `ids` (one describe call's worth).
    pub async fn describe(&self, ids: &[String]) -> Result<Vec<InstanceState>, CallError> {
        let call = self.provider.describe_call(ids, self.location);
        self.call(call, true, |r| self.provider.parse_describe(r))
            .await
    }

    async fn call<T>(
        &self,
        call: ApiCall,
        idempotent: bool,
        parse: impl Fn(&HttpResponse) -> Result<T, ApiError>,
    ) -> Result<T, CallError> {
        let action = call.action;
        let started = Instant::now();
        let mut attempts = 0;
        let mut retries = 0;
        loop {
            attempts += 1;
            let give_up = |failure| CallError {
                action,
                failure,
                attempts,
                elapsed: started.elapsed(),
            };
            let remaining = self.deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(give_up(Failure::Deadline));
            }
            let signed = self.provider.sign(
                &call,
                self.endpoint.host(),
                self.location,
                self.credentials,
                Utc::now(),
            );
            let timeout = remaining.min(self.retry.request_timeout);
            let failure = match self.send(&signed, timeout).await {
                Ok(response) => match parse(&response) {
                    Ok(value) => return Ok(value),
                    Err(err) if err.class.is_retryable() => Failure::Api(err),
                    Err(err) => return Err(give_up(Failure::Api(err))),
                },
                Err(SendError::TimedOut) if timeout < self.retry.request_timeout => {
                    return Err(give_up(Failure::Deadline))
                }
                Err(SendError::TimedOut) if !idempotent => {
                    return Err(give_up(Failure::Transport(format!(
                        "{action}: no answer within {}s; the cloud may still have acted on it",
                        timeout.as_secs()
                    ))))
                }
                Err(err) => Failure::Transport(format!("{action}: {err}")),
            };
            // A lock held by another operation is waited out until the deadline; everything
            // else retryable gets `max_retries` retries.
            let delay = if let Failure::Api(ApiError {
                class: ErrorClass::Busy,
                ..
            }) = &failure
            {
                info!(
                    "{} {action}: {}; waiting {}ms for the other operation",
                    self.provider.name(),
                    FailureSummary(&failure),
                    self.retry.busy_delay.as_millis()
                );
                self.retry.busy_delay
            } else {
                retries += 1;
                if retries > self.retry.max_retries {
                    return Err(give_up(failure));
                }
                let delay = self.retry.backoff(retries);
                info!(
                    "{} {action}: {}; retry {} of {} in {}ms",
                    self.provider.name(),
                    FailureSummary(&failure),
                    retries,
                    self.retry.max_retries,
                    delay.as_millis()
                );
                delay
            };
            if Instant::now() + delay >= self.deadline {
                return Err(give_up(failure));
            }
            tokio::time::sleep(delay).await;
        }
    }

    async fn send(
        &self,
        request: &SignedRequest,
        timeout: Duration,
    ) -> Result<HttpResponse, SendError> {
        let url = format!("{}{}", self.endpoint.base(), request.path_and_query);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        debug!(
            "{} {}{}",
            request.method.as_str(),
            self.endpoint.base(),
            request.path_and_query.split('?').next().unwrap_or("")
        );
        trace!(headers = ?request.headers, "request headers");
        let mut builder = self.client.request(method, url).timeout(timeout);
        for header in &request.headers {
            let mut value = reqwest::header::HeaderValue::from_str(&header.value)
                .map_err(|_| SendError::Other(format!("header {} is not valid", header.name)))?;
            value.set_sensitive(header.sensitive);
            builder = builder.header(header.name.as_str(), value);
        }
        let mut response = builder
            .body(request.body.clone())
            .send()
            .await
            .map_err(SendError::from)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(SendError::from)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(SendError::Other(format!(
                    "answer larger than {} MiB",
                    MAX_BODY_BYTES / (1024 * 1024)
                )));
            }
            body.extend_from_slice(&chunk);
        }
        debug!(status, bytes = body.len(), "answer");
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// A request that got no usable answer.
#[derive(Debug)]
enum SendError {
    TimedOut,
    Other(String),
}

impl From<reqwest::Error> for SendError {
    fn from(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            return SendError::TimedOut;
        }
        // The URL may carry signature parameters on some clouds: keep it out of messages.
        let err = err.without_url();
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        SendError::Other(message)
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::TimedOut => f.write_str("timed out"),
            SendError::Other(message) => f.write_str(message),
        }
    }
}

struct FailureSummary<'a>(&'a Failure);

impl fmt::Display for FailureSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Failure::Api(err) => write!(f, "HTTP {} {}", err.http_status, err.code),
            Failure::Transport(message) => f.write_str(message),
            Failure::Deadline => f.write_str("deadline"),
        }
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

    #[test]
    fn backoff_is_capped_and_grows() {
        let config = RetryConfig {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            request_timeout: Duration::from_secs(1),
            busy_delay: Duration::from_secs(1),
        };
        for retry in 1..=10 {
            let cap =
                Duration::from_millis(100 * (1 << (retry - 1))).min(Duration::from_millis(500));
            for _ in 0..50 {
                assert!(config.backoff(retry) <= cap);
            }
        }
    }
}
