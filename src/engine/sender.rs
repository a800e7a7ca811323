//! The sender: signs a call afresh for every attempt (a new timestamp each time), sends it over one
//! reqwest client (rustls), lets the provider read the answer, and retries what is safe to retry —
//! connection failures, 5xx, throttling and the cloud's own transient codes — with full-jitter
//! exponential backoff, never past the run's deadline. It owns the rate limiter, the run's retry
//! budget and the measured clock offset.
//!
//! What happens after an attempt is one pure function, [`decide`], under table tests: the loop in
//! [`Sender::call`] only carries its verdict out (measuring the clock, sleeping, giving up).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tracing::{debug, info, trace, warn};

use super::{Clock, Endpoint, EngineConfig, RetryConfig};
use crate::credentials::{CredentialOrigin, Credentials};
use crate::error::ErrorKind;
use crate::provider::{
    ApiCall, ApiError, ErrorClass, HttpResponse, Location, Method, Provider, RateLimit,
    SignedRequest,
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

/// What a call does, which decides what may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Reads state: always safe to send again.
    Read,
    /// Reads a detail the report can do without (addresses): sent once and never retried, so
    /// it cannot hold up a machine's outcome or spend the run's retry budget.
    Detail,
    /// Starts or stops machines. `deduplicated`: the cloud de-duplicates by the call's client
    /// token, so a call that got no readable answer may be sent again as it was. `several`: the
    /// call carries more than one machine, so a refusal that may be one machine's (its lock, its
    /// type sold out) goes back to the protocol, which splits the batch, rather than being waited
    /// out for all of them.
    Act { deduplicated: bool, several: bool },
}

impl Effect {
    /// Whether a call that may have reached the cloud may be sent again.
    fn may_resend_unanswered(self) -> bool {
        !matches!(
            self,
            Effect::Act {
                deduplicated: false,
                ..
            }
        )
    }
}

/// What one attempt ran into, as far as deciding what comes next goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The cloud answered with an error (or an unreadable answer) of this class.
    Refused(ErrorClass),
    /// No answer within the request timeout; `cut_short`: the timeout was the deadline's, not
    /// the request timeout.
    TimedOut { cut_short: bool },
    /// The connection could not be made: nothing was sent.
    NotConnected,
    /// The request may have reached the cloud, but no answer came (connection reset, body lost).
    Lost,
    /// A redirect, not followed.
    Redirected,
    /// The proxy wants credentials.
    ProxyAuth,
}

impl Attempt {
    /// Whether the cloud may have acted on the request although no answer said so.
    fn may_have_acted(self) -> bool {
        match self {
            Attempt::Refused(class) => class.may_have_acted(),
            Attempt::TimedOut { .. } | Attempt::Lost => true,
            Attempt::NotConnected | Attempt::Redirected | Attempt::ProxyAuth => false,
        }
    }

    /// What giving up on this attempt means for a call with `effect`: a start or stop that may
    /// have been acted on is ambiguous, so the caller describes before anything is sent again.
    pub(crate) fn verdict(self, effect: Effect) -> Verdict {
        match effect {
            Effect::Act { .. } if self.may_have_acted() => Verdict::Ambiguous,
            _ => Verdict::AsIs,
        }
    }
}

/// What to do after an attempt that did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Measure the cloud's clock from the answer and sign again at once (not a retry).
    CorrectClock,
    /// Another operation holds the machine: send again after the lock delay, until the deadline.
    WaitBusy,
    /// No capacity now and the run waits it out (`--retry-capacity`): send again after the
    /// backoff, until the deadline, outside the retry count and budget.
    WaitCapacity,
    /// Send again after the backoff (at least a throttling window when `throttled`), within the
    /// retries and the run's retry budget.
    Retry {
        /// The cloud throttled the request.
        throttled: bool,
    },
    /// Give up.
    GiveUp(Verdict),
}

/// How a call that is given up on fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// With the last attempt's failure.
    AsIs,
    /// As [`Failure::Ambiguous`]: the cloud may have acted on it.
    Ambiguous,
    /// As [`Failure::Deadline`].
    Deadline,
}

/// The retry decision: what comes after `attempt` of a call with `effect`, given whether the
/// clock was corrected already and whether capacity refusals are waited out
/// (`--retry-capacity`). Pure, so a table pins it down.
pub(crate) fn decide(
    attempt: Attempt,
    effect: Effect,
    clock_corrected: bool,
    retry_capacity: bool,
) -> Decision {
    let unanswered = attempt.may_have_acted();
    match attempt {
        Attempt::Refused(ErrorClass::ClockSkew) if !clock_corrected => Decision::CorrectClock,
        Attempt::TimedOut { cut_short: true } => Decision::GiveUp(Verdict::Deadline),
        Attempt::Redirected | Attempt::ProxyAuth => Decision::GiveUp(Verdict::AsIs),
        // A start or stop that may have been acted on is sent again only where the cloud
        // de-duplicates it.
        _ if unanswered && !effect.may_resend_unanswered() => Decision::GiveUp(Verdict::Ambiguous),
        // A batch's lock or capacity refusal may be one machine's: the protocol splits the batch.
        Attempt::Refused(class)
            if class.ties_to_a_machine() && matches!(effect, Effect::Act { several: true, .. }) =>
        {
            Decision::GiveUp(Verdict::AsIs)
        }
        // Only a start or stop is refused for capacity; asked to, the run keeps trying.
        Attempt::Refused(ErrorClass::Capacity)
            if retry_capacity && matches!(effect, Effect::Act { .. }) =>
        {
            Decision::WaitCapacity
        }
        Attempt::Refused(class) if !class.is_retryable() => Decision::GiveUp(Verdict::AsIs),
        // A detail is asked once: it must not hold up an outcome.
        _ if effect == Effect::Detail => Decision::GiveUp(Verdict::AsIs),
        Attempt::Refused(ErrorClass::Busy) => Decision::WaitBusy,
        Attempt::Refused(class) => Decision::Retry {
            throttled: class == ErrorClass::Throttled,
        },
        Attempt::TimedOut { .. } | Attempt::NotConnected | Attempt::Lost => {
            Decision::Retry { throttled: false }
        }
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
    /// When the latest read (describe, job log) left, after the rate limiter and any retry pause.
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

    /// When the latest read request (a describe, a job log) was sent, if one was.
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
            if effect == Effect::Read {
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

/// Unreadable answers and bare HTTP errors say which cloud sent them (the provider's message
/// names the action and the status).
fn name_cloud(mut err: ApiError, cloud: &str) -> ApiError {
    if err.class == ErrorClass::BadResponse || err.code.starts_with("HTTP ") {
        err.message = format!("{cloud}: {}", err.message);
    }
    err
}

/// The delay a `Retry-After` header asks for: seconds, or an HTTP date (compared with `now`).
fn retry_after_header(response: &HttpResponse, now: DateTime<Utc>) -> Option<Duration> {
    let value = response.header("retry-after")?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds.min(MAX_RETRY_AFTER_SECS)));
    }
    let date = DateTime::parse_from_rfc2822(value).ok()?;
    let wait = (date.with_timezone(&Utc) - now).to_std().ok()?;
    Some(wait.min(Duration::from_secs(MAX_RETRY_AFTER_SECS)))
}

/// The least a throttled request waits before it is sent again, when the cloud names no time.
const THROTTLED_PAUSE: Duration = Duration::from_secs(1);

/// The longest `Retry-After` honoured; the run's deadline bounds it anyway.
const MAX_RETRY_AFTER_SECS: u64 = 300;

/// Keeps requests under one cloud's [`RateLimit`]s: at most `requests` in any window of `per`,
/// for every limit at once (plus a 2 % margin for the path between here and the cloud's counter),
/// by remembering when the last `requests` of each were sent.
struct RateLimiter {
    windows: Vec<Window>,
}

struct Window {
    limit: usize,
    length: Duration,
    sent: RefCell<VecDeque<Instant>>,
}

impl RateLimiter {
    fn new(limits: &[RateLimit]) -> Self {
        let windows = limits
            .iter()
            .map(|limit| Window {
                limit: limit.requests.max(1) as usize,
                length: limit.per + limit.per / 50,
                sent: RefCell::new(VecDeque::new()),
            })
            .collect();
        Self { windows }
    }

    /// Waits for a slot in every window and takes them; false if one would come after `deadline`.
    async fn acquire(&self, deadline: Instant) -> bool {
        loop {
            let now = Instant::now();
            // When the fullest window frees a slot; None when every window has one now.
            let free_at = (self.windows.iter())
                .filter_map(|window| {
                    let mut sent = window.sent.borrow_mut();
                    while sent.front().is_some_and(|&t| now >= t + window.length) {
                        sent.pop_front();
                    }
                    (sent.len() >= window.limit).then(|| sent[0] + window.length)
                })
                .max();
            let Some(free_at) = free_at else {
                for window in &self.windows {
                    window.sent.borrow_mut().push_back(now);
                }
                return true;
            };
            if free_at >= deadline {
                return false;
            }
            tokio::time::sleep_until(free_at).await;
        }
    }
}

/// A run-wide cap on retries, so a cloud that fails everything is not hammered: 10 retries, plus
/// one for every 5 calls made.
#[derive(Default)]
struct RetryBudget {
    calls: Cell<u32>,
    retries: Cell<u32>,
}

impl RetryBudget {
    fn record_call(&self) {
        self.calls.set(self.calls.get().saturating_add(1));
    }

    /// Takes one retry from the budget; false when it is spent.
    fn try_spend(&self) -> bool {
        let allowed = 10 + self.calls.get() / 5;
        if self.retries.get() >= allowed {
            return false;
        }
        self.retries.set(self.retries.get() + 1);
        true
    }
}

/// A request that got no usable answer.
#[derive(Debug)]
enum SendError {
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
    fn attempt(&self, cut_short: bool) -> Attempt {
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
enum Trouble {
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
    fn explain(&self, target: &str, proxy: Option<&str>) -> String {
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
fn timed_out(target: &str, proxy: Option<&str>, timeout: Duration) -> String {
    let via = proxy.map(|p| format!(" through {p}")).unwrap_or_default();
    format!(
        "no answer from {target}{via} within {:.0} s: check this machine's network, and any \
         proxy or firewall on the way",
        timeout.as_secs_f64().max(1.0)
    )
}

/// `host:port` of a base URL, for messages (the port the scheme implies when none is given).
fn host_port(base: &str) -> String {
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
fn credentials_hint(
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
struct FailureSummary<'a>(&'a Failure, &'a str, &'a str);

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

    /// Every attempt against every effect: what comes next. Each row is one rule of [`decide`].
    #[test]
    fn the_retry_decision_follows_the_table() {
        use Attempt::*;
        use Decision::*;
        use ErrorClass as C;
        const READ: Effect = Effect::Read;
        const DETAIL: Effect = Effect::Detail;
        const ACT: Effect = Effect::Act {
            deduplicated: false,
            several: false,
        };
        const DEDUP: Effect = Effect::Act {
            deduplicated: true,
            several: false,
        };
        const BATCH: Effect = Effect::Act {
            deduplicated: false,
            several: true,
        };
        let give_up = GiveUp(Verdict::AsIs);
        let ambiguous = GiveUp(Verdict::Ambiguous);
        let retry = Retry { throttled: false };
        let table: &[(Attempt, Effect, bool, Decision)] = &[
            // The clock is measured once; a second skew is final.
            (Refused(C::ClockSkew), READ, false, CorrectClock),
            (Refused(C::ClockSkew), ACT, false, CorrectClock),
            (Refused(C::ClockSkew), READ, true, give_up),
            // Throttling and transient faults are retried, throttling at least a window apart.
            (
                Refused(C::Throttled),
                READ,
                false,
                Retry { throttled: true },
            ),
            (Refused(C::Throttled), ACT, false, Retry { throttled: true }),
            (Refused(C::Transient), ACT, false, retry),
            // A lock is waited out; a detail is never waited for.
            (Refused(C::Busy), ACT, false, WaitBusy),
            (Refused(C::Busy), READ, false, WaitBusy),
            (Refused(C::Busy), DETAIL, false, give_up),
            (Refused(C::Throttled), DETAIL, false, give_up),
            // Refusals about the machines or the account are final: the protocol explains them.
            (Refused(C::Auth), READ, false, give_up),
            (Refused(C::WrongState), ACT, false, give_up),
            (Refused(C::OperationFailed), ACT, false, give_up),
            (Refused(C::NotFound), ACT, false, give_up),
            (Refused(C::AlreadyDone), ACT, false, give_up),
            (Refused(C::Refused), DEDUP, false, give_up),
            // An answer that may hide an accepted start or stop: resent only where the cloud
            // de-duplicates, else described first.
            (Refused(C::BadResponse), ACT, false, ambiguous),
            (Refused(C::Unanswered), ACT, false, ambiguous),
            (Refused(C::BadResponse), DEDUP, false, retry),
            (Refused(C::BadResponse), READ, false, retry),
            (Lost, ACT, false, ambiguous),
            (Lost, DEDUP, false, retry),
            (Lost, READ, false, retry),
            (Lost, DETAIL, false, give_up),
            (TimedOut { cut_short: false }, ACT, false, ambiguous),
            (TimedOut { cut_short: false }, READ, false, retry),
            (
                TimedOut { cut_short: true },
                READ,
                false,
                GiveUp(Verdict::Deadline),
            ),
            (
                TimedOut { cut_short: true },
                ACT,
                false,
                GiveUp(Verdict::Deadline),
            ),
            // Nothing was sent: always safe to send again.
            (NotConnected, ACT, false, retry),
            (NotConnected, READ, false, retry),
            // Never followed, never retried.
            (Redirected, READ, false, give_up),
            (ProxyAuth, ACT, false, give_up),
        ];
        for &(attempt, effect, corrected, expected) in table {
            assert_eq!(
                decide(attempt, effect, corrected, false),
                expected,
                "{attempt:?} {effect:?} corrected={corrected}"
            );
        }
        // A capacity refusal is final unless the run waits capacity out; then a start or stop
        // is sent again, and anything else still gives up.
        let capacity: &[(Attempt, Effect, bool, Decision)] = &[
            (Refused(C::Capacity), ACT, false, give_up),
            (Refused(C::Capacity), DEDUP, false, give_up),
            (Refused(C::Capacity), ACT, true, WaitCapacity),
            (Refused(C::Capacity), DEDUP, true, WaitCapacity),
            (Refused(C::Capacity), READ, true, give_up),
            (Refused(C::Capacity), DETAIL, true, give_up),
            // The flag touches capacity alone.
            (Refused(C::Refused), ACT, true, give_up),
            (Refused(C::Busy), ACT, true, WaitBusy),
            (Lost, ACT, true, ambiguous),
            // A batch's lock or capacity refusal goes back to the protocol, which splits it;
            // its other refusals are decided as for one machine.
            (Refused(C::Capacity), BATCH, true, give_up),
            (Refused(C::Busy), BATCH, false, give_up),
            (
                Refused(C::Throttled),
                BATCH,
                false,
                Retry { throttled: true },
            ),
            (Lost, BATCH, false, ambiguous),
        ];
        for &(attempt, effect, retry_capacity, expected) in capacity {
            assert_eq!(
                decide(attempt, effect, false, retry_capacity),
                expected,
                "{attempt:?} {effect:?} retry_capacity={retry_capacity}"
            );
        }
        // Out of retries, a start or stop that may have acted is ambiguous; the rest fail as is.
        assert_eq!(Lost.verdict(DEDUP), Verdict::Ambiguous);
        assert_eq!(Refused(C::Throttled).verdict(ACT), Verdict::AsIs);
        assert_eq!(Lost.verdict(READ), Verdict::AsIs);
    }

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

    #[tokio::test(start_paused = true)]
    async fn the_rate_limiter_never_lets_more_than_the_limit_into_one_window() {
        let limiter = RateLimiter::new(&[RateLimit {
            requests: 10,
            per: Duration::from_secs(1),
        }]);
        let far = Instant::now() + Duration::from_secs(3600);
        let mut sent = Vec::new();
        for _ in 0..35 {
            assert!(limiter.acquire(far).await);
            sent.push(Instant::now());
        }
        // A burst of 10, then 10 more each time the oldest leaves the window.
        for (i, t) in sent.iter().enumerate() {
            let in_window = sent[i..]
                .iter()
                .take_while(|&&u| u < *t + Duration::from_secs(1))
                .count();
            assert!(in_window <= 10, "{in_window} requests in one second");
        }
        let span = sent[34] - sent[0];
        assert!(span >= Duration::from_secs(3), "{span:?}");
        assert!(span < Duration::from_secs(4), "{span:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_hourly_quota_is_not_spent_in_one_second() {
        // QingCloud's limits: 2000 an hour, 10 a second.
        let limiter = RateLimiter::new(crate::provider::QingcloudEhpc.spec().rate_limits);
        let far = Instant::now() + Duration::from_secs(7200);
        let started = Instant::now();
        let mut in_first_second = 0;
        for _ in 0..100 {
            assert!(limiter.acquire(far).await);
            if started.elapsed() < Duration::from_secs(1) {
                in_first_second += 1;
            }
        }
        assert_eq!(in_first_second, 10);
        assert!(started.elapsed() >= Duration::from_secs(9));
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_limiter_gives_up_on_a_slot_past_the_deadline() {
        let limiter = RateLimiter::new(&[RateLimit {
            requests: 1,
            per: Duration::from_secs(10),
        }]);
        let deadline = Instant::now() + Duration::from_secs(5);
        assert!(limiter.acquire(deadline).await);
        assert!(!limiter.acquire(deadline).await);
    }

    #[test]
    fn the_retry_budget_grows_with_the_calls_made() {
        let budget = RetryBudget::default();
        assert_eq!((0..100).filter(|_| budget.try_spend()).count(), 10);
        for _ in 0..50 {
            budget.record_call();
        }
        assert_eq!((0..100).filter(|_| budget.try_spend()).count(), 10);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date_and_is_capped() {
        let with = |value: &str| HttpResponse {
            headers: vec![("retry-after".into(), value.into())],
            ..HttpResponse::new(429, "")
        };
        let now = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let after = |value: &str| retry_after_header(&with(value), now);
        assert_eq!(after("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            after("86400"),
            Some(Duration::from_secs(MAX_RETRY_AFTER_SECS))
        );
        assert_eq!(
            after("Wed, 01 May 2024 12:00:30 +0000"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(after("Wed, 01 May 2024 11:59:00 +0000"), None);
        assert_eq!(after("soon"), None);
        assert_eq!(retry_after_header(&HttpResponse::new(429, ""), now), None);
    }

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
