//! One module per subcommand; [`run`] dispatches to them and returns the exit code.

mod completions;
mod config;
mod config_check;
mod demo;
mod dry_run;
mod interrupt;
mod lifecycle;
mod man;
mod online;
mod place;
mod sim;
mod start;
mod status;
mod stop;
mod tracker;
mod wait;

use std::time::Duration;

use tracing::error;

use crate::cli::{
    AddressArg, Cli, Command, ConfigCommand, PlaceArgs, PollArgs, ReachArgs, TargetArgs,
};
use crate::engine::reach::AddressKind;
use crate::env_vars::{process_env, EnvVars};
use crate::error::Error;
use crate::output::{self, ErrorRecord, Outcome, OutputFormat, Progress, Record, Report, Task};
use crate::settings::config::{Config, DEFAULT_PROFILE};
use crate::settings::defaults::{DefaultFlags, RunDefaults};
use crate::settings::{self, PlaceFlags, Plan, ProfileChoice, RunFlags, RunOptions, TargetFlags};

/// Runs the parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> Result<u8, Error> {
    let quiet = cli.verbosity.quiet;
    match cli.command {
        Command::Start(args) => start::run(args, quiet).await,
        Command::Stop(args) => stop::run(args, quiet).await,
        Command::Wait(args) => wait::run(args, quiet).await,
        Command::Status(args) => {
            let prelude = Prelude::read(&args.targets, None);
            let args = target_flags(args.targets, &prelude.defaults);
            let planned = prelude.config.and_then(|config| {
                Plan::resolve(&args, &RunOptions::look_only(), &process_env, &config)
            });
            let plan = match planned {
                Ok(plan) => plan,
                Err(err) => return report_refusal(&args, err, quiet, Task::Status),
            };
            let observed = status::run(&plan.groups).await?;
            let unready = unready_report(Task::Status, &plan);
            let report = Report::merge(Task::Status, vec![observed, unready]).in_order(&plan.order);
            output::finish(&progress_for(quiet, plan.output), &report, plan.output)
        }
        Command::Config(ConfigCommand::Check(args)) => config_check::run(&args).await,
        Command::Config(ConfigCommand::Init) => config::init(),
        Command::Config(ConfigCommand::Set(args)) => config::set(&args),
        Command::Config(ConfigCommand::Get(args)) => config::get(&args),
        Command::Sim(args) => sim::run(&args).await,
        Command::Demo(args) => demo::run(&args, quiet).await,
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args),
    }
}

/// What a run reads before its targets: the config file, and the run's own settings (timeout,
/// output, poll) from flags, environment and profile.
struct Prelude {
    /// The config file, or why it cannot be read (reported with the run's records).
    config: Result<Config, Error>,
    /// The run's settings; when they cannot be resolved, the flags over the built-in defaults
    /// and the error is in `config`.
    defaults: RunDefaults,
}

impl Prelude {
    fn read(targets: &TargetArgs, poll: Option<&PollArgs>) -> Self {
        Self::with_flags(
            default_flags(targets, poll),
            targets.place.profile.as_deref(),
        )
    }

    fn with_flags(flags: DefaultFlags, profile: Option<&str>) -> Self {
        let profile = ProfileChoice::new(profile, &process_env)
            .map_or_else(|_| DEFAULT_PROFILE.to_string(), |choice| choice.name);
        let resolved = Config::load(&process_env).and_then(|config| {
            let defaults = RunDefaults::resolve(&flags, &process_env, &config, &profile)?;
            Ok((config, defaults))
        });
        match resolved {
            Ok((config, defaults)) => Self {
                config: Ok(config),
                defaults,
            },
            // The refusal is still reported in the format the flag or variable asked for.
            Err(err) => Self {
                defaults: RunDefaults::resolve(&flags, &process_env, &Config::default(), "")
                    .unwrap_or_else(|_| RunDefaults::flags_only(&flags)),
                config: Err(err),
            },
        }
    }
}

impl Prelude {
    /// `config check`'s: it shows the run settings `start` would use with these flags.
    fn read_for_check(args: &crate::cli::ConfigCheckArgs) -> Self {
        let flags = DefaultFlags {
            timeout: args.timeout,
            output: args.output,
            poll_interval: args.poll.poll_interval,
            poll_max: args.poll.poll_max,
        };
        Self::with_flags(flags, args.place.profile.as_deref())
    }
}

/// The run settings' flags, `None` where not given.
fn default_flags(targets: &TargetArgs, poll: Option<&PollArgs>) -> DefaultFlags {
    DefaultFlags {
        timeout: targets.timeout,
        output: targets.output,
        poll_interval: poll.and_then(|poll| poll.poll_interval),
        poll_max: poll.and_then(|poll| poll.poll_max),
    }
}

/// The flags `start`, `stop` and `wait` share, as the plain values settings resolve; the rest
/// (`--no-wait`, `--force`, ...) are off, for each command to set.
fn run_flags(targets: TargetArgs, reach: Option<ReachArgs>, defaults: &RunDefaults) -> RunFlags {
    let (wait_port, wait_ssh, address) = match reach {
        Some(reach) => (reach.wait_port, reach.wait_ssh, reach.address),
        None => (Vec::new(), None, AddressArg::Public),
    };
    RunFlags {
        targets: target_flags(targets, defaults),
        no_wait: false,
        without_gpu: false,
        retry_capacity: false,
        force: false,
        stop_charging: false,
        wait_port,
        wait_ssh,
        address: match address {
            AddressArg::Public => AddressKind::Public,
            AddressArg::Private => AddressKind::Private,
        },
        poll_interval: defaults.poll_interval.as_ref().map(|found| found.value),
        poll_max: defaults.poll_max.as_ref().map(|found| found.value),
    }
}

/// The targets' flags of `start`, `stop`, `wait` and `status` as the plain values settings
/// resolve.
fn target_flags(args: TargetArgs, defaults: &RunDefaults) -> TargetFlags {
    TargetFlags {
        provider: args.provider,
        targets_file: args.targets_file,
        place: place_flags(args.place),
        timeout: defaults.timeout.value,
        proxy: args.proxy,
        ca_bundle: args.ca_bundle,
        output: defaults.output.value,
        targets: args.targets,
    }
}

fn place_flags(args: PlaceArgs) -> PlaceFlags {
    PlaceFlags {
        profile: args.profile,
        region: args.region,
        zone: args.zone,
        endpoint: args.endpoint,
    }
}

/// A run refused before any request (a bad id, region or config, credentials): with `-o json`
/// or `-o ndjson` every target it names still gets its record, failed with the error's kind, so
/// a pipeline always has a report to read; the exit code is the error's. Text output, and
/// targets that cannot be read at all (an unknown cloud, an unreadable targets file), keep the
/// plain `error:` line.
fn report_refusal(args: &TargetFlags, err: Error, quiet: bool, task: Task) -> Result<u8, Error> {
    if args.output == OutputFormat::Text {
        return Err(err);
    }
    let Some(targets) = settings::listed_targets(args).filter(|t| !t.is_empty()) else {
        return Err(err);
    };
    error!("{err}");
    let instances = (targets.into_iter())
        .map(|(provider, id, region)| Record {
            provider,
            region,
            // Refused before any place was resolved or any machine looked at.
            zone: None,
            id,
            outcome: Outcome::Failed,
            state: None,
            job_id: None,
            addresses: Default::default(),
            error: Some(ErrorRecord {
                kind: err.kind(),
                code: None,
                message: err.to_string(),
                request_id: None,
            }),
        })
        .collect();
    let report = Report {
        instances,
        ..Report::new(task)
    };
    output::finish(&progress_for(quiet, args.output), &report, args.output)
}

/// The records of the targets set aside before any request (a malformed id, a contradiction, a
/// cloud without its place or credentials): each fails with its own error, on one `error:` line
/// and in its record, so a run reports every target and exits by precedence.
fn unready_report(task: Task, plan: &Plan) -> Report {
    // Each message names its cloud (and target, where it concerns one).
    for group in &plan.unready {
        error!("{}", group.error);
    }
    let instances = (plan.unready.iter())
        .flat_map(|group| {
            group.ids.iter().map(|id| Record {
                provider: group.provider,
                region: group.region.clone(),
                // Never looked at, and the group's zone was not resolved.
                zone: None,
                id: id.clone(),
                outcome: Outcome::Failed,
                state: None,
                job_id: None,
                addresses: Default::default(),
                error: Some(ErrorRecord {
                    kind: group.error.kind(),
                    code: None,
                    message: group.error.to_string(),
                    request_id: None,
                }),
            })
        })
        .collect();
    Report {
        instances,
        ..Report::new(task)
    }
}

/// The progress display for stderr, with NDJSON events when that is the output format.
fn progress_for(quiet: bool, output: OutputFormat) -> Progress {
    Progress::new(
        Progress::mode_for_stderr(quiet, &process_env),
        output == OutputFormat::Ndjson,
    )
}

/// `CLOUDSTART_HEARTBEAT`, or 30 s; `0` turns the heartbeat off (a pause no run reaches).
fn heartbeat() -> Result<Duration, Error> {
    match process_env(EnvVars::CLOUDSTART_HEARTBEAT) {
        None => Ok(Duration::from_secs(30)),
        Some(text) if text.trim() == "0" => Ok(Duration::MAX),
        Some(text) => crate::cli::parse_duration(&text)
            .and_then(|d| {
                if d.is_zero() {
                    Err(format!(
                        "`{text}` is zero; write 0 to turn the heartbeat off"
                    ))
                } else {
                    Ok(d)
                }
            })
            .map_err(|why| {
                Error::usage(format!(
                    "{} must be a duration such as 30s: {why}",
                    EnvVars::CLOUDSTART_HEARTBEAT
                ))
            }),
    }
}

#[cfg(test)]
mod tests {
    //! The command line copied into settings' flags. How settings resolve those flags is
    //! tested in `settings` (its `flags`, `layers` and `plan` files), with flags built by
    //! `settings::testing::args`: this checks that clap fills them the same way.

    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> RunFlags {
        let mut argv = vec!["cloudstart", "start", "-p", "tencent"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Start(args) => {
                let flags = default_flags(&args.targets, Some(&args.poll));
                start::flags(args, &RunDefaults::flags_only(&flags))
            }
            _ => unreachable!(),
        }
    }

    #[test]
    fn start_flags_are_copied_as_the_settings_tests_build_them() {
        for extra in [
            &["ins-aaaaaaaa"][..],
            &["-r", "ap-guangzhou", "ins-aaaaaaaa", "ins-bbbbbbbb"],
            &[
                "--retry-capacity",
                "--endpoint",
                "http://127.0.0.1:3",
                "ins-aaaaaaaa",
            ],
            &["--profile", "ops", "--zone", "ap-seoul-1", "ins-aaaaaaaa"],
            &["--poll-interval", "5s", "--poll-max", "1s", "ins-aaaaaaaa"],
        ] {
            let mut parsed = args(extra);
            // clap fills --ca-bundle from SSL_CERT_FILE, which the test's environment may set.
            parsed.targets.ca_bundle = None;
            let built = settings::testing::args(extra);
            assert_eq!(format!("{parsed:?}"), format!("{built:?}"), "{extra:?}");
        }
    }
}
