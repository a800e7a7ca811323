//! The run's own settings — `--timeout`, `--output`, `--poll-interval`, `--poll-max` — layered
//! flag > environment (`CLOUDSTART_TIMEOUT`, …) > the profile's keys > built-in default, each with
//! its [`Source`] for `config check`.
//!
//! They are resolved once per run, for the run's profile (`--profile`, else `CLOUDSTART_PROFILE`,
//! else `default`): a deadline or a report format is the run's, not a target's, so a targets
//! file's per-line profile does not change them.

use std::time::Duration;

use super::config::{Config, RunSettings};
use super::{Source, Sourced};
use crate::env_vars::EnvVars;
use crate::error::Error;
use crate::output::OutputFormat;

/// `--timeout` when nothing else says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The longest duration accepted, as the command line's (`cli::MAX_DURATION`): 30 days.
const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// What the command line said, each `None` when the flag was not given.
#[derive(Debug, Clone, Default)]
pub struct DefaultFlags {
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// `--output`.
    pub output: Option<OutputFormat>,
    /// `--poll-interval`.
    pub poll_interval: Option<Duration>,
    /// `--poll-max`.
    pub poll_max: Option<Duration>,
}

/// The run's settings, resolved, each with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDefaults {
    /// The run's one deadline.
    pub timeout: Sourced<Duration>,
    /// The report format.
    pub output: Sourced<OutputFormat>,
    /// The backoff's first delay, if asked for anywhere.
    pub poll_interval: Option<Sourced<Duration>>,
    /// The backoff's longest delay, if asked for anywhere.
    pub poll_max: Option<Sourced<Duration>>,
}

/// One setting: its flag, its variable, its profile key.
struct Layer {
    flag: &'static str,
    var: &'static str,
    key: &'static str,
}

const TIMEOUT: Layer = Layer {
    flag: "--timeout",
    var: EnvVars::CLOUDSTART_TIMEOUT,
    key: "timeout",
};
const OUTPUT: Layer = Layer {
    flag: "--output",
    var: EnvVars::CLOUDSTART_OUTPUT,
    key: "output",
};
const POLL_INTERVAL: Layer = Layer {
    flag: "--poll-interval",
    var: EnvVars::CLOUDSTART_POLL_INTERVAL,
    key: "poll_interval",
};
const POLL_MAX: Layer = Layer {
    flag: "--poll-max",
    var: EnvVars::CLOUDSTART_POLL_MAX,
    key: "poll_max",
};

impl RunDefaults {
    /// Resolves `flags` over `env` and `profile`'s keys in `config`. A malformed variable or
    /// profile value is a usage error naming the variable (or the profile and key) — never
    /// silently the default.
    pub fn resolve(
        flags: &DefaultFlags,
        env: &dyn Fn(&str) -> Option<String>,
        config: &Config,
        profile: &str,
    ) -> Result<Self, Error> {
        let written = config.run_settings(profile).cloned().unwrap_or_default();
        let pick = |layer: &Layer, given: Option<Duration>| {
            pick_with(layer, given, env, &written, profile, parse_duration)
        };
        let timeout = pick(&TIMEOUT, flags.timeout)?.unwrap_or(Sourced {
            value: DEFAULT_TIMEOUT,
            source: Source::Default,
        });
        if timeout.value.is_zero() {
            return Err(Error::usage(format!(
                "{} must be above zero",
                describe(&TIMEOUT, &timeout.source)
            )));
        }
        let output = pick_with(&OUTPUT, flags.output, env, &written, profile, parse_output)?
            .unwrap_or(Sourced {
                value: OutputFormat::Text,
                source: Source::Default,
            });
        Ok(Self {
            timeout,
            output,
            poll_interval: pick(&POLL_INTERVAL, flags.poll_interval)?,
            poll_max: pick(&POLL_MAX, flags.poll_max)?,
        })
    }

    /// The flags alone over the built-in defaults: what a run reports with when the environment
    /// or the config file could not be read.
    pub fn flags_only(flags: &DefaultFlags) -> Self {
        fn flag<T>(layer: &Layer, value: T) -> Sourced<T> {
            Sourced {
                value,
                source: Source::Flag(layer.flag),
            }
        }
        Self {
            timeout: (flags.timeout.map(|v| flag(&TIMEOUT, v))).unwrap_or(Sourced {
                value: DEFAULT_TIMEOUT,
                source: Source::Default,
            }),
            output: (flags.output.map(|v| flag(&OUTPUT, v))).unwrap_or(Sourced {
                value: OutputFormat::Text,
                source: Source::Default,
            }),
            poll_interval: flags.poll_interval.map(|v| flag(&POLL_INTERVAL, v)),
            poll_max: flags.poll_max.map(|v| flag(&POLL_MAX, v)),
        }
    }
}

/// The first of flag, variable and profile key that says something, parsed.
fn pick_with<T>(
    layer: &Layer,
    given: Option<T>,
    env: &dyn Fn(&str) -> Option<String>,
    written: &RunSettings,
    profile: &str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<Sourced<T>>, Error> {
    if let Some(value) = given {
        return Ok(Some(Sourced {
            value,
            source: Source::Flag(layer.flag),
        }));
    }
    let (text, source) = match (env(layer.var), written.get(layer.key)) {
        (Some(text), _) => (text, Source::Env(layer.var)),
        (None, Some(text)) => (text.clone(), Source::Profile(profile.to_string())),
        (None, None) => return Ok(None),
    };
    match parse(&text) {
        Ok(value) => Ok(Some(Sourced { value, source })),
        Err(why) => Err(Error::usage(format!(
            "invalid {}: {why}",
            describe(layer, &source)
        ))),
    }
}

/// The variable or profile key a value came from, for messages.
fn describe(layer: &Layer, source: &Source) -> String {
    match source {
        Source::Env(var) => (*var).to_string(),
        Source::Profile(name) => format!("`{}` in config profile `{name}`", layer.key),
        _ => layer.flag.to_string(),
    }
}

/// A duration such as `500ms`, `30s` or `10m`, at most 30 days: the command line's rule.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let shown = crate::error::clip(text);
    let duration = humantime::parse_duration(text.trim())
        .map_err(|err| format!("`{shown}`: {err} (examples: 500ms, 30s, 10m)"))?;
    if duration > MAX_DURATION {
        return Err(format!(
            "`{shown}` is longer than the largest accepted duration, {}",
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(duration)
}

/// `text`, `json` or `ndjson`, in any case, as `-o` takes them.
pub fn parse_output(text: &str) -> Result<OutputFormat, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "text" => Ok(OutputFormat::Text),
        "json" => Ok(OutputFormat::Json),
        "ndjson" => Ok(OutputFormat::Ndjson),
        _ => Err(format!(
            "`{}`: expected text, json or ndjson",
            crate::error::clip(text)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        let path = path.to_string_lossy().into_owned();
        Config::load(&move |n| (n == EnvVars::CLOUDSTART_CONFIG).then(|| path.clone())).unwrap()
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| (pairs.iter().find(|(n, _)| *n == name)).map(|(_, v)| v.to_string())
    }

    #[test]
    fn flag_beats_environment_beats_profile_beats_default() {
        let file =
            config("[profile.farm]\ntimeout = \"3m\"\noutput = \"json\"\npoll_max = \"9s\"\n");
        let env = env(&[("CLOUDSTART_TIMEOUT", "2m"), ("CLOUDSTART_POLL_MAX", "4s")]);
        let flags = DefaultFlags {
            poll_max: Some(Duration::from_secs(1)),
            ..DefaultFlags::default()
        };
        let run = RunDefaults::resolve(&flags, &env, &file, "farm").unwrap();
        assert_eq!(run.timeout.value, Duration::from_secs(120));
        assert_eq!(run.timeout.source, Source::Env("CLOUDSTART_TIMEOUT"));
        assert_eq!(run.output.value, OutputFormat::Json);
        assert_eq!(run.output.source, Source::Profile("farm".into()));
        assert_eq!(run.poll_max.unwrap().source, Source::Flag("--poll-max"));
        assert_eq!(run.poll_interval, None);
        let run = RunDefaults::resolve(&DefaultFlags::default(), &|_| None, &file, "default");
        let run = run.unwrap();
        assert_eq!(run.timeout.source, Source::Default);
        assert_eq!(run.output.value, OutputFormat::Text);
    }

    #[test]
    fn bad_values_name_their_variable_or_key() {
        let env = env(&[("CLOUDSTART_TIMEOUT", "abc")]);
        let err = RunDefaults::resolve(&DefaultFlags::default(), &env, &Config::default(), "x");
        let err = err.unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Usage);
        assert!(err.to_string().contains("CLOUDSTART_TIMEOUT"), "{err}");
        let file = config("[profile.default]\noutput = \"yaml\"\n");
        let err = RunDefaults::resolve(&DefaultFlags::default(), &|_| None, &file, "default");
        let err = err.unwrap_err().to_string();
        assert!(
            err.contains("`output` in config profile `default`"),
            "{err}"
        );
        let env = super::tests::env(&[("CLOUDSTART_TIMEOUT", "0s")]);
        let err = RunDefaults::resolve(&DefaultFlags::default(), &env, &Config::default(), "x");
        assert!(err.unwrap_err().to_string().contains("above zero"));
    }
}
