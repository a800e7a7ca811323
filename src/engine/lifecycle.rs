//! The lifecycle protocol: start, stop and wait as one.
//!
//! An [`Operation`] is data: the call it makes (a start, a stop, or none for `wait`), the phase it
//! drives toward, and through its action the states it waits out and the cloud's refusal table
//! ([`crate::provider::Vocabulary::class_in`]). Start, stop and wait are three values of it run by
//! one protocol:
//!
//! 1. For each batch of ids, send the call. If the cloud refuses it for reasons that concern the
//!    machines (already there, already underway, wrong state, not found), describe them to learn
//!    which machine is in which state: already at the target is success; already underway is
//!    waited for; still where the action begins is sent once more; caught in another transition
//!    (a stop of a machine still starting or rebooting) is waited out until it settles and then
//!    sent once more. A call that got no readable answer is settled by the same describe before
//!    anything is sent again.
//! 2. The accepted machines are polled until the target phase ([`super::wait`]) and, for RUNNING
//!    with `--wait-port`, until their ports answer ([`super::reach`]) — machines already running
//!    included: RUNNING says nothing about a port, and a rerun after a port timed out must check
//!    it again.
//!
//! `wait` makes no call: it is step 2 alone, for every id.
//!
//! This module decides and reports; it keeps no records. Everything that happens goes to an
//! [`Events`] sink, which the command layer turns into report records and progress lines, and
//! every id gets exactly one [`Events::finished`] unless the run is cut short.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;

use futures_util::{stream, StreamExt};
use tokio::time::Instant;
use tracing::warn;

use super::client::MachineWait;
use super::ports::{wait_until_reachable, Remembering};
use super::reach::{Reach, Unreachable};
use super::wait::{self, Acceptor, Describe, Finish, PollConfig, PollEvent};
use super::{ActReply, ApiClient, CallError, Failure};
use crate::provider::{Action, ErrorClass, InstanceState, Phase};

/// What a command does to its machines, as data: `start`, `stop` and `wait` are three values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The command's name, as the report names it: `start`, `stop` or `wait`.
    pub command: &'static str,
    /// The call it makes; `None` for `wait`, which only polls.
    pub action: Option<Action>,
    /// The phase it ends in: RUNNING or STOPPED.
    pub goal: Phase,
}

impl Operation {
    /// `cloudstart start`: start, then wait for RUNNING.
    pub const START: Self = Self {
        command: "start",
        action: Some(Action::Start),
        goal: Phase::Running,
    };

    /// `cloudstart stop`: stop, then wait for STOPPED.
    pub const STOP: Self = Self {
        command: "stop",
        action: Some(Action::Stop),
        goal: Phase::Stopped,
    };

    /// `cloudstart wait --for <goal>`: poll until `goal`, asking nothing of the machines.
    pub fn wait_for(goal: Phase) -> Self {
        Self {
            command: "wait",
            action: None,
            goal,
        }
    }

    /// When a machine's wait ends.
    fn acceptor(&self) -> Acceptor {
        match self.action {
            Some(action) => Acceptor::after(action),
            None => Acceptor::reach(self.goal),
        }
    }
}

/// Where the engine reports what happened to each machine: the command layer's record keeper.
pub trait Events {
    /// The cloud accepted one start or stop call for `ids`; `job_id` is its asynchronous job,
    /// where it reports one.
    fn accepted(&self, ids: &[String], job_id: Option<&str>);
    /// A machine was seen in a new state.
    fn seen(&self, state: InstanceState);
    /// With `--wait-port`: a RUNNING machine accepted a connection on `address`.
    fn reachable(&self, id: &str, address: SocketAddr);
    /// A machine's part in the run is over; sent once per id.
    fn finished(&self, id: &str, end: End);
}

/// How one machine's part in the run ended.
#[derive(Debug)]
pub enum End {
    /// It reached the operation's goal (and, with `--wait-port`, every port answered).
    Reached(InstanceState),
    /// Its start or stop was accepted and the run does not wait (`--no-wait`).
    Underway,
    /// It was at the goal before this run's call reached it (and, with `--wait-port`, every
    /// port answered).
    AlreadyThere(InstanceState),
    /// The cloud refused its call, and a describe (where one was made) did not explain the
    /// refusal away; `state` is what that describe saw.
    Refused {
        /// The call's refusal.
        error: CallError,
        /// The machine's state, if it was described.
        state: Option<InstanceState>,
    },
    /// Its call was refused and the cloud does not list it.
    NotFound {
        /// The call's refusal, which may carry the cloud's own not-found error.
        refusal: CallError,
    },
    /// The waiter's verdict other than the goal: failed, gone, describe errors or the deadline.
    Wait(Finish),
    /// RUNNING, but a port of `--wait-port` never answered, or there was no address to try.
    Unreachable(Unreachable),
}

/// Something machines can be started and stopped on: the engine's API client, or a test script.
pub trait Actor: Describe {
    /// Most ids one start or stop call may carry.
    fn action_batch(&self) -> usize;
    /// Starts or stops `ids` (one call's worth).
    fn act(
        &self,
        action: Action,
        ids: &[String],
    ) -> impl Future<Output = Result<ActReply, CallError>>;
    /// A generator for the waiter's jitter, seeded from the engine's randomness.
    fn fork_rng(&self) -> fastrand::Rng;
    /// How a machine an accepted call reported locked (or without capacity) is waited out;
    /// `None` leaves such a refusal as it is.
    fn lock_wait(&self) -> Option<MachineWait> {
        None
    }
}

impl Actor for ApiClient<'_> {
    fn action_batch(&self) -> usize {
        self.provider().spec().action_batch
    }

    async fn act(&self, action: Action, ids: &[String]) -> Result<ActReply, CallError> {
        ApiClient::act(self, action, ids).await
    }

    fn fork_rng(&self) -> fastrand::Rng {
        ApiClient::fork_rng(self)
    }

    fn lock_wait(&self) -> Option<MachineWait> {
        Some(ApiClient::machine_wait(self))
    }
}

impl Describe for ApiClient<'_> {
    fn batch_size(&self) -> usize {
        self.provider().spec().describe_batch
    }

    fn round_cost(&self, machines: usize) -> usize {
        let describes = machines.div_ceil(self.batch_size().max(1));
        describes + self.job_calls(describes)
    }

    fn unread_addresses(&self, id: &str) -> Option<CallError> {
        ApiClient::unread_addresses(self, id)
    }

    fn last_sent(&self) -> Option<Instant> {
        self.last_read_sent()
    }

    async fn describe(&self, ids: &[String]) -> Result<Vec<InstanceState>, CallError> {
        ApiClient::describe(self, ids).await
    }
}

/// What to do after the calls: the part of a group's settings the protocol uses.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Wait for the goal (`false` with `--no-wait`).
    pub wait: bool,
    /// How often to poll.
    pub poll: PollConfig,
    /// Ports to wait for after RUNNING (`--wait-port`).
    pub reach: Option<Reach>,
    /// Nothing is waited for past this.
    pub deadline: Instant,
}

/// Runs `operation` on `ids` of `cloud` and, as `plan` says, waits for them, telling `events`
/// everything; every id ends with one [`Events::finished`].
pub async fn run(
    cloud: &impl Actor,
    operation: &Operation,
    ids: &[String],
    plan: &Plan,
    events: &impl Events,
) {
    let events = Remembering::new(events, plan.reach.is_some());
    let Some(action) = operation.action else {
        return conclude(cloud, operation.acceptor(), ids.to_vec(), plan, &events).await;
    };
    // Each batch's accepted machines go to the one poller as soon as its call is done, so the
    // first of a big fleet are described while the last are still being started.
    let (feed, accepted) = tokio::sync::mpsc::unbounded_channel();
    let main = async {
        if plan.wait {
            let ids = wait::Arrivals {
                known: Vec::new(),
                later: Some(accepted),
            };
            conclude(cloud, operation.acceptor(), ids, plan, &events).await;
        } else {
            let mut accepted = accepted;
            while let Some(ids) = accepted.recv().await {
                for id in ids {
                    events.finished(&id, End::Underway);
                }
            }
        }
    };
    // Machines caught in another transition: waited out, then sent the call once more.
    let acting = async {
        let acted = act_all(cloud, action, &events, ids, true, Some(feed.clone())).await;
        if !acted.underway.is_empty() {
            let _ = feed.send(acted.underway);
        }
        drop(feed);
        if acted.settling.is_empty() {
            return;
        }
        let (again, arrived) = settle(cloud, action, acted.settling, plan, &events).await;
        let acted = act_all(cloud, action, &events, &again, false, None).await;
        if plan.wait {
            let mut ids = acted.underway;
            ids.extend(arrived.into_iter().map(|state| state.id));
            conclude(cloud, operation.acceptor(), ids, plan, &events).await;
        } else {
            for id in acted.underway {
                events.finished(&id, End::Underway);
            }
            for state in arrived {
                events.finished(&state.id.clone(), End::Reached(state));
            }
        }
    };
    futures_util::future::join(main, acting).await;
}

/// Polls `ids` until `acceptor` accepts them and, with `--wait-port`, until their ports answer.
async fn conclude(
    cloud: &impl Actor,
    acceptor: Acceptor,
    ids: impl Into<wait::Arrivals>,
    plan: &Plan,
    events: &Remembering<'_, impl Events>,
) {
    if let Some(reach) = &plan.reach {
        return wait_until_reachable(cloud, events, reach, acceptor, ids, plan).await;
    }
    let mut on_event = |event| match event {
        PollEvent::State(state) => events.seen(state),
        PollEvent::Finished(id, Finish::Done(state)) => events.finished(&id, End::Reached(state)),
        PollEvent::Finished(id, finish) => events.finished(&id, End::Wait(finish)),
    };
    let jitter = &mut cloud.fork_rng();
    let (poll, deadline) = (plan.poll, plan.deadline);
    wait::wait_until(cloud, ids, acceptor, poll, deadline, jitter, &mut on_event).await;
}

/// Polls machines caught in a transition until they settle. Returns the ids back where `action`
/// begins, to be sent again, and the states of the ones that arrived where it drives them;
/// every other machine (failed, gone, still moving at the deadline) is finished here.
async fn settle(
    cloud: &impl Actor,
    action: Action,
    ids: Vec<String>,
    plan: &Plan,
    events: &impl Events,
) -> (Vec<String>, Vec<InstanceState>) {
    let mut again = Vec::new();
    let mut arrived = Vec::new();
    let mut on_event = |event| match event {
        PollEvent::State(state) => events.seen(state),
        PollEvent::Finished(_, Finish::Done(state)) if state.phase == action.target() => {
            arrived.push(state)
        }
        PollEvent::Finished(id, Finish::Done(_)) => again.push(id),
        PollEvent::Finished(id, finish) => events.finished(&id, End::Wait(finish)),
    };
    let jitter = &mut cloud.fork_rng();
    let (poll, deadline) = (plan.poll, plan.deadline);
    let settled = Acceptor::SETTLED;
    wait::wait_until(cloud, ids, settled, poll, deadline, jitter, &mut on_event).await;
    (again, arrived)
}

/// Calls in flight at once. Clouds with one machine per call (CompShare) need it; for the
/// others it overlaps a few batches.
const CALL_PARALLELISM: usize = 8;

/// Where an action left the machines it was sent for.
#[derive(Debug, Default)]
struct Acted {
    /// Accepted, or already on their way: to be waited for.
    underway: Vec<String>,
    /// Refused while in another transition: to be waited out and sent again.
    settling: Vec<String>,
}

/// Sends `action` for every id, [`CALL_PARALLELISM`] batches at a time. With `may_settle`,
/// machines caught in another transition are set aside to settle; without, their refusal stands.
/// With a `feed`, each batch's machines underway are sent there as soon as the batch is done
/// (and left out of the returned `underway`).
async fn act_all(
    cloud: &impl Actor,
    action: Action,
    events: &impl Events,
    ids: &[String],
    may_settle: bool,
    feed: Option<tokio::sync::mpsc::UnboundedSender<Vec<String>>>,
) -> Acted {
    let chunks = ids.chunks(cloud.action_batch().max(1));
    // Calls that all go out at once leave nothing to overlap the poll with: their machines are
    // handed over together, and the first describes do not collide with the calls' retries.
    let feed = feed.filter(|_| chunks.len() > CALL_PARALLELISM);
    let mut batches = stream::iter(chunks)
        .map(|batch| act_batch(cloud, action, events, batch.to_vec(), may_settle))
        .buffer_unordered(CALL_PARALLELISM);
    let mut acted = Acted::default();
    while let Some(batch) = batches.next().await {
        match &feed {
            // The receiver lives until the sender is dropped: nothing sent is lost.
            Some(feed) if !batch.underway.is_empty() => {
                let _ = feed.send(batch.underway);
            }
            Some(_) => {}
            None => acted.underway.extend(batch.underway),
        }
        acted.settling.extend(batch.settling);
    }
    acted
}

/// Sends `action` for one batch.
async fn act_batch(
    cloud: &impl Actor,
    action: Action,
    events: &impl Events,
    ids: Vec<String>,
    may_settle: bool,
) -> Acted {
    let mut acted = Acted::default();
    let mut batch = ids;
    // A batch the cloud refused as a whole for some of its machines is sent once more with the
    // machines still where the action begins; a second refusal stands.
    for may_resend in [true, false] {
        let (refused, whole_batch) = match cloud.act(action, &batch).await {
            Ok(reply) => {
                let mut refused = reply.refused;
                let (each, taken): (Vec<_>, Vec<_>) = batch
                    .iter()
                    .map(|id| (id.clone(), refused.remove(id)))
                    .partition(|(_, err)| err.is_some());
                let taken: Vec<String> = taken.into_iter().map(|(id, _)| id).collect();
                events.accepted(&taken, reply.job_id.as_deref());
                acted.underway.extend(taken);
                let each = each.into_iter().filter_map(|(id, err)| Some((id, err?)));
                let each = wait_out_locks(cloud, action, events, each.collect(), &mut acted).await;
                (each, false)
            }
            // Refused as a whole for what may be one machine's (its lock, its type sold out):
            // each half is sent on its own, so the innocent machines go ahead and the culprit,
            // alone at last, is waited out or refused by itself.
            Err(err)
                if batch.len() > 1
                    && err.api_error().is_some_and(|e| e.class.ties_to_a_machine()) =>
            {
                let (left, right) = batch.split_at(batch.len() / 2);
                for half in [left, right] {
                    let half = half.to_vec();
                    let part = Box::pin(act_batch(cloud, action, events, half, may_settle)).await;
                    acted.underway.extend(part.underway);
                    acted.settling.extend(part.settling);
                }
                return acted;
            }
            Err(err) => {
                let all = batch.iter().map(|id| (id.clone(), err.clone()));
                (all.collect(), true)
            }
        };
        let explaining = Explaining {
            action,
            may_resend: may_resend && whole_batch,
            may_settle,
        };
        batch = explain_refusals(cloud, events, refused, explaining, &mut acted).await;
        if batch.is_empty() {
            break;
        }
    }
    acted
}

/// Waits out the machines an accepted call refused one by one because another operation holds
/// them (Volcengine's `OperationDetails` with `OperationDenied.ResourceLocked`) or, with
/// `--retry-capacity`, for want of capacity, as the sender waits out either on the whole call:
/// they are sent again, in one call, after the lock's pause until the deadline. The ones
/// accepted then join `acted.underway`; returned are the other refusals, a later refusal for
/// another reason, and the ones the deadline ended (a lock: a timeout that says how many
/// attempts it took; capacity: the refusal, saying how often it came).
async fn wait_out_locks(
    cloud: &impl Actor,
    action: Action,
    events: &impl Events,
    refused: Vec<(String, CallError)>,
    acted: &mut Acted,
) -> Vec<(String, CallError)> {
    let Some(wait) = cloud.lock_wait() else {
        return refused;
    };
    let (delay, deadline) = (wait.delay, wait.deadline);
    let locked = |err: &CallError| {
        err.api_error().is_some_and(|e| {
            e.class == ErrorClass::Busy || (wait.capacity && e.class == ErrorClass::Capacity)
        })
    };
    let (mut waiting, mut settled): (Vec<_>, Vec<_>) =
        refused.into_iter().partition(|(_, err)| locked(err));
    let started = Instant::now();
    let mut attempts = 1;
    while !waiting.is_empty() {
        if Instant::now() + delay >= deadline {
            for (id, mut err) in waiting {
                err.attempts = attempts;
                err.elapsed = started.elapsed();
                if let Failure::Api(api) = &mut err.failure {
                    if api.class == ErrorClass::Capacity {
                        api.message.push_str(&format!(
                            "; refused for capacity {attempts} times in {:.1}s",
                            err.elapsed.as_secs_f64()
                        ));
                    }
                }
                settled.push((id, err));
            }
            break;
        }
        tokio::time::sleep(delay).await;
        attempts += 1;
        let ids: Vec<String> = waiting.iter().map(|(id, _)| id.clone()).collect();
        match cloud.act(action, &ids).await {
            Ok(reply) => {
                let mut refused = reply.refused;
                let mut taken = Vec::new();
                let mut still = Vec::new();
                for (id, _) in waiting {
                    match refused.remove(&id) {
                        None => taken.push(id),
                        Some(err) if locked(&err) => still.push((id, err)),
                        Some(err) => settled.push((id, err)),
                    }
                }
                if !taken.is_empty() {
                    events.accepted(&taken, reply.job_id.as_deref());
                    acted.underway.extend(taken);
                }
                waiting = still;
            }
            // The whole call failed (after the sender's own retries): that is the machines' refusal.
            Err(err) => {
                settled.extend(waiting.into_iter().map(|(id, _)| (id, err.clone())));
                break;
            }
        }
    }
    settled
}

/// What [`explain_refusals`] may do besides explaining.
#[derive(Debug, Clone, Copy)]
struct Explaining {
    action: Action,
    /// Return the machines still where the action begins, to be sent again.
    may_resend: bool,
    /// Set aside the machines caught in another transition, to settle.
    may_settle: bool,
}

/// Settles refused machines. A refusal that concerns machines — already there, already underway,
/// wrong state, not found — is explained by describing them: at the target is already there,
/// underway is waited for (pushed to `acted.underway`), caught in another transition is waited
/// out (`acted.settling`, with `may_settle`), an absent machine is not found. With `may_resend`,
/// the machines still where the action begins are returned to be sent again — unless all of them
/// are, which means the refusal was about them after all. Every other refusal stands.
///
/// A call that got no answer is explained the same way, except that it may have worked: the
/// target and transitions are waited for, and machines still where it begins are sent again once.
async fn explain_refusals(
    cloud: &impl Describe,
    events: &impl Events,
    refused: Vec<(String, CallError)>,
    explaining: Explaining,
    acted: &mut Acted,
) -> Vec<String> {
    let Explaining {
        action,
        may_resend,
        may_settle,
    } = explaining;
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
    let at_source = |id: &String| states.get(id).is_some_and(|s| s.phase == action.source());
    let unanswered = explainable.iter().any(|(_, err)| err.is_ambiguous());
    let resend = may_resend && (unanswered || !explainable.iter().all(|(id, _)| at_source(id)));
    let mut again = Vec::new();
    for (id, refusal) in explainable {
        let Some(state) = states.remove(&id) else {
            events.finished(&id, End::NotFound { refusal });
            continue;
        };
        match state.phase {
            // After no answer, the target may be this run's doing: waited for, not "already".
            phase if phase == action.target() && refusal.is_ambiguous() => {
                events.seen(state);
                acted.underway.push(id);
            }
            phase if phase == action.target() => events.finished(&id, End::AlreadyThere(state)),
            phase if phase == action.underway() => {
                events.seen(state);
                acted.underway.push(id);
            }
            phase if phase == action.source() && resend => again.push(id),
            phase if phase.is_moving() && (may_settle || refusal.is_ambiguous()) => {
                events.seen(state);
                if may_settle {
                    acted.settling.push(id);
                } else {
                    acted.underway.push(id);
                }
            }
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

#[cfg(test)]
mod tests;
