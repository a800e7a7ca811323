//! The simulator behind `cloudstart sim` and `demo`: a stateful local fake of the clouds' APIs,
//! served on loopback.
//!
//! Each cloud's dialect listens on its own port and speaks that cloud's wire protocol: it verifies
//! every signature with fixed test credentials and answers in the cloud's real error envelope.
//! Machines it has not seen exist as stopped; a start moves them to starting and, after the boot
//! delay, to running; a stop moves a running machine to stopping and, after the stop delay, to
//! stopped (either may fail instead, if the state file says so). The lifecycle lives here once;
//! a dialect only translates it into its cloud's names and envelopes. The command line is not its
//! business: `commands/sim.rs` turns `cloudstart sim`'s flags into a [`SimConfig`].

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::error::Error;
use crate::provider::{
    Action, ActionOptions, Addresses, Location, Phase, SignedRequest, Vocabulary,
};
use faults::{FaultState, Injected};

mod compshare;
mod faults;
mod qingcloud;
mod tencent;
mod volcengine;
mod zenlayer;

pub use faults::{FaultKind, FaultPlan, FaultSpec, FaultTarget};

/// The simulator's dialects, one per cloud, each on its own port in this order.
static DIALECTS: &[&dyn Dialect] = &[
    &qingcloud::QingcloudDialect,
    &tencent::TencentDialect,
    &volcengine::VolcengineDialect,
    &zenlayer::ZenlayerDialect,
    &compshare::CompshareDialect,
];

/// How a client reaches one dialect: the simulator's fixed test credentials and a location it
/// accepts. The cloud's state names come from its provider's [`Vocabulary`], the same table the
/// provider parses answers with. `demo`, the tests and `sim --help` read it.
#[derive(Debug)]
pub struct Profile {
    /// The `--provider` value.
    pub provider: &'static str,
    /// Environment variables and values holding the only credentials the dialect accepts.
    pub credentials: &'static [(&'static str, &'static str)],
    /// A region to pass, for clouds that need one.
    pub region: Option<&'static str>,
    /// A zone to pass, for clouds that need one.
    pub zone: Option<&'static str>,
    /// The zone every simulated machine is in, under the cloud's own field name in its describe
    /// answers (QingCloud's list names none: its machines are in the zone passed).
    pub machine_zone: &'static str,
    /// A well-formed instance id, different for each `n`.
    pub example_id: fn(usize) -> String,
}

impl Profile {
    /// The words of the cloud this dialect imitates.
    pub fn vocabulary(&self) -> &'static Vocabulary {
        &crate::provider::find(self.provider)
            .expect("every dialect imitates a registered provider")
            .spec()
            .vocabulary
    }

    /// The cloud's name for a stopped machine, for `--state` files.
    pub fn stopped_state(&self) -> &'static str {
        self.vocabulary().state(Phase::Stopped).unwrap_or("stopped")
    }

    /// The cloud's name for a running machine, for `--state` files.
    pub fn running_state(&self) -> &'static str {
        self.vocabulary().state(Phase::Running).unwrap_or("running")
    }

    /// The cloud's name for a machine on its way from stopped to running, for `--state` files.
    pub fn starting_state(&self) -> &'static str {
        self.vocabulary().starting
    }

    /// The cloud's name for a machine on its way from running to stopped, for `--state` files.
    pub fn stopping_state(&self) -> &'static str {
        self.vocabulary().stopping
    }

    /// The cloud's name for `phase` of the shared lifecycle (a failed start or stop is the
    /// dialect's to name: each cloud shows it differently).
    pub(crate) fn state_name<'a>(&self, phase: &'a MachinePhase) -> Option<&'a str> {
        match phase {
            MachinePhase::Stopped => Some(self.stopped_state()),
            MachinePhase::Starting { .. } => Some(self.starting_state()),
            MachinePhase::Running => Some(self.running_state()),
            MachinePhase::Stopping { .. } => Some(self.stopping_state()),
            MachinePhase::Other(state) => Some(state),
            MachinePhase::StartFailed | MachinePhase::StopFailed => None,
        }
    }

    /// The cloud's start, stop and describe action names, as the dialect reports them.
    pub fn actions(&self) -> Actions {
        let Some(provider) = crate::provider::find(self.provider) else {
            return Actions::default();
        };
        let ids = [(self.example_id)(0)];
        let location = Location::default();
        let options = ActionOptions::default();
        Actions {
            start: (provider.action_call(Action::Start, &ids, &location, &options)).action,
            stop: (provider.action_call(Action::Stop, &ids, &location, &options)).action,
            describe: provider.describe_call(&ids, &location).action,
        }
    }

    /// The phase a seeded state name means, or `None` if the cloud documents no such state.
    fn seed_phase(&self, state: &str) -> Option<MachinePhase> {
        if state == self.stopped_state() {
            Some(MachinePhase::Stopped)
        } else if state == self.running_state() {
            Some(MachinePhase::Running)
        } else if state == self.starting_state() {
            Some(MachinePhase::Starting {
                since: Instant::now(),
            })
        } else if state == self.stopping_state() {
            Some(MachinePhase::Stopping {
                since: Instant::now(),
            })
        } else if self.vocabulary().states.iter().any(|(s, _)| *s == state) {
            Some(MachinePhase::Other(state.to_string()))
        } else {
            None
        }
    }

    /// The test credential variable named `name`, if this profile sets it.
    pub fn credential(&self, name: &str) -> Option<String> {
        self.credentials
            .iter()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| value.to_string())
    }
}

/// A cloud's lifecycle action names, as its dialect reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Actions {
    /// The start call, e.g. `StartInstances`.
    pub start: &'static str,
    /// The stop call, e.g. `StopInstances`.
    pub stop: &'static str,
    /// The describe call, e.g. `DescribeInstances`.
    pub describe: &'static str,
}

/// Every dialect's profile, in listening order.
pub fn profiles() -> impl Iterator<Item = &'static Profile> {
    DIALECTS.iter().map(|dialect| dialect.profile())
}

/// What the dialect for `provider` answers `request` (signed with its profile's credentials) with
/// every machine in `running` seeded as running: an answer in the cloud's own shape, made without
/// a socket, so the parsing benchmark needs no per-cloud sample. `None` for a cloud without a
/// dialect or a machine id it cannot seed.
pub fn answer(
    provider: &str,
    request: &SignedRequest,
    running: &[String],
) -> Option<(u16, Vec<u8>)> {
    let dialect = *DIALECTS.iter().find(|d| d.profile().provider == provider)?;
    let mut fleet = Fleet::new(Duration::ZERO, Duration::ZERO);
    let seed = SeedMachine {
        state: Some(dialect.profile().running_state().to_string()),
        ..SeedMachine::default()
    };
    for id in running {
        fleet.seed(dialect, id, &seed).ok()?;
    }
    let (path, query) =
        (request.path_and_query.split_once('?')).unwrap_or((request.path_and_query.as_str(), ""));
    let request = SimRequest {
        method: request.method.as_str().to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers: (request.headers.iter())
            .map(|h| (h.name.to_ascii_lowercase(), h.value.clone()))
            .collect(),
        body: request.body.clone(),
    };
    let reply = dialect.handle(&request, &mut fleet);
    Some((reply.status, reply.body.to_string().into_bytes()))
}

/// Help text for `sim`: what it prints and the credentials it accepts; README.md lists the same.
pub fn help() -> String {
    let mut text = String::from(
        "Prints one line per cloud on stdout, `<provider> http://127.0.0.1:PORT`, then serves until\n\
         interrupted. Point `cloudstart start --endpoint` (or CLOUDSTART_<PROVIDER>_ENDPOINT) at it.\n\n\
         Test credentials the simulator accepts (and nothing else):\n",
    );
    for profile in profiles() {
        text.push_str(&format!("  {}\n", profile.provider));
        for (var, value) in profile.credentials {
            text.push_str(&format!("    {var}={value}\n"));
        }
    }
    text
}

/// Largest request body the simulator reads.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// How the simulator is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address of the first dialect; with a non-zero port, each further dialect takes the next.
    pub listen: SocketAddr,
    /// Time from an accepted start to RUNNING.
    pub boot_delay: Duration,
    /// Time from an accepted stop to STOPPED.
    pub stop_delay: Duration,
    /// Seeded machines, by cloud and id.
    pub seed: Seed,
    /// Where to append one JSON line per request.
    pub log: Option<PathBuf>,
    /// Faults to inject.
    pub faults: FaultPlan,
}

/// Machines seeded from the `--state` file: cloud → id → settings.
pub type Seed = HashMap<String, HashMap<String, SeedMachine>>;

/// One seeded machine.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedMachine {
    /// The cloud's state name to start in, or `not_found`.
    pub state: Option<String>,
    /// What happens when it is started.
    #[serde(default)]
    pub boot: Boot,
    /// Its own time from an accepted start to RUNNING, e.g. `"10s"` (else `--boot-delay`).
    #[serde(default, deserialize_with = "duration_text")]
    pub boot_delay: Option<Duration>,
    /// An error code every start of this machine is refused with, in the cloud's envelope.
    pub start_error: Option<String>,
    /// What happens when it is stopped.
    #[serde(default)]
    pub shutdown: Boot,
    /// Its own time from an accepted stop to STOPPED, e.g. `"10s"` (else `--stop-delay`).
    #[serde(default, deserialize_with = "duration_text")]
    pub stop_delay: Option<Duration>,
    /// An error code every stop of this machine is refused with, in the cloud's envelope.
    pub stop_error: Option<String>,
    /// The public address it shows while running, instead of its own in 203.0.113.0/24
    /// (`127.0.0.1` makes it reachable from this machine).
    pub public_ip: Option<String>,
    /// The private address it shows, instead of its own in 10.0.0.0/8.
    pub private_ip: Option<String>,
}

/// What a started machine does after the boot delay (`boot`), or a stopped one after the stop
/// delay (`shutdown`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Boot {
    /// Reaches RUNNING (STOPPED).
    #[default]
    Normal,
    /// Falls back to stopped (running) with the operation marked failed.
    Fail,
    /// Stays starting (stopping) forever.
    Never,
}

/// A duration written as text in a state file, e.g. `"500ms"` or `"10s"`.
fn duration_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_duration(&text)
        .map(Some)
        .map_err(|err| serde::de::Error::custom(format!("`{text}`: {err} (e.g. 500ms, 10s)")))
}

/// Reads a `--state` file.
pub fn load_seed(path: &Path) -> Result<Seed, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Error::usage(format!("cannot read {}: {err}", path.display())))?;
    let seed: Seed = toml::from_str(&text)
        .map_err(|err| Error::usage(format!("invalid state file {}: {err}", path.display())))?;
    for cloud in seed.keys() {
        if !profiles().any(|p| p.provider == cloud) {
            return Err(Error::usage(format!(
                "invalid state file {}: the simulator has no `{cloud}` dialect",
                path.display()
            )));
        }
    }
    Ok(seed)
}

/// A running simulator: the address of each cloud's dialect.
#[derive(Debug)]
pub struct Simulator {
    /// `(provider name, address)` per dialect.
    pub endpoints: Vec<(&'static str, SocketAddr)>,
}

impl Simulator {
    /// `http://ADDR` of `provider`'s dialect.
    pub fn url(&self, provider: &str) -> Option<String> {
        self.endpoints
            .iter()
            .find(|(name, _)| *name == provider)
            .map(|(_, addr)| format!("http://{addr}"))
    }
}

/// The farthest `--clock-skew` goes, either way: a century, far inside what a date can hold.
pub const MAX_CLOCK_SKEW_SECONDS: u64 = 100 * 366 * 24 * 3600;

/// Binds every dialect and serves them on the current runtime until it shuts down.
pub async fn spawn(config: SimConfig) -> Result<Simulator, Error> {
    if !config.listen.ip().is_loopback() {
        return Err(Error::usage(format!(
            "the simulator listens on loopback only, not {}",
            config.listen.ip()
        )));
    }
    let log = match &config.log {
        Some(path) => Some(Arc::new(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|err| Error::usage(format!("cannot open {}: {err}", path.display())))?,
        ))),
        None => None,
    };
    let first_port = config.listen.port();
    if first_port != 0 && usize::from(first_port) + DIALECTS.len() - 1 > usize::from(u16::MAX) {
        return Err(Error::usage(format!(
            "--listen port {first_port} leaves no room for {} clouds on consecutive ports (at most {})",
            DIALECTS.len(),
            usize::from(u16::MAX) + 1 - DIALECTS.len()
        )));
    }
    let clock_skew = chrono::TimeDelta::try_seconds(config.faults.clock_skew)
        .filter(|skew| skew.num_seconds().unsigned_abs() <= MAX_CLOCK_SKEW_SECONDS)
        .ok_or_else(|| {
            Error::usage(format!(
                "--clock-skew {} is beyond ±{MAX_CLOCK_SKEW_SECONDS} seconds (a century)",
                config.faults.clock_skew
            ))
        })?;
    let mut endpoints = Vec::new();
    for (i, &dialect) in DIALECTS.iter().enumerate() {
        let mut addr = config.listen;
        if addr.port() != 0 {
            // In range: checked above.
            addr.set_port(addr.port() + i as u16);
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|err| Error::usage(format!("cannot listen on {addr}: {err}")))?;
        let addr = listener
            .local_addr()
            .map_err(|err| Error::internal(format!("no local address: {err}")))?;
        let mut fleet = Fleet::new(config.boot_delay, config.stop_delay);
        fleet.clock_skew = clock_skew;
        for (id, machine) in config
            .seed
            .get(dialect.profile().provider)
            .into_iter()
            .flatten()
        {
            fleet.seed(dialect, id, machine)?;
        }
        let server = Arc::new(Server {
            dialect,
            fleet: Mutex::new(fleet),
            faults: Mutex::new(FaultState::new(&config.faults)),
            delay: config.faults.delay,
            log: log.clone(),
        });
        tokio::spawn(accept_loop(listener, server));
        endpoints.push((dialect.profile().provider, addr));
    }
    Ok(Simulator { endpoints })
}

async fn accept_loop(listener: TcpListener, server: Arc<Server>) {
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

/// One dialect's listener state.
struct Server {
    dialect: &'static dyn Dialect,
    fleet: Mutex<Fleet>,
    faults: Mutex<FaultState>,
    delay: Duration,
    log: Option<Arc<Mutex<std::fs::File>>>,
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

/// One cloud's wire protocol, over the shared [`Fleet`].
pub(crate) trait Dialect: Sync {
    /// How clients reach this dialect; `profile().provider` names the cloud it imitates.
    fn profile(&self) -> &'static Profile;
    /// The cloud's name for the action `request` asks for, read before anything is checked.
    fn action(&self, request: &SimRequest) -> String;
    /// Answers one request.
    fn handle(&self, request: &SimRequest, fleet: &mut Fleet) -> SimReply;
    /// The cloud's throttling answer to a request for `action`, which is not acted on.
    fn throttled(&self, action: &str, fleet: &mut Fleet) -> SimReply;
}

/// Where a simulated machine is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MachinePhase {
    Stopped,
    Starting {
        since: Instant,
    },
    Running,
    /// Stopped again because the last start failed.
    StartFailed,
    Stopping {
        since: Instant,
    },
    /// Running again because the last stop failed (a gentle stop the OS did not follow).
    StopFailed,
    /// A seeded state the lifecycle does not move, by the cloud's own name.
    Other(String),
}

impl MachinePhase {
    /// Whether a start may be accepted: stopped, or stopped after a failed start.
    pub(crate) fn startable(&self) -> bool {
        matches!(self, MachinePhase::Stopped | MachinePhase::StartFailed)
    }

    /// Whether a stop may be accepted: running, or running after a failed stop.
    pub(crate) fn stoppable(&self) -> bool {
        matches!(self, MachinePhase::Running | MachinePhase::StopFailed)
    }
}

/// The last start or stop the simulator accepted for a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SimOperation {
    /// Start or stop.
    pub(crate) action: Action,
    /// Its request id (QingCloud: its job id).
    pub(crate) request_id: String,
    /// A stop by power-off: no OS can refuse it, so it stops whatever the seeded `shutdown` says.
    pub(crate) forced: bool,
}

/// A simulated machine.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub(crate) phase: MachinePhase,
    pub(crate) boot: Boot,
    pub(crate) shutdown: Boot,
    /// Its own boot and stop delays, if the state file gives them.
    boot_delay: Option<Duration>,
    stop_delay: Option<Duration>,
    /// The last accepted start or stop.
    pub(crate) operation: Option<SimOperation>,
    /// The code every start of this machine is refused with (`start_error` in the state file).
    pub(crate) start_error: Option<String>,
    /// The code every stop of this machine is refused with (`stop_error` in the state file).
    pub(crate) stop_error: Option<String>,
    /// Its public address, shown only while it runs.
    public_ip: String,
    /// Its private address, always shown.
    private_ip: String,
}

impl Machine {
    /// Machine `id` in `phase`, as the state file's `seed` describes it.
    fn new(id: &str, phase: MachinePhase, seed: &SeedMachine) -> Self {
        let (public_ip, private_ip) = addresses_of(id);
        Machine {
            phase,
            boot: seed.boot,
            shutdown: seed.shutdown,
            boot_delay: seed.boot_delay,
            stop_delay: seed.stop_delay,
            operation: None,
            start_error: seed.start_error.clone(),
            stop_error: seed.stop_error.clone(),
            public_ip: seed.public_ip.clone().unwrap_or(public_ip),
            private_ip: seed.private_ip.clone().unwrap_or(private_ip),
        }
    }

    /// Its addresses as a real cloud shows them: the private one always, the public one only
    /// while it runs (a stopped machine keeps its private address and has no public one).
    pub(crate) fn addresses(&self) -> Addresses {
        let running = matches!(
            self.phase,
            MachinePhase::Running | MachinePhase::StopFailed | MachinePhase::Stopping { .. }
        );
        Addresses {
            public: running
                .then(|| self.public_ip.clone())
                .into_iter()
                .collect(),
            private: vec![self.private_ip.clone()],
        }
    }
}

/// Machine `id`'s own addresses, the same on every run: a public one in TEST-NET-3
/// (203.0.113.0/24, RFC 5737: documentation only, never routed) and a private one in 10.0.0.0/8.
fn addresses_of(id: &str) -> (String, String) {
    // FNV-1a: small, stable across runs and platforms (unlike the std hasher).
    let hash = (id.bytes()).fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let [a, b, c, d] = hash.to_be_bytes();
    // Host numbers 1 to 254: neither a network nor a broadcast address.
    let host = |byte: u8| 1 + byte % 254;
    (
        format!("203.0.113.{}", host(a ^ d)),
        format!("10.{b}.{c}.{}", host(d)),
    )
}

/// One cloud's machines and their shared lifecycle.
pub(crate) struct Fleet {
    machines: HashMap<String, Machine>,
    absent: Vec<String>,
    boot_delay: Duration,
    stop_delay: Duration,
    requests: u64,
    /// Start answers by idempotency token: the ids asked for, the answer given, and when.
    idempotent_starts: HashMap<String, (Vec<String>, serde_json::Value, Instant)>,
    /// How far this cloud's clock is from real time (`--clock-skew`).
    clock_skew: chrono::TimeDelta,
}

impl Fleet {
    fn new(boot_delay: Duration, stop_delay: Duration) -> Self {
        Self {
            machines: HashMap::new(),
            absent: Vec::new(),
            boot_delay,
            stop_delay,
            requests: 0,
            idempotent_starts: HashMap::new(),
            clock_skew: chrono::TimeDelta::zero(),
        }
    }

    fn seed(&mut self, dialect: &dyn Dialect, id: &str, seed: &SeedMachine) -> Result<(), Error> {
        let phase = match seed.state.as_deref() {
            None => MachinePhase::Stopped,
            Some("not_found") => {
                self.absent.push(id.to_string());
                return Ok(());
            }
            Some(state) => dialect.profile().seed_phase(state).ok_or_else(|| {
                Error::usage(format!(
                    "invalid state file: {} has no state `{state}` (machine {id})",
                    dialect.profile().provider
                ))
            })?,
        };
        for (field, ip) in [
            ("public_ip", &seed.public_ip),
            ("private_ip", &seed.private_ip),
        ] {
            if let Some(ip) = ip
                .as_deref()
                .filter(|ip| ip.parse::<std::net::IpAddr>().is_err())
            {
                return Err(Error::usage(format!(
                    "invalid state file: {field} `{ip}` of machine {id} is not an IP address"
                )));
            }
        }
        self.machines
            .insert(id.to_string(), Machine::new(id, phase, seed));
        Ok(())
    }

    /// The machine `id`, brought up to date; unseen ids exist as stopped, seeded-absent ones do not.
    pub(crate) fn get(&mut self, id: &str) -> Option<&mut Machine> {
        if self.absent.iter().any(|a| a == id) {
            return None;
        }
        let (boot_delay, stop_delay) = (self.boot_delay, self.stop_delay);
        let machine = (self.machines.entry(id.to_string()))
            .or_insert_with(|| Machine::new(id, MachinePhase::Stopped, &SeedMachine::default()));
        match machine.phase {
            MachinePhase::Starting { since }
                if since.elapsed() >= machine.boot_delay.unwrap_or(boot_delay) =>
            {
                match machine.boot {
                    Boot::Normal => machine.phase = MachinePhase::Running,
                    Boot::Fail => machine.phase = MachinePhase::StartFailed,
                    Boot::Never => {}
                }
            }
            MachinePhase::Stopping { since }
                if since.elapsed() >= machine.stop_delay.unwrap_or(stop_delay) =>
            {
                let forced = (machine.operation.as_ref()).is_some_and(|op| op.forced);
                match if forced {
                    Boot::Normal
                } else {
                    machine.shutdown
                } {
                    Boot::Normal => machine.phase = MachinePhase::Stopped,
                    Boot::Fail => machine.phase = MachinePhase::StopFailed,
                    Boot::Never => {}
                }
            }
            _ => {}
        }
        Some(machine)
    }

    /// Marks `id` as starting because of request `request_id`.
    pub(crate) fn start(&mut self, id: &str, request_id: &str) {
        self.begin(id, Action::Start, request_id, false);
    }

    /// Marks `id` as stopping because of request `request_id`; a `forced` stop (a power-off)
    /// stops whatever the machine's seeded `shutdown` says.
    pub(crate) fn stop(&mut self, id: &str, request_id: &str, forced: bool) {
        self.begin(id, Action::Stop, request_id, forced);
    }

    fn begin(&mut self, id: &str, action: Action, request_id: &str, forced: bool) {
        if let Some(machine) = self.machines.get_mut(id) {
            let since = Instant::now();
            machine.phase = match action {
                Action::Start => MachinePhase::Starting { since },
                Action::Stop => MachinePhase::Stopping { since },
            };
            machine.operation = Some(SimOperation {
                action,
                request_id: request_id.to_string(),
                forced,
            });
        }
    }

    /// The last operation and phase of the machines that request `request_id` started or
    /// stopped, brought up to date.
    pub(crate) fn operated_by(&mut self, request_id: &str) -> Vec<MachinePhase> {
        let ids: Vec<String> = (self.machines.iter())
            .filter(|(_, m)| (m.operation.as_ref()).is_some_and(|op| op.request_id == request_id))
            .map(|(id, _)| id.clone())
            .collect();
        ids.iter()
            .filter_map(|id| self.get(id).map(|m| m.phase.clone()))
            .collect()
    }

    /// The ids a start with idempotency token `token` asked for, the answer it got, and how
    /// long ago.
    pub(crate) fn idempotent_actions(
        &self,
        token: &str,
    ) -> Option<(&Vec<String>, &serde_json::Value, Duration)> {
        let (ids, answer, at) = self.idempotent_starts.get(token)?;
        Some((ids, answer, at.elapsed()))
    }

    /// Keeps the answer to a start with idempotency token `token`, to give it again on a retry.
    pub(crate) fn remember_start(
        &mut self,
        token: &str,
        ids: Vec<String>,
        answer: serde_json::Value,
    ) {
        self.idempotent_starts
            .insert(token.to_string(), (ids, answer, Instant::now()));
    }

    /// The cloud's clock: real time plus `--clock-skew`. Signatures are checked against it.
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + self.clock_skew
    }

    /// The first of `ids` seeded with a `start_error`, and that code.
    pub(crate) fn start_error(&mut self, ids: &[String]) -> Option<(String, String)> {
        ids.iter().find_map(|id| {
            let code = self.get(id)?.start_error.clone()?;
            Some((id.clone(), code))
        })
    }

    /// The first of `ids` seeded with a `stop_error`, and that code.
    pub(crate) fn stop_error(&mut self, ids: &[String]) -> Option<(String, String)> {
        ids.iter().find_map(|id| {
            let code = self.get(id)?.stop_error.clone()?;
            Some((id.clone(), code))
        })
    }

    /// A fresh request id in UUID form.
    pub(crate) fn request_id(&mut self) -> String {
        self.requests += 1;
        format!("5e1a0000-0000-4000-8000-{:012x}", self.requests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_machine_has_its_own_addresses_and_a_public_one_only_while_running() {
        let (public, private) = addresses_of("ins-aaaaaaaa");
        assert_eq!(
            addresses_of("ins-aaaaaaaa"),
            (public.clone(), private.clone())
        );
        assert_ne!(addresses_of("ins-aaaaaaab").1, private);
        let public_ip: std::net::Ipv4Addr = public.parse().unwrap();
        let private_ip: std::net::Ipv4Addr = private.parse().unwrap();
        assert_eq!(public_ip.octets()[..3], [203, 0, 113]);
        assert_eq!(private_ip.octets()[0], 10);
        assert!(![0, 255].contains(&public_ip.octets()[3]));

        let mut machine = Machine::new(
            "ins-aaaaaaaa",
            MachinePhase::Stopped,
            &SeedMachine::default(),
        );
        assert_eq!(machine.addresses().public, Vec::<String>::new());
        assert_eq!(machine.addresses().private, [private]);
        machine.phase = MachinePhase::Running;
        assert_eq!(machine.addresses().public, [public]);

        let seed = SeedMachine {
            public_ip: Some("127.0.0.1".into()),
            ..Default::default()
        };
        let machine = Machine::new("ins-aaaaaaaa", MachinePhase::Running, &seed);
        assert_eq!(machine.addresses().public, ["127.0.0.1"]);
    }
}
