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
mod tests;
