//! When a call is sent again: the pure decision after each attempt ([`decide`], under a table
//! test), the rate limiter that keeps every request under the cloud's limits, the run's retry
//! budget, and the pause a `Retry-After` header asks for. The sender carries the verdicts out.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::provider::{ErrorClass, HttpResponse, RateLimit};

/// What a call does, which decides what may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Reads state: always safe to send again.
    Read,
    /// Reads a detail the report can do without (addresses): sent once and never retried, so
    /// it cannot hold up a machine's outcome or spend the run's retry budget.
    Detail,
    /// Starts or stops machines. `deduplicated`: the cloud de-duplicates by the call's client
    /// token, so a call that got no readable answer may be sent again as it was. `several`: the
    /// call carries more than one machine, so a refusal that may be one machine's (its lock, its
    /// type sold out) goes back to the protocol, which splits the batch, rather than being waited
    /// out for all of them.
    Act { deduplicated: bool, several: bool },
}

impl Effect {
    /// Whether a call that may have reached the cloud may be sent again.
    fn may_resend_unanswered(self) -> bool {
        !matches!(
            self,
            Effect::Act {
                deduplicated: false,
                ..
            }
        )
    }
}

/// What one attempt ran into, as far as deciding what comes next goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The cloud answered with an error (or an unreadable answer) of this class.
    Refused(ErrorClass),
    /// No answer within the request timeout; `cut_short`: the timeout was the deadline's, not
    /// the request timeout.
    TimedOut { cut_short: bool },
    /// The connection could not be made: nothing was sent.
    NotConnected,
    /// The request may have reached the cloud, but no answer came (connection reset, body lost).
    Lost,
    /// A redirect, not followed.
    Redirected,
    /// The proxy wants credentials.
    ProxyAuth,
}

impl Attempt {
    /// Whether the cloud may have acted on the request although no answer said so.
    fn may_have_acted(self) -> bool {
        match self {
            Attempt::Refused(class) => class.may_have_acted(),
            Attempt::TimedOut { .. } | Attempt::Lost => true,
            Attempt::NotConnected | Attempt::Redirected | Attempt::ProxyAuth => false,
        }
    }

    /// What giving up on this attempt means for a call with `effect`: a start or stop that may
    /// have been acted on is ambiguous, so the caller describes before anything is sent again.
    pub(crate) fn verdict(self, effect: Effect) -> Verdict {
        match effect {
            Effect::Act { .. } if self.may_have_acted() => Verdict::Ambiguous,
            _ => Verdict::AsIs,
        }
    }
}

/// What to do after an attempt that did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Measure the cloud's clock from the answer and sign again at once (not a retry).
    CorrectClock,
    /// Another operation holds the machine: send again after the lock delay, until the deadline.
    WaitBusy,
    /// No capacity now and the run waits it out (`--retry-capacity`): send again after the
    /// backoff, until the deadline, outside the retry count and budget.
    WaitCapacity,
    /// Send again after the backoff (at least a throttling window when `throttled`), within the
    /// retries and the run's retry budget.
    Retry {
        /// The cloud throttled the request.
        throttled: bool,
    },
    /// Give up.
    GiveUp(Verdict),
}

/// How a call that is given up on fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// With the last attempt's failure.
    AsIs,
    /// As [`Failure::Ambiguous`]: the cloud may have acted on it.
    Ambiguous,
    /// As [`Failure::Deadline`].
    Deadline,
}

/// The retry decision: what comes after `attempt` of a call with `effect`, given whether the
/// clock was corrected already and whether capacity refusals are waited out
/// (`--retry-capacity`). Pure, so a table pins it down.
pub(crate) fn decide(
    attempt: Attempt,
    effect: Effect,
    clock_corrected: bool,
    retry_capacity: bool,
) -> Decision {
    let unanswered = attempt.may_have_acted();
    match attempt {
        Attempt::Refused(ErrorClass::ClockSkew) if !clock_corrected => Decision::CorrectClock,
        Attempt::TimedOut { cut_short: true } => Decision::GiveUp(Verdict::Deadline),
        Attempt::Redirected | Attempt::ProxyAuth => Decision::GiveUp(Verdict::AsIs),
        // A start or stop that may have been acted on is sent again only where the cloud
        // de-duplicates it.
        _ if unanswered && !effect.may_resend_unanswered() => Decision::GiveUp(Verdict::Ambiguous),
        // A batch's lock or capacity refusal may be one machine's: the protocol splits the batch.
        Attempt::Refused(class)
            if class.ties_to_a_machine() && matches!(effect, Effect::Act { several: true, .. }) =>
        {
            Decision::GiveUp(Verdict::AsIs)
        }
        // Only a start or stop is refused for capacity; asked to, the run keeps trying.
        Attempt::Refused(ErrorClass::Capacity)
            if retry_capacity && matches!(effect, Effect::Act { .. }) =>
        {
            Decision::WaitCapacity
        }
        Attempt::Refused(class) if !class.is_retryable() => Decision::GiveUp(Verdict::AsIs),
        // A detail is asked once: it must not hold up an outcome.
        _ if effect == Effect::Detail => Decision::GiveUp(Verdict::AsIs),
        Attempt::Refused(ErrorClass::Busy) => Decision::WaitBusy,
        Attempt::Refused(class) => Decision::Retry {
            throttled: class == ErrorClass::Throttled,
        },
        Attempt::TimedOut { .. } | Attempt::NotConnected | Attempt::Lost => {
            Decision::Retry { throttled: false }
        }
    }
}

/// The delay a `Retry-After` header asks for: seconds, or an HTTP date (compared with `now`).
pub(super) fn retry_after_header(response: &HttpResponse, now: DateTime<Utc>) -> Option<Duration> {
    let value = response.header("retry-after")?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds.min(MAX_RETRY_AFTER_SECS)));
    }
    let date = DateTime::parse_from_rfc2822(value).ok()?;
    let wait = (date.with_timezone(&Utc) - now).to_std().ok()?;
    Some(wait.min(Duration::from_secs(MAX_RETRY_AFTER_SECS)))
}

/// The least a throttled request waits before it is sent again, when the cloud names no time.
pub(super) const THROTTLED_PAUSE: Duration = Duration::from_secs(1);

/// The longest `Retry-After` honoured; the run's deadline bounds it anyway.
const MAX_RETRY_AFTER_SECS: u64 = 300;

/// Keeps requests under one cloud's [`RateLimit`]s: at most `requests` in any window of `per`,
/// for every limit at once (plus a 2 % margin for the path between here and the cloud's counter),
/// by remembering when the last `requests` of each were sent.
pub(super) struct RateLimiter {
    windows: Vec<Window>,
}

struct Window {
    limit: usize,
    length: Duration,
    sent: RefCell<VecDeque<Instant>>,
}

impl RateLimiter {
    pub(super) fn new(limits: &[RateLimit]) -> Self {
        let windows = limits
            .iter()
            .map(|limit| Window {
                limit: limit.requests.max(1) as usize,
                length: limit.per + limit.per / 50,
                sent: RefCell::new(VecDeque::new()),
            })
            .collect();
        Self { windows }
    }

    /// Waits for a slot in every window and takes them; false if one would come after `deadline`.
    pub(super) async fn acquire(&self, deadline: Instant) -> bool {
        loop {
            let now = Instant::now();
            // When the fullest window frees a slot; None when every window has one now.
            let free_at = (self.windows.iter())
                .filter_map(|window| {
                    let mut sent = window.sent.borrow_mut();
                    while sent.front().is_some_and(|&t| now >= t + window.length) {
                        sent.pop_front();
                    }
                    (sent.len() >= window.limit).then(|| sent[0] + window.length)
                })
                .max();
            let Some(free_at) = free_at else {
                for window in &self.windows {
                    window.sent.borrow_mut().push_back(now);
                }
                return true;
            };
            if free_at >= deadline {
                return false;
            }
            tokio::time::sleep_until(free_at).await;
        }
    }
}

/// A run-wide cap on retries, so a cloud that fails everything is not hammered: 10 retries, plus
/// one for every 5 calls made.
#[derive(Default)]
pub(super) struct RetryBudget {
    calls: Cell<u32>,
    retries: Cell<u32>,
}

impl RetryBudget {
    pub(super) fn record_call(&self) {
        self.calls.set(self.calls.get().saturating_add(1));
    }

    /// Takes one retry from the budget; false when it is spent.
    pub(super) fn try_spend(&self) -> bool {
        let allowed = 10 + self.calls.get() / 5;
        if self.retries.get() >= allowed {
            return false;
        }
        self.retries.set(self.retries.get() + 1);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Provider;

    /// Every attempt against every effect: what comes next. Each row is one rule of [`decide`].
    #[test]
    fn the_retry_decision_follows_the_table() {
        use Attempt::*;
        use Decision::*;
        use ErrorClass as C;
        const READ: Effect = Effect::Read;
        const DETAIL: Effect = Effect::Detail;
        const ACT: Effect = Effect::Act {
            deduplicated: false,
            several: false,
        };
        const DEDUP: Effect = Effect::Act {
            deduplicated: true,
            several: false,
        };
        const BATCH: Effect = Effect::Act {
            deduplicated: false,
            several: true,
        };
        let give_up = GiveUp(Verdict::AsIs);
        let ambiguous = GiveUp(Verdict::Ambiguous);
        let retry = Retry { throttled: false };
        let table: &[(Attempt, Effect, bool, Decision)] = &[
            // The clock is measured once; a second skew is final.
            (Refused(C::ClockSkew), READ, false, CorrectClock),
            (Refused(C::ClockSkew), ACT, false, CorrectClock),
            (Refused(C::ClockSkew), READ, true, give_up),
            // Throttling and transient faults are retried, throttling at least a window apart.
            (
                Refused(C::Throttled),
                READ,
                false,
                Retry { throttled: true },
            ),
            (Refused(C::Throttled), ACT, false, Retry { throttled: true }),
            (Refused(C::Transient), ACT, false, retry),
            // A lock is waited out; a detail is never waited for.
            (Refused(C::Busy), ACT, false, WaitBusy),
            (Refused(C::Busy), READ, false, WaitBusy),
            (Refused(C::Busy), DETAIL, false, give_up),
            (Refused(C::Throttled), DETAIL, false, give_up),
            // Refusals about the machines or the account are final: the protocol explains them.
            (Refused(C::Auth), READ, false, give_up),
            (Refused(C::WrongState), ACT, false, give_up),
            (Refused(C::OperationFailed), ACT, false, give_up),
            (Refused(C::NotFound), ACT, false, give_up),
            (Refused(C::AlreadyDone), ACT, false, give_up),
            (Refused(C::Refused), DEDUP, false, give_up),
            // An answer that may hide an accepted start or stop: resent only where the cloud
            // de-duplicates, else described first.
            (Refused(C::BadResponse), ACT, false, ambiguous),
            (Refused(C::Unanswered), ACT, false, ambiguous),
            (Refused(C::BadResponse), DEDUP, false, retry),
            (Refused(C::BadResponse), READ, false, retry),
            (Lost, ACT, false, ambiguous),
            (Lost, DEDUP, false, retry),
            (Lost, READ, false, retry),
            (Lost, DETAIL, false, give_up),
            (TimedOut { cut_short: false }, ACT, false, ambiguous),
            (TimedOut { cut_short: false }, READ, false, retry),
            (
                TimedOut { cut_short: true },
                READ,
                false,
                GiveUp(Verdict::Deadline),
            ),
            (
                TimedOut { cut_short: true },
                ACT,
                false,
                GiveUp(Verdict::Deadline),
            ),
            // Nothing was sent: always safe to send again.
            (NotConnected, ACT, false, retry),
            (NotConnected, READ, false, retry),
            // Never followed, never retried.
            (Redirected, READ, false, give_up),
            (ProxyAuth, ACT, false, give_up),
        ];
        for &(attempt, effect, corrected, expected) in table {
            assert_eq!(
                decide(attempt, effect, corrected, false),
                expected,
                "{attempt:?} {effect:?} corrected={corrected}"
            );
        }
        // A capacity refusal is final unless the run waits capacity out; then a start or stop
        // is sent again, and anything else still gives up.
        let capacity: &[(Attempt, Effect, bool, Decision)] = &[
            (Refused(C::Capacity), ACT, false, give_up),
            (Refused(C::Capacity), DEDUP, false, give_up),
            (Refused(C::Capacity), ACT, true, WaitCapacity),
            (Refused(C::Capacity), DEDUP, true, WaitCapacity),
            (Refused(C::Capacity), READ, true, give_up),
            (Refused(C::Capacity), DETAIL, true, give_up),
            // The flag touches capacity alone.
            (Refused(C::Refused), ACT, true, give_up),
            (Refused(C::Busy), ACT, true, WaitBusy),
            (Lost, ACT, true, ambiguous),
            // A batch's lock or capacity refusal goes back to the protocol, which splits it;
            // its other refusals are decided as for one machine.
            (Refused(C::Capacity), BATCH, true, give_up),
            (Refused(C::Busy), BATCH, false, give_up),
            (
                Refused(C::Throttled),
                BATCH,
                false,
                Retry { throttled: true },
            ),
            (Lost, BATCH, false, ambiguous),
        ];
        for &(attempt, effect, retry_capacity, expected) in capacity {
            assert_eq!(
                decide(attempt, effect, false, retry_capacity),
                expected,
                "{attempt:?} {effect:?} retry_capacity={retry_capacity}"
            );
        }
        // Out of retries, a start or stop that may have acted is ambiguous; the rest fail as is.
        assert_eq!(Lost.verdict(DEDUP), Verdict::Ambiguous);
        assert_eq!(Refused(C::Throttled).verdict(ACT), Verdict::AsIs);
        assert_eq!(Lost.verdict(READ), Verdict::AsIs);
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_limiter_never_lets_more_than_the_limit_into_one_window() {
        let limiter = RateLimiter::new(&[RateLimit {
            requests: 10,
            per: Duration::from_secs(1),
        }]);
        let far = Instant::now() + Duration::from_secs(3600);
        let mut sent = Vec::new();
        for _ in 0..35 {
            assert!(limiter.acquire(far).await);
            sent.push(Instant::now());
        }
        // A burst of 10, then 10 more each time the oldest leaves the window.
        for (i, t) in sent.iter().enumerate() {
            let in_window = sent[i..]
                .iter()
                .take_while(|&&u| u < *t + Duration::from_secs(1))
                .count();
            assert!(in_window <= 10, "{in_window} requests in one second");
        }
        let span = sent[34] - sent[0];
        assert!(span >= Duration::from_secs(3), "{span:?}");
        assert!(span < Duration::from_secs(4), "{span:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_hourly_quota_is_not_spent_in_one_second() {
        // QingCloud's limits: 2000 an hour, 10 a second.
        let limiter = RateLimiter::new(crate::provider::QingcloudEhpc.spec().rate_limits);
        let far = Instant::now() + Duration::from_secs(7200);
        let started = Instant::now();
        let mut in_first_second = 0;
        for _ in 0..100 {
            assert!(limiter.acquire(far).await);
            if started.elapsed() < Duration::from_secs(1) {
                in_first_second += 1;
            }
        }
        assert_eq!(in_first_second, 10);
        assert!(started.elapsed() >= Duration::from_secs(9));
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_limiter_gives_up_on_a_slot_past_the_deadline() {
        let limiter = RateLimiter::new(&[RateLimit {
            requests: 1,
            per: Duration::from_secs(10),
        }]);
        let deadline = Instant::now() + Duration::from_secs(5);
        assert!(limiter.acquire(deadline).await);
        assert!(!limiter.acquire(deadline).await);
    }

    #[test]
    fn the_retry_budget_grows_with_the_calls_made() {
        let budget = RetryBudget::default();
        assert_eq!((0..100).filter(|_| budget.try_spend()).count(), 10);
        for _ in 0..50 {
            budget.record_call();
        }
        assert_eq!((0..100).filter(|_| budget.try_spend()).count(), 10);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date_and_is_capped() {
        let with = |value: &str| HttpResponse {
            headers: vec![("retry-after".into(), value.into())],
            ..HttpResponse::new(429, "")
        };
        let now = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let after = |value: &str| retry_after_header(&with(value), now);
        assert_eq!(after("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            after("86400"),
            Some(Duration::from_secs(MAX_RETRY_AFTER_SECS))
        );
        assert_eq!(
            after("Wed, 01 May 2024 12:00:30 +0000"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(after("Wed, 01 May 2024 11:59:00 +0000"), None);
        assert_eq!(after("soon"), None);
        assert_eq!(retry_after_header(&HttpResponse::new(429, ""), now), None);
    }
}
