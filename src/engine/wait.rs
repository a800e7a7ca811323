//! Waiting for a state: the shared poller (the smithy waiter's acceptor loop).
//!
//! The poller knows only [`Phase`] and an [`Acceptor`]: a phase it accepts ends a machine's wait
//! (RUNNING after a start, STOPPED after a stop, either while a refused machine settles),
//! `Failed` fails it, and everything else keeps polling until the deadline — except that a
//! machine seen moving and then back where an action began has failed (a start that fell back
//! to STOPPED). It asks for many machines per round, in batches as large as the cloud allows. By
//! default a round comes about once a second — a machine is seen in its state within a second — and
//! the rounds are stretched and their describes paced so that the waiter uses at most half of
//! the cloud's request limit ([`PollBudget`]); `--poll-interval`/`--poll-max` choose jittered
//! exponential backoff instead ([`Backoff`]). Failed rounds lengthen the pause either way, and the
//! last sleep is trimmed so one final poll lands on the deadline. Machines may arrive while the
//! poller runs ([`Arrivals`]: a big fleet's later start batches) and join the next round; the
//! pacing holds after the deadline too, so a round the deadline cuts short is left unsent and a
//! timeout counts only the polls its machine had.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::engine::CallError;
use crate::error::ErrorKind;
use crate::provider::{Action, InstanceState, Phase, RateLimit};

/// The first extra pause after a poll round whose describes failed (throttled, 5xx, unreadable);
/// it doubles with each further failed round, up to [`MAX_FAILED_ROUND_PAUSE`].
const FAILED_ROUND_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause after failed poll rounds.
const MAX_FAILED_ROUND_PAUSE: Duration = Duration::from_secs(30);

/// Polls before an id the cloud keeps leaving out of its answers counts as not found. One miss is
/// tolerated because some clouds list a machine a moment after accepting its start.
const MISSES_BEFORE_NOT_FOUND: u32 = 3;

/// How often the waiter polls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PollConfig {
    /// The default: rounds about once a second, stretched and paced so that the waiter's own
    /// requests stay within a budget.
    Budget(PollBudget),
    /// `--poll-interval` / `--poll-max`: jittered exponential backoff.
    Backoff(Backoff),
}

/// The request rate the waiter may use: half of the cloud's tightest limit, so the other half
/// stays free for starts, retries and other tools sharing the account.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollBudget {
    /// Describe requests per second, at most.
    pub requests_per_second: f64,
}

impl PollBudget {
    /// The shortest pause between rounds: a machine is seen RUNNING within about a second.
    pub const ROUND: Duration = Duration::from_secs(1);

    /// Half of the tightest of `limits` (QingCloud's hourly quota, everyone's per-second limit).
    pub fn half_of(limits: &[RateLimit]) -> Self {
        let tightest = (limits.iter())
            .map(|limit| f64::from(limit.requests) / limit.per.as_secs_f64())
            .fold(f64::INFINITY, f64::min);
        // 2 % under half, like the limiter's margin: a round paced at exactly the budget would
        // put one request too many into some second on a clock that rounds differently.
        let requests_per_second = if tightest.is_finite() {
            tightest / 2.0 * 0.98
        } else {
            1.0
        };
        Self {
            requests_per_second,
        }
    }

    /// Time from one round's start to the next for a round of `requests` describes: a second,
    /// or longer when that many requests a second would exceed the budget.
    pub fn interval(&self, requests: usize) -> Duration {
        let needed = Duration::from_secs_f64(requests as f64 / self.requests_per_second);
        needed.max(Self::ROUND)
    }

    /// The spacing of one round's describes, so that no burst exceeds the budget either.
    pub fn spacing(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.requests_per_second)
    }
}

/// Jittered exponential backoff between polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay, and the shortest.
    pub min_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
}

impl Backoff {
    /// The sleep before poll number `poll` (0-based): exactly `min_delay` first, then a random delay
    /// (drawn from `rng`) in the upper half of `min_delay·2^poll`, never below `min_delay` nor above
    /// `max_delay`.
    pub fn delay(&self, poll: u32, rng: &mut fastrand::Rng) -> Duration {
        if poll == 0 {
            return self.min_delay;
        }
        let ceiling = self
            .min_delay
            .saturating_mul(1 << poll.min(16))
            .min(self.max_delay)
            .max(self.min_delay);
        let floor = (ceiling / 2).max(self.min_delay);
        floor + (ceiling - floor).mul_f64(rng.f64())
    }
}

/// Something that reports machine states in batches: the engine's API client, or a test script.
pub trait Describe {
    /// Most ids one call may carry.
    fn batch_size(&self) -> usize;
    /// Requests one poll round over `machines` machines costs.
    fn round_cost(&self, machines: usize) -> usize {
        machines.div_ceil(self.batch_size().max(1))
    }
    /// Why the addresses of the running machine `id` could not be read with its last describe
    /// (a cloud that reports them through a second call, and that call failed); `None` when they
    /// were read, even if there were none.
    fn unread_addresses(&self, _id: &str) -> Option<CallError> {
        None
    }
    /// When this describer's latest request left, if it keeps count: a client whose rate limit
    /// or retry pause held a describe back sent it later than it was asked for, and the poller
    /// paces the next one from then, so that no second holds more than the budget.
    fn last_sent(&self) -> Option<Instant> {
        None
    }
    /// The states of `ids`; ids the cloud does not know are absent from the answer.
    fn describe(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<InstanceState>, CallError>>;
}

/// When a machine's wait ends, as data: the smithy waiter's acceptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acceptor {
    /// The phases that end the wait well.
    pub done: &'static [Phase],
    /// The phase that, once the machine was seen moving, means the action waited on failed
    /// (a start that fell back to STOPPED); `None` when nothing was asked of the machine.
    pub fell_back: Option<Phase>,
    /// A machine in a done phase without addresses because they could not be read
    /// ([`Describe::unread_addresses`]) is described again, as after a failed describe: its
    /// ports are to be waited for (`--wait-port`).
    pub addresses: bool,
}

impl Acceptor {
    /// Waits for the machine to reach `target` (RUNNING or STOPPED), nothing having been asked
    /// of it (`cloudstart wait`).
    pub fn reach(target: Phase) -> Self {
        Self {
            done: phase_slice(target),
            fell_back: None,
            addresses: false,
        }
    }

    /// Waits for an accepted `action` to bring the machine where it drives it.
    pub fn after(action: Action) -> Self {
        Self {
            done: phase_slice(action.target()),
            fell_back: Some(action.source()),
            addresses: false,
        }
    }

    /// Waits for a machine in a transition to settle, RUNNING or STOPPED, so that an action it
    /// refused can be sent again.
    pub const SETTLED: Self = Self {
        done: &[Phase::Running, Phase::Stopped],
        fell_back: None,
        addresses: false,
    };
}

/// `&[phase]` with a `'static` lifetime, for the settled phases.
fn phase_slice(phase: Phase) -> &'static [Phase] {
    match phase {
        Phase::Stopped => &[Phase::Stopped],
        _ => &[Phase::Running],
    }
}

/// What the poller tells its caller as it goes.
#[derive(Debug)]
pub enum PollEvent {
    /// A machine was seen in a state other than the one seen before.
    State(InstanceState),
    /// A machine's wait is over.
    Finished(String, Finish),
}

/// How one machine's wait ended.
#[derive(Debug)]
pub enum Finish {
    /// It reached a phase the [`Acceptor`] accepts.
    Done(InstanceState),
    /// It entered a failure state.
    Failed(InstanceState),
    /// The cloud stopped listing it.
    NotFound,
    /// Describing it kept failing.
    Error(CallError),
    /// The deadline passed first.
    Timeout {
        /// Describes that asked about this machine.
        polls: u32,
        /// Time since this machine's polling began.
        waited: Duration,
    },
}

/// The machines a poller waits for: the ones known when it begins and, where a start or stop is
/// still being sent, the ones its later batches hand over (so that a big fleet's first machines
/// are polled while its last are still being started, by the one poller that keeps the budget).
#[derive(Debug, Default)]
pub struct Arrivals {
    /// Known from the start.
    pub known: Vec<String>,
    /// More to come, a batch at a time, until the sender is dropped.
    pub later: Option<tokio::sync::mpsc::UnboundedReceiver<Vec<String>>>,
}

impl From<Vec<String>> for Arrivals {
    fn from(known: Vec<String>) -> Self {
        Self { known, later: None }
    }
}

struct Waiting {
    id: String,
    /// Describes that asked about it.
    polls: u32,
    /// When its wait began.
    since: Instant,
    last_raw: Option<String>,
    misses: u32,
    /// Seen moving (starting, stopping, another transition) since the wait began.
    was_moving: bool,
    /// Why the last describe of this machine failed, if it did.
    last_error: Option<CallError>,
}

/// Polls `ids` until `acceptor` accepts each one's phase, or it fails or is gone, or `deadline`
/// passes, reporting through `on_event`; `jitter` randomises [`Backoff`] delays. Machines that
/// arrive later ([`Arrivals::later`]) join the next round, and a poller with none left waits for
/// more. Returns when every id has had its [`PollEvent::Finished`].
///
/// Describes are paced at the budget to the end: a round the deadline cuts short leaves its
/// remaining machines unpolled (their `polls` say so) rather than sending them in a burst.
pub async fn wait_until(
    describer: &impl Describe,
    ids: impl Into<Arrivals>,
    acceptor: Acceptor,
    config: PollConfig,
    deadline: Instant,
    jitter: &mut fastrand::Rng,
    on_event: &mut dyn FnMut(PollEvent),
) {
    let Arrivals { known, mut later } = ids.into();
    let waiting_for = |id: String| Waiting {
        id,
        polls: 0,
        since: Instant::now(),
        last_raw: None,
        misses: 0,
        was_moving: false,
        last_error: None,
    };
    let mut waiting: Vec<Waiting> = known.into_iter().map(waiting_for).collect();
    let mut polls = 0;
    // Poll rounds in a row in which a describe failed: each one lengthens the next pause, so a
    // cloud that throttles is asked less often until it answers again.
    let mut failed_rounds = 0;
    let mut round_began = Instant::now();
    let mut last_sent: Option<Instant> = None;
    // Requests the last round cost: the next round begins once they fit the budget. (Counted
    // over the machines it asked about, not those waiting now: machines that arrived since
    // would otherwise hold back their own first round.)
    let mut last_cost = 0;
    loop {
        // Machines handed over since the last round join this one; with none to poll, the
        // poller waits for some, and their first round comes a round after they arrive.
        if let Some(arrivals) = &mut later {
            while let Ok(ids) = arrivals.try_recv() {
                waiting.extend(ids.into_iter().map(waiting_for));
            }
            if waiting.is_empty() {
                let arrived = tokio::select! {
                    ids = arrivals.recv() => ids,
                    () = tokio::time::sleep_until(deadline) => None,
                };
                match arrived {
                    Some(ids) => {
                        waiting.extend(ids.into_iter().map(waiting_for));
                        round_began = Instant::now();
                        continue;
                    }
                    None if Instant::now() >= deadline => break,
                    None => later = None,
                }
            }
        }
        if waiting.is_empty() {
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let failed_pause = match failed_rounds {
            0 => Duration::ZERO,
            n => FAILED_ROUND_PAUSE
                .saturating_mul(1 << (n - 1).min(8))
                .min(MAX_FAILED_ROUND_PAUSE),
        };
        let next = match config {
            PollConfig::Budget(budget) => {
                let interval = budget.interval(last_cost);
                round_began + interval.max(failed_pause)
            }
            PollConfig::Backoff(backoff) => now + backoff.delay(polls, jitter).max(failed_pause),
        };
        // The last sleep is trimmed to the deadline so the final poll still happens.
        tokio::time::sleep_until(next.min(deadline)).await;
        polls += 1;
        round_began = Instant::now();
        let mut round_failed = false;
        let mut finished: HashMap<String, Finish> = HashMap::new();
        let batch_size = describer.batch_size().max(1);
        let mut asked = 0;
        for (n, batch) in waiting.chunks_mut(batch_size).enumerate() {
            if let (PollConfig::Budget(budget), Some(last)) = (config, last_sent) {
                // Describes are paced, never sent in a burst — not even when a slow answer made
                // the round late, nor after the deadline — so no second holds more than the
                // budget. A round's first describe is the final poll when its round began at
                // the deadline, and may follow it by one spacing; the rest of a round the
                // deadline cuts short is not sent.
                let at = last + budget.spacing();
                if n > 0 && at > deadline {
                    break;
                }
                tokio::time::sleep_until(at).await;
            }
            if n > 0 && Instant::now() >= deadline {
                break;
            }
            last_sent = Some(Instant::now());
            asked += batch.len();
            for w in batch.iter_mut() {
                w.polls += 1;
            }
            let ids: Vec<String> = batch.iter().map(|w| w.id.clone()).collect();
            let answer = describer.describe(&ids).await;
            last_sent = last_sent.max(describer.last_sent());
            let states = match answer {
                Ok(states) => states,
                Err(err) if err.kind() == ErrorKind::Timeout => break,
                // Throttling, 5xx and unreadable answers that outlasted the call's retries slow
                // the poll (the delay keeps growing) but do not end the wait.
                Err(err) if err.kind() == ErrorKind::Transport => {
                    round_failed = true;
                    for w in batch.iter_mut() {
                        w.last_error = Some(err.clone());
                    }
                    continue;
                }
                Err(err) => {
                    for w in batch.iter() {
                        finished.insert(w.id.clone(), Finish::Error(err.clone()));
                    }
                    continue;
                }
            };
            let mut by_id: HashMap<String, InstanceState> =
                states.into_iter().map(|s| (s.id.clone(), s)).collect();
            for w in batch.iter_mut() {
                w.last_error = None;
                let Some(state) = by_id.remove(&w.id) else {
                    w.misses += 1;
                    if w.misses >= MISSES_BEFORE_NOT_FOUND {
                        finished.insert(w.id.clone(), Finish::NotFound);
                    }
                    continue;
                };
                w.misses = 0;
                if w.last_raw.as_deref() != Some(state.raw.as_str()) {
                    w.last_raw = Some(state.raw.clone());
                    on_event(PollEvent::State(state.clone()));
                }
                let unread = (acceptor.addresses && state.addresses.is_empty())
                    .then(|| describer.unread_addresses(&w.id))
                    .flatten();
                match state.phase {
                    phase if acceptor.done.contains(&phase) => match unread {
                        // Its addresses could not be read: asked again next round, like a
                        // describe that failed; only an answer without any ends the wait
                        // without them.
                        Some(err) => {
                            round_failed |= err.kind() == ErrorKind::Transport;
                            w.last_error = Some(err);
                        }
                        None => {
                            finished.insert(w.id.clone(), Finish::Done(state));
                        }
                    },
                    Phase::Failed => {
                        finished.insert(w.id.clone(), Finish::Failed(state));
                    }
                    // Seen on its way and then back where the action began: the action failed.
                    phase if w.was_moving && acceptor.fell_back == Some(phase) => {
                        let after = match phase {
                            Phase::Stopped => "starting",
                            _ => "stopping",
                        };
                        let detail = format!("fell back to {} after {after}", state.raw);
                        let state = InstanceState {
                            detail: Some(detail),
                            ..state
                        };
                        finished.insert(w.id.clone(), Finish::Failed(state));
                    }
                    phase if phase.is_moving() => w.was_moving = true,
                    _ => {}
                }
            }
        }
        failed_rounds = if round_failed { failed_rounds + 1 } else { 0 };
        last_cost = describer.round_cost(asked);
        waiting.retain(|w| match finished.remove(&w.id) {
            Some(finish) => {
                on_event(PollEvent::Finished(w.id.clone(), finish));
                false
            }
            None => true,
        });
    }
    for w in waiting {
        // A machine whose describes were still failing at the deadline ends with that error.
        let finish = match w.last_error {
            Some(err) => Finish::Error(err),
            None => Finish::Timeout {
                polls: w.polls,
                waited: w.since.elapsed(),
            },
        };
        on_event(PollEvent::Finished(w.id, finish));
    }
    // Machines handed over after the deadline (their call was accepted at its last moment) end
    // here, never polled.
    if let Some(mut arrivals) = later {
        while let Some(ids) = arrivals.recv().await {
            for id in ids {
                let finish = Finish::Timeout {
                    polls: 0,
                    waited: Duration::ZERO,
                };
                on_event(PollEvent::Finished(id, finish));
            }
        }
    }
}

#[cfg(test)]
mod tests {
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
}
