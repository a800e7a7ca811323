//! One module per subcommand; [`run`] dispatches to them and returns the exit code.

mod completions;
mod config;
mod config_check;
mod demo;
mod dry_run;
mod interrupt;
mod lifecycle;
mod man;
mod online;
mod place;
mod sim;
mod start;
mod status;
mod stop;
mod tracker;
mod wait;

use std::time::Duration;

use tracing::error;

use crate::cli::{
    AddressArg, Cli, Command, ConfigCommand, PlaceArgs, PollArgs, ReachArgs, TargetArgs,
};
use crate::engine::reach::AddressKind;
use crate::env_vars::{process_env, EnvVars};
use crate::error::Error;
use crate::output::{self, ErrorRecord, Outcome, OutputFormat, Progress, Record, Report, Task};
use crate::settings::config::{Config, DEFAULT_PROFILE};
use crate::settings::defaults::{DefaultFlags, RunDefaults};
use crate::settings::{self, PlaceFlags, Plan, ProfileChoice, RunFlags, RunOptions, TargetFlags};

/// Runs the parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> Result<u8, Error> {
    let quiet = cli.verbosity.quiet;
    match cli.command {
        Command::Start(args) => start::run(args, quiet).await,
        Command::Stop(args) => stop::run(args, quiet).await,
        Command::Wait(args) => wait::run(args, quiet).await,
        Command::Status(args) => {
            let prelude = Prelude::read(&args.targets, None);
            let args = target_flags(args.targets, &prelude.defaults);
            let planned = prelude.config.and_then(|config| {
                Plan::resolve(&args, &RunOptions::look_only(), &process_env, &config)
            });
            let plan = match planned {
                Ok(plan) => plan,
                Err(err) => return report_refusal(&args, err, quiet, Task::Status),
            };
            let observed = status::run(&plan.groups).await?;
            let unready = unready_report(Task::Status, &plan);
            let report = Report::merge(Task::Status, vec![observed, unready]).in_order(&plan.order);
            output::finish(&progress_for(quiet, plan.output), &report, plan.output)
        }
        Command::Config(ConfigCommand::Check(args)) => config_check::run(&args).await,
        Command::Config(ConfigCommand::Init) => config::init(),
        Command::Config(ConfigCommand::Set(args)) => config::set(&args),
        Command::Config(ConfigCommand::Get(args)) => config::get(&args),
        Command::Sim(args) => sim::run(&args).await,
        Command::Demo(args) => demo::run(&args, quiet).await,
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args),
    }
}

/// What a run reads before its targets: the config file, and the run's own settings (timeout,
/// output, poll) from flags, environment and profile.
struct Prelude {
    /// The config file, or why it cannot be read (reported with the run's records).
    config: Result<Config, Error>,
    /// The run's settings; when they cannot be resolved, the flags over the built-in defaults
    /// and the error is in `config`.
    defaults: RunDefaults,
}

impl Prelude {
    fn read(targets: &TargetArgs, poll: Option<&PollArgs>) -> Self {
        Self::with_flags(
            default_flags(targets, poll),
            targets.place.profile.as_deref(),
        )
    }

    fn with_flags(flags: DefaultFlags, profile: Option<&str>) -> Self {
        let profile = ProfileChoice::new(profile, &process_env)
            .map_or_else(|_| DEFAULT_PROFILE.to_string(), |choice| choice.name);
        let resolved = Config::load(&process_env).and_then(|config| {
            let defaults = RunDefaults::resolve(&flags, &process_env, &config, &profile)?;
            Ok((config, defaults))
        });
        match resolved {
            Ok((config, defaults)) => Self {
                config: Ok(config),
                defaults,
            },
            // The refusal is still reported in the format the flag or variable asked for.
            Err(err) => Self {
                defaults: RunDefaults::resolve(&flags, &process_env, &Config::default(), "")
                    .unwrap_or_else(|_| RunDefaults::flags_only(&flags)),
                config: Err(err),
            },
        }
    }
}

impl Prelude {
    /// `config check`'s: it shows the run settings `start` would use with these flags.
    fn read_for_check(args: &crate::cli::ConfigCheckArgs) -> Self {
        let flags = DefaultFlags {
            timeout: args.timeout,
            output: args.output,
            poll_interval: args.poll.poll_interval,
            poll_max: args.poll.poll_max,
        };
        Self::with_flags(flags, args.place.profile.as_deref())
    }
}

/// The run settings' flags, `None` where not given.
fn default_flags(targets: &TargetArgs, poll: Option<&PollArgs>) -> DefaultFlags {
    DefaultFlags {
        timeout: targets.timeout,
        output: targets.output,
        poll_interval: poll.and_then(|poll| poll.poll_interval),
        poll_max: poll.and_then(|poll| poll.poll_max),
    }
}

/// The flags `start`, `stop` and `wait` share, as the plain values settings resolve; the rest
/// (`--no-wait`, `--force`, ...) are off, for each command to set.
fn run_flags(targets: TargetArgs, reach: Option<ReachArgs>, defaults: &RunDefaults) -> RunFlags {
    let (wait_port, wait_ssh, address) = match reach {
        Some(reach) => (reach.wait_port, reach.wait_ssh, reach.address),
        None => (Vec::new(), None, AddressArg::Public),
    };
    RunFlags {
        targets: target_flags(targets, defaults),
        no_wait: false,
        without_gpu: false,
        retry_capacity: false,
        force: false,
        stop_charging: false,
        wait_port,
        wait_ssh,
        address: match address {
            AddressArg::Public => AddressKind::Public,
            AddressArg::Private => AddressKind::Private,
        },
        poll_interval: defaults.poll_interval.as_ref().map(|found| found.value),
        poll_max: defaults.poll_max.as_ref().map(|found| found.value),
    }
}

/// The targets' flags of `start`, `stop`, `wait` and `status` as the plain values settings
/// resolve.
fn target_flags(args: TargetArgs, defaults: &RunDefaults) -> TargetFlags {
    TargetFlags {
        provider: args.provider,
        targets_file: args.targets_file,
        place: place_flags(args.place),
        timeout: defaults.timeout.value,
        proxy: args.proxy,
        ca_bundle: args.ca_bundle,
        output: defaults.output.value,
        targets: args.targets,
    }
}

fn place_flags(args: PlaceArgs) -> PlaceFlags {
    PlaceFlags {
        profile: args.profile,
        region: args.region,
        zone: args.zone,
        endpoint: args.endpoint,
    }
}

/// A run refused before any request (a bad id, region or config, credentials): with `-o json`
/// or `-o ndjson` every target it names still gets its record, failed with the error's kind, so
/// a pipeline always has a report to read; the exit code is the error's. Text output, and
/// targets that cannot be read at all (an unknown cloud, an unreadable targets file), keep the
/// plain `error:` line.
fn report_refusal(args: &TargetFlags, err: Error, quiet: bool, task: Task) -> Result<u8, Error> {
    if args.output == OutputFormat::Text {
        return Err(err);
    }
    let Some(targets) = settings::listed_targets(args).filter(|t| !t.is_empty()) else {
        return Err(err);
    };
    error!("{err}");
    let instances = (targets.into_iter())
        .map(|(provider, id, region)| Record {
            provider,
            region,
            // Refused before any place was resolved or any machine looked at.
            zone: None,
            id,
            outcome: Outcome::Failed,
            state: None,
            job_id: None,
            addresses: Default::default(),
            error: Some(ErrorRecord {
                kind: err.kind(),
                code: None,
                message: err.to_string(),
                request_id: None,
            }),
        })
        .collect();
    let report = Report {
        instances,
        ..Report::new(task)
    };
    output::finish(&progress_for(quiet, args.output), &report, args.output)
}

/// The records of the targets set aside before any request (a malformed id, a contradiction, a
/// cloud without its place or credentials): each fails with its own error, on one `error:` line
/// and in its record, so a run reports every target and exits by precedence.
fn unready_report(task: Task, plan: &Plan) -> Report {
    // Each message names its cloud (and target, where it concerns one).
    for group in &plan.unready {
        error!("{}", group.error);
    }
    let instances = (plan.unready.iter())
        .flat_map(|group| {
            group.ids.iter().map(|id| Record {
                provider: group.provider,
                region: group.region.clone(),
                // Never looked at, and the group's zone was not resolved.
                zone: None,
                id: id.clone(),
                outcome: Outcome::Failed,
                state: None,
                job_id: None,
                addresses: Default::default(),
                error: Some(ErrorRecord {
                    kind: group.error.kind(),
                    code: None,
                    message: group.error.to_string(),
                    request_id: None,
                }),
            })
        })
        .collect();
    Report {
        instances,
        ..Report::new(task)
    }
}

/// The progress display for stderr, with NDJSON events when that is the output format.
fn progress_for(quiet: bool, output: OutputFormat) -> Progress {
    Progress::new(
        Progress::mode_for_stderr(quiet, &process_env),
        output == OutputFormat::Ndjson,
    )
}

/// `CLOUDSTART_HEARTBEAT`, or 30 s; `0` turns the heartbeat off (a pause no run reaches).
fn heartbeat() -> Result<Duration, Error> {
    match process_env(EnvVars::CLOUDSTART_HEARTBEAT) {
        None => Ok(Duration::from_secs(30)),
        Some(text) if text.trim() == "0" => Ok(Duration::MAX),
        Some(text) => crate::cli::parse_duration(&text)
            .and_then(|d| {
                if d.is_zero() {
                    Err(format!(
                        "`{text}` is zero; write 0 to turn the heartbeat off"
                    ))
                } else {
                    Ok(d)
                }
            })
            .map_err(|why| {
                Error::usage(format!(
                    "{} must be a duration such as 30s: {why}",
                    EnvVars::CLOUDSTART_HEARTBEAT
                ))
            }),
    }
}

#[cfg(test)]
mod tests {
    //! The command line resolved into a plan: parsed by `cli`, copied into settings' flags here,
    //! resolved by `settings`.

    use super::*;
    use crate::error::ErrorKind;
    use crate::settings::GroupSettings;
    use clap::Parser;

    fn args(extra: &[&str]) -> RunFlags {
        let mut argv = vec!["cloudstart", "start", "-p", "tencent"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Start(args) => {
                let flags = default_flags(&args.targets, Some(&args.poll));
                start::flags(args, &RunDefaults::flags_only(&flags))
            }
            _ => unreachable!(),
        }
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
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
    fn config_with(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        let path = path.to_string_lossy().into_owned();
        Config::load(&move |n| (n == EnvVars::CLOUDSTART_CONFIG).then(|| path.clone())).unwrap()
    }

    /// The one group `extra` resolves to, with no config file.
    fn resolve(
        extra: &RunFlags,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<GroupSettings, Error> {
        resolve_with(extra, env, &Config::default())
    }

    fn resolve_with(
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

    const CREDS: &[(&str, &str)] = &[
        ("TENCENTCLOUD_SECRET_ID", "id"),
        ("TENCENTCLOUD_SECRET_KEY", "key"),
        ("TENCENTCLOUD_REGION", "ap-shanghai"),
    ];

    #[test]
    fn region_flag_wins_over_environment() {
        let settings =
            resolve(&args(&["-r", "ap-guangzhou", "ins-aaaaaaaa"]), &env(CREDS)).unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-guangzhou"));
        let settings = resolve(&args(&["ins-aaaaaaaa"]), &env(CREDS)).unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-shanghai"));
    }

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
    fn missing_region_names_flag_and_variable() {
        let err = resolve(
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
            "tencent needs a region: set --region or TENCENTCLOUD_REGION or `region` in the config \
             profile `default`"
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
            resolve(&args(extra), &env(vars))
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
    fn profiles_come_below_flags_and_environment() {
        let config = config_with(
            "[profile.default.tencent]\naccess_key_id = \"cfg-id\"\n\
             secret_access_key = \"cfg-key\"\nregion = \"ap-beijing\"\n\
             endpoint = \"http://127.0.0.1:7\"\n\
             [profile.prod.tencent]\nregion = \"ap-singapore\"\n",
        );
        // Nothing else set: everything from the profile.
        let settings = resolve_with(&args(&["ins-aaaaaaaa"]), &env(&[]), &config).unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-beijing"));
        assert_eq!(settings.credentials.key_id, "cfg-id");
        assert_eq!(settings.endpoint.host(), "127.0.0.1:7");
        // The environment wins over the profile, the flag over both.
        let settings = resolve_with(&args(&["ins-aaaaaaaa"]), &env(CREDS), &config).unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-shanghai"));
        assert_eq!(settings.credentials.key_id, "id");
        let settings = resolve_with(
            &args(&["-r", "ap-tokyo", "ins-aaaaaaaa"]),
            &env(CREDS),
            &config,
        )
        .unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-tokyo"));
        // Another profile by CLOUDSTART_PROFILE: the environment's credentials still win.
        let settings = resolve_with(
            &args(&["ins-aaaaaaaa"]),
            &env(&[
                ("CLOUDSTART_PROFILE", "prod"),
                ("TENCENTCLOUD_SECRET_ID", "id"),
                ("TENCENTCLOUD_SECRET_KEY", "key"),
            ]),
            &config,
        )
        .unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-singapore"));
        assert_eq!(settings.credentials.key_id, "id");
        // An unknown one is a usage error.
        let err = resolve_with(
            &args(&["--profile", "staging", "ins-aaaaaaaa"]),
            &env(CREDS),
            &config,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert!(err.to_string().contains("no profile `staging`"), "{err}");
    }

    /// As in the AWS CLI: `--profile` (or a targets file's `profile`) takes the profile's
    /// credentials over the ones exported in the environment, and never falls back to those.
    /// botocore `credentials.py`, `create_credential_resolver`: "An explicitly provided profile
    /// will negate an EnvProvider" — the profile given on the command line, not `AWS_PROFILE`.
    #[test]
    fn a_named_profile_beats_the_environments_credentials() {
        let config = config_with(
            "[profile.prod.tencent]\naccess_key_id = \"prod-id\"\n\
             secret_access_key = \"prod-key\"\nregion = \"ap-singapore\"\n\
             [profile.bare.tencent]\nregion = \"ap-tokyo\"\n",
        );
        let flagged = resolve_with(
            &args(&["--profile", "prod", "ins-aaaaaaaa"]),
            &env(CREDS),
            &config,
        )
        .unwrap();
        assert_eq!(flagged.credentials.key_id, "prod-id");
        // The region is not a credential: the environment's still beats the profile's.
        assert_eq!(flagged.location.region.as_deref(), Some("ap-shanghai"));
        let ambient = resolve_with(
            &args(&["ins-aaaaaaaa"]),
            &env(&[CREDS, &[("CLOUDSTART_PROFILE", "prod")]].concat()),
            &config,
        )
        .unwrap();
        assert_eq!(ambient.credentials.key_id, "id");
        let err = resolve_with(
            &args(&["--profile", "bare", "ins-aaaaaaaa"]),
            &env(CREDS),
            &config,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
        let message = err.to_string();
        assert!(
            message.contains("profile `bare` has no tencent credentials")
                && message.contains("TENCENTCLOUD_SECRET_ID in the environment is not used"),
            "{message}"
        );
    }

    /// A profile name becomes part of vendor CLI file names: one that could climb out of their
    /// directory is refused before any file is read.
    #[test]
    fn a_profile_name_that_could_leave_the_vendor_directory_is_a_usage_error() {
        for name in [
            "../../etc/passwd",
            "..",
            ".hidden",
            "a/b",
            "a\\b",
            "",
            "x\n",
        ] {
            let err =
                resolve(&args(&["--profile", name, "ins-aaaaaaaa"]), &env(CREDS)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Usage, "{name:?}");
            assert!(err.to_string().contains("invalid profile name"), "{err}");
        }
        let err = resolve(
            &args(&["ins-aaaaaaaa"]),
            &env(&[CREDS, &[("CLOUDSTART_PROFILE", "../x")]].concat()),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        for name in ["prod", "team-a.gpu_2", "default"] {
            let err = resolve(&args(&["--profile", name, "ins-aaaaaaaa"]), &env(CREDS)).err();
            assert!(
                err.is_none_or(|err| !err.to_string().contains("invalid profile name")),
                "{name}"
            );
        }
    }

    /// `--profile NAME` reaches the vendor CLI's profile `NAME` when cloudstart's own config
    /// file has none, with its region from tccli's `.configure` beside the `.credential`.
    #[test]
    fn a_named_profile_reaches_the_vendor_clis_profile() {
        let home = tempfile::tempdir().unwrap();
        let tccli = home.path().join(".tccli");
        std::fs::create_dir_all(&tccli).unwrap();
        std::fs::write(
            tccli.join("ops.credential"),
            r#"{"secretId": "ops-id", "secretKey": "ops-key"}"#,
        )
        .unwrap();
        std::fs::write(
            tccli.join("ops.configure"),
            r#"{"_sys_param": {"region": "ap-seoul"}}"#,
        )
        .unwrap();
        let home_dir = home.path().to_string_lossy().into_owned();
        let vars = [CREDS, &[("HOME", home_dir.as_str())]].concat();
        let settings = resolve_with(
            &args(&["--profile", "ops", "ins-aaaaaaaa"]),
            &env(&vars),
            &Config::default(),
        )
        .unwrap();
        assert_eq!(settings.credentials.key_id, "ops-id");
        let vars: Vec<_> = vars
            .into_iter()
            .filter(|(name, _)| *name != "TENCENTCLOUD_REGION")
            .collect();
        let settings = resolve_with(
            &args(&["--profile", "ops", "ins-aaaaaaaa"]),
            &env(&vars),
            &Config::default(),
        )
        .unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-seoul"));
        let err = resolve_with(
            &args(&["--profile", "nosuch", "ins-aaaaaaaa"]),
            &env(&vars),
            &Config::default(),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert!(err.to_string().contains("nor in tccli's files"), "{err}");
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

    #[test]
    fn poll_bounds_are_checked() {
        let err = resolve(
            &args(&["--poll-interval", "5s", "--poll-max", "1s", "ins-aaaaaaaa"]),
            &env(CREDS),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
    }
}
