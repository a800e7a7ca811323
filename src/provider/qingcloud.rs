//! QingCloud EHPC (HPC clusters): `POST /api/cluster/startCluster` and `/api/cluster/stopCluster`
//! (each answers a job, followed in `GET /api/operation`) and `GET /api/cluster/list`, signed with
//! QingCloud's API signature (HmacSHA256, signature_version 1).
//!
//! Wire protocol: `../shared/providers/qingcloud.md` (from the `qingcloud-hpc` SDK); vendor docs:
//! <https://docsv4.qingcloud.com/user_guide/compute/hpc/api/> (signature, error codes). The unit
//! started is a cluster, not a VM. Errors come as HTTP 200 with a non-zero `ret_code`, so the body,
//! not the status, decides success; the envelope carries no request id.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{
    http_status_error, lower_alphanumeric, Accepted, Action, ActionOptions, ApiCall, ApiError,
    ErrorClass, Header, HttpResponse, IdShape, InstanceState, JobPhase, JobStatus, Location,
    Method, Phase, Provider, ProviderSpec, RateLimit, Requirement, SignedRequest, StopSupport,
    Vocabulary,
};
use super::{vector_text, VectorStages};
use crate::credentials::{CredentialVars, Credentials};
use crate::env_vars::{cloud_env_vars, EnvVar, Scope};
use crate::sign::{
    base64_hmac_sha256, encode_query, form_decode, form_encode, hex_md5, percent_encode_keep_slash,
};

/// The start call's path. The docs' heading spells it `startClusrer`; the SDK and the docs'
/// example URL use `startCluster`, which is what the service answers to.
pub const START_PATH: &str = "/api/cluster/startCluster";
/// The documented list call, filtered to one exact `cluster_id`.
pub const LIST_PATH: &str = "/api/cluster/list";
/// The start action's name, as the response's `action` names it without `Response`.
pub const START_ACTION: &str = "HpcClusterStartCluster";
/// The stop call's path (`stopcluster.md`; the SDK's `stop_cluster_request`).
pub const STOP_PATH: &str = "/api/cluster/stopCluster";
/// The stop action's name, as the response's `action` names it without `Response`.
pub const STOP_ACTION: &str = "HpcClusterStopCluster";
/// The list action's name.
pub const LIST_ACTION: &str = "HpcClusterListCluster";
/// The job log: where a start's `job_id` reports `pending`, `working`, `successful` or `failed`
/// (yunify/qingcloud-docs `content/compute/hpc/api/logs/operation.md`, commit 70f0f11).
pub const OPERATION_PATH: &str = "/api/operation";
/// The job log action's name.
pub const OPERATION_ACTION: &str = "HpcOperationListOperation";
/// `signature_method`, the only one cloudstart uses.
pub const SIGNATURE_METHOD: &str = "HmacSHA256";
/// `signature_version` and the API `version`, both `1`.
pub const SIGNATURE_VERSION: &str = "1";
/// The `timestamp` format: UTC, seconds, a literal `Z`.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";
/// Most clusters one list answer holds, and so the start batch cloudstart uses (the start call
/// documents no maximum).
pub const MAX_CLUSTERS: usize = 100;

const PROVIDER: &str = "qingcloud";

/// QingCloud EHPC.
#[derive(Debug)]
pub struct QingcloudEhpc;

cloud_env_vars! {
    /// QingCloud-only endpoint override; wins over `CLOUDSTART_ENDPOINT`, loses to `--endpoint`.
    CLOUDSTART_QINGCLOUD_ENDPOINT;
    /// QingCloud access key id (the Terraform provider's name).
    QINGCLOUD_ACCESS_KEY;
    /// QingCloud secret access key (the Terraform provider's name).
    QINGCLOUD_SECRET_KEY;
    /// QingCloud zone, used when `--zone` is not given (EHPC: e.g. `jinan1a`).
    QINGCLOUD_ZONE;
    /// QingCloud access key id, qingcloud-cli's name; read if `QINGCLOUD_ACCESS_KEY` is unset.
    QY_ACCESS_KEY_ID;
    /// QingCloud secret access key, qingcloud-cli's name; read if `QINGCLOUD_SECRET_KEY` is unset.
    QY_SECRET_ACCESS_KEY;
}

static SPEC: ProviderSpec = ProviderSpec {
    name: PROVIDER,
    id_shape: IdShape {
        prefixes: &["hpc-", "ehpc-"],
        body_len: 8..=8,
        body_byte: lower_alphanumeric,
        described: "`hpc-` or `ehpc-` and 8 lowercase letters or digits",
        example: "hpc-k3fw1jyq",
    },
    action_batch: MAX_CLUSTERS,
    // The documented list filter takes one exact cluster id.
    describe_batch: 1,
    region: Requirement::Unused,
    zone: Requirement::Required(&[QINGCLOUD_ZONE]),
    credentials: CredentialVars {
        key_id: &[QINGCLOUD_ACCESS_KEY, QY_ACCESS_KEY_ID],
        secret: &[QINGCLOUD_SECRET_KEY, QY_SECRET_ACCESS_KEY],
        token: &[],
    },
    env_vars: ENV_VARS,
    endpoint_var: CLOUDSTART_QINGCLOUD_ENDPOINT,
    vocabulary: VOCABULARY,
    without_gpu: false,
    idempotent_actions: false,
    // stopCluster takes cluster_ids and zone only: no force, no mode. Stopping pauses the billing
    // of pay-as-you-go clusters by itself (stopcluster.md), which no flag can change.
    stop: StopSupport {
        gentle: "stopCluster, which has no options",
        force: None,
        stop_charging: None,
    },
    // The cluster list documents no address (README, Clouds: QingCloud).
    reports_addresses: false,
    // The API quota: 2000 requests an hour per user (`get_api/request.md`; ret_code 2500 beyond
    // it), and, so that a burst cannot spend it in one second, the 10/s the other clouds keep to.
    rate_limits: &[
        RateLimit {
            requests: 2000,
            per: Duration::from_secs(3600),
        },
        RateLimit {
            requests: 10,
            per: Duration::from_secs(1),
        },
    ],
    // The commented table `config init` writes for this cloud.
    config_table: "\
# access_key_id = \"…\"         # QingCloud access key id\n\
# secret_access_key = \"…\"     # its secret access key\n\
# zone = \"jinan1a\"\n",
};

/// EHPC's cluster `status` values (the list page's `status` filter: pending, active, stopped,
/// suspended; ceased and deleted from the QingCloud platform), the `transition_status` a start
/// shows, and the `ret_code`s of `error_code.md`.
const VOCABULARY: Vocabulary = Vocabulary {
    states: &[
        ("active", Phase::Running),
        // startCluster starts a paused cluster too (启动已暂停的集群), so both are stopped.
        ("stopped", Phase::Stopped),
        ("suspended", Phase::Stopped),
        // `transition_status` while the start runs; back to `stopped` without one, it failed.
        ("starting", Phase::Starting),
        // `transition_status` while a stop runs (the platform's status set, qingcloud-sdk-go
        // service/types.go); back to `active` without one, it failed.
        ("stopping", Phase::Stopping),
        ("pending", Phase::Transition),
        ("ceased", Phase::Failed),
        ("deleted", Phase::Failed),
    ],
    starting: "starting",
    stopping: "stopping",
    errors: &[
        ("1200", ErrorClass::Auth),
        ("1300", ErrorClass::ClockSkew),
        // Permission denied or a state that forbids the operation: a describe tells which.
        ("1400", ErrorClass::WrongState),
        ("2100", ErrorClass::NotFound),
        // The API quota is counted per day and restored at midnight: retrying within the run
        // cannot help.
        ("2500", ErrorClass::Refused),
        // Insufficient backend resources (error_code.md): capacity, not a fault.
        ("5200", ErrorClass::Capacity),
        ("5000", ErrorClass::Transient),
        ("5100", ErrorClass::Transient),
        ("5300", ErrorClass::Transient),
    ],
    // stopCluster's refusals are the same codes: 1400 for a cluster that is not active (the
    // error-code page's own example is a stop), explained by a describe.
    stop_errors: &[],
};

/// What a person hit by ret_code 2500 needs to know.
const QUOTA_HINT: &str =
    " (the QingCloud API quota is counted per day and restored at midnight: try again then)";

impl Provider for QingcloudEhpc {
    fn spec(&self) -> &'static ProviderSpec {
        &SPEC
    }

    fn default_endpoint(&self, _location: &Location) -> String {
        // One host for every zone: the zone travels as a parameter.
        "https://hpc.api.qingcloud.com".into()
    }

    fn action_call(
        &self,
        action: Action,
        ids: &[String],
        location: &Location,
        _options: &ActionOptions,
    ) -> ApiCall {
        // The SDK's `json.dumps(sort_keys=True)` bytes; only the body's MD5 is signed, so any JSON
        // would do, but matching the SDK lets the vectors pin the whole request down.
        let quoted: Vec<String> = ids
            .iter()
            .map(|id| Value::from(id.as_str()).to_string())
            .collect();
        let zone = Value::from(location.zone.as_deref().unwrap_or_default());
        let body = format!(
            r#"{{"cluster_ids": [{}], "zone": {zone}}}"#,
            quoted.join(", ")
        );
        let (name, path) = match action {
            Action::Start => (START_ACTION, START_PATH),
            Action::Stop => (STOP_ACTION, STOP_PATH),
        };
        ApiCall {
            action: name,
            method: Method::Post,
            path: path.into(),
            query: Vec::new(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into_bytes(),
        }
    }

    fn describe_call(&self, ids: &[String], location: &Location) -> ApiCall {
        // `describe_batch` is 1: the filter takes one id. The limit is the largest page, so a
        // cluster would still be listed if the service ever matched the id loosely.
        let mut query = Vec::new();
        if let Some(id) = ids.first() {
            query.push(("cluster_id".to_string(), id.clone()));
        }
        query.push(("limit".into(), MAX_CLUSTERS.to_string()));
        query.push(("zone".into(), location.zone.clone().unwrap_or_default()));
        ApiCall {
            action: LIST_ACTION,
            method: Method::Get,
            path: LIST_PATH.into(),
            query,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn sign(
        &self,
        call: &ApiCall,
        host: &str,
        _location: &Location,
        credentials: &Credentials,
        now: DateTime<Utc>,
    ) -> SignedRequest {
        let query = signed_query(call, &credentials.key_id, now);
        let signature = qingcloud_sign(
            &QingcloudRequest {
                method: call.method.as_str(),
                path: &call.path,
                query: &query,
                body: &call.body,
            },
            credentials.secret.expose(),
        );
        let mut headers: Vec<Header> = call
            .headers
            .iter()
            .map(|(name, value)| Header::plain(name, value))
            .collect();
        headers.push(Header::plain("Host", host));
        SignedRequest {
            method: call.method,
            path_and_query: format!(
                "{}?{}&signature={}",
                call.path,
                // Not signed: the server signs the values it decoded. The SDK's `urlencode`
                // differs from this only for spaces, which no value sent contains.
                encode_query(&query),
                signature.wire_value
            ),
            headers,
            body: call.body.clone(),
        }
    }

    fn vector_stages(&self, inputs: &serde_json::Value) -> Result<VectorStages, String> {
        // The signer takes decoded parameters, as the SDK's signer parses its own query.
        let query: Vec<(String, String)> = vector_text(inputs, "/query_before_signature")?
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (form_decode(k), form_decode(v)))
            .collect();
        let signature = qingcloud_sign(
            &QingcloudRequest {
                method: vector_text(inputs, "/method")?,
                path: vector_text(inputs, "/path")?,
                query: &query,
                body: vector_text(inputs, "/body")?.as_bytes(),
            },
            vector_text(inputs, "/credentials/secret_access_key")?,
        );
        // The query the SDK sent: its own parameters in its order, then the signature.
        let wire_query = format!(
            "{}&signature={}",
            encode_query(&query),
            signature.wire_value
        );
        Ok(vec![
            ("/expected/body_md5_hex", signature.body_md5),
            ("/expected/string_to_sign", signature.string_to_sign),
            ("/expected/signature_base64", signature.signature),
            ("/expected/signature_sdk_value", signature.form_value),
            ("/expected/signature_query_value_raw", signature.wire_value),
            ("/expected/wire/query", wire_query),
        ])
    }

    fn parse_action(&self, action: Action, response: &HttpResponse) -> Result<Accepted, ApiError> {
        let name = match action {
            Action::Start => START_ACTION,
            Action::Stop => STOP_ACTION,
        };
        let body = parse_response(name, response)?;
        // The docs disagree on the field (`job_ids`, a string, in the table; `job_id` in the
        // example) and the SDK's own fixtures send a list: take whichever comes.
        let job_id = match body.job_ids.or(body.job_id) {
            Some(Value::String(job)) => Some(job),
            Some(Value::Array(jobs)) => {
                let jobs: Vec<&str> = jobs.iter().filter_map(Value::as_str).collect();
                Some(jobs.join(","))
            }
            _ => None,
        };
        Ok(Accepted {
            request_id: None,
            job_id: job_id.filter(|job| !job.is_empty()),
            refused: Vec::new(),
        })
    }

    fn parse_describe(&self, response: &HttpResponse) -> Result<Vec<InstanceState>, ApiError> {
        let body = parse_response(LIST_ACTION, response)?;
        let clusters = body
            .cluster_set
            .ok_or_else(|| ApiError::bad_response(LIST_ACTION, response, "no cluster_set"))?;
        clusters
            .into_iter()
            .map(|cluster| {
                InstanceState::try_from(cluster)
                    .map_err(|what| ApiError::bad_response(LIST_ACTION, response, what))
            })
            .collect()
    }

    fn job_call(&self, job_id: &str, location: &Location) -> Option<ApiCall> {
        let query = vec![
            ("jobs".to_string(), job_id.to_string()),
            (
                "zone".to_string(),
                location.zone.clone().unwrap_or_default(),
            ),
        ];
        Some(ApiCall {
            action: OPERATION_ACTION,
            method: Method::Get,
            path: OPERATION_PATH.into(),
            query,
            headers: Vec::new(),
            body: Vec::new(),
        })
    }

    fn parse_job(&self, response: &HttpResponse) -> Result<Vec<JobStatus>, ApiError> {
        let body = parse_response(OPERATION_ACTION, response)?;
        let jobs = body
            .job_set
            .ok_or_else(|| ApiError::bad_response(OPERATION_ACTION, response, "no job_set"))?;
        Ok(jobs.into_iter().map(JobStatus::from).collect())
    }
}

/// The query a call is signed and sent with, in the SDK's order (which is not signed): the call's
/// own parameters and `timestamp`, sorted, then the common ones.
fn signed_query(call: &ApiCall, access_key_id: &str, now: DateTime<Utc>) -> Vec<(String, String)> {
    let mut query = call.query.clone();
    query.push(("timestamp".into(), now.format(TIMESTAMP_FORMAT).to_string()));
    query.sort();
    for (name, value) in [
        ("version", SIGNATURE_VERSION),
        ("signature_version", SIGNATURE_VERSION),
        ("signature_method", SIGNATURE_METHOD),
        ("access_key_id", access_key_id),
    ] {
        query.push((name.into(), value.into()));
    }
    query
}

/// The inputs of a QingCloud signature, besides the secret.
#[derive(Debug, Clone, Copy)]
pub struct QingcloudRequest<'a> {
    /// `POST` or `GET`.
    pub method: &'a str,
    /// The path as sent, without the trailing `/` the signature appends.
    pub path: &'a str,
    /// Every query parameter except `signature`, decoded, in any order.
    pub query: &'a [(String, String)],
    /// The body bytes exactly as sent (empty for GET).
    pub body: &'a [u8],
}

/// Every stage of a QingCloud signature, so a failing vector names the step that broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QingcloudSignature {
    /// Step 4: lower-case hex MD5 of the body (`MD5("")` without one).
    pub body_md5: String,
    /// Step 2: the sorted, `quote`d query without `signature`.
    pub canonical_query: String,
    /// Step 5: `METHOD\n<path>/\n<canonical query>\n<body md5>`.
    pub string_to_sign: String,
    /// Step 6: base64 of the HMAC-SHA256.
    pub signature: String,
    /// Step 7, first encoding: `quote_plus(signature)`, what the server sees after decoding the
    /// query once.
    pub form_value: String,
    /// Step 7, second encoding: the `signature` value exactly as it appears in the URL.
    pub wire_value: String,
}

/// Signs a request with QingCloud's HmacSHA256 scheme, following `../shared/providers/qingcloud.md`
/// §2 step by step.
pub fn qingcloud_sign(request: &QingcloudRequest<'_>, secret: &str) -> QingcloudSignature {
    // 2. Sorted by name, then by value for a repeated name; empty values are dropped, as Python's
    //    `parse_qs` drops them; `quote` keeps `/` and writes space as `%20`.
    let mut query: Vec<&(String, String)> = request
        .query
        .iter()
        .filter(|(name, value)| name != "signature" && !value.is_empty())
        .collect();
    query.sort();
    let quote = percent_encode_keep_slash;
    let pairs: Vec<String> = query
        .iter()
        .map(|(name, value)| format!("{}={}", quote(name), quote(value)))
        .collect();
    let canonical_query = pairs.join("&");
    // 3–5. The canonical URI is the quoted path with a `/` appended.
    let body_md5 = hex_md5(request.body);
    let string_to_sign = format!(
        "{}\n{}/\n{canonical_query}\n{body_md5}",
        request.method,
        quote(request.path)
    );
    // 6.
    let signature = base64_hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes());
    // 7. The SDK `quote_plus`es the value and `urlencode` encodes it again: `+` ends up as `%252B`.
    let form_value = form_encode(&signature);
    let wire_value = form_encode(&form_value);
    QingcloudSignature {
        body_md5,
        canonical_query,
        string_to_sign,
        signature,
        form_value,
        wire_value,
    }
}

#[derive(Deserialize)]
struct ResponseBody {
    ret_code: Option<i64>,
    #[serde(default)]
    message: String,
    job_ids: Option<Value>,
    job_id: Option<Value>,
    cluster_set: Option<Vec<WireCluster>>,
    job_set: Option<Vec<WireJob>>,
}

/// A `cluster_set` item. The list page's field table puts the fields at the top level, its
/// example nests them under `app_cluster`: both are read.
#[derive(Deserialize)]
struct WireCluster {
    cluster_id: Option<String>,
    status: Option<String>,
    cluster_status: Option<String>,
    transition_status: Option<String>,
    app_cluster: Option<Box<WireCluster>>,
}

/// A `job_set` item of the job log.
#[derive(Deserialize)]
struct WireJob {
    job_id: String,
    #[serde(default)]
    status: String,
    error_codes: Option<Value>,
}

impl From<WireJob> for JobStatus {
    fn from(wire: WireJob) -> Self {
        let phase = match wire.status.as_str() {
            "successful" => JobPhase::Successful,
            "failed" => JobPhase::Failed,
            // pending, working, and whatever else the log may say while it runs.
            _ => JobPhase::Working,
        };
        let error_code = match wire.error_codes {
            Some(Value::String(codes)) if !codes.trim().is_empty() => Some(codes),
            Some(Value::Number(code)) if code.as_i64() != Some(0) => Some(code.to_string()),
            Some(Value::Array(codes)) if !codes.is_empty() => Some(
                codes
                    .iter()
                    .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        };
        JobStatus {
            job_id: wire.job_id,
            phase,
            raw: wire.status,
            error_code,
        }
    }
}

/// Reads the envelope; a non-zero `ret_code` (whatever the HTTP status) becomes an [`ApiError`].
fn parse_response(action: &str, response: &HttpResponse) -> Result<ResponseBody, ApiError> {
    let parsed = serde_json::from_slice::<ResponseBody>(&response.body);
    match &parsed {
        Ok(ResponseBody {
            ret_code: Some(code),
            message,
            ..
        }) if *code != 0 => {
            let class = classify(action, *code, message);
            let mut message = message.clone();
            if *code == 2500 {
                message.push_str(QUOTA_HINT);
            }
            return Err(ApiError {
                code: code.to_string(),
                message,
                request_id: None,
                http_status: response.status,
                class,
            });
        }
        _ => {}
    }
    if let Some(err) = http_status_error(action, response) {
        return Err(err);
    }
    match parsed {
        Ok(body) if body.ret_code.is_some() => Ok(body),
        Ok(_) => Err(ApiError::bad_response(action, response, "no ret_code")),
        Err(err) => Err(ApiError::bad_response(action, response, err)),
    }
}

/// Maps a `ret_code` in an answer to `action` to what the engine does about it: the vocabulary's
/// class, else a refusal (1100/1101 bad request, 2110 exists, 2400 balance, and the unknown).
///
/// A 1400 that asks to "try later" is a lock that clears by itself: QingCloud's own CSI driver
/// (yunify/qingcloud-csi `pkg/cloud/errors.go`, `IsTryLater`) and cloud controller manager retry it.
fn classify(action: &str, code: i64, message: &str) -> ErrorClass {
    if code == 1400 && message.to_ascii_lowercase().contains("try later") {
        return ErrorClass::Busy;
    }
    // A stop's answer reads the stop's own codes first; every other call, the shared table.
    let table = match action {
        STOP_ACTION => Action::Stop,
        _ => Action::Start,
    };
    VOCABULARY
        .class_in(table, &code.to_string())
        .unwrap_or(ErrorClass::Refused)
}

impl TryFrom<WireCluster> for InstanceState {
    type Error = String;

    fn try_from(wire: WireCluster) -> Result<Self, String> {
        // Each field from the item itself, else from its nested `app_cluster`.
        let nested = wire.app_cluster.map(|nested| *nested);
        let pick = |own: Option<String>, from_nested: fn(&WireCluster) -> Option<&String>| {
            own.or_else(|| nested.as_ref().and_then(from_nested).cloned())
        };
        let id = pick(wire.cluster_id, |n| n.cluster_id.as_ref());
        let status = pick(wire.status.or(wire.cluster_status), |n| {
            n.status.as_ref().or(n.cluster_status.as_ref())
        });
        let transition = pick(wire.transition_status, |n| n.transition_status.as_ref());
        let Some(id) = id else {
            return Err("a cluster without cluster_id".into());
        };
        let Some(status) = status else {
            return Err(format!("cluster {id} has no status"));
        };
        // A transition (`starting`) says more than the status it leaves.
        let state = match transition.filter(|t| !t.is_empty()) {
            Some(transition) => {
                let phase = match VOCABULARY.phase(&transition) {
                    Phase::Unknown => Phase::Transition,
                    phase => phase,
                };
                InstanceState::new(id, transition, phase)
            }
            None => {
                let phase = VOCABULARY.phase(&status);
                InstanceState::new(id, status, phase)
            }
        };
        Ok(state)
    }
}

#[cfg(test)]
mod tests;
