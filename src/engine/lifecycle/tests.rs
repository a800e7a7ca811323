//! Unit tests of `lifecycle`, on paused time: one module's protocol (starts, stops, refusals
//! explained, locks waited out, batches halved, big fleets paced), kept whole because its cases
//! share one scripted cloud.

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
    fn new(starts: Vec<Result<ActReply, CallError>>, describes: Vec<Vec<InstanceState>>) -> Self {
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
async fn run_fleet(fleet: &Fleet, machines: usize, timeout: Duration) -> (Vec<String>, Instant) {
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
