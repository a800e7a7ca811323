//! `cloudstart config check`: for each cloud, which source supplies each setting and whether
//! credentials are present — never their values. Printed by [`crate::output::config_check`].

use crate::cli::ConfigCheckArgs;
use crate::env_vars::EnvVars;
use crate::error::Error;
use crate::output::config_check::{CheckRow, CloudCheck, ConfigCheck};
use crate::provider::{self, Location, Provider, Requirement};
use crate::settings::config::Config;
use crate::settings::{Layers, ProfileChoice, Source, Sourced};

/// Prints the check; with `--provider`, fails with that cloud's first problem.
pub(super) fn run(
    args: &ConfigCheckArgs,
    env: &dyn Fn(&str) -> Option<String>,
    config: &Config,
) -> Result<u8, Error> {
    let profile = ProfileChoice::new(args.place.profile.as_deref(), env)?;
    let providers: Vec<&'static dyn Provider> = match &args.provider {
        Some(name) => provider::find(name).into_iter().collect(),
        None => provider::PROVIDERS.to_vec(),
    };
    let mut clouds = Vec::new();
    let mut first_problem = None;
    let mut profile_found = false;
    for provider in providers {
        let mut lines = Vec::new();
        let layers = match Layers::new(provider, env, &profile, config) {
            Ok(layers) => layers,
            Err(err) => {
                lines.push(row("profile", "missing", &err.to_string()));
                first_problem.get_or_insert(err);
                clouds.push(CloudCheck {
                    name: provider.name(),
                    rows: lines,
                });
                continue;
            }
        };
        profile_found = true;
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
                &crate::error::clip_url(found.value.base()),
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
        clouds.push(CloudCheck {
            name: provider.name(),
            rows: lines,
        });
    }
    if !profile_found {
        if let Some(err) = first_problem {
            // No cloud has the profile: a misspelt name, not a cloud left unconfigured.
            return Err(err);
        }
    }
    ConfigCheck {
        config_file: config.path.clone(),
        profile_from: if profile.explicit {
            Some("--profile: its credentials come before the environment's")
        } else if env(EnvVars::CLOUDSTART_PROFILE).is_some() {
            Some(EnvVars::CLOUDSTART_PROFILE)
        } else {
            None
        },
        profile: profile.name,
        clouds,
    }
    .print()?;
    match (args.provider.is_some(), first_problem) {
        (true, Some(err)) => Err(err),
        _ => Ok(0),
    }
}

fn row(setting: &'static str, value: &str, source: &str) -> CheckRow {
    CheckRow {
        setting,
        value: value.to_string(),
        source: source.to_string(),
    }
}
