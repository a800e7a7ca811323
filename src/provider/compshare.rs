//! UCloud CompShare (优云智算) GPU instances: `StartCompShareInstance`, `StopCompShareInstance` and
//! `DescribeCompShareInstance` on the CompShare gateway, signed with UCloud's SHA-1 "VerifyAC".
//!
//! Wire protocol: `../shared/providers/compshare.md` (from `ucloud-sdk-python3`); vendor docs:
//! <https://docs.ucloud.cn/api/summary/signature> and the CompShare API pages. Every call is
//! `POST /` with a form body; errors come as HTTP 200 with a non-zero `RetCode`, so the body, not
//! the status, decides success. The request id travels in a response header, not in the body.
//!
//! `action_call` and `describe_call` put the API parameters, unencoded, in [`ApiCall::query`]:
//! only `sign` knows the public key that joins them, and it sends them all as the form body.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{
    http_status_error, lower_alphanumeric, Accepted, Action, ActionOptions, Addresses, ApiCall,
    ApiError, ErrorClass, Header, HttpResponse, IdShape, InstanceState, Lenient, Location, Method,
    Phase, Provider, ProviderSpec, RateLimit, Requirement, SignedRequest, StopSupport, Vocabulary,
    WireIps, WireZone,
};
use super::{vector_pairs, vector_text, VectorStages};
use crate::credentials::{CredentialVars, Credentials, Secret};
use crate::env_vars::{cloud_env_vars, EnvVar, Scope};
use crate::sign::{form_encode, hex_sha1};

/// The start action: one instance per request, there is no batch form.
pub const START_ACTION: &str = "StartCompShareInstance";
/// The stop action: one instance per request too.
pub const STOP_ACTION: &str = "StopCompShareInstance";
/// The describe action.
pub const DESCRIBE_ACTION: &str = "DescribeCompShareInstance";
/// The only content type cloudstart sends.
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
/// The response header carrying the request id (the body has none).
pub const REQUEST_ID_HEADER: &str = "X-UCLOUD-REQUEST-UUID";
/// The name CompShare gives its 10-minute per-instance operation lock; it documents no RetCode.
pub const OPERATION_LOCK: &str = "InstanceOperationInProgress";
/// Most `UHostIds.N` (and most `Limit`) one describe takes.
pub const MAX_DESCRIBE_IDS: usize = 100;

const PROVIDER: &str = "compshare";

/// UCloud CompShare.
#[derive(Debug)]
pub struct UcloudCompshare;

cloud_env_vars! {
    /// CompShare-only endpoint override; wins over `CLOUDSTART_ENDPOINT`, loses to `--endpoint`.
    CLOUDSTART_COMPSHARE_ENDPOINT;
    /// CompShare API public key (the name compshare-cli reads).
    COMPSHARE_PUBLIC_KEY;
    /// CompShare API private key; signs requests and is never sent.
    COMPSHARE_PRIVATE_KEY;
    /// CompShare region (e.g. `cn-wlcb`), used when `--region` is not given.
    COMPSHARE_REGION;
    /// CompShare zone (e.g. `cn-wlcb-01`), used when `--zone` is not given.
    COMPSHARE_ZONE;
    /// UCloud public key (UCloud CLI and Terraform), the fallback for `COMPSHARE_PUBLIC_KEY`.
    UCLOUD_PUBLIC_KEY;
    /// UCloud private key, the fallback for `COMPSHARE_PRIVATE_KEY`.
    UCLOUD_PRIVATE_KEY;
    /// UCloud region, the fallback for `COMPSHARE_REGION`.
    UCLOUD_REGION;
    /// UCloud zone, the fallback for `COMPSHARE_ZONE`.
    UCLOUD_ZONE;
}

static SPEC: ProviderSpec = ProviderSpec {
    name: PROVIDER,
    id_shape: IdShape {
        prefixes: &["uhost-"],
        body_len: 1..=32,
        body_byte: lower_alphanumeric,
        described: "`uhost-` and lowercase letters or digits",
        example: "uhost-1a2b3c4d",
    },
    action_batch: 1,
    describe_batch: MAX_DESCRIBE_IDS,
    region: Requirement::Required(&[COMPSHARE_REGION, UCLOUD_REGION]),
    zone: Requirement::Required(&[COMPSHARE_ZONE, UCLOUD_ZONE]),
    credentials: CredentialVars {
        key_id: &[COMPSHARE_PUBLIC_KEY, UCLOUD_PUBLIC_KEY],
        secret: &[COMPSHARE_PRIVATE_KEY, UCLOUD_PRIVATE_KEY],
        token: &[],
    },
    env_vars: ENV_VARS,
    endpoint_var: CLOUDSTART_COMPSHARE_ENDPOINT,
    vocabulary: VOCABULARY,
    without_gpu: true,
    idempotent_actions: false,
    // StopCompShareInstance's `Force` (default false), documented for preemptible instances,
    // which stop only with it; no charging option (compshare.cn/docs/gpus/instance/
    // stopcompshareinstance).
    stop: StopSupport {
        gentle: "no Force (false, the default)",
        force: Some("Force=true"),
        stop_charging: None,
    },
    reports_addresses: true,
    // Undocumented; UCloud's gateway answers 429 beyond its limit. One machine per request, so
    // a higher rate than the batch clouds: 20/s.
    rate_limits: &[RateLimit {
        requests: 20,
        per: Duration::from_secs(1),
    }],
    // The commented table `config init` writes for this cloud.
    config_table: "\
# access_key_id = \"…\"         # public key\n\
# secret_access_key = \"…\"     # private key\n\
# region = \"cn-wlcb\"\n\
# zone = \"cn-wlcb-01\"\n",
};

/// CompShare's host `State` values (UCloudDoc-Team/api `describe_comp_share_instance.md`) and
/// UCloud's common RetCodes (`summary/public.md`, commit cd570dff), all answered with HTTP 200.
const VOCABULARY: Vocabulary = Vocabulary {
    states: &[
        ("Running", Phase::Running),
        ("Stopped", Phase::Stopped),
        ("Starting", Phase::Starting),
        ("Stopping", Phase::Stopping),
        ("Rebooting", Phase::Transition),
        ("Initializing", Phase::Transition),
        ("Resizing", Phase::Transition),
        // The vendor's list has an empty state too: a machine between two states.
        ("", Phase::Transition),
        // UCloud's host state for a boot that failed.
        ("Install Fail", Phase::Failed),
    ],
    starting: "Starting",
    stopping: "Stopping",
    errors: &[
        // The API answer timed out after 60 s: the backend may have acted.
        ("110", ErrorClass::Unanswered),
        // Gateway error.
        ("130", ErrorClass::Transient),
        // Service unavailable: retry later.
        ("150", ErrorClass::Transient),
        // API request throttled.
        ("153", ErrorClass::Throttled),
        // Missing or unknown action; parameter errors: about the request, not the machine.
        ("160", ErrorClass::Refused),
        ("161", ErrorClass::Refused),
        ("220", ErrorClass::Refused),
        ("230", ErrorClass::Refused),
        ("240", ErrorClass::Refused),
        // Resources not enough, try again later (CompShare error codes, compshareerrorcode.md):
        // no capacity for the machine's GPU now.
        ("226604", ErrorClass::Capacity),
        // Missing signature; signature error; user does not exist; token does not exist.
        ("170", ErrorClass::Auth),
        ("171", ErrorClass::Auth),
        ("172", ErrorClass::Auth),
        ("174", ErrorClass::Auth),
        // IAM permission checks failed (UCloudDoc-Team/api summary/public.md): the key is valid
        // but may not do this.
        ("292", ErrorClass::PermissionDenied),
        ("293", ErrorClass::PermissionDenied),
        ("294", ErrorClass::PermissionDenied),
        ("295", ErrorClass::PermissionDenied),
        ("299", ErrorClass::PermissionDenied),
    ],
    // The stop documents no code of its own: a refused stop is explained by a describe, as a
    // refused start is (see `classify`).
    stop_errors: &[],
};

impl Provider for UcloudCompshare {
    fn spec(&self) -> &'static ProviderSpec {
        &SPEC
    }

    fn default_endpoint(&self, _location: &Location) -> String {
        // The CompShare gateway, which CompShare's own pages and SDK samples set as `base_url`;
        // the SDK's default is the general UCloud gateway (api.ucloud.cn).
        "https://api.compshare.cn".into()
    }

    fn action_call(
        &self,
        action: Action,
        ids: &[String],
        location: &Location,
        options: &ActionOptions,
    ) -> ApiCall {
        debug_assert_eq!(ids.len(), 1, "CompShare acts on one instance per call");
        let mut params: Vec<(String, String)> = ids
            .iter()
            .take(1)
            .map(|id| ("UHostId".to_string(), id.clone()))
            .collect();
        match action {
            Action::Start if options.without_gpu => {
                params.push(("WithoutGpu".into(), "true".into()));
            }
            Action::Stop if options.force => params.push(("Force".into(), "true".into())),
            _ => {}
        }
        call(action_name(action), location, params)
    }

    fn describe_call(&self, ids: &[String], location: &Location) -> ApiCall {
        // Limit defaults to 20; lists flatten zero-based (`UHostIds.0`), as the SDK's encoder does.
        let mut params = vec![("Limit".to_string(), ids.len().max(1).to_string())];
        params.extend(
            ids.iter()
                .enumerate()
                .map(|(n, id)| (format!("UHostIds.{n}"), id.clone())),
        );
        call(DESCRIBE_ACTION, location, params)
    }

    fn sign(
        &self,
        call: &ApiCall,
        host: &str,
        _location: &Location,
        credentials: &Credentials,
        now: DateTime<Utc>,
    ) -> SignedRequest {
        let mut params = Vec::with_capacity(call.query.len() + 3);
        params.push(("Action".to_string(), call.action.to_string()));
        params.extend(call.query.iter().cloned());
        params.push(("PublicKey".to_string(), credentials.key_id.clone()));
        let signature = verify_ac_sign(&params, credentials.secret.expose());
        params.push(("Signature".to_string(), signature.signature));
        let mut headers: Vec<Header> = call
            .headers
            .iter()
            .map(|(name, value)| Header::plain(name, value))
            .collect();
        headers.push(Header::plain("Host", host));
        // Informational, as in the SDK: no time is signed, so a captured request stays valid
        // (replayable) for as long as the key does.
        headers.push(Header::plain(
            "U-Timestamp-Ms",
            now.timestamp_millis().to_string(),
        ));
        SignedRequest {
            method: call.method,
            path_and_query: call.path.clone(),
            headers,
            body: form_body(&params).into_bytes(),
        }
    }

    fn vector_stages(&self, inputs: &serde_json::Value) -> Result<VectorStages, String> {
        let mut params = vector_pairs(inputs, "/params_in_sdk_order")?;
        let signature = verify_ac_sign(&params, vector_text(inputs, "/credentials/private_key")?);
        // The form body the SDK sent: its parameters in its order, then the signature.
        params.push(("Signature".into(), signature.signature.clone()));
        Ok(vec![
            (
                "/expected/string_to_sign",
                signature.string_to_sign.expose().to_string(),
            ),
            ("/expected/signature", signature.signature),
            ("/inputs/body", form_body(&params)),
        ])
    }

    fn parse_action(&self, action: Action, response: &HttpResponse) -> Result<Accepted, ApiError> {
        let (_, request_id) = parse_response(action_name(action), response)?;
        Ok(Accepted {
            request_id,
            job_id: None,
            refused: Vec::new(),
        })
    }

    fn parse_describe(&self, response: &HttpResponse) -> Result<Vec<InstanceState>, ApiError> {
        let (body, request_id) = parse_response(DESCRIBE_ACTION, response)?;
        let Some(hosts) = body.u_host_set else {
            let mut err = ApiError::bad_response(DESCRIBE_ACTION, response, "no UHostSet");
            err.request_id = request_id;
            return Err(err);
        };
        Ok(hosts.into_iter().map(InstanceState::from).collect())
    }
}

/// The call for `action`.
fn action_name(action: Action) -> &'static str {
    match action {
        Action::Start => START_ACTION,
        Action::Stop => STOP_ACTION,
    }
}

/// `Region` and `Zone` first: CompShare needs both on every call cloudstart makes.
fn call(action: &'static str, location: &Location, params: Vec<(String, String)>) -> ApiCall {
    let mut query = Vec::with_capacity(params.len() + 2);
    if let Some(region) = &location.region {
        query.push(("Region".to_string(), region.clone()));
    }
    if let Some(zone) = &location.zone {
        query.push(("Zone".to_string(), zone.clone()));
    }
    query.extend(params);
    ApiCall {
        action,
        method: Method::Post,
        path: "/".into(),
        query,
        headers: vec![("Content-Type".to_string(), CONTENT_TYPE.to_string())],
        body: Vec::new(),
    }
}

/// Every stage of a VerifyAC signature, so a failing vector names the step that broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyAcSignature {
    /// Step 4 without the key: `key + value` of every parameter, sorted by key.
    pub sorted_params: String,
    /// Step 4: `sorted_params` with the private key appended, hence a [`Secret`].
    pub string_to_sign: Secret,
    /// Step 5: lower-case hex SHA-1 of the string to sign, sent as `Signature`.
    pub signature: String,
}

/// Signs flattened parameters (`PublicKey` included; a `Signature` among them is skipped) with
/// UCloud's VerifyAC, following `../shared/providers/compshare.md` §2.
///
/// Values are signed exactly as sent, before any URL encoding, so lists must already be flattened
/// (`UHostIds.0`) and booleans spelled `true`/`false` — the form body is built from the same pairs.
/// No timestamp or nonce is signed: the same parameters always give the same signature, so the
/// cloud cannot tell a replayed request from a fresh one.
pub fn verify_ac_sign(params: &[(String, String)], private_key: &str) -> VerifyAcSignature {
    // 4. Sorted by key byte-wise, each `key + value`, no separators.
    let mut sorted: Vec<&(String, String)> = params
        .iter()
        .filter(|(key, _)| key != "Signature")
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let sorted_params: String = sorted
        .iter()
        .flat_map(|(key, value)| [key.as_str(), value.as_str()])
        .collect();
    let string_to_sign = format!("{sorted_params}{private_key}");
    // 5.
    let signature = hex_sha1(string_to_sign.as_bytes());
    VerifyAcSignature {
        sorted_params,
        string_to_sign: Secret::new(string_to_sign),
        signature,
    }
}

/// The form body `k=v&k=v` in the given order, both sides as Python's `quote_plus` encodes them
/// (what `requests` sends for the SDK); the order and the encoding are not signed.
pub fn form_body(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(key, value)| format!("{}={}", form_encode(key), form_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireResponse {
    #[serde(deserialize_with = "number_or_text")]
    ret_code: i64,
    #[serde(default)]
    message: String,
    u_host_set: Option<Vec<WireHost>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireHost {
    u_host_id: String,
    state: String,
    #[serde(default, rename = "IPSet")]
    ip_set: Lenient<Vec<WireIp>>,
    #[serde(default)]
    zone: WireZone,
}

/// `RetCode` as a JSON number or as a string of one: UCloud's own SDKs read both on every answer
/// (ucloud-sdk-go `InvokeAction` rewrites `"RetCode": "0"` to a number with its `RetCodePatcher`,
/// `private/utils/patch.go`; ucloud-sdk-python3 converts it with `int(...)`,
/// `ucloud/core/client/_client.py`).
fn number_or_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Number(i64),
        Text(String),
    }
    match Wire::deserialize(deserializer)? {
        Wire::Number(code) => Ok(code),
        Wire::Text(text) => text
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("RetCode `{text}` is not a number"))),
    }
}

/// One `UHostIPSet` entry: `Type` is `Private` for the machine's own network, else the public
/// line it is on (`Bgp`, `Internation`).
#[derive(Deserialize)]
struct WireIp {
    #[serde(default, rename = "Type")]
    kind: Lenient<String>,
    #[serde(default, rename = "IP")]
    ip: WireIps,
}

/// Reads the body and the request id; a non-zero `RetCode` (whatever the HTTP status) becomes an
/// [`ApiError`].
fn parse_response(
    action: &str,
    response: &HttpResponse,
) -> Result<(WireResponse, Option<String>), ApiError> {
    let request_id = response.header(REQUEST_ID_HEADER).map(str::to_string);
    let with_id = |mut err: ApiError| {
        err.request_id.clone_from(&request_id);
        err
    };
    let body: WireResponse = match serde_json::from_slice(&response.body) {
        Ok(body) => body,
        Err(err) => {
            return Err(with_id(
                http_status_error(action, response)
                    .unwrap_or_else(|| ApiError::bad_response(action, response, err)),
            ))
        }
    };
    if body.ret_code != 0 {
        let class = match response.status {
            429 => ErrorClass::Throttled,
            500..=599 => ErrorClass::Transient,
            _ => classify(action, body.ret_code, &body.message),
        };
        return Err(ApiError {
            code: body.ret_code.to_string(),
            message: body.message,
            request_id,
            http_status: response.status,
            class,
        });
    }
    if let Some(err) = http_status_error(action, response) {
        return Err(with_id(err));
    }
    Ok((body, request_id))
}

/// Maps a non-zero `RetCode` to what the engine does about it: the vocabulary's common codes,
/// the documented operation lock, and otherwise a refusal a describe may explain.
fn classify(action: &str, ret_code: i64, message: &str) -> ErrorClass {
    // A stop's answer reads the stop's own codes first; every other call, the shared table.
    let table = match action {
        STOP_ACTION => Action::Stop,
        _ => Action::Start,
    };
    if let Some(class) = VOCABULARY.class_in(table, &ret_code.to_string()) {
        return class;
    }
    if message.contains(OPERATION_LOCK) {
        return ErrorClass::Busy;
    }
    // CompShare documents no "not in a startable (stoppable) state" code: let a describe explain
    // any refused start or stop (running, starting, gone), and keep the refusal when it cannot.
    if action == START_ACTION || action == STOP_ACTION {
        ErrorClass::WrongState
    } else {
        ErrorClass::Refused
    }
}

impl From<WireHost> for InstanceState {
    fn from(wire: WireHost) -> Self {
        let phase = VOCABULARY.phase(&wire.state);
        let mut addresses = Addresses::default();
        for entry in wire.ip_set.0 {
            let list = if entry.kind.0 == "Private" {
                &mut addresses.private
            } else {
                &mut addresses.public
            };
            list.extend(entry.ip.0);
        }
        InstanceState::new(wire.u_host_id, wire.state, phase)
            .with_addresses(addresses)
            .with_zone(wire.zone.0)
    }
}

#[cfg(test)]
mod tests;
