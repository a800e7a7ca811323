//! Zenlayer Cloud ZEC, Open API v2 (`x-zc-version: 2025-09-01`): `StartInstances`,
//! `StopInstances`, `DescribeInstancesStatus`, and `DescribeInstances` for the addresses the status
//! call leaves out, signed with ZC2-HMAC-SHA256.
//!
//! Wire protocol: `../shared/providers/zenlayer.md` (from `zenlayercloud-sdk-python` 2.0.77);
//! vendor docs: docs.console.zenlayer.com, API reference, "Signature Algorithm v2". Errors come
//! with an HTTP status other than 200 and a top-level `{code, message, requestId}`; a start or
//! stop that is accepted can still list, in `response.instanceIds`, the machines that failed to
//! start or shut down.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{
    http_status_error, Accepted, Action, ActionOptions, Addresses, ApiCall, ApiError, Detail,
    ErrorClass, Header, HttpResponse, IdShape, InstanceState, Location, Method, Phase, Provider,
    ProviderSpec, RateLimit, Requirement, SignedRequest, StopSupport, Vocabulary, WireIps,
    WireZone,
};
use super::{vector_int, vector_text, VectorStages};
use crate::credentials::{CredentialVars, Credentials};
use crate::env_vars::{cloud_env_vars, EnvVar, Scope};
use crate::sign::{canonical_request, hex_hmac_sha256, hex_sha256};

/// The service, last segment of the path and the `x-zc-service` header.
pub const SERVICE: &str = "zec";
/// The request path; the signature does not cover it (its canonical URI is always `/`).
pub const PATH: &str = "/api/v2/zec";
/// The ZEC API version every call is made against (the SDK's newest ZEC module).
pub const VERSION: &str = "2025-09-01";
/// The signature algorithm: first word of `Authorization` and the `x-zc-signature-method` value.
pub const ALGORITHM: &str = "ZC2-HMAC-SHA256";
/// The only content type cloudstart sends (exact string: it is signed).
pub const CONTENT_TYPE: &str = "application/json";
/// Most ids per call, for StartInstances, DescribeInstancesStatus and DescribeInstances alike.
pub const MAX_IDS: usize = 100;

const PROVIDER: &str = "zenlayer";
/// The code given to a machine an accepted start lists as failed; Zenlayer names no reason.
const FAILED_TO_START: &str = "FAILED_TO_START";
/// The code given to a machine an accepted stop lists as failed to shut down.
const FAILED_TO_STOP: &str = "FAILED_TO_STOP";

/// Zenlayer Cloud ZEC (Zenlayer Elastic Compute).
#[derive(Debug)]
pub struct ZenlayerZec;

cloud_env_vars! {
    /// Zenlayer-only endpoint override; wins over `CLOUDSTART_ENDPOINT`, loses to `--endpoint`.
    CLOUDSTART_ZENLAYER_ENDPOINT;
    /// Zenlayer access key id (the `zeno` CLI's name); read first.
    ZENLAYER_ACCESS_KEY_ID;
    /// Zenlayer access key password (the `zeno` CLI's name); read first.
    ZENLAYER_ACCESS_KEY_SECRET;
    /// Zenlayer access key id (the Terraform provider's name), when `ZENLAYER_ACCESS_KEY_ID` is unset.
    ZENLAYERCLOUD_ACCESS_KEY_ID;
    /// Zenlayer access key password (the Terraform provider's name), when
    /// `ZENLAYER_ACCESS_KEY_SECRET` is unset.
    ZENLAYERCLOUD_ACCESS_KEY_PASSWORD;
    /// The `zeno` CLI's profile, when `--profile` is not given.
    ZENLAYER_PROFILE;
}

static SPEC: ProviderSpec = ProviderSpec {
    name: PROVIDER,
    id_shape: IdShape {
        prefixes: &[],
        body_len: 1..=64,
        body_byte: zenlayer_id_byte,
        described: "1 to 64 ASCII letters, digits, `-` or `_` (Zenlayer ids are opaque)",
        example: "1234567890123456789",
    },
    action_batch: MAX_IDS,
    describe_batch: MAX_IDS,
    // One global endpoint; machines are addressed by id alone.
    region: Requirement::Unused,
    zone: Requirement::Unused,
    credentials: CredentialVars {
        key_id: &[ZENLAYER_ACCESS_KEY_ID, ZENLAYERCLOUD_ACCESS_KEY_ID],
        secret: &[
            ZENLAYER_ACCESS_KEY_SECRET,
            ZENLAYERCLOUD_ACCESS_KEY_PASSWORD,
        ],
        token: &[],
    },
    env_vars: ENV_VARS,
    endpoint_var: CLOUDSTART_ZENLAYER_ENDPOINT,
    vocabulary: VOCABULARY,
    without_gpu: false,
    idempotent_actions: false,
    // StopInstances' forceShutdown, whose default (omitted) is a forced shutdown: a gentle stop
    // sends false (docs.console.zenlayer.com api-reference/zec/instance/stopinstances).
    stop: StopSupport {
        gentle: "forceShutdown=false",
        force: Some("forceShutdown=true"),
        stop_charging: None,
    },
    reports_addresses: true,
    // Undocumented; the SDK retries REQUEST_LIMIT_EXCEEDED. Kept at Tencent's documented 10/s.
    rate_limits: &[RateLimit {
        requests: 10,
        per: Duration::from_secs(1),
    }],
    // The commented table `config init` writes for this cloud.
    config_table: "\
# access_key_id = \"…\"         # access key id\n\
# secret_access_key = \"…\"     # access key password\n",
};

/// ZEC's `InstanceStatus` values and error codes. States: the Terraform provider's
/// `ZecInstanceStatus*` constants (zenlayer/terraform-provider-zenlayercloud `extension_zec.go`) and
/// zenlayercloud-cli `apis/en-US/zec/describe-instances-status.yaml` (017b526): a start goes
/// `STOPPED` → `BOOTING` → `RUNNING`; there is no `STARTING` (only the StartInstances page's prose
/// says so) and `RECYCLED` is an EIP state. Codes: the StartInstances page; the SDK retries
/// `REQUEST_LIMIT_EXCEEDED`.
const VOCABULARY: Vocabulary = Vocabulary {
    states: &[
        ("RUNNING", Phase::Running),
        ("STOPPED", Phase::Stopped),
        ("BOOTING", Phase::Starting),
        ("PENDING", Phase::Transition),
        ("DEPLOYING", Phase::Transition),
        ("REBUILDING", Phase::Transition),
        ("STOPPING", Phase::Stopping),
        ("REBOOT", Phase::Transition),
        ("RESIZING", Phase::Transition),
        ("IMAGING", Phase::Transition),
        ("CREATE_FAILED", Phase::Failed),
        ("REINSTALL_FAILED", Phase::Failed),
        ("RELEASING", Phase::Failed),
        ("RECYCLE", Phase::Failed),
        ("RECYCLING", Phase::Failed),
    ],
    starting: "BOOTING",
    stopping: "STOPPING",
    errors: &[
        // Also the answer for a running or booting machine; describing it tells.
        (
            "OPERATION_DENIED_INSTANCE_NOT_STOPPED",
            ErrorClass::WrongState,
        ),
        ("INVALID_INSTANCE_NOT_FOUND", ErrorClass::NotFound),
        ("OPERATION_DENIED_INSTANCE_RECYCLED", ErrorClass::Refused),
        ("REQUEST_LIMIT_EXCEEDED", ErrorClass::Throttled),
        // Sold out: the official SDKs' codes (zenlayercloud-sdk-java `BmcErrorCode`: 指定的实例机型已
        // 售罄, 所选资源未售卖; the Go SDK's older `Resource.Soldout.Instance.type`, read as
        // `RESOURCE_SOLDOUT_INSTANCE_TYPE`); ZEC's StartInstances page documents none.
        ("RESOURCES_SOLDOUT_INSTANCE_TYPE", ErrorClass::Capacity),
        ("RESOURCE_SOLDOUT_INSTANCE_TYPE", ErrorClass::Capacity),
        (
            "RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT",
            ErrorClass::Capacity,
        ),
        // Common codes, from Zenlayer's own CSI driver (zenlayer/zenlayer-cloud-csi-driver
        // `pkg/cloud/error.go`): the timestamp must be within 5 minutes of the server's.
        ("AUTHFAILURE_INVALID_AUTHORIZATION", ErrorClass::Auth),
        ("AUTHFAILURE_SIGNATURE_FAILURE", ErrorClass::Auth),
        (
            "AUTHFAILURE_UNAUTHORIZED_OPERATION",
            ErrorClass::PermissionDenied,
        ),
        ("AUTHFAILURE_SIGNATURE_EXPIRED", ErrorClass::ClockSkew),
        ("INTERNAL_SERVER_ERROR", ErrorClass::Transient),
        ("SERVICE_TEMPORARY_UNAVAILABLE", ErrorClass::Transient),
        // The request timed out inside the cloud: it may have acted.
        ("REQUEST_TIMED_OUT", ErrorClass::Unanswered),
    ],
    // StopInstances' table (docs api-reference/zec/instance/stopinstances, 6. Error Codes): any
    // state but RUNNING (and, per the zh-CN page, STOPPING) is "not in powered-on state";
    // describing the machine tells stopped from booting and the rest. Its other codes,
    // INVALID_INSTANCE_NOT_FOUND and OPERATION_DENIED_INSTANCE_RECYCLED, mean what they mean for
    // a start.
    stop_errors: &[(
        "OPERATION_DENIED_INSTANCE_NOT_RUNNING",
        ErrorClass::WrongState,
    )],
};

/// Zenlayer's ids are opaque tokens; this keeps out only what cannot be one.
fn zenlayer_id_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

impl Provider for ZenlayerZec {
    fn spec(&self) -> &'static ProviderSpec {
        &SPEC
    }

    fn default_endpoint(&self, _location: &Location) -> String {
        "https://console.zenlayer.com".into()
    }

    fn action_call(
        &self,
        action: Action,
        ids: &[String],
        _location: &Location,
        options: &ActionOptions,
    ) -> ApiCall {
        match action {
            Action::Start => {
                let body = format!("{{\"instanceIds\": {}}}", json_list(ids));
                call("StartInstances", body)
            }
            Action::Stop => {
                // An omitted forceShutdown is a forced shutdown ("If the value is empty, a forced
                // shutdown will be performed by default"), so the gentle stop says false.
                let body = format!(
                    "{{\"instanceIds\": {}, \"forceShutdown\": {}}}",
                    json_list(ids),
                    options.force
                );
                call("StopInstances", body)
            }
        }
    }

    fn describe_call(&self, ids: &[String], _location: &Location) -> ApiCall {
        call("DescribeInstancesStatus", page_body(ids))
    }

    /// `DescribeInstancesStatus` (ZEC API reference; `../shared/providers/zenlayer.md` §4: a paged
    /// list, `instanceIds` a filter of up to 100, `pageSize` default 20) without `instanceIds` and
    /// with a page of one: the account's first machine, if any. The filter is optional there, so it
    /// is left out rather than sent empty: what an empty list means, no vendor page says.
    fn probe_call(&self, _location: &Location) -> ApiCall {
        call(
            "DescribeInstancesStatus",
            r#"{"pageSize": 1, "pageNum": 1}"#.to_string(),
        )
    }

    fn sign(
        &self,
        call: &ApiCall,
        host: &str,
        _location: &Location,
        credentials: &Credentials,
        now: DateTime<Utc>,
    ) -> SignedRequest {
        let timestamp = now.timestamp();
        let signature = zc2_sign(
            &Zc2Request {
                method: call.method.as_str(),
                content_type: CONTENT_TYPE,
                host,
                body: &call.body,
                timestamp,
            },
            &credentials.key_id,
            credentials.secret.expose(),
        );
        let mut headers: Vec<Header> = (call.headers.iter())
            .map(|(name, value)| Header::plain(name, value))
            .collect();
        headers.push(Header::plain("Host", host));
        headers.push(Header::plain("x-zc-signature-method", ALGORITHM));
        headers.push(Header::plain("x-zc-timestamp", timestamp.to_string()));
        headers.push(Header::sensitive("Authorization", signature.authorization));
        SignedRequest {
            method: call.method,
            path_and_query: call.path.clone(),
            headers,
            body: call.body.clone(),
        }
    }

    fn vector_stages(&self, inputs: &serde_json::Value) -> Result<VectorStages, String> {
        let request = Zc2Request {
            method: vector_text(inputs, "/method")?,
            content_type: vector_text(inputs, "/content_type")?,
            host: vector_text(inputs, "/host")?,
            body: vector_text(inputs, "/body")?.as_bytes(),
            timestamp: vector_int(inputs, "/timestamp")?,
        };
        let signature = zc2_sign(
            &request,
            vector_text(inputs, "/credentials/access_key_id")?,
            vector_text(inputs, "/credentials/access_key_password")?,
        );
        Ok(vec![
            ("/expected/hashed_payload", signature.hashed_payload),
            ("/expected/canonical_request", signature.canonical_request),
            ("/expected/string_to_sign", signature.string_to_sign),
            ("/expected/signature", signature.signature),
            ("/expected/authorization", signature.authorization),
        ])
    }

    fn parse_action(&self, action: Action, response: &HttpResponse) -> Result<Accepted, ApiError> {
        let (name, code, verb) = match action {
            Action::Start => ("StartInstances", FAILED_TO_START, "start"),
            Action::Stop => ("StopInstances", FAILED_TO_STOP, "shut down"),
        };
        let (request_id, body) = parse_response::<StartBody>(name, Some(action), response)?;
        // `instanceIds` lists the machines that failed to start or shut down (docs: "the list of
        // ids that failed to start"); describing them tells running from really failed.
        let refused = body
            .instance_ids
            .unwrap_or_default()
            .into_iter()
            .map(|id| {
                let err = ApiError {
                    code: code.into(),
                    message: format!(
                        "{name} listed {id} among the instances that failed to {verb}"
                    ),
                    request_id: request_id.clone(),
                    http_status: response.status,
                    class: ErrorClass::OperationFailed,
                };
                (id, err)
            })
            .collect();
        Ok(Accepted {
            request_id,
            job_id: None,
            refused,
        })
    }

    fn parse_describe(&self, response: &HttpResponse) -> Result<Vec<InstanceState>, ApiError> {
        let statuses = parse_page::<WireStatus>("DescribeInstancesStatus", response)?;
        Ok(statuses.into_iter().map(InstanceState::from).collect())
    }

    fn detail_call(&self, ids: &[String], _location: &Location) -> Option<ApiCall> {
        // DescribeInstancesStatus carries no addresses and no zone; DescribeInstances'
        // `dataSet[]` does (zenlayercloud-cli apis/en-US/zec/describe-instances.yaml: `zoneId`,
        // `publicIpAddresses`, `privateIpAddresses`; the SDK's InstanceInfo).
        Some(call("DescribeInstances", page_body(ids)))
    }

    fn parse_details(&self, response: &HttpResponse) -> Result<Vec<Detail>, ApiError> {
        let instances = parse_page::<WireInstance>("DescribeInstances", response)?;
        Ok(instances
            .into_iter()
            .map(|wire| Detail {
                id: wire.instance_id,
                addresses: Addresses {
                    public: wire.public_ip_addresses.0,
                    private: wire.private_ip_addresses.0,
                },
                zone: wire.zone_id.0,
            })
            .collect())
    }
}

/// The body of a paged call for `ids`: `pageSize` defaults to 20, and one page of [`MAX_IDS`]
/// always holds every id asked for.
fn page_body(ids: &[String]) -> String {
    format!(
        "{{\"instanceIds\": {}, \"pageSize\": {MAX_IDS}, \"pageNum\": 1}}",
        json_list(ids)
    )
}

fn call(action: &'static str, body: String) -> ApiCall {
    let headers = [
        ("Content-Type", CONTENT_TYPE),
        ("x-zc-action", action),
        ("x-zc-version", VERSION),
        ("x-zc-service", SERVICE),
    ];
    ApiCall {
        action,
        method: Method::Post,
        path: PATH.into(),
        query: Vec::new(),
        headers: headers.map(|(n, v)| (n.to_string(), v.to_string())).into(),
        body: body.into_bytes(),
    }
}

/// A JSON array of strings with Python's `json.dumps` separators, so the body is byte for byte the
/// one the official SDK sends (the signature covers whatever bytes are sent either way).
fn json_list(ids: &[String]) -> String {
    let items: Vec<String> = ids
        .iter()
        .map(|id| serde_json::Value::from(id.as_str()).to_string())
        .collect();
    format!("[{}]", items.join(", "))
}

/// The inputs of a ZC2-HMAC-SHA256 signature, besides the credentials.
#[derive(Debug, Clone, Copy)]
pub struct Zc2Request<'a> {
    /// Always `POST` for ZEC.
    pub method: &'a str,
    /// The `Content-Type` value exactly as sent.
    pub content_type: &'a str,
    /// The `Host` value exactly as sent, port included when it is not the scheme's default.
    pub host: &'a str,
    /// The body bytes exactly as sent.
    pub body: &'a [u8],
    /// Unix seconds, also sent as `x-zc-timestamp`.
    pub timestamp: i64,
}

/// Every stage of a ZC2 signature, so a failing vector names the step that broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zc2Signature {
    /// Step 1: hex SHA-256 of the body.
    pub hashed_payload: String,
    /// Step 2: the canonical request.
    pub canonical_request: String,
    /// Step 3: the string to sign.
    pub string_to_sign: String,
    /// Step 4: the hex signature.
    pub signature: String,
    /// Step 5: the `Authorization` header value.
    pub authorization: String,
}

/// Signs a request with ZC2-HMAC-SHA256, following `../shared/providers/zenlayer.md` §2: TC3's
/// canonical request without its date, region and key derivation.
pub fn zc2_sign(
    request: &Zc2Request<'_>,
    access_key_id: &str,
    access_key_password: &str,
) -> Zc2Signature {
    // The SDK's Credential strips surrounding whitespace from both halves.
    let (access_key_id, access_key_password) = (access_key_id.trim(), access_key_password.trim());
    let hashed_payload = hex_sha256(request.body);
    // The canonical URI is `/` and the query empty whatever the request's path: the SDK hard-codes
    // them. Only content-type and host are signed.
    let canonical_request = canonical_request(
        request.method,
        "/",
        "",
        &[
            ("content-type", request.content_type),
            ("host", request.host),
        ],
        &hashed_payload,
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{}",
        request.timestamp,
        hex_sha256(canonical_request.as_bytes())
    );
    // The key is the raw access key password: no derivation chain.
    let signature = hex_hmac_sha256(access_key_password.as_bytes(), string_to_sign.as_bytes());
    let authorization = format!(
        "{ALGORITHM} Credential={access_key_id}, SignedHeaders=content-type;host, Signature={signature}"
    );
    Zc2Signature {
        hashed_payload,
        canonical_request,
        string_to_sign,
        signature,
        authorization,
    }
}

/// A 200 answer, `{requestId, response: {...}}`; a stray `code` is read as an error.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<R> {
    request_id: Option<String>,
    code: Option<String>,
    message: Option<String>,
    response: Option<R>,
}

/// StartInstances' `response`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    instance_ids: Option<Vec<String>>,
}

/// A paged `response`: DescribeInstancesStatus' and DescribeInstances'.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageBody<T> {
    total_count: Option<u64>,
    data_set: Option<Vec<T>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireStatus {
    instance_id: String,
    instance_status: String,
}

/// A DescribeInstances `dataSet[]` entry, read for its addresses and zone only.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireInstance {
    instance_id: String,
    #[serde(default)]
    zone_id: WireZone,
    #[serde(default)]
    public_ip_addresses: WireIps,
    #[serde(default)]
    private_ip_addresses: WireIps,
}

/// Reads a paged answer's `dataSet`.
fn parse_page<T: DeserializeOwned>(
    action: &str,
    response: &HttpResponse,
) -> Result<Vec<T>, ApiError> {
    let (_, body) = parse_response::<PageBody<T>>(action, None, response)?;
    match body.data_set {
        Some(items) => Ok(items),
        // An empty page may leave its list out; a page that counts machines may not.
        None if body.total_count == Some(0) => Ok(Vec::new()),
        None => Err(ApiError::bad_response(action, response, "no dataSet")),
    }
}

/// Reads an answer: the request id and `response`, or the error the status and body make.
/// Reads the envelope of an answer to the call `action` — the start or stop call of `lifecycle`,
/// whose codes mean what the vocabulary says for it, or another call.
fn parse_response<R: DeserializeOwned>(
    action: &str,
    lifecycle: Option<Action>,
    response: &HttpResponse,
) -> Result<(Option<String>, R), ApiError> {
    let blocked = |code: &str, what: &str| ApiError {
        code: code.into(),
        message: format!(
            "{action} was blocked before reaching the Zenlayer API ({what}, HTTP {}); \
             retry from another network or ask Zenlayer support to allow this address",
            response.status
        ),
        request_id: None,
        http_status: response.status,
        class: ErrorClass::Refused,
    };
    // The SDK checks these before reading JSON: the bodies are HTML from the edge network.
    if response.status == 403 && response.header("cf-mitigated") == Some("challenge") {
        return Err(blocked("SECURITY_CHALLENGE", "a security challenge"));
    }
    if response.status == 451 {
        return Err(blocked("REQUEST_BLOCKED", "unavailable for legal reasons"));
    }
    let envelope: Envelope<R> = match serde_json::from_slice(&response.body) {
        Ok(envelope) => envelope,
        Err(err) => return Err(status_error(action, response, err)),
    };
    if let Some(code) = envelope.code.filter(|code| !code.is_empty()) {
        return Err(ApiError {
            class: classify(lifecycle, response.status, &code),
            code,
            message: envelope.message.unwrap_or_default(),
            request_id: envelope.request_id,
            http_status: response.status,
        });
    }
    if response.status != 200 {
        return Err(status_error(action, response, "no error code"));
    }
    let body = (envelope.response)
        .ok_or_else(|| ApiError::bad_response(action, response, "no response object"))?;
    Ok((envelope.request_id, body))
}

/// The error the status alone implies, for answers without a readable error code: 401 is an auth
/// failure, the rest as [`http_status_error`] says; `what` explains an unreadable 200.
fn status_error(action: &str, response: &HttpResponse, what: impl std::fmt::Display) -> ApiError {
    match http_status_error(action, response) {
        Some(err) if response.status == 401 => ApiError {
            class: ErrorClass::Auth,
            ..err
        },
        Some(err) => err,
        None => ApiError::bad_response(action, response, what),
    }
}

/// Maps a Zenlayer error code (and its HTTP status) to what the engine does about it (reference
/// §5). The auth and clock codes are undocumented, so they are recognised by their words.
fn classify(lifecycle: Option<Action>, status: u16, code: &str) -> ErrorClass {
    // Older Zenlayer APIs spell the same codes `Invalid.Instance.Not.Found`.
    let code = code.to_ascii_uppercase().replace('.', "_");
    let has = |word: &str| code.contains(word);
    let listed = match lifecycle {
        Some(action) => VOCABULARY.class_in(action, &code),
        None => VOCABULARY.class(&code),
    };
    match listed {
        Some(class) => class,
        None if has("TIMESTAMP") || (has("EXPIRED") && !has("ACCESS_KEY")) => ErrorClass::ClockSkew,
        None if has("SIGNATURE") || has("ACCESS_KEY") || has("AUTH") || status == 401 => {
            ErrorClass::Auth
        }
        None if status == 429 => ErrorClass::Throttled,
        None if status >= 500 => ErrorClass::Transient,
        None => ErrorClass::Refused,
    }
}

impl From<WireStatus> for InstanceState {
    fn from(wire: WireStatus) -> Self {
        // A failed boot falls back to STOPPED: the poller fails a machine it saw BOOTING.
        let phase = VOCABULARY.phase(&wire.instance_status);
        InstanceState::new(wire.instance_id, wire.instance_status, phase)
    }
}

#[cfg(test)]
mod tests;
