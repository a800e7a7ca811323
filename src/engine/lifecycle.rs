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
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::time::Duration;

    use super::*;
    use crate::engine::Failure;
    use crate::provider::{ApiError, ErrorClass};

    /// Answers starts and describes from a script, and records what was asked.
    struct Script {
        starts: RefCell<VecDeque<Result<ActReply, CallError>>>,
        describes: RefCell<VecDeque<Vec<InstanceState>>>,
        started: RefCell<Vec<Vec<String>>>,
        described: RefCell<Vec<Vec<String>>>,
        /// The lock's pause and the deadline, as the engine's client has them.
        lock_wait: MachineWait,
    }

    impl Script {
        fn new(
            starts: Vec<Result<ActReply, CallError>>,
            describes: Vec<Vec<InstanceState>>,
        ) -> Self {
            Self {
                starts: RefCell::new(starts.into()),
                describes: RefCell::new(describes.into()),
                started: RefCell::default(),
                described: RefCell::default(),
                lock_wait: MachineWait {
                    delay: Duration::from_secs(5),
                    deadline: Instant::now() + Duration::from_secs(60),
                    capacity: false,
                },
            }
        }
    }

    impl Describe for Script {
        fn batch_size(&self) -> usize {
            100
        }

        async fn describe(&self, ids: &[String]) -> Result<Vec<InstanceState>, CallError> {
            self.described.borrow_mut().push(ids.to_vec());
            let answer = self.describes.borrow_mut().pop_front();
            let answer = answer.expect("an unscripted describe");
            Ok(answer.into_iter().filter(|s| ids.contains(&s.id)).collect())
        }
    }

    impl Actor for Script {
        fn action_batch(&self) -> usize {
            100
        }

        async fn act(&self, _: Action, ids: &[String]) -> Result<ActReply, CallError> {
            self.started.borrow_mut().push(ids.to_vec());
            let answer = self.starts.borrow_mut().pop_front();
            answer.expect("an unscripted start")
        }

        fn fork_rng(&self) -> fastrand::Rng {
            fastrand::Rng::with_seed(7)
        }

        fn lock_wait(&self) -> Option<MachineWait> {
            Some(self.lock_wait)
        }
    }

    impl Drop for Script {
        fn drop(&mut self) {
            if !std::thread::panicking() {
                assert!(self.starts.borrow().is_empty(), "starts left unsent");
                assert!(self.describes.borrow().is_empty(), "describes left unasked");
            }
        }
    }

    /// Every event, as a line: `accepted a,b`, `seen a STARTING`, `a: <end>`.
    #[derive(Default)]
    struct Log(RefCell<Vec<String>>);

    impl Events for Log {
        fn accepted(&self, ids: &[String], _: Option<&str>) {
            self.0
                .borrow_mut()
                .push(format!("accepted {}", ids.join(",")));
        }

        fn seen(&self, state: InstanceState) {
            (self.0.borrow_mut()).push(format!("seen {} {}", state.id, state.raw));
        }

        fn reachable(&self, id: &str, address: SocketAddr) {
            self.0
                .borrow_mut()
                .push(format!("{id} reachable {address}"));
        }

        fn finished(&self, id: &str, end: End) {
            let end = match end {
                End::Reached(_) => "reached".to_string(),
                End::Underway => "underway".into(),
                End::AlreadyThere(_) => "already there".into(),
                End::Refused { error, state } => match state {
                    Some(state) => format!("refused {:?} in {}", error.kind(), state.raw),
                    None => format!("refused {:?}", error.kind()),
                },
                End::NotFound { .. } => "not found".into(),
                End::Wait(finish) => format!("wait {finish:?}"),
                End::Unreachable(error) => format!("unreachable {error}"),
            };
            self.0.borrow_mut().push(format!("{id}: {end}"));
        }
    }

    fn refusal(class: ErrorClass) -> CallError {
        CallError {
            action: "StartInstances",
            failure: Failure::Api(ApiError {
                code: format!("{class:?}"),
                message: "refused".into(),
                request_id: None,
                http_status: 400,
                class,
            }),
            attempts: 1,
            elapsed: Duration::ZERO,
        }
    }

    fn unanswered() -> CallError {
        CallError {
            action: "StartInstances",
            failure: Failure::Ambiguous("connection closed".into()),
            attempts: 1,
            elapsed: Duration::ZERO,
        }
    }

    fn accepted() -> Result<ActReply, CallError> {
        Ok(ActReply {
            job_id: None,
            refused: HashMap::new(),
        })
    }

    /// An accepted call that refused `refused` one by one.
    fn accepted_but(refused: &[(&str, ErrorClass)]) -> Result<ActReply, CallError> {
        Ok(ActReply {
            job_id: None,
            refused: (refused.iter())
                .map(|(id, class)| (id.to_string(), refusal(*class)))
                .collect(),
        })
    }

    fn state(id: &str, phase: Phase) -> InstanceState {
        let raw = match phase {
            Phase::Running => "RUNNING",
            Phase::Starting => "STARTING",
            Phase::Stopping => "STOPPING",
            Phase::Transition => "REBOOTING",
            Phase::Stopped => "STOPPED",
            Phase::Failed => "FAILED",
            Phase::Unknown => "WEIRD",
        };
        InstanceState::new(id, raw, phase)
    }

    fn ids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| id.to_string()).collect()
    }

    /// Runs the protocol without waiting; returns the events.
    async fn run_no_wait(script: &Script, targets: &[&str]) -> Vec<String> {
        run_op(script, &Operation::START, targets, false).await
    }

    /// Runs `operation`, waiting with `wait`; returns the events.
    async fn run_op(
        script: &Script,
        operation: &Operation,
        targets: &[&str],
        wait: bool,
    ) -> Vec<String> {
        let log = Log::default();
        let plan = Plan {
            wait,
            poll: PollConfig::Budget(wait::PollBudget {
                requests_per_second: 10.0,
            }),
            reach: None,
            deadline: Instant::now() + Duration::from_secs(60),
        };
        run(script, operation, &ids(targets), &plan, &log).await;
        log.0.into_inner()
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_batch_is_described_and_sent_again_for_the_machines_still_stopped() {
        let script = Script::new(
            vec![Err(refusal(ErrorClass::WrongState)), accepted()],
            vec![vec![
                state("a", Phase::Running),
                state("b", Phase::Starting),
                state("c", Phase::Stopped),
            ]],
        );
        let events = run_no_wait(&script, &["a", "b", "c"]).await;
        assert_eq!(
            *script.started.borrow(),
            [ids(&["a", "b", "c"]), ids(&["c"])]
        );
        assert_eq!(*script.described.borrow(), [ids(&["a", "b", "c"])]);
        assert_eq!(
            events,
            [
                "a: already there",
                "seen b STARTING",
                "accepted c",
                "b: underway",
                "c: underway"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_with_every_machine_still_stopped_stands_without_a_resend() {
        let script = Script::new(
            vec![Err(refusal(ErrorClass::WrongState))],
            vec![vec![state("a", Phase::Stopped), state("b", Phase::Stopped)]],
        );
        let events = run_no_wait(&script, &["a", "b"]).await;
        assert_eq!(script.started.borrow().len(), 1);
        assert_eq!(
            events,
            ["a: refused Api in STOPPED", "b: refused Api in STOPPED"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_refusal_stands() {
        let script = Script::new(
            vec![
                Err(refusal(ErrorClass::WrongState)),
                Err(refusal(ErrorClass::WrongState)),
            ],
            vec![
                vec![state("a", Phase::Running), state("b", Phase::Stopped)],
                vec![state("b", Phase::Stopped)],
            ],
        );
        let events = run_no_wait(&script, &["a", "b"]).await;
        assert_eq!(*script.started.borrow(), [ids(&["a", "b"]), ids(&["b"])]);
        assert_eq!(events, ["a: already there", "b: refused Api in STOPPED"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_not_about_the_machines_stands_without_a_describe() {
        let script = Script::new(vec![Err(refusal(ErrorClass::Auth))], vec![]);
        let events = run_no_wait(&script, &["a"]).await;
        assert!(script.described.borrow().is_empty());
        assert_eq!(events, ["a: refused Auth"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_machine_the_cloud_does_not_list_is_not_found() {
        let script = Script::new(
            vec![Err(refusal(ErrorClass::NotFound)), accepted()],
            vec![vec![state("b", Phase::Stopped)]],
        );
        let events = run_no_wait(&script, &["a", "b"]).await;
        assert_eq!(events, ["a: not found", "accepted b", "b: underway"]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unanswered_start_is_described_and_only_the_stopped_machines_are_sent_again() {
        // Even when every machine is still stopped: no answer is not a refusal.
        let script = Script::new(
            vec![Err(unanswered()), accepted()],
            vec![vec![
                state("a", Phase::Running),
                state("b", Phase::Starting),
                state("c", Phase::Stopped),
            ]],
        );
        let events = run_no_wait(&script, &["a", "b", "c"]).await;
        assert_eq!(
            *script.started.borrow(),
            [ids(&["a", "b", "c"]), ids(&["c"])]
        );
        // RUNNING after an unanswered start may be this run's doing: waited for, not
        // `already_running`.
        assert_eq!(
            events,
            [
                "seen a RUNNING",
                "seen b STARTING",
                "accepted c",
                "a: underway",
                "b: underway",
                "c: underway"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unanswered_start_of_machines_all_stopped_is_sent_again_once() {
        let script = Script::new(
            vec![Err(unanswered()), Err(unanswered())],
            vec![
                vec![state("a", Phase::Stopped)],
                vec![state("a", Phase::Stopped)],
            ],
        );
        let events = run_no_wait(&script, &["a"]).await;
        assert_eq!(script.started.borrow().len(), 2);
        assert_eq!(events, ["a: refused Transport in STOPPED"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_that_cannot_be_described_stands() {
        struct Blind(Script);
        impl Describe for Blind {
            fn batch_size(&self) -> usize {
                1
            }
            async fn describe(&self, _: &[String]) -> Result<Vec<InstanceState>, CallError> {
                Err(refusal(ErrorClass::Transient))
            }
        }
        impl Actor for Blind {
            fn action_batch(&self) -> usize {
                10
            }
            async fn act(&self, action: Action, ids: &[String]) -> Result<ActReply, CallError> {
                self.0.act(action, ids).await
            }
            fn fork_rng(&self) -> fastrand::Rng {
                self.0.fork_rng()
            }
        }
        let blind = Blind(Script::new(
            vec![Err(refusal(ErrorClass::WrongState))],
            vec![],
        ));
        let log = Log::default();
        let plan = Plan {
            wait: true,
            poll: PollConfig::Budget(wait::PollBudget::half_of(&[])),
            reach: None,
            deadline: Instant::now() + Duration::from_secs(60),
        };
        run(&blind, &Operation::START, &ids(&["a"]), &plan, &log).await;
        assert_eq!(log.0.into_inner(), ["a: refused Api"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lock_refusal_stands_as_a_timeout() {
        // The client waits out an operation lock until the deadline; what reaches the protocol
        // then is final, never described nor sent again.
        let script = Script::new(vec![Err(refusal(ErrorClass::Busy))], vec![]);
        let events = run_no_wait(&script, &["a"]).await;
        assert_eq!(events, ["a: refused Timeout"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_machine_locked_inside_an_accepted_batch_is_sent_again_after_the_lock_pause() {
        // Volcengine's OperationDetails can report one machine locked while the others start:
        // that machine is waited out like a lock on the whole call, never failed at once.
        let script = Script::new(
            vec![
                accepted_but(&[("b", ErrorClass::Busy)]),
                accepted_but(&[("b", ErrorClass::Busy)]),
                accepted(),
            ],
            vec![],
        );
        let begun = Instant::now();
        let events = run_no_wait(&script, &["a", "b"]).await;
        assert_eq!(
            *script.started.borrow(),
            [ids(&["a", "b"]), ids(&["b"]), ids(&["b"])]
        );
        // Two pauses of the lock's delay, not the backoff nor none.
        assert_eq!(begun.elapsed(), Duration::from_secs(10));
        assert_eq!(
            events,
            ["accepted a", "accepted b", "a: underway", "b: underway"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_machine_locked_past_the_deadline_times_out_counting_its_attempts() {
        let mut script = Script::new(
            vec![
                accepted_but(&[("b", ErrorClass::Busy)]),
                accepted_but(&[("b", ErrorClass::Busy)]),
                accepted_but(&[("b", ErrorClass::Busy)]),
            ],
            vec![],
        );
        script.lock_wait = MachineWait {
            delay: Duration::from_secs(5),
            deadline: Instant::now() + Duration::from_secs(12),
            capacity: false,
        };
        let log = Log::default();
        let plan = Plan {
            wait: false,
            poll: PollConfig::Budget(wait::PollBudget::half_of(&[])),
            reach: None,
            deadline: Instant::now() + Duration::from_secs(12),
        };
        run(&script, &Operation::START, &ids(&["a", "b"]), &plan, &log).await;
        assert_eq!(
            log.0.into_inner(),
            ["accepted a", "b: refused Timeout", "a: underway"]
        );
        assert_eq!(script.started.borrow().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_locked_machine_refused_for_another_reason_later_is_explained_as_usual() {
        let script = Script::new(
            vec![
                accepted_but(&[("b", ErrorClass::Busy)]),
                accepted_but(&[("b", ErrorClass::WrongState)]),
            ],
            vec![vec![state("b", Phase::Running)]],
        );
        let events = run_no_wait(&script, &["a", "b"]).await;
        assert_eq!(events, ["accepted a", "b: already there", "a: underway"]);
    }

    #[tokio::test(start_paused = true)]
    async fn accepted_machines_are_waited_for_until_running() {
        let script = Script::new(
            vec![accepted()],
            vec![
                vec![state("a", Phase::Starting), state("b", Phase::Starting)],
                vec![state("a", Phase::Running), state("b", Phase::Failed)],
            ],
        );
        let log = Log::default();
        let plan = Plan {
            wait: true,
            poll: PollConfig::Budget(wait::PollBudget::half_of(&[])),
            reach: None,
            deadline: Instant::now() + Duration::from_secs(60),
        };
        run(&script, &Operation::START, &ids(&["a", "b"]), &plan, &log).await;
        let events = log.0.into_inner();
        assert_eq!(
            events[..3],
            ["accepted a,b", "seen a STARTING", "seen b STARTING"]
        );
        assert!(events.contains(&"a: reached".to_string()), "{events:?}");
        assert!(
            events.iter().any(|e| e.starts_with("b: wait Failed")),
            "{events:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_explains_its_refusal_the_same_way_for_stopped_and_stopping_machines() {
        let script = Script::new(
            vec![Err(refusal(ErrorClass::WrongState)), accepted()],
            vec![vec![
                state("a", Phase::Stopped),
                state("b", Phase::Stopping),
                state("c", Phase::Running),
            ]],
        );
        let events = run_op(&script, &Operation::STOP, &["a", "b", "c"], false).await;
        assert_eq!(
            *script.started.borrow(),
            [ids(&["a", "b", "c"]), ids(&["c"])]
        );
        assert_eq!(
            events,
            [
                "a: already there",
                "seen b STOPPING",
                "accepted c",
                "b: underway",
                "c: underway"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_machine_caught_starting_is_waited_out_and_then_stopped() {
        // The stop is refused while the machine boots; it settles RUNNING and is stopped then.
        let script = Script::new(
            vec![Err(refusal(ErrorClass::WrongState)), accepted()],
            vec![
                vec![state("a", Phase::Starting)],
                vec![state("a", Phase::Starting)],
                vec![state("a", Phase::Running)],
                vec![state("a", Phase::Stopping)],
                vec![state("a", Phase::Stopped)],
            ],
        );
        let events = run_op(&script, &Operation::STOP, &["a"], true).await;
        assert_eq!(*script.started.borrow(), [ids(&["a"]), ids(&["a"])]);
        // The settling poll tells STARTING again; the Tracker shows a change only once.
        assert_eq!(
            events,
            [
                "seen a STARTING",
                "seen a STARTING",
                "seen a RUNNING",
                "accepted a",
                "seen a STOPPING",
                "seen a STOPPED",
                "a: reached"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_machine_caught_in_a_transition_that_ends_at_the_goal_has_reached_it() {
        let script = Script::new(
            vec![Err(refusal(ErrorClass::WrongState))],
            vec![
                vec![state("a", Phase::Transition)],
                vec![state("a", Phase::Stopped)],
            ],
        );
        let events = run_op(&script, &Operation::STOP, &["a"], false).await;
        assert_eq!(script.started.borrow().len(), 1);
        assert_eq!(events, ["seen a REBOOTING", "seen a STOPPED", "a: reached"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_that_falls_back_to_running_has_failed() {
        let script = Script::new(
            vec![accepted()],
            vec![
                vec![state("a", Phase::Stopping)],
                vec![state("a", Phase::Running)],
            ],
        );
        let events = run_op(&script, &Operation::STOP, &["a"], true).await;
        assert_eq!(events[..2], ["accepted a", "seen a STOPPING"]);
        assert!(
            events[3].starts_with("a: wait Failed") && events[3].contains("after stopping"),
            "{events:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn wait_only_polls_and_never_sends_a_start_or_stop() {
        let script = Script::new(
            vec![],
            vec![
                vec![state("a", Phase::Stopping), state("b", Phase::Running)],
                vec![state("a", Phase::Stopped), state("b", Phase::Running)],
                vec![state("b", Phase::Running)],
            ],
        );
        let operation = Operation::wait_for(Phase::Stopped);
        let log = Log::default();
        let plan = Plan {
            wait: true,
            poll: PollConfig::Budget(wait::PollBudget {
                requests_per_second: 10.0,
            }),
            reach: None,
            // Polls at 1 s, 2 s and, trimmed to the deadline, 2.5 s.
            deadline: Instant::now() + Duration::from_millis(2500),
        };
        run(&script, &operation, &ids(&["a", "b"]), &plan, &log).await;
        let events = log.0.into_inner();
        assert!(script.started.borrow().is_empty());
        assert!(events.contains(&"a: reached".to_string()), "{events:?}");
        // A running machine is not a failure to a wait: it times out unless someone stops it.
        assert!(
            events.iter().any(|e| e.starts_with("b: wait Timeout")),
            "{events:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_refused_for_one_machines_capacity_is_halved_until_the_others_go_ahead() {
        let script = Script::new(
            vec![
                Err(refusal(ErrorClass::Capacity)),
                accepted(),
                Err(refusal(ErrorClass::Capacity)),
                accepted(),
                Err(refusal(ErrorClass::Capacity)),
            ],
            vec![],
        );
        let events = run_no_wait(&script, &["a", "b", "c", "d"]).await;
        assert_eq!(
            *script.started.borrow(),
            [
                ids(&["a", "b", "c", "d"]),
                ids(&["a", "b"]),
                ids(&["c", "d"]),
                ids(&["c"]),
                ids(&["d"])
            ]
        );
        assert!(script.described.borrow().is_empty());
        assert_eq!(
            events,
            [
                "accepted a,b",
                "accepted c",
                "d: refused Api",
                "a: underway",
                "b: underway",
                "c: underway"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn one_machines_capacity_refusal_is_waited_out_only_with_retry_capacity() {
        for (capacity, started, expected) in [
            (
                false,
                1,
                vec!["accepted a", "b: refused Api", "a: underway"],
            ),
            (
                true,
                2,
                vec!["accepted a", "accepted b", "a: underway", "b: underway"],
            ),
        ] {
            let mut script = Script::new(
                [accepted_but(&[("b", ErrorClass::Capacity)]), accepted()]
                    .into_iter()
                    .take(started)
                    .collect(),
                vec![],
            );
            script.lock_wait.capacity = capacity;
            let events = run_no_wait(&script, &["a", "b"]).await;
            assert_eq!(events, expected, "capacity={capacity}");
        }
    }

    /// A big fleet at a reduced scale (issue 20 item 4): starts paced at the cloud's 10 calls a
    /// second, each machine RUNNING a second after its start was accepted (or never, unless
    /// `boots`); records when each start and describe was made and what it asked.
    struct Fleet {
        boots: bool,
        started_at: RefCell<HashMap<String, Instant>>,
        next_start: RefCell<Option<Instant>>,
        starts: RefCell<Vec<Instant>>,
        describes: RefCell<Vec<(Instant, Vec<String>)>>,
    }

    impl Fleet {
        const START_SPACING: Duration = Duration::from_millis(100);
        const BOOT: Duration = Duration::from_secs(1);

        fn new(boots: bool) -> Self {
            Self {
                boots,
                started_at: RefCell::default(),
                next_start: RefCell::default(),
                starts: RefCell::default(),
                describes: RefCell::default(),
            }
        }
    }

    impl Describe for Fleet {
        fn batch_size(&self) -> usize {
            100
        }

        async fn describe(&self, ids: &[String]) -> Result<Vec<InstanceState>, CallError> {
            let now = Instant::now();
            self.describes.borrow_mut().push((now, ids.to_vec()));
            let started = self.started_at.borrow();
            let phase = |id: &String| match started.get(id) {
                Some(at) if self.boots && now >= *at + Self::BOOT => Phase::Running,
                Some(_) => Phase::Starting,
                None => Phase::Stopped,
            };
            Ok(ids.iter().map(|id| state(id, phase(id))).collect())
        }
    }

    impl Actor for Fleet {
        fn action_batch(&self) -> usize {
            100
        }

        async fn act(&self, _: Action, ids: &[String]) -> Result<ActReply, CallError> {
            let slot = {
                let mut next = self.next_start.borrow_mut();
                let slot = next.map_or(Instant::now(), |n| n.max(Instant::now()));
                *next = Some(slot + Self::START_SPACING);
                slot
            };
            tokio::time::sleep_until(slot).await;
            self.starts.borrow_mut().push(Instant::now());
            for id in ids {
                (self.started_at.borrow_mut()).insert(id.clone(), Instant::now());
            }
            Ok(ActReply {
                job_id: None,
                refused: HashMap::new(),
            })
        }

        fn fork_rng(&self) -> fastrand::Rng {
            fastrand::Rng::with_seed(7)
        }
    }

    /// Starts `machines` machines of `fleet` and waits until `timeout`, polling at half of 10
    /// requests a second; returns the events and the deadline.
    async fn run_fleet(
        fleet: &Fleet,
        machines: usize,
        timeout: Duration,
    ) -> (Vec<String>, Instant) {
        let targets: Vec<String> = (0..machines).map(|n| format!("m-{n:05}")).collect();
        let log = Log::default();
        let deadline = Instant::now() + timeout;
        let budget = wait::PollBudget::half_of(&[crate::provider::RateLimit {
            requests: 10,
            per: Duration::from_secs(1),
        }]);
        let plan = Plan {
            wait: true,
            poll: PollConfig::Budget(budget),
            reach: None,
            deadline,
        };
        run(fleet, &Operation::START, &targets, &plan, &log).await;
        (log.0.into_inner(), deadline)
    }

    #[tokio::test(start_paused = true)]
    async fn a_big_fleet_is_polled_while_it_is_still_being_started_and_paced_to_the_end() {
        // 2,000 machines: 20 starts take 2 s, a round of 20 describes 4 s at the budget.
        let fleet = Fleet::new(true);
        let (events, deadline) = run_fleet(&fleet, 2_000, Duration::from_secs(9)).await;
        let ended = Instant::now();
        let reached = events.iter().filter(|e| e.ends_with(": reached")).count();
        assert_eq!(
            reached,
            2_000,
            "{:?}",
            events.iter().rev().take(3).collect::<Vec<_>>()
        );
        let starts = fleet.starts.borrow();
        let describes = fleet.describes.borrow();
        // The first round begins while the last batches are still being started.
        assert!(describes[0].0 < *starts.last().unwrap());
        // No two describes closer than the budget's spacing, none past the deadline.
        let spacing = Duration::from_secs_f64(1.0 / 4.9);
        for pair in describes.windows(2) {
            assert!(
                pair[1].0 - pair[0].0 >= spacing,
                "{:?}",
                pair[1].0 - pair[0].0
            );
        }
        assert!(describes.last().unwrap().0 <= deadline + spacing);
        assert!(ended <= deadline + Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_counts_the_polls_of_its_own_machine_and_no_burst_follows_the_deadline() {
        // Never RUNNING, and too many for every machine to be polled in each round.
        let fleet = Fleet::new(false);
        let (events, deadline) = run_fleet(&fleet, 2_000, Duration::from_secs(5)).await;
        let describes = fleet.describes.borrow();
        let asked = |id: &str| {
            (describes.iter())
                .filter(|(_, ids)| ids.iter().any(|i| i == id))
                .count()
        };
        let mut timeouts = 0;
        for event in &events {
            let Some((id, end)) = event.split_once(": wait Timeout { polls: ") else {
                continue;
            };
            timeouts += 1;
            let polls: usize = end.split(',').next().unwrap().parse().unwrap();
            assert_eq!(polls, asked(id), "{event}");
        }
        assert_eq!(timeouts, 2_000);
        // Some machines were never polled before the deadline, and are not said to have been.
        assert!(events.iter().any(|e| e.contains("Timeout { polls: 0,")));
        let spacing = Duration::from_secs_f64(1.0 / 4.9);
        for pair in describes.windows(2) {
            assert!(pair[1].0 - pair[0].0 >= spacing);
        }
        assert!(describes.last().unwrap().0 <= deadline + spacing);
        assert!(Instant::now() <= deadline + Duration::from_secs(1));
    }
}
