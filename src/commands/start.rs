//! `cloudstart start`: start machines and wait until they are RUNNING.

use crate::cli::StartArgs;
use crate::engine::lifecycle::Operation;
use crate::error::Error;
use crate::output::Task;
use crate::settings::defaults::RunDefaults;
use crate::settings::RunFlags;

/// Runs `start` as `args` say; returns the exit code.
pub(super) async fn run(args: StartArgs, quiet: bool) -> Result<u8, Error> {
    let dry_run = args.dry_run;
    let prelude = super::Prelude::read(&args.targets, Some(&args.poll));
    let flags = flags(args, &prelude.defaults);
    let operation = Operation::START;
    super::lifecycle::run(
        operation,
        Task::Start,
        flags,
        prelude.config,
        dry_run,
        quiet,
    )
    .await
}

/// `start`'s flags as the plain values settings resolve, over the run's `defaults`.
pub(super) fn flags(args: StartArgs, defaults: &RunDefaults) -> RunFlags {
    RunFlags {
        without_gpu: args.without_gpu,
        retry_capacity: args.retry_capacity,
        no_wait: args.no_wait,
        ..super::run_flags(args.targets, Some(args.reach), defaults)
    }
}
