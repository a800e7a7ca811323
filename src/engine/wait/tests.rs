//! Unit tests of `wait`.

use std::cell::RefCell;
use std::collections::VecDeque;

use super::*;
use crate::provider::{ApiError, ErrorClass};

/// One describe answer: `(id, raw state, phase)` per machine listed.
type Round = Vec<(&'static str, &'static str, Phase)>;

/// Answers each describe with the next scripted round and records when it was asked.
struct Script {
    rounds: RefCell<VecDeque<Round>>,
    asked_at: RefCell<Vec<Instant>>,
    /// Describes that fail, with this class, before the rounds are answered.
    failures: RefCell<VecDeque<ErrorClass>>,
    /// How long each describe is held before it leaves, in turn (a client's rate limit).
    holds: Vec<Duration>,
    /// When each describe left, after its hold.
    sent_at: RefCell<Vec<Instant>>,
}

impl Script {
    fn new(rounds: Vec<Round>) -> Self {
        Self {
            rounds: RefCell::new(rounds.into()),
            asked_at: RefCell::new(Vec::new()),
            failures: RefCell::new(VecDeque::new()),
            holds: Vec::new(),
            sent_at: RefCell::new(Vec::new()),
        }
    }

    fn failing_first(failures: &[ErrorClass], rounds: Vec<Round>) -> Self {
        let script = Self::new(rounds);
        script.failures.borrow_mut().extend(failures);
        script
    }
}

fn call_error(class: ErrorClass) -> CallError {
    CallError {
        action: "DescribeInstances",
        failure: crate::engine::Failure::Api(ApiError {
            code: format!("{class:?}"),
            message: "scripted".into(),
            request_id: None,
            http_status: 429,
            class,
        }),
        attempts: 5,
        elapsed: Duration::from_secs(3),
    }
}

impl Describe for Script {
    fn batch_size(&self) -> usize {
        100
    }

    fn last_sent(&self) -> Option<Instant> {
        self.sent_at.borrow().last().copied()
    }

    async fn describe(&self, _ids: &[String]) -> Result<Vec<InstanceState>, CallError> {
        let asked = self.asked_at.borrow().len();
        self.asked_at.borrow_mut().push(Instant::now());
        if !self.holds.is_empty() {
            tokio::time::sleep(self.holds[asked % self.holds.len()]).await;
            self.sent_at.borrow_mut().push(Instant::now());
        }
        if let Some(class) = self.failures.borrow_mut().pop_front() {
            return Err(call_error(class));
        }
        let mut rounds = self.rounds.borrow_mut();
        // The last round repeats forever.
        let round = if rounds.len() > 1 {
            rounds.pop_front().unwrap()
        } else {
            rounds.front().cloned().unwrap_or_default()
        };
        Ok(round
            .into_iter()
            .map(|(id, raw, phase)| InstanceState::new(id, raw, phase))
            .collect())
    }
}

const CONFIG: Backoff = Backoff {
    min_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(4),
};

async fn wait(script: &Script, ids: &[&str], max_wait: Duration) -> Vec<(String, Finish)> {
    wait_with(script, ids, PollConfig::Backoff(CONFIG), max_wait).await
}

async fn wait_with(
    script: &Script,
    ids: &[&str],
    config: PollConfig,
    max_wait: Duration,
) -> Vec<(String, Finish)> {
    let mut finished = Vec::new();
    let mut on_event = |event| {
        if let PollEvent::Finished(id, finish) = event {
            finished.push((id, finish));
        }
    };
    let ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    wait_until(
        script,
        ids,
        Acceptor::after(Action::Start),
        config,
        Instant::now() + max_wait,
        &mut fastrand::Rng::with_seed(7),
        &mut on_event,
    )
    .await;
    finished
}

fn starting() -> Round {
    vec![("a", "STARTING", Phase::Starting)]
}

#[tokio::test(start_paused = true)]
async fn by_default_a_small_fleet_is_polled_once_a_second() {
    let mut rounds = vec![starting(); 3];
    rounds.push(vec![("a", "RUNNING", Phase::Running)]);
    let script = Script::new(rounds);
    let budget = PollConfig::Budget(PollBudget {
        requests_per_second: 5.0,
    });
    let began = Instant::now();
    let finished = wait_with(&script, &["a"], budget, Duration::from_secs(600)).await;
    assert!(matches!(finished[..], [(_, Finish::Done(_))]));
    let asked: Vec<Duration> = script
        .asked_at
        .borrow()
        .iter()
        .map(|t| *t - began)
        .collect();
    let seconds: Vec<Duration> = (1..=4).map(Duration::from_secs).collect();
    assert_eq!(asked, seconds);
}

/// Issue 20 item 4: a describe the client held back (its rate limit, shared with the starts
/// of a big fleet) left later than it was asked for; the next is paced from when it left, so
/// no two leave closer than the budget's spacing.
#[tokio::test(start_paused = true)]
async fn describes_are_paced_from_when_they_left_not_from_when_they_were_asked_for() {
    let mut script = Script::new(vec![Vec::new()]);
    script.holds = vec![Duration::from_millis(150), Duration::ZERO];
    let ids: Vec<String> = (0..1000).map(|n| format!("m{n}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let budget = PollBudget {
        requests_per_second: 5.0,
    };
    let config = PollConfig::Budget(budget);
    wait_with(&script, &ids, config, Duration::from_secs(10)).await;
    let sent = script.sent_at.borrow();
    assert!(sent.len() >= 30, "{} describes", sent.len());
    for pair in sent.windows(2) {
        assert!(
            pair[1] - pair[0] >= budget.spacing(),
            "two describes left {:?} apart",
            pair[1] - pair[0]
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_large_fleet_is_polled_within_half_the_cloud_s_limit() {
    // 1,000 machines, 100 per describe, Tencent's 10/s halved: 10 describes a round, paced
    // 200 ms apart, a round every 2 s; never more than 5 in any second.
    let script = Script::new(vec![Vec::new()]);
    let ids: Vec<String> = (0..1000).map(|n| format!("m{n}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let budget = PollBudget::half_of(&[RateLimit {
        requests: 10,
        per: Duration::from_secs(1),
    }]);
    let began = Instant::now();
    wait_with(
        &script,
        &ids,
        PollConfig::Budget(budget),
        Duration::from_secs(600),
    )
    .await;
    let asked: Vec<Duration> = script
        .asked_at
        .borrow()
        .iter()
        .map(|t| *t - began)
        .collect();
    // Absent three rounds running: not found after the third.
    assert_eq!(asked.len(), 30);
    let round = budget.interval(10);
    assert!(round > Duration::from_secs(2) && round < Duration::from_millis(2100));
    // Tokio's paused clock counts whole milliseconds.
    let ms = Duration::from_millis(1);
    // The first round comes a second after the wait begins; its describes are paced.
    assert!(asked[0].abs_diff(PollBudget::ROUND) <= ms, "{asked:?}");
    for pair in asked.windows(2) {
        assert!(pair[1] - pair[0] + ms >= budget.spacing(), "{asked:?}");
    }
    let second_round = asked[10] - asked[0];
    assert!(second_round + ms >= round && second_round < round + budget.spacing());
    for (i, t) in asked.iter().enumerate() {
        let in_a_second = asked[i..]
            .iter()
            .take_while(|u| **u - *t < Duration::from_secs(1));
        assert!(in_a_second.count() <= 5, "at {t:?}");
    }
}

#[test]
fn the_budget_is_half_the_tightest_limit() {
    let qingcloud = [
        RateLimit {
            requests: 2000,
            per: Duration::from_secs(3600),
        },
        RateLimit {
            requests: 10,
            per: Duration::from_secs(1),
        },
    ];
    let budget = PollBudget::half_of(&qingcloud);
    assert!((budget.requests_per_second - 0.98 * 1000.0 / 3600.0).abs() < 1e-9);
    let per_cluster = budget.interval(1).as_secs_f64();
    assert!((3.6..3.7).contains(&per_cluster), "{per_cluster}");
    let tencent = PollBudget::half_of(&qingcloud[1..]);
    assert_eq!(tencent.interval(4), PollBudget::ROUND);
    assert!(tencent.interval(5) > PollBudget::ROUND);
    let ten = tencent.interval(10).as_secs_f64();
    assert!((2.0..2.1).contains(&ten), "{ten}");
}

#[tokio::test(start_paused = true)]
async fn five_polls_then_success() {
    let mut rounds = vec![starting(); 4];
    rounds.push(vec![("a", "RUNNING", Phase::Running)]);
    let script = Script::new(rounds);
    let finished = wait(&script, &["a"], Duration::from_secs(600)).await;
    assert_eq!(script.asked_at.borrow().len(), 5);
    assert!(matches!(finished[..], [(_, Finish::Done(_))]));
}

#[tokio::test(start_paused = true)]
async fn first_poll_comes_one_min_delay_after_the_start() {
    let script = Script::new(vec![vec![("a", "RUNNING", Phase::Running)]]);
    let began = Instant::now();
    wait(&script, &["a"], Duration::from_secs(600)).await;
    assert_eq!(script.asked_at.borrow()[0] - began, CONFIG.min_delay);
}

#[tokio::test(start_paused = true)]
async fn exceed_max_wait_time() {
    let script = Script::new(vec![starting()]);
    let began = Instant::now();
    let finished = wait(&script, &["a"], Duration::from_secs(30)).await;
    let asked = script.asked_at.borrow();
    // The last sleep is trimmed so the final poll lands exactly on the deadline.
    assert_eq!(*asked.last().unwrap() - began, Duration::from_secs(30));
    let gaps: Vec<Duration> = asked.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|gap| *gap <= CONFIG.max_delay), "{gaps:?}");
    match &finished[..] {
        [(_, Finish::Timeout { polls, .. })] => assert_eq!(*polls as usize, asked.len()),
        other => panic!("{other:?}"),
    }
}

/// The final poll, trimmed to land on the deadline, is sent and its answer counts: polls every
/// 2 s (at 2 and 4 s), a deadline at 5 s, and RUNNING only in the third answer.
#[tokio::test(start_paused = true)]
async fn the_final_poll_on_the_deadline_is_sent_and_counts() {
    let script = Script::new(vec![
        starting(),
        starting(),
        vec![("a", "RUNNING", Phase::Running)],
    ]);
    let every_two = PollConfig::Backoff(Backoff {
        min_delay: Duration::from_secs(2),
        max_delay: Duration::from_secs(2),
    });
    let began = Instant::now();
    let finished = wait_with(&script, &["a"], every_two, Duration::from_secs(5)).await;
    let asked: Vec<Duration> = (script.asked_at.borrow().iter())
        .map(|t| *t - began)
        .collect();
    let seconds: Vec<Duration> = [2, 4, 5].map(Duration::from_secs).to_vec();
    assert_eq!(asked, seconds);
    assert!(
        matches!(finished[..], [(_, Finish::Done(_))]),
        "{finished:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn failure_state_ends_the_wait_at_once() {
    let script = Script::new(vec![
        starting(),
        vec![("a", "LAUNCH_FAILED", Phase::Failed)],
    ]);
    let finished = wait(&script, &["a"], Duration::from_secs(600)).await;
    assert_eq!(script.asked_at.borrow().len(), 2);
    assert!(matches!(finished[..], [(_, Finish::Failed(_))]));
}

#[tokio::test(start_paused = true)]
async fn falling_back_to_stopped_after_starting_is_a_failure() {
    let script = Script::new(vec![
        vec![("a", "STOPPED", Phase::Stopped)],
        starting(),
        vec![("a", "STOPPED", Phase::Stopped)],
    ]);
    let finished = wait(&script, &["a"], Duration::from_secs(600)).await;
    assert_eq!(script.asked_at.borrow().len(), 3);
    match &finished[..] {
        [(_, Finish::Failed(state))] => {
            assert_eq!(
                state.detail.as_deref(),
                Some("fell back to STOPPED after starting")
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn unknown_states_keep_polling() {
    let script = Script::new(vec![
        vec![("a", "SOMETHING_NEW", Phase::Unknown)],
        vec![("a", "RUNNING", Phase::Running)],
    ]);
    let finished = wait(&script, &["a"], Duration::from_secs(600)).await;
    assert!(matches!(finished[..], [(_, Finish::Done(_))]));
}

#[tokio::test(start_paused = true)]
async fn a_machine_left_out_three_times_is_not_found() {
    let b_starting = vec![("b", "STARTING", Phase::Starting)];
    let script = Script::new(vec![
        b_starting.clone(),
        b_starting.clone(),
        b_starting,
        vec![("b", "RUNNING", Phase::Running)],
    ]);
    let finished = wait(&script, &["a", "b"], Duration::from_secs(600)).await;
    assert!(matches!(&finished[0], (id, Finish::NotFound) if id == "a"));
    assert!(matches!(&finished[1], (id, Finish::Done(_)) if id == "b"));
    assert_eq!(script.asked_at.borrow().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn each_machine_finishes_once_on_its_own_schedule() {
    let script = Script::new(vec![
        vec![
            ("a", "STARTING", Phase::Starting),
            ("b", "STARTING", Phase::Starting),
        ],
        vec![
            ("a", "RUNNING", Phase::Running),
            ("b", "STARTING", Phase::Starting),
        ],
        vec![("b", "RUNNING", Phase::Running)],
    ]);
    let finished = wait(&script, &["a", "b"], Duration::from_secs(600)).await;
    let order: Vec<&str> = finished.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(order, ["a", "b"]);
}

#[test]
fn delays_grow_within_bounds() {
    let mut rng = fastrand::Rng::with_seed(7);
    for poll in 0..40 {
        let delay = CONFIG.delay(poll, &mut rng);
        assert!(
            delay >= CONFIG.min_delay && delay <= CONFIG.max_delay,
            "{poll}: {delay:?}"
        );
    }
    assert_eq!(CONFIG.delay(0, &mut rng), CONFIG.min_delay);
    // From the third poll on the ceiling is max_delay, so delays sit in its upper half.
    assert!(CONFIG.delay(10, &mut rng) >= CONFIG.max_delay / 2);
}

#[tokio::test(start_paused = true)]
async fn throttled_describes_slow_the_wait_without_ending_it() {
    let failures = [
        ErrorClass::Throttled,
        ErrorClass::Transient,
        ErrorClass::Throttled,
    ];
    let script = Script::failing_first(&failures, vec![vec![("a", "RUNNING", Phase::Running)]]);
    let finished = wait(&script, &["a"], Duration::from_secs(600)).await;
    let asked = script.asked_at.borrow();
    assert_eq!(asked.len(), 4);
    assert!(matches!(finished[..], [(_, Finish::Done(_))]));
    // Each failed round lengthens the pause before the next: at least 1 s, 2 s, 4 s.
    let gaps: Vec<Duration> = asked.windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, floor) in gaps.iter().zip([1, 2, 4]) {
        assert!(*gap >= Duration::from_secs(floor), "{gaps:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn describes_failing_until_the_deadline_end_with_their_error() {
    let script = Script::failing_first(&[ErrorClass::Throttled; 100], vec![starting()]);
    let finished = wait(&script, &["a"], Duration::from_secs(20)).await;
    match &finished[..] {
        [(_, Finish::Error(err))] => assert_eq!(err.kind(), ErrorKind::Transport),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn an_auth_failure_ends_the_wait_at_once() {
    let script = Script::failing_first(&[ErrorClass::Auth], vec![starting()]);
    let finished = wait(&script, &["a"], Duration::from_secs(600)).await;
    assert_eq!(script.asked_at.borrow().len(), 1);
    match &finished[..] {
        [(_, Finish::Error(err))] => assert_eq!(err.kind(), ErrorKind::Auth),
        other => panic!("{other:?}"),
    }
}
