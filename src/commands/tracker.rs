//! The [`Tracker`]: turns the engine's [`Events`] into one report record per target — never lost,
//! never twice — and feeds the progress display as it goes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;

use chrono::{DateTime, Utc};

use tracing::warn;

use crate::engine::lifecycle::{End, Events, Operation};
use crate::engine::reach::Unreachable;
use crate::engine::wait::Finish;
use crate::engine::CallError;
use crate::error::ErrorKind;
use crate::output::{ErrorRecord, Outcome, Progress, Record, Report, Task};
use crate::provider::{Action, Addresses, ErrorClass, InstanceState, Phase};
use crate::settings::GroupSettings;

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
pub(super) struct Tracker<'p> {
    progress: &'p Progress,
    /// What the run does to the machines: names the outcomes and the accepted calls.
    operation: Operation,
    provider: &'static str,
    region: Option<String>,
    /// The zone the group was resolved to, for records whose describe named none.
    zone: Option<String>,
    /// What `--force` sends on this cloud, if it has one: the hint after a failed gentle stop.
    stop_force: Option<&'static str>,
    /// Whether this run's stops are forced already.
    forced: bool,
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
    /// What the last state seen means.
    phase: Option<Phase>,
    end: Option<(Outcome, Option<ErrorRecord>)>,
}

impl Slot {
    /// Takes in what a describe said about the machine.
    fn observe(&mut self, state: InstanceState) {
        self.state = Some(state.raw);
        self.phase = Some(state.phase);
        if !state.addresses.is_empty() {
            self.addresses = state.addresses;
        }
        if state.zone.is_some() {
            self.zone = state.zone;
        }
    }
}

impl<'p> Tracker<'p> {
    /// Records for every id of `settings`, each announced to `progress`.
    pub(super) fn new(
        settings: &GroupSettings,
        operation: Operation,
        progress: &'p Progress,
    ) -> Self {
        for id in &settings.ids {
            progress.requested(settings.provider.name(), id);
        }
        Self {
            progress,
            operation,
            provider: settings.provider.name(),
            region: settings.location.region.clone(),
            zone: settings.location.zone.clone(),
            stop_force: settings.provider.spec().stop.force,
            forced: settings.options.force,
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
                        phase: None,
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
        // Reaching the goal was already logged as a state change.
        if !matches!(outcome, Outcome::Running | Outcome::Stopped) {
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

    /// Ends `id` with `error`. A machine whose gentle stop failed (a failure state after it, the
    /// cloud listing the stop as failed) is told about `--force`.
    fn fail(&self, id: &str, mut error: ErrorRecord, state: Option<InstanceState>) {
        if error.kind == ErrorKind::FailedState {
            error.message.push_str(&self.force_hint());
        }
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
            Finish::Done(state) => self.finish(id, self.reached(), Some(state)),
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
                            "not {} after {:.1}s and {polls} polls (last state {last})",
                            self.goal_name(),
                            waited.as_secs_f64()
                        ),
                        request_id: None,
                    },
                    None,
                )
            }
        }
    }

    /// The report of `task`, a run that began at `started_at`. A machine without an outcome was
    /// cut off by an interrupt — or, without one, is a bug, reported as such rather than dropped;
    /// either way its record keeps the state, zone and addresses last seen.
    pub(super) fn report(
        self,
        task: Task,
        started_at: DateTime<Utc>,
        elapsed_ms: u64,
        interrupted: bool,
    ) -> Report {
        let goal = self.goal_name();
        let stand_in = |slot: &Slot| {
            let (outcome, kind, message) = match slot.phase {
                _ if !interrupted => (
                    Outcome::Failed,
                    ErrorKind::Internal,
                    "no outcome was recorded for this machine (a bug in cloudstart)".to_string(),
                ),
                // Cut off at the goal while its ports were checked (`--wait-port`).
                Some(phase) if phase == self.operation.goal => (
                    Outcome::Interrupted,
                    ErrorKind::Interrupted,
                    format!("interrupted while waiting for its ports (it was {goal})"),
                ),
                _ => (
                    Outcome::Interrupted,
                    ErrorKind::Interrupted,
                    format!("interrupted before the machine was {goal}"),
                ),
            };
            let error = ErrorRecord {
                kind,
                code: None,
                message,
                request_id: None,
            };
            (outcome, error)
        };
        // The slots' addresses move into the records: a big fleet's are not held twice.
        let instances = (self.slots.take().into_iter())
            .map(|mut slot| Record {
                addresses: std::mem::take(&mut slot.addresses),
                ..self.record(&slot, Some(stand_in(&slot)))
            })
            .collect();
        Report {
            started_at,
            elapsed_ms,
            instances,
            ..Report::new(task)
        }
    }

    /// The goal's name as the clouds write it: RUNNING or STOPPED.
    fn goal_name(&self) -> &'static str {
        match self.operation.goal {
            Phase::Stopped => "STOPPED",
            _ => "RUNNING",
        }
    }

    /// The outcome of a machine that reached the goal.
    fn reached(&self) -> Outcome {
        match self.operation.goal {
            Phase::Stopped => Outcome::Stopped,
            _ => Outcome::Running,
        }
    }

    /// What a gentle stop that failed should be followed by: `--force`, where the cloud has one.
    fn force_hint(&self) -> String {
        let gentle_stop = self.operation.action == Some(Action::Stop) && !self.forced;
        match self.stop_force {
            Some(force) if gentle_stop => format!(
                " (a gentle stop fails when the OS does not shut down: stop again with --force, \
                 which sends {force})"
            ),
            _ => String::new(),
        }
    }
}

fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Running => "RUNNING",
        Outcome::Starting => "start accepted",
        Outcome::AlreadyRunning => "already running",
        Outcome::Stopped => "STOPPED",
        Outcome::Stopping => "stop accepted",
        Outcome::AlreadyStopped => "already stopped",
        Outcome::Failed => "failed",
        Outcome::Timeout => "timed out",
        Outcome::Interrupted => "interrupted",
        Outcome::Observed => "observed",
    }
}

impl Events for Tracker<'_> {
    fn accepted(&self, ids: &[String], job_id: Option<&str>) {
        let action = self.operation.action.map_or("", Action::name);
        self.progress.note(format_args!(
            "{} {action} accepted for {} machine{}",
            self.provider,
            ids.len(),
            plural(ids.len())
        ));
        for id in ids {
            self.progress.accepted(action, self.provider, id, job_id);
            if let Some(job_id) = job_id {
                self.with_slot(id, |slot| slot.job_id = Some(job_id.to_string()));
            }
        }
    }

    fn seen(&self, state: InstanceState) {
        // The engine may tell a state twice (a refused call's describe, then the wait's first
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
            End::Reached(state) => self.finish(id, self.reached(), Some(state)),
            End::Underway => {
                let underway = match self.operation.goal {
                    Phase::Stopped => Outcome::Stopping,
                    _ => Outcome::Starting,
                };
                self.finish(id, underway, None)
            }
            End::AlreadyThere(state) => {
                let already = match self.operation.goal {
                    Phase::Stopped => Outcome::AlreadyStopped,
                    _ => Outcome::AlreadyRunning,
                };
                self.finish(id, already, Some(state))
            }
            End::Refused { error, state } => self.fail(id, record_call_error(&error), state),
            End::NotFound { refusal } => self.fail(id, not_found(&refusal), None),
            End::Unreachable(error) => {
                let kind = match error {
                    Unreachable::Closed { .. } => ErrorKind::Timeout,
                    Unreachable::NoAddress(_)
                    | Unreachable::NotAnIp { .. }
                    | Unreachable::Refused { .. } => ErrorKind::Api,
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

#[cfg(test)]
mod tests {
    //! The Tracker fed events as the engine sends them: one record per target, named for the
    //! operation, never lost and never twice.

    use std::time::Duration;

    use super::*;
    use crate::credentials::{Credentials, Secret};
    use crate::engine::wait::{Backoff, PollConfig};
    use crate::engine::{Endpoint, Failure, RetryConfig};
    use crate::output::Mode;
    use crate::provider::{ActionOptions, ApiError, Location, TencentCvm};

    /// Three Tencent machines, `options` on their calls.
    fn settings(options: ActionOptions) -> GroupSettings {
        GroupSettings {
            provider: &TencentCvm,
            location: Location {
                region: Some("ap-guangzhou".into()),
                zone: None,
            },
            endpoint: Endpoint::parse("http://127.0.0.1:9").unwrap(),
            credentials: Credentials {
                key_id: "id".into(),
                secret: Secret::from("key".to_string()),
                token: None,
            },
            credentials_origin: Default::default(),
            ids: ["ins-aaaaaaaa", "ins-bbbbbbbb", "ins-cccccccc"]
                .map(String::from)
                .to_vec(),
            wait: true,
            timeout: Duration::from_secs(60),
            poll: PollConfig::Backoff(Backoff {
                min_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(1),
            }),
            retry: RetryConfig::default(),
            options,
            network: Default::default(),
            reach: None,
        }
    }

    fn state(id: &str, raw: &str, phase: Phase) -> InstanceState {
        InstanceState::new(id, raw, phase)
    }

    /// `(id, outcome, state, error kind)` of each record.
    fn rows(report: &Report) -> Vec<(String, &'static str, Option<String>, Option<ErrorKind>)> {
        (report.instances.iter())
            .map(|r| {
                let kind = r.error.as_ref().map(|e| e.kind);
                (r.id.clone(), r.outcome.as_str(), r.state.clone(), kind)
            })
            .collect()
    }

    #[test]
    fn a_stops_events_become_stop_outcomes_in_target_order() {
        let progress = Progress::new(Mode::Quiet, false);
        let tracker = Tracker::new(&settings(Default::default()), Operation::STOP, &progress);
        let [a, b, c] = ["ins-aaaaaaaa", "ins-bbbbbbbb", "ins-cccccccc"];
        tracker.accepted(&[b.to_string()], None);
        tracker.seen(state(b, "STOPPING", Phase::Stopping));
        tracker.finished(c, End::AlreadyThere(state(c, "STOPPED", Phase::Stopped)));
        tracker.finished(b, End::Reached(state(b, "STOPPED", Phase::Stopped)));
        tracker.finished(a, End::Underway);
        let report = tracker.report(Task::Stop, Utc::now(), 5, false);
        assert_eq!(report.command, Task::Stop);
        assert_eq!(
            rows(&report),
            [
                (a.into(), "stopping", None, None),
                (b.into(), "stopped", Some("STOPPED".into()), None),
                (c.into(), "already_stopped", Some("STOPPED".into()), None),
            ]
        );
        assert_eq!(report.exit_code(), 0);
    }

    #[test]
    fn a_failed_gentle_stop_is_exit_7_with_the_force_hint_and_a_forced_one_without() {
        for (force, hinted) in [(false, true), (true, false)] {
            let progress = Progress::new(Mode::Quiet, false);
            let options = ActionOptions {
                force,
                ..Default::default()
            };
            let tracker = Tracker::new(&settings(options), Operation::STOP, &progress);
            let failed = InstanceState {
                detail: Some("StopInstances r-1 FAILED".into()),
                ..state("ins-aaaaaaaa", "RUNNING", Phase::Failed)
            };
            tracker.finished("ins-aaaaaaaa", End::Wait(Finish::Failed(failed)));
            let report = tracker.report(Task::Stop, Utc::now(), 5, false);
            let error = report.instances[0].error.clone().unwrap();
            assert_eq!(error.kind, ErrorKind::FailedState);
            assert_eq!(error.code.as_deref(), Some("RUNNING"));
            assert_eq!(
                error.message.contains("--force, which sends StopType=HARD"),
                hinted,
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn every_target_gets_one_record_even_unfinished_or_told_twice() {
        let progress = Progress::new(Mode::Quiet, false);
        let told = || {
            let tracker = Tracker::new(&settings(Default::default()), Operation::START, &progress);
            tell_three(&tracker);
            tracker
        };
        let report = told().report(Task::Start, Utc::now(), 5, false);
        let rows = rows(&report);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].1, "failed");
        assert_eq!(rows[0].3, Some(ErrorKind::Api));
        let timed_out = report.instances[1].error.clone().unwrap();
        assert_eq!(rows[1].1, "timeout");
        assert!(
            timed_out
                .message
                .starts_with("not RUNNING after 9.0s and 3 polls (last state STARTING)"),
            "{}",
            timed_out.message
        );
        // The third had no outcome: without an interrupt that is a bug, reported as one.
        assert_eq!(
            (rows[2].1, rows[2].3),
            ("failed", Some(ErrorKind::Internal))
        );
        assert_eq!(report.exit_code(), 1);
        let interrupted = told().report(Task::Start, Utc::now(), 5, true);
        let error = interrupted.instances[2].error.clone().unwrap();
        assert_eq!(interrupted.instances[2].outcome, Outcome::Interrupted);
        assert_eq!(error.message, "interrupted before the machine was RUNNING");
    }

    /// Tells `tracker` of three machines: one not found, one timed out, one left without an
    /// outcome (and of an id the run does not know).
    fn tell_three(tracker: &Tracker<'_>) {
        let refusal = CallError {
            action: "StartInstances",
            failure: Failure::Api(ApiError {
                code: "InvalidInstanceId.NotFound".into(),
                message: "not found".into(),
                request_id: Some("r-9".into()),
                http_status: 200,
                class: ErrorClass::NotFound,
            }),
            attempts: 1,
            elapsed: Duration::ZERO,
        };
        tracker.finished("ins-aaaaaaaa", End::NotFound { refusal });
        // An id the run does not know is ignored, not added.
        tracker.finished("ins-zzzzzzzz", End::Underway);
        let timeout = Finish::Timeout {
            polls: 3,
            waited: Duration::from_secs(9),
        };
        tracker.seen(state("ins-bbbbbbbb", "STARTING", Phase::Starting));
        tracker.finished("ins-bbbbbbbb", End::Wait(timeout));
    }

    #[test]
    fn a_wait_for_stopped_names_its_goal() {
        let progress = Progress::new(Mode::Quiet, false);
        let operation = Operation::wait_for(Phase::Stopped);
        let tracker = Tracker::new(&settings(Default::default()), operation, &progress);
        let b = "ins-bbbbbbbb";
        tracker.finished(b, End::Reached(state(b, "STOPPED", Phase::Stopped)));
        let timeout = Finish::Timeout {
            polls: 1,
            waited: Duration::from_secs(1),
        };
        tracker.finished("ins-aaaaaaaa", End::Wait(timeout));
        let report = tracker.report(Task::Wait, Utc::now(), 5, true);
        assert_eq!(report.instances[1].outcome, Outcome::Stopped);
        let message = &report.instances[0].error.as_ref().unwrap().message;
        assert!(message.starts_with("not STOPPED after"), "{message}");
        let message = &report.instances[2].error.as_ref().unwrap().message;
        assert_eq!(message, "interrupted before the machine was STOPPED");
    }

    #[test]
    fn an_interrupt_during_the_port_wait_says_so_and_keeps_what_was_seen() {
        let progress = Progress::new(Mode::Quiet, false);
        let tracker = Tracker::new(&settings(Default::default()), Operation::START, &progress);
        let running = InstanceState::new("ins-aaaaaaaa", "RUNNING", Phase::Running)
            .with_zone(Some("ap-guangzhou-3".into()));
        tracker.seen(running);
        tracker.seen(state("ins-bbbbbbbb", "STARTING", Phase::Starting));
        let report = tracker.report(Task::Start, Utc::now(), 5, true);
        let (a, b) = (&report.instances[0], &report.instances[1]);
        assert_eq!(
            (a.state.as_deref(), a.zone.as_deref()),
            (Some("RUNNING"), Some("ap-guangzhou-3"))
        );
        let message = |r: &Record| r.error.as_ref().unwrap().message.clone();
        assert_eq!(
            message(a),
            "interrupted while waiting for its ports (it was RUNNING)"
        );
        assert_eq!(message(b), "interrupted before the machine was RUNNING");
    }
}
