//! Every environment variable cloudstart reads, as one documented constant each (uv's `EnvVars`).
//!
//! Cloud-specific names follow each vendor's own CLI and SDK conventions, so people who already use
//! those tools need no new setup.

/// Reads one environment variable; unset and empty are the same, for every variable cloudstart
/// reads (an unset CI secret often arrives as an empty one).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// Namespace for environment variable names.
pub struct EnvVars;

impl EnvVars {
    /// Default for `--provider`.
    pub const CLOUDSTART_PROVIDER: &'static str = "CLOUDSTART_PROVIDER";
    /// Where the config file is, instead of the platform config directory.
    pub const CLOUDSTART_CONFIG: &'static str = "CLOUDSTART_CONFIG";
    /// Default for `--profile`.
    pub const CLOUDSTART_PROFILE: &'static str = "CLOUDSTART_PROFILE";
    /// Default for `--endpoint`, for every cloud.
    pub const CLOUDSTART_ENDPOINT: &'static str = "CLOUDSTART_ENDPOINT";
    /// CompShare-only endpoint override; wins over `CLOUDSTART_ENDPOINT`, loses to `--endpoint`.
    pub const CLOUDSTART_COMPSHARE_ENDPOINT: &'static str = "CLOUDSTART_COMPSHARE_ENDPOINT";
    /// QingCloud-only endpoint override; wins over `CLOUDSTART_ENDPOINT`, loses to `--endpoint`.
    pub const CLOUDSTART_QINGCLOUD_ENDPOINT: &'static str = "CLOUDSTART_QINGCLOUD_ENDPOINT";
    /// Tencent-only endpoint override; wins over `CLOUDSTART_ENDPOINT`, loses to `--endpoint`.
    pub const CLOUDSTART_TENCENT_ENDPOINT: &'static str = "CLOUDSTART_TENCENT_ENDPOINT";
    /// Volcengine-only endpoint override; wins over `CLOUDSTART_ENDPOINT`, loses to `--endpoint`.
    pub const CLOUDSTART_VOLCENGINE_ENDPOINT: &'static str = "CLOUDSTART_VOLCENGINE_ENDPOINT";
    /// Zenlayer-only endpoint override; wins over `CLOUDSTART_ENDPOINT`, loses to `--endpoint`.
    pub const CLOUDSTART_ZENLAYER_ENDPOINT: &'static str = "CLOUDSTART_ZENLAYER_ENDPOINT";
    /// How often, off a terminal, a "still waiting" line is written to stderr (default 30s).
    pub const CLOUDSTART_HEARTBEAT: &'static str = "CLOUDSTART_HEARTBEAT";
    /// A PEM file of extra CA certificates to trust; `--ca-bundle` wins.
    pub const SSL_CERT_FILE: &'static str = "SSL_CERT_FILE";
    /// Log filter in `tracing` syntax; wins over `-q`/`-v`.
    pub const RUST_LOG: &'static str = "RUST_LOG";
    /// Any value: no colour unless `--color always` (<https://no-color.org>).
    pub const NO_COLOR: &'static str = "NO_COLOR";
    /// Any value but `0`: colour even off a terminal, unless `NO_COLOR` or `--color never`
    /// (<https://bixense.com/clicolors/>).
    pub const CLICOLOR_FORCE: &'static str = "CLICOLOR_FORCE";
    /// `0`: no colour under `--color auto` (<https://bixense.com/clicolors/>).
    pub const CLICOLOR: &'static str = "CLICOLOR";
    /// The terminal type; `dumb` gets neither the live block nor colour.
    pub const TERM: &'static str = "TERM";

    /// QingCloud access key id (the Terraform provider's name).
    pub const QINGCLOUD_ACCESS_KEY: &'static str = "QINGCLOUD_ACCESS_KEY";
    /// QingCloud secret access key (the Terraform provider's name).
    pub const QINGCLOUD_SECRET_KEY: &'static str = "QINGCLOUD_SECRET_KEY";
    /// QingCloud zone, used when `--zone` is not given (EHPC: e.g. `jinan1a`).
    pub const QINGCLOUD_ZONE: &'static str = "QINGCLOUD_ZONE";
    /// QingCloud access key id, qingcloud-cli's name; read if `QINGCLOUD_ACCESS_KEY` is unset.
    pub const QY_ACCESS_KEY_ID: &'static str = "QY_ACCESS_KEY_ID";
    /// QingCloud secret access key, qingcloud-cli's name; read if `QINGCLOUD_SECRET_KEY` is unset.
    pub const QY_SECRET_ACCESS_KEY: &'static str = "QY_SECRET_ACCESS_KEY";

    /// Tencent Cloud SecretId (the SDK's and tccli's name).
    pub const TENCENTCLOUD_SECRET_ID: &'static str = "TENCENTCLOUD_SECRET_ID";
    /// Tencent Cloud SecretKey.
    pub const TENCENTCLOUD_SECRET_KEY: &'static str = "TENCENTCLOUD_SECRET_KEY";
    /// Tencent Cloud temporary-credential token, sent as `X-TC-Token`.
    pub const TENCENTCLOUD_SECURITY_TOKEN: &'static str = "TENCENTCLOUD_SECURITY_TOKEN";
    /// Tencent Cloud region, used when `--region` is not given.
    pub const TENCENTCLOUD_REGION: &'static str = "TENCENTCLOUD_REGION";

    /// Volcengine AccessKey ID (the official SDK's and Terraform provider's name).
    pub const VOLCENGINE_ACCESS_KEY: &'static str = "VOLCENGINE_ACCESS_KEY";
    /// Volcengine SecretAccessKey.
    pub const VOLCENGINE_SECRET_KEY: &'static str = "VOLCENGINE_SECRET_KEY";
    /// Volcengine STS session token, sent and signed as `X-Security-Token`.
    pub const VOLCENGINE_SESSION_TOKEN: &'static str = "VOLCENGINE_SESSION_TOKEN";
    /// Volcengine region, used when `--region` is not given.
    pub const VOLCENGINE_REGION: &'static str = "VOLCENGINE_REGION";

    /// Zenlayer access key id (the `zeno` CLI's name); read first.
    pub const ZENLAYER_ACCESS_KEY_ID: &'static str = "ZENLAYER_ACCESS_KEY_ID";
    /// Zenlayer access key password (the `zeno` CLI's name); read first.
    pub const ZENLAYER_ACCESS_KEY_SECRET: &'static str = "ZENLAYER_ACCESS_KEY_SECRET";
    /// Zenlayer access key id (the Terraform provider's name), when `ZENLAYER_ACCESS_KEY_ID` is unset.
    pub const ZENLAYERCLOUD_ACCESS_KEY_ID: &'static str = "ZENLAYERCLOUD_ACCESS_KEY_ID";
    /// Zenlayer access key password (the Terraform provider's name), when
    /// `ZENLAYER_ACCESS_KEY_SECRET` is unset.
    pub const ZENLAYERCLOUD_ACCESS_KEY_PASSWORD: &'static str = "ZENLAYERCLOUD_ACCESS_KEY_PASSWORD";

    /// CompShare API public key (the name compshare-cli reads).
    pub const COMPSHARE_PUBLIC_KEY: &'static str = "COMPSHARE_PUBLIC_KEY";
    /// CompShare API private key; signs requests and is never sent.
    pub const COMPSHARE_PRIVATE_KEY: &'static str = "COMPSHARE_PRIVATE_KEY";
    /// CompShare region (e.g. `cn-wlcb`), used when `--region` is not given.
    pub const COMPSHARE_REGION: &'static str = "COMPSHARE_REGION";
    /// CompShare zone (e.g. `cn-wlcb-01`), used when `--zone` is not given.
    pub const COMPSHARE_ZONE: &'static str = "COMPSHARE_ZONE";
    /// UCloud public key (UCloud CLI and Terraform), the fallback for `COMPSHARE_PUBLIC_KEY`.
    pub const UCLOUD_PUBLIC_KEY: &'static str = "UCLOUD_PUBLIC_KEY";
    /// UCloud private key, the fallback for `COMPSHARE_PRIVATE_KEY`.
    pub const UCLOUD_PRIVATE_KEY: &'static str = "UCLOUD_PRIVATE_KEY";
    /// UCloud region, the fallback for `COMPSHARE_REGION`.
    pub const UCLOUD_REGION: &'static str = "UCLOUD_REGION";
    /// UCloud zone, the fallback for `COMPSHARE_ZONE`.
    pub const UCLOUD_ZONE: &'static str = "UCLOUD_ZONE";
}
