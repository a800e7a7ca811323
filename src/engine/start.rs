//! The start protocol: start every machine, settle every refusal, then wait.
//!
//! For each batch of ids: send the start; if the cloud refuses it for reasons that concern the
//! machines (already running, starting, wrong state, not found), describe them to learn which
//! machine is in which state, and send the start once more for the ones still stopped. A start
//! that got no readable answer is settled the same way before anything is sent again. Then the
//! accepted machines are polled until RUNNING ([`super::wait`]) and, with `--wait-port`, until
//! their ports answer ([`super::reach`]).
//!
//! This module decides and reports; it keeps no records. Everything that happens goes to an
//! [`Events`] sink, which the command layer turns into report records and progress lines, and
//! every id gets exactly one [`Events::finished`] unless the run is cut short.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;

use futures_util::{stream, StreamExt};
use tokio::time::Instant;
use tracing::warn;

use super::reach::{self, Reach, Unreachable};
use super::wait::{self, Describe, Finish, PollConfig, PollEvent};
use super::{ApiClient, CallError, StartReply};
use crate::provider::{Addresses, InstanceState, Phase};

/// Where the engine reports what happened to each machine: the command layer's record keeper.
pub trait Events {
    /// The cloud accepted one start call for `ids`; `job_id` is its asynchronous job, where it
    /// reports one.
    fn accepted(&self, ids: &[String], job_id: Option<&str>);
    /// A machine was seen in a new state on its way to RUNNING.
    fn seen(&self, state: InstanceState);
    /// With `--wait-port`: a RUNNING machine accepted a connection on `address`.
    fn reachable(&self, id: &str, address: SocketAddr);
    /// A machine's part in the run is over; sent once per id.
    fn finished(&self, id: &str, end: End);
}

/// How one machine's part in the run ended.
#[derive(Debug)]
pub enum End {
    /// It is RUNNING (and, with `--wait-port`, every port answered).
    Running(InstanceState),
    /// Its start was accepted and the run does not wait (`--no-wait`).
    Starting,
    /// It was RUNNING before this run's start reached it.
    AlreadyRunning(InstanceState),
    /// The cloud refused its start, and a describe (where one was made) did not explain the
    /// refusal away; `state` is what that describe saw.
    Refused {
        /// The start's refusal.
        error: CallError,
        /// The machine's state, if it was described.
        state: Option<InstanceState>,
    },
    /// Its start was refused and the cloud does not list it.
    NotFound {
        /// The start's refusal, which may carry the cloud's own not-found error.
        refusal: CallError,
    },
    /// The waiter's verdict other than RUNNING: failed, gone, describe errors or the deadline.
    Wait(Finish),
    /// RUNNING, but a port of `--wait-port` never answered, or there was no address to try.
    Unreachable(Unreachable),
}

/// Something machines can be started on: the engine's API client, or a test script.
pub trait Starter: Describe {
    /// Most ids one start call may carry.
    fn start_batch(&self) -> usize;
    /// Starts `ids` (one start call's worth).
    fn start(&self, ids: &[String]) -> impl Future<Output = Result<StartReply, CallError>>;
}

impl Starter for ApiClient<'_> {
    fn start_batch(&self) -> usize {
        self.provider().spec().start_batch
    }

    async fn start(&self, ids: &[String]) -> Result<StartReply, CallError> {
        ApiClient::start(self, ids).await
    }
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

/// What to do after the starts: the part of a group's settings the protocol uses.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Wait for RUNNING (`false` with `--no-wait`).
    pub wait: bool,
    /// How often to poll.
    pub poll: PollConfig,
    /// Ports to wait for after RUNNING (`--wait-port`).
    pub reach: Option<Reach>,
    /// Nothing is waited for past this.
    pub deadline: Instant,
}

/// Starts `ids` on `cloud` and, as `plan` says, waits for them, telling `events` everything;
/// every id ends with one [`Events::finished`].
pub async fn run(cloud: &impl Starter, ids: &[String], plan: &Plan, events: &impl Events) {
    let events = Remembering {
        inner: events,
        addresses: RefCell::new(HashMap::new()),
    };
    let accepted = start_all(cloud, &events, ids).await;
    if !plan.wait {
        for id in accepted {
            events.finished(&id, End::Starting);
        }
        return;
    }
    match &plan.reach {
        Some(reach) => wait_until_reachable(cloud, &events, reach, accepted, plan).await,
        None => {
            let mut on_event = |event| match event {
                PollEvent::State(state) => events.seen(state),
                PollEvent::Finished(id, Finish::Running(state)) => {
                    events.finished(&id, End::Running(state))
                }
                PollEvent::Finished(id, finish) => events.finished(&id, End::Wait(finish)),
            };
            wait::wait_until_running(cloud, accepted, plan.poll, plan.deadline, &mut on_event)
                .await;
        }
    }
}

/// Start calls in flight at once. Clouds with one machine per call (CompShare) need it; for the
/// others it overlaps a few batches.
const START_PARALLELISM: usize = 8;

/// Starts every id, [`START_PARALLELISM`] batches at a time; returns the ids now on their way
/// to RUNNING.
async fn start_all(cloud: &impl Starter, events: &impl Events, ids: &[String]) -> Vec<String> {
    stream::iter(ids.chunks(cloud.start_batch().max(1)))
        .map(|batch| start_batch(cloud, events, batch.to_vec()))
        .buffer_unordered(START_PARALLELISM)
        .concat()
        .await
}

/// Starts one batch; returns the ids the cloud accepted (or that were already starting).
async fn start_batch(cloud: &impl Starter, events: &impl Events, ids: Vec<String>) -> Vec<String> {
    let mut accepted = Vec::new();
    let mut batch = ids;
    // A batch the cloud refused as a whole for some of its machines is sent once more with the
    // machines still stopped; a second refusal stands.
    for may_resend in [true, false] {
        let (refused, whole_batch) = match cloud.start(&batch).await {
            Ok(reply) => {
                let mut refused = reply.refused;
                let (each, taken): (Vec<_>, Vec<_>) = batch
                    .iter()
                    .map(|id| (id.clone(), refused.remove(id)))
                    .partition(|(_, err)| err.is_some());
                let taken: Vec<String> = taken.into_iter().map(|(id, _)| id).collect();
                events.accepted(&taken, reply.job_id.as_deref());
                accepted.extend(taken);
                let each = each.into_iter().filter_map(|(id, err)| Some((id, err?)));
                (each.collect(), false)
            }
            Err(err) => {
                let all = batch.iter().map(|id| (id.clone(), err.clone()));
                (all.collect(), true)
            }
        };
        batch = explain_refusals(
            cloud,
            events,
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
    cloud: &impl Describe,
    events: &impl Events,
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
    for (id, error) in standing {
        events.finished(&id, End::Refused { error, state: None });
    }
    if explainable.is_empty() {
        return Vec::new();
    }
    let ids: Vec<String> = explainable.iter().map(|(id, _)| id.clone()).collect();
    let mut states = match describe_all(cloud, &ids).await {
        Ok(states) => states,
        Err(err) => {
            warn!("could not describe the machines to explain a refusal: {err}");
            for (id, error) in explainable {
                events.finished(&id, End::Refused { error, state: None });
            }
            return Vec::new();
        }
    };
    let stopped = |id: &String| states.get(id).is_some_and(|s| s.phase == Phase::Stopped);
    let unanswered = explainable.iter().any(|(_, err)| err.is_ambiguous());
    let resend = may_resend && (unanswered || !explainable.iter().all(|(id, _)| stopped(id)));
    let mut again = Vec::new();
    for (id, refusal) in explainable {
        let Some(state) = states.remove(&id) else {
            events.finished(&id, End::NotFound { refusal });
            continue;
        };
        match state.phase {
            Phase::Running if refusal.is_ambiguous() => {
                events.seen(state);
                accepted.push(id);
            }
            Phase::Running => events.finished(&id, End::AlreadyRunning(state)),
            Phase::Pending => {
                events.seen(state);
                accepted.push(id);
            }
            Phase::Stopped if resend => again.push(id),
            _ => events.finished(
                &id,
                End::Refused {
                    error: refusal,
                    state: Some(state),
                },
            ),
        }
    }
    again
}

/// The states of `ids`, in as many describe calls as the cloud's batch size needs.
pub async fn describe_all(
    cloud: &impl Describe,
    ids: &[String],
) -> Result<HashMap<String, InstanceState>, CallError> {
    let mut states = HashMap::new();
    for chunk in ids.chunks(cloud.batch_size().max(1)) {
        for state in cloud.describe(chunk).await? {
            states.insert(state.id.clone(), state);
        }
    }
    Ok(states)
}

/// Waits for RUNNING and then, machine by machine as each gets there, for its ports
/// (`--wait-port`): a machine is RUNNING only once every port accepted a connection, and
/// unreachable if one never did before the deadline.
async fn wait_until_reachable(
    cloud: &impl Describe,
    events: &Remembering<'_, impl Events>,
    reach: &Reach,
    accepted: Vec<String>,
    plan: &Plan,
) {
    let (found, mut running) = tokio::sync::mpsc::unbounded_channel::<InstanceState>();
    let polling = async move {
        let mut on_event = |event| match event {
            PollEvent::State(state) => events.seen(state),
            PollEvent::Finished(_, Finish::Running(state)) => {
                events.remember(&state);
                let _ = found.send(state);
            }
            PollEvent::Finished(id, finish) => events.finished(&id, End::Wait(finish)),
        };
        wait::wait_until_running(cloud, accepted, plan.poll, plan.deadline, &mut on_event).await;
    };
    let reaching = async {
        let mut pending = futures_util::stream::FuturesUnordered::new();
        let mut open = true;
        while open || !pending.is_empty() {
            tokio::select! {
                received = running.recv(), if open => match received {
                    Some(state) => pending.push(reach_one(events, reach, state, plan.deadline)),
                    None => open = false,
                },
                Some(()) = pending.next(), if !pending.is_empty() => {}
            }
        }
    };
    futures_util::future::join(polling, reaching).await;
}

/// Waits for every port of `reach` on the RUNNING machine `state`, then tells its end.
async fn reach_one(
    events: &Remembering<'_, impl Events>,
    reach: &Reach,
    state: InstanceState,
    deadline: Instant,
) {
    let id = state.id.clone();
    let ip = match reach::address_of(reach, &events.addresses_of(&id)) {
        Ok(ip) => ip,
        Err(error) => return events.finished(&id, End::Unreachable(error)),
    };
    for &port in &reach.ports {
        if let Err(error) = reach::wait_for_port(ip, port, deadline).await {
            return events.finished(&id, End::Unreachable(error));
        }
        events.reachable(&id, SocketAddr::new(ip, port));
    }
    events.finished(&id, End::Running(state));
}

/// Passes events on, remembering each machine's last reported addresses for `--wait-port`: a
/// later answer without any does not erase them.
struct Remembering<'e, E> {
    inner: &'e E,
    addresses: RefCell<HashMap<String, Addresses>>,
}

impl<E: Events> Remembering<'_, E> {
    fn remember(&self, state: &InstanceState) {
        if !state.addresses.is_empty() {
            (self.addresses.borrow_mut()).insert(state.id.clone(), state.addresses.clone());
        }
    }

    fn addresses_of(&self, id: &str) -> Addresses {
        self.addresses.borrow().get(id).cloned().unwrap_or_default()
    }
}

impl<E: Events> Events for Remembering<'_, E> {
    fn accepted(&self, ids: &[String], job_id: Option<&str>) {
        self.inner.accepted(ids, job_id);
    }

    fn seen(&self, state: InstanceState) {
        self.remember(&state);
        self.inner.seen(state);
    }

    fn reachable(&self, id: &str, address: SocketAddr) {
        self.inner.reachable(id, address);
    }

    fn finished(&self, id: &str, end: End) {
        if let End::Running(state) | End::AlreadyRunning(state) = &end {
            self.remember(state);
        }
        self.inner.finished(id, end);
    }
}
