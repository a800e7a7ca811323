//! `cloudstart config check`: the run's own settings, then for each cloud which source supplies
//! each setting and whether credentials are present — never their values; with `--online`, one
//! cheap authenticated read per configured cloud. Printed by [`crate::output::config_check`].

use super::online::{self, Probe};
use crate::cli::ConfigCheckArgs;
use crate::env_vars::{process_env, EnvVars};
use crate::error::{Error, ErrorKind};
use crate::output::config_check::{CheckRow, CheckSource, CloudCheck, ConfigCheck, OnlineCheck};
use crate::provider::{self, Location, Provider, Requirement};
use crate::settings::defaults::RunDefaults;
use crate::settings::{self, Layers, PlaceKind, ProfileChoice, Source, Sourced};

/// Prints the check; with `--provider`, fails with that cloud's first problem; with `--online`,
/// exits with the most severe code of the reads.
pub(super) async fn run(args: &ConfigCheckArgs) -> Result<u8, Error> {
    let env = &process_env;
    let prelude = super::Prelude::read_for_check(args);
    let config = prelude.config?;
    let defaults = prelude.defaults;
    let profile = ProfileChoice::new(args.place.profile.as_deref(), env)?;
    let providers: Vec<&'static dyn Provider> = match &args.provider {
        Some(name) => provider::find(name).into_iter().collect(),
        None => provider::PROVIDERS.to_vec(),
    };
    let mut clouds = Vec::new();
    let mut first_problem = None;
    let mut profile_found = false;
    let mut probes = Vec::new();
    for provider in providers {
        let mut lines = Vec::new();
        let layers = match Layers::new(provider, env, &profile, &config) {
            Ok(layers) => layers,
            Err(err) => {
                lines.push(problem("profile", "missing", &err));
                first_problem.get_or_insert(err);
                clouds.push(CloudCheck {
                    name: provider.name(),
                    rows: lines,
                    online: None,
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
        let mut usable = true;
        for (what, given) in [
            (PlaceKind::Region, &args.place.region),
            (PlaceKind::Zone, &args.place.zone),
        ] {
            if matches!(what.requirement(spec), Requirement::Unused) {
                continue;
            }
            match layers.location(what, flag(given, what.flag())) {
                Ok(None) => {}
                Ok(Some(found)) => {
                    lines.push(row(what.as_str(), &found.value, &found.source));
                    *what.of(&mut location) = Some(found.value);
                }
                Err(err) => {
                    lines.push(problem(what.as_str(), "missing", &err));
                    first_problem.get_or_insert(err);
                    usable = false;
                }
            }
        }
        let mut endpoint = None;
        match layers.endpoint(args.place.endpoint.as_deref(), &location) {
            Ok(found) => {
                let shown = crate::error::clip_url(found.value.base());
                lines.push(row("endpoint", &shown, &found.source));
                endpoint = Some(found);
            }
            Err(err) => {
                lines.push(problem("endpoint", "invalid", &err));
                first_problem.get_or_insert(err);
                usable = false;
            }
        }
        let mut credentials = None;
        match layers.credentials() {
            Ok(found) => {
                lines.push(CheckRow {
                    value: None,
                    ..row("credentials", "present", &found.source)
                });
                credentials = Some(found);
            }
            Err(err) => {
                lines.push(problem("credentials", "missing", &err));
                first_problem.get_or_insert(err);
            }
        }
        if let (true, true, Some(endpoint), Some(credentials)) =
            (args.online, usable, endpoint, credentials)
        {
            let probe = Probe {
                provider,
                origin: layers.credentials_origin(&credentials),
                endpoint: endpoint.value,
                credentials: credentials.value,
                location,
            };
            probes.push((clouds.len(), probe));
        }
        clouds.push(CloudCheck {
            name: provider.name(),
            rows: lines,
            online: None,
        });
    }
    if !profile_found {
        if let Some(err) = first_problem {
            // No cloud has the profile: a misspelt name, not a cloud left unconfigured.
            return Err(err);
        }
    }
    let mut worst: Option<ErrorKind> = None;
    if !probes.is_empty() {
        let network = settings::network_from_env(env)?;
        let timeout = defaults.timeout.value;
        let network = &network;
        let reads = (probes.into_iter())
            .map(|(at, probe)| async move { (at, online::probe(probe, network, timeout).await) });
        for (at, answer) in futures_util::future::join_all(reads).await {
            clouds[at].online = Some(match answer {
                Ok(()) => OnlineCheck {
                    accepted: true,
                    error: None,
                },
                Err((kind, message)) => {
                    worst = Some(worst.map_or(kind, |w| w.most_severe(kind)));
                    OnlineCheck {
                        accepted: false,
                        error: Some((kind, message)),
                    }
                }
            });
        }
    }
    let check = ConfigCheck {
        config_file: config.path.clone(),
        profile_from: if profile.explicit {
            Some("--profile: its credentials come before the environment's")
        } else if env(EnvVars::CLOUDSTART_PROFILE).is_some() {
            Some(EnvVars::CLOUDSTART_PROFILE)
        } else {
            None
        },
        profile: profile.name,
        run: run_rows(&defaults),
        clouds,
    };
    check.print(defaults.output.value)?;
    if let (true, Some(err)) = (args.provider.is_some(), first_problem) {
        return Err(err);
    }
    Ok(worst.map_or(0, |kind| kind.exit_code()))
}

/// The run's own settings, each with its source; the poll settings only where one is set.
fn run_rows(defaults: &RunDefaults) -> Vec<CheckRow> {
    let duration = |d: std::time::Duration| humantime::format_duration(d).to_string();
    let mut rows = vec![
        row(
            "timeout",
            &duration(defaults.timeout.value),
            &defaults.timeout.source,
        ),
        row(
            "output",
            &format!("{:?}", defaults.output.value).to_lowercase(),
            &defaults.output.source,
        ),
    ];
    for (name, found) in [
        ("poll_interval", &defaults.poll_interval),
        ("poll_max", &defaults.poll_max),
    ] {
        rows.push(match found {
            Some(found) => row(name, &duration(found.value), &found.source),
            None => CheckRow {
                setting: name,
                shown: "unset".into(),
                value: None,
                source: Some(source_of(&Source::Default)),
                problem: None,
            },
        });
    }
    rows
}

fn row(setting: &'static str, value: &str, source: &Source) -> CheckRow {
    CheckRow {
        setting,
        shown: value.to_string(),
        value: Some(value.to_string()),
        source: Some(source_of(source)),
        problem: None,
    }
}

fn problem(setting: &'static str, shown: &str, err: &Error) -> CheckRow {
    CheckRow {
        setting,
        shown: shown.to_string(),
        value: None,
        source: None,
        problem: Some(err.to_string()),
    }
}

/// A [`Source`] as the check shows it: a kind and a name, and the sentence for people.
fn source_of(source: &Source) -> CheckSource {
    let (kind, name) = match source {
        Source::Flag(flag) => ("flag", Some(flag.to_string())),
        Source::TargetsFile(path) => ("targets_file", Some(path.display().to_string())),
        Source::Env(var) => ("env", Some(var.to_string())),
        Source::Profile(name) => ("profile", Some(name.clone())),
        Source::Vendor(path) => ("vendor", Some(path.display().to_string())),
        Source::Default => ("default", None),
    };
    CheckSource {
        kind,
        name,
        text: source.to_string(),
    }
}
