//! `cloudstart start`: the one place that wires settings, engine and report together —
//! settings → [`EngineConfig`](crate::engine::EngineConfig) → [`engine::start::run`] → report.
//!
//! The protocol itself (starts, refusals, resends, the wait) is the engine's; this module owns the
//! [`Tracker`] that turns the engine's [`Events`] into report records and progress lines, and the
//! interrupt handling. Every id gets exactly one record, whatever happens — including an
//! interrupt, which stops the work and reports what was already requested.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::Instant;
use tracing::warn;

use crate::engine::reach::Unreachable;
use crate::engine::start::{End, Events, Plan};
use crate::engine::wait::Finish;
use crate::engine::{self, ApiClient, CallError};
use crate::error::{Error, ErrorKind};
use crate::output::{ErrorRecord, Outcome, Progress, Record, Report, SCHEMA_VERSION};
use crate::provider::{Addresses, ErrorClass, InstanceState};
use crate::settings::StartSettings;

/// Runs `start` for every group at once — each cloud and region under its own client and rate
/// limit, all under one deadline — and returns one report. Interrupts (Ctrl-C, SIGTERM) end the
/// run early with the unfinished machines marked `interrupted`.
pub(super) async fn run_all(
    groups: &[StartSettings],
    progress: &Progress,
    heartbeat: Duration,
) -> Result<Report, Error> {
    let started = Instant::now();
    let runs = groups
        .iter()
        .map(|settings| {
            let deadline = started + settings.timeout;
            let client = ApiClient::new(settings.engine(deadline))
                .map_err(|err| Error::internal(format!("cannot set up the HTTP client: {err}")))?;
            let plan = Plan {
                wait: settings.wait,
                poll: settings.poll,
                reach: settings.reach.clone(),
                deadline,
            };
            Ok((settings, client, Tracker::new(settings, progress), plan))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let was_interrupted = {
        let work = join_all(runs.iter().map(|(settings, client, tracker, plan)| {
            engine::start::run(client, &settings.ids, plan, tracker)
        }));
        let ticker = async {
            let mut last_beat = Instant::now();
            loop {
                tokio::time::sleep(TICK).await;
                progress.tick(heartbeat, &mut last_beat);
            }
        };
        tokio::select! {
            _ = work => false,
            () = interrupted() => true,
            () = ticker => false,
        }
    };
    if was_interrupted {
        exit_on_second_interrupt();
        warn!(
            "interrupted: stopping and reporting what was requested (interrupt again to quit now)"
        );
    }
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let reports = runs
        .iter()
        .map(|(_, _, tracker, _)| tracker.report(elapsed_ms, was_interrupted));
    Ok(Report::merge(reports.collect()))
}

/// How often the live display is redrawn and the heartbeat considered.
const TICK: Duration = Duration::from_secs(1);

/// From now on, another Ctrl-C, SIGTERM or SIGHUP ends the process at once with exit code 130,
/// even if writing the report blocks. The signal handlers stay installed, so a watcher thread
/// takes over.
pub(super) fn exit_on_second_interrupt() {
    let (ready, listening) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("second-interrupt".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    let mut interrupts = Interrupts::listen();
                    let _ = ready.send(());
                    interrupts.next().await;
                });
                std::process::exit(130);
            }
        });
    match spawned {
        // Wait until the watcher listens, so a second signal sent right after the first is not
        // lost in between; a watcher that cannot start is not waited for long.
        Ok(_) => {
            let _ = listening.recv_timeout(Duration::from_secs(1));
        }
        Err(err) => warn!("cannot watch for a second interrupt: {err}"),
    }
}

/// The signals that interrupt a run — Ctrl-C (SIGINT), SIGTERM and SIGHUP — listened for from
/// the moment [`Interrupts::listen`] is called. SIGHUP counts too: a closed terminal or SSH
/// session should end the run with a report, not kill it silently.
pub(super) struct Interrupts {
    #[cfg(unix)]
    streams: Vec<tokio::signal::unix::Signal>,
}

impl Interrupts {
    /// Starts listening; must be called inside a tokio runtime. A signal that cannot be watched
    /// is never taken for one that arrived.
    pub(super) fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let kinds = [
                SignalKind::interrupt(),
                SignalKind::terminate(),
                SignalKind::hangup(),
            ];
            let streams = kinds.into_iter().filter_map(|k| signal(k).ok()).collect();
            Self { streams }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves on the next interrupting signal.
    pub(super) async fn next(&mut self) {
        #[cfg(unix)]
        {
            if self.streams.is_empty() {
                return std::future::pending().await;
            }
            let arrivals = self.streams.iter_mut().map(|s| Box::pin(s.recv()));
            futures_util::future::select_all(arrivals).await;
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Resolves on the first interrupting signal from now on (see [`Interrupts`]).
pub(super) async fn interrupted() {
    Interrupts::listen().next().await;
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub(super) fn record_call_error(err: &CallError) -> ErrorRecord {
    ErrorRecord {
        kind: err.kind(),
        code: err.api_error().map(|e| e.code.clone()),
        message: err.message(),
        request_id: err.api_error().and_then(|e| e.request_id.clone()),
    }
}

/// The record for a machine the cloud does not list; keeps the cloud's not-found error if it gave one.
pub(super) fn not_found(refusal: &CallError) -> ErrorRecord {
    match refusal.api_error() {
        Some(err) if err.class == ErrorClass::NotFound => record_call_error(refusal),
        _ => ErrorRecord {
            kind: ErrorKind::Api,
            code: None,
            message: "instance not found".into(),
            request_id: None,
        },
    }
}

/// Every target's record as it stands; the single source of the report.
struct Tracker<'p> {
    progress: &'p Progress,
    provider: &'static str,
    region: Option<String>,
    /// The zone the group was resolved to, for records whose describe named none.
    zone: Option<String>,
    slots: RefCell<Vec<Slot>>,
    index: HashMap<String, usize>,
}

struct Slot {
    id: String,
    state: Option<String>,
    job_id: Option<String>,
    /// The last addresses the cloud reported; a later answer without any does not erase them.
    addresses: Addresses,
    /// The last zone the cloud reported, kept the same way.
    zone: Option<String>,
    end: Option<(Outcome, Option<ErrorRecord>)>,
}

impl Slot {
    /// Takes in what a describe said about the machine.
    fn observe(&mut self, state: InstanceState) {
        self.state = Some(state.raw);
        if !state.addresses.is_empty() {
            self.addresses = state.addresses;
        }
        if state.zone.is_some() {
            self.zone = state.zone;
        }
    }
}

impl<'p> Tracker<'p> {
    fn new(settings: &StartSettings, progress: &'p Progress) -> Self {
        for id in &settings.ids {
            progress.requested(settings.provider.name(), id);
        }
        Self {
            progress,
            provider: settings.provider.name(),
            region: settings.location.region.clone(),
            zone: settings.location.zone.clone(),
            slots: RefCell::new(
                settings
                    .ids
                    .iter()
                    .map(|id| Slot {
                        id: id.clone(),
                        state: None,
                        job_id: None,
                        addresses: Addresses::default(),
                        zone: None,
                        end: None,
                    })
                    .collect(),
            ),
            index: settings
                .ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), i))
                .collect(),
        }
    }

    fn with_slot(&self, id: &str, f: impl FnOnce(&mut Slot)) {
        if let Some(&i) = self.index.get(id) {
            f(&mut self.slots.borrow_mut()[i]);
        }
    }

    fn finish(&self, id: &str, outcome: Outcome, state: Option<InstanceState>) {
        // RUNNING was already logged as a state change.
        if outcome != Outcome::Running {
            let word = outcome_word(outcome);
            self.progress
                .note(format_args!("{} {id}: {word}", self.provider));
        }
        self.with_slot(id, |slot| {
            if let Some(state) = state {
                slot.observe(state);
            }
            slot.end = Some((outcome, None));
        });
        self.report_final(id);
    }

    /// Tells the progress display a machine's outcome.
    fn report_final(&self, id: &str) {
        if let Some(&i) = self.index.get(id) {
            let record = self.record(&self.slots.borrow()[i], None);
            self.progress.finished(&record);
        }
    }

    /// The report record of `slot`; `unfinished` stands in for a missing outcome.
    fn record(&self, slot: &Slot, unfinished: Option<(Outcome, ErrorRecord)>) -> Record {
        let (outcome, error) = match (&slot.end, unfinished) {
            (Some((outcome, error)), _) => (*outcome, error.clone()),
            (None, Some((outcome, error))) => (outcome, Some(error)),
            (None, None) => (Outcome::Failed, None),
        };
        Record {
            provider: self.provider,
            region: self.region.clone(),
            zone: slot.zone.clone().or_else(|| self.zone.clone()),
            id: slot.id.clone(),
            outcome,
            state: slot.state.clone(),
            job_id: slot.job_id.clone(),
            addresses: slot.addresses.clone(),
            error,
        }
    }

    fn fail(&self, id: &str, error: ErrorRecord, state: Option<InstanceState>) {
        let outcome = if error.kind == ErrorKind::Timeout {
            Outcome::Timeout
        } else {
            Outcome::Failed
        };
        // On a terminal the warning is drawn above the live block and stays in the scrollback.
        warn!("{} {id}: {}", self.provider, error.message);
        self.with_slot(id, |slot| {
            if let Some(state) = state {
                slot.observe(state);
            }
            slot.end = Some((outcome, Some(error)));
        });
        self.report_final(id);
    }

    /// Records how the waiter ended a machine's wait.
    fn wait_ended(&self, id: &str, finish: Finish) {
        match finish {
            Finish::Running(state) => self.finish(id, Outcome::Running, Some(state)),
            Finish::Failed(state) => self.fail(
                id,
                ErrorRecord {
                    kind: ErrorKind::FailedState,
                    code: Some(
                        state
                            .failure_code
                            .clone()
                            .unwrap_or_else(|| state.raw.clone()),
                    ),
                    message: match &state.detail {
                        Some(detail) => format!("entered {}: {detail}", state.raw),
                        None => format!("entered failure state {}", state.raw),
                    },
                    request_id: None,
                },
                Some(state),
            ),
            Finish::NotFound => self.fail(
                id,
                ErrorRecord {
                    kind: ErrorKind::Api,
                    code: None,
                    message: "instance no longer listed by the cloud".into(),
                    request_id: None,
                },
                None,
            ),
            Finish::Error(err) => self.fail(id, record_call_error(&err), None),
            Finish::Timeout { polls, waited } => {
                let last = self
                    .slots
                    .borrow()
                    .get(self.index.get(id).copied().unwrap_or(usize::MAX))
                    .and_then(|s| s.state.clone())
                    .unwrap_or_else(|| "unknown".into());
                self.fail(
                    id,
                    ErrorRecord {
                        kind: ErrorKind::Timeout,
                        code: None,
                        message: format!(
                            "not RUNNING after {:.1}s and {polls} polls (last state {last})",
                            waited.as_secs_f64()
                        ),
                        request_id: None,
                    },
                    None,
                )
            }
        }
    }

    /// The report. A machine without an outcome was cut off by an interrupt — or, without one,
    /// is a bug, reported as such rather than dropped.
    fn report(&self, elapsed_ms: u64, interrupted: bool) -> Report {
        let unfinished = if interrupted {
            (
                Outcome::Interrupted,
                ErrorKind::Interrupted,
                "interrupted before the machine was RUNNING",
            )
        } else {
            (
                Outcome::Failed,
                ErrorKind::Internal,
                "no outcome was recorded for this machine (a bug in cloudstart)",
            )
        };
        let (outcome, kind, message) = unfinished;
        let stand_in = ErrorRecord {
            kind,
            code: None,
            message: message.into(),
            request_id: None,
        };
        let instances = self
            .slots
            .borrow()
            .iter()
            .map(|slot| self.record(slot, Some((outcome, stand_in.clone()))))
            .collect();
        Report {
            schema_version: SCHEMA_VERSION,
            elapsed_ms,
            instances,
        }
    }
}

fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Running => "RUNNING",
        Outcome::Starting => "start accepted",
        Outcome::AlreadyRunning => "already running",
        Outcome::Failed => "failed",
        Outcome::Timeout => "timed out",
        Outcome::Interrupted => "interrupted",
        Outcome::Observed => "observed",
    }
}

impl Events for Tracker<'_> {
    fn accepted(&self, ids: &[String], job_id: Option<&str>) {
        self.progress.note(format_args!(
            "{} start accepted for {} machine{}",
            self.provider,
            ids.len(),
            plural(ids.len())
        ));
        for id in ids {
            self.progress.accepted(self.provider, id, job_id);
            if let Some(job_id) = job_id {
                self.with_slot(id, |slot| slot.job_id = Some(job_id.to_string()));
            }
        }
    }

    fn seen(&self, state: InstanceState) {
        // The engine may tell a state twice (a refused start's describe, then the wait's first
        // poll): only a change is shown, on stderr and as an NDJSON `state` event.
        let mut changed = true;
        let (provider, id, raw) = (self.provider, state.id.clone(), state.raw.clone());
        self.with_slot(&id, |slot| {
            changed = slot.state.as_deref() != Some(raw.as_str());
            slot.observe(state);
        });
        if changed {
            self.progress.state(provider, &id, &raw);
        }
    }

    fn reachable(&self, id: &str, address: SocketAddr) {
        self.progress
            .reachable(self.provider, id, &address.to_string());
    }

    fn finished(&self, id: &str, end: End) {
        match end {
            End::Running(state) => self.finish(id, Outcome::Running, Some(state)),
            End::Starting => self.finish(id, Outcome::Starting, None),
            End::AlreadyRunning(state) => self.finish(id, Outcome::AlreadyRunning, Some(state)),
            End::Refused { error, state } => self.fail(id, record_call_error(&error), state),
            End::NotFound { refusal } => self.fail(id, not_found(&refusal), None),
            End::Unreachable(error) => {
                let kind = match error {
                    Unreachable::Closed { .. } => ErrorKind::Timeout,
                    Unreachable::NoAddress(_) | Unreachable::NotAnIp { .. } => ErrorKind::Api,
                };
                let record = ErrorRecord {
                    kind,
                    code: None,
                    message: error.to_string(),
                    request_id: None,
                };
                self.fail(id, record, None)
            }
            End::Wait(finish) => self.wait_ended(id, finish),
        }
    }
}
