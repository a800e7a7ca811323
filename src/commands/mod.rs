//! One module per subcommand; [`run`] dispatches to them and returns the exit code.

mod config_check;
mod demo;
mod dry_run;
mod start;
mod status;

use std::io::{stdout, Write};

use clap::CommandFactory;

use crate::cli::OutputFormat;
use crate::cli::{Cli, Command, ConfigCommand};
use crate::error::Error;
use crate::output::Report;
use crate::settings::config::Config;
use crate::settings::{process_env, Plan, RunOptions};

/// Runs the parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Start(args) => {
            let run = RunOptions::of_start(&args)?;
            let config = Config::load(&process_env)?;
            let plan = Plan::resolve(&args.targets, &run, &process_env, &config)?;
            if args.dry_run {
                return dry_run::run(&plan);
            }
            report(&plan).await
        }
        Command::Status(args) => {
            let config = Config::load(&process_env)?;
            let plan = Plan::resolve(
                &args.targets,
                &RunOptions::look_only(),
                &process_env,
                &config,
            )?;
            let report = status::run(&plan.groups).await?.in_order(&plan.order);
            print_report(&report, plan.output)
        }
        Command::Config(ConfigCommand::Check(args)) => {
            let config = Config::load(&process_env)?;
            config_check::run(&args, &process_env, &config)
        }
        Command::Sim(args) => crate::sim::run(&args).await,
        Command::Demo(args) => demo::run(&args).await,
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

/// Writes generated text to stdout; a reader that went away (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<u8, Error> {
    let mut out = stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(err) => Err(Error::internal(format!("cannot write to stdout: {err}"))),
    }
}

/// Runs `start` for every group of the plan at once, prints one report in the order the targets
/// were given, and returns its exit code.
async fn report(plan: &Plan) -> Result<u8, Error> {
    let report = start::run_all(&plan.groups).await?.in_order(&plan.order);
    print_report(&report, plan.output)
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
