//! What the engine is built from: [`EngineConfig`] (one cloud, place and set of credentials, with
//! their deadline), the request [`RetryConfig`] and the [`Network`] path.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::Endpoint;
use crate::credentials::{CredentialOrigin, Credentials};
use crate::provider::{ActionOptions, Location, Provider};

/// How often and how patiently a failed request is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Cap of the first backoff; each retry doubles it.
    pub base_delay: Duration,
    /// Largest backoff.
    pub max_delay: Duration,
    /// Longest wait for one answer (also bounded by the run's deadline).
    pub request_timeout: Duration,
    /// Wait between attempts while another operation holds the machine.
    pub busy_delay: Duration,
    /// Send a start refused for capacity (sold out, not enough resources) again with the
    /// backoff until the deadline (`--retry-capacity`), instead of reporting it at once.
    pub retry_capacity: bool,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            request_timeout: Duration::from_secs(30),
            busy_delay: Duration::from_secs(5),
            retry_capacity: false,
        }
    }
}

impl RetryConfig {
    /// Full-jitter backoff before retry `retry` (1-based): uniform in `0..=min(max, base·2^(retry-1))`.
    pub(super) fn backoff(&self, retry: u32, rng: &mut fastrand::Rng) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1 << (retry - 1).min(16))
            .min(self.max_delay);
        cap.mul_f64(rng.f64())
    }
}

/// How requests reach the clouds, beyond the endpoint.
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// `--proxy`; without it, the standard proxy variables apply.
    pub proxy: Option<reqwest::Proxy>,
    /// CA certificates trusted besides the built-in roots (`--ca-bundle`, `SSL_CERT_FILE`).
    pub extra_roots: Vec<reqwest::Certificate>,
    /// Whether any request may need TLS: an https endpoint, or any proxy.
    pub may_use_tls: bool,
    /// The proxy in use and where it was set, for messages; never its credentials.
    pub proxy_name: Option<String>,
}

/// What an [`ApiClient`](super::ApiClient) is built from: the part of a group's settings the engine uses, so that
/// this layer needs nothing of how those settings were resolved.
#[derive(Debug, Clone)]
pub struct EngineConfig<'a> {
    /// The cloud.
    pub provider: &'static dyn Provider,
    /// Who signs the calls.
    pub credentials: &'a Credentials,
    /// Where those credentials came from, for the messages about a refused key.
    pub credentials_origin: &'a CredentialOrigin,
    /// Region and zone.
    pub location: &'a Location,
    /// Where the calls go.
    pub endpoint: &'a Endpoint,
    /// Request retries.
    pub retry: RetryConfig,
    /// Proxy and extra trusted CAs.
    pub network: &'a Network,
    /// What start and stop calls carry besides the ids (`--without-gpu`, `--force`,
    /// `--stop-charging`); the client token is drawn per call.
    pub options: ActionOptions,
    /// No call outlives this.
    pub deadline: Instant,
    /// Wall-clock time, for signing, measuring the cloud's clock and `Retry-After` dates.
    pub clock: Clock,
    /// Seeds the engine's randomness (client tokens, backoff and poll jitter); `None` seeds it
    /// from the process's generator.
    pub seed: Option<u64>,
}

/// Where the engine reads wall-clock time: [`system_clock`] except in tests, which fix it.
/// Elapsed time and sleeps use tokio's clock, which tests pause instead.
pub type Clock = fn() -> DateTime<Utc>;

/// This machine's clock, [`Utc::now`].
pub fn system_clock() -> DateTime<Utc> {
    Utc::now()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn backoff_is_capped_and_grows() {
        let config = RetryConfig {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            request_timeout: Duration::from_secs(1),
            busy_delay: Duration::from_secs(1),
            retry_capacity: false,
        };
        for retry in 1..=10 {
            let cap =
                Duration::from_millis(100 * (1 << (retry - 1))).min(Duration::from_millis(500));
            let mut rng = fastrand::Rng::with_seed(retry.into());
            for _ in 0..50 {
                assert!(config.backoff(retry, &mut rng) <= cap);
            }
        }
    }
}
