//! The `cloudstart` binary: parse, set up logging, run, map the outcome to an exit code.

use std::fmt;
use std::io::{self, IsTerminal};
use std::process::ExitCode;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use cloudstart::cli::{Cli, Verbosity};
use cloudstart::env_vars::{process_env, EnvVars};
use cloudstart::output::color::{error_tag, set_stderr_color, warning_tag};
use cloudstart::output::{eprint_error, printable, stdout_looks_closed, write_stderr};

fn main() -> ExitCode {
    forget_empty_variables();
    let cli = Cli::parse_with_color(&process_env);
    set_stderr_color(cli.color.enabled(io::stderr().is_terminal(), &process_env));
    init_logging(&cli.verbosity);
    if stdout_looks_closed() {
        tracing::warn!(
            "stdout is closed (`>&-`): the report is lost; the exit code still tells the outcome"
        );
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprint_error(&format!("cannot start the async runtime: {err}"));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cloudstart::commands::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprint_error(&err.to_string());
            ExitCode::from(err.kind().exit_code())
        }
    }
}

/// Logs go to stderr: errors only with -q, progress by default, more with each -v; RUST_LOG wins.
fn init_logging(verbosity: &Verbosity) {
    let default = match (verbosity.quiet, verbosity.verbose) {
        (true, _) => "error",
        (false, 0) => "cloudstart=info",
        (false, 1) => "cloudstart=debug",
        (false, 2) => "cloudstart=trace",
        (false, _) => "trace",
    };
    let filter = std::env::var(EnvVars::RUST_LOG)
        .ok()
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LogLine(Vec::new()))
        // The formatter below writes its own colours; tracing's would style field names.
        .with_ansi(false)
        .event_format(StderrLines)
        .init();
}

/// Log lines for people: progress as plain sentences, `warning:`/`error:` prefixes (coloured when
/// stderr is), and the level and module only on debug and trace lines. Each line's text is
/// [`printable`] up to its newline, so no log call anywhere can pass the cloud's control
/// characters (or a forged line) to the terminal.
struct StderrLines;

/// clap reads these variables itself, and would take an empty one (`CLOUDSTART_PROVIDER=` from
/// an unset CI secret) as an empty value; like every other variable cloudstart reads, an empty one
/// counts as unset. This runs first, while the process has one thread.
fn forget_empty_variables() {
    for var in [EnvVars::CLOUDSTART_PROVIDER, EnvVars::SSL_CERT_FILE] {
        if std::env::var_os(var).is_some_and(|value| value.is_empty()) {
            std::env::remove_var(var);
        }
    }
}

impl<S, N> FormatEvent<S, N> for StderrLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        let mut line = String::new();
        let tag = match *metadata.level() {
            Level::ERROR => error_tag(),
            Level::WARN => warning_tag(),
            Level::INFO => String::new(),
            Level::DEBUG => format!("debug {}: ", metadata.target()),
            Level::TRACE => format!("trace {}: ", metadata.target()),
        };
        ctx.field_format()
            .format_fields(Writer::new(&mut line), event)?;
        writeln!(writer, "{tag}{}", printable(&line))
    }
}

/// One formatted log line on its way to stderr through the output module, which draws it above
/// the live block when one is on screen (so a log line never breaks the redraw) and drops it when
/// stderr cannot be written: tracing-subscriber would otherwise report the failure with
/// `eprintln!`, which panics (exit 101) when stderr is the thing that failed.
struct LogLine(Vec<u8>);

impl io::Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    /// The event is written whole, however the formatter split its writes.
    fn drop(&mut self) {
        if !self.0.is_empty() {
            write_stderr(&String::from_utf8_lossy(&self.0));
        }
    }
}
