//! What the settings tests share: `start`'s flags from a few command-line words, an environment
//! from pairs, a config file from its text, and a plan of one group. The words are read here,
//! not by clap (`settings` does not import `cli`); `commands`' own test checks that clap fills
//! the same flags.

use super::config::Config;
use super::defaults::DEFAULT_TIMEOUT;
use super::{GroupSettings, PlaceFlags, Plan, RunFlags, RunOptions, TargetFlags};
use crate::engine::reach::AddressKind;
use crate::env_vars::EnvVars;
use crate::error::Error;
use crate::output::OutputFormat;

/// Tencent credentials and region in the environment.
pub(crate) const CREDS: &[(&str, &str)] = &[
    ("TENCENTCLOUD_SECRET_ID", "id"),
    ("TENCENTCLOUD_SECRET_KEY", "key"),
    ("TENCENTCLOUD_REGION", "ap-shanghai"),
];

/// `cloudstart start -p tencent EXTRA...` as flags. Reads the flags these tests use (`-r`,
/// `--endpoint`, `--profile`, `--retry-capacity`, `--poll-interval`, `--poll-max`) and ids;
/// any other flag is a mistake in the test.
pub(crate) fn args(extra: &[&str]) -> RunFlags {
    let mut place = PlaceFlags::default();
    let (mut retry_capacity, mut poll_interval, mut poll_max) = (false, None, None);
    let mut targets = Vec::new();
    let mut words = extra.iter();
    let duration = |text: Option<&&str>| Some(humantime::parse_duration(text.unwrap()).unwrap());
    while let Some(&word) = words.next() {
        match word {
            "-r" | "--region" => place.region = words.next().map(|v| v.to_string()),
            "--zone" => place.zone = words.next().map(|v| v.to_string()),
            "--endpoint" => place.endpoint = words.next().map(|v| v.to_string()),
            "--profile" => place.profile = words.next().map(|v| v.to_string()),
            "--retry-capacity" => retry_capacity = true,
            "--poll-interval" => poll_interval = duration(words.next()),
            "--poll-max" => poll_max = duration(words.next()),
            flag if flag.starts_with('-') => panic!("the test helper does not read {flag}"),
            id => targets.push(id.to_string()),
        }
    }
    RunFlags {
        targets: TargetFlags {
            provider: Some("tencent".into()),
            targets_file: None,
            place,
            timeout: DEFAULT_TIMEOUT,
            proxy: None,
            ca_bundle: None,
            output: OutputFormat::Text,
            targets,
        },
        no_wait: false,
        without_gpu: false,
        retry_capacity,
        force: false,
        stop_charging: false,
        wait_port: Vec::new(),
        wait_ssh: None,
        address: AddressKind::Public,
        poll_interval,
        poll_max,
    }
}

/// An environment of `pairs` only.
pub(crate) fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    move |name| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

/// The config file `text`, loaded.
pub(crate) fn config_with(text: &str) -> Config {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let path = path.to_string_lossy().into_owned();
    Config::load(&move |n| (n == EnvVars::CLOUDSTART_CONFIG).then(|| path.clone())).unwrap()
}

/// The one group `args` resolves to, with no config file.
pub(crate) fn resolve(
    args: &RunFlags,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<GroupSettings, Error> {
    resolve_with(args, env, &Config::default())
}

/// The one group `args` resolves to with `config`; a target set aside is its error.
pub(crate) fn resolve_with(
    args: &RunFlags,
    env: &dyn Fn(&str) -> Option<String>,
    config: &Config,
) -> Result<GroupSettings, Error> {
    let run = RunOptions::of(args)?;
    let mut plan = Plan::resolve(&args.targets, &run, env, config)?;
    if let Some(unready) = plan.unready.pop() {
        return Err(unready.error);
    }
    assert_eq!(plan.groups.len(), 1);
    Ok(plan.groups.remove(0))
}
