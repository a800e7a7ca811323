//! What people and pipelines see while machines start.
//!
//! - On a terminal: a live line per machine on stderr (state, elapsed time), redrawn in place
//!   and left as the final picture; coloured as [`super::color`] decides (`--color`, `NO_COLOR`).
//! - Elsewhere (cron, CI): one stderr line per state change, and a heartbeat line every
//!   `CLOUDSTART_HEARTBEAT` (default 30 s) so CI systems that kill silent jobs don't.
//! - `-q`: nothing but errors.
//! - `--output ndjson`: one JSON event per line on stdout as things happen — `start_accepted` or
//!   `stop_accepted`, `state`, `reachable`, `final` (a report record) — then a `summary`.
//!
//! The clouds' text (states, error messages) is drawn [`printable`]; the events keep it exactly.
//! A failed write to stderr is ignored, like every write to it; the events follow stdout's policy
//! ([`super::write_stdout`]) and the first failure is kept for [`super::finish`].
//!
//! The live block is the one piece of stderr that is redrawn, so every other line written to
//! stderr while it is on screen — log lines, warnings — goes through [`super::write_stderr`]: the
//! block is cleared, the line printed, the block drawn again below it. Callers never need to ask
//! whether the display is live before they log.
//!
//! The block is drawn with three ANSI sequences of its own (cursor up, clear line, clear below)
//! and [`anstyle`] for colours (already built for clap): a progress-bar crate would bring its own
//! draw thread and rate limit, and hide itself off a terminal, where the line-per-change mode and
//! the NDJSON events must stay exactly as they are.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anstyle::AnsiColor;
use serde_json::json;
use tokio::time::Instant;
use tracing::info;

use super::{eprint_error, eprint_line, printable, write_stdout, Outcome, Record, Report};
use crate::env_vars::EnvVars;
use crate::error::Error;

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Live lines redrawn in place (a terminal).
    Live {
        /// Whether to colour states.
        color: bool,
    },
    /// One line per change, plus heartbeats.
    Lines,
    /// Nothing (`-q`).
    Quiet,
}

/// Most machines drawn one per line; beyond it, a line of counts.
const MAX_LIVE_LINES: usize = 30;

/// The progress of one run, fed by the engine.
pub struct Progress {
    mode: Mode,
    ndjson: bool,
    started: Instant,
    machines: RefCell<Vec<Machine>>,
    /// Where each (cloud, id) is in `machines`: an event finds its machine in constant time,
    /// so 10,000 of them end in milliseconds rather than a second.
    index: RefCell<HashMap<(&'static str, String), usize>>,
    /// Machines with an outcome, counted as they get one.
    finished: Cell<usize>,
    streamed: RefCell<HashSet<(String, String)>>,
    /// The first failed write of an event to stdout other than a closed reader.
    stdout_failed: RefCell<Option<Error>>,
    /// Whether this display holds the screen's live block (drawn and not yet left behind).
    holds_block: Cell<bool>,
}

struct Machine {
    provider: &'static str,
    id: String,
    status: String,
    outcome: Option<Outcome>,
    since: Instant,
}

impl Progress {
    /// Progress shown in `mode`, with NDJSON events on stdout when `ndjson`.
    pub fn new(mode: Mode, ndjson: bool) -> Self {
        Self {
            mode,
            ndjson,
            started: Instant::now(),
            machines: RefCell::new(Vec::new()),
            index: RefCell::new(HashMap::new()),
            finished: Cell::new(0),
            streamed: RefCell::new(HashSet::new()),
            stdout_failed: RefCell::new(None),
            holds_block: Cell::new(false),
        }
    }

    /// The mode for stderr: live on a terminal, lines elsewhere, nothing with `quiet`. Colour
    /// never turns the live block on: `--color always` off a terminal still gets lines.
    pub fn mode_for_stderr(quiet: bool, env: &dyn Fn(&str) -> Option<String>) -> Mode {
        use std::io::IsTerminal;
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() && env(EnvVars::TERM).as_deref() != Some("dumb") {
            Mode::Live {
                color: super::color::stderr_color(),
            }
        } else {
            Mode::Lines
        }
    }

    /// Whether state changes are drawn live (so they need no log line).
    pub fn is_live(&self) -> bool {
        matches!(self.mode, Mode::Live { .. })
    }

    /// A line about the run's progress (`tencent start accepted for 3 machines`), logged at
    /// `info` unless the live block already shows it.
    pub fn note(&self, line: std::fmt::Arguments<'_>) {
        if !self.is_live() {
            info!("{line}");
        }
    }

    /// A machine the run will act on.
    pub fn requested(&self, provider: &'static str, id: &str) {
        let mut machines = self.machines.borrow_mut();
        (self.index.borrow_mut())
            .entry((provider, id.to_string()))
            .or_insert(machines.len());
        machines.push(Machine {
            provider,
            id: id.to_string(),
            status: "requested".into(),
            outcome: None,
            since: Instant::now(),
        });
    }

    /// The cloud accepted a start or stop (`action`: `start`, `stop`): an NDJSON
    /// `start_accepted` or `stop_accepted` event.
    pub fn accepted(&self, action: &str, provider: &'static str, id: &str, job_id: Option<&str>) {
        self.event(json!({
            "event": format!("{action}_accepted"), "provider": provider, "id": id,
            "job_id": job_id,
        }));
        self.update(provider, id, &format!("{action} accepted"), None);
    }

    /// A machine was seen in a state other than the one seen before.
    pub fn state(&self, provider: &'static str, id: &str, state: &str) {
        self.event(json!({ "event": "state", "provider": provider, "id": id, "state": state }));
        if !self.is_live() {
            info!("{provider} {id}: {state}");
        }
        self.update(provider, id, state, None);
    }

    /// A running machine's port accepted a connection (`--wait-port`).
    pub fn reachable(&self, provider: &'static str, id: &str, address: &str) {
        self.event(json!({
            "event": "reachable", "provider": provider, "id": id, "address": address,
        }));
        if !self.is_live() {
            info!("{provider} {id}: {address} accepts connections");
        }
        self.update(provider, id, &format!("{address} open"), None);
    }

    /// A machine's outcome is known.
    pub fn finished(&self, record: &Record) {
        self.streamed
            .borrow_mut()
            .insert((record.provider.to_string(), record.id.clone()));
        self.event(json!({ "event": "final", "record": record }));
        let status = match &record.error {
            Some(error) => format!("{}: {}", record.outcome.as_str(), error.message),
            None => record.outcome.as_str().to_string(),
        };
        self.update(record.provider, &record.id, &status, Some(record.outcome));
    }

    /// Called every second: redraws live lines; elsewhere, a heartbeat every `heartbeat`.
    pub fn tick(&self, heartbeat: Duration, last_beat: &mut Instant) {
        match self.mode {
            Mode::Live { .. } => self.draw(),
            Mode::Lines if last_beat.elapsed() >= heartbeat => {
                *last_beat = Instant::now();
                let total = self.machines.borrow().len();
                let waiting = total - self.finished.get();
                eprint_line(&format!(
                    "still waiting for {waiting} of {total} machine{} ({}s)",
                    if total == 1 { "" } else { "s" },
                    self.started.elapsed().as_secs()
                ));
            }
            _ => {}
        }
    }

    /// The run is over: the last live picture stays; NDJSON gets the outcomes not yet streamed
    /// (interrupted machines) and a summary.
    pub fn done(&self, report: &Report) {
        if self.is_live() {
            self.draw();
            self.leave_block();
        }
        if self.mode == Mode::Quiet {
            // `-q` keeps every error: each machine that failed and why, so the mail a cron job
            // sends has the reasons and not only the count.
            for failure in report.instances.iter().filter_map(Record::failure) {
                eprint_error(&failure);
            }
        }
        if self.ndjson {
            for record in &report.instances {
                let key = (record.provider.to_string(), record.id.clone());
                if !self.streamed.borrow().contains(&key) {
                    self.event(json!({ "event": "final", "record": record }));
                }
            }
            self.event(json!({
                "event": "summary", "schema_version": report.schema_version,
                "command": report.command, "started_at": report.started_at_text(),
                "elapsed_ms": report.elapsed_ms, "exit_code": report.exit_code(),
            }));
        }
    }

    fn update(&self, provider: &str, id: &str, status: &str, outcome: Option<Outcome>) {
        let mut machines = self.machines.borrow_mut();
        let at = self
            .index
            .borrow()
            .get(&(provider, id.to_string()))
            .copied();
        if let Some(machine) = at.and_then(|at| machines.get_mut(at)) {
            if machine.status != status {
                machine.since = Instant::now();
            }
            machine.status = status.to_string();
            if machine.outcome.is_none() && outcome.is_some() {
                self.finished.set(self.finished.get() + 1);
            }
            machine.outcome = outcome.or(machine.outcome);
        }
        drop(machines);
        if self.is_live() {
            self.draw();
        }
    }

    /// The first failed write of an event to stdout, other than a reader that went away.
    pub fn stdout_error(&self) -> Option<Error> {
        self.stdout_failed.borrow_mut().take()
    }

    fn event(&self, mut event: serde_json::Value) {
        if !self.ndjson || self.stdout_failed.borrow().is_some() {
            return;
        }
        event["time"] =
            json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        // A pipeline that stopped reading does not stop the machines; a stdout that fails
        // otherwise gets no more events, and the run ends with its error.
        if let Err(err) = write_stdout(format!("{event}\n").as_bytes()) {
            self.stdout_failed.replace(Some(err));
        }
    }

    /// Redraws the live block in place.
    fn draw(&self) {
        let Mode::Live { color } = self.mode else {
            return;
        };
        let machines = self.machines.borrow();
        let lines: Vec<String> = if machines.len() <= MAX_LIVE_LINES {
            let width = machines
                .iter()
                .map(|m| m.provider.len() + m.id.len() + 1)
                .max()
                .unwrap_or(0);
            machines
                .iter()
                .map(|m| {
                    let name = printable(&format!("{} {}", m.provider, m.id)).into_owned();
                    let status = paint(&printable(&m.status), m.outcome, color);
                    let elapsed = m.since.elapsed().as_secs();
                    format!("{name:<width$}  {status} ({elapsed}s)")
                })
                .collect()
        } else {
            vec![format!(
                "{} of {} machines finished ({}s)",
                self.finished.get(),
                machines.len(),
                self.started.elapsed().as_secs()
            )]
        };
        drop(machines);
        redraw(&lines);
        self.holds_block.set(true);
    }

    /// Leaves the live block on screen as it is; later lines go below it.
    fn leave_block(&self) {
        if self.holds_block.replace(false) {
            let mut screen = screen();
            screen.block.clear();
            screen.lines = 0;
        }
    }
}

impl Drop for Progress {
    /// A run that ended in an error leaves its last picture too, and the error goes below it.
    fn drop(&mut self) {
        self.leave_block();
    }
}

/// The live block on screen, shared by the display and every other writer to stderr.
struct Screen {
    /// The block as last drawn: each line cleared and rewritten, and ended by a newline.
    block: String,
    /// How many lines the block takes; 0 when there is none on screen.
    lines: usize,
}

static SCREEN: Mutex<Screen> = Mutex::new(Screen {
    block: String::new(),
    lines: 0,
});

/// The screen, even after a panic elsewhere while it was held: it is only text.
fn screen() -> MutexGuard<'static, Screen> {
    SCREEN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Replaces the live block with `lines`.
fn redraw(lines: &[String]) {
    let text = screen().redraw(lines);
    write_unfailing(&text);
}

/// Writes `text` (whole lines) to stderr; while a live block is on screen, above it.
pub(super) fn above_the_block(text: &str) {
    let screen = screen();
    write_unfailing(&screen.above(text));
}

impl Screen {
    /// What replaces the block with `lines`: the cursor goes up over the old block, each line is
    /// cleared and rewritten, and anything left below is cleared.
    fn redraw(&mut self, lines: &[String]) -> String {
        let mut text = String::new();
        if self.lines > 0 {
            text.push_str(&format!("\x1b[{}A", self.lines));
        }
        let block: String = (lines.iter())
            .map(|line| format!("\r\x1b[2K{line}\n"))
            .collect();
        text.push_str(&block);
        if lines.len() < self.lines {
            text.push_str("\x1b[J");
        }
        self.block = block;
        self.lines = lines.len();
        text
    }

    /// What puts `text` where the block is and draws the block again below it: the cursor goes
    /// up over the block and everything below is cleared first.
    fn above(&self, text: &str) -> String {
        if self.lines == 0 {
            return text.to_string();
        }
        format!("\x1b[{}A\r\x1b[J{text}{}", self.lines, self.block)
    }
}

/// stderr is for people: a full disk or a reader that went away there must not turn a run that
/// did its work into a panic or another exit code, so a failed write is dropped.
fn write_unfailing(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// A status in its outcome's colour: green for success, red for failure, yellow in between.
fn paint(status: &str, outcome: Option<Outcome>, color: bool) -> String {
    if !color {
        return status.to_string();
    }
    let style = match outcome {
        Some(
            Outcome::Running
            | Outcome::AlreadyRunning
            | Outcome::Starting
            | Outcome::Stopped
            | Outcome::AlreadyStopped
            | Outcome::Stopping
            | Outcome::Observed,
        ) => AnsiColor::Green,
        Some(_) => AnsiColor::Red,
        None => AnsiColor::Yellow,
    }
    .on_default();
    format!("{style}{status}{style:#}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_written_under_a_live_block_goes_above_it_and_the_block_is_drawn_again() {
        let mut screen = Screen {
            block: String::new(),
            lines: 0,
        };
        assert_eq!(screen.above("warning: a\n"), "warning: a\n");
        let first = screen.redraw(&["tencent ins-a  STARTING (1s)".into(), "b".into()]);
        assert_eq!(first, "\r\x1b[2Ktencent ins-a  STARTING (1s)\n\r\x1b[2Kb\n");
        assert_eq!(
            screen.above("warning: a\n"),
            format!("\x1b[2A\r\x1b[Jwarning: a\n{first}")
        );
        let second = screen.redraw(&["c".into()]);
        assert_eq!(second, "\x1b[2A\r\x1b[2Kc\n\x1b[J");
    }

    #[test]
    fn states_are_painted_by_outcome_and_plain_without_colour() {
        assert_eq!(paint("STARTING", None, true), "\x1b[33mSTARTING\x1b[0m");
        assert_eq!(
            paint("running", Some(Outcome::Running), true),
            "\x1b[32mrunning\x1b[0m"
        );
        assert_eq!(
            paint("failed", Some(Outcome::Failed), true),
            "\x1b[31mfailed\x1b[0m"
        );
        assert_eq!(paint("failed", Some(Outcome::Failed), false), "failed");
    }
}
