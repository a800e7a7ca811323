//! The `cloudstart` binary: parse, set up logging, run, map the outcome to an exit code.
#![allow(clippy::print_stderr)]

use std::process::ExitCode;

use std::fmt;

use clap::Parser;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use cloudstart::cli::{Cli, Verbosity};
use cloudstart::env_vars::EnvVars;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.verbosity);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cloudstart::commands::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err}");
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
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .event_format(StderrLines)
        .init();
}

/// Log lines for people: progress as plain sentences, `warning:`/`error:` prefixes, and the level
/// and module only on debug and trace lines.
struct StderrLines;

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
        match *metadata.level() {
            Level::ERROR => write!(writer, "error: ")?,
            Level::WARN => write!(writer, "warning: ")?,
            Level::INFO => {}
            Level::DEBUG => write!(writer, "debug {}: ", metadata.target())?,
            Level::TRACE => write!(writer, "trace {}: ", metadata.target())?,
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
