//! One module per subcommand; [`run`] dispatches to them and returns the exit code.

mod demo;
mod start;

use crate::cli::{Cli, Command};
use crate::error::Error;
use crate::settings::{process_env, StartSettings};

/// Runs the parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Start(args) => {
            let settings = StartSettings::resolve(&args, &process_env)?;
            report(&settings).await
        }
        Command::Sim(args) => crate::sim::run(&args).await,
        Command::Demo(args) => demo::run(&args).await,
    }
}

/// Runs `start` with resolved settings, prints the report and returns its exit code.
async fn report(settings: &StartSettings) -> Result<u8, Error> {
    let report = start::run(settings).await?;
    report
        .print(settings.output)
        .map_err(|err| Error::internal(format!("cannot write the report: {err}")))?;
    Ok(report.exit_code())
}
