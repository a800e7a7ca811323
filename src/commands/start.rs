//! `cloudstart start`: the one place that wires settings, provider, engine and report together.
//!
//! For each batch of ids: send the start; if the cloud refuses it for reasons that concern the
//! machines (already running, starting, wrong state, not found), describe them to learn which
//! machine is in which state, and send the start once more for the ones still stopped. Then poll
//! the accepted machines until RUNNING. Every id gets exactly one record, whatever happens —
//! including an interrupt, which stops the work and reports what was already requested.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::join_all;
use futures_util::{stream, StreamExt};
use tokio::time::Instant;
use tracing::warn;

use crate::error::{Error, ErrorKind};
use crate::http::{ApiClient, CallError};
use crate::output::{ErrorRecord, Outcome, Progress, Record, Report, SCHEMA_VERSION};
use crate::poll::{self, Describe, Finish, PollEvent};
use crate::provider::{Addresses, ErrorClass, InstanceState, Phase};
use crate::reach::{self, Reach, Unreachable};
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
            Ok((settings, client, Tracker::new(settings, progress), deadline))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let was_interrupted = {
        let work = join_all(runs.iter().map(|(settings, client, tracker, deadline)| {
            run_group(settings, client, tracker, *deadline)
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

/// Starts one group's machines and, unless `--no-wait`, waits for them.
async fn run_group(
    settings: &StartSettings,
    client: &ApiClient<'_>,
    tracker: &Tracker<'_>,
    deadline: Instant,
) {
    let accepted = start_all(client, tracker, &settings.ids).await;
    if let (true, Some(reach)) = (settings.wait, &settings.reach) {
        wait_until_reachable(settings, client, tracker, reach, accepted, deadline).await;
    } else if settings.wait {
        let mut on_event = |event| tracker.apply(event);
        poll::wait_until_running(client, accepted, settings.poll, deadline, &mut on_event).await;
    } else {
        for id in accepted {
            tracker.finish(&id, Outcome::Starting, None);
        }
    }
}

/// Waits for RUNNING and then, machine by machine as each gets there, for its ports
/// (`--wait-port`): a machine is `running` only once every port accepted a connection, and
/// `timeout` if one never did before the deadline.
async fn wait_until_reachable(
    settings: &StartSettings,
    client: &ApiClient<'_>,
    tracker: &Tracker<'_>,
    reach: &Reach,
    accepted: Vec<String>,
    deadline: Instant,
) {
    let (found, mut running) = tokio::sync::mpsc::unbounded_channel::<String>();
    let polling = async move {
        let mut on_event = |event| match event {
            PollEvent::Finished(id, Finish::Running(state)) => {
                tracker.observe(state);
                let _ = found.send(id);
            }
            event => tracker.apply(event),
        };
        poll::wait_until_running(client, accepted, settings.poll, deadline, &mut on_event).await;
    };
    let reaching = async {
        let mut pending = futures_util::stream::FuturesUnordered::new();
        let mut open = true;
        while open || !pending.is_empty() {
            tokio::select! {
                received = running.recv(), if open => match received {
                    Some(id) => pending.push(reach_one(tracker, reach, id, deadline)),
                    None => open = false,
                },
                Some(()) = pending.next(), if !pending.is_empty() => {}
            }
        }
    };
    futures_util::future::join(polling, reaching).await;
}

/// Waits for every port of `reach` on machine `id`, then records its outcome.
async fn reach_one(tracker: &Tracker<'_>, reach: &Reach, id: String, deadline: Instant) {
    let unreachable = |error: Unreachable| {
        let kind = match error {
            Unreachable::Closed { .. } => ErrorKind::Timeout,
            Unreachable::NoAddress(_) | Unreachable::NotAnIp { .. } => ErrorKind::Api,
        };
        ErrorRecord {
            kind,
            code: None,
            message: error.to_string(),
            request_id: None,
        }
    };
    let ip = match reach::address_of(reach, &tracker.addresses_of(&id)) {
        Ok(ip) => ip,
        Err(error) => return tracker.fail(&id, unreachable(error), None),
    };
    for &port in &reach.ports {
        if let Err(error) = reach::wait_for_port(ip, port, deadline).await {
            return tracker.fail(&id, unreachable(error), None);
        }
        let address = std::net::SocketAddr::new(ip, port).to_string();
        tracker.progress.reachable(tracker.provider, &id, &address);
    }
    tracker.finish(&id, Outcome::Running, None);
}

/// Start calls in flight at once. Clouds with one machine per call (CompShare) need it; for the
/// others it overlaps a few batches.
const START_PARALLELISM: usize = 8;

/// Starts every id, [`START_PARALLELISM`] batches at a time; returns the ids now on their way
/// to RUNNING.
async fn start_all(client: &ApiClient<'_>, tracker: &Tracker<'_>, ids: &[String]) -> Vec<String> {
    let spec = client.provider().spec();
    stream::iter(ids.chunks(spec.start_batch))
        .map(|batch| start_batch(client, tracker, batch.to_vec()))
        .buffer_unordered(START_PARALLELISM)
        .concat()
        .await
}

/// Starts one batch; returns the ids the cloud accepted (or that were already starting).
async fn start_batch(
    client: &ApiClient<'_>,
    tracker: &Tracker<'_>,
    ids: Vec<String>,
) -> Vec<String> {
    let mut accepted = Vec::new();
    let mut batch = ids;
    // A batch the cloud refused as a whole for some of its machines is sent once more with the
    // machines still stopped; a second refusal stands.
    for may_resend in [true, false] {
        let (refused, whole_batch) = match client.start(&batch).await {
            Ok(reply) => {
                let mut refused = reply.refused;
                let (each, taken): (Vec<_>, Vec<_>) = batch
                    .iter()
                    .map(|id| (id.clone(), refused.remove(id)))
                    .partition(|(_, err)| err.is_some());
                tracker.progress.note(format_args!(
                    "{} start accepted for {} machine{}",
                    client.provider().name(),
                    taken.len(),
                    plural(taken.len())
                ));
                for (id, _) in &taken {
                    tracker.accepted(id, reply.job_id.as_deref());
                }
                accepted.extend(taken.into_iter().map(|(id, _)| id));
                let each = each.into_iter().filter_map(|(id, err)| Some((id, err?)));
                (each.collect(), false)
            }
            Err(err) => {
                let all = batch.iter().map(|id| (id.clone(), err.clone()));
                (all.collect(), true)
            }
        };
        batch = explain_refusals(
            client,
            tracker,
            refused,
            may_resend && whole_batch,
            &mut accepted,
        )
        .await;
        if batch.is_empty() {
            break;
        }
    }
    accepted
}

/// Settles refused machines. A refusal that concerns machines — already running, starting, wrong
/// state, not found — is explained by describing them: RUNNING is `already_running`, a transition
/// is waited for (pushed to `accepted`), an absent machine is not found. With `may_resend`, the
/// machines still stopped are returned to be sent again — unless all of them are, which means the
/// refusal was about them after all. Every other refusal stands.
///
/// A start that got no answer is explained the same way, except that it may have worked: RUNNING
/// and transitions are waited for, and machines still stopped are sent again once.
async fn explain_refusals(
    client: &ApiClient<'_>,
    tracker: &Tracker<'_>,
    refused: Vec<(String, CallError)>,
    may_resend: bool,
    accepted: &mut Vec<String>,
) -> Vec<String> {
    let (explainable, standing): (Vec<_>, Vec<_>) = refused.into_iter().partition(|(_, err)| {
        err.is_ambiguous()
            || err
                .api_error()
                .is_some_and(|e| e.class.concerns_instances())
    });
    for (id, err) in &standing {
        tracker.fail(id, record_call_error(err), None);
    }
    if explainable.is_empty() {
        return Vec::new();
    }
    let ids: Vec<String> = explainable.iter().map(|(id, _)| id.clone()).collect();
    let states = match describe_all(client, &ids).await {
        Ok(states) => states,
        Err(err) => {
            warn!("could not describe the machines to explain a refusal: {err}");
            for (id, refusal) in &explainable {
                tracker.fail(id, record_call_error(refusal), None);
            }
            return Vec::new();
        }
    };
    let stopped = |id: &String| states.get(id).is_some_and(|s| s.phase == Phase::Stopped);
    let unanswered = explainable.iter().any(|(_, err)| err.is_ambiguous());
    let resend = may_resend && (unanswered || !explainable.iter().all(|(id, _)| stopped(id)));
    let mut again = Vec::new();
    for (id, refusal) in &explainable {
        let state = states.get(id);
        match state.map(|s| s.phase) {
            None => tracker.fail(id, not_found(refusal), None),
            Some(Phase::Running) if refusal.is_ambiguous() => {
                tracker.seen(state.cloned());
                accepted.push(id.clone());
            }
            Some(Phase::Running) => tracker.finish(id, Outcome::AlreadyRunning, state.cloned()),
            Some(Phase::Pending) => {
                tracker.seen(state.cloned());
                accepted.push(id.clone());
            }
            Some(Phase::Stopped) if resend => again.push(id.clone()),
            Some(_) => tracker.fail(id, record_call_error(refusal), state.cloned()),
        }
    }
    again
}

pub(super) async fn describe_all(
    client: &ApiClient<'_>,
    ids: &[String],
) -> Result<HashMap<String, InstanceState>, CallError> {
    let mut states = HashMap::new();
    for chunk in ids.chunks(client.batch_size()) {
        for state in client.describe(chunk).await? {
            states.insert(state.id.clone(), state);
        }
    }
    Ok(states)
}

impl Describe for ApiClient<'_> {
    fn batch_size(&self) -> usize {
        self.provider().spec().describe_batch
    }

    fn round_cost(&self, machines: usize) -> usize {
        machines.div_ceil(self.batch_size().max(1)) + self.open_jobs()
    }

    async fn describe(&self, ids: &[String]) -> Result<Vec<InstanceState>, CallError> {
        ApiClient::describe(self, ids).await
    }
}

/// From now on, another Ctrl-C, SIGTERM or SIGHUP ends the process at once with exit code 130,
/// even if writing the report blocks. The signal handlers stay installed, so a watcher thread
/// takes over.
pub(super) fn exit_on_second_interrupt() {
    let spawned = std::thread::Builder::new()
        .name("second-interrupt".into())
        .spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(interrupted());
                std::process::exit(130);
            }
        });
    if let Err(err) = spawned {
        warn!("cannot watch for a second interrupt: {err}");
    }
}

/// Resolves on Ctrl-C (SIGINT), SIGTERM or SIGHUP. SIGHUP counts too: a closed terminal or SSH
/// session should end the run with a report, not kill it silently. A signal that cannot be
/// watched is never taken for one that arrived.
pub(super) async fn interrupted() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let watch = |kind: SignalKind| async move {
            match signal(kind) {
                Ok(mut stream) => {
                    stream.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = ctrl_c => {}
            () = watch(SignalKind::terminate()) => {}
            () = watch(SignalKind::hangup()) => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
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
    slots: RefCell<Vec<Slot>>,
    index: HashMap<String, usize>,
}

struct Slot {
    id: String,
    state: Option<String>,
    job_id: Option<String>,
    /// The last addresses the cloud reported; a later answer without any does not erase them.
    addresses: Addresses,
    end: Option<(Outcome, Option<ErrorRecord>)>,
}

impl Slot {
    /// Takes in what a describe said about the machine.
    fn observe(&mut self, state: InstanceState) {
        self.state = Some(state.raw);
        if !state.addresses.is_empty() {
            self.addresses = state.addresses;
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
            slots: RefCell::new(
                settings
                    .ids
                    .iter()
                    .map(|id| Slot {
                        id: id.clone(),
                        state: None,
                        job_id: None,
                        addresses: Addresses::default(),
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

    fn accepted(&self, id: &str, job_id: Option<&str>) {
        self.progress.accepted(self.provider, id, job_id);
        if let Some(job_id) = job_id {
            self.with_slot(id, |slot| slot.job_id = Some(job_id.to_string()));
        }
    }

    /// Takes in a describe's answer about a machine without telling the display.
    fn observe(&self, state: InstanceState) {
        self.with_slot(&state.id.clone(), |slot| slot.observe(state));
    }

    /// The addresses last reported for `id`.
    fn addresses_of(&self, id: &str) -> Addresses {
        let slots = self.slots.borrow();
        (self.index.get(id))
            .and_then(|&i| slots.get(i))
            .map(|slot| slot.addresses.clone())
            .unwrap_or_default()
    }

    fn seen(&self, state: Option<InstanceState>) {
        if let Some(state) = state {
            self.progress.state(self.provider, &state.id, &state.raw);
            self.with_slot(&state.id.clone(), |slot| slot.observe(state));
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

    fn apply(&self, event: PollEvent) {
        match event {
            PollEvent::State(state) => self.seen(Some(state)),
            PollEvent::Finished(id, finish) => match finish {
                Finish::Running(state) => self.finish(&id, Outcome::Running, Some(state)),
                Finish::Failed(state) => self.fail(
                    &id,
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
                    &id,
                    ErrorRecord {
                        kind: ErrorKind::Api,
                        code: None,
                        message: "instance no longer listed by the cloud".into(),
                        request_id: None,
                    },
                    None,
                ),
                Finish::Error(err) => self.fail(&id, record_call_error(&err), None),
                Finish::Timeout { polls, waited } => {
                    let last = self
                        .slots
                        .borrow()
                        .get(self.index.get(&id).copied().unwrap_or(usize::MAX))
                        .and_then(|s| s.state.clone())
                        .unwrap_or_else(|| "unknown".into());
                    self.fail(
                        &id,
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
            },
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
