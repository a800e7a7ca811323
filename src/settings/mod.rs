//! The command line's values ([`TargetFlags`], [`RunFlags`]), the environment and the config
//! file, resolved into a validated [`Plan`]: one [`GroupSettings`] per cloud, region, zone and
//! profile. The flags arrive as plain data, copied from clap's types by `commands`, so nothing
//! here depends on the command-line parser.
//!
//! Everything that can be checked without the network is checked here, before any request: the
//! clouds are known, ids have their cloud's shape, regions are well formed, endpoints are base
//! URLs, and credentials are present. Precedence, for each setting of each target: targets file >
//! flag > environment > config profile > vendor CLI file > built-in default. [`Source`] records
//! which one supplied each value, for `cloudstart config check`.
//!
//! One exception, as in the AWS CLI: a profile asked for by name (`--profile`, or a targets file's
//! `profile`) takes its credentials from that profile only, never from the credential variables in
//! the environment, so an exported key cannot quietly start machines in another account.

pub mod config;
pub mod defaults;
pub mod edit;
pub mod files;
pub mod targets;
pub mod vendor;

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use tokio::time::Instant;
use tracing::warn;

use crate::credentials::{CredentialOrigin, Credentials};
use crate::engine::reach::{AddressKind, Reach};
use crate::engine::wait::{Backoff, PollBudget, PollConfig};
use crate::engine::{system_clock, Endpoint, EngineConfig, Network, RetryConfig};
use crate::env_vars::EnvVars;
use crate::error::Error;
use crate::output::OutputFormat;
use crate::provider::{ActionOptions, Location, Provider, Requirement};
use config::{CloudConfig, Config, DEFAULT_PROFILE};
use targets::Target;
use vendor::VendorSettings;

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

/// The proxy variables reqwest reads by itself, in the order it prefers them.
const PROXY_VARIABLES: [&str; 6] = [
    EnvVars::HTTPS_PROXY,
    "https_proxy",
    EnvVars::HTTP_PROXY,
    "http_proxy",
    EnvVars::ALL_PROXY,
    "all_proxy",
];

/// Checks a proxy URL given as `origin` (a flag or a variable): http or https only — SOCKS is
/// refused here rather than failing every request later. Errors never show the URL's password.
fn proxy_url(origin: &str, value: &str) -> Result<reqwest::Url, Error> {
    let invalid = |why: &str| {
        Error::usage(format!(
            "invalid {origin} `{}`: {why}",
            crate::error::clip_url(value)
        ))
    };
    let url = reqwest::Url::parse(value)
        .map_err(|_| invalid("expected a URL such as http://proxy:3128"))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(url),
        "http" | "https" => Err(invalid("no host")),
        scheme if scheme.starts_with("socks") => Err(invalid(
            "SOCKS proxies are not supported; use an HTTP or HTTPS proxy",
        )),
        _ => Err(invalid("expected a URL such as http://proxy:3128")),
    }
}

/// `host:port (origin)` of a proxy URL, for messages.
fn proxy_label(url: &reqwest::Url, origin: &str) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port_or_known_default() {
        Some(port) => format!("proxy {host}:{port} ({origin})"),
        None => format!("proxy {host} ({origin})"),
    }
}

/// Reads `--proxy` and `--ca-bundle`; either being unusable is a usage error.
fn resolve_network(
    args: &TargetFlags,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Network, Error> {
    let mut proxy_name = None;
    let proxy = match &args.proxy {
        None => None,
        Some(value) => {
            let url = proxy_url("--proxy", value)?;
            proxy_name = Some(proxy_label(&url, "--proxy"));
            let proxy = reqwest::Proxy::all(url).map_err(|_| {
                Error::usage(format!(
                    "invalid --proxy `{}`",
                    crate::error::clip_url(value)
                ))
            })?;
            Some(proxy)
        }
    };
    // reqwest reads these itself and skips a malformed one silently, sending requests direct:
    // check them first. An empty variable counts as unset.
    let mut proxy_set = false;
    for var in PROXY_VARIABLES {
        if let Some(value) = env(var).filter(|v| !v.trim().is_empty()) {
            let url = proxy_url(var, &value)?;
            proxy_set = true;
            if proxy_name.is_none() {
                proxy_name = Some(proxy_label(&url, var));
            }
        }
    }
    let extra_roots = match &args.ca_bundle {
        None => Vec::new(),
        Some(path) => {
            // clap fills --ca-bundle from SSL_CERT_FILE: a stale variable, set for another tool
            // long ago, is named so the person knows what to fix.
            let from_var = env(EnvVars::SSL_CERT_FILE)
                .is_some_and(|value| std::path::Path::new(&value) == path.as_path());
            let (named, fix) = if from_var {
                (
                    " named by SSL_CERT_FILE",
                    "; point SSL_CERT_FILE at a PEM file of CA certificates, or unset it",
                )
            } else {
                ("", "")
            };
            let pem = files::read_local_file(path, "CA bundle").map_err(|err| {
                Error::usage(format!(
                    "cannot read the CA bundle {}{named}: {}{fix}",
                    err.path.display(),
                    err.problem
                ))
            })?;
            let roots = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|roots| !roots.is_empty())
                .ok_or_else(|| {
                    Error::usage(format!(
                        "the CA bundle {}{named} holds no PEM certificates{fix}",
                        path.display()
                    ))
                })?;
            roots
        }
    };
    let may_use_tls = proxy.is_some() || proxy_set;
    Ok(Network {
        proxy,
        extra_roots,
        may_use_tls,
        proxy_name,
    })
}

/// What to act on and where, as `start` and `status` were asked: the values of their flags as
/// plain data. clap parses them in `cli.rs` and `commands` copies them here, so that settings
/// know the command line's values but not its parser.
#[derive(Debug, Clone)]
pub struct TargetFlags {
    /// `--provider`: the cloud of bare ids.
    pub provider: Option<String>,
    /// `--targets-file`.
    pub targets_file: Option<PathBuf>,
    /// Profile, region, zone and endpoint.
    pub place: PlaceFlags,
    /// `--timeout`: one deadline for the whole run.
    pub timeout: Duration,
    /// `--proxy`.
    pub proxy: Option<String>,
    /// `--ca-bundle` (or `SSL_CERT_FILE`).
    pub ca_bundle: Option<PathBuf>,
    /// `--output`.
    pub output: OutputFormat,
    /// The targets as given: provider:id, or bare ids.
    pub targets: Vec<String>,
}

/// `--profile`, `--region`, `--zone` and `--endpoint`.
#[derive(Debug, Clone, Default)]
pub struct PlaceFlags {
    /// `--profile` (only the flag: `CLOUDSTART_PROFILE` is read here, see [`ProfileChoice`]).
    pub profile: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--zone`.
    pub zone: Option<String>,
    /// `--endpoint`.
    pub endpoint: Option<String>,
}

/// `start`'s flags: its targets, and the choices only a start has.
#[derive(Debug, Clone)]
pub struct RunFlags {
    /// What to start, and where.
    pub targets: TargetFlags,
    /// `--no-wait`.
    pub no_wait: bool,
    /// `--without-gpu`.
    pub without_gpu: bool,
    /// `--retry-capacity`.
    pub retry_capacity: bool,
    /// `--force`.
    pub force: bool,
    /// `--stop-charging`.
    pub stop_charging: bool,
    /// `--wait-port`, as given.
    pub wait_port: Vec<u16>,
    /// `--wait-ssh`: the SSH port, 22 unless given.
    pub wait_ssh: Option<u16>,
    /// `--address`.
    pub address: AddressKind,
    /// `--poll-interval`.
    pub poll_interval: Option<Duration>,
    /// `--poll-max`.
    pub poll_max: Option<Duration>,
}

/// What a run does besides reaching its targets: the choices of `start`, `stop` and `wait`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Wait for the goal (RUNNING, STOPPED).
    pub wait: bool,
    /// What start and stop calls carry (`--without-gpu`, `--force`, `--stop-charging`).
    pub options: ActionOptions,
    /// Backoff between polls when `--poll-interval`/`--poll-max` ask for it; otherwise each
    /// cloud's [`PollBudget`].
    pub backoff: Option<Backoff>,
    /// Ports to wait for after RUNNING (`--wait-port`, `--wait-ssh`).
    pub reach: Option<Reach>,
    /// Capacity refusals are sent again until the deadline (`--retry-capacity`).
    pub retry_capacity: bool,
}

/// The backoff's bounds when only one of `--poll-interval` and `--poll-max` is given.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(15);

impl RunOptions {
    /// The options of `start`, `stop` or `wait`.
    pub fn of(args: &RunFlags) -> Result<Self, Error> {
        let backoff = match (args.poll_interval, args.poll_max) {
            (None, None) => None,
            (min, max) => {
                let min_delay = min.unwrap_or(BACKOFF_MIN.min(max.unwrap_or(BACKOFF_MIN)));
                let max_delay = max.unwrap_or(BACKOFF_MAX.max(min_delay));
                if min_delay.is_zero() || max_delay < min_delay {
                    return Err(Error::usage(format!(
                        "--poll-interval must be above zero and at most --poll-max (got {} and {})",
                        humantime::format_duration(min_delay),
                        humantime::format_duration(max_delay)
                    )));
                }
                Some(Backoff {
                    min_delay,
                    max_delay,
                })
            }
        };
        let reach = Reach::asked(&args.wait_port, args.wait_ssh, args.address);
        if reach.is_some() && args.no_wait {
            return Err(Error::usage(
                "--wait-port and --wait-ssh wait for RUNNING first: they cannot go with --no-wait",
            ));
        }
        Ok(Self {
            wait: !args.no_wait,
            options: ActionOptions {
                without_gpu: args.without_gpu,
                force: args.force,
                stop_charging: args.stop_charging,
                ..ActionOptions::default()
            },
            backoff,
            reach,
            retry_capacity: args.retry_capacity,
        })
    }

    /// `status`: one look, no start.
    pub fn look_only() -> Self {
        Self {
            wait: false,
            options: ActionOptions::default(),
            backoff: None,
            reach: None,
            retry_capacity: false,
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

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag(&'static str),
    /// A line of a targets file.
    TargetsFile(PathBuf),
    /// An environment variable.
    Env(&'static str),
    /// A profile of the config file.
    Profile(String),
    /// A vendor CLI's file.
    Vendor(PathBuf),
    /// The built-in default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "flag {flag}"),
            Source::TargetsFile(path) => write!(f, "targets file {}", path.display()),
            Source::Env(var) => write!(f, "environment {var}"),
            Source::Profile(name) => write!(f, "config profile `{name}`"),
            Source::Vendor(path) => write!(f, "vendor CLI file {}", path.display()),
            Source::Default => f.write_str("built-in default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Its source.
    pub source: Source,
}

/// The profile a group of targets uses, and how it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProfileChoice {
    /// Its name.
    pub name: String,
    /// Asked for by name (`--profile`, a targets file's `profile`), rather than by
    /// `CLOUDSTART_PROFILE` or by default: then its credentials beat the environment's.
    pub explicit: bool,
}

impl ProfileChoice {
    /// `named` (from `--profile` or a targets file) if given, else `CLOUDSTART_PROFILE`, else
    /// `default`. A name is letters, digits, `-`, `_` and `.`, not starting with a dot (a usage
    /// error otherwise): it becomes part of vendor CLI file names (`~/.tccli/<name>.credential`),
    /// so `../` must never reach a path.
    pub fn new(named: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let (name, explicit) = match named {
            Some(name) => (name.to_string(), true),
            None => match env(EnvVars::CLOUDSTART_PROFILE) {
                Some(name) => (name, false),
                None => (DEFAULT_PROFILE.to_string(), false),
            },
        };
        let well_formed = name.len() <= 64
            && !name.starts_with('.')
            && !name.is_empty()
            && (name.chars()).all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !well_formed {
            return Err(Error::usage(format!(
                "invalid profile name `{}`: expected letters, digits, `-`, `_` and `.`, not \
                 starting with a dot",
                crate::error::clip(&name)
            )));
        }
        Ok(Self { name, explicit })
    }
}

/// The sources one cloud's settings come from, below the targets file and the flags.
pub struct Layers<'a> {
    /// The cloud.
    pub provider: &'static dyn Provider,
    /// The environment.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The profile.
    pub profile: ProfileChoice,
    /// The cloud's section of that profile, if the config file has one.
    pub config: Option<&'a CloudConfig>,
    /// What the cloud's own CLI keeps on disk.
    pub vendor: Option<VendorSettings>,
}

impl<'a> Layers<'a> {
    /// The sources for `provider` under `profile`: the environment, the config file's profile,
    /// and the vendor CLI's files. A profile other than `default` must exist in one of the two
    /// files (a usage error otherwise).
    pub fn new(
        provider: &'static dyn Provider,
        env: &'a dyn Fn(&str) -> Option<String>,
        profile: &ProfileChoice,
        config: &'a Config,
    ) -> Result<Self, Error> {
        let name = &profile.name;
        let vendor = vendor::read(provider.name(), name, env);
        if *name != DEFAULT_PROFILE && !config.has_profile(name) && vendor.is_none() {
            let file = match &config.path {
                Some(path) => format!("the config file {}", path.display()),
                None => "a config file (none found; set CLOUDSTART_CONFIG)".into(),
            };
            let cli = vendor::cli_for(provider.name())
                .map(|cli| format!(" nor in {}'s files", cli.cli))
                .unwrap_or_default();
            return Err(Error::usage(format!(
                "no profile `{name}` for {} in {file}{cli}",
                provider.name()
            )));
        }
        Ok(Self {
            provider,
            env,
            profile: profile.clone(),
            config: config.cloud(name, provider.name()),
            vendor,
        })
    }

    /// A region, zone or endpoint from the vendor CLI's settings file.
    fn vendor_value(
        &self,
        value: impl Fn(&VendorSettings) -> Option<String>,
    ) -> Option<Sourced<String>> {
        let vendor = self.vendor.as_ref()?;
        value(vendor).map(|value| Sourced {
            value,
            source: Source::Vendor(vendor.settings_file.clone()),
        })
    }
    /// The region or zone (`what`), from `given` (targets file or flag), the cloud's variables, or
    /// the profile; `None` for clouds that do not use it.
    pub fn location(
        &self,
        what: &'static str,
        given: Option<Sourced<String>>,
    ) -> Result<Option<Sourced<String>>, Error> {
        let spec = self.provider.spec();
        let (requirement, from_profile, from_vendor) = match what {
            "zone" => (
                &spec.zone,
                self.config.and_then(|c| c.zone.clone()),
                self.vendor_value(|v| v.zone.clone()),
            ),
            _ => (
                &spec.region,
                self.config.and_then(|c| c.region.clone()),
                self.vendor_value(|v| v.region.clone()),
            ),
        };
        let Requirement::Required(vars) = requirement else {
            return Ok(None);
        };
        let found = given
            .filter(|g| !g.value.is_empty())
            .or_else(|| {
                vars.iter().find_map(|&var| {
                    (self.env)(var).map(|value| Sourced {
                        value,
                        source: Source::Env(var),
                    })
                })
            })
            .or_else(|| {
                from_profile.map(|value| Sourced {
                    value,
                    source: Source::Profile(self.profile.name.clone()),
                })
            })
            .or(from_vendor);
        let name = self.provider.name();
        let Some(found) = found else {
            let mut sources = vec![format!("--{what}")];
            sources.extend(vars.iter().map(|v| v.to_string()));
            sources.push(format!(
                "`{what}` in the config profile `{}`",
                self.profile.name
            ));
            return Err(Error::usage(format!(
                "{name} needs a {what}: set {}",
                sources.join(" or ")
            )));
        };
        if !edit::well_formed_place(&found.value) {
            return Err(Error::usage(format!(
                "invalid {name} {what} `{}` (from {}): expected lowercase letters, digits and \
                 dashes, starting and ending with a letter or digit",
                crate::error::clip(&found.value),
                found.source
            )));
        }
        Ok(Some(found))
    }

    /// The endpoint: the flag, the cloud's variable, `CLOUDSTART_ENDPOINT`, the profile, or the
    /// cloud's own for `location`.
    pub fn endpoint(
        &self,
        flag: Option<&str>,
        location: &Location,
    ) -> Result<Sourced<Endpoint>, Error> {
        let spec = self.provider.spec();
        let (url, source) = if let Some(url) = flag {
            (url.to_string(), Source::Flag("--endpoint"))
        } else if let Some(url) = (self.env)(spec.endpoint_var) {
            (url, Source::Env(spec.endpoint_var))
        } else if let Some(url) = (self.env)(EnvVars::CLOUDSTART_ENDPOINT) {
            (url, Source::Env(EnvVars::CLOUDSTART_ENDPOINT))
        } else if let Some(url) = self.config.and_then(|c| c.endpoint.clone()) {
            (url, Source::Profile(self.profile.name.clone()))
        } else if let Some(found) = self.vendor_value(|v| v.endpoint.clone()) {
            (found.value, found.source)
        } else {
            (self.provider.default_endpoint(location), Source::Default)
        };
        let endpoint = Endpoint::parse(&url).map_err(|reason| {
            Error::usage(format!(
                "invalid {} endpoint (from {source}): {reason}",
                self.provider.name()
            ))
        })?;
        Ok(Sourced {
            value: endpoint,
            source,
        })
    }

    /// The credentials: the cloud's variables, else the profile (the config file's, else the
    /// vendor CLI's); a profile chosen by name skips the variables. Key id and secret always come
    /// from the same place.
    /// Surrounding whitespace is dropped (as Zenlayer's SDK does; no key ends in a space), and
    /// credentials whose bytes could never be sent are refused here (exit 3), naming where they
    /// came from, before any request.
    pub fn credentials(&self) -> Result<Sourced<Credentials>, Error> {
        let mut found = self.find_credentials()?;
        found.value = found.value.trimmed();
        let Some(part) = found.value.malformed_part() else {
            return Ok(found);
        };
        let vars = &self.provider.spec().credentials;
        let whence = match &found.source {
            Source::Env(_) => {
                let names = match part {
                    "key id" => vars.key_id,
                    "secret" => vars.secret,
                    _ => vars.token,
                };
                let set = names.iter().copied().find(|var| (self.env)(var).is_some());
                format!("environment {}", set.unwrap_or_default())
            }
            other => other.to_string(),
        };
        Err(Error::auth(format!(
            "the {} {part} from {whence} holds a control character or a byte that is not \
             visible ASCII (a stray newline, space or quote?); nothing was sent",
            self.provider.name()
        )))
    }

    /// Where `found` (from [`Layers::credentials`]) came from, in the words an error about a
    /// refused key uses: the variables that were set, the config profile, or the vendor CLI's
    /// file; and where its session token came from.
    pub fn credentials_origin(&self, found: &Sourced<Credentials>) -> CredentialOrigin {
        let vars = &self.provider.spec().credentials;
        let set =
            |names: &[&'static str]| names.iter().copied().find(|var| (self.env)(var).is_some());
        let has_token = found.value.token.is_some();
        let (keys, token) = match &found.source {
            Source::Env(_) => {
                let keys = match (set(vars.key_id), set(vars.secret)) {
                    (Some(id), Some(secret)) => format!("{id} and {secret}"),
                    _ => "the environment".to_string(),
                };
                (keys, set(vars.token).map(str::to_string))
            }
            Source::Profile(name) => {
                let profile = format!("config profile `{name}`");
                let token = has_token.then(|| profile.clone());
                (profile, token)
            }
            Source::Vendor(path) => {
                let file = match vendor::cli_for(self.provider.name()) {
                    Some(cli) => format!("{}'s file {}", cli.cli, path.display()),
                    None => format!("the file {}", path.display()),
                };
                let token = has_token.then(|| file.clone());
                (file, token)
            }
            other => (other.to_string(), None),
        };
        CredentialOrigin {
            keys,
            token: token.filter(|_| has_token),
            token_var: vars.token.first().copied(),
        }
    }

    fn find_credentials(&self) -> Result<Sourced<Credentials>, Error> {
        let vars = &self.provider.spec().credentials;
        let name = self.provider.name();
        let from_env = vars.resolve(name, self.env);
        let set_var = || {
            vars.key_id
                .iter()
                .copied()
                .find(|var| (self.env)(var).is_some())
        };
        if !self.profile.explicit {
            if let Ok(credentials) = from_env {
                return Ok(Sourced {
                    value: credentials,
                    source: Source::Env(set_var().unwrap_or_default()),
                });
            }
        }
        let profile = &self.profile.name;
        if let Some(config) = self.config {
            if let (Some(key_id), Some(secret)) = (&config.access_key_id, &config.secret_access_key)
            {
                return Ok(Sourced {
                    value: Credentials {
                        key_id: key_id.clone(),
                        secret: secret.clone(),
                        token: config.session_token.clone(),
                    },
                    source: Source::Profile(profile.clone()),
                });
            }
        }
        if let Some(vendor) = &self.vendor {
            if let (Some(key_id), Some(secret)) = (&vendor.key_id, &vendor.secret) {
                return Ok(Sourced {
                    value: Credentials {
                        key_id: key_id.clone(),
                        secret: secret.clone(),
                        token: vendor.token.clone(),
                    },
                    source: Source::Vendor(vendor.credentials_file.clone()),
                });
            }
        }
        let in_config = format!(
            "access_key_id and secret_access_key under [profile.{profile}.{name}] in the config file"
        );
        if self.profile.explicit {
            let ignored = set_var()
                .map(|var| {
                    format!(
                        "; {var} in the environment is not used, because the profile was named \
                         (--profile or the targets file)"
                    )
                })
                .unwrap_or_default();
            let cli = vendor::cli_for(name)
                .map(|cli| format!(" or in {}'s profile `{profile}`", cli.cli))
                .unwrap_or_default();
            return Err(Error::auth(format!(
                "profile `{profile}` has no {name} credentials: set {in_config}{cli}{ignored}"
            )));
        }
        from_env
            .map(|credentials| Sourced {
                value: credentials,
                source: Source::Default,
            })
            .map_err(|err| Error::auth(format!("{err}, or {in_config}")))
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
                "region",
                given(&first.region, &args.place.region, "--region"),
            )?
            .map(|s| s.value),
        zone: layers
            .location("zone", given(&first.zone, &args.place.zone, "--zone"))?
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
    for (what, line, flag, flag_name) in [
        ("region", &target.region, &place.region, "--region"),
        ("zone", &target.zone, &place.zone, "--zone"),
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
