//! Interrupts: Ctrl-C, SIGTERM and SIGHUP end a run early with a report; a second one quits at
//! once. Signals that arrive together (within [`GRACE`]) are one interrupt.

use std::time::Duration;

use tracing::{debug, warn};

use crate::output;

/// Signals this soon after the first interrupt are part of it: one Ctrl-C under GNU `timeout`
/// reaches the process group as SIGINT, SIGCONT, SIGINT within a tenth of a millisecond, and a
/// person who means "quit now" presses again well after this.
const GRACE: Duration = Duration::from_millis(300);

/// From now on, another Ctrl-C, SIGTERM or SIGHUP ends the process at once with exit code 130,
/// even if writing the report blocks. The signal handlers stay installed, so a watcher thread
/// takes over. A signal within [`GRACE`] of the first counts as the same interrupt, unless the
/// report is still being written when the grace ends (its write is blocked): then it quits too.
pub(super) fn exit_on_second_interrupt() {
    let first = std::time::Instant::now();
    let (ready, listening) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("second-interrupt".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    let mut interrupts = Interrupts::listen();
                    let _ = ready.send(());
                    second_request(&mut interrupts, first.into()).await;
                });
                std::process::exit(130);
            }
        });
    match spawned {
        // Wait until the watcher listens, so a second signal sent right after the first is not
        // lost in between; a watcher that cannot start is not waited for long.
        Ok(_) => {
            let _ = listening.recv_timeout(Duration::from_secs(1));
        }
        Err(err) => warn!("cannot watch for a second interrupt: {err}"),
    }
}

/// Resolves when an interrupt after the one at `first` is a request to quit now: one that
/// arrives after [`GRACE`], or one within it while stdout is still being written when the grace
/// ends.
async fn second_request(interrupts: &mut Interrupts, first: tokio::time::Instant) {
    let grace_end = first + GRACE;
    let mut held = false;
    loop {
        tokio::select! {
            () = interrupts.next() => {
                if tokio::time::Instant::now() >= grace_end {
                    return;
                }
                held = true;
            }
            () = tokio::time::sleep_until(grace_end), if held => {
                if output::stdout_busy() {
                    return;
                }
                debug!("signals within {GRACE:?} of the first count as the same interrupt");
                held = false;
            }
        }
    }
}

/// The signals that interrupt a run — Ctrl-C (SIGINT), SIGTERM and SIGHUP — listened for from
/// the moment [`Interrupts::listen`] is called. SIGHUP counts too: a closed terminal or SSH
/// session should end the run with a report, not kill it silently.
pub(super) struct Interrupts {
    #[cfg(unix)]
    streams: Vec<tokio::signal::unix::Signal>,
}

impl Interrupts {
    /// Starts listening; must be called inside a tokio runtime. A signal that cannot be watched
    /// is never taken for one that arrived.
    pub(super) fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let kinds = [
                SignalKind::interrupt(),
                SignalKind::terminate(),
                SignalKind::hangup(),
            ];
            let streams = kinds.into_iter().filter_map(|k| signal(k).ok()).collect();
            Self { streams }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves on the next interrupting signal.
    pub(super) async fn next(&mut self) {
        #[cfg(unix)]
        {
            if self.streams.is_empty() {
                return std::future::pending().await;
            }
            let arrivals = self.streams.iter_mut().map(|s| Box::pin(s.recv()));
            futures_util::future::select_all(arrivals).await;
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Resolves on the first interrupting signal from now on (see [`Interrupts`]).
pub(super) async fn interrupted() {
    Interrupts::listen().next().await;
}
