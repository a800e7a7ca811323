//! Every environment variable cloudstart reads, as one documented constant each (uv's `EnvVars`).
//!
//! Cloud-specific names follow each vendor's own CLI and SDK conventions, so people who already use
//! those tools need no new setup.

/// Namespace for environment variable names.
pub struct EnvVars;

impl EnvVars {
    /// Default for `--provider`.
    pub const CLOUDSTART_PROVIDER: &'static str = "CLOUDSTART_PROVIDER";
    /// Default for `--endpoint`, for every cloud.
    pub const CLOUDSTART_ENDPOINT: &'static str = "CLOUDSTART_ENDPOINT";
    /// Tencent-only endpoint override; wins over `CLOUDSTART_ENDPOINT`, loses to `--endpoint`.
    pub const CLOUDSTART_TENCENT_ENDPOINT: &'static str = "CLOUDSTART_TENCENT_ENDPOINT";
    /// Test knob (hidden): any non-empty value makes request retries wait no time between attempts.
    pub const CLOUDSTART_TEST_NO_RETRY_DELAY: &'static str = "CLOUDSTART_TEST_NO_RETRY_DELAY";
    /// Log filter in `tracing` syntax; wins over `-q`/`-v`.
    pub const RUST_LOG: &'static str = "RUST_LOG";

    /// Tencent Cloud SecretId (the SDK's and tccli's name).
    pub const TENCENTCLOUD_SECRET_ID: &'static str = "TENCENTCLOUD_SECRET_ID";
    /// Tencent Cloud SecretKey.
    pub const TENCENTCLOUD_SECRET_KEY: &'static str = "TENCENTCLOUD_SECRET_KEY";
    /// Tencent Cloud temporary-credential token, sent as `X-TC-Token`.
    pub const TENCENTCLOUD_SECURITY_TOKEN: &'static str = "TENCENTCLOUD_SECURITY_TOKEN";
    /// Tencent Cloud region, used when `--region` is not given.
    pub const TENCENTCLOUD_REGION: &'static str = "TENCENTCLOUD_REGION";

    /// Zenlayer-only endpoint override; wins over `CLOUDSTART_ENDPOINT`, loses to `--endpoint`.
    pub const CLOUDSTART_ZENLAYER_ENDPOINT: &'static str = "CLOUDSTART_ZENLAYER_ENDPOINT";
    /// Zenlayer access key id (the `zeno` CLI's name); read first.
    pub const ZENLAYER_ACCESS_KEY_ID: &'static str = "ZENLAYER_ACCESS_KEY_ID";
    /// Zenlayer access key password (the `zeno` CLI's name); read first.
    pub const ZENLAYER_ACCESS_KEY_SECRET: &'static str = "ZENLAYER_ACCESS_KEY_SECRET";
    /// Zenlayer access key id (the Terraform provider's name), when `ZENLAYER_ACCESS_KEY_ID` is unset.
    pub const ZENLAYERCLOUD_ACCESS_KEY_ID: &'static str = "ZENLAYERCLOUD_ACCESS_KEY_ID";
    /// Zenlayer access key password (the Terraform provider's name), when
    /// `ZENLAYER_ACCESS_KEY_SECRET` is unset.
    pub const ZENLAYERCLOUD_ACCESS_KEY_PASSWORD: &'static str = "ZENLAYERCLOUD_ACCESS_KEY_PASSWORD";
}
