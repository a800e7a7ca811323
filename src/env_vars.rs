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
    /// CompShare-only endpoint override; wins over `CLOUDSTART_ENDPOINT`, loses to `--endpoint`.
    pub const CLOUDSTART_COMPSHARE_ENDPOINT: &'static str = "CLOUDSTART_COMPSHARE_ENDPOINT";
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
