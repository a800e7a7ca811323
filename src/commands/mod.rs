//! One module per subcommand; [`run`] dispatches to them and returns the exit code.

mod config_check;
mod demo;
mod dry_run;
mod sim;
mod start;
mod status;

use std::io::{stdout, Write};
use std::time::Duration;

use clap::CommandFactory;
use tracing::{error, warn};

use crate::cli::TargetArgs;
use crate::cli::{Cli, Command, ConfigCommand};
use crate::env_vars::EnvVars;
use crate::error::Error;
use crate::output::{ErrorRecord, Outcome, OutputFormat, Record, Report, SCHEMA_VERSION};
use crate::progress::Progress;
use crate::settings::config::Config;
use crate::settings::{self, process_env, Plan, RunOptions};

/// Runs the parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> Result<u8, Error> {
    let quiet = cli.verbosity.quiet;
    match cli.command {
        Command::Start(args) => {
            let planned = RunOptions::of_start(&args).and_then(|run| {
                let config = Config::load(&process_env)?;
                Plan::resolve(&args.targets, &run, &process_env, &config)
            });
            let plan = match planned {
                Ok(plan) => plan,
                Err(err) if args.dry_run => return Err(err),
                Err(err) => return report_refusal(&args.targets, err, quiet),
            };
            if args.dry_run {
                return dry_run::run(&plan);
            }
            let progress = progress_for(quiet, plan.output);
            let ran = start::run_all(&plan.groups, &progress, heartbeat()?).await?;
            let report = Report::merge(vec![ran, unready_report(&plan)]).in_order(&plan.order);
            progress.done(&report);
            print_report(&report, plan.output)
        }
        Command::Status(args) => {
            let planned = Config::load(&process_env).and_then(|config| {
                Plan::resolve(
                    &args.targets,
                    &RunOptions::look_only(),
                    &process_env,
                    &config,
                )
            });
            let plan = match planned {
                Ok(plan) => plan,
                Err(err) => return report_refusal(&args.targets, err, quiet),
            };
            let observed = status::run(&plan.groups).await?;
            let report = Report::merge(vec![observed, unready_report(&plan)]).in_order(&plan.order);
            progress_for(quiet, plan.output).done(&report);
            print_report(&report, plan.output)
        }
        Command::Config(ConfigCommand::Check(args)) => {
            let config = Config::load(&process_env)?;
            config_check::run(&args, &process_env, &config)
        }
        Command::Sim(args) => sim::run(&args).await,
        Command::Demo(args) => demo::run(&args, &progress_for(quiet, args.output)).await,
        Command::Completions(args) => {
            // Generated into memory: clap_complete panics if its writer fails.
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "cloudstart", &mut script);
            write_stdout(&script)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(|err| Error::internal(format!("cannot render the man page: {err}")))?;
            write_stdout(&page)
        }
    }
}

/// A run refused before any request (a bad id, region or config, credentials): with `-o json`
/// or `-o ndjson` every target it names still gets its record, failed with the error's kind, so
/// a pipeline always has a report to read; the exit code is the error's. Text output, and
/// targets that cannot be read at all (an unknown cloud, an unreadable targets file), keep the
/// plain `error:` line.
fn report_refusal(args: &TargetArgs, err: Error, quiet: bool) -> Result<u8, Error> {
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
        schema_version: SCHEMA_VERSION,
        elapsed_ms: 0,
        instances,
    };
    progress_for(quiet, args.output).done(&report);
    print_report(&report, args.output)
}

/// The records of the targets whose cloud had no usable credentials: each fails with the
/// credentials error, so a multi-cloud run reports every target and exits 3 by precedence.
fn unready_report(plan: &Plan) -> Report {
    for group in &plan.unready {
        warn!("{}: {}", group.provider, group.error);
    }
    let instances = (plan.unready.iter())
        .flat_map(|group| {
            group.ids.iter().map(|id| Record {
                provider: group.provider,
                region: group.region.clone(),
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
        schema_version: SCHEMA_VERSION,
        elapsed_ms: 0,
        instances,
    }
}

/// Writes generated text to stdout; a reader that went away (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<u8, Error> {
    let mut out = stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(err) => Err(Error::internal(format!("cannot write to stdout: {err}"))),
    }
}

/// The progress display for stderr, with NDJSON events when that is the output format.
fn progress_for(quiet: bool, output: OutputFormat) -> Progress {
    Progress::new(
        Progress::mode_for_stderr(quiet, &process_env),
        output == OutputFormat::Ndjson,
    )
}

/// `CLOUDSTART_HEARTBEAT`, or 30 s.
fn heartbeat() -> Result<Duration, Error> {
    match process_env(EnvVars::CLOUDSTART_HEARTBEAT) {
        None => Ok(Duration::from_secs(30)),
        Some(text) => crate::cli::parse_duration(&text)
            .and_then(|d| {
                if d.is_zero() {
                    Err(format!("`{text}` is zero"))
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

/// Prints `report` and returns its exit code.
fn print_report(report: &Report, format: OutputFormat) -> Result<u8, Error> {
    match report.print(format) {
        // A reader that went away (`| head -1`) does not change what happened to the machines.
        Ok(()) => Ok(report.exit_code()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(report.exit_code()),
        Err(err) => Err(Error::internal(format!("cannot write the report: {err}"))),
    }
}
