//! Tencent Cloud CVM, API 3.0 version 2017-03-12: `StartInstances`, `StopInstances` and
//! `DescribeInstances`, signed with TC3-HMAC-SHA256.
//!
//! Wire protocol: `../shared/providers/tencent.md` (from the official Python SDK); vendor docs:
//! <https://www.tencentcloud.com/document/api/213/33224> (signature v3). Errors come as HTTP 200
//! with `Response.Error`, so the body, not the status, decides success.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{
    http_status_error, lower_alphanumeric, reported_code, Accepted, Action, ActionOptions,
    Addresses, ApiCall, ApiError, ErrorClass, Header, HttpResponse, IdShape, InstanceState,
    Lenient, Location, Method, Phase, Provider, ProviderSpec, RateLimit, Requirement,
    SignedRequest, StopSupport, Vocabulary, WireIps, WireZone,
};
use super::{vector_int, vector_text, VectorStages};
use crate::credentials::{CredentialVars, Credentials};
use crate::env_vars::{cloud_env_vars, EnvVar, Scope};
use crate::sign::{canonical_request, hex_hmac_sha256, hex_sha256, hmac_sha256};

/// The TC3 service name, part of the host and of the credential scope.
pub const SERVICE: &str = "cvm";
/// The CVM API version every call is made against.
pub const VERSION: &str = "2017-03-12";
/// The signature algorithm name, first word of the `Authorization` header.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The only content type cloudstart sends (exact string, no charset: it is signed).
pub const CONTENT_TYPE: &str = "application/json";

const PROVIDER: &str = "tencent";

/// Tencent Cloud CVM.
#[derive(Debug)]
pub struct TencentCvm;

cloud_env_vars! {
    /// Tencent-only endpoint override; wins over `CLOUDSTART_ENDPOINT`, loses to `--endpoint`.
    CLOUDSTART_TENCENT_ENDPOINT;
    /// Tencent Cloud SecretId (the SDK's and tccli's name).
    TENCENTCLOUD_SECRET_ID;
    /// Tencent Cloud SecretKey.
    TENCENTCLOUD_SECRET_KEY;
    /// Tencent Cloud temporary-credential token, sent as `X-TC-Token`.
    TENCENTCLOUD_SECURITY_TOKEN;
    /// Tencent Cloud region, used when `--region` is not given.
    TENCENTCLOUD_REGION;
    /// tccli's profile, when `--profile` is not given (else `default`).
    TCCLI_PROFILE;
}

static SPEC: ProviderSpec = ProviderSpec {
    name: PROVIDER,
    id_shape: IdShape {
        prefixes: &["ins-"],
        body_len: 8..=8,
        body_byte: lower_alphanumeric,
        described: "`ins-` and 8 lowercase letters or digits",
        example: "ins-r8hr2upy",
    },
    action_batch: 100,
    describe_batch: 100,
    region: Requirement::Required(&[TENCENTCLOUD_REGION]),
    zone: Requirement::Unused,
    credentials: CredentialVars {
        key_id: &[TENCENTCLOUD_SECRET_ID],
        secret: &[TENCENTCLOUD_SECRET_KEY],
        token: &[TENCENTCLOUD_SECURITY_TOKEN],
    },
    env_vars: ENV_VARS,
    endpoint_var: CLOUDSTART_TENCENT_ENDPOINT,
    vocabulary: VOCABULARY,
    without_gpu: false,
    idempotent_actions: false,
    // StopInstances' StopType and StoppedMode (tencentcloud-sdk-go cvm/v20170312/models.go,
    // StopInstancesRequestParams); the deprecated ForceStop is never sent with StopType.
    stop: StopSupport {
        gentle: "StopType=SOFT",
        force: Some("StopType=HARD"),
        stop_charging: Some("StoppedMode=STOP_CHARGING"),
    },
    reports_addresses: true,
    // StartInstances' documented default (DescribeInstances allows 40/s; one budget for both).
    rate_limits: &[RateLimit {
        requests: 10,
        per: Duration::from_secs(1),
    }],
    // The commented table `config init` writes for this cloud.
    config_table: "\
# access_key_id = \"AKID…\"     # SecretId\n\
# secret_access_key = \"…\"     # SecretKey\n\
# session_token = \"…\"         # temporary credentials only\n\
# region = \"ap-guangzhou\"\n",
};

/// CVM's `InstanceState` values (DescribeInstances, data type `Instance`) and the error codes
/// cloudstart acts on (StartInstances' error list and the API 3.0 common errors).
const VOCABULARY: Vocabulary = Vocabulary {
    states: &[
        ("RUNNING", Phase::Running),
        // A failed start leaves the machine STOPPED with its LatestOperation FAILED.
        ("STOPPED", Phase::Stopped),
        ("STARTING", Phase::Starting),
        ("PENDING", Phase::Transition),
        ("STOPPING", Phase::Stopping),
        ("REBOOTING", Phase::Transition),
        ("ENTER_SERVICE_LIVE_MIGRATE", Phase::Transition),
        ("SERVICE_LIVE_MIGRATE", Phase::Transition),
        ("EXIT_SERVICE_LIVE_MIGRATE", Phase::Transition),
        ("LAUNCH_FAILED", Phase::Failed),
        ("SHUTDOWN", Phase::Failed),
        ("TERMINATING", Phase::Failed),
        ("ENTER_RESCUE_MODE", Phase::Failed),
        ("RESCUE_MODE", Phase::Failed),
        ("EXIT_RESCUE_MODE", Phase::Failed),
    ],
    starting: "STARTING",
    stopping: "STOPPING",
    errors: &[
        (
            "UnsupportedOperation.InstanceStateRunning",
            ErrorClass::AlreadyDone,
        ),
        (
            "UnsupportedOperation.InstanceStateStarting",
            ErrorClass::AlreadyUnderway,
        ),
        // Locks held by another operation clear by themselves.
        (
            "OperationDenied.InstanceOperationInProgress",
            ErrorClass::Busy,
        ),
        ("MutexOperation.TaskRunning", ErrorClass::Busy),
        (
            "UnsupportedOperation.InstanceStateStopping",
            ErrorClass::Busy,
        ),
        (
            "UnsupportedOperation.InstanceStateRebooting",
            ErrorClass::Busy,
        ),
        (
            "UnsupportedOperation.InstanceStatePending",
            ErrorClass::Busy,
        ),
        (
            "UnsupportedOperation.InstanceState*",
            ErrorClass::WrongState,
        ),
        ("InvalidInstanceId.NotFound", ErrorClass::NotFound),
        (
            "ResourceNotFound.InvalidInstanceIdNotFound",
            ErrorClass::NotFound,
        ),
        ("RequestLimitExceeded", ErrorClass::Throttled),
        ("RequestLimitExceeded*", ErrorClass::Throttled),
        ("AuthFailure.SignatureExpire", ErrorClass::ClockSkew),
        ("AuthFailure.SignatureFailure", ErrorClass::Auth),
        ("AuthFailure*", ErrorClass::Auth),
        // The common codes (cloud.tencent.com/document/api/213/15694, 公共错误码): "token error",
        // what temporary credentials whose token expired get; "no CAM authorization" for the
        // action or resource.
        ("AuthFailure.TokenFailure", ErrorClass::TokenExpired),
        (
            "AuthFailure.UnauthorizedOperation",
            ErrorClass::PermissionDenied,
        ),
        ("UnauthorizedOperation*", ErrorClass::PermissionDenied),
        // StopInstances' list: the MFA the key's user must pass, not a missing permission.
        ("UnauthorizedOperation.MFAExpired", ErrorClass::Auth),
        ("UnauthorizedOperation.MFANotFound", ErrorClass::Auth),
        ("InternalError", ErrorClass::Transient),
        ("InternalError*", ErrorClass::Transient),
        ("InternalServerError", ErrorClass::Transient),
        ("ServiceUnavailable", ErrorClass::Transient),
        // No stock for the instance type or zone (tencentcloud-sdk-go cvm/v20170312/errors.go,
        // commit 144f6c8d: 库存不足, 已售罄). Not in StartInstances' own list, but a start needs
        // the stock again. The other `ResourceInsufficient.*` codes are quotas and parameters.
        (
            "ResourceInsufficient.SpecifiedInstanceType",
            ErrorClass::Capacity,
        ),
        (
            "ResourceInsufficient.ZoneSoldOutForSpecifiedInstance",
            ErrorClass::Capacity,
        ),
        (
            "ResourceInsufficient.AvailabilityZoneSoldOut",
            ErrorClass::Capacity,
        ),
        (
            "ResourceInsufficient.InsufficientOfferingMinimum",
            ErrorClass::Capacity,
        ),
        ("ResourcesSoldOut*", ErrorClass::Capacity),
    ],
    // StopInstances' error list (tencentcloud-sdk-go cvm/v20170312/client.go, StopInstances).
    stop_errors: &[
        (
            "UnsupportedOperation.InstanceStateStopped",
            ErrorClass::AlreadyDone,
        ),
        (
            "UnsupportedOperation.InstanceStateStopping",
            ErrorClass::AlreadyUnderway,
        ),
        // A machine on its way up, or rebooting, is stopped once it settles.
        (
            "UnsupportedOperation.InstanceStateStarting",
            ErrorClass::Busy,
        ),
        (
            "UnsupportedOperation.InstanceStateRunning",
            ErrorClass::WrongState,
        ),
    ],
};

impl Provider for TencentCvm {
    fn spec(&self) -> &'static ProviderSpec {
        &SPEC
    }

    fn default_endpoint(&self, _location: &Location) -> String {
        // The global host routes by the X-TC-Region header; the SDK uses it by default.
        format!("https://{SERVICE}.tencentcloudapi.com")
    }

    fn action_call(
        &self,
        action: Action,
        ids: &[String],
        location: &Location,
        options: &ActionOptions,
    ) -> ApiCall {
        match action {
            Action::Start => call(
                "StartInstances",
                location,
                serde_json::json!({ "InstanceIds": ids }),
            ),
            Action::Stop => {
                let mut body = serde_json::json!({
                    "InstanceIds": ids,
                    "StopType": if options.force { "HARD" } else { "SOFT" },
                });
                if options.stop_charging {
                    body["StoppedMode"] = "STOP_CHARGING".into();
                }
                call("StopInstances", location, body)
            }
        }
    }

    fn describe_call(&self, ids: &[String], location: &Location) -> ApiCall {
        // DescribeInstances rather than DescribeInstancesStatus: only it carries
        // LatestOperationState, which is how a failed start shows. Limit defaults to 20.
        let body = serde_json::json!({ "InstanceIds": ids, "Limit": ids.len().max(1) });
        call("DescribeInstances", location, body)
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
        let query = crate::sign::encode_query(&call.query);
        let signature = tc3_sign(
            &Tc3Request {
                method: call.method.as_str(),
                canonical_query: &query,
                content_type: header_value(call, "Content-Type").unwrap_or(CONTENT_TYPE),
                host,
                body: &call.body,
                timestamp,
            },
            &credentials.key_id,
            credentials.secret.expose(),
        );
        let mut headers: Vec<Header> = call
            .headers
            .iter()
            .map(|(name, value)| Header::plain(name, value))
            .collect();
        headers.push(Header::plain("Host", host));
        headers.push(Header::plain("X-TC-Timestamp", timestamp.to_string()));
        if let Some(token) = &credentials.token {
            headers.push(Header::sensitive("X-TC-Token", token.expose()));
        }
        headers.push(Header::sensitive("Authorization", signature.authorization));
        let path_and_query = if query.is_empty() {
            call.path.clone()
        } else {
            format!("{}?{query}", call.path)
        };
        SignedRequest {
            method: call.method,
            path_and_query,
            headers,
            body: call.body.clone(),
        }
    }

    fn vector_stages(&self, inputs: &serde_json::Value) -> Result<VectorStages, String> {
        let body = vector_text(inputs, "/body")?;
        let request = Tc3Request {
            method: vector_text(inputs, "/method")?,
            canonical_query: vector_text(inputs, "/query")?,
            content_type: vector_text(inputs, "/content_type")?,
            host: vector_text(inputs, "/host")?,
            body: body.as_bytes(),
            timestamp: vector_int(inputs, "/timestamp")?,
        };
        let signature = tc3_sign(
            &request,
            vector_text(inputs, "/credentials/secret_id")?,
            vector_text(inputs, "/credentials/secret_key")?,
        );
        // GET sends no body and hashes the empty string, like the SDK.
        Ok(vec![
            ("/expected/hashed_payload", hex_sha256(body.as_bytes())),
            ("/expected/canonical_request", signature.canonical_request),
            ("/expected/credential_scope", signature.credential_scope),
            ("/expected/string_to_sign", signature.string_to_sign),
            ("/expected/signature", signature.signature),
            ("/expected/authorization", signature.authorization),
        ])
    }

    fn parse_action(&self, action: Action, response: &HttpResponse) -> Result<Accepted, ApiError> {
        let name = match action {
            Action::Start => "StartInstances",
            Action::Stop => "StopInstances",
        };
        let body = parse_response(name, Some(action), response)?;
        Ok(Accepted {
            request_id: body.request_id,
            job_id: None,
            refused: Vec::new(),
        })
    }

    fn parse_describe(&self, response: &HttpResponse) -> Result<Vec<InstanceState>, ApiError> {
        let body = parse_response("DescribeInstances", None, response)?;
        let Some(instances) = body.instance_set else {
            return Err(ApiError::bad_response(
                "DescribeInstances",
                response,
                "no Response.InstanceSet",
            ));
        };
        Ok(instances.into_iter().map(InstanceState::from).collect())
    }
}

fn call(action: &'static str, location: &Location, body: serde_json::Value) -> ApiCall {
    let mut headers = vec![
        ("Content-Type".to_string(), CONTENT_TYPE.to_string()),
        ("X-TC-Action".to_string(), action.to_string()),
        ("X-TC-Version".to_string(), VERSION.to_string()),
        // English messages, for the operators who read them.
        ("X-TC-Language".to_string(), "en-US".to_string()),
    ];
    if let Some(region) = &location.region {
        headers.push(("X-TC-Region".to_string(), region.clone()));
    }
    ApiCall {
        action,
        method: Method::Post,
        path: "/".into(),
        query: Vec::new(),
        headers,
        body: body.to_string().into_bytes(),
    }
}

fn header_value<'a>(call: &'a ApiCall, name: &str) -> Option<&'a str> {
    call.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The inputs of a TC3-HMAC-SHA256 signature, besides the credentials.
#[derive(Debug, Clone, Copy)]
pub struct Tc3Request<'a> {
    /// `POST` or `GET`.
    pub method: &'a str,
    /// The query string exactly as sent (`""` for POST); TC3 signs it unsorted.
    pub canonical_query: &'a str,
    /// The `Content-Type` value exactly as sent.
    pub content_type: &'a str,
    /// The `Host` value exactly as sent, port included when it is not the scheme's default.
    pub host: &'a str,
    /// The body bytes exactly as sent.
    pub body: &'a [u8],
    /// Unix seconds, also sent as `X-TC-Timestamp`.
    pub timestamp: i64,
}

/// Every stage of a TC3 signature, so a failing vector names the step that broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tc3Signature {
    /// Step 2: the canonical request.
    pub canonical_request: String,
    /// `<date>/cvm/tc3_request`.
    pub credential_scope: String,
    /// Step 4: the string to sign.
    pub string_to_sign: String,
    /// Step 5: the hex signature.
    pub signature: String,
    /// Step 6: the `Authorization` header value.
    pub authorization: String,
}

/// Signs a request with TC3-HMAC-SHA256, following `../shared/providers/tencent.md` §2 step by step.
pub fn tc3_sign(request: &Tc3Request<'_>, secret_id: &str, secret_key: &str) -> Tc3Signature {
    // 1–2. The path is always `/`; only content-type and host are signed.
    let canonical_request = canonical_request(
        request.method,
        "/",
        request.canonical_query,
        &[
            ("content-type", request.content_type),
            ("host", request.host),
        ],
        &hex_sha256(request.body),
    );
    // 3. The UTC date of the timestamp: local time breaks signatures near midnight.
    let date = DateTime::from_timestamp(request.timestamp, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string();
    let credential_scope = format!("{date}/{SERVICE}/tc3_request");
    // 4.
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{credential_scope}\n{}",
        request.timestamp,
        hex_sha256(canonical_request.as_bytes())
    );
    // 5. kDate = HMAC("TC3" + key, date); kService = HMAC(kDate, "cvm"); kSigning = HMAC(kService, "tc3_request").
    let k_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac_sha256(&k_date, SERVICE.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"tc3_request");
    let signature = hex_hmac_sha256(&k_signing, string_to_sign.as_bytes());
    // 6.
    let authorization = format!(
        "{ALGORITHM} Credential={secret_id}/{credential_scope}, SignedHeaders=content-type;host, Signature={signature}"
    );
    Tc3Signature {
        canonical_request,
        credential_scope,
        string_to_sign,
        signature,
        authorization,
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Response")]
    response: ResponseBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResponseBody {
    request_id: Option<String>,
    error: Option<WireError>,
    instance_set: Option<Vec<WireInstance>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireError {
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireInstance {
    instance_id: String,
    instance_state: String,
    latest_operation: Option<String>,
    latest_operation_state: Option<String>,
    latest_operation_request_id: Option<String>,
    latest_operation_error_msg: Option<String>,
    // The primary network interface's addresses; PublicIpAddresses is null without one.
    #[serde(default)]
    public_ip_addresses: WireIps,
    #[serde(default)]
    private_ip_addresses: WireIps,
    #[serde(default)]
    placement: Lenient<WirePlacement>,
}

/// Where the instance is: `Placement.Zone`, e.g. `ap-guangzhou-3`.
#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WirePlacement {
    #[serde(default)]
    zone: WireZone,
}

/// Reads the envelope of an answer to `name` (the start or stop call of `action`, or another
/// call); an `Error` inside it (whatever the HTTP status) becomes an [`ApiError`].
fn parse_response(
    name: &str,
    action: Option<Action>,
    response: &HttpResponse,
) -> Result<ResponseBody, ApiError> {
    let envelope: Envelope = match serde_json::from_slice(&response.body) {
        Ok(envelope) => envelope,
        Err(err) => {
            return Err(http_status_error(name, response)
                .unwrap_or_else(|| ApiError::bad_response(name, response, err)))
        }
    };
    let body = envelope.response;
    if let Some(error) = body.error {
        return Err(ApiError {
            class: classify(action, &error.code),
            code: reported_code(error.code),
            message: error.message,
            request_id: body.request_id,
            http_status: response.status,
        });
    }
    if let Some(err) = http_status_error(name, response) {
        return Err(err);
    }
    Ok(body)
}

/// Maps a CVM error code in an answer to `action`'s call (or another call) to what the engine
/// does about it: the vocabulary's class, else a refusal.
fn classify(action: Option<Action>, code: &str) -> ErrorClass {
    let class = match action {
        Some(action) => VOCABULARY.class_in(action, code),
        None => VOCABULARY.class(code),
    };
    class.unwrap_or(ErrorClass::Refused)
}

impl From<WireInstance> for InstanceState {
    fn from(wire: WireInstance) -> Self {
        let addresses = Addresses {
            public: wire.public_ip_addresses.0,
            private: wire.private_ip_addresses.0,
        };
        let mut state = InstanceState::new(
            wire.instance_id,
            &wire.instance_state,
            VOCABULARY.phase(&wire.instance_state),
        )
        .with_addresses(addresses)
        .with_zone(wire.placement.0.zone.0);
        // DescribeInstances reports the *latest* operation, which may be an older run's start
        // or stop: it names this run's failure only through its request id, which the engine
        // compares.
        let operation = wire.latest_operation.as_deref().unwrap_or_default();
        let failed = matches!(operation, "StartInstances" | "StopInstances")
            && wire.latest_operation_state.as_deref() == Some("FAILED");
        if failed {
            if let Some(request_id) = wire.latest_operation_request_id {
                let message = wire.latest_operation_error_msg.unwrap_or_default();
                state.detail = Some(
                    format!("{operation} {request_id} FAILED {message}")
                        .trim_end()
                        .to_string(),
                );
                state.failed_operation = Some(request_id);
            }
        }
        state
    }
}

#[cfg(test)]
mod tests;
