//! `cloudstart config check`: for each cloud, which source supplies each setting and whether
//! credentials are present — never their values.
#![allow(clippy::print_stdout)]

use std::io::Write;

use crate::cli::ConfigCheckArgs;
use crate::error::Error;
use crate::provider::{self, Location, Provider, Requirement};
use crate::settings::config::{Config, DEFAULT_PROFILE};
use crate::settings::{Layers, Source, Sourced};

/// Prints the check; with `--provider`, fails with that cloud's first problem.
pub(super) fn run(
    args: &ConfigCheckArgs,
    env: &dyn Fn(&str) -> Option<String>,
    config: &Config,
) -> Result<u8, Error> {
    let profile = args
        .place
        .profile
        .clone()
        .unwrap_or_else(|| DEFAULT_PROFILE.into());
    if profile != DEFAULT_PROFILE && !config.has_profile(&profile) {
        return Err(Error::usage(format!(
            "no profile `{profile}` in the config file"
        )));
    }
    let providers: Vec<&'static dyn Provider> = match &args.provider {
        Some(name) => provider::find(name).into_iter().collect(),
        None => provider::PROVIDERS.to_vec(),
    };
    let mut lines = vec![match &config.path {
        Some(path) => format!("config file  {} (profile `{profile}`)", path.display()),
        None => format!("config file  none (profile `{profile}`; set CLOUDSTART_CONFIG)"),
    }];
    let mut first_problem = None;
    for provider in providers {
        let layers = Layers::new(provider, env, &profile, config);
        lines.push(provider.name().to_string());
        let flag = |value: &Option<String>, name| {
            value.clone().map(|value| Sourced {
                value,
                source: Source::Flag(name),
            })
        };
        let spec = provider.spec();
        let mut location = Location::default();
        for (what, requirement, given) in [
            ("region", &spec.region, flag(&args.place.region, "--region")),
            ("zone", &spec.zone, flag(&args.place.zone, "--zone")),
        ] {
            if matches!(requirement, Requirement::Unused) {
                continue;
            }
            match layers.location(what, given) {
                Ok(None) => {}
                Ok(Some(found)) => {
                    lines.push(row(what, &found.value, &found.source.to_string()));
                    match what {
                        "zone" => location.zone = Some(found.value),
                        _ => location.region = Some(found.value),
                    }
                }
                Err(err) => {
                    lines.push(row(what, "missing", &err.to_string()));
                    first_problem.get_or_insert(err);
                }
            }
        }
        match layers.endpoint(args.place.endpoint.as_deref(), &location) {
            Ok(found) => lines.push(row(
                "endpoint",
                found.value.base(),
                &found.source.to_string(),
            )),
            Err(err) => {
                lines.push(row("endpoint", "invalid", &err.to_string()));
                first_problem.get_or_insert(err);
            }
        }
        match layers.credentials() {
            Ok(found) => lines.push(row("credentials", "present", &found.source.to_string())),
            Err(err) => {
                lines.push(row("credentials", "missing", &err.to_string()));
                first_problem.get_or_insert(err);
            }
        }
    }
    let mut out = std::io::stdout().lock();
    let written = lines.iter().try_for_each(|line| writeln!(out, "{line}"));
    if let Err(err) = written {
        if err.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(Error::internal(format!("cannot write to stdout: {err}")));
        }
    }
    match (args.provider.is_some(), first_problem) {
        (true, Some(err)) => Err(err),
        _ => Ok(0),
    }
}

fn row(setting: &str, value: &str, source: &str) -> String {
    format!("  {setting:<12} {value:<40} {source}")
}
