//! The one HTTP layer: a single reqwest client (rustls), timeouts, and the request retry loop with
//! its classification.
//!
//! [`ApiClient`] is where a provider meets the network: it builds a call, signs it afresh for every
//! attempt (a new timestamp each time), sends it, lets the provider read the answer, and retries what
//! is safe to retry — connection failures, 5xx, throttling and the cloud's own transient codes — with
//! full-jitter exponential backoff, never past the run's deadline. It owns the rate limiter, the
//! run's retry budget, the measured clock offset, and what this run's starts, stops and their jobs
//! said. Deciding what to start, stop or resend is [`super::lifecycle`]'s job; polling is
//! [`super::wait`]'s.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tracing::{debug, info, trace, warn};

use super::{Clock, Endpoint, EngineConfig, RetryConfig};
use crate::credentials::Credentials;
use crate::error::ErrorKind;
use crate::provider::{
    Action, ActionOptions, ApiCall, ApiError, ErrorClass, HttpResponse, InstanceState, JobPhase,
    JobStatus, Location, Method, Phase, Provider, RateLimit, SignedRequest,
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
                ErrorClass::Auth | ErrorClass::ClockSkew => ErrorKind::Auth,
                // Only the deadline ends a wait for a lock.
                ErrorClass::Busy => ErrorKind::Timeout,
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
        if self.attempts > 1 {
            text.push_str(&format!(
                " ({} failed after {} attempts in {:.1}s)",
                self.action,
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

/// What an accepted start or stop call said.
#[derive(Debug)]
pub struct ActReply {
    /// The cloud's asynchronous job for the call, where it reports one.
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
    options: ActionOptions,
    deadline: Instant,
    client: reqwest::Client,
    limiter: RateLimiter,
    budget: RetryBudget,
    /// The cloud's clock minus this machine's, once a clock-skew refusal has measured it.
    clock_offset: Cell<Option<chrono::TimeDelta>>,
    /// This run's accepted starts and stops, by machine: what a describe's report of a failed
    /// operation or a failed job is compared with.
    acted: RefCell<HashMap<String, RunAction>>,
    /// The start and stop jobs' last known status and when it was asked.
    jobs: RefCell<HashMap<String, (Instant, JobStatus)>>,
    /// The proxy in use, for messages (`proxy 10.0.0.1:3128 (HTTPS_PROXY)`).
    proxy_name: Option<String>,
    /// Wall-clock time.
    clock: Clock,
    /// Client tokens and backoff jitter.
    rng: RefCell<fastrand::Rng>,
}

/// What this run's accepted start or stop of one machine said.
#[derive(Debug, Clone)]
struct RunAction {
    /// Start or stop.
    action: Action,
    /// The call's request id.
    request_id: Option<String>,
    /// The call's asynchronous jobs (QingCloud).
    job_ids: Vec<String>,
}

/// What a call does, which decides what may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Reads state: always safe to send again.
    Read,
    /// Reads a detail the report can do without (addresses): sent once and never retried, so
    /// it cannot hold up a machine's outcome or spend the run's retry budget.
    Detail,
    /// Starts or stops machines. `deduplicated`: the cloud de-duplicates by the call's client
    /// token, so a call that got no readable answer may be sent again as it was.
    Act { deduplicated: bool },
}

/// How long past the run's deadline the final poll's describes may take: their own allowance.
const FINAL_POLL_ALLOWANCE: Duration = Duration::from_secs(2);

/// How often a start job that is still working is asked about.
const JOB_POLL_INTERVAL: Duration = Duration::from_secs(2);

impl<'a> ApiClient<'a> {
    /// A client for the cloud, place and credentials of `config`; no call may outlive its
    /// deadline.
    pub fn new(config: EngineConfig<'a>) -> Result<Self, reqwest::Error> {
        let EngineConfig {
            provider,
            credentials,
            location,
            endpoint,
            retry,
            network,
            options,
            deadline,
            clock,
            seed,
        } = config;
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
            provider,
            credentials,
            location,
            endpoint,
            retry,
            options,
            deadline,
            client,
            limiter: RateLimiter::new(provider.spec().rate_limits),
            budget: RetryBudget::default(),
            clock_offset: Cell::new(None),
            acted: RefCell::new(HashMap::new()),
            jobs: RefCell::new(HashMap::new()),
            proxy_name: network.proxy_name.clone(),
            clock,
            rng: RefCell::new(seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed)),
        })
    }

    /// The provider this client speaks for.
    pub fn provider(&self) -> &'static dyn Provider {
        self.provider
    }

    /// A generator of its own for a caller's jitter (the waiter's), seeded from this client's.
    pub fn fork_rng(&self) -> fastrand::Rng {
        self.rng.borrow_mut().fork()
    }

    /// Starts or stops `ids` (one call's worth).
    ///
    /// A call that got no readable answer is ambiguous: the cloud may have acted on it. It is sent
    /// again only where the cloud de-duplicates by the call's client token (the same token on every
    /// attempt); elsewhere it fails with [`Failure::Ambiguous`] and the caller describes the
    /// machines before deciding. Every other retry is safe because a repeated start of a starting
    /// machine (or stop of a stopping one) is refused, not repeated.
    pub async fn act(&self, action: Action, ids: &[String]) -> Result<ActReply, CallError> {
        let token = {
            let mut rng = self.rng.borrow_mut();
            format!("{:016x}{:016x}", rng.u64(..), rng.u64(..))
        };
        let options = ActionOptions {
            client_token: token,
            ..self.options.clone()
        };
        let call = self
            .provider
            .action_call(action, ids, self.location, &options);
        let name = call.action;
        let effect = Effect::Act {
            deduplicated: self.provider.spec().idempotent_actions,
        };
        let accepted = self
            .call(call, effect, |r| self.provider.parse_action(action, r))
            .await?;
        if let Some(request_id) = &accepted.request_id {
            debug!("{name} accepted, request id {request_id}");
        }
        let run_action = RunAction {
            action,
            request_id: accepted.request_id.clone(),
            job_ids: (accepted.job_id.iter())
                .flat_map(|jobs| jobs.split(','))
                .map(str::to_string)
                .collect(),
        };
        {
            let mut acted = self.acted.borrow_mut();
            for id in ids {
                if !accepted.refused.iter().any(|(refused, _)| refused == id) {
                    acted.insert(id.clone(), run_action.clone());
                }
            }
        }
        let refused = accepted
            .refused
            .into_iter()
            .map(|(id, err)| {
                let err = CallError {
                    action: name,
                    failure: Failure::Api(err),
                    attempts: 1,
                    elapsed: Duration::ZERO,
                };
                (id, err)
            })
            .collect();
        Ok(ActReply {
            job_id: accepted.job_id,
            refused,
        })
    }

    /// The current state of `ids` (one describe call's worth), with what this run knows added:
    /// a failed start or stop the cloud reports counts only if it is this run's call, and a job
    /// of this run's that failed fails its machines at once.
    pub async fn describe(&self, ids: &[String]) -> Result<Vec<InstanceState>, CallError> {
        let call = self.provider.describe_call(ids, self.location);
        let mut states = self
            .call(call, Effect::Read, |r| self.provider.parse_describe(r))
            .await?;
        {
            let acted = self.acted.borrow();
            for state in &mut states {
                let Some(failed) = state.failed_operation.take() else {
                    continue;
                };
                let ours = acted.get(&state.id).filter(|run| {
                    run.request_id.as_deref() == Some(failed.as_str())
                        && state.phase != run.action.target()
                });
                if ours.is_some() {
                    state.phase = Phase::Failed;
                } else {
                    // An older call's failure: not this run's, and not a reason.
                    debug!(
                        "{}: ignoring the failed operation {failed} of an earlier run",
                        state.id
                    );
                    state.detail = None;
                }
            }
        }
        self.apply_jobs(&mut states).await;
        self.apply_details(&mut states).await;
        Ok(states)
    }

    /// Fills in the addresses (and zone) of running machines the describe reported no address
    /// for, on clouds that report them through another call (Zenlayer): one call for the whole
    /// batch. They are details of the report, so a call that fails is logged and leaves them
    /// empty; it never fails a machine.
    async fn apply_details(&self, states: &mut [InstanceState]) {
        let wanted =
            |state: &InstanceState| state.phase == Phase::Running && state.addresses.is_empty();
        let ids: Vec<String> = (states.iter().filter(|s| wanted(s)))
            .map(|state| state.id.clone())
            .collect();
        if ids.is_empty() {
            return;
        }
        let Some(call) = self.provider.detail_call(&ids, self.location) else {
            return;
        };
        let found = self
            .call(call, Effect::Detail, |r| self.provider.parse_details(r))
            .await;
        match found {
            Ok(found) => {
                for detail in found {
                    if let Some(state) = states.iter_mut().find(|s| s.id == detail.id && wanted(s))
                    {
                        state.addresses = detail.addresses;
                        state.zone = state.zone.take().or(detail.zone);
                    }
                }
            }
            Err(err) => debug!(
                "cannot read the addresses of {} running machine{}: {err}",
                ids.len(),
                if ids.len() == 1 { "" } else { "s" }
            ),
        }
    }

    /// Fails the machines whose start or stop job failed. A job is asked about at most every
    /// [`JOB_POLL_INTERVAL`] and not again once it has ended; a job call that fails is logged
    /// and left to the next round, since the machines' own states still decide.
    async fn apply_jobs(&self, states: &mut [InstanceState]) {
        // A machine is still open while it is neither failed nor where this run's call drives it.
        let open = |acted: &HashMap<String, RunAction>, state: &InstanceState| {
            let target = acted.get(&state.id).map(|run| run.action.target());
            state.phase != Phase::Failed && Some(state.phase) != target
        };
        let wanted: Vec<String> = {
            let acted = self.acted.borrow();
            let mut jobs: Vec<String> = (states.iter().filter(|s| open(&acted, s)))
                .filter_map(|state| acted.get(&state.id))
                .flat_map(|run| run.job_ids.iter().cloned())
                .collect();
            jobs.sort();
            jobs.dedup();
            jobs
        };
        for job_id in wanted {
            let known = self.jobs.borrow().get(&job_id).cloned();
            let fresh = known.as_ref().is_some_and(|(asked, status)| {
                status.phase != JobPhase::Working || asked.elapsed() < JOB_POLL_INTERVAL
            });
            let status = if fresh {
                known.map(|(_, status)| status)
            } else {
                self.job(&job_id).await
            };
            let Some(status) = status.filter(|s| s.phase == JobPhase::Failed) else {
                continue;
            };
            let acted = self.acted.borrow();
            for state in states.iter_mut() {
                let Some(run) = acted.get(&state.id) else {
                    continue;
                };
                if open(&acted, state) && run.job_ids.contains(&job_id) {
                    state.phase = Phase::Failed;
                    state.failure_code = Some(
                        status
                            .error_code
                            .clone()
                            .unwrap_or_else(|| status.raw.clone()),
                    );
                    state.detail = Some(format!(
                        "the {} job {job_id} {}",
                        run.action.name(),
                        status.raw
                    ));
                }
            }
        }
    }

    /// Start and stop jobs still worth asking about: known to this run and not ended. Each costs
    /// the poller one request a round.
    pub fn open_jobs(&self) -> usize {
        let jobs = self.jobs.borrow();
        let acted = self.acted.borrow();
        let open: HashSet<&String> = (acted.values())
            .flat_map(|start| start.job_ids.iter())
            .filter(|job| {
                !jobs
                    .get(*job)
                    .is_some_and(|(_, s)| s.phase != JobPhase::Working)
            })
            .collect();
        open.len()
    }

    /// Asks the cloud about job `job_id` and remembers the answer. A job the cloud does
    /// not list, or cannot be asked about, counts as still working until it is asked again.
    async fn job(&self, job_id: &str) -> Option<JobStatus> {
        let call = self.provider.job_call(job_id, self.location)?;
        let answer = self
            .call(call, Effect::Read, |r| self.provider.parse_job(r))
            .await;
        let status = match answer {
            Ok(jobs) => jobs.into_iter().find(|job| job.job_id == job_id),
            Err(err) => {
                debug!("cannot read job {job_id}: {err}");
                None
            }
        };
        let remembered = status.clone().unwrap_or_else(|| JobStatus {
            job_id: job_id.to_string(),
            phase: JobPhase::Working,
            raw: "unknown".into(),
            error_code: None,
        });
        self.jobs
            .borrow_mut()
            .insert(job_id.to_string(), (Instant::now(), remembered));
        status
    }

    /// Sends `call` until it succeeds, fails for good, or the deadline or the retry budget runs
    /// out. A start that may have been acted on without a readable answer is sent again only
    /// where the cloud de-duplicates it; in the end it fails as [`Failure::Ambiguous`], so the
    /// caller describes the machines before deciding anything.
    async fn call<T>(
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
        let mut clock_corrected = false;
        // Whether the last attempt was sent and may have been acted on without an answer saying so.
        let unanswered = Cell::new(false);
        // The waiter's last poll is sent at the deadline: a describe that begins there (and only
        // such a one) has a short allowance past it, so that poll still goes out and counts.
        // Starts, and anything begun earlier, stop at the deadline.
        let deadline = match effect {
            Effect::Read | Effect::Detail if Instant::now() >= self.deadline => {
                self.deadline + FINAL_POLL_ALLOWANCE
            }
            _ => self.deadline,
        };
        let resend_unanswered = effect
            != Effect::Act {
                deduplicated: false,
            };
        self.budget.record_call();
        loop {
            attempts += 1;
            let give_up = |failure: Failure| {
                let failure = match failure {
                    Failure::Api(err)
                        if unanswered.get() && matches!(effect, Effect::Act { .. }) =>
                    {
                        Failure::Ambiguous(format!(
                            "{cloud} {action}: {}; the cloud may still have acted on it",
                            err.message
                        ))
                    }
                    Failure::Transport(message)
                        if unanswered.get() && matches!(effect, Effect::Act { .. }) =>
                    {
                        Failure::Ambiguous(format!(
                            "{message}; the cloud may still have acted on it"
                        ))
                    }
                    failure => failure,
                };
                CallError {
                    action,
                    failure,
                    attempts,
                    elapsed: started.elapsed(),
                }
            };
            if !self.limiter.acquire(deadline).await {
                return Err(give_up(Failure::Deadline));
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(give_up(Failure::Deadline));
            }
            let signed = self.provider.sign(
                &call,
                self.endpoint.host(),
                self.location,
                self.credentials,
                self.now(),
            );
            let timeout = remaining.min(self.retry.request_timeout);
            let mut retry_after = None;
            let sent = (self.send(&signed, timeout).await).map(|response| {
                let parsed = parse(&response).map_err(|err| name_cloud(err, cloud));
                (response, parsed)
            });
            unanswered.set(match &sent {
                Ok((_, parsed)) => parsed.as_ref().is_err_and(|err| err.class.may_have_acted()),
                Err(SendError::TimedOut | SendError::Other(_)) => true,
                Err(_) => false,
            });
            let failure = match sent {
                Ok((response, parsed)) => match parsed {
                    Ok(value) => return Ok(value),
                    Err(err) if err.class == ErrorClass::ClockSkew && !clock_corrected => {
                        clock_corrected = true;
                        if self.correct_clock(&response) {
                            // Signed again at once with the cloud's time; not a retry.
                            continue;
                        }
                        let mut err = err;
                        err.message.push_str(&self.clock_hint());
                        return Err(give_up(Failure::Api(err)));
                    }
                    Err(mut err) if err.class == ErrorClass::ClockSkew => {
                        err.message.push_str(&self.clock_hint());
                        return Err(give_up(Failure::Api(err)));
                    }
                    Err(err) if err.class.may_have_acted() && !resend_unanswered => {
                        return Err(give_up(Failure::Ambiguous(format!(
                            "{cloud} {action}: {}; the cloud may still have acted on it",
                            err.message
                        ))))
                    }
                    Err(err) if err.class.is_retryable() => {
                        retry_after = retry_after_header(&response, (self.clock)());
                        Failure::Api(err)
                    }
                    Err(mut err) => {
                        if err.class == ErrorClass::Auth {
                            err.message.push_str(&self.credentials_hint());
                        }
                        return Err(give_up(Failure::Api(err)));
                    }
                },
                Err(SendError::TimedOut) if timeout < self.retry.request_timeout => {
                    return Err(give_up(Failure::Deadline))
                }
                Err(SendError::Connect(message)) => {
                    Failure::Transport(format!("{cloud} {action}: {message}"))
                }
                Err(SendError::Redirected { status, to }) => {
                    return Err(give_up(Failure::Transport(format!(
                        "{cloud} {action}: HTTP {status} redirecting to {to}, not followed: a cloud \
                         API never redirects a signed call (check --endpoint and any proxy)"
                    ))))
                }
                Err(SendError::ProxyAuth) => {
                    return Err(give_up(Failure::Api(ApiError {
                        code: "HTTP 407".into(),
                        message: format!(
                            "{} asks for credentials (407 Proxy Authentication Required): give \
                             them in the proxy URL, http://user:password@host:port",
                            self.proxy_name.as_deref().unwrap_or("the proxy")
                        ),
                        request_id: None,
                        http_status: 407,
                        class: ErrorClass::Auth,
                    })))
                }
                Err(err) if !resend_unanswered => {
                    return Err(give_up(Failure::Ambiguous(format!(
                        "{cloud} {action}: {err}; the cloud may still have acted on it"
                    ))))
                }
                Err(err) => Failure::Transport(format!("{cloud} {action}: {err}")),
            };
            if effect == Effect::Detail {
                return Err(give_up(failure));
            }
            // A lock held by another operation is waited out until the deadline; everything
            // else retryable gets `max_retries` retries, within the run's retry budget.
            let delay = if let Failure::Api(ApiError {
                class: ErrorClass::Busy,
                ..
            }) = &failure
            {
                info!(
                    "{cloud} {action}: {}; waiting {}ms for the other operation",
                    FailureSummary(&failure),
                    self.retry.busy_delay.as_millis()
                );
                self.retry.busy_delay
            } else {
                retries += 1;
                if retries > self.retry.max_retries || !self.budget.try_spend() {
                    return Err(give_up(failure));
                }
                // Throttling windows are per second: a throttled request waits at least that long
                // (or what the cloud's Retry-After asks).
                let floor = match &failure {
                    Failure::Api(ApiError {
                        class: ErrorClass::Throttled,
                        ..
                    }) => retry_after.unwrap_or(THROTTLED_PAUSE),
                    _ => retry_after.unwrap_or_default(),
                };
                let jitter = self.retry.backoff(retries, &mut self.rng.borrow_mut());
                let delay = jitter.max(floor);
                info!(
                    "{cloud} {action}: {}; retry {} of {} in {}ms",
                    FailureSummary(&failure),
                    retries,
                    self.retry.max_retries,
                    delay.as_millis()
                );
                delay
            };
            if Instant::now() + delay >= deadline {
                return Err(give_up(failure));
            }
            tokio::time::sleep(delay).await;
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

    /// What to tell a person whose credentials were refused.
    fn credentials_hint(&self) -> String {
        let vars = &self.provider.spec().credentials;
        format!(
            " (check the credentials: {} and {}, or the config profile)",
            vars.key_id.join("/"),
            vars.secret.join("/")
        )
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
                return Err(SendError::Other(format!(
                    "HTTP {status} answer larger than {} MiB, not read",
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
    Connect(String),
    /// Anything else: the request may have reached the cloud.
    Other(String),
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
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        // An https request through a proxy that refused the tunnel for want of credentials.
        let lower = message.to_ascii_lowercase();
        if lower.contains("407") || lower.contains("proxy authorization required") {
            return SendError::ProxyAuth;
        }
        if connect {
            SendError::Connect(message)
        } else {
            SendError::Other(message)
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::TimedOut => f.write_str("no answer within the request timeout"),
            SendError::Connect(message) | SendError::Other(message) => f.write_str(message),
            SendError::Redirected { status, to } => write!(f, "HTTP {status} redirecting to {to}"),
            SendError::ProxyAuth => f.write_str("the proxy asks for credentials (HTTP 407)"),
        }
    }
}

struct FailureSummary<'a>(&'a Failure);

impl fmt::Display for FailureSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Failure::Api(err) if err.code.starts_with("HTTP ") => f.write_str(&err.code),
            Failure::Api(err) => write!(f, "HTTP {} {}", err.http_status, err.code),
            Failure::Transport(message) | Failure::Ambiguous(message) => f.write_str(message),
            Failure::Deadline => f.write_str("deadline"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The retry loop against the simulator, in this runtime on 127.0.0.1:0. Real sockets, so
    /// real time: the delays are a few milliseconds and nothing asserts how long anything took.
    mod against_the_simulator {
        use std::collections::HashMap;

        use super::*;
        use crate::engine::{system_clock, Clock, Network};
        use crate::sim::{self, FaultPlan, FaultSpec, SeedMachine, SimConfig};

        /// What a client for one of the simulator's clouds borrows.
        struct Cloud {
            provider: &'static dyn Provider,
            credentials: Credentials,
            location: Location,
            endpoint: Endpoint,
            network: Network,
            /// Machine number 1, alone.
            ids: Vec<String>,
        }

        impl Cloud {
            fn client(&self, clock: Clock, deadline: Duration) -> ApiClient<'_> {
                ApiClient::new(EngineConfig {
                    provider: self.provider,
                    credentials: &self.credentials,
                    location: &self.location,
                    endpoint: &self.endpoint,
                    retry: RetryConfig {
                        max_retries: 4,
                        base_delay: Duration::from_millis(1),
                        max_delay: Duration::from_millis(5),
                        request_timeout: Duration::from_secs(10),
                        busy_delay: Duration::from_millis(5),
                    },
                    network: &self.network,
                    options: ActionOptions::default(),
                    deadline: Instant::now() + deadline,
                    clock,
                    seed: Some(7),
                })
                .unwrap()
            }
        }

        /// `cloud`'s dialect with `faults`, and its machine number 1 seeded as `state`.
        async fn simulate(cloud: &str, faults: &[&str], state: Option<&str>) -> Cloud {
            let profile = sim::profiles().find(|p| p.provider == cloud).unwrap();
            let id = (profile.example_id)(1);
            let machine = SeedMachine {
                state: state.map(str::to_string),
                ..SeedMachine::default()
            };
            let seed = HashMap::from([(cloud.to_string(), HashMap::from([(id.clone(), machine)]))]);
            let faults = FaultPlan {
                specs: faults
                    .iter()
                    .map(|f| f.parse::<FaultSpec>().unwrap())
                    .collect(),
                ..FaultPlan::default()
            };
            let simulator = sim::spawn(SimConfig {
                listen: ([127, 0, 0, 1], 0).into(),
                boot_delay: Duration::ZERO,
                stop_delay: Duration::ZERO,
                seed,
                log: None,
                faults,
            })
            .await
            .unwrap();
            let provider = crate::provider::find(cloud).unwrap();
            let credentials = (provider.spec().credentials)
                .resolve(cloud, &|var| profile.credential(var))
                .unwrap();
            Cloud {
                provider,
                credentials,
                location: Location {
                    region: profile.region.map(str::to_string),
                    zone: profile.zone.map(str::to_string),
                },
                endpoint: Endpoint::parse(&simulator.url(cloud).unwrap()).unwrap(),
                network: Network::default(),
                ids: vec![id],
            }
        }

        #[tokio::test]
        async fn a_5xx_is_retried_until_the_start_is_accepted() {
            let cloud = simulate("tencent", &["http503:2@start"], None).await;
            let client = cloud.client(system_clock, Duration::from_secs(30));
            let reply = client.act(Action::Start, &cloud.ids).await.unwrap();
            assert!(reply.refused.is_empty());
        }

        #[tokio::test]
        async fn a_5xx_that_outlasts_the_retries_fails_naming_the_attempts() {
            let cloud = simulate("tencent", &["http503:5@start"], None).await;
            let client = cloud.client(system_clock, Duration::from_secs(30));
            let err = client.act(Action::Start, &cloud.ids).await.unwrap_err();
            assert_eq!(err.attempts, 5, "{err}");
            assert_eq!(err.kind(), ErrorKind::Transport);
            assert!(err.message().contains("failed after 5 attempts"), "{err}");
        }

        #[tokio::test]
        async fn an_unanswered_start_is_not_resent_where_the_cloud_does_not_deduplicate() {
            let cloud = simulate("tencent", &["drop:1@start"], None).await;
            let client = cloud.client(system_clock, Duration::from_secs(30));
            let err = client.act(Action::Start, &cloud.ids).await.unwrap_err();
            assert!(err.is_ambiguous(), "{err}");
            assert_eq!(err.attempts, 1);
        }

        #[tokio::test]
        async fn an_unanswered_start_is_resent_where_the_cloud_deduplicates_it() {
            let cloud = simulate("volcengine", &["drop:1@start"], None).await;
            let client = cloud.client(system_clock, Duration::from_secs(30));
            let reply = client.act(Action::Start, &cloud.ids).await.unwrap();
            assert!(reply.refused.is_empty());
        }

        #[tokio::test]
        async fn a_describe_that_lost_its_answer_is_simply_sent_again() {
            let cloud = simulate("tencent", &["drop:2@describe"], None).await;
            let client = cloud.client(system_clock, Duration::from_secs(30));
            let states = client.describe(&cloud.ids).await.unwrap();
            assert_eq!(states[0].phase, Phase::Stopped);
        }

        #[tokio::test]
        async fn a_clock_twenty_minutes_slow_is_measured_and_the_call_signed_again() {
            fn slow() -> DateTime<Utc> {
                Utc::now() - chrono::TimeDelta::minutes(20)
            }
            let cloud = simulate("tencent", &[], None).await;
            let client = cloud.client(slow, Duration::from_secs(30));
            let states = client.describe(&cloud.ids).await.unwrap();
            assert_eq!(states[0].phase, Phase::Stopped);
            let offset = client.clock_offset.get().unwrap();
            assert!(offset > chrono::TimeDelta::minutes(19), "{offset}");
        }

        #[tokio::test]
        async fn an_operation_lock_is_waited_out_until_the_deadline() {
            let cloud = simulate("compshare", &[], Some("Rebooting")).await;
            let client = cloud.client(system_clock, Duration::from_millis(300));
            let err = client.act(Action::Start, &cloud.ids).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
            // Sent again and again while the lock lasted, never given up on as a refusal.
            assert!(err.attempts > 1, "{err}");
        }
    }
}
