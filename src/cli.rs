//! The command line: clap derive types only. `commands` copies their values into `settings`'
//! plain flags, which `settings/` resolves; no module below `commands` imports this one.
//!
//! clap conventions: explicit `short`, implicit `long`, upper-case `value_name`; doc comments are the
//! help text. Defaults that depend on the cloud (region variables, endpoints) are resolved in
//! `settings/`, not here, so that flag > environment > default stays in one place.

// The doc comments here are `--help` text first: written for a terminal, where `<PROVIDER>` and
// `[@start|@stop|@describe]` mean what they say rather than HTML or an intra-doc link.
#![allow(rustdoc::invalid_html_tags, rustdoc::broken_intra_doc_links)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::env_vars::EnvVars;
use crate::error::exit_codes_help;
use crate::output::{ColorChoice, OutputFormat};
use crate::provider;

/// `cloudstart --version`: the package version and the commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("CLOUDSTART_COMMIT"),
    ")"
);

/// Start and stop cloud machines and wait until they are RUNNING or STOPPED.
#[derive(Debug, Parser)]
// A repeated flag's last value wins (`$DEFAULTS --timeout 20m`), as in the tools operators know.
#[command(
    name = "cloudstart",
    version = VERSION,
    after_help = exit_codes_help(),
    args_override_self = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Logging on stderr.
    #[command(flatten)]
    pub verbosity: Verbosity,
    /// When to colour stderr and help; reports on stdout never are.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

impl Cli {
    /// Parses the process's arguments, or prints help, version or the usage error and exits.
    ///
    /// clap writes those messages while it parses, before `--color` can be read from its
    /// answer, and its own `auto` would read the environment its own way. So clap parses without
    /// colour, and a message it prints is coloured as [`ColorChoice::enabled`] decides for the
    /// stream it goes to (help: stdout; errors: stderr), from the `--color` read ahead of it.
    pub fn parse_with_color(env: &dyn Fn(&str) -> Option<String>) -> Self {
        use clap::{CommandFactory, FromArgMatches};
        use std::io::IsTerminal;
        let parsed = (Self::command().color(clap::ColorChoice::Never))
            .try_get_matches()
            .and_then(|matches| Self::from_arg_matches(&matches));
        parsed.unwrap_or_else(|err| {
            let choice = ColorChoice::from_args(std::env::args_os().skip(1));
            let terminal = if err.use_stderr() {
                std::io::stderr().is_terminal()
            } else {
                std::io::stdout().is_terminal()
            };
            let color = ColorChoice::for_clap(choice.enabled(terminal, env));
            err.with_cmd(&Self::command().color(color)).exit()
        })
    }
}

/// `-q` / `-v`, available on every subcommand.
#[derive(Debug, Args)]
pub struct Verbosity {
    /// Print only errors on stderr (the later of -q and -v wins).
    #[arg(short, long, global = true, overrides_with = "verbose")]
    pub quiet: bool,
    /// More detail on stderr: -v debug, -vv trace, -vvv trace including the HTTP stack.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, overrides_with = "quiet")]
    pub verbose: u8,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start machines and wait until they are RUNNING.
    #[command(after_help = exit_codes_help())]
    Start(StartArgs),
    /// Stop machines and wait until they are STOPPED.
    #[command(after_help = exit_codes_help())]
    Stop(StopArgs),
    /// Wait until machines are RUNNING or STOPPED, starting and stopping nothing.
    #[command(after_help = exit_codes_help())]
    Wait(WaitArgs),
    /// Print machines' current states, through the same describe calls.
    Status(StatusArgs),
    /// Inspect and edit the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Serve a local fake of the clouds' APIs on loopback, for tests and demos.
    Sim(SimArgs),
    /// Start machines on the built-in simulator through the normal code path.
    Demo(DemoArgs),
    /// Print a shell completion script on stdout, or install it: `cloudstart completions bash
    /// --install`.
    Completions(CompletionsArgs),
    /// Print a man page (roff) on stdout, e.g. `cloudstart man start | man -l -`.
    Man(ManArgs),
}

/// `cloudstart man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print, e.g. `start` or `config check`; none for cloudstart(1).
    #[arg(value_name = "SUBCOMMAND", conflicts_with = "out_dir")]
    pub subcommand: Vec<String>,
    /// Write every page into DIR instead (cloudstart.1, cloudstart-start.1 and so on), for packagers.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// `cloudstart completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
    /// Write the script where the shell looks for your completions instead, and say where:
    /// bash-completion's user directory, ~/.zfunc/_cloudstart (zsh) or fish's completions
    /// directory.
    #[arg(long)]
    pub install: bool,
}

/// What to act on and where: shared by `start`, `stop`, `wait` and `status`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The cloud of bare ids (ids written provider:id name their own).
    #[arg(short, long, env = EnvVars::CLOUDSTART_PROVIDER, value_name = "PROVIDER",
          value_parser = clap::builder::PossibleValuesParser::new(provider::names()))]
    pub provider: Option<String>,
    /// A TOML file listing targets, each with its own provider, region, zone and profile.
    #[arg(short = 'f', long = "targets-file", value_name = "FILE")]
    pub targets_file: Option<PathBuf>,
    /// Profile, region, zone and endpoint.
    #[command(flatten)]
    pub place: PlaceArgs,
    /// One deadline for the whole run, e.g. 90s, 10m [default: CLOUDSTART_TIMEOUT, else the
    /// profile's `timeout`, else 10m].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Send every request through this proxy (else HTTPS_PROXY / HTTP_PROXY / ALL_PROXY,
    /// minus NO_PROXY).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Trust the CA certificates in this PEM file too, e.g. a corporate CA.
    #[arg(long, env = EnvVars::SSL_CERT_FILE, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
    /// Report format on stdout [default: CLOUDSTART_OUTPUT, else the profile's `output`, else
    /// text].
    #[arg(short, long, value_enum, ignore_case = true, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
    /// Machines: provider:id, or bare ids of --provider's cloud.
    #[arg(value_name = "TARGET", required_unless_present = "targets_file")]
    pub targets: Vec<String>,
}

/// `cloudstart start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// What to start, and where.
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Return once every start request is accepted, without waiting for RUNNING.
    #[arg(long)]
    pub no_wait: bool,
    /// Print the requests that would be sent (secrets and signatures redacted), and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Start GPU machines without their GPU, at a lower price (CompShare only).
    #[arg(long)]
    pub without_gpu: bool,
    /// Keep trying a start the cloud refuses for capacity (sold out, not enough resources),
    /// with backoff, until --timeout; without it such a refusal fails at once (exit 4).
    #[arg(long)]
    pub retry_capacity: bool,
    /// Ports to wait for once RUNNING.
    #[command(flatten)]
    pub reach: ReachArgs,
    /// How often to poll.
    #[command(flatten)]
    pub poll: PollArgs,
}

/// `cloudstart stop`.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// What to stop, and where.
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Return once every stop request is accepted, without waiting for STOPPED.
    #[arg(long)]
    pub no_wait: bool,
    /// Print the requests that would be sent (secrets and signatures redacted), and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Power off at once instead of the gentle OS shutdown (may lose unsaved data): tencent
    /// StopType=HARD, volcengine ForceStop=true, zenlayer forceShutdown=true, compshare
    /// Force=true; qingcloud has none. Without it every cloud is asked for its gentle stop.
    #[arg(long)]
    pub force: bool,
    /// Stop billing the machine's compute while it is stopped: tencent
    /// StoppedMode=STOP_CHARGING, volcengine StoppedMode=StopCharging; qingcloud, zenlayer and
    /// compshare have none. Without it billing stays the cloud's default.
    #[arg(long)]
    pub stop_charging: bool,
    /// How often to poll.
    #[command(flatten)]
    pub poll: PollArgs,
}

/// `cloudstart wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// What to wait for, and where.
    #[command(flatten)]
    pub targets: TargetArgs,
    /// The state to wait for.
    #[arg(long = "for", value_enum, value_name = "STATE")]
    pub goal: GoalArg,
    /// Ports to wait for once RUNNING (with --for running).
    #[command(flatten)]
    pub reach: ReachArgs,
    /// How often to poll.
    #[command(flatten)]
    pub poll: PollArgs,
}

/// The state `wait --for` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GoalArg {
    /// RUNNING.
    Running,
    /// STOPPED.
    Stopped,
}

/// `--wait-port`, `--wait-ssh` and `--address`: shared by `start` and `wait`.
#[derive(Debug, Args)]
pub struct ReachArgs {
    /// After RUNNING, wait until this TCP port of the machine accepts a connection (repeatable):
    /// a number, or ssh, http, https, rdp, winrm, vnc, mysql, postgres, redis. Only a connect:
    /// nothing is read or sent (--wait-port ssh is port 22 open, --wait-ssh is SSH answering).
    #[arg(long, value_name = "PORT", value_parser = parse_port)]
    pub wait_port: Vec<u16>,
    /// After RUNNING, wait until the machine's SSH server answers: port 22 (or =PORT) accepts a
    /// connection and sends its SSH-2.0 identification line.
    #[arg(long, value_name = "PORT", value_parser = parse_port, num_args = 0..=1,
          require_equals = true, default_missing_value = "22")]
    pub wait_ssh: Option<u16>,
    /// Which of the machine's addresses --wait-port and --wait-ssh connect to.
    #[arg(long, value_enum, value_name = "KIND", default_value = "public")]
    pub address: AddressArg,
}

/// `--poll-interval` and `--poll-max`: shared by `start`, `stop` and `wait`.
#[derive(Debug, Args)]
pub struct PollArgs {
    /// Poll with backoff from this delay instead of the default (a round about once a second,
    /// within half the cloud's request limit) [default: CLOUDSTART_POLL_INTERVAL, else the
    /// profile's `poll_interval`].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub poll_interval: Option<Duration>,
    /// Longest delay of that backoff (jittered, exponential); also chooses backoff [default:
    /// CLOUDSTART_POLL_MAX, else the profile's `poll_max`].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub poll_max: Option<Duration>,
}

/// `cloudstart status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// What to look at, and where.
    #[command(flatten)]
    pub targets: TargetArgs,
}

/// `cloudstart config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Show, per cloud, where each setting comes from and whether credentials are present (never
    /// their values); exit non-zero if the selected cloud cannot be used.
    Check(ConfigCheckArgs),
    /// Write a commented starter config file (mode 0600) at the config file's path
    /// (CLOUDSTART_CONFIG, else ~/.config/cloudstart/config.toml); never over an existing file.
    Init,
    /// Set one key of the config file, checked as a run would check it, keeping every comment;
    /// creates the file (mode 0600) when missing.
    Set(ConfigSetArgs),
    /// Print one key of the config file; a secret only with --show-secret. A key that is not set
    /// exits 2.
    Get(ConfigGetArgs),
}

/// `cloudstart config check`.
#[derive(Debug, Args)]
pub struct ConfigCheckArgs {
    /// Check only this cloud, and exit non-zero if it cannot be used.
    #[arg(short, long, env = EnvVars::CLOUDSTART_PROVIDER, value_name = "PROVIDER",
          value_parser = clap::builder::PossibleValuesParser::new(provider::names()))]
    pub provider: Option<String>,
    /// Profile, region, zone and endpoint, as `start` would take them.
    #[command(flatten)]
    pub place: PlaceArgs,
    /// The run's deadline, as `start` would take it (shown with its source).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// The check's format, and the report format `start` would use [default: CLOUDSTART_OUTPUT,
    /// else the profile's `output`, else text].
    #[arg(short, long, value_enum, ignore_case = true, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
    /// The poll settings, as `start` would take them.
    #[command(flatten)]
    pub poll: PollArgs,
    /// Also make one cheap authenticated read per cloud checked (a describe call listing at
    /// most one machine; nothing is touched) to see whether it accepts the credentials.
    #[arg(long)]
    pub online: bool,
}

/// `cloudstart config set`.
#[derive(Debug, Args)]
pub struct ConfigSetArgs {
    /// The key: profile.<name>.<setting> (timeout, output, poll_interval, poll_max) or
    /// profile.<name>.<cloud>.<field> (access_key_id, secret_access_key, session_token, region,
    /// zone, endpoint).
    #[arg(value_name = "KEY")]
    pub key: String,
    /// The value; `-` reads it from the first line of standard input, so a secret stays out of
    /// the shell's history and the process list.
    #[arg(value_name = "VALUE", allow_hyphen_values = true)]
    pub value: String,
}

/// `cloudstart config get`.
#[derive(Debug, Args)]
pub struct ConfigGetArgs {
    /// The key, as for `config set`.
    #[arg(value_name = "KEY")]
    pub key: String,
    /// Print the value of a secret (secret_access_key, session_token) too; without it a secret
    /// is never printed.
    #[arg(long)]
    pub show_secret: bool,
}

/// Where machines are and whose credentials reach them: shared by `start`, `status` and
/// `config check`.
#[derive(Debug, Args)]
pub struct PlaceArgs {
    /// The profile to take credentials, region, zone and endpoint from: cloudstart's config file,
    /// else the cloud's own CLI (tccli, ve, zeno, ucloud-cli). Named here, its credentials beat
    /// the environment's [default: CLOUDSTART_PROFILE, else `default`].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The region, for clouds that have one (else the cloud's variable, e.g. TENCENTCLOUD_REGION).
    #[arg(short, long, value_name = "REGION")]
    pub region: Option<String>,
    /// The zone, for clouds that need one (else the cloud's variable, e.g. QINGCLOUD_ZONE).
    #[arg(short, long, value_name = "ZONE")]
    pub zone: Option<String>,
    /// Base URL `scheme://host[:port]` replacing the cloud's real one
    /// (else CLOUDSTART_<PROVIDER>_ENDPOINT, else CLOUDSTART_ENDPOINT).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
}

/// `cloudstart sim`.
#[derive(Debug, Args)]
#[command(after_help = crate::sim::help())]
pub struct SimArgs {
    /// Address of the first cloud's listener; with a fixed port, each further cloud takes the next.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// How long a started machine takes to reach RUNNING.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = parse_duration)]
    pub boot_delay: Duration,
    /// How long a stopped machine takes to reach STOPPED.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = parse_duration)]
    pub stop_delay: Duration,
    /// TOML file seeding machines with states and boot behaviour (see README).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Append one JSON line per request to this file.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Inject a fault into each cloud's first matching requests: KIND[:N][@start|@stop|@describe], KIND
    /// one of throttle, http500, http502, http503, drop, truncate, not-json, html, huge.
    /// Repeatable.
    #[arg(long, value_name = "SPEC")]
    pub fault: Vec<crate::sim::FaultSpec>,
    /// Answer requests beyond this many per second (per cloud) with the cloud's throttling error.
    #[arg(long, value_name = "PER_SECOND", value_parser = parse_rate)]
    pub throttle_rate: Option<f64>,
    /// Hold every answer back this long.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub delay: Duration,
    /// Run the simulated clouds' clocks this many seconds off real time (negative: behind), at most
    /// a century either way.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub clock_skew: i64,
}

/// `cloudstart demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Report format on stdout.
    #[arg(short, long, value_enum, ignore_case = true, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Which address `--wait-port` connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AddressArg {
    /// The machine's first public address.
    Public,
    /// The machine's first private address (from inside its network).
    Private,
}

fn parse_rate(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "`{value}` is not a positive number of requests per second"
        )),
    }
}

/// The longest duration any flag or variable takes: far beyond any wait, and far from the
/// overflow of a clock reading plus it.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// The service names `--wait-port` and `--wait-ssh` take for a port: the common services of the
/// machines people start, by their usual name (the IANA name where it differs: `postgresql`,
/// `ms-wbt-server` for RDP, `wsman` for WinRM over HTTP, `rfb` for VNC's first display).
pub const SERVICES: &[(&str, u16)] = &[
    ("ssh", 22),
    ("http", 80),
    ("https", 443),
    ("mysql", 3306),
    ("rdp", 3389),
    ("postgres", 5432),
    ("postgresql", 5432),
    ("vnc", 5900),
    ("winrm", 5985),
    ("redis", 6379),
];

/// A TCP port: a number from 1 to 65535, or a name in [`SERVICES`] (any case).
pub fn parse_port(value: &str) -> Result<u16, String> {
    if let Ok(port) = value.parse::<u16>() {
        return match port {
            0 => Err("port 0 is not a port a machine listens on (1-65535)".to_string()),
            port => Ok(port),
        };
    }
    let known = SERVICES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(value));
    known.map(|&(_, port)| port).ok_or_else(|| {
        let names: Vec<&str> = SERVICES.iter().map(|(name, _)| *name).collect();
        format!(
            "`{}` is neither a port number (1-65535) nor a service name cloudstart knows ({})",
            crate::error::clip(value),
            names.join(", ")
        )
    })
}

/// A duration such as `500ms`, `30s` or `10m`, at most [`MAX_DURATION`].
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let shown = crate::error::clip(value);
    let duration = humantime::parse_duration(value)
        .map_err(|err| format!("`{shown}`: {err} (examples: 500ms, 30s, 10m)"))?;
    if duration > MAX_DURATION {
        return Err(format!(
            "`{shown}` is longer than the largest accepted duration, {}",
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    /// `stop --help` says what `--force` and `--stop-charging` become on every cloud: each
    /// provider's wire value where it has one, its name among those without where it has none.
    #[test]
    fn stop_help_names_what_each_option_becomes_on_every_cloud() {
        let command = Cli::command();
        let stop = command.find_subcommand("stop").unwrap();
        let help = |flag: &str| {
            let arg = stop.get_arguments().find(|a| a.get_id() == flag).unwrap();
            arg.get_help().unwrap().to_string()
        };
        for provider in provider::PROVIDERS {
            let (name, support) = (provider.name(), &provider.spec().stop);
            for (flag, wire) in [
                ("force", support.force),
                ("stop_charging", support.stop_charging),
            ] {
                let text = help(flag);
                let said = match wire {
                    Some(wire) => format!("{name} {wire}"),
                    None => name.to_string(),
                };
                assert!(text.contains(&said), "--{flag}: {said} in {text}");
                assert_eq!(
                    wire.is_none(),
                    text.split("; ")
                        .nth(1)
                        .is_some_and(|none| none.contains(name)),
                    "--{flag}: {name} {text}"
                );
            }
        }
    }

    #[test]
    fn ports_are_numbers_or_the_names_of_common_services() {
        assert_eq!(parse_port("22"), Ok(22));
        assert_eq!(parse_port("65535"), Ok(65535));
        assert_eq!(parse_port("ssh"), Ok(22));
        assert_eq!(parse_port("HTTPS"), Ok(443));
        assert_eq!(parse_port("rdp"), Ok(3389));
        assert!(parse_port("0").unwrap_err().contains("1-65535"));
        let err = parse_port("65536").unwrap_err();
        assert!(err.contains("`65536` is neither a port number"), "{err}");
        let err = parse_port("gopher\x1b[2J").unwrap_err();
        assert!(err.contains("(ssh, http, https,"), "{err}");
        assert!(!err.contains('\x1b'), "{err}");
    }

    /// `--wait-port`'s help names every service in [`SERVICES`] (an alias of a port named
    /// before it aside), and `--wait-ssh`'s value needs `=`, so a target after it stays one.
    #[test]
    fn wait_port_help_names_the_services_and_wait_ssh_takes_a_port_only_after_an_equals_sign() {
        let command = Cli::command();
        let start = command.find_subcommand("start").unwrap();
        let arg = start.get_arguments().find(|a| a.get_id() == "wait_port");
        let help = arg.unwrap().get_help().unwrap().to_string();
        for (i, (name, port)) in SERVICES.iter().enumerate() {
            if SERVICES[..i].iter().all(|(_, earlier)| earlier != port) {
                assert!(help.contains(name), "{name} in {help}");
            }
        }
        let reach = |args: &[&str]| {
            let argv = [&["cloudstart", "start"], args].concat();
            match Cli::try_parse_from(argv).unwrap().command {
                Command::Start(start) => (
                    start.reach.wait_port,
                    start.reach.wait_ssh,
                    start.targets.targets,
                ),
                _ => unreachable!(),
            }
        };
        let target = vec!["tencent:ins-r8hr2upy".to_string()];
        assert_eq!(
            reach(&["--wait-ssh", "tencent:ins-r8hr2upy"]),
            (vec![], Some(22), target.clone())
        );
        assert_eq!(
            reach(&[
                "--wait-ssh=2222",
                "--wait-port",
                "https",
                "tencent:ins-r8hr2upy"
            ]),
            (vec![443], Some(2222), target.clone())
        );
        assert_eq!(reach(&["tencent:ins-r8hr2upy"]), (vec![], None, target));
    }

    #[test]
    fn durations_beyond_thirty_days_are_refused_with_the_limit_named() {
        let err = parse_duration("300000000000y").unwrap_err();
        assert!(err.contains("largest accepted duration, 30days"), "{err}");
        assert_eq!(parse_duration("30d"), Ok(MAX_DURATION));
        assert!(parse_duration("31d").is_err());
    }
}
