//! The report: the public shape of a run's outcome, and its text and JSON renderings.
//!
//! `--output json` prints exactly one JSON document whose schema README.md documents and
//! `tests/it/contract.rs` re-declares with `deny_unknown_fields`; text prints one line per machine,
//! its address in a column of its own. Both list every target exactly once, in the order given.
//! With `--output ndjson` the records were streamed by [`super::live`] and nothing is printed here.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{eprint_error, printable, write_stdout, OutputFormat};
use crate::error::{Error, ErrorKind};
use crate::provider::Addresses;

/// Version of the JSON report's shape; bumped only on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The outcome of a whole run. Its JSON form adds the run's `exit_code`.
#[derive(Debug)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The subcommand that made it.
    pub command: Task,
    /// When the run began (RFC 3339 in JSON).
    pub started_at: DateTime<Utc>,
    /// Wall time of the run in milliseconds.
    pub elapsed_ms: u64,
    /// One record per target, in the order given.
    pub instances: Vec<Record>,
}

impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'r> {
            schema_version: u32,
            command: Task,
            started_at: String,
            elapsed_ms: u64,
            exit_code: u8,
            instances: &'r [Record],
        }
        Shown {
            schema_version: self.schema_version,
            command: self.command,
            started_at: self.started_at_text(),
            elapsed_ms: self.elapsed_ms,
            exit_code: self.exit_code(),
            instances: &self.instances,
        }
        .serialize(serializer)
    }
}

/// One machine's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// The `--provider` value.
    pub provider: &'static str,
    /// The region, for clouds that have one.
    pub region: Option<String>,
    /// The zone, for clouds that have one: the cloud's answer, else the zone the run used;
    /// `null` when neither is known.
    pub zone: Option<String>,
    /// The instance id as given.
    pub id: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The cloud's own state name as last seen.
    pub state: Option<String>,
    /// The cloud's asynchronous job for the start or stop, where it reports one (QingCloud).
    pub job_id: Option<String>,
    /// The last addresses the cloud reported for it; empty lists when it reported none.
    pub addresses: Addresses,
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
    /// It reached STOPPED.
    Stopped,
    /// Its stop was accepted (`--no-wait`).
    Stopping,
    /// It was stopped before we asked.
    AlreadyStopped,
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
            Outcome::Stopped => "stopped",
            Outcome::Stopping => "stopping",
            Outcome::AlreadyStopped => "already_stopped",
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

/// The subcommand a report is of: its `command` field, and the stderr line that counts the
/// failed machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// `start`: the failed ones "did not start".
    Start,
    /// `stop`: the failed ones "did not stop".
    Stop,
    /// `wait`: the failed ones did not reach the state waited for.
    Wait,
    /// `status`: the failed ones could not be looked up — nothing was started.
    Status,
}

impl Task {
    /// The subcommand's name: `start`, `stop`, `wait` or `status`.
    pub fn name(self) -> &'static str {
        match self {
            Task::Start => "start",
            Task::Stop => "stop",
            Task::Wait => "wait",
            Task::Status => "status",
        }
    }

    fn failed(self) -> &'static str {
        match self {
            Task::Start => "did not start",
            Task::Stop => "did not stop",
            Task::Wait => "did not reach the state waited for",
            Task::Status => "could not be looked up",
        }
    }
}

impl Report {
    /// A report of `command`, begun now, with no machine yet.
    pub fn new(command: Task) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            command,
            started_at: Utc::now(),
            elapsed_ms: 0,
            instances: Vec::new(),
        }
    }

    /// One report of several runs of `command` that went on side by side: begun with the first.
    pub fn merge(command: Task, reports: Vec<Report>) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            command,
            started_at: (reports.iter().map(|r| r.started_at).min()).unwrap_or_else(Utc::now),
            elapsed_ms: reports.iter().map(|r| r.elapsed_ms).max().unwrap_or(0),
            instances: reports.into_iter().flat_map(|r| r.instances).collect(),
        }
    }

    /// When the run began, RFC 3339 UTC with milliseconds (as the NDJSON events' `time`).
    pub fn started_at_text(&self) -> String {
        (self.started_at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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
    /// A reader that went away is not an error (see [`write_stdout`]).
    pub fn print(&self, format: OutputFormat) -> Result<(), Error> {
        let mut out = Vec::new();
        let rendered = match format {
            OutputFormat::Json => serde_json::to_writer(&mut out, self)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out)),
            OutputFormat::Text => self.write_text(&mut out),
            // The events and the summary were streamed as the run went.
            OutputFormat::Ndjson => Ok(()),
        };
        rendered.map_err(|err| Error::internal(format!("cannot render the report: {err}")))?;
        let written = write_stdout(&out);
        let failed = self.instances.iter().filter(|r| r.error.is_some()).count();
        if failed > 0 {
            eprint_error(&format!(
                "{failed} of {} machine{} {} (exit {})",
                self.instances.len(),
                if self.instances.len() == 1 { "" } else { "s" },
                self.command.failed(),
                self.exit_code()
            ));
        }
        written
    }

    fn write_text(&self, out: &mut impl Write) -> std::io::Result<()> {
        let id_width = self.instances.iter().map(|r| r.id.len()).max().unwrap_or(0);
        let address_width = (self.instances.iter())
            .map(|r| r.address().chars().count())
            .max()
            .unwrap_or(0);
        for record in &self.instances {
            let state = record.state.as_deref().unwrap_or("-");
            let line = format!(
                "{:id_width$}  {:15}  {:13}  {:address_width$}  {}",
                record.id,
                record.outcome.as_str(),
                state,
                record.address(),
                record.location()
            );
            let line = match &record.error {
                None => line.trim_end().to_string(),
                Some(error) => format!("{line}  {}", error.describe()),
            };
            writeln!(out, "{}", printable(&line))?;
        }
        Ok(())
    }
}

impl Record {
    /// The address to show a person: the first public one, else the first private one, else `-`.
    fn address(&self) -> &str {
        self.addresses.preferred().unwrap_or("-")
    }

    /// `tencent:ins-… (ap-guangzhou): code: message (request id …)` for a machine that failed.
    pub(super) fn failure(&self) -> Option<String> {
        let error = self.error.as_ref()?;
        let region = (self.region.as_ref())
            .map(|region| format!(" ({region})"))
            .unwrap_or_default();
        Some(format!(
            "{}:{}{region}: {}",
            self.provider,
            self.id,
            error.describe()
        ))
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, outcome: Outcome, error: Option<ErrorKind>) -> Record {
        Record {
            provider: "tencent",
            region: Some("ap-guangzhou".into()),
            zone: None,
            id: id.into(),
            outcome,
            state: Some("RUNNING".into()),
            job_id: None,
            addresses: Addresses::default(),
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
            command: Task::Start,
            started_at: Utc::now(),
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
            command: Task::Start,
            started_at: Utc::now(),
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
            command: Task::Start,
            started_at: Utc::now(),
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

    #[test]
    fn text_shows_the_first_public_address_else_the_first_private_one_in_a_column() {
        let mut public = record("ins-aaaaaaaa", Outcome::Running, None);
        public.addresses = Addresses {
            public: vec!["203.0.113.10".into(), "203.0.113.11".into()],
            private: vec!["10.0.0.10".into()],
        };
        let mut private = record("ins-bbbbbbbb", Outcome::Running, None);
        private.addresses.private = vec!["10.0.0.11".into()];
        let none = record("ins-cccccccc", Outcome::Failed, Some(ErrorKind::Api));
        let report = Report {
            schema_version: SCHEMA_VERSION,
            command: Task::Start,
            started_at: Utc::now(),
            elapsed_ms: 1,
            instances: vec![public, private, none],
        };
        let mut out = Vec::new();
        report.write_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "ins-aaaaaaaa  running          RUNNING        203.0.113.10  tencent ap-guangzhou"
        );
        assert_eq!(
            lines[1],
            "ins-bbbbbbbb  running          RUNNING        10.0.0.11     tencent ap-guangzhou"
        );
        assert!(
            lines[2].starts_with(
                "ins-cccccccc  failed           RUNNING        -             tencent ap-guangzhou  Code:"
            ),
            "{text}"
        );
    }

    #[test]
    fn json_records_always_carry_both_address_lists() {
        let mut running = record("ins-aaaaaaaa", Outcome::Running, None);
        running.addresses.public = vec!["203.0.113.10".into()];
        let json = serde_json::to_value(&running).unwrap();
        assert_eq!(
            json["addresses"],
            serde_json::json!({ "public": ["203.0.113.10"], "private": [] })
        );
        let failed = record("ins-bbbbbbbb", Outcome::Failed, Some(ErrorKind::Auth));
        let json = serde_json::to_value(&failed).unwrap();
        assert_eq!(
            json["addresses"],
            serde_json::json!({ "public": [], "private": [] })
        );
    }

    #[test]
    fn the_text_report_shows_the_cloud_s_control_characters_escaped() {
        let mut failed = record("ins-aaaaaaaa", Outcome::Failed, Some(ErrorKind::Api));
        failed.state = Some("RUN\x1bNING".into());
        if let Some(error) = failed.error.as_mut() {
            error.code = Some("E\r\nerror: forged".into());
        }
        let report = Report {
            schema_version: SCHEMA_VERSION,
            command: Task::Start,
            started_at: Utc::now(),
            elapsed_ms: 1,
            instances: vec![failed],
        };
        let mut out = Vec::new();
        report.write_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1, "{text:?}");
        assert!(text.contains(r"RUN\x1bNING"), "{text:?}");
        assert!(
            text.contains(r"E\x0d\x0aerror: forged: message"),
            "{text:?}"
        );
    }
}
