//! The command line's values as plain data — [`TargetFlags`], [`PlaceFlags`], [`RunFlags`] —
//! and [`RunOptions`], what the flags of `start`, `stop` and `wait` ask of a run, checked against
//! each other (`--poll-interval` and `--poll-max`, `--wait-port` and `--no-wait`).
//!
//! `commands` copies clap's types into these structs, so nothing in `settings` depends on the
//! command-line parser (ripgrep's low-level arguments). Nothing here reads the environment, the
//! config file or a vendor CLI's files: that is [`super::layers`] and [`super::plan`].

use std::path::PathBuf;
use std::time::Duration;

use crate::engine::reach::{AddressKind, Reach};
use crate::engine::wait::Backoff;
use crate::error::Error;
use crate::output::OutputFormat;
use crate::provider::ActionOptions;

/// What to act on and where, as `start` and `status` were asked: the values of their flags as
/// plain data. clap parses them in `cli.rs` and `commands` copies them here, so that settings
/// know the command line's values but not its parser.
#[derive(Debug, Clone)]
pub struct TargetFlags {
    /// `--provider`: the cloud of bare ids.
    pub provider: Option<String>,
    /// `--targets-file`.
    pub targets_file: Option<PathBuf>,
    /// Profile, region, zone and endpoint.
    pub place: PlaceFlags,
    /// `--timeout`: one deadline for the whole run.
    pub timeout: Duration,
    /// `--proxy`.
    pub proxy: Option<String>,
    /// `--ca-bundle` (or `SSL_CERT_FILE`).
    pub ca_bundle: Option<PathBuf>,
    /// `--output`.
    pub output: OutputFormat,
    /// The targets as given: provider:id, or bare ids.
    pub targets: Vec<String>,
}

/// `--profile`, `--region`, `--zone` and `--endpoint`.
#[derive(Debug, Clone, Default)]
pub struct PlaceFlags {
    /// `--profile` (only the flag: `CLOUDSTART_PROFILE` is read by
    /// [`ProfileChoice`](super::ProfileChoice)).
    pub profile: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--zone`.
    pub zone: Option<String>,
    /// `--endpoint`.
    pub endpoint: Option<String>,
}

/// `start`'s flags: its targets, and the choices only a start has.
#[derive(Debug, Clone)]
pub struct RunFlags {
    /// What to start, and where.
    pub targets: TargetFlags,
    /// `--no-wait`.
    pub no_wait: bool,
    /// `--without-gpu`.
    pub without_gpu: bool,
    /// `--retry-capacity`.
    pub retry_capacity: bool,
    /// `--force`.
    pub force: bool,
    /// `--stop-charging`.
    pub stop_charging: bool,
    /// `--wait-port`, as given.
    pub wait_port: Vec<u16>,
    /// `--wait-ssh`: the SSH port, 22 unless given.
    pub wait_ssh: Option<u16>,
    /// `--address`.
    pub address: AddressKind,
    /// `--poll-interval`.
    pub poll_interval: Option<Duration>,
    /// `--poll-max`.
    pub poll_max: Option<Duration>,
}

/// What a run does besides reaching its targets: the choices of `start`, `stop` and `wait`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Wait for the goal (RUNNING, STOPPED).
    pub wait: bool,
    /// What start and stop calls carry (`--without-gpu`, `--force`, `--stop-charging`).
    pub options: ActionOptions,
    /// Backoff between polls when `--poll-interval`/`--poll-max` ask for it; otherwise each
    /// cloud's [`PollBudget`](crate::engine::wait::PollBudget).
    pub backoff: Option<Backoff>,
    /// Ports to wait for after RUNNING (`--wait-port`, `--wait-ssh`).
    pub reach: Option<Reach>,
    /// Capacity refusals are sent again until the deadline (`--retry-capacity`).
    pub retry_capacity: bool,
}

/// The backoff's bounds when only one of `--poll-interval` and `--poll-max` is given.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(15);

impl RunOptions {
    /// The options of `start`, `stop` or `wait`.
    pub fn of(args: &RunFlags) -> Result<Self, Error> {
        let backoff = match (args.poll_interval, args.poll_max) {
            (None, None) => None,
            (min, max) => {
                let min_delay = min.unwrap_or(BACKOFF_MIN.min(max.unwrap_or(BACKOFF_MIN)));
                let max_delay = max.unwrap_or(BACKOFF_MAX.max(min_delay));
                if min_delay.is_zero() || max_delay < min_delay {
                    return Err(Error::usage(format!(
                        "--poll-interval must be above zero and at most --poll-max (got {} and {})",
                        humantime::format_duration(min_delay),
                        humantime::format_duration(max_delay)
                    )));
                }
                Some(Backoff {
                    min_delay,
                    max_delay,
                })
            }
        };
        let reach = Reach::asked(&args.wait_port, args.wait_ssh, args.address);
        if reach.is_some() && args.no_wait {
            return Err(Error::usage(
                "--wait-port and --wait-ssh wait for RUNNING first: they cannot go with --no-wait",
            ));
        }
        Ok(Self {
            wait: !args.no_wait,
            options: ActionOptions {
                without_gpu: args.without_gpu,
                force: args.force,
                stop_charging: args.stop_charging,
                ..ActionOptions::default()
            },
            backoff,
            reach,
            retry_capacity: args.retry_capacity,
        })
    }

    /// `status`: one look, no start.
    pub fn look_only() -> Self {
        Self {
            wait: false,
            options: ActionOptions::default(),
            backoff: None,
            reach: None,
            retry_capacity: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorKind;
    use crate::settings::testing::{args, env, resolve, CREDS};

    #[test]
    fn poll_bounds_are_checked() {
        let err = resolve(
            &args(&["--poll-interval", "5s", "--poll-max", "1s", "ins-aaaaaaaa"]),
            &env(CREDS),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
    }
}
