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
//!
//! This file holds the dialect registry, the set-up and the clients' view of each dialect
//! ([`Profile`]); the rest is split by responsibility: `fleet` (the machines and their lifecycle),
//! `server` (the listeners: bounded bodies, injected faults, the request log), `faults` (what
//! `--fault` injects), `seed` (the `--state` file), and one file per cloud's dialect.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::error::Error;
use crate::provider::{Action, ActionOptions, Location, Phase, SignedRequest, Vocabulary};
use faults::FaultState;

mod compshare;
mod faults;
mod fleet;
mod qingcloud;
mod seed;
mod server;
mod tencent;
mod volcengine;
mod zenlayer;

pub use faults::{FaultKind, FaultPlan, FaultSpec, FaultTarget};
pub(crate) use fleet::{Fleet, Machine, MachinePhase};
pub use seed::{load_seed, Boot, Seed, SeedMachine};
use server::{accept_loop, Server};
pub(crate) use server::{SignatureCheck, SimReply, SimRequest};

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
