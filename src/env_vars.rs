//! Every environment variable cloudstart reads, as one documented constant each (uv's `EnvVars`).
//!
//! The variables every cloud shares are here, in [`ALL`]; each cloud declares its own (credentials,
//! place, endpoint override, its vendor CLI's profile) in its provider module with
//! `cloud_env_vars!`, and its `ProviderSpec` carries them. `provider::every_env_var` lists both,
//! for the man pages. Cloud-specific names follow each vendor's own CLI and SDK conventions, so
//! people who already use those tools need no new setup.

/// Reads one environment variable; unset and empty are the same, for every variable cloudstart
/// reads (an unset CI secret often arrives as an empty one).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// Namespace for environment variable names.
pub struct EnvVars;

/// Which subcommands read a variable: the man pages list each under the subcommands it affects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every subcommand.
    Every,
    /// What reaches a cloud (`start`, `stop`, `wait`, `status`, `config check`): credentials,
    /// places, endpoints, the config file and the vendor CLIs' files.
    Cloud,
    /// What sends requests (`start`, `stop`, `wait`, `status`): proxies and CA certificates.
    Network,
    /// What waits for a state (`start`, `stop`, `wait`).
    Wait,
    /// What draws the live display on stderr (`start`, `stop`, `wait`, `status`, `demo`).
    Display,
    /// Where `completions --install` writes (with `HOME` and `XDG_CONFIG_HOME`).
    Completions,
    /// Where the config file is: what reaches a cloud, and `config init`, `set` and `get`.
    ConfigFile,
}

/// One environment variable: its name, its documentation and who reads it.
#[derive(Debug)]
pub struct EnvVar {
    /// The name.
    pub name: &'static str,
    /// What it does, as the constant's doc comment says it (Markdown code spans included).
    pub doc: &'static str,
    /// Which subcommands read it.
    pub scope: Scope,
}

/// Declares each variable once: a constant on [`EnvVars`] and an entry in [`ALL`], both carrying
/// the same doc comment, so the man pages cannot drift from the code's names.
macro_rules! env_vars {
    ($($(#[doc = $doc:literal])+ $scope:ident $name:ident;)+) => {
        impl EnvVars {
            $($(#[doc = $doc])+ pub const $name: &'static str = stringify!($name);)+
        }

        /// Every variable cloudstart reads for all clouds alike, in declaration order.
        pub static ALL: &[EnvVar] = &[$(EnvVar {
            name: stringify!($name),
            doc: concat!($($doc),+),
            scope: Scope::$scope,
        }),+];
    };
}

/// Declares one cloud's variables, in its provider module: a constant each with its doc comment,
/// and `ENV_VARS`, the list (scope [`Scope::Cloud`]) its `ProviderSpec` carries, so the man pages
/// list what the cloud reads without a line here.
macro_rules! cloud_env_vars {
    ($($(#[doc = $doc:literal])+ $name:ident;)+) => {
        $($(#[doc = $doc])+ pub const $name: &str = stringify!($name);)+

        /// This cloud's environment variables, in declaration order.
        pub static ENV_VARS: &[EnvVar] = &[$(EnvVar {
            name: stringify!($name),
            doc: concat!($($doc),+),
            scope: Scope::Cloud,
        }),+];
    };
}
pub(crate) use cloud_env_vars;

env_vars! {
    /// Default for `--provider`.
    Cloud CLOUDSTART_PROVIDER;
    /// Where the config file is, instead of the platform config directory.
    ConfigFile CLOUDSTART_CONFIG;
    /// The profile when `--profile` is not given; unlike `--profile`, it leaves the credentials
    /// in the environment first.
    Cloud CLOUDSTART_PROFILE;
    /// Default for `--endpoint`, for every cloud.
    Cloud CLOUDSTART_ENDPOINT;
    /// Default for `--timeout` (e.g. `90s`, `10m`); wins over the profile's `timeout`.
    Cloud CLOUDSTART_TIMEOUT;
    /// Default for `--output` (`text`, `json`, `ndjson`); wins over the profile's `output`.
    Cloud CLOUDSTART_OUTPUT;
    /// Default for `--poll-interval`; wins over the profile's `poll_interval`.
    Wait CLOUDSTART_POLL_INTERVAL;
    /// Default for `--poll-max`; wins over the profile's `poll_max`.
    Wait CLOUDSTART_POLL_MAX;
    /// How often, off a terminal, a "still waiting" line is written to stderr (default 30s).
    Wait CLOUDSTART_HEARTBEAT;
    /// A PEM file of extra CA certificates to trust; `--ca-bundle` wins.
    Network SSL_CERT_FILE;
    /// Log filter in `tracing` syntax; wins over `-q`/`-v`.
    Every RUST_LOG;

    /// The home directory: the default config file, the vendor CLIs' files and the directories
    /// `completions --install` writes to are under it.
    Cloud HOME;
    /// The home directory on Windows, when `HOME` is unset.
    Cloud USERPROFILE;
    /// The config directory (`$XDG_CONFIG_HOME/cloudstart/config.toml`; fish's completions for
    /// `completions fish --install`), else `~/.config`.
    Cloud XDG_CONFIG_HOME;
    /// The config directory on Windows (`%APPDATA%\cloudstart\config.toml`).
    Cloud APPDATA;

    /// The proxy for HTTPS requests (also `https_proxy`), when `--proxy` is not given.
    Network HTTPS_PROXY;
    /// The proxy for HTTP requests (also `http_proxy`), when `--proxy` is not given.
    Network HTTP_PROXY;
    /// The proxy for every request (also `all_proxy`), after the two above.
    Network ALL_PROXY;
    /// Hosts reached without the proxy variables' proxy; a domain also matches its subdomains.
    Network NO_PROXY;

    /// Any value: no colour unless `--color always` (<https://no-color.org>).
    Every NO_COLOR;
    /// Any value but `0`: colour even off a terminal, unless `NO_COLOR` or `--color never`
    /// (<https://bixense.com/clicolors/>).
    Every CLICOLOR_FORCE;
    /// `0`: no colour under `--color auto` (<https://bixense.com/clicolors/>).
    Every CLICOLOR;
    /// `dumb`: neither the live display nor colour on a terminal; one line per change instead.
    Display TERM;

    /// bash-completion's user directory, whose `completions/` `completions bash --install`
    /// writes to (else `$XDG_DATA_HOME/bash-completion`).
    Completions BASH_COMPLETION_USER_DIR;
    /// The user's data directory (else `~/.local/share`), for bash-completion's user directory.
    Completions XDG_DATA_HOME;
}
