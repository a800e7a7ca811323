//! `start`, `stop` and `wait` from flags to exit code, one flow for the three: settings →
//! [`EngineConfig`](crate::engine::EngineConfig) → [`engine::lifecycle::run`] → report.
//!
//! The protocol itself (calls, refusals, resends, the wait) is the engine's; the [`Tracker`]
//! turns its events into report records and progress lines. Every id gets exactly one record,
//! whatever happens — including an interrupt, which stops the work and reports what was already
//! requested.

use std::time::Duration;

use futures_util::future::join_all;
use tokio::time::Instant;
use tracing::warn;

use super::interrupt::{exit_on_second_interrupt, interrupted};
use super::tracker::Tracker;
use super::{dry_run, heartbeat, progress_for, report_refusal, unready_report};
use crate::engine::lifecycle::{Operation, Plan as EnginePlan};
use crate::engine::{self, ApiClient};
use crate::env_vars::process_env;
use crate::error::Error;
use crate::output::{self, Progress, Report, Task};
use crate::settings::config::Config;
use crate::settings::{GroupSettings, Plan, RunFlags, RunOptions};

/// Runs `operation` (the subcommand `task`) as `flags` say: `--dry-run` prints the calls instead.
pub(super) async fn run(
    operation: Operation,
    task: Task,
    flags: RunFlags,
    config: Result<Config, Error>,
    dry_run: bool,
    quiet: bool,
) -> Result<u8, Error> {
    let planned = RunOptions::of(&flags)
        .and_then(|run| Plan::resolve(&flags.targets, &run, &process_env, &config?));
    let plan = match planned {
        Ok(plan) => plan,
        Err(err) if dry_run => return Err(err),
        Err(err) => return report_refusal(&flags.targets, err, quiet, task),
    };
    if let (true, Some(action)) = (dry_run, operation.action) {
        return dry_run::run(&plan, action);
    }
    let progress = progress_for(quiet, plan.output);
    let ran = run_all(operation, task, &plan.groups, &progress, heartbeat()?).await?;
    let report = Report::merge(task, vec![ran, unready_report(task, &plan)]).in_order(&plan.order);
    output::finish(&progress, &report, plan.output)
}

/// Runs `operation` for every group at once — each cloud and region under its own client and
/// rate limit, all under one deadline — and returns one report. Interrupts (Ctrl-C, SIGTERM) end
/// the run early with the unfinished machines marked `interrupted`.
pub(super) async fn run_all(
    operation: Operation,
    task: Task,
    groups: &[GroupSettings],
    progress: &Progress,
    heartbeat: Duration,
) -> Result<Report, Error> {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let runs = groups
        .iter()
        .map(|settings| {
            let deadline = started + settings.timeout;
            let client = ApiClient::new(settings.engine(deadline))
                .map_err(|err| Error::internal(format!("cannot set up the HTTP client: {err}")))?;
            let plan = EnginePlan {
                wait: settings.wait,
                poll: settings.poll,
                reach: settings.reach.clone(),
                deadline,
            };
            let tracker = Tracker::new(settings, operation, progress);
            Ok((settings, client, tracker, plan))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let was_interrupted = {
        let work = join_all(runs.iter().map(|(settings, client, tracker, plan)| {
            engine::lifecycle::run(client, &operation, &settings.ids, plan, tracker)
        }));
        let ticker = async {
            let mut last_beat = Instant::now();
            loop {
                tokio::time::sleep(TICK).await;
                progress.tick(heartbeat, &mut last_beat);
            }
        };
        tokio::select! {
            _ = work => false,
            () = interrupted() => true,
            () = ticker => false,
        }
    };
    if was_interrupted {
        exit_on_second_interrupt();
        warn!(
            "interrupted: stopping and reporting what was requested (interrupt again to quit now)"
        );
    }
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let reports = runs
        .into_iter()
        .map(|(_, _, tracker, _)| tracker.report(task, started_at, elapsed_ms, was_interrupted));
    Ok(Report::merge(task, reports.collect()))
}

/// How often the live display is redrawn and the heartbeat considered.
const TICK: Duration = Duration::from_secs(1);
