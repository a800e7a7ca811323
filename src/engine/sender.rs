//! The sender: signs a call afresh for every attempt (a new timestamp each time), sends it over one
//! reqwest client (rustls), lets the provider read the answer, and retries what is safe to retry —
//! connection failures, 5xx, throttling and the cloud's own transient codes — with full-jitter
//! exponential backoff, never past the run's deadline. It owns the rate limiter, the run's retry
//! budget and the measured clock offset.
//!
//! What happens after an attempt is one pure function, `retry::decide`, under table tests: the
//! loop in [`Sender::call`] only carries its verdict out (measuring the clock, sleeping, giving
//! up). That decision, the rate limiter and the retry budget live in `retry`; what a failed attempt
//! says (transport troubles, hints about hosts, proxies and credentials) in `trouble`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tracing::{debug, info, trace, warn};

use super::retry::{
    decide, retry_after_header, Attempt, Decision, Effect, RateLimiter, RetryBudget, Verdict,
    THROTTLED_PAUSE,
};
use super::trouble::{
    credentials_hint, host_port, name_cloud, timed_out, FailureSummary, SendError, Trouble,
};
use super::{Clock, Endpoint, EngineConfig, RetryConfig};
use crate::credentials::{CredentialOrigin, Credentials};
use crate::error::ErrorKind;
use crate::provider::{
    ApiCall, ApiError, ErrorClass, HttpResponse, Location, Method, Provider, SignedRequest,
};

/// Most bytes of an answer that are read; a larger answer is an error, not a memory spike.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

const USER_AGENT: &str = concat!("cloudstart/", env!("CARGO_PKG_VERSION"));

/// Why a call failed in the end.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The cloud answered with an error (or an unreadable answer).
    Api(ApiError),
    /// No answer: connection refused or reset, DNS, TLS, request timeout.
    Transport(String),
    /// A start or stop was sent but no readable answer came (timeout, connection lost after
    /// sending, an unreadable body), so the cloud may or may not have acted on it: describe
    /// before resending.
    Ambiguous(String),
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
                ErrorClass::Auth
                | ErrorClass::TokenExpired
                | ErrorClass::PermissionDenied
                | ErrorClass::ClockSkew => ErrorKind::Auth,
                // Only the deadline ends a wait for a lock.
                ErrorClass::Busy => ErrorKind::Timeout,
                ErrorClass::OperationFailed => ErrorKind::FailedState,
                ErrorClass::Throttled
                | ErrorClass::Transient
                | ErrorClass::BadResponse
                | ErrorClass::Unanswered => ErrorKind::Transport,
                _ => ErrorKind::Api,
            },
            Failure::Transport(_) | Failure::Ambiguous(_) => ErrorKind::Transport,
            Failure::Deadline => ErrorKind::Timeout,
        }
    }

    /// Whether the cloud may have acted on the start or stop although no answer said so.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self.failure, Failure::Ambiguous(_))
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
            Failure::Transport(message) | Failure::Ambiguous(message) => message.clone(),
            Failure::Deadline => format!("{} cut short by the --timeout deadline", self.action),
        };
        // A capacity refusal waited out (`--retry-capacity`) says how often it came already.
        let counted =
            matches!(&self.failure, Failure::Api(err) if err.class == ErrorClass::Capacity);
        if self.attempts > 1 && !counted {
            // Transport messages name the action already.
            let action = if text.contains(self.action) {
                String::new()
            } else {
                format!("{} ", self.action)
            };
            text.push_str(&format!(
                " ({action}failed after {} attempts in {:.1}s)",
                self.attempts,
                self.elapsed.as_secs_f64()
            ));
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

/// Sends one cloud's calls: signing, the HTTP client, retries, the rate limit, the retry budget
/// and the clock correction, for one place and set of credentials under one deadline.
pub(crate) struct Sender<'a> {
    provider: &'static dyn Provider,
    credentials: &'a Credentials,
    location: &'a Location,
    endpoint: &'a Endpoint,
    retry: RetryConfig,
    deadline: Instant,
    client: reqwest::Client,
    limiter: RateLimiter,
    budget: RetryBudget,
    /// The cloud's clock minus this machine's, once a clock-skew refusal has measured it.
    pub(super) clock_offset: Cell<Option<chrono::TimeDelta>>,
    /// The proxy in use, for messages (`proxy 10.0.0.1:3128 (HTTPS_PROXY)`).
    proxy_name: Option<String>,
    /// `host:port` of the endpoint, for messages.
    target: String,
    /// Where the credentials came from, for messages.
    origin: &'a CredentialOrigin,
    /// Wall-clock time.
    clock: Clock,
    /// Client tokens and backoff jitter.
    rng: RefCell<fastrand::Rng>,
    /// When the latest read (describe, job log, address detail) left, after the rate limiter and
    /// any retry pause.
    last_read: Cell<Option<Instant>>,
}

/// How long past the run's deadline the final poll's describes may take: their own allowance.
const FINAL_POLL_ALLOWANCE: Duration = Duration::from_secs(2);

impl<'a> Sender<'a> {
    /// A sender for the cloud, place and credentials of `config`; no call may outlive its
    /// deadline.
    pub(crate) fn new(config: &EngineConfig<'a>) -> Result<Self, reqwest::Error> {
        let endpoint = config.endpoint;
        let network = config.network;
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            // A cloud API never redirects a signed call; following one would hand the token and
            // a replayable signed body to another host and trust its answer.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .https_only(endpoint.base().starts_with("https://"));
        if !network.may_use_tls {
            // Plain http with no proxy: no TLS will be set up, so no roots are loaded for it.
            builder = builder.tls_built_in_root_certs(false);
        }
        if let Some(proxy) = &network.proxy {
            builder = builder.proxy(proxy.clone());
        }
        for root in &network.extra_roots {
            builder = builder.add_root_certificate(root.clone());
        }
        let client = builder.build()?;
        Ok(Self {
            provider: config.provider,
            credentials: config.credentials,
            location: config.location,
            endpoint,
            retry: config.retry,
            deadline: config.deadline,
            client,
            limiter: RateLimiter::new(config.provider.spec().rate_limits),
            budget: RetryBudget::default(),
            clock_offset: Cell::new(None),
            proxy_name: network.proxy_name.clone(),
            target: host_port(endpoint.base()),
            origin: config.credentials_origin,
            clock: config.clock,
            rng: RefCell::new(
                (config.seed).map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed),
            ),
            last_read: Cell::new(None),
        })
    }

    /// A fresh client token: 32 hex digits from the engine's generator.
    pub(crate) fn token(&self) -> String {
        let mut rng = self.rng.borrow_mut();
        format!("{:016x}{:016x}", rng.u64(..), rng.u64(..))
    }

    /// A generator of its own for a caller's jitter (the waiter's), seeded from this one's.
    pub(crate) fn fork_rng(&self) -> fastrand::Rng {
        self.rng.borrow_mut().fork()
    }

    /// When the latest read request (a describe, a job log, an address detail) was sent, if one was.
    pub(crate) fn last_read(&self) -> Option<Instant> {
        self.last_read.get()
    }

    /// Sends `call` until it succeeds, fails for good, or the deadline or the retry budget runs
    /// out; what comes after each failed attempt is [`decide`]'s. A start or stop that may have
    /// been acted on without a readable answer is sent again only where the cloud de-duplicates
    /// it; in the end it fails as [`Failure::Ambiguous`], so the caller describes the machines
    /// before deciding anything.
    pub(crate) async fn call<T>(
        &self,
        call: ApiCall,
        effect: Effect,
        parse: impl Fn(&HttpResponse) -> Result<T, ApiError>,
    ) -> Result<T, CallError> {
        let action = call.action;
        let cloud = self.provider.name();
        let started = Instant::now();
        let mut attempts = 0;
        let mut retries = 0;
        // Capacity refusals met while waiting capacity out, the last one included.
        let capacity_refusals = Cell::new(0);
        // The last of them: what a deadline met while waiting capacity out reports.
        let mut last_capacity: Option<Failure> = None;
        let mut clock_corrected = false;
        // The waiter's last poll is sent at the deadline: a describe that begins there (and only
        // such a one) has a short allowance past it, so that poll still goes out and counts.
        // Starts and stops, and anything begun earlier, stop at the deadline.
        let deadline = match effect {
            Effect::Read | Effect::Detail if Instant::now() >= self.deadline => {
                self.deadline + FINAL_POLL_ALLOWANCE
            }
            _ => self.deadline,
        };
        self.budget.record_call();
        loop {
            attempts += 1;
            let give_up = |failure: Failure, verdict: Verdict| CallError {
                action,
                failure: match (verdict, failure) {
                    (Verdict::AsIs, Failure::Api(mut err))
                        if err.class == ErrorClass::Capacity && capacity_refusals.get() > 0 =>
                    {
                        let refusals = capacity_refusals.get();
                        err.message.push_str(&format!(
                            "; refused for capacity {refusals} time{} in {:.1}s",
                            if refusals == 1 { "" } else { "s" },
                            started.elapsed().as_secs_f64()
                        ));
                        Failure::Api(err)
                    }
                    (Verdict::Deadline, _) => Failure::Deadline,
                    (Verdict::Ambiguous, Failure::Api(err)) => Failure::Ambiguous(format!(
                        "{cloud} {action}: {}; the cloud may still have acted on it",
                        err.message
                    )),
                    (Verdict::Ambiguous, Failure::Transport(message)) => Failure::Ambiguous(
                        format!("{message}; the cloud may still have acted on it"),
                    ),
                    (_, failure) => failure,
                },
                attempts,
                elapsed: started.elapsed(),
            };
            let out_of_time = !self.limiter.acquire(deadline).await;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if out_of_time || remaining.is_zero() {
                return Err(match last_capacity.take() {
                    Some(refused) => give_up(refused, Verdict::AsIs),
                    None => give_up(Failure::Deadline, Verdict::Deadline),
                });
            }
            let signed = self.provider.sign(
                &call,
                self.endpoint.host(),
                self.location,
                self.credentials,
                self.now(),
            );
            let timeout = remaining.min(self.retry.request_timeout);
            if matches!(effect, Effect::Read | Effect::Detail) {
                self.last_read.set(Some(Instant::now()));
            }
            let (attempt, failure, response) = match self.send(&signed, timeout).await {
                Ok(response) => match parse(&response).map_err(|err| name_cloud(err, cloud)) {
                    Ok(value) => return Ok(value),
                    Err(err) => (
                        Attempt::Refused(err.class),
                        Failure::Api(err),
                        Some(response),
                    ),
                },
                Err(err) => {
                    let attempt = err.attempt(timeout < self.retry.request_timeout);
                    (attempt, self.send_failure(err, action, timeout), None)
                }
            };
            let decision = decide(attempt, effect, clock_corrected, self.retry.retry_capacity);
            if decision == Decision::WaitCapacity {
                capacity_refusals.set(capacity_refusals.get() + 1);
            }
            let delay = match decision {
                Decision::CorrectClock => {
                    clock_corrected = true;
                    if response.as_ref().is_some_and(|r| self.correct_clock(r)) {
                        // Signed again at once with the cloud's time; not a retry.
                        continue;
                    }
                    return Err(give_up(self.with_hint(failure, action), Verdict::AsIs));
                }
                Decision::GiveUp(verdict) => {
                    return Err(give_up(self.with_hint(failure, action), verdict));
                }
                // A lock held by another operation is waited out until the deadline.
                Decision::WaitBusy => {
                    info!(
                        "{}; waiting {}ms for the other operation",
                        FailureSummary(&failure, cloud, action),
                        self.retry.busy_delay.as_millis()
                    );
                    self.retry.busy_delay
                }
                // Sold out: tried again with the backoff (not the lock's pause) until the deadline.
                Decision::WaitCapacity => {
                    last_capacity = Some(failure.clone());
                    let refusals = capacity_refusals.get();
                    let delay = (self.retry).backoff(refusals, &mut self.rng.borrow_mut());
                    info!(
                        "{}; no capacity yet, trying again in {}ms",
                        FailureSummary(&failure, cloud, action),
                        delay.as_millis()
                    );
                    delay
                }
                Decision::Retry { throttled } => {
                    retries += 1;
                    if retries > self.retry.max_retries || !self.budget.try_spend() {
                        return Err(give_up(failure, attempt.verdict(effect)));
                    }
                    // Throttling windows are per second: a throttled request waits at least that
                    // long (or what the cloud's Retry-After asks).
                    let asked =
                        (response.as_ref()).and_then(|r| retry_after_header(r, (self.clock)()));
                    let floor = match (asked, throttled) {
                        (Some(asked), _) => asked,
                        (None, true) => THROTTLED_PAUSE,
                        (None, false) => Duration::ZERO,
                    };
                    let jitter = self.retry.backoff(retries, &mut self.rng.borrow_mut());
                    let delay = jitter.max(floor);
                    info!(
                        "{}; retry {} of {} in {}ms",
                        FailureSummary(&failure, cloud, action),
                        retries,
                        self.retry.max_retries,
                        delay.as_millis()
                    );
                    delay
                }
            };
            if Instant::now() + delay >= deadline {
                return Err(give_up(failure, attempt.verdict(effect)));
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// The failure a request that got no usable answer ends in.
    fn send_failure(&self, err: SendError, action: &str, timeout: Duration) -> Failure {
        let cloud = self.provider.name();
        let proxy = self.proxy_name.as_deref();
        match err {
            SendError::Redirected { status, to } => Failure::Transport(format!(
                "{cloud} {action}: HTTP {status} redirecting to {to}, not followed: a cloud API \
                 never redirects a signed call (check --endpoint and any proxy)"
            )),
            SendError::ProxyAuth => Failure::Api(ApiError {
                code: "HTTP 407".into(),
                message: format!(
                    "{} asks for credentials (407 Proxy Authentication Required): give them in \
                     the proxy URL, http://user:password@host:port",
                    self.proxy_name.as_deref().unwrap_or("the proxy")
                ),
                request_id: None,
                http_status: 407,
                class: ErrorClass::Auth,
            }),
            SendError::TimedOut => Failure::Transport(format!(
                "{cloud} {action}: {}",
                timed_out(&self.target, proxy, timeout)
            )),
            SendError::Connect(trouble) | SendError::Other(trouble) => Failure::Transport(format!(
                "{cloud} {action}: {}",
                trouble.explain(&self.target, proxy)
            )),
        }
    }

    /// `failure` with what a person can do about it: check the credentials (named by where they
    /// came from), refresh a session token, get a permission, or fix the clock.
    fn with_hint(&self, failure: Failure, action: &str) -> Failure {
        match failure {
            Failure::Api(err) if err.http_status == 407 => Failure::Api(err),
            Failure::Api(mut err)
                if matches!(
                    err.class,
                    ErrorClass::Auth | ErrorClass::TokenExpired | ErrorClass::PermissionDenied
                ) =>
            {
                let hint = credentials_hint(
                    err.class,
                    self.origin,
                    &self.provider.spec().credentials,
                    self.provider.name(),
                    action,
                );
                err.message.push_str(&hint);
                Failure::Api(err)
            }
            Failure::Api(mut err) if err.class == ErrorClass::ClockSkew => {
                err.message.push_str(&self.clock_hint());
                Failure::Api(err)
            }
            failure => failure,
        }
    }

    /// The time to sign with: this machine's clock, corrected by the cloud's once measured.
    fn now(&self) -> DateTime<Utc> {
        (self.clock)() + self.clock_offset.get().unwrap_or_default()
    }

    /// Measures the cloud's clock from the `Date` header of a clock-skew refusal; true if it is
    /// off by a second or more, so signing again with the cloud's time may help.
    fn correct_clock(&self, response: &HttpResponse) -> bool {
        let Some(server) = response
            .header("date")
            .and_then(|date| DateTime::parse_from_rfc2822(date).ok())
        else {
            return false;
        };
        let offset = server.with_timezone(&Utc) - (self.clock)();
        if offset.num_seconds().abs() < 1 {
            return false;
        }
        self.clock_offset.set(Some(offset));
        warn!(
            "{}; signing with the cloud's time",
            clock_off(offset, self.provider.name())
        );
        true
    }

    /// `scheme://host[:port]` of a redirect's `Location` (relative ones are on the endpoint).
    fn location_host(&self, location: &str) -> String {
        let base = reqwest::Url::parse(self.endpoint.base()).ok();
        let url = reqwest::Url::parse(location)
            .ok()
            .or_else(|| base.and_then(|base| base.join(location).ok()));
        match url {
            Some(url) => {
                let host = url.host_str().unwrap_or("?");
                match url.port() {
                    Some(port) => format!("{}://{host}:{port}", url.scheme()),
                    None => format!("{}://{host}", url.scheme()),
                }
            }
            None => "an unreadable Location".into(),
        }
    }

    /// What to tell a person whose requests keep failing on the clock.
    fn clock_hint(&self) -> String {
        let measured = match self.clock_offset.get() {
            Some(offset) => clock_off(offset, self.provider.name()),
            None => "check this machine's clock".into(),
        };
        format!(" ({measured}: synchronise it, e.g. with chrony or ntpd)")
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
            let mut value =
                reqwest::header::HeaderValue::from_str(&header.value).map_err(|_| {
                    SendError::Other(Trouble::Other(format!(
                        "header {} is not valid",
                        header.name
                    )))
                })?;
            value.set_sensitive(header.sensitive);
            builder = builder.header(header.name.as_str(), value);
        }
        let mut response = builder
            .body(request.body.clone())
            .send()
            .await
            .map_err(SendError::from)?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            let to = (response.headers().get(reqwest::header::LOCATION))
                .and_then(|location| location.to_str().ok())
                .map_or_else(|| "nowhere (no Location)".into(), |l| self.location_host(l));
            return Err(SendError::Redirected { status, to });
        }
        if status == 407 {
            return Err(SendError::ProxyAuth);
        }
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
                return Err(SendError::Other(Trouble::Other(format!(
                    "HTTP {status} answer larger than {} MiB, not read",
                    MAX_BODY_BYTES / (1024 * 1024)
                ))));
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
/// "local clock is N s off (ahead of the tencent API's clock)", for a measured `offset` (the cloud's
/// clock minus this machine's).
fn clock_off(offset: chrono::TimeDelta, cloud: &str) -> String {
    let direction = if offset < chrono::TimeDelta::zero() {
        "ahead of"
    } else {
        "behind"
    };
    format!(
        "local clock is {} s off ({direction} the {cloud} API's clock)",
        offset.num_seconds().abs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The backoff's values for one seed, pinned: a change to the jitter shows here first.
    #[test]
    fn backoff_values_are_pinned_by_the_seed() {
        let config = RetryConfig::default();
        let mut rng = fastrand::Rng::with_seed(7);
        let delays: Vec<u128> = (1..=6)
            .map(|retry| config.backoff(retry, &mut rng).as_millis())
            .collect();
        // Full jitter under caps of 250 ms, 500 ms, 1 s, 2 s, 4 s and 8 s.
        assert_eq!(delays, [193, 111, 718, 962, 465, 1324]);
    }

    #[test]
    fn clock_messages_say_how_far_off_and_which_way() {
        assert_eq!(
            clock_off(chrono::TimeDelta::seconds(-400), "tencent"),
            "local clock is 400 s off (ahead of the tencent API's clock)"
        );
        assert_eq!(
            clock_off(chrono::TimeDelta::seconds(90), "qingcloud"),
            "local clock is 90 s off (behind the qingcloud API's clock)"
        );
    }
}
