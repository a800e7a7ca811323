//! Whether what cloudstart writes for people is coloured: `--color`, then the environment's
//! conventions, then whether the stream is a terminal. Decided once, in `main`, before anything
//! is written.
//!
//! The order is the one clap's own colour logic (anstream) follows, so `--help` and the run agree:
//!
//! 1. `--color always` or `--color never` wins over everything;
//! 2. under `auto`, `NO_COLOR` (<https://no-color.org>) turns colour off, then `CLICOLOR_FORCE`
//!    turns it on even off a terminal, then `CLICOLOR=0` turns it off
//!    (<https://bixense.com/clicolors/>);
//! 3. else a terminal whose `TERM` is not `dumb` gets colour.
//!
//! Like every variable cloudstart reads, an empty one counts as unset. One deviation from
//! anstream: `CLICOLOR_FORCE=0` forces nothing, as the clicolors text says ("!= 0").
//!
//! What is coloured: the live block's states, clap's help and usage errors, and the `error:` and
//! `warning:` that open stderr's lines. Off a terminal, `--color always` colours those lines but
//! never turns the live block on: redrawing in place needs a terminal. stdout's reports — text,
//! JSON, NDJSON — are never coloured.

use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};

use anstyle::{AnsiColor, Style};
use clap::ValueEnum;

use crate::env_vars::EnvVars;

/// `--color`: when to colour. The flag's values are derived from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set; CLICOLOR_FORCE colours elsewhere too.
    #[default]
    Auto,
    /// Always, even off a terminal and with NO_COLOR set.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// The last `--color WHEN` or `--color=WHEN` in `args` (without the program name) before a
    /// bare `--`, for colouring clap's own messages: those are written while clap parses, before
    /// its answer can be read. A value clap will reject reads as `auto`.
    pub fn from_args(args: impl IntoIterator<Item = OsString>) -> Self {
        let mut choice = ColorChoice::Auto;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let value = match arg.to_str() {
                Some("--") => break,
                Some("--color") => args.next(),
                Some(arg) => arg.strip_prefix("--color=").map(OsString::from),
                None => None,
            };
            if let Some(value) = value {
                let value = value.to_str().unwrap_or_default();
                choice = ColorChoice::from_str(value, false).unwrap_or(ColorChoice::Auto);
            }
        }
        choice
    }

    /// Whether to colour a stream that `is_terminal`, with the environment `env`.
    pub fn enabled(self, is_terminal: bool, env: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if env(EnvVars::NO_COLOR).is_some() => false,
            ColorChoice::Auto if env(EnvVars::CLICOLOR_FORCE).is_some_and(|v| v != "0") => true,
            ColorChoice::Auto if env(EnvVars::CLICOLOR).as_deref() == Some("0") => false,
            ColorChoice::Auto => is_terminal && env(EnvVars::TERM).as_deref() != Some("dumb"),
        }
    }

    /// The same choice for clap, once it is resolved for the stream clap writes to.
    pub fn for_clap(colored: bool) -> clap::ColorChoice {
        if colored {
            clap::ColorChoice::Always
        } else {
            clap::ColorChoice::Never
        }
    }
}

/// Whether stderr is coloured; set once by `main`.
static STDERR_COLOR: AtomicBool = AtomicBool::new(false);

/// Colours stderr from now on (or not): `main` calls it once, from [`ColorChoice::enabled`].
pub fn set_stderr_color(colored: bool) {
    STDERR_COLOR.store(colored, Ordering::Relaxed);
}

/// Whether stderr is coloured.
pub fn stderr_color() -> bool {
    STDERR_COLOR.load(Ordering::Relaxed)
}

/// `error: `, the opening of an error line on stderr: bold red when stderr is coloured, as cargo
/// and rustc write it.
pub fn error_tag() -> String {
    tag("error", AnsiColor::Red)
}

/// `warning: `, the opening of a warning line on stderr: bold yellow when stderr is coloured.
pub fn warning_tag() -> String {
    tag("warning", AnsiColor::Yellow)
}

fn tag(word: &str, color: AnsiColor) -> String {
    if !stderr_color() {
        return format!("{word}: ");
    }
    let style = Style::new().bold().fg_color(Some(color.into()));
    format!("{style}{word}:{style:#} ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> ColorChoice {
        ColorChoice::from_args(line.split_whitespace().map(OsString::from))
    }

    #[test]
    fn the_last_color_flag_before_a_double_dash_is_read_ahead_of_clap() {
        assert_eq!(args("start ins-a"), ColorChoice::Auto);
        assert_eq!(args("--color never start"), ColorChoice::Never);
        assert_eq!(args("start --color=always ins-a"), ColorChoice::Always);
        assert_eq!(
            args("--color always start --color never"),
            ColorChoice::Never
        );
        assert_eq!(args("--color=never --color=bogus"), ColorChoice::Auto);
        assert_eq!(args("--color=never -- --color=always"), ColorChoice::Never);
        assert_eq!(args("--color"), ColorChoice::Auto);
    }

    #[test]
    fn an_explicit_choice_beats_the_environment_and_no_color_beats_clicolor_force() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                (vars.iter())
                    .find(|(var, _)| *var == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        let none = env(&[]);
        let no_color = env(&[("NO_COLOR", "1")]);
        let force = env(&[("CLICOLOR_FORCE", "1")]);
        let both = env(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]);
        let force_zero = env(&[("CLICOLOR_FORCE", "0")]);
        let clicolor_off = env(&[("CLICOLOR", "0")]);
        let dumb = env(&[("TERM", "dumb")]);
        use ColorChoice::{Always, Auto, Never};
        for (choice, terminal, env, colored) in [
            (Auto, true, &none as &dyn Fn(&str) -> Option<String>, true),
            (Auto, false, &none, false),
            (Auto, true, &no_color, false),
            (Auto, false, &force, true),
            (Auto, false, &both, false),
            (Auto, false, &force_zero, false),
            (Auto, true, &clicolor_off, false),
            (Auto, true, &dumb, false),
            (Always, false, &no_color, true),
            (Always, false, &dumb, true),
            (Never, true, &force, false),
            (Never, true, &none, false),
        ] {
            assert_eq!(
                choice.enabled(terminal, env),
                colored,
                "{choice:?} on a terminal: {terminal}"
            );
        }
    }
}
