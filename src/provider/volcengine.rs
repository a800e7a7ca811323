//! Volcengine ECS, API version 2020-04-01: `StartInstances`, `StopInstances` and
//! `DescribeInstances`, signed with Volcengine's HMAC-SHA256 scheme (the SDK's `SignerV4`).
//!
//! Wire protocol: `../shared/providers/volcengine.md` (from the official Python SDK 5.0.54); vendor
//! docs: <https://docs.byteplus.com/api/docs/byteplus-platform/reference-how-to-calculate-a-signature>
//! (BytePlus is the same gateway). Every call is a `GET /` with all parameters in the query and an
//! empty body. Errors come as HTTP 4xx/5xx with `ResponseMetadata.Error`; a batch start or stop
//! answers HTTP 200 even when some machines were refused, so each `Result.OperationDetails[]`
//! entry counts.

use std::collections::BTreeMap;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{
    http_status_error, lower_alphanumeric, reported_code, Accepted, Action, ActionOptions,
    Addresses, ApiCall, ApiError, ErrorClass, Header, HttpResponse, IdShape, InstanceState,
    Lenient, Location, Method, Phase, Provider, ProviderSpec, RateLimit, Requirement,
    SignedRequest, StopSupport, Vocabulary, WireIps, WireZone,
};
use super::{vector_pairs, vector_text, VectorStages};
use crate::credentials::{CredentialVars, Credentials};
use crate::env_vars::{cloud_env_vars, EnvVar, Scope};
use crate::sign::{
    canonical_request, encode_query, hex_hmac_sha256, hex_sha256, hmac_sha256,
    percent_encode_unreserved,
};

/// The service name in the credential scope.
pub const SERVICE: &str = "ecs";
/// The ECS API version every call is made against.
pub const VERSION: &str = "2020-04-01";
/// The signature algorithm name, first word of the `Authorization` header and of the string to sign.
pub const ALGORITHM: &str = "HMAC-SHA256";

const PROVIDER: &str = "volcengine";

/// Regions the SDK reaches on `ecs.<region>.volcengineapi.com` (its "bootstrap" list); every
/// other region goes through the shared `open.volcengineapi.com`.
const REGIONAL_HOST_REGIONS: [&str; 5] = [
    "cn-beijing-autodriving",
    "cn-shanghai-autodriving",
    "cn-beijing-selfdrive",
    "ap-southeast-2",
    "ap-southeast-3",
];

/// Volcengine ECS.
#[derive(Debug)]
pub struct VolcengineEcs;

cloud_env_vars! {
    /// Volcengine-only endpoint override; wins over `CLOUDSTART_ENDPOINT`, loses to `--endpoint`.
    CLOUDSTART_VOLCENGINE_ENDPOINT;
    /// Volcengine AccessKey ID (the official SDK's and Terraform provider's name).
    VOLCENGINE_ACCESS_KEY;
    /// Volcengine SecretAccessKey.
    VOLCENGINE_SECRET_KEY;
    /// Volcengine STS session token, sent and signed as `X-Security-Token`.
    VOLCENGINE_SESSION_TOKEN;
    /// Volcengine region, used when `--region` is not given.
    VOLCENGINE_REGION;
}

static SPEC: ProviderSpec = ProviderSpec {
    name: PROVIDER,
    id_shape: IdShape {
        prefixes: &["i-"],
        body_len: 1..=32,
        body_byte: lower_alphanumeric,
        described: "`i-` and lowercase letters or digits (20 in the ids Volcengine issues)",
        example: "i-3tiefmkskq3vj0x0ab12",
    },
    action_batch: 100,
    describe_batch: 100,
    region: Requirement::Required(&[VOLCENGINE_REGION]),
    zone: Requirement::Unused,
    credentials: CredentialVars {
        key_id: &[VOLCENGINE_ACCESS_KEY],
        secret: &[VOLCENGINE_SECRET_KEY],
        token: &[VOLCENGINE_SESSION_TOKEN],
    },
    env_vars: ENV_VARS,
    endpoint_var: CLOUDSTART_VOLCENGINE_ENDPOINT,
    vocabulary: VOCABULARY,
    without_gpu: false,
    idempotent_actions: true,
    // StopInstances' ForceStop and StoppedMode (volcengine-python-sdk
    // volcenginesdkecs/models/stop_instances_request.py; docs 6396/101067).
    stop: StopSupport {
        gentle: "ForceStop=false",
        force: Some("ForceStop=true"),
        stop_charging: Some("StoppedMode=StopCharging"),
    },
    reports_addresses: true,
    // Undocumented for ECS; the SDK's retry of HTTP 429 suggests a per-account limit. Kept at
    // Tencent's documented 10/s.
    rate_limits: &[RateLimit {
        requests: 10,
        per: Duration::from_secs(1),
    }],
    // The commented table `config init` writes for this cloud.
    config_table: "\
# access_key_id = \"AKLT…\"     # AccessKey ID\n\
# secret_access_key = \"…\"     # SecretAccessKey\n\
# session_token = \"…\"         # STS credentials only\n\
# region = \"cn-beijing\"\n",
};

/// ECS's instance `Status` values (DescribeInstances; the official Terraform provider waits for
/// `RUNNING` after a start and gives up on `ERROR`) and the error codes cloudstart acts on: the
/// StartInstances error table (400/412/500 codes) and the common error codes
/// (volcengine.com/docs/6408/78947).
const VOCABULARY: Vocabulary = Vocabulary {
    states: &[
        ("RUNNING", Phase::Running),
        ("STOPPED", Phase::Stopped),
        ("STARTING", Phase::Starting),
        ("CREATING", Phase::Transition),
        ("REBOOTING", Phase::Transition),
        ("REBUILDING", Phase::Transition),
        ("RESIZING", Phase::Transition),
        ("STOPPING", Phase::Stopping),
        ("ERROR", Phase::Failed),
        ("DELETING", Phase::Failed),
    ],
    starting: "STARTING",
    stopping: "STOPPING",
    errors: &[
        // Also what a RUNNING or STARTING machine gets: the engine describes it to tell which.
        ("InvalidInstanceStatus", ErrorClass::WrongState),
        ("InvalidInstance.NotFound", ErrorClass::NotFound),
        ("FlowLimitExceeded", ErrorClass::Throttled),
        // 412: the same ClientToken is still being processed; asked again, the cloud answers
        // with that request's result.
        ("IdempotentProcessing", ErrorClass::Busy),
        // 412: another operation holds the machine.
        ("OperationDenied.ResourceLocked", ErrorClass::Busy),
        ("OperationDenied.InstanceIsCreatingImage", ErrorClass::Busy),
        // A 500, but a refusal: no capacity for this instance type in the zone.
        ("Insufficient.InstanceCapacity", ErrorClass::Capacity),
        ("Insufficient.Balance", ErrorClass::Refused),
        ("InvalidAccessKey", ErrorClass::Auth),
        ("SignatureDoesNotMatch", ErrorClass::Auth),
        ("MissingSignature", ErrorClass::Auth),
        ("MissingAuthenticationToken", ErrorClass::Auth),
        ("InvalidAuthorization", ErrorClass::Auth),
        ("InvalidCredential", ErrorClass::Auth),
        // The common error codes (volcengine.com/docs/6408/78947): a session token that is not
        // valid (expired) is 401 InvalidSecretToken; a key without the policy for the action or
        // the project is 403 AccessDenied, LackPolicy or LackProjectPolicy.
        ("InvalidSecretToken", ErrorClass::TokenExpired),
        ("AccessDenied", ErrorClass::PermissionDenied),
        ("LackPolicy", ErrorClass::PermissionDenied),
        ("LackProjectPolicy", ErrorClass::PermissionDenied),
        // The API gateway's own 401 for an access key it does not know (platform common error
        // codes, volcengine.com/docs/6448/76370); any other 401 is a credential error too.
        ("InvalidClientTokenId", ErrorClass::Auth),
        ("InvalidInstance.RequestForbidden", ErrorClass::Auth),
        ("InvalidTimestamp", ErrorClass::ClockSkew),
        ("InternalError", ErrorClass::Transient),
        ("ServiceUnavailableTemp", ErrorClass::Transient),
    ],
    // StopInstance(s) refuses every machine that is not RUNNING with the same
    // InvalidInstanceStatus (BytePlus StopInstance error table): a describe tells which.
    stop_errors: &[],
};

impl Provider for VolcengineEcs {
    fn spec(&self) -> &'static ProviderSpec {
        &SPEC
    }

    fn default_endpoint(&self, location: &Location) -> String {
        match location.region.as_deref() {
            Some(region) if REGIONAL_HOST_REGIONS.contains(&region) => {
                format!("https://{SERVICE}.{region}.volcengineapi.com")
            }
            _ => "https://open.volcengineapi.com".into(),
        }
    }

    fn action_call(
        &self,
        action: Action,
        ids: &[String],
        _location: &Location,
        options: &ActionOptions,
    ) -> ApiCall {
        let mut query = instance_ids(ids);
        if action == Action::Stop {
            // Sent either way: the gentle stop is asked for, not left to a default.
            query.push(("ForceStop".into(), options.force.to_string()));
            if options.stop_charging {
                query.push(("StoppedMode".into(), "StopCharging".into()));
            }
        }
        // The cloud de-duplicates a call retried with the same token instead of acting twice.
        if !options.client_token.is_empty() {
            query.push(("ClientToken".into(), options.client_token.clone()));
        }
        call(action_name(action), query)
    }

    fn describe_call(&self, ids: &[String], _location: &Location) -> ApiCall {
        // MaxResults defaults to 10: ask for one page holding every id.
        let mut query = instance_ids(ids);
        query.push(("MaxResults".into(), ids.len().max(1).to_string()));
        call("DescribeInstances", query)
    }

    fn sign(
        &self,
        call: &ApiCall,
        host: &str,
        location: &Location,
        credentials: &Credentials,
        now: DateTime<Utc>,
    ) -> SignedRequest {
        let x_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        // The minimal set, every header sent signed; no Content-Type on a bodiless GET.
        let mut sent = vec![
            Header::plain("Host", host),
            Header::plain("X-Date", &x_date),
            Header::plain("X-Content-Sha256", hex_sha256(&call.body)),
        ];
        if let Some(token) = &credentials.token {
            sent.push(Header::sensitive("X-Security-Token", token.expose()));
        }
        let signed: Vec<(&str, &str)> = sent
            .iter()
            .map(|h| (h.name.as_str(), h.value.as_str()))
            .collect();
        let signature = sign_v4(
            &V4Request {
                method: call.method.as_str(),
                path: &call.path,
                query: &call.query,
                headers: &signed,
                body: &call.body,
                x_date: &x_date,
                region: location.region.as_deref().unwrap_or_default(),
            },
            &credentials.key_id,
            credentials.secret.expose(),
        );
        sent.push(Header::sensitive("Authorization", signature.authorization));
        SignedRequest {
            method: call.method,
            path_and_query: format!("{}?{}", call.path, encode_query(&call.query)),
            headers: sent,
            body: call.body.clone(),
        }
    }

    fn vector_stages(&self, inputs: &serde_json::Value) -> Result<VectorStages, String> {
        let body = vector_text(inputs, "/body")?;
        let query = vector_pairs(inputs, "/query_params_in_sdk_order")?;
        // The SDK vectors signed its own extra headers; the signer takes whatever set it is given.
        let header_values = (inputs.pointer("/signed_header_values"))
            .and_then(serde_json::Value::as_object)
            .ok_or("the vector has no input /signed_header_values")?;
        let headers: Vec<(&str, &str)> = (header_values.iter())
            .filter_map(|(name, value)| Some((name.as_str(), value.as_str()?)))
            .collect();
        let signature = sign_v4(
            &V4Request {
                method: vector_text(inputs, "/method")?,
                path: vector_text(inputs, "/path")?,
                query: &query,
                headers: &headers,
                body: body.as_bytes(),
                region: vector_text(inputs, "/region")?,
                x_date: vector_text(inputs, "/x_date")?,
            },
            vector_text(inputs, "/credentials/access_key_id")?,
            vector_text(inputs, "/credentials/secret_access_key")?,
        );
        Ok(vec![
            ("/expected/body_sha256", hex_sha256(body.as_bytes())),
            ("/expected/signed_headers", signature.signed_headers),
            ("/expected/canonical_request", signature.canonical_request),
            ("/expected/credential_scope", signature.credential_scope),
            ("/expected/string_to_sign", signature.string_to_sign),
            ("/expected/signature", signature.signature),
            ("/expected/authorization", signature.authorization),
        ])
    }

    fn parse_action(&self, action: Action, response: &HttpResponse) -> Result<Accepted, ApiError> {
        let name = action_name(action);
        let (request_id, result) = parse_response::<ActionResult>(name, Some(action), response)?;
        let refused = result
            .operation_details
            .into_iter()
            .filter_map(|detail| {
                // The SDK models Error and its Code as optional; callers of the official SDK
                // test the code for emptiness, so an entry with an empty code is a success.
                let error = detail.error.filter(|e| !e.code.trim().is_empty())?;
                let err = ApiError {
                    class: classify(Some(action), &error.code, response.status),
                    code: reported_code(error.code),
                    message: error.message,
                    request_id: request_id.clone(),
                    http_status: response.status,
                };
                Some((detail.instance_id, err))
            })
            .collect();
        Ok(Accepted {
            request_id,
            job_id: None,
            refused,
        })
    }

    fn parse_describe(&self, response: &HttpResponse) -> Result<Vec<InstanceState>, ApiError> {
        let (_, result) = parse_response::<DescribeResult>("DescribeInstances", None, response)?;
        Ok(result
            .instances
            .into_iter()
            .map(InstanceState::from)
            .collect())
    }
}

/// The batch call for `action`: StartInstances or StopInstances (each ≤ 100 ids, and each
/// answering per instance in `OperationDetails`).
fn action_name(action: Action) -> &'static str {
    match action {
        Action::Start => "StartInstances",
        Action::Stop => "StopInstances",
    }
}

/// `InstanceIds.1…N`: the SDK flattens lists 1-based.
fn instance_ids(ids: &[String]) -> Vec<(String, String)> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| (format!("InstanceIds.{}", i + 1), id.clone()))
        .collect()
}

fn call(action: &'static str, params: Vec<(String, String)>) -> ApiCall {
    let mut query = vec![
        ("Action".to_string(), action.to_string()),
        ("Version".to_string(), VERSION.to_string()),
    ];
    query.extend(params);
    ApiCall {
        action,
        method: Method::Get,
        path: "/".into(),
        query,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

/// The inputs of a Volcengine HMAC-SHA256 signature, besides the credentials.
#[derive(Debug, Clone, Copy)]
pub struct V4Request<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// The request path, `/` for ECS.
    pub path: &'a str,
    /// Query parameters, unencoded, in any order.
    pub query: &'a [(String, String)],
    /// Exactly the headers to sign, as sent (any case, any order); must include `X-Date`.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body bytes exactly as sent.
    pub body: &'a [u8],
    /// The region named in the credential scope, e.g. `cn-beijing`.
    pub region: &'a str,
    /// The `X-Date` value, `YYYYMMDDThhmmssZ` in UTC.
    pub x_date: &'a str,
}

/// Every stage of a Volcengine signature, so a failing vector names the step that broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V4Signature {
    /// Step 5: the sorted, encoded query.
    pub canonical_query: String,
    /// Step 4: the `;`-joined lower-case names of the signed headers.
    pub signed_headers: String,
    /// Step 6: the canonical request.
    pub canonical_request: String,
    /// Step 7: `<YYYYMMDD>/<region>/ecs/request`.
    pub credential_scope: String,
    /// Step 8: the string to sign.
    pub string_to_sign: String,
    /// Step 9: the hex signature.
    pub signature: String,
    /// Step 10: the `Authorization` header value.
    pub authorization: String,
}

/// Step 9's key chain: `HMAC(HMAC(HMAC(HMAC(secret, date), region), "ecs"), "request")`, with no
/// prefix on the secret (unlike TC3).
pub fn signing_key(secret_key: &str, date: &str, region: &str) -> [u8; 32] {
    let k_date = hmac_sha256(secret_key.as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, SERVICE.as_bytes());
    hmac_sha256(&k_service, b"request")
}

/// Signs a request with Volcengine's HMAC-SHA256, following `../shared/providers/volcengine.md` §2.
pub fn sign_v4(request: &V4Request<'_>, access_key: &str, secret_key: &str) -> V4Signature {
    // 4. Names lower-cased and sorted; a default port is signed without the port, as the SDK does.
    let mut headers: Vec<(String, &str)> = request
        .headers
        .iter()
        .map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            let value = match name.as_str() {
                "host" => value
                    .strip_suffix(":80")
                    .or_else(|| value.strip_suffix(":443"))
                    .unwrap_or(value),
                _ => value,
            };
            (name, value)
        })
        .collect();
    headers.sort();
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(";");
    // 5. Sorted by encoded key; a repeated key keeps its last value (the SDK builds a dict).
    let sorted: BTreeMap<String, String> = request
        .query
        .iter()
        .map(|(k, v)| (percent_encode_unreserved(k), percent_encode_unreserved(v)))
        .collect();
    let canonical_query = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    // 6. The payload line hashes the body itself (what X-Content-Sha256 carries).
    let canonical_request = canonical_request(
        request.method,
        request.path,
        &canonical_query,
        &headers,
        &hex_sha256(request.body),
    );
    // 7–8.
    let date = request.x_date.get(..8).unwrap_or_default();
    let credential_scope = format!("{date}/{}/{SERVICE}/request", request.region);
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{credential_scope}\n{}",
        request.x_date,
        hex_sha256(canonical_request.as_bytes())
    );
    // 9.
    let key = signing_key(secret_key, date, request.region);
    let signature = hex_hmac_sha256(&key, string_to_sign.as_bytes());
    // 10.
    let authorization = format!(
        "{ALGORITHM} Credential={access_key}/{credential_scope}, SignedHeaders={signed_headers}, Signature={signature}"
    );
    V4Signature {
        canonical_query,
        signed_headers,
        canonical_request,
        credential_scope,
        string_to_sign,
        signature,
        authorization,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope<R> {
    response_metadata: Metadata,
    result: Option<R>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata {
    request_id: Option<String>,
    error: Option<WireError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ActionResult {
    // Absent details mean no machine was refused one by one; the poller still checks each.
    #[serde(default)]
    operation_details: Vec<OperationDetail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OperationDetail {
    instance_id: String,
    error: Option<WireError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeResult {
    instances: Vec<WireInstance>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireInstance {
    instance_id: String,
    status: String,
    #[serde(default)]
    eip_address: Lenient<WireEip>,
    #[serde(default)]
    network_interfaces: Lenient<Vec<WireNetworkInterface>>,
    #[serde(default)]
    zone_id: WireZone,
}

/// The EIP bound to the machine; `IpAddress` is `""` when there is none.
#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireEip {
    #[serde(default)]
    ip_address: WireIps,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireNetworkInterface {
    #[serde(default)]
    primary_ip_address: WireIps,
}

/// Reads the envelope of an answer to `name` (the start or stop call of `action`, or another
/// call): `ResponseMetadata.Error` is an [`ApiError`] whatever the HTTP status (the SDK treats a
/// 200 carrying one as an error too) — but only with a non-empty `Code`, as the SDK reads it
/// (volcengine-go-sdk `volcenginequery/unmarshal.go`, `processBodyError`: `Error != nil &&
/// Error.Code != ""`); success needs a `Result`.
fn parse_response<R: DeserializeOwned>(
    name: &str,
    action: Option<Action>,
    response: &HttpResponse,
) -> Result<(Option<String>, R), ApiError> {
    let envelope: Envelope<R> = match serde_json::from_slice(&response.body) {
        Ok(envelope) => envelope,
        Err(err) => {
            return Err(http_status_error(name, response)
                .unwrap_or_else(|| ApiError::bad_response(name, response, err)))
        }
    };
    let request_id = envelope.response_metadata.request_id;
    let error = (envelope.response_metadata.error).filter(|e| !e.code.trim().is_empty());
    if let Some(error) = error {
        return Err(ApiError {
            class: classify(action, &error.code, response.status),
            code: reported_code(error.code),
            message: error.message,
            request_id,
            http_status: response.status,
        });
    }
    if let Some(err) = http_status_error(name, response) {
        return Err(err);
    }
    match envelope.result {
        Some(result) => Ok((request_id, result)),
        None => Err(ApiError::bad_response(name, response, "no Result")),
    }
}

/// Maps an ECS error code in an answer to `action`'s call (or another call), and the HTTP status
/// it came with, to what the engine does: the vocabulary first (a listed code wins over its
/// status, e.g. the 500 capacity refusal), then the status. The API gateway answers credential
/// failures with 401 and codes of its own (platform common error codes,
/// volcengine.com/docs/6448/76370): every 401 is a credential error.
fn classify(action: Option<Action>, code: &str, status: u16) -> ErrorClass {
    let listed = match action {
        Some(action) => VOCABULARY.class_in(action, code),
        None => VOCABULARY.class(code),
    };
    match listed {
        Some(class) => class,
        None if code.ends_with("FlowLimitExceeded") || status == 429 => ErrorClass::Throttled,
        None if status == 401 => ErrorClass::Auth,
        None if status >= 500 => ErrorClass::Transient,
        None => ErrorClass::Refused,
    }
}

impl From<WireInstance> for InstanceState {
    fn from(wire: WireInstance) -> Self {
        let phase = VOCABULARY.phase(&wire.status);
        let addresses = Addresses {
            public: wire.eip_address.0.ip_address.0,
            private: (wire.network_interfaces.0.into_iter())
                .flat_map(|nic| nic.primary_ip_address.0)
                .collect(),
        };
        InstanceState::new(wire.instance_id, wire.status, phase)
            .with_addresses(addresses)
            .with_zone(wire.zone_id.0)
    }
}

#[cfg(test)]
mod tests;
