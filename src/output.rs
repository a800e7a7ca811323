//! The report: its public shape and the only code that writes to stdout.
//!
//! `--output json` prints exactly one JSON document whose schema README.md documents and
//! `tests/cli.rs` re-declares with `deny_unknown_fields`; text prints one line per machine. Both
//! list every target exactly once, in the order given.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;

use serde::Serialize;

use crate::cli::OutputFormat;
use crate::error::ErrorKind;

/// Version of the JSON report's shape; bumped only on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The outcome of a whole run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Wall time of the run in milliseconds.
    pub elapsed_ms: u64,
    /// One record per target, in the order given.
    pub instances: Vec<Record>,
}

/// One machine's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// The `--provider` value.
    pub provider: &'static str,
    /// The region, for clouds that have one.
    pub region: Option<String>,
    /// The instance id as given.
    pub id: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The cloud's own state name as last seen.
    pub state: Option<String>,
    /// The cloud's asynchronous job for the start, where it reports one (QingCloud).
    pub job_id: Option<String>,
    /// Why it failed; `null` on success.
    pub error: Option<ErrorRecord>,
}

/// How one machine ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It reached RUNNING.
    Running,
    /// Its start was accepted (`--no-wait`).
    Starting,
    /// It was running before we asked.
    AlreadyRunning,
    /// It failed; see `error`.
    Failed,
    /// The deadline passed before it was RUNNING.
    Timeout,
    /// The run was interrupted before it finished.
    Interrupted,
    /// Its state was looked at (`cloudstart status`).
    Observed,
}

impl Outcome {
    /// The name in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Running => "running",
            Outcome::Starting => "starting",
            Outcome::AlreadyRunning => "already_running",
            Outcome::Failed => "failed",
            Outcome::Timeout => "timeout",
            Outcome::Interrupted => "interrupted",
            Outcome::Observed => "observed",
        }
    }
}

/// Why a machine failed.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRecord {
    /// Who must act; decides the exit code.
    pub kind: ErrorKind,
    /// The cloud's error code (or failure state), when there is one.
    pub code: Option<String>,
    /// What happened, in words.
    pub message: String,
    /// The cloud's request id, for support tickets.
    pub request_id: Option<String>,
}

impl Report {
    /// One report of several runs that went on side by side.
    pub fn merge(reports: Vec<Report>) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            elapsed_ms: reports.iter().map(|r| r.elapsed_ms).max().unwrap_or(0),
            instances: reports.into_iter().flat_map(|r| r.instances).collect(),
        }
    }

    /// The records reordered as `order` lists `(cloud, id)` pairs; records it does not list keep
    /// their place after the listed ones.
    pub fn in_order(mut self, order: &[(&str, String)]) -> Report {
        let rank: std::collections::HashMap<(&str, &str), usize> = order
            .iter()
            .enumerate()
            .map(|(n, (cloud, id))| ((*cloud, id.as_str()), n))
            .collect();
        self.instances.sort_by_key(|record| {
            rank.get(&(record.provider, record.id.as_str()))
                .copied()
                .unwrap_or(usize::MAX)
        });
        self
    }

    /// The exit code: 0 when every machine succeeded, else the most severe error kind's code.
    pub fn exit_code(&self) -> u8 {
        self.instances
            .iter()
            .filter_map(|r| r.error.as_ref().map(|e| e.kind))
            .reduce(ErrorKind::most_severe)
            .map_or(0, ErrorKind::exit_code)
    }

    /// Prints the report on stdout and, when something failed, a one-line summary on stderr.
    pub fn print(&self, format: OutputFormat) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        match format {
            OutputFormat::Json => {
                serde_json::to_writer(&mut out, self)?;
                writeln!(out)?;
            }
            OutputFormat::Text => self.write_text(&mut out)?,
            // The events and the summary were streamed as the run went.
            OutputFormat::Ndjson => {}
        }
        out.flush()?;
        let failed = self.instances.iter().filter(|r| r.error.is_some()).count();
        if failed > 0 {
            eprintln!(
                "error: {failed} of {} machine{} did not start (exit {})",
                self.instances.len(),
                if self.instances.len() == 1 { "" } else { "s" },
                self.exit_code()
            );
        }
        Ok(())
    }

    fn write_text(&self, out: &mut impl Write) -> std::io::Result<()> {
        let id_width = self.instances.iter().map(|r| r.id.len()).max().unwrap_or(0);
        for record in &self.instances {
            let state = record.state.as_deref().unwrap_or("-");
            let line = format!(
                "{:id_width$}  {:15}  {:13}  {}",
                record.id,
                record.outcome.as_str(),
                state,
                record.location()
            );
            match &record.error {
                None => writeln!(out, "{}", line.trim_end())?,
                Some(error) => writeln!(out, "{line}  {}", error.describe())?,
            }
        }
        Ok(())
    }
}

impl Record {
    fn location(&self) -> String {
        match &self.region {
            Some(region) => format!("{} {region}", self.provider),
            None => self.provider.to_string(),
        }
    }
}

impl ErrorRecord {
    /// `code: message (request id …)`, for text output.
    fn describe(&self) -> String {
        let mut text = match &self.code {
            Some(code) => format!("{code}: {}", self.message),
            None => self.message.clone(),
        };
        if let Some(id) = &self.request_id {
            text.push_str(&format!(" (request id {id})"));
        }
        text
    }
}

/// Prints the simulator's `<provider> http://ADDR` lines, one per cloud, and flushes them so a
/// parent process can read them at once.
pub fn print_endpoints(endpoints: &[(&str, std::net::SocketAddr)]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for (provider, addr) in endpoints {
        writeln!(out, "{provider} http://{addr}")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, outcome: Outcome, error: Option<ErrorKind>) -> Record {
        Record {
            provider: "tencent",
            region: Some("ap-guangzhou".into()),
            id: id.into(),
            outcome,
            state: Some("RUNNING".into()),
            job_id: None,
            error: error.map(|kind| ErrorRecord {
                kind,
                code: Some("Code".into()),
                message: "message".into(),
                request_id: Some("req".into()),
            }),
        }
    }

    #[test]
    fn exit_code_is_zero_when_all_succeeded() {
        let report = Report {
            schema_version: SCHEMA_VERSION,
            elapsed_ms: 1,
            instances: vec![
                record("ins-aaaaaaaa", Outcome::Running, None),
                record("ins-bbbbbbbb", Outcome::AlreadyRunning, None),
            ],
        };
        assert_eq!(report.exit_code(), 0);
    }

    #[test]
    fn exit_code_is_the_most_severe() {
        let report = Report {
            schema_version: SCHEMA_VERSION,
            elapsed_ms: 1,
            instances: vec![
                record("ins-aaaaaaaa", Outcome::Timeout, Some(ErrorKind::Timeout)),
                record("ins-bbbbbbbb", Outcome::Failed, Some(ErrorKind::Api)),
                record("ins-cccccccc", Outcome::Running, None),
            ],
        };
        assert_eq!(report.exit_code(), 4);
    }

    #[test]
    fn text_has_one_line_per_machine_with_errors_inline() {
        let report = Report {
            schema_version: SCHEMA_VERSION,
            elapsed_ms: 1,
            instances: vec![
                record("ins-aaaaaaaa", Outcome::Running, None),
                record("ins-bbbbbbbb", Outcome::Failed, Some(ErrorKind::Api)),
            ],
        };
        let mut out = Vec::new();
        report.write_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("ins-aaaaaaaa  running"));
        assert!(lines[1].ends_with("Code: message (request id req)"));
    }
}
