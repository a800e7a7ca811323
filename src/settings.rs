//! Raw command-line arguments and the environment, resolved into validated [`StartSettings`].
//!
//! Everything that can be checked without the network is checked here, before any request: the
//! provider is implemented, ids have the cloud's shape, the region is known, the endpoint is a base
//! URL, and credentials are present. Precedence is flag > environment > built-in default.

use std::time::Duration;

use tracing::warn;

use crate::cli::{OutputFormat, StartArgs};
use crate::credentials::Credentials;
use crate::env_vars::EnvVars;
use crate::error::Error;
use crate::http::{Endpoint, RetryConfig};
use crate::poll::PollConfig;
use crate::provider::{self, Location, Provider, Requirement};

/// Everything `start` needs, validated.
#[derive(Debug)]
pub struct StartSettings {
    /// The cloud.
    pub provider: &'static dyn Provider,
    /// Region and zone.
    pub location: Location,
    /// Where requests go.
    pub endpoint: Endpoint,
    /// Who signs them.
    pub credentials: Credentials,
    /// Ids to start, validated, duplicates removed, in the order given.
    pub ids: Vec<String>,
    /// Wait for RUNNING (false with `--no-wait`).
    pub wait: bool,
    /// One deadline for the whole batch.
    pub timeout: Duration,
    /// Delays between polls.
    pub poll: PollConfig,
    /// Request retries.
    pub retry: RetryConfig,
    /// Start GPU machines without their GPU (`--without-gpu`).
    pub without_gpu: bool,
    /// Report format.
    pub output: OutputFormat,
}

/// Reads one environment variable; unset and empty are the same.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

impl StartSettings {
    /// Resolves `args` with `env` (usually [`process_env`]); usage errors (exit 2) come before
    /// credential errors (exit 3).
    pub fn resolve(args: &StartArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let provider = provider::find(&args.provider).ok_or_else(|| {
            Error::usage(format!(
                "unknown provider `{}`; known: {}",
                args.provider,
                provider::names().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let name = provider.name();
        let spec = provider.spec();
        let ids = validate_ids(provider, &args.ids)?;
        let location = Location {
            region: resolve_location(name, "region", &spec.region, &args.region, env)?,
            zone: resolve_location(name, "zone", &spec.zone, &args.zone, env)?,
        };
        let endpoint_url = args
            .endpoint
            .clone()
            .or_else(|| env(spec.endpoint_var))
            .or_else(|| env(EnvVars::CLOUDSTART_ENDPOINT))
            .unwrap_or_else(|| provider.default_endpoint(&location));
        let endpoint = Endpoint::parse(&endpoint_url)
            .map_err(|reason| Error::usage(format!("invalid endpoint: {reason}")))?;
        if endpoint.is_cleartext_remote() {
            tracing::warn!(
                "{endpoint} is plain http beyond this machine: requests and the signatures made \
                 from your credentials travel in clear text; use https://"
            );
        }
        if args.poll_interval.is_zero() || args.poll_max < args.poll_interval {
            return Err(Error::usage(format!(
                "--poll-interval must be above zero and at most --poll-max (got {} and {})",
                humantime::format_duration(args.poll_interval),
                humantime::format_duration(args.poll_max)
            )));
        }
        if args.timeout.is_zero() {
            return Err(Error::usage("--timeout must be above zero"));
        }
        if args.without_gpu && !spec.without_gpu {
            return Err(Error::usage(format!(
                "--without-gpu is for GPU clouds (compshare), not {name}"
            )));
        }
        let credentials = spec.credentials.resolve(name, env)?;
        let mut retry = RetryConfig::default();
        if env(EnvVars::CLOUDSTART_TEST_NO_RETRY_DELAY).is_some() {
            retry.base_delay = Duration::ZERO;
            retry.busy_delay = Duration::from_millis(10);
        }
        Ok(Self {
            provider,
            location,
            endpoint,
            credentials,
            ids,
            wait: !args.no_wait,
            timeout: args.timeout,
            poll: PollConfig {
                min_delay: args.poll_interval,
                max_delay: args.poll_max,
            },
            retry,
            without_gpu: args.without_gpu,
            output: args.output,
        })
    }
}

/// Checks every id's shape and drops repeats (each machine is started and reported once).
fn validate_ids(provider: &dyn Provider, ids: &[String]) -> Result<Vec<String>, Error> {
    let mut unique: Vec<String> = Vec::with_capacity(ids.len());
    let mut bad = Vec::new();
    for id in ids {
        if let Err(reason) = provider.validate_id(id) {
            bad.push(format!("`{id}`: {reason}"));
        } else if unique.contains(id) {
            warn!("{id} is given more than once; starting it once");
        } else {
            unique.push(id.clone());
        }
    }
    if !bad.is_empty() {
        return Err(Error::usage(format!(
            "malformed {} instance id{} {}",
            provider.name(),
            if bad.len() == 1 { "" } else { "s" },
            bad.join("; ")
        )));
    }
    Ok(unique)
}

fn resolve_location(
    provider: &str,
    what: &str,
    requirement: &Requirement,
    flag: &Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, Error> {
    let Requirement::Required(vars) = requirement else {
        return Ok(None);
    };
    let value = flag.clone().filter(|v| !v.is_empty()).or_else(|| {
        vars.iter()
            .filter_map(|var| env(var))
            .find(|v| !v.is_empty())
    });
    let Some(value) = value else {
        let mut sources = vec![format!("--{what}")];
        sources.extend(vars.iter().map(|v| v.to_string()));
        return Err(Error::usage(format!(
            "{provider} needs a {what}: set {}",
            sources.join(" or ")
        )));
    };
    let well_formed = value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !well_formed {
        return Err(Error::usage(format!(
            "invalid {provider} {what} `{value}`: expected lowercase letters, digits and dashes"
        )));
    }
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use crate::error::ErrorKind;
    use clap::Parser;

    fn args(extra: &[&str]) -> StartArgs {
        let mut argv = vec!["cloudstart", "start", "-p", "tencent"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Start(args) => args,
            _ => unreachable!(),
        }
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    const CREDS: &[(&str, &str)] = &[
        ("TENCENTCLOUD_SECRET_ID", "id"),
        ("TENCENTCLOUD_SECRET_KEY", "key"),
        ("TENCENTCLOUD_REGION", "ap-shanghai"),
    ];

    #[test]
    fn region_flag_wins_over_environment() {
        let settings =
            StartSettings::resolve(&args(&["-r", "ap-guangzhou", "ins-aaaaaaaa"]), &env(CREDS))
                .unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-guangzhou"));
        let settings = StartSettings::resolve(&args(&["ins-aaaaaaaa"]), &env(CREDS)).unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-shanghai"));
    }

    #[test]
    fn missing_region_names_flag_and_variable() {
        let err = StartSettings::resolve(
            &args(&["ins-aaaaaaaa"]),
            &env(&[
                ("TENCENTCLOUD_SECRET_ID", "id"),
                ("TENCENTCLOUD_SECRET_KEY", "key"),
            ]),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert_eq!(
            err.to_string(),
            "tencent needs a region: set --region or TENCENTCLOUD_REGION"
        );
    }

    #[test]
    fn endpoint_precedence_is_flag_then_cloud_variable_then_general_variable() {
        let both: &[(&str, &str)] = &[
            ("TENCENTCLOUD_SECRET_ID", "id"),
            ("TENCENTCLOUD_SECRET_KEY", "key"),
            ("TENCENTCLOUD_REGION", "ap-shanghai"),
            ("CLOUDSTART_ENDPOINT", "http://127.0.0.1:1"),
            ("CLOUDSTART_TENCENT_ENDPOINT", "http://127.0.0.1:2"),
        ];
        let resolve = |extra: &[&str], vars: &'static [(&'static str, &'static str)]| {
            StartSettings::resolve(&args(extra), &env(vars))
                .unwrap()
                .endpoint
                .host()
                .to_string()
        };
        assert_eq!(
            resolve(&["--endpoint", "http://127.0.0.1:3", "ins-aaaaaaaa"], both),
            "127.0.0.1:3"
        );
        assert_eq!(resolve(&["ins-aaaaaaaa"], both), "127.0.0.1:2");
        assert_eq!(resolve(&["ins-aaaaaaaa"], &both[..4]), "127.0.0.1:1");
        assert_eq!(resolve(&["ins-aaaaaaaa"], CREDS), "cvm.tencentcloudapi.com");
    }

    #[test]
    fn usage_errors_come_before_missing_credentials() {
        let err = StartSettings::resolve(&args(&["-r", "ap-guangzhou", "bad-id"]), &env(&[]))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        let err = StartSettings::resolve(&args(&["-r", "ap-guangzhou", "ins-aaaaaaaa"]), &env(&[]))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
    }

    #[test]
    fn duplicate_ids_are_started_once() {
        let settings = StartSettings::resolve(
            &args(&["ins-aaaaaaaa", "ins-bbbbbbbb", "ins-aaaaaaaa"]),
            &env(CREDS),
        )
        .unwrap();
        assert_eq!(settings.ids, ["ins-aaaaaaaa", "ins-bbbbbbbb"]);
    }

    #[test]
    fn poll_bounds_are_checked() {
        let err = StartSettings::resolve(
            &args(&["--poll-interval", "5s", "--poll-max", "1s", "ins-aaaaaaaa"]),
            &env(CREDS),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
    }
}
