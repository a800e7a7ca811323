//! The `--state` file: machines seeded with a state, boot and shutdown behaviour, delays, refusals
//! and addresses, read once when the simulator starts.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::profiles;
use crate::error::Error;

/// Machines seeded from the `--state` file: cloud → id → settings.
pub type Seed = HashMap<String, HashMap<String, SeedMachine>>;

/// One seeded machine.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedMachine {
    /// The cloud's state name to start in, or `not_found`.
    pub state: Option<String>,
    /// What happens when it is started.
    #[serde(default)]
    pub boot: Boot,
    /// Its own time from an accepted start to RUNNING, e.g. `"10s"` (else `--boot-delay`).
    #[serde(default, deserialize_with = "duration_text")]
    pub boot_delay: Option<Duration>,
    /// An error code every start of this machine is refused with, in the cloud's envelope.
    pub start_error: Option<String>,
    /// What happens when it is stopped.
    #[serde(default)]
    pub shutdown: Boot,
    /// Its own time from an accepted stop to STOPPED, e.g. `"10s"` (else `--stop-delay`).
    #[serde(default, deserialize_with = "duration_text")]
    pub stop_delay: Option<Duration>,
    /// An error code every stop of this machine is refused with, in the cloud's envelope.
    pub stop_error: Option<String>,
    /// The public address it shows while running, instead of its own in 203.0.113.0/24
    /// (`127.0.0.1` makes it reachable from this machine).
    pub public_ip: Option<String>,
    /// The private address it shows, instead of its own in 10.0.0.0/8.
    pub private_ip: Option<String>,
}

/// What a started machine does after the boot delay (`boot`), or a stopped one after the stop
/// delay (`shutdown`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Boot {
    /// Reaches RUNNING (STOPPED).
    #[default]
    Normal,
    /// Falls back to stopped (running) with the operation marked failed.
    Fail,
    /// Stays starting (stopping) forever.
    Never,
}

/// A duration written as text in a state file, e.g. `"500ms"` or `"10s"`.
fn duration_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_duration(&text)
        .map(Some)
        .map_err(|err| serde::de::Error::custom(format!("`{text}`: {err} (e.g. 500ms, 10s)")))
}

/// Reads a `--state` file.
pub fn load_seed(path: &Path) -> Result<Seed, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Error::usage(format!("cannot read {}: {err}", path.display())))?;
    let seed: Seed = toml::from_str(&text)
        .map_err(|err| Error::usage(format!("invalid state file {}: {err}", path.display())))?;
    for cloud in seed.keys() {
        if !profiles().any(|p| p.provider == cloud) {
            return Err(Error::usage(format!(
                "invalid state file {}: the simulator has no `{cloud}` dialect",
                path.display()
            )));
        }
    }
    Ok(seed)
}
