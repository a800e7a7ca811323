//! The [`Provider`] trait, the types it speaks in, and the [`PROVIDERS`] registry.
//!
//! A provider translates and does no I/O: it says what to send to start or stop machines and to ask
//! their state (and, as data, any second call a cloud needs: QingCloud's job log, Zenlayer's
//! addresses), how to sign a request, and how to read the answers into [`Phase`]s and classed
//! [`ApiError`]s. The engine (`crate::engine`: its sender signs, sends and retries, its client
//! makes the calls, its lifecycle, poller and port waits decide what comes next) owns every
//! `.await`, so the trait stays synchronous and object-safe and the registry is a plain slice of
//! `&dyn Provider`. A new cloud is one module here plus one line in [`PROVIDERS`].
//!
//! This file holds the trait, the registry and what a provider declares about its cloud
//! ([`ProviderSpec`], [`Action`], [`Location`], [`IdShape`]); the types it speaks in are split by
//! what they describe: `vocabulary` (a cloud's words and refusals), `wire` (calls, signed requests,
//! answers) and `state` (what a describe says about a machine). Everything is re-exported here.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::credentials::{CredentialVars, Credentials};
use crate::env_vars::{self, EnvVar};

pub mod compshare;
pub mod qingcloud;
pub mod tencent;
pub mod volcengine;
pub mod zenlayer;

mod state;
mod vocabulary;
mod wire;

pub use compshare::UcloudCompshare;
pub use qingcloud::QingcloudEhpc;
pub use tencent::TencentCvm;
pub use volcengine::VolcengineEcs;
pub use zenlayer::ZenlayerZec;

pub use state::*;
pub use vocabulary::*;
pub use wire::*;

/// Every cloud, looked up by [`Provider::name`]: a new cloud is one module plus one line here.
pub static PROVIDERS: &[&dyn Provider] = &[
    &QingcloudEhpc,
    &TencentCvm,
    &VolcengineEcs,
    &ZenlayerZec,
    &UcloudCompshare,
];

/// The provider called `name`, if any.
pub fn find(name: &str) -> Option<&'static dyn Provider> {
    PROVIDERS.iter().copied().find(|p| p.name() == name)
}

/// Every provider's name, in registry order: the values `--provider` accepts.
pub fn names() -> impl Iterator<Item = &'static str> {
    PROVIDERS.iter().map(|p| p.name())
}

/// Every environment variable cloudstart reads: the ones all clouds share ([`env_vars::ALL`]),
/// then each registered cloud's own, in registry order.
pub fn every_env_var() -> impl Iterator<Item = &'static EnvVar> {
    (env_vars::ALL.iter()).chain(PROVIDERS.iter().flat_map(|p| p.spec().env_vars))
}

/// A cloud API: requests to build, sign and read. See the module docs for the division of labour.
///
/// Contract for implementors:
/// - Building and signing are pure: the engine passes the time in, so the same inputs always give
///   the same bytes, and vectors from the vendor's SDK can pin them down.
/// - `parse_action` succeeds only when the cloud accepted the start or stop; "already running",
///   "already stopping" and every other refusal come back as an [`ApiError`] whose [`ErrorClass`]
///   tells the engine what to do next (describe, retry, or give up).
/// - `parse_describe` maps every state name the cloud reports into a [`Phase`], using
///   [`Phase::Unknown`] rather than failing on a name it does not know. Ids the cloud did not
///   return are simply absent from the result.
/// - A body that is not what the cloud documents is an `ApiError` of class
///   [`ErrorClass::BadResponse`], never a panic.
pub trait Provider: Sync {
    /// Static facts about the cloud: its name, id shape, batch limits and where its settings come
    /// from.
    fn spec(&self) -> &'static ProviderSpec;

    /// The `--provider` value, e.g. `tencent`.
    fn name(&self) -> &'static str {
        self.spec().name
    }

    /// Checks an instance id's shape before any request; `Err` says what shape was expected.
    fn validate_id(&self, id: &str) -> Result<(), String> {
        self.spec().id_shape.check(id)
    }

    /// The production base URL (`https://host`) for `location`.
    fn default_endpoint(&self, location: &Location) -> String;

    /// The call that does `action` to `ids` (at most `spec().action_batch` of them): the cloud's
    /// start or stop call, with `options` on the wire where the cloud has them.
    fn action_call(
        &self,
        action: Action,
        ids: &[String],
        location: &Location,
        options: &ActionOptions,
    ) -> ApiCall;

    /// The call that reports the state of `ids` (at most `spec().describe_batch` of them).
    fn describe_call(&self, ids: &[String], location: &Location) -> ApiCall;

    /// A cheap authenticated read that touches no machine, for `config check --online`: whether
    /// the cloud accepts the credentials. Its answer is parsed as a describe's. By default the
    /// describe call without ids — the first page of the account's machines in `location`
    /// (Tencent `DescribeInstances`, Volcengine `DescribeInstances`, QingCloud EHPC
    /// `/api/ehpc/hpc/cluster/list`, CompShare `DescribeCompShareInstance`: each takes no ids as
    /// "list").
    fn probe_call(&self, location: &Location) -> ApiCall {
        self.describe_call(&[], location)
    }

    /// Signs `call` for the endpoint host `host` (the `Host` value sent) at time `now`; `location`
    /// is there for schemes whose credential scope names the region.
    fn sign(
        &self,
        call: &ApiCall,
        host: &str,
        location: &Location,
        credentials: &Credentials,
        now: DateTime<Utc>,
    ) -> SignedRequest;

    /// Signs the `inputs` of one of the cloud's signing vectors (`tests/fixtures/vectors/<cloud>.json`,
    /// written from the vendor's SDK) and returns every stage the signer exposes, each under the
    /// JSON pointer of the SDK's value in the vector (`/expected/signature`): one test checks every
    /// cloud's stages byte for byte. `Err` names an input the vector lacks.
    fn vector_stages(&self, inputs: &serde_json::Value) -> Result<VectorStages, String>;

    /// Reads the answer to an [`Provider::action_call`] for `action`; its error codes mean what
    /// the vocabulary says they mean for that action ([`Vocabulary::class_in`]).
    fn parse_action(&self, action: Action, response: &HttpResponse) -> Result<Accepted, ApiError>;

    /// Reads the answer to a describe call.
    fn parse_describe(&self, response: &HttpResponse) -> Result<Vec<InstanceState>, ApiError>;

    /// The call that reports the asynchronous job `job_id` of a start or stop, for clouds whose
    /// action calls answer with one (QingCloud); `None` elsewhere.
    fn job_call(&self, _job_id: &str, _location: &Location) -> Option<ApiCall> {
        None
    }

    /// Reads the answer to a [`Provider::job_call`].
    fn parse_job(&self, response: &HttpResponse) -> Result<Vec<JobStatus>, ApiError> {
        Err(ApiError::bad_response(
            "job",
            response,
            "this cloud has no job calls",
        ))
    }

    /// The call that reports the addresses and zone of `ids` (at most `spec().describe_batch` of
    /// them), for clouds whose describe call carries neither (Zenlayer); `None` elsewhere. The
    /// engine makes it once for the machines a describe found running without addresses.
    fn detail_call(&self, _ids: &[String], _location: &Location) -> Option<ApiCall> {
        None
    }

    /// Reads the answer to a [`Provider::detail_call`]: each listed machine's details.
    fn parse_details(&self, response: &HttpResponse) -> Result<Vec<Detail>, ApiError> {
        Err(ApiError::bad_response(
            "detail",
            response,
            "this cloud has no detail calls",
        ))
    }
}

impl fmt::Debug for dyn Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A signer's stages for one signing vector: `(pointer to the SDK's value in the vector, value)`.
pub type VectorStages = Vec<(&'static str, String)>;

/// The string at `pointer` in a signing vector's inputs, or which input is missing.
pub(crate) fn vector_text<'a>(
    inputs: &'a serde_json::Value,
    pointer: &str,
) -> Result<&'a str, String> {
    (inputs.pointer(pointer).and_then(serde_json::Value::as_str))
        .ok_or_else(|| format!("the vector has no text input {pointer}"))
}

/// The integer at `pointer` in a signing vector's inputs.
pub(crate) fn vector_int(inputs: &serde_json::Value, pointer: &str) -> Result<i64, String> {
    (inputs.pointer(pointer).and_then(serde_json::Value::as_i64))
        .ok_or_else(|| format!("the vector has no integer input {pointer}"))
}

/// The `[[name, value], …]` list at `pointer` in a signing vector's inputs.
pub(crate) fn vector_pairs(
    inputs: &serde_json::Value,
    pointer: &str,
) -> Result<Vec<(String, String)>, String> {
    let pairs = (inputs
        .pointer(pointer)
        .and_then(serde_json::Value::as_array))
    .ok_or_else(|| format!("the vector has no list input {pointer}"))?;
    (pairs.iter())
        .map(|pair| match (pair[0].as_str(), pair[1].as_str()) {
            (Some(name), Some(value)) => Ok((name.to_string(), value.to_string())),
            _ => Err(format!("{pointer}: not a [name, value] pair")),
        })
        .collect()
}

/// Static facts about one cloud, read by the settings resolver and the engine.
#[derive(Debug)]
pub struct ProviderSpec {
    /// The `--provider` value.
    pub name: &'static str,
    /// What the cloud's instance ids look like.
    pub id_shape: IdShape,
    /// Most ids one start or stop call may carry.
    pub action_batch: usize,
    /// Most ids one describe call may carry.
    pub describe_batch: usize,
    /// Whether `--region` is needed, and the environment variables that can supply it.
    pub region: Requirement,
    /// Whether `--zone` is needed, and the environment variables that can supply it.
    pub zone: Requirement,
    /// Where credentials come from.
    pub credentials: CredentialVars,
    /// Every environment variable this cloud reads (declared with `env_vars::cloud_env_vars!`
    /// in its module): the man pages list them beside [`env_vars::ALL`].
    pub env_vars: &'static [EnvVar],
    /// The per-cloud endpoint override variable, e.g. `CLOUDSTART_TENCENT_ENDPOINT`.
    pub endpoint_var: &'static str,
    /// The cloud's state names and error codes, declared once.
    pub vocabulary: Vocabulary,
    /// Whether the cloud can start a GPU machine without its GPU (`--without-gpu`).
    pub without_gpu: bool,
    /// Whether start and stop calls carry [`ActionOptions::client_token`] and the cloud
    /// de-duplicates by it, so a call that got no answer may be sent again as it was.
    pub idempotent_actions: bool,
    /// What `--force` and `--stop-charging` become on this cloud's stop call.
    pub stop: StopSupport,
    /// Whether describe answers carry a running machine's IP addresses, which `--wait-port` and
    /// `--wait-ssh` connect to (and the report lists).
    pub reports_addresses: bool,
    /// The request rates cloudstart keeps under, per cloud and region; every one holds at once
    /// (an hourly quota and a per-second ceiling, say).
    pub rate_limits: &'static [RateLimit],
    /// The body of this cloud's table in the file `config init` writes: its credential fields and
    /// place, every line a comment, each ending in a newline.
    pub config_table: &'static str,
}

/// What a lifecycle call asks of a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Start it: STOPPED → RUNNING.
    Start,
    /// Stop it: RUNNING → STOPPED.
    Stop,
}

impl Action {
    /// `start` or `stop`, for messages, events and the report.
    pub fn name(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
        }
    }

    /// The phase the action drives toward.
    pub fn target(self) -> Phase {
        match self {
            Action::Start => Phase::Running,
            Action::Stop => Phase::Stopped,
        }
    }

    /// The phase a machine shows once the cloud accepted the action.
    pub fn underway(self) -> Phase {
        match self {
            Action::Start => Phase::Starting,
            Action::Stop => Phase::Stopping,
        }
    }

    /// The phase the action applies to: where a machine must be for the cloud to take it.
    pub fn source(self) -> Phase {
        match self {
            Action::Start => Phase::Stopped,
            Action::Stop => Phase::Running,
        }
    }
}

/// What the stop options become on one cloud's wire, for `--help`, README and the usage error
/// a cloud without them gives; `None` where the cloud has no such option.
#[derive(Debug)]
pub struct StopSupport {
    /// What a stop without `--force` sends: the cloud's gentle stop (an OS shutdown).
    pub gentle: &'static str,
    /// What `--force` sends: a hard power-off.
    pub force: Option<&'static str>,
    /// What `--stop-charging` sends: stop billing the compute while stopped.
    pub stop_charging: Option<&'static str>,
}

/// At most `requests` API requests in any window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed in one window.
    pub requests: u32,
    /// The window.
    pub per: Duration,
}

/// What one cloud's instance ids look like: a prefix, then a run of allowed bytes.
#[derive(Debug)]
pub struct IdShape {
    /// The prefixes an id may start with (one of them); empty for opaque ids.
    pub prefixes: &'static [&'static str],
    /// How long the part after the prefix may be.
    pub body_len: RangeInclusive<usize>,
    /// Whether a byte may appear after the prefix.
    pub body_byte: fn(u8) -> bool,
    /// The shape in words, for the error message, e.g. "`ins-` and 8 lowercase letters or digits".
    pub described: &'static str,
    /// A well-formed id, for the error message.
    pub example: &'static str,
}

impl IdShape {
    /// `Ok` when `id` has this shape; otherwise what was expected.
    pub fn check(&self, id: &str) -> Result<(), String> {
        let body = if self.prefixes.is_empty() {
            Some(id)
        } else {
            self.prefixes
                .iter()
                .find_map(|prefix| id.strip_prefix(prefix))
        };
        let valid = body.is_some_and(|body| {
            self.body_len.contains(&body.len()) && body.bytes().all(self.body_byte)
        });
        if valid {
            Ok(())
        } else {
            Err(format!(
                "expected {}, e.g. {}",
                self.described, self.example
            ))
        }
    }
}

/// Lowercase ASCII letters and digits: the body of most clouds' ids.
pub fn lower_alphanumeric(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit()
}

/// Per-run choices a start or stop call carries besides the ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionOptions {
    /// A token unique to this call, for clouds that de-duplicate retried requests with it; the
    /// engine builds the call once, so every retry carries the same token.
    pub client_token: String,
    /// Start without the GPU (only where `ProviderSpec::without_gpu`).
    pub without_gpu: bool,
    /// Stop with a hard power-off instead of the gentle stop (`--force`; only where
    /// [`StopSupport::force`]).
    pub force: bool,
    /// Stop billing the compute while stopped (`--stop-charging`; only where
    /// [`StopSupport::stop_charging`]).
    pub stop_charging: bool,
}

/// Whether a location setting is needed, and the environment variables that can supply it.
#[derive(Debug)]
pub enum Requirement {
    /// Must be given by flag or one of these variables.
    Required(&'static [&'static str]),
    /// Accepted and ignored.
    Unused,
}

/// Where the machines live: the region and zone a target was resolved to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The region, for clouds that need one.
    pub region: Option<String>,
    /// The zone, for clouds that need one.
    pub zone: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_are_unique() {
        let mut names: Vec<_> = names().collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PROVIDERS.len());
    }
}
