//! Faults the simulator injects, so tests (and anyone testing their own pipeline) can see what
//! cloudstart does when a cloud throttles, fails, garbles or loses an answer.
//!
//! Each dialect counts its own requests: `--fault throttle:2@start` throttles the first two start
//! requests of every cloud.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use tokio::time::Instant;

/// What happens to a request picked by a [`FaultSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The cloud's own throttling error; the request is not acted on.
    Throttle,
    /// HTTP 500 with an HTML page; not acted on.
    Http500,
    /// HTTP 502 with an HTML page; not acted on.
    Http502,
    /// HTTP 503 with an HTML page; not acted on.
    Http503,
    /// Acted on, then the connection is closed without an answer.
    Drop,
    /// Acted on, then answered with the first half of the body.
    Truncate,
    /// Acted on, then answered with a body that is not JSON.
    NotJson,
    /// Acted on, then answered 200 with an HTML page (a proxy's).
    Html,
    /// Not acted on; answered 200 with a body of 6 MiB.
    Huge,
}

impl FaultKind {
    const ALL: [FaultKind; 9] = [
        FaultKind::Throttle,
        FaultKind::Http500,
        FaultKind::Http502,
        FaultKind::Http503,
        FaultKind::Drop,
        FaultKind::Truncate,
        FaultKind::NotJson,
        FaultKind::Html,
        FaultKind::Huge,
    ];

    /// The name in `--fault` and in the request log.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Throttle => "throttle",
            FaultKind::Http500 => "http500",
            FaultKind::Http502 => "http502",
            FaultKind::Http503 => "http503",
            FaultKind::Drop => "drop",
            FaultKind::Truncate => "truncate",
            FaultKind::NotJson => "not-json",
            FaultKind::Html => "html",
            FaultKind::Huge => "huge",
        }
    }

    /// Whether the dialect handles the request (changing machines) before the answer is spoiled.
    pub(crate) fn acts(self) -> bool {
        matches!(
            self,
            FaultKind::Drop | FaultKind::Truncate | FaultKind::NotJson | FaultKind::Html
        )
    }
}

/// Which requests a [`FaultSpec`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultTarget {
    /// Every request.
    Any,
    /// The cloud's start action.
    Start,
    /// The cloud's stop action.
    Stop,
    /// The cloud's describe action.
    Describe,
}

/// `KIND[:N][@start|@stop|@describe]`: the first `count` matching requests of each cloud get
/// `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultSpec {
    /// What happens to them.
    pub kind: FaultKind,
    /// How many requests, per cloud.
    pub count: u32,
    /// Which requests count.
    pub target: FaultTarget,
}

impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (rest, target) = match text.split_once('@') {
            None => (text, FaultTarget::Any),
            Some((rest, "start")) => (rest, FaultTarget::Start),
            Some((rest, "stop")) => (rest, FaultTarget::Stop),
            Some((rest, "describe")) => (rest, FaultTarget::Describe),
            Some((_, other)) => {
                return Err(format!(
                    "unknown target `@{other}`; targets: @start, @stop, @describe"
                ))
            }
        };
        let (name, count) = match rest.split_once(':') {
            None => (rest, 1),
            Some((name, count)) => match count.parse::<u32>() {
                Ok(count) if count > 0 => (name, count),
                _ => return Err(format!("`{count}` is not a positive count")),
            },
        };
        let kind = FaultKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| {
                let kinds: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown kind `{name}`; kinds: {}", kinds.join(", "))
            })?;
        Ok(FaultSpec {
            kind,
            count,
            target,
        })
    }
}

/// The faults one simulator injects, the same for every cloud.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    /// Faults for the first requests, in the order given.
    pub specs: Vec<FaultSpec>,
    /// Requests per second above which a cloud answers with its throttling error.
    pub throttle_rate: Option<f64>,
    /// How long every answer is held back.
    pub delay: Duration,
    /// How far the simulated clouds' clocks are from real time, in seconds.
    pub clock_skew: i64,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    /// A `--fault` picked it.
    Fault(FaultKind),
    /// It went over `--throttle-rate`.
    Rate,
}

impl Injected {
    /// The name in the request log.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Injected::Fault(kind) => kind.name(),
            Injected::Rate => "rate",
        }
    }
}

/// One cloud's fault counters.
#[derive(Debug)]
pub(crate) struct FaultState {
    plan: FaultPlan,
    used: Vec<u32>,
    recent: VecDeque<Instant>,
}

impl FaultState {
    pub(crate) fn new(plan: &FaultPlan) -> Self {
        Self {
            used: vec![0; plan.specs.len()],
            plan: plan.clone(),
            recent: VecDeque::new(),
        }
    }

    /// Decides what happens to a request for `target` (start, describe, or neither).
    pub(crate) fn decide(&mut self, target: FaultTarget) -> Option<Injected> {
        let over_rate = self.plan.throttle_rate.is_some_and(|rate| {
            let now = Instant::now();
            while self
                .recent
                .front()
                .is_some_and(|&t| now.duration_since(t) >= Duration::from_secs(1))
            {
                self.recent.pop_front();
            }
            let over = self.recent.len() as f64 >= rate;
            self.recent.push_back(now);
            over
        });
        for (spec, used) in self.plan.specs.iter().zip(&mut self.used) {
            let matches = spec.target == FaultTarget::Any || spec.target == target;
            if matches && *used < spec.count {
                *used += 1;
                return Some(Injected::Fault(spec.kind));
            }
        }
        over_rate.then_some(Injected::Rate)
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.name(), self.count)?;
        match self.target {
            FaultTarget::Any => Ok(()),
            FaultTarget::Start => f.write_str("@start"),
            FaultTarget::Stop => f.write_str("@stop"),
            FaultTarget::Describe => f.write_str("@describe"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_defaults_and_round_trip() {
        for (text, kind, count, target) in [
            ("throttle", FaultKind::Throttle, 1, FaultTarget::Any),
            ("drop:3@start", FaultKind::Drop, 3, FaultTarget::Start),
            (
                "not-json@describe",
                FaultKind::NotJson,
                1,
                FaultTarget::Describe,
            ),
            ("http503:12", FaultKind::Http503, 12, FaultTarget::Any),
        ] {
            let spec: FaultSpec = text.parse().unwrap();
            assert_eq!((spec.kind, spec.count, spec.target), (kind, count, target));
            assert_eq!(spec.to_string().parse::<FaultSpec>().unwrap(), spec);
        }
    }

    #[test]
    fn bad_specs_say_what_is_allowed() {
        let err = "flood".parse::<FaultSpec>().unwrap_err();
        assert!(
            err.contains("unknown kind `flood`") && err.contains("http502"),
            "{err}"
        );
        let err = "drop@reboot".parse::<FaultSpec>().unwrap_err();
        assert!(err.contains("@start, @stop, @describe"), "{err}");
        for bad in ["drop:0", "drop:-1", "drop:x", ""] {
            assert!(bad.parse::<FaultSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn each_spec_picks_its_first_matching_requests() {
        let plan = FaultPlan {
            specs: vec![
                "throttle:2@start".parse().unwrap(),
                "http502:1".parse().unwrap(),
            ],
            ..FaultPlan::default()
        };
        let mut state = FaultState::new(&plan);
        let throttle = Some(Injected::Fault(FaultKind::Throttle));
        let http502 = Some(Injected::Fault(FaultKind::Http502));
        assert_eq!(state.decide(FaultTarget::Describe), http502);
        assert_eq!(state.decide(FaultTarget::Describe), None);
        assert_eq!(state.decide(FaultTarget::Start), throttle);
        assert_eq!(state.decide(FaultTarget::Start), throttle);
        assert_eq!(state.decide(FaultTarget::Start), None);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_over_the_rate_are_throttled_within_a_sliding_second() {
        let plan = FaultPlan {
            throttle_rate: Some(2.0),
            ..FaultPlan::default()
        };
        let mut state = FaultState::new(&plan);
        let decide = |state: &mut FaultState| state.decide(FaultTarget::Any);
        assert_eq!(decide(&mut state), None);
        assert_eq!(decide(&mut state), None);
        assert_eq!(decide(&mut state), Some(Injected::Rate));
        tokio::time::advance(Duration::from_millis(1001)).await;
        assert_eq!(decide(&mut state), None);
    }
}
