//! `config check --online`: one cheap authenticated read per configured cloud, to learn whether
//! it accepts the credentials, touching no machine.
//!
//! The read is each provider's [`Provider::probe_call`]: the describe call a run polls with, but
//! without ids (Tencent and Volcengine `DescribeInstances`, QingCloud EHPC's cluster list,
//! CompShare `DescribeCompShareInstance`; Zenlayer `DescribeInstancesStatus` with a page of one),
//! which lists at most the cloud's first page and changes nothing. Each cloud checks
//! the signature and the key before it reads, so a rejected key fails here as it would fail a
//! start (exit 3), and an unreachable endpoint as a run would (exit 5).

use std::time::Duration;

use tokio::time::Instant;

use crate::credentials::{CredentialOrigin, Credentials};
use crate::engine::{system_clock, ApiClient, Endpoint, EngineConfig, Network, RetryConfig};
use crate::error::ErrorKind;
use crate::provider::{ActionOptions, Location, Provider};

/// What one cloud's read needs.
pub(super) struct Probe {
    /// The cloud.
    pub(super) provider: &'static dyn Provider,
    /// Where the read goes.
    pub(super) endpoint: Endpoint,
    /// Who signs it.
    pub(super) credentials: Credentials,
    /// Where they came from, for the message if they are refused.
    pub(super) origin: CredentialOrigin,
    /// Region and zone.
    pub(super) location: Location,
}

/// Sends `probe`'s read under `timeout`: `Ok` when the cloud answered it, the call's error
/// (with its kind: auth, transport, ...) otherwise.
pub(super) async fn probe(
    probe: Probe,
    network: &Network,
    timeout: Duration,
) -> Result<(), (ErrorKind, String)> {
    let network = Network {
        may_use_tls: network.may_use_tls || probe.endpoint.base().starts_with("https://"),
        ..network.clone()
    };
    let config = EngineConfig {
        provider: probe.provider,
        credentials: &probe.credentials,
        credentials_origin: &probe.origin,
        location: &probe.location,
        endpoint: &probe.endpoint,
        retry: RetryConfig::default(),
        network: &network,
        options: ActionOptions::default(),
        deadline: Instant::now() + timeout,
        clock: system_clock,
        seed: None,
    };
    let client = ApiClient::new(config).map_err(|err| {
        let message = format!("cannot set up the HTTP client: {err}");
        (ErrorKind::Internal, message)
    })?;
    client
        .probe()
        .await
        .map_err(|err| (err.kind(), err.to_string()))
}
