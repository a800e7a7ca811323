//! Everything cloudstart shows: stdout and the terminal.
//!
//! This module tree is the only code that writes to stdout or stderr; the binary's `tracing`
//! subscriber hands its log lines to [`write_stderr`] too. The commands build data; this module
//! renders and writes it:
//!
//! - [`report`]: the [`Report`] of a run, as text or one JSON document;
//! - [`live`]: what is seen while machines start — the live block on a terminal, per-change and
//!   heartbeat lines elsewhere, NDJSON events on stdout;
//! - [`dry_run`] and [`config_check`]: what `start --dry-run` and `config check` print;
//! - [`color`]: whether stderr and clap's messages are coloured (`--color`, `NO_COLOR`, …).
//!
//! One policy for each stream:
//!
//! - stdout is the program's answer: a reader that went away (`| head -1`) is not an error — the
//!   machines started all the same — but any other failed write is (exit 1), since the answer was
//!   lost ([`write_stdout`]).
//! - stderr is for people: a failed write there is ignored, so `2>/dev/full` or a closed terminal
//!   never changes the exit code. While a live block is on screen, each line is drawn above it
//!   (the block is cleared, the line printed, the block redrawn), so no log line breaks the
//!   display ([`write_stderr`]).
//!
//! Text for people is [`printable`] everywhere: the clouds' control characters are escaped.

pub mod color;
pub mod config_check;
pub mod dry_run;
pub mod live;
pub mod report;

use std::borrow::Cow;
use std::io::Write;

use clap::ValueEnum;

use crate::error::Error;

pub use color::ColorChoice;
pub use live::{Mode, Progress};
pub use report::{ErrorRecord, Outcome, Record, Report, Task, SCHEMA_VERSION};

/// How the report is printed on stdout. The `--output` values are derived from it, so the flag
/// offers exactly the formats this module can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One line per machine.
    Text,
    /// One JSON document (schema in README).
    Json,
    /// One JSON event per line as things happen, then a summary (schema in README).
    Ndjson,
}

/// Writes `bytes` to stdout and flushes them. A reader that went away (`| head`) is not an
/// error; any other failed write is, because the program's answer did not arrive.
pub fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(Error::internal(format!("cannot write to stdout: {err}"))),
    }
}

/// Writes whole lines to stderr, drawn above the live block when one is on screen; a failed
/// write is ignored. The caller has made the text [`printable`].
pub fn write_stderr(text: &str) {
    live::above_the_block(text);
}

/// The run is over: NDJSON gets its last events and the summary, the live block stays as the
/// final picture, the report goes to stdout and, when something failed, a one-line summary to
/// stderr. Returns the report's exit code, or the error of a stdout that could not be written.
pub fn finish(progress: &Progress, report: &Report, format: OutputFormat) -> Result<u8, Error> {
    progress.done(report);
    let streamed = progress.stdout_error();
    report.print(format)?;
    match streamed {
        Some(err) => Err(err),
        None => Ok(report.exit_code()),
    }
}

/// `text` with every control character written as an escape, for output meant for people.
///
/// State names, error codes, messages and request ids come from the cloud. Printed raw, an ESC
/// could clear or recolour the screen and a CR or LF could forge an `error:` line. Each control
/// character (C0, DEL, C1) becomes a visible escape rather than `?` or nothing, so the text can
/// still be quoted in a support ticket: `\xNN` for C0 and DEL, `\u{NN}` for C1 — the forms
/// tracing-subscriber's own sanitiser uses, so a log line and a report line show the same text
/// the same way. Spaces and every other character (Chinese messages) stay as they are. A cloud
/// text that already holds a literal `\x1b` looks the same; the JSON outputs keep the exact text.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match u32::from(c) {
            _ if !c.is_control() => shown.push(c),
            n @ (0..=0x1f | 0x7f) => shown.push_str(&format!("\\x{n:02x}")),
            n => shown.push_str(&format!("\\u{{{n:x}}}")),
        }
    }
    Cow::Owned(shown)
}

/// Writes `line`, made [`printable`], and a newline to stderr through [`write_stderr`]: above
/// the live block if one is drawn, and never failing.
pub fn eprint_line(line: &str) {
    let mut text = printable(line).into_owned();
    text.push('\n');
    write_stderr(&text);
}

/// Writes `error: message` to stderr as [`eprint_line`] does, `error:` coloured when stderr is.
pub fn eprint_error(message: &str) {
    write_stderr(&format!("{}{}\n", color::error_tag(), printable(message)));
}

/// Prints the simulator's `<provider> http://ADDR` lines, one per cloud, and flushes them so a
/// parent process can read them at once.
pub fn print_endpoints(endpoints: &[(&str, std::net::SocketAddr)]) -> Result<(), Error> {
    let text: String = (endpoints.iter())
        .map(|(provider, addr)| format!("{provider} http://{addr}\n"))
        .collect();
    write_stdout(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_other_text_is_kept() {
        assert_eq!(printable("RUNNING"), "RUNNING");
        assert!(matches!(
            printable("实例 不存在"),
            Cow::Borrowed("实例 不存在")
        ));
        assert_eq!(
            printable("a\x1b[2J\x07\r\nerror: b\t\x7f\u{9b}c 资源"),
            r"a\x1b[2J\x07\x0d\x0aerror: b\x09\x7f\u{9b}c 资源"
        );
    }
}
