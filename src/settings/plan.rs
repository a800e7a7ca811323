//! A run's [`Plan`]: the targets of the flags and targets file, checked one by one
//! ([`Unready`] for those that cannot run), grouped by cloud, region, zone and profile, and each
//! group resolved through its [`Layers`] into the [`GroupSettings`] the engine runs with. Nothing
//! here touches the network.

use std::collections::HashSet;
use std::time::Duration;

use tokio::time::Instant;
use tracing::warn;

use super::config::Config;
use super::flags::{RunOptions, TargetFlags};
use super::layers::{Layers, PlaceKind, ProfileChoice, Source, Sourced};
use super::network::resolve_network;
use super::targets::{self, Target};
use crate::credentials::{CredentialOrigin, Credentials};
use crate::engine::reach::Reach;
use crate::engine::wait::{PollBudget, PollConfig};
use crate::engine::{system_clock, Endpoint, EngineConfig, Network, RetryConfig};
use crate::error::Error;
use crate::output::OutputFormat;
use crate::provider::{ActionOptions, Location, Provider};

/// Everything one group of machines — one cloud, region, zone and profile — needs, validated.
#[derive(Debug)]
pub struct GroupSettings {
    /// The cloud.
    pub provider: &'static dyn Provider,
    /// Region and zone.
    pub location: Location,
    /// Where requests go.
    pub endpoint: Endpoint,
    /// Who signs them.
    pub credentials: Credentials,
    /// Where those credentials came from, for error messages.
    pub credentials_origin: CredentialOrigin,
    /// Ids to start, validated, duplicates removed, in the order given.
    pub ids: Vec<String>,
    /// Wait for RUNNING (false with `--no-wait`).
    pub wait: bool,
    /// One deadline for the whole run.
    pub timeout: Duration,
    /// Delays between polls.
    pub poll: PollConfig,
    /// Request retries.
    pub retry: RetryConfig,
    /// What start and stop calls carry: `--without-gpu`, `--force`, `--stop-charging`.
    pub options: ActionOptions,
    /// Proxy and extra trusted CAs.
    pub network: Network,
    /// Ports to wait for after RUNNING.
    pub reach: Option<Reach>,
}

impl GroupSettings {
    /// What the engine's client needs of these settings, with the run's `deadline`.
    pub fn engine(&self, deadline: Instant) -> EngineConfig<'_> {
        EngineConfig {
            provider: self.provider,
            credentials: &self.credentials,
            credentials_origin: &self.credentials_origin,
            location: &self.location,
            endpoint: &self.endpoint,
            retry: self.retry,
            network: &self.network,
            options: self.options.clone(),
            deadline,
            clock: system_clock,
            seed: None,
        }
    }
}

/// A whole run: its groups, and how to report.
#[derive(Debug)]
pub struct Plan {
    /// One group per cloud, region, zone and profile, in the order their first target was given.
    pub groups: Vec<GroupSettings>,
    /// Every `(cloud, id)` once, in the order given: the report's order.
    pub order: Vec<(&'static str, String)>,
    /// Groups that cannot run for want of usable credentials: reported, while the others run.
    pub unready: Vec<Unready>,
    /// Report format.
    pub output: OutputFormat,
}

/// The targets `args` names, each once, in order, as `(cloud, id, region)`, for a report of a run
/// refused before any request: every one whose record can be formed — a known cloud, a targets
/// file that can be read; a bare id without a cloud, or a target of an unreadable file, cannot.
/// The region is the target's own or `--region`.
pub fn listed_targets(args: &TargetFlags) -> Option<Vec<(&'static str, String, Option<String>)>> {
    let mut targets: Vec<Target> = (args.targets.iter())
        .filter_map(|arg| {
            targets::from_args(std::slice::from_ref(arg), args.provider.as_deref()).ok()
        })
        .flatten()
        .collect();
    if let Some(path) = &args.targets_file {
        targets.extend(targets::from_file(path).unwrap_or_default());
    }
    let mut seen = HashSet::new();
    let listed = (targets.into_iter())
        .filter(|t| seen.insert((t.provider.name(), t.id.clone())))
        .map(|t| {
            let region = t.region.or_else(|| args.place.region.clone());
            (t.provider.name(), t.id, region)
        })
        .collect();
    Some(listed)
}

/// Targets that cannot run, and why: a malformed id, a place or profile a targets-file line and
/// the flags disagree on, their cloud's missing region or zone, an option their cloud does not
/// take (exit 2), or its missing credentials (exit 3). They fail alone: the other targets run.
#[derive(Debug)]
pub struct Unready {
    /// The cloud.
    pub provider: &'static str,
    /// The region, where the targets file or `--region` gave one.
    pub region: Option<String>,
    /// The ids, in the order given.
    pub ids: Vec<String>,
    /// Why.
    pub error: Error,
}

impl Unready {
    /// `targets`, all of one cloud, refused with `error`.
    fn of(targets: &[Target], args: &TargetFlags, error: Error) -> Self {
        Self {
            provider: targets[0].provider.name(),
            region: (targets[0].region.clone()).or_else(|| args.place.region.clone()),
            ids: targets.iter().map(|t| t.id.clone()).collect(),
            error,
        }
    }
}

/// What targets share to form one group: cloud, region and zone from the targets file, profile.
type GroupKey = (&'static str, Option<String>, Option<String>, ProfileChoice);

impl Plan {
    /// Resolves `args` with `env` (usually [`crate::env_vars::process_env`]) and `config`.
    ///
    /// What concerns the run as a whole (no targets, a bad `--timeout`, proxy, `--profile` name)
    /// is an error. What concerns some targets only — an id's shape, a targets-file line that
    /// contradicts a flag, its cloud's place, options or credentials — sets those targets aside in
    /// [`Plan::unready`] with their own error, every problem found in this one pass, while the
    /// others are planned. Within a group, usage errors (exit 2) come before credential errors.
    pub fn resolve(
        args: &TargetFlags,
        run: &RunOptions,
        env: &dyn Fn(&str) -> Option<String>,
        config: &Config,
    ) -> Result<Self, Error> {
        let mut targets = targets::from_args(&args.targets, args.provider.as_deref())?;
        if let Some(path) = &args.targets_file {
            targets.extend(targets::from_file(path)?);
        }
        if targets.is_empty() {
            return Err(Error::usage(
                "nothing to start: give ids (provider:id, or bare ids with --provider) or -f FILE",
            ));
        }
        if args.timeout.is_zero() {
            return Err(Error::usage("--timeout must be above zero"));
        }
        let network = resolve_network(args, env)?;
        // The flag's profile concerns every target: a bad name ends the run.
        ProfileChoice::new(args.place.profile.as_deref(), env)?;
        let mut order: Vec<(&'static str, String)> = Vec::new();
        let mut seen: HashSet<(&'static str, String)> = HashSet::new();
        let mut repeated = Vec::new();
        let mut groups: Vec<(GroupKey, Vec<Target>)> = Vec::new();
        let mut unready = Vec::new();
        for target in targets {
            let key = (target.provider.name(), target.id.clone());
            if !seen.insert(key.clone()) {
                repeated.push(key);
                continue;
            }
            order.push(key);
            let profile = check_target(&target, args).and_then(|()| {
                let named = target.profile.as_deref().or(args.place.profile.as_deref());
                ProfileChoice::new(named, env).map_err(|err| {
                    let (cloud, id) = (target.provider.name(), crate::error::clip(&target.id));
                    Error::usage(format!("{cloud}:{id}: {err}"))
                })
            });
            let profile = match profile {
                Ok(profile) => profile,
                Err(error) => {
                    unready.push(Unready::of(std::slice::from_ref(&target), args, error));
                    continue;
                }
            };
            let group = (
                target.provider.name(),
                target.region.clone(),
                target.zone.clone(),
                profile,
            );
            match groups.iter_mut().find(|(key, _)| *key == group) {
                Some((_, members)) => members.push(target),
                None => groups.push((group, vec![target])),
            }
        }
        if let Some((cloud, id)) = repeated.first() {
            let others = match repeated.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            warn!(
                "{cloud}:{}{others} is given more than once; starting it once",
                crate::error::clip(id)
            );
        }
        let mut resolved = Vec::new();
        for ((_, _, _, profile), members) in &groups {
            // A cloud or place that cannot be used does not stop the others: its targets are
            // reported with the error.
            match resolve_group(members, profile, args, run, env, config, &network) {
                Ok(settings) => resolved.push(settings),
                Err(err) => unready.push(Unready::of(members, args, err)),
            }
        }
        Ok(Plan {
            groups: resolved,
            order,
            unready,
            output: args.output,
        })
    }
}

/// Settings for one group of targets sharing cloud, targets-file location and profile.
fn resolve_group(
    members: &[Target],
    profile: &ProfileChoice,
    args: &TargetFlags,
    run: &RunOptions,
    env: &dyn Fn(&str) -> Option<String>,
    config: &Config,
    network: &Network,
) -> Result<GroupSettings, Error> {
    let first = &members[0];
    let provider = first.provider;
    let name = provider.name();
    let spec = provider.spec();
    let layers = Layers::new(provider, env, profile, config)?;
    let given = |file_value: &Option<String>, flag: &Option<String>, flag_name| match (
        file_value,
        &first.file,
    ) {
        (Some(value), Some(path)) => Some(Sourced {
            value: value.clone(),
            source: Source::TargetsFile(path.clone()),
        }),
        _ => flag.clone().map(|value| Sourced {
            value,
            source: Source::Flag(flag_name),
        }),
    };
    let location = Location {
        region: layers
            .location(
                PlaceKind::Region,
                given(&first.region, &args.place.region, PlaceKind::Region.flag()),
            )?
            .map(|s| s.value),
        zone: layers
            .location(
                PlaceKind::Zone,
                given(&first.zone, &args.place.zone, PlaceKind::Zone.flag()),
            )?
            .map(|s| s.value),
    };
    let endpoint = layers
        .endpoint(args.place.endpoint.as_deref(), &location)?
        .value;
    if endpoint.is_cleartext_remote() {
        warn!(
            "{} is plain http beyond this machine: requests and the signatures made from your \
             credentials travel in clear text; use https://",
            crate::error::clip_url(endpoint.base())
        );
    }
    if run.options.without_gpu && !spec.without_gpu {
        return Err(Error::usage(format!(
            "--without-gpu is for GPU clouds (compshare), not {name}"
        )));
    }
    if run.reach.is_some() && !spec.reports_addresses {
        return Err(Error::usage(format!(
            "--wait-port and --wait-ssh connect to the machine's address, and {name} reports none \
             (leave them out for {name} targets)"
        )));
    }
    let stop = &spec.stop;
    for (asked, flag, wire) in [
        (run.options.force, "--force", stop.force),
        (
            run.options.stop_charging,
            "--stop-charging",
            stop.stop_charging,
        ),
    ] {
        if asked && wire.is_none() {
            return Err(Error::usage(format!(
                "{flag} has no equivalent on {name}: its stop call has no such option (leave \
                 {flag} out for {name} targets)"
            )));
        }
    }
    let found = layers.credentials()?;
    let credentials_origin = layers.credentials_origin(&found);
    let credentials = found.value;
    let network = Network {
        may_use_tls: network.may_use_tls || endpoint.base().starts_with("https://"),
        ..network.clone()
    };
    let retry = RetryConfig {
        retry_capacity: run.retry_capacity,
        ..RetryConfig::default()
    };
    // Against the simulator (a loopback endpoint) only loopback addresses are probed.
    let reach = (run.reach.clone()).map(|reach| reach.for_endpoint(endpoint.is_loopback()));
    Ok(GroupSettings {
        provider,
        location,
        endpoint,
        credentials,
        credentials_origin,
        ids: members.iter().map(|t| t.id.clone()).collect(),
        wait: run.wait,
        timeout: args.timeout,
        poll: match run.backoff {
            Some(backoff) => PollConfig::Backoff(backoff),
            None => PollConfig::Budget(PollBudget::half_of(spec.rate_limits)),
        },
        retry,
        options: run.options.clone(),
        network,
        reach,
    })
}

/// What concerns one target alone: its id's shape against its cloud's, and a targets-file line
/// that says otherwise than a flag (`--region`, `--zone`, `--profile`) — never a silent choice,
/// as kubectl refuses a `-n` its manifest contradicts. A flag fills in what the line leaves out.
fn check_target(target: &Target, args: &TargetFlags) -> Result<(), Error> {
    let (cloud, id) = (target.provider.name(), crate::error::clip(&target.id));
    if let Err(reason) = target.provider.validate_id(&target.id) {
        let hint = targets::guess(&target.id)
            .filter(|other| *other != cloud)
            .map(|other| format!(" (it looks like a {other} id)"))
            .unwrap_or_default();
        return Err(Error::usage(format!(
            "malformed instance id {cloud} `{id}`: {reason}{hint}"
        )));
    }
    let place = &args.place;
    use PlaceKind::{Region, Zone};
    for (what, line, flag, flag_name) in [
        (
            Region.as_str(),
            &target.region,
            &place.region,
            Region.flag(),
        ),
        (Zone.as_str(), &target.zone, &place.zone, Zone.flag()),
        ("profile", &target.profile, &place.profile, "--profile"),
    ] {
        if let (Some(line), Some(flag), Some(file)) = (line, flag, &target.file) {
            if line != flag {
                return Err(Error::usage(format!(
                    "{cloud}:{id}: the targets file {} gives {what} `{}` and {flag_name} gives \
                     `{}`: drop one, or make them agree",
                    file.display(),
                    crate::error::clip(line),
                    crate::error::clip(flag)
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::settings::testing::{args, env, resolve, CREDS};

    #[test]
    fn retry_capacity_reaches_the_engine_and_is_off_by_default() {
        let settings = resolve(&args(&["ins-aaaaaaaa"]), &env(CREDS)).unwrap();
        assert!(!settings.retry.retry_capacity);
        let settings = resolve(&args(&["--retry-capacity", "ins-aaaaaaaa"]), &env(CREDS)).unwrap();
        assert!(settings.retry.retry_capacity);
        assert!(
            settings
                .engine(tokio::time::Instant::now())
                .retry
                .retry_capacity
        );
    }

    #[test]
    fn usage_errors_come_before_missing_credentials() {
        let err = resolve(&args(&["-r", "ap-guangzhou", "bad-id"]), &env(&[])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        let err = resolve(&args(&["-r", "ap-guangzhou", "ins-aaaaaaaa"]), &env(&[])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
    }

    #[test]
    fn a_cloud_without_credentials_is_set_aside_and_the_others_planned() {
        let targets = ["-r", "ap-guangzhou", "zenlayer:abc", "tencent:ins-aaaaaaaa"];
        let args = args(&targets);
        let run = RunOptions::of(&args).unwrap();
        let plan = Plan::resolve(&args.targets, &run, &env(CREDS), &Config::default()).unwrap();
        assert_eq!(plan.groups.len(), 1);
        assert_eq!(plan.groups[0].provider.name(), "tencent");
        assert_eq!(plan.unready.len(), 1);
        assert_eq!(plan.unready[0].provider, "zenlayer");
        assert_eq!(plan.unready[0].ids, ["abc"]);
        assert_eq!(plan.unready[0].error.kind(), ErrorKind::Auth);
    }

    #[test]
    fn repeated_targets_are_kept_once_in_linear_time() {
        let ids: Vec<String> = (0..50_000).map(|n| format!("ins-{n:08x}")).collect();
        let mut given = vec!["-r", "ap-guangzhou"];
        given.extend(ids.iter().map(String::as_str));
        given.extend(ids.iter().map(String::as_str));
        let args = args(&given);
        let run = RunOptions::of(&args).unwrap();
        let plan = Plan::resolve(&args.targets, &run, &env(CREDS), &Config::default()).unwrap();
        assert_eq!(plan.order.len(), 50_000);
        assert_eq!(plan.groups[0].ids, ids);
    }

    #[test]
    fn duplicate_ids_are_started_once() {
        let settings = resolve(
            &args(&["ins-aaaaaaaa", "ins-bbbbbbbb", "ins-aaaaaaaa"]),
            &env(CREDS),
        )
        .unwrap();
        assert_eq!(settings.ids, ["ins-aaaaaaaa", "ins-bbbbbbbb"]);
    }
}
