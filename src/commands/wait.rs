//! `cloudstart wait --for running|stopped`: poll until machines are RUNNING or STOPPED, starting
//! and stopping nothing.

use crate::cli::{GoalArg, WaitArgs};
use crate::engine::lifecycle::Operation;
use crate::error::Error;
use crate::output::Task;
use crate::provider::Phase;

/// Runs `wait` as `args` say; returns the exit code.
pub(super) async fn run(args: WaitArgs, quiet: bool) -> Result<u8, Error> {
    let goal = match args.goal {
        GoalArg::Running => Phase::Running,
        GoalArg::Stopped => Phase::Stopped,
    };
    let waits_for_ports = !args.reach.wait_port.is_empty() || args.reach.wait_ssh.is_some();
    if goal == Phase::Stopped && waits_for_ports {
        return Err(Error::usage(
            "--wait-port and --wait-ssh wait for a running machine's ports: they go with \
             --for running, not --for stopped",
        ));
    }
    let prelude = super::Prelude::read(&args.targets, Some(&args.poll));
    let flags = super::run_flags(args.targets, Some(args.reach), &prelude.defaults);
    let operation = Operation::wait_for(goal);
    super::lifecycle::run(operation, Task::Wait, flags, prelude.config, false, quiet).await
}
