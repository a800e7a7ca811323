//! The command line's values, the environment and the config file, resolved into a validated
//! [`Plan`]: one [`GroupSettings`] per cloud, region, zone and profile. The flags arrive as plain
//! data, copied from clap's types by `commands`, so nothing here depends on the command-line
//! parser.
//!
//! Everything that can be checked without the network is checked here, before any request: the
//! clouds are known, ids have their cloud's shape, regions are well formed, endpoints are base
//! URLs, and credentials are present. Precedence, for each setting of each target: targets file >
//! flag > environment > config profile > vendor CLI file > built-in default. [`Source`] records
//! which one supplied each value, for `cloudstart config check`.
//!
//! One exception, as in the AWS CLI: a profile asked for by name (`--profile`, or a targets file's
//! `profile`) takes its credentials from that profile only, never from the credential variables in
//! the environment, so an exported key cannot quietly start machines in another account.
//!
//! The parts, in the order a run meets them:
//!
//! - `flags`: the command line's values as plain data ([`RunFlags`], [`TargetFlags`],
//!   [`PlaceFlags`]) and the [`RunOptions`] they ask for;
//! - [`defaults`]: the run's own settings (`timeout`, `output`, `poll_interval`, `poll_max`);
//! - [`targets`]: `provider:id` arguments and targets files;
//! - `network`: proxy and extra trusted roots;
//! - `layers`: flag > environment > profile > vendor CLI file > default for one cloud
//!   ([`Layers`], [`Source`], [`Sourced`], [`ProfileChoice`], [`PlaceKind`]), reading [`config`]
//!   and [`vendor`];
//! - `plan`: [`Plan::resolve`], which groups the targets and resolves each group;
//! - [`edit`] (`config init`/`set`/`get`) and [`files`] (the rules for every local file read).

pub mod config;
pub mod defaults;
pub mod edit;
pub mod files;
mod flags;
mod layers;
mod network;
mod plan;
pub mod targets;
#[cfg(test)]
pub(crate) mod testing;
pub mod vendor;

pub use flags::{PlaceFlags, RunFlags, RunOptions, TargetFlags};
pub use layers::{Layers, PlaceKind, ProfileChoice, Source, Sourced};
pub use network::network_from_env;
pub use plan::{listed_targets, GroupSettings, Plan, Unready};
