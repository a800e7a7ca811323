//! The simulator's QingCloud EHPC dialect: HmacSHA256 query-signature verification (the signature
//! double-encoded, the timestamp within 60 s), `startCluster`, `stopCluster`, `cluster/list`, the
//! job log (`/api/operation`), and EHPC's `ret_code` envelope with HTTP 200, as in
//! `../shared/providers/qingcloud.md`.
//!
//! Both calls are asynchronous: each answers a job id, and the clusters show the move as a
//! `transition_status` (`starting` on a `stopped` cluster, `stopping` on an `active` one). A
//! failed start or stop leaves the cluster where it was, without a transition, and its job
//! `failed`.

use chrono::{NaiveDateTime, Utc};
use serde_json::{json, Value};

use super::{Dialect, Fleet, MachinePhase, Profile, SignatureCheck, SimReply, SimRequest};
use crate::provider::qingcloud::{
    qingcloud_sign, QingcloudRequest, LIST_ACTION, LIST_PATH, MAX_CLUSTERS, OPERATION_ACTION,
    OPERATION_PATH, SIGNATURE_METHOD, SIGNATURE_VERSION, START_ACTION, START_PATH, STOP_ACTION,
    STOP_PATH, TIMESTAMP_FORMAT,
};
use crate::provider::qingcloud::{QINGCLOUD_ACCESS_KEY, QINGCLOUD_SECRET_KEY};
use crate::provider::{Action, ErrorClass, Phase, Provider, QingcloudEhpc};
use crate::sign::{constant_time_eq, form_pairs};

/// The only access key id the simulator knows.
const SIM_ACCESS_KEY_ID: &str = "QYcloudstartSIMULATOR0001";
/// Its secret access key.
const SIM_SECRET_KEY: &str = "cloudstartSIMULATOR-qingcloud-secret-key";

static PROFILE: Profile = Profile {
    provider: "qingcloud",
    credentials: &[
        (QINGCLOUD_ACCESS_KEY, SIM_ACCESS_KEY_ID),
        (QINGCLOUD_SECRET_KEY, SIM_SECRET_KEY),
    ],
    region: None,
    zone: Some("jinan1a"),
    machine_zone: "jinan1a",
    example_id: |n| format!("hpc-{n:08}"),
};

/// The documented window for `timestamp`, either way.
const MAX_SKEW_SECONDS: i64 = 60;
/// `cluster/list`'s page size when `limit` is not given.
const DEFAULT_LIMIT: usize = 10;

pub(crate) struct QingcloudDialect;

/// A request that ends in EHPC's error envelope.
struct Refusal {
    code: u16,
    message: String,
}

fn refuse(code: u16, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

impl Dialect for QingcloudDialect {
    fn profile(&self) -> &'static Profile {
        &PROFILE
    }

    fn action(&self, request: &SimRequest) -> String {
        match request.path.as_str() {
            START_PATH => START_ACTION,
            STOP_PATH => STOP_ACTION,
            LIST_PATH => LIST_ACTION,
            OPERATION_PATH => OPERATION_ACTION,
            other => other,
        }
        .to_string()
    }

    fn handle(&self, request: &SimRequest, fleet: &mut Fleet) -> SimReply {
        let mut reply = SimReply::new(self.action(request));
        let now = fleet.now();
        let result = verify(request, now, &mut reply.signature).and_then(|query| {
            match (request.method.as_str(), request.path.as_str()) {
                ("POST", START_PATH) => start(&request.body, fleet, &mut reply.ids),
                ("POST", STOP_PATH) => stop(&request.body, fleet, &mut reply.ids),
                ("GET", LIST_PATH) => list(&query, fleet, &mut reply.ids),
                ("GET", OPERATION_PATH) => operation(&query, fleet),
                (method, path) => Err(refuse(
                    1101,
                    format!("InvalidAction, no API `{method} {path}`"),
                )),
            }
        });
        answer(&mut reply, result);
        reply
    }

    fn throttled(&self, action: &str, _fleet: &mut Fleet) -> SimReply {
        let mut reply = SimReply::new(action);
        // EHPC documents no throttling answer of its own: beyond the API quota it answers 2500,
        // counted per day and restored at midnight (error_code.md).
        let quota = "QuotaExceeded, the API quota is exceeded; it is restored at midnight";
        answer(&mut reply, Err(refuse(2500, quota)));
        reply
    }
}

/// EHPC's envelope: HTTP 200 with `ret_code` 0 and the result, or the error's `ret_code`.
fn answer(reply: &mut SimReply, result: Result<Value, Refusal>) {
    reply.body = match result {
        Ok(body) => body,
        Err(refusal) => {
            reply.error_code = Some(refusal.code.to_string());
            json!({ "ret_code": refusal.code, "message": refusal.message })
        }
    };
}

/// Checks the common parameters and the signature; returns the decoded query without it.
fn verify(
    request: &SimRequest,
    now: chrono::DateTime<Utc>,
    check: &mut SignatureCheck,
) -> Result<Vec<(String, String)>, Refusal> {
    // The server decodes the query once, so the signature it sees is still `quote_plus`ed.
    let mut query = form_pairs(&request.query);
    let param = |query: &[(String, String)], name: &str| {
        query
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                refuse(
                    1100,
                    format!("MissingParameter, the parameter [{name}] is required"),
                )
            })
    };
    let signature = param(&query, "signature")?;
    query.retain(|(name, _)| name != "signature");
    let access_key_id = param(&query, "access_key_id")?;
    let timestamp = param(&query, "timestamp")?;
    for (name, expected) in [
        ("signature_method", SIGNATURE_METHOD),
        ("signature_version", SIGNATURE_VERSION),
        ("version", SIGNATURE_VERSION),
    ] {
        let value = param(&query, name)?;
        if value != expected {
            return Err(refuse(
                1100,
                format!("InvalidParameter, [{name}] must be [{expected}], not [{value}]"),
            ));
        }
    }
    let timestamp = NaiveDateTime::parse_from_str(&timestamp, TIMESTAMP_FORMAT).map_err(|_| {
        refuse(
            1100,
            format!(
                "InvalidParameter, [timestamp] is not like 2025-03-14T23:59:30Z: [{timestamp}]"
            ),
        )
    })?;
    *check = SignatureCheck::Failed;
    if access_key_id != SIM_ACCESS_KEY_ID {
        return Err(refuse(
            1200,
            "AuthFailure, the access key id is unknown; use the simulator's test credentials",
        ));
    }
    let skew = now.timestamp() - timestamp.and_utc().timestamp();
    if skew.abs() > MAX_SKEW_SECONDS {
        return Err(refuse(
            1300,
            format!("MessageExpired, the timestamp is {skew} s from server time, over 60 s"),
        ));
    }
    let expected = qingcloud_sign(
        &QingcloudRequest {
            method: &request.method,
            path: &request.path,
            query: &query,
            body: &request.body,
        },
        SIM_SECRET_KEY,
    );
    if !constant_time_eq(&expected.form_value, &signature) {
        return Err(refuse(
            1200,
            "AuthFailure, the signature does not match; check the secret key and the signing steps",
        ));
    }
    *check = SignatureCheck::Ok;
    Ok(query)
}

/// `startCluster`.
fn start(body: &[u8], fleet: &mut Fleet, logged: &mut Vec<String>) -> Result<Value, Refusal> {
    act(Action::Start, body, fleet, logged)
}

/// `stopCluster`: the same body as `startCluster` (`cluster_ids`, `zone`), no other option
/// (`stopcluster.md`), and only active clusters can be shut down.
fn stop(body: &[u8], fleet: &mut Fleet, logged: &mut Vec<String>) -> Result<Value, Refusal> {
    act(Action::Stop, body, fleet, logged)
}

/// `startCluster` or `stopCluster`: the whole batch is acted on, or none of it is. One cluster
/// that is missing, seeded to refuse, or in a state the action cannot leave refuses the batch.
fn act(
    action: Action,
    body: &[u8],
    fleet: &mut Fleet,
    logged: &mut Vec<String>,
) -> Result<Value, Refusal> {
    let ids = cluster_ids(body, logged)?;
    if let Some(missing) = ids.iter().find(|id| fleet.get(id).is_none()) {
        return Err(refuse(
            code(action, ErrorClass::NotFound),
            format!("ResourceNotFound, resource [{missing}] not found"),
        ));
    }
    let (verb, seeded) = match action {
        Action::Start => ("started", fleet.start_error(&ids)),
        Action::Stop => ("stopped", fleet.stop_error(&ids)),
    };
    if let Some((id, code)) = seeded {
        let field = format!("{}_error", action.name());
        return Err(match code.parse() {
            Ok(code) => refuse(code, format!("cluster [{id}] can not be {verb} ({field})")),
            Err(_) => refuse(
                1100,
                format!("{field} `{code}` of [{id}] is not a ret_code"),
            ),
        });
    }
    for id in &ids {
        let phase = fleet
            .get(id)
            .map(|m| m.phase.clone())
            .unwrap_or(MachinePhase::Stopped);
        if accepts(action, &phase) {
            continue;
        }
        let state = match status(&phase) {
            (_, transition) if !transition.is_empty() => transition,
            (status, _) => status,
        };
        let message = match action {
            Action::Start => {
                format!("PermissionDenied, cluster [{id}] is [{state}], can not be started")
            }
            // The error-code page's own example: "PermissionDenied, instance [i-2aypaijz] is not
            // running， can not be stopped".
            Action::Stop => format!(
                "PermissionDenied, cluster [{id}] is not active ([{state}]), can not be stopped"
            ),
        };
        return Err(refuse(code(action, ErrorClass::WrongState), message));
    }
    let request_id = fleet.request_id();
    // Jobs look like `j-` and lowercase alphanumerics; the request counter keeps them unique.
    let job = format!("j-{}", &request_id[request_id.len() - 8..]);
    let name = match action {
        Action::Start => START_ACTION,
        Action::Stop => STOP_ACTION,
    };
    for id in &ids {
        match action {
            Action::Start => fleet.start(id, &job),
            // stopCluster has no force option.
            Action::Stop => fleet.stop(id, &job, false),
        }
    }
    Ok(json!({ "action": format!("{name}Response"), "job_ids": job, "ret_code": 0 }))
}

/// Whether `action` may be accepted for a cluster in `phase`: a start for a stopped cluster
/// (startCluster starts a paused, i.e. suspended, one too), a stop for an active one.
fn accepts(action: Action, phase: &MachinePhase) -> bool {
    match (action, phase) {
        (Action::Start, MachinePhase::Other(state)) => {
            PROFILE.vocabulary().phase(state) == Phase::Stopped
        }
        (Action::Start, phase) => phase.startable(),
        (Action::Stop, phase) => phase.stoppable(),
    }
}

/// The `cluster_ids` of a start or stop body (logged as soon as they are read), checked with its
/// `zone` the way EHPC checks them.
fn cluster_ids(body: &[u8], logged: &mut Vec<String>) -> Result<Vec<String>, Refusal> {
    let params: Value = serde_json::from_slice(body).map_err(|err| {
        refuse(
            1100,
            format!("InvalidParameter, the body is not JSON: {err}"),
        )
    })?;
    let ids: Option<Vec<String>> = params["cluster_ids"].as_array().and_then(|ids| {
        ids.iter()
            .map(|id| id.as_str().map(str::to_string))
            .collect()
    });
    let Some(ids) = ids.filter(|ids| !ids.is_empty()) else {
        return Err(refuse(
            1100,
            "MissingParameter, [cluster_ids] must be a non-empty list of ids",
        ));
    };
    *logged = ids.clone();
    if params["zone"].as_str().is_none_or(str::is_empty) {
        return Err(refuse(
            1100,
            "MissingParameter, the parameter [zone] is required",
        ));
    }
    if ids.len() > MAX_CLUSTERS {
        return Err(refuse(
            1100,
            format!(
                "InvalidParameter, at most {MAX_CLUSTERS} cluster ids, got {}",
                ids.len()
            ),
        ));
    }
    if let Some(bad) = ids.iter().find(|id| QingcloudEhpc.validate_id(id).is_err()) {
        return Err(refuse(
            1100,
            format!("InvalidParameter, [{bad}] is not a cluster id"),
        ));
    }
    Ok(ids)
}

/// The `ret_code` EHPC answers `action` with for an error of `class`, from the provider's
/// vocabulary (5000, an internal error, should the vocabulary ever lose the class).
fn code(action: Action, class: ErrorClass) -> u16 {
    (PROFILE.vocabulary().code_in(action, class))
        .and_then(|code| code.parse().ok())
        .unwrap_or(5000)
}

/// The non-empty value of query parameter `name` (QingCloud drops empty ones).
fn query_param<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(n, v)| n == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

/// `cluster/list`, by one exact `cluster_id` (the simulator lists nothing else).
fn list(
    query: &[(String, String)],
    fleet: &mut Fleet,
    logged: &mut Vec<String>,
) -> Result<Value, Refusal> {
    let param = |name: &str| query_param(query, name);
    if param("zone").is_none() {
        return Err(refuse(
            1100,
            "MissingParameter, the parameter [zone] is required",
        ));
    }
    let limit = match param("limit") {
        None => DEFAULT_LIMIT,
        Some(limit) => limit
            .parse()
            .ok()
            .filter(|l| (1..=MAX_CLUSTERS).contains(l))
            .ok_or_else(|| {
                refuse(
                    1100,
                    format!("InvalidParameter, [limit] must be 1 to {MAX_CLUSTERS}"),
                )
            })?,
    };
    let Some(id) = param("cluster_id") else {
        // An unfiltered list (`config check --online`'s read): the simulator keeps no list of
        // clusters nobody named, so its first page is empty — still signed and checked.
        return Ok(json!({
            "action": "HpcClusterListClusterResponse",
            "ret_code": 0,
            "total_count": 0,
            "cluster_set": [],
        }));
    };
    *logged = vec![id.to_string()];
    let set: Vec<Value> = fleet
        .get(id)
        .map(|machine| {
            let (status, transition) = status(&machine.phase);
            json!({ "cluster_id": id, "status": status, "transition_status": transition })
        })
        .into_iter()
        .take(limit)
        .collect();
    Ok(json!({
        "action": "HpcClusterListClusterResponse",
        "ret_code": 0,
        "total_count": set.len(),
        "cluster_set": set,
    }))
}

/// EHPC's `status` and `transition_status` for a phase. A cluster keeps the status it is leaving
/// while it moves (`stopped` + `starting`, `active` + `stopping`: the platform's pair,
/// qingcloud-sdk-go `service/types.go`), and a failed start or stop leaves it where it was
/// without a transition (its job says `failed`).
fn status(phase: &MachinePhase) -> (&str, &str) {
    let (stopped, active) = (PROFILE.stopped_state(), PROFILE.running_state());
    match phase {
        MachinePhase::Starting { .. } => (stopped, PROFILE.starting_state()),
        MachinePhase::Stopping { .. } => (active, PROFILE.stopping_state()),
        MachinePhase::StartFailed => (stopped, ""),
        MachinePhase::StopFailed => (active, ""),
        phase => (PROFILE.state_name(phase).unwrap_or(stopped), ""),
    }
}

/// `GET /api/operation` for one job (`jobs` or `job_ids`): a start or stop job is `working`
/// while any of its clusters moves, `failed` if one failed, `successful` once all arrived.
fn operation(query: &[(String, String)], fleet: &mut Fleet) -> Result<Value, Refusal> {
    let param = |name: &str| query_param(query, name);
    if param("zone").is_none() {
        return Err(refuse(
            1100,
            "MissingParameter, the parameter [zone] is required",
        ));
    }
    let job_set: Vec<Value> = match param("jobs").or(param("job_ids")) {
        Some(job) => {
            let phases = fleet.operated_by(job);
            let status = if phases.is_empty() {
                None
            } else if (phases.iter())
                .any(|p| matches!(p, MachinePhase::StartFailed | MachinePhase::StopFailed))
            {
                Some("failed")
            } else if (phases.iter())
                .all(|p| matches!(p, MachinePhase::Running | MachinePhase::Stopped))
            {
                Some("successful")
            } else {
                Some("working")
            };
            // A start never leaves a cluster stopping or stopped, a stop never starting or
            // running: the phases tell which call the job was.
            let stopped_by_job = (phases.iter()).any(|p| {
                matches!(
                    p,
                    MachinePhase::Stopping { .. }
                        | MachinePhase::Stopped
                        | MachinePhase::StopFailed
                )
            });
            let job_action = if stopped_by_job {
                STOP_ACTION
            } else {
                START_ACTION
            };
            status
                .map(|status| {
                    json!({
                        "job_id": job,
                        "job_action": job_action,
                        "status": status,
                        "error_codes": "",
                    })
                })
                .into_iter()
                .collect()
        }
        None => Vec::new(),
    };
    Ok(json!({
        "action": "HpcOperationListOperationResponse",
        "ret_code": 0,
        "total_count": job_set.len(),
        "job_set": job_set,
    }))
}

#[cfg(test)]
mod tests;
