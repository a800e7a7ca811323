//! `cloudstart stop`: stop machines and wait until they are STOPPED.

use crate::cli::StopArgs;
use crate::engine::lifecycle::Operation;
use crate::error::Error;
use crate::output::Task;
use crate::settings::RunFlags;

/// Runs `stop` as `args` say; returns the exit code.
pub(super) async fn run(args: StopArgs, quiet: bool) -> Result<u8, Error> {
    let dry_run = args.dry_run;
    let prelude = super::Prelude::read(&args.targets, Some(&args.poll));
    let flags = RunFlags {
        no_wait: args.no_wait,
        force: args.force,
        stop_charging: args.stop_charging,
        ..super::run_flags(args.targets, None, &prelude.defaults)
    };
    super::lifecycle::run(
        Operation::STOP,
        Task::Stop,
        flags,
        prelude.config,
        dry_run,
        quiet,
    )
    .await
}
