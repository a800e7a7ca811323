//! What people and pipelines see while machines start.
//!
//! - On a terminal: a live line per machine on stderr (state, elapsed time), redrawn in place
//!   and left as the final picture; colours unless `NO_COLOR` is set.
//! - Elsewhere (cron, CI): one stderr line per state change, and a heartbeat line every
//!   `CLOUDSTART_HEARTBEAT` (default 30 s) so CI systems that kill silent jobs don't.
//! - `-q`: nothing but errors.
//! - `--output ndjson`: one JSON event per line on stdout as things happen — `start_accepted`,
//!   `state`, `final` (a report record) — then a `summary`.
//!
//! The clouds' text (states, error messages) is drawn [`printable`]; the events keep it exactly.
//! A failed write to stderr is ignored, like every write to it.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;
use tracing::info;

use crate::output::{eprint_line, printable, Outcome, Record, Report};

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
    streamed: RefCell<HashSet<(String, String)>>,
    drawn: Cell<usize>,
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
            streamed: RefCell::new(HashSet::new()),
            drawn: Cell::new(0),
        }
    }

    /// The mode for stderr: live on a terminal, lines elsewhere, nothing with `quiet`.
    pub fn mode_for_stderr(quiet: bool, env: &dyn Fn(&str) -> Option<String>) -> Mode {
        use std::io::IsTerminal;
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() && env("TERM").as_deref() != Some("dumb") {
            Mode::Live {
                color: env("NO_COLOR").is_none(),
            }
        } else {
            Mode::Lines
        }
    }

    /// Whether state changes are drawn live (so they need no log line).
    pub fn is_live(&self) -> bool {
        matches!(self.mode, Mode::Live { .. })
    }

    /// A machine the run will act on.
    pub fn requested(&self, provider: &'static str, id: &str) {
        self.machines.borrow_mut().push(Machine {
            provider,
            id: id.to_string(),
            status: "requested".into(),
            outcome: None,
            since: Instant::now(),
        });
    }

    /// The cloud accepted a start.
    pub fn accepted(&self, provider: &'static str, id: &str, job_id: Option<&str>) {
        self.event(json!({
            "event": "start_accepted", "provider": provider, "id": id, "job_id": job_id,
        }));
        self.update(provider, id, "start accepted", None);
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
                let machines = self.machines.borrow();
                let waiting = machines.iter().filter(|m| m.outcome.is_none()).count();
                eprint_line(&format!(
                    "still waiting for {waiting} of {} machine{} ({}s)",
                    machines.len(),
                    if machines.len() == 1 { "" } else { "s" },
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
                "elapsed_ms": report.elapsed_ms, "exit_code": report.exit_code(),
            }));
        }
    }

    fn update(&self, provider: &str, id: &str, status: &str, outcome: Option<Outcome>) {
        let mut machines = self.machines.borrow_mut();
        if let Some(machine) = machines
            .iter_mut()
            .find(|m| m.provider == provider && m.id == id)
        {
            if machine.status != status {
                machine.since = Instant::now();
            }
            machine.status = status.to_string();
            machine.outcome = outcome.or(machine.outcome);
        }
        drop(machines);
        if self.is_live() {
            self.draw();
        }
    }

    fn event(&self, mut event: serde_json::Value) {
        if !self.ndjson {
            return;
        }
        event["time"] =
            json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        let mut out = std::io::stdout().lock();
        // A pipeline that stopped reading does not stop the machines.
        let _ = writeln!(out, "{event}").and_then(|()| out.flush());
    }

    /// Redraws the live block in place.
    fn draw(&self) {
        let Mode::Live { color } = self.mode else {
            return;
        };
        let machines = self.machines.borrow();
        let mut lines: Vec<String> = if machines.len() <= MAX_LIVE_LINES {
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
            let done = machines.iter().filter(|m| m.outcome.is_some()).count();
            vec![format!(
                "{done} of {} machines finished ({}s)",
                machines.len(),
                self.started.elapsed().as_secs()
            )]
        };
        let mut out = std::io::stderr().lock();
        let mut text = String::new();
        if self.drawn.get() > 0 {
            text.push_str(&format!("\x1b[{}A", self.drawn.get()));
        }
        for line in lines.drain(..) {
            text.push_str("\r\x1b[2K");
            text.push_str(&line);
            text.push('\n');
        }
        self.drawn.set(if machines.len() <= MAX_LIVE_LINES {
            machines.len()
        } else {
            1
        });
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }
}

/// A status in its outcome's colour: green for success, red for failure, yellow in between.
fn paint(status: &str, outcome: Option<Outcome>, color: bool) -> String {
    if !color {
        return status.to_string();
    }
    let code = match outcome {
        Some(
            Outcome::Running | Outcome::AlreadyRunning | Outcome::Starting | Outcome::Observed,
        ) => "32",
        Some(_) => "31",
        None => "33",
    };
    format!("\x1b[{code}m{status}\x1b[0m")
}
