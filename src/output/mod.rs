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
use std::sync::atomic::{AtomicBool, Ordering};

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
    STDOUT_BUSY.store(true, Ordering::SeqCst);
    let written = out.write_all(bytes).and_then(|()| out.flush());
    STDOUT_BUSY.store(false, Ordering::SeqCst);
    match written {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(Error::internal(format!("cannot write to stdout: {err}"))),
    }
}

/// Set while [`write_stdout`] writes (see [`stdout_busy`]).
static STDOUT_BUSY: AtomicBool = AtomicBool::new(false);

/// Whether a [`write_stdout`] is under way right now: one still going long after it began is
/// blocked (a reader that stopped reading), which a second interrupt must be able to cut short.
pub fn stdout_busy() -> bool {
    STDOUT_BUSY.load(Ordering::SeqCst)
}

/// Whether stdout looks closed when the program started (`cloudstart … >&-`). Rust's runtime
/// opens `/dev/null` (read-write) in place of a closed standard descriptor before `main`, so
/// writes then succeed and the report vanishes without an error. A shell's `>/dev/null` opens it
/// write-only, and a daemon that points every stream at `/dev/null` points stderr there too; what
/// is left — a read-write `/dev/null` on stdout beside a real stderr — is taken for a closed
/// stdout. Linux only (it reads `/proc/self`); elsewhere, never.
pub fn stdout_looks_closed() -> bool {
    #[cfg(target_os = "linux")]
    {
        let is_dev_null = |fd: u8| {
            std::fs::read_link(format!("/proc/self/fd/{fd}"))
                .is_ok_and(|target| target == std::path::Path::new("/dev/null"))
        };
        let read_write = std::fs::read_to_string("/proc/self/fdinfo/1").is_ok_and(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("flags:"))
                .and_then(|flags| u32::from_str_radix(flags.trim(), 8).ok())
                .is_some_and(|flags| flags & 0o3 == 0o2)
        });
        is_dev_null(1) && read_write && !is_dev_null(2)
    }
    #[cfg(not(target_os = "linux"))]
    false
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
/// the same way. Bidi controls and invisible separators (U+202E, U+2028, U+200B, U+FEFF and their
/// kin) are written `\u{NN}` too.
/// Spaces and every other character (Chinese messages) stay as they are. A cloud
/// text that already holds a literal `\x1b` looks the same; the JSON outputs keep the exact text.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match u32::from(c) {
            _ if !escaped(c) => shown.push(c),
            n @ (0..=0x1f | 0x7f) => shown.push_str(&format!("\\x{n:02x}")),
            n => shown.push_str(&format!("\\u{{{n:x}}}")),
        }
    }
    Cow::Owned(shown)
}

/// Whether [`printable`] escapes `c`: a control character, or a format character that changes
/// how the text around it reads without being seen — the bidi embeddings, overrides, isolates and
/// marks (U+202E shows `exe.txt` as `txt.exe`), the line and paragraph separators some terminals
/// break lines at, and the zero-width space, word joiner and byte-order mark that hide inside a
/// name. The joiners (U+200C, U+200D) are kept: scripts and emoji need them.
fn escaped(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
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

    #[test]
    fn bidi_controls_and_invisible_separators_are_escaped() {
        assert_eq!(
            printable("a\u{202e}txt.exe\u{2028}b\u{2029}c\u{200b}d\u{feff}e"),
            r"a\u{202e}txt.exe\u{2028}b\u{2029}c\u{200b}d\u{feff}e"
        );
        for c in ('\u{202a}'..='\u{202e}')
            .chain('\u{2066}'..='\u{2069}')
            .chain(['\u{200e}', '\u{200f}', '\u{061c}'])
        {
            let shown = printable(&format!("x{c}y")).into_owned();
            assert_eq!(shown, format!("x\\u{{{:x}}}y", u32::from(c)));
        }
        // The joiners scripts and emoji need stay as they are.
        assert!(matches!(printable("👩\u{200d}💻"), Cow::Borrowed(_)));
    }
}
