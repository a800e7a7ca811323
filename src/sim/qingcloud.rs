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
mod tests {
    use chrono::{DateTime, Duration as Skew, Utc};

    use super::*;
    use crate::credentials::{Credentials, Secret};
    use crate::provider::{ApiCall, Location};
    use crate::sim::{Boot, SeedMachine};

    /// Long enough that a test never sees a stop finish by itself.
    const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

    fn location() -> Location {
        Location {
            region: None,
            zone: PROFILE.zone.map(str::to_string),
        }
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(PROFILE.example_id).collect()
    }

    /// `call` signed by `key_id`/`secret` at `now`, as the simulator receives it.
    fn signed_by(call: &ApiCall, now: DateTime<Utc>, key_id: &str, secret: &str) -> SimRequest {
        let credentials = Credentials {
            key_id: key_id.into(),
            secret: Secret::new(secret),
            token: None,
        };
        let signed = QingcloudEhpc.sign(call, "127.0.0.1:9", &location(), &credentials, now);
        let (path, query) = signed.path_and_query.split_once('?').unwrap();
        SimRequest {
            method: call.method.as_str().into(),
            path: path.into(),
            query: query.into(),
            headers: signed
                .headers
                .iter()
                .map(|h| (h.name.to_ascii_lowercase(), h.value.clone()))
                .collect(),
            body: signed.body,
        }
    }

    fn signed(call: &ApiCall) -> SimRequest {
        signed_by(call, Utc::now(), SIM_ACCESS_KEY_ID, SIM_SECRET_KEY)
    }

    fn start_call(ids: &[String]) -> ApiCall {
        QingcloudEhpc.action_call(Action::Start, ids, &location(), &Default::default())
    }

    fn stop_call(ids: &[String]) -> ApiCall {
        QingcloudEhpc.action_call(Action::Stop, ids, &location(), &Default::default())
    }

    fn fleet(seed: &[(&str, &str)]) -> Fleet {
        let seed: Vec<(&str, SeedMachine)> = (seed.iter())
            .map(|(id, state)| (*id, in_state(state)))
            .collect();
        fleet_with(std::time::Duration::ZERO, &seed)
    }

    /// A fleet whose starts and stops take `delay`, with machines seeded in full.
    fn fleet_with(delay: std::time::Duration, seed: &[(&str, SeedMachine)]) -> Fleet {
        let mut fleet = Fleet::new(delay, delay);
        for (id, machine) in seed {
            fleet.seed(&QingcloudDialect, id, machine).unwrap();
        }
        fleet
    }

    fn in_state(state: &str) -> SeedMachine {
        SeedMachine {
            state: Some(state.to_string()),
            ..Default::default()
        }
    }

    /// The list's `status` and `transition_status` of cluster `id`.
    fn listed(fleet: &mut Fleet, id: &str) -> (Value, Value) {
        let call = QingcloudEhpc.describe_call(&[id.to_string()], &location());
        let body = QingcloudDialect.handle(&signed(&call), fleet).body;
        let cluster = &body["cluster_set"][0];
        (
            cluster["status"].clone(),
            cluster["transition_status"].clone(),
        )
    }

    /// The job log's entry for `job`.
    fn job(fleet: &mut Fleet, job: &str) -> Value {
        let call = QingcloudEhpc.job_call(job, &location()).unwrap();
        let body = QingcloudDialect.handle(&signed(&call), fleet).body;
        assert_eq!(body["ret_code"], 0, "{body}");
        body["job_set"][0].clone()
    }

    fn status_of(fleet: &mut Fleet, id: &str) -> Value {
        let call = QingcloudEhpc.describe_call(&[id.to_string()], &location());
        QingcloudDialect.handle(&signed(&call), fleet).body["cluster_set"][0]["status"].clone()
    }

    #[test]
    fn a_signed_start_is_accepted_with_a_job_and_the_cluster_becomes_active() {
        let mut fleet = fleet(&[]);
        let reply = QingcloudDialect.handle(&signed(&start_call(&ids(2))), &mut fleet);
        assert_eq!(reply.signature, SignatureCheck::Ok);
        assert_eq!((reply.status, reply.action.as_str()), (200, START_ACTION));
        assert_eq!(reply.body["ret_code"], 0, "{}", reply.body);
        assert!(reply.body["job_ids"].as_str().unwrap().starts_with("j-"));
        assert_eq!(reply.ids, ids(2));
        assert_eq!(status_of(&mut fleet, &ids(1)[0]), "active");
    }

    #[test]
    fn bad_signatures_are_refused_with_http_200_and_the_right_ret_code() {
        let call = start_call(&ids(1));
        let now = Utc::now();
        let single_encoded = {
            // The SDK encodes the signature twice; sending it once-encoded must fail.
            let mut request = signed(&call);
            request.query = request.query.replace("%25", "%");
            request
        };
        let tampered = {
            let mut request = signed(&call);
            request.body = start_call(&ids(2)).body;
            request
        };
        let missing = {
            let mut request = signed(&call);
            request.query = request.query.split("&signature=").next().unwrap().into();
            request
        };
        let cases = [
            (single_encoded, 1200, SignatureCheck::Failed),
            (tampered, 1200, SignatureCheck::Failed),
            (
                signed_by(&call, now, SIM_ACCESS_KEY_ID, "wrong"),
                1200,
                SignatureCheck::Failed,
            ),
            (
                signed_by(&call, now, "QYUNKNOWN", SIM_SECRET_KEY),
                1200,
                SignatureCheck::Failed,
            ),
            (
                signed_by(
                    &call,
                    now - Skew::seconds(90),
                    SIM_ACCESS_KEY_ID,
                    SIM_SECRET_KEY,
                ),
                1300,
                SignatureCheck::Failed,
            ),
            (
                signed_by(
                    &call,
                    now + Skew::seconds(90),
                    SIM_ACCESS_KEY_ID,
                    SIM_SECRET_KEY,
                ),
                1300,
                SignatureCheck::Failed,
            ),
            (missing, 1100, SignatureCheck::Missing),
        ];
        for (i, (request, code, check)) in cases.into_iter().enumerate() {
            let mut fleet = fleet(&[]);
            let reply = QingcloudDialect.handle(&request, &mut fleet);
            assert_eq!(reply.status, 200, "case {i}");
            assert_eq!(reply.body["ret_code"], code, "case {i}: {}", reply.body);
            assert!(reply.body["message"].is_string(), "case {i}");
            assert_eq!(reply.signature, check, "case {i}");
            assert_eq!(status_of(&mut fleet, &ids(1)[0]), "stopped", "case {i}");
        }
    }

    #[test]
    fn one_cluster_that_cannot_start_refuses_the_whole_batch() {
        let all = ids(3);
        for (state, code) in [
            ("not_found", 2100),
            ("active", 1400),
            ("pending", 1400),
            ("ceased", 1400),
        ] {
            let mut fleet = fleet(&[(&all[1], state)]);
            let reply = QingcloudDialect.handle(&signed(&start_call(&all)), &mut fleet);
            assert_eq!(reply.body["ret_code"], code, "{state}: {}", reply.body);
            assert_eq!(reply.error_code, Some(code.to_string()));
            assert_eq!(status_of(&mut fleet, &all[0]), "stopped", "{state}");
        }
        let mut fleet = fleet(&[(&all[1], "suspended")]);
        let reply = QingcloudDialect.handle(&signed(&start_call(&all)), &mut fleet);
        assert_eq!(reply.body["ret_code"], 0, "suspended clusters start");
    }

    #[test]
    fn more_than_one_hundred_clusters_are_refused() {
        let reply = QingcloudDialect.handle(&signed(&start_call(&ids(101))), &mut fleet(&[]));
        assert_eq!(reply.body["ret_code"], 1100, "{}", reply.body);
    }

    #[test]
    fn a_missing_cluster_is_listed_as_nothing() {
        let id = &ids(1)[0];
        let mut fleet = fleet(&[(id, "not_found")]);
        let call = QingcloudEhpc.describe_call(std::slice::from_ref(id), &location());
        let reply = QingcloudDialect.handle(&signed(&call), &mut fleet);
        assert_eq!(reply.action, LIST_ACTION);
        assert_eq!(reply.body["total_count"], 0, "{}", reply.body);
        assert_eq!(reply.body["cluster_set"], json!([]));
    }

    #[test]
    fn a_signed_stop_is_accepted_with_a_job_and_the_cluster_shows_stopping_while_active() {
        let id = &ids(1)[0];
        let mut fleet = fleet_with(HOUR, &[(id, in_state("active"))]);
        let reply = QingcloudDialect.handle(&signed(&stop_call(&ids(1))), &mut fleet);
        assert_eq!(reply.signature, SignatureCheck::Ok);
        assert_eq!((reply.status, reply.action.as_str()), (200, STOP_ACTION));
        assert_eq!(reply.body["ret_code"], 0, "{}", reply.body);
        assert_eq!(reply.body["action"], "HpcClusterStopClusterResponse");
        let job_id = reply.body["job_ids"].as_str().unwrap().to_string();
        assert!(job_id.starts_with("j-"));
        assert_eq!(reply.ids, ids(1));
        assert_eq!(listed(&mut fleet, id), (json!("active"), json!("stopping")));
        let entry = job(&mut fleet, &job_id);
        assert_eq!(
            (&entry["status"], &entry["job_action"]),
            (&json!("working"), &json!(STOP_ACTION))
        );
    }

    #[test]
    fn a_finished_stop_lists_the_cluster_stopped_and_its_job_successful() {
        let id = &ids(1)[0];
        let mut fleet = fleet(&[(id, "active")]);
        let reply = QingcloudDialect.handle(&signed(&stop_call(&ids(1))), &mut fleet);
        let job_id = reply.body["job_ids"].as_str().unwrap().to_string();
        assert_eq!(listed(&mut fleet, id), (json!("stopped"), json!("")));
        assert_eq!(job(&mut fleet, &job_id)["status"], "successful");
        // And it starts again, with a start job.
        let reply = QingcloudDialect.handle(&signed(&start_call(&ids(1))), &mut fleet);
        let job_id = reply.body["job_ids"].as_str().unwrap().to_string();
        assert_eq!(job(&mut fleet, &job_id)["job_action"], START_ACTION);
    }

    #[test]
    fn a_failed_stop_leaves_the_cluster_active_without_a_transition_and_its_job_failed() {
        let id = &ids(1)[0];
        let seed = SeedMachine {
            shutdown: Boot::Fail,
            ..in_state("active")
        };
        let mut fleet = fleet_with(std::time::Duration::ZERO, &[(id, seed)]);
        let reply = QingcloudDialect.handle(&signed(&stop_call(&ids(1))), &mut fleet);
        let job_id = reply.body["job_ids"].as_str().unwrap().to_string();
        assert_eq!(listed(&mut fleet, id), (json!("active"), json!("")));
        let entry = job(&mut fleet, &job_id);
        assert_eq!(
            (&entry["status"], &entry["job_action"]),
            (&json!("failed"), &json!(STOP_ACTION))
        );
        // Still active, so it may be stopped again.
        let reply = QingcloudDialect.handle(&signed(&stop_call(&ids(1))), &mut fleet);
        assert_eq!(reply.body["ret_code"], 0, "{}", reply.body);
    }

    #[test]
    fn one_cluster_that_is_not_active_refuses_the_whole_stop() {
        let all = ids(3);
        for (state, code, says) in [
            ("not_found", 2100, "ResourceNotFound"),
            ("stopped", 1400, "[stopped]"),
            ("stopping", 1400, "[stopping]"),
            ("starting", 1400, "[starting]"),
            ("pending", 1400, "[pending]"),
            ("suspended", 1400, "[suspended]"),
            ("ceased", 1400, "[ceased]"),
        ] {
            let seed = [
                (all[0].as_str(), in_state("active")),
                (all[1].as_str(), in_state(state)),
                (all[2].as_str(), in_state("active")),
            ];
            let mut fleet = fleet_with(HOUR, &seed);
            let reply = QingcloudDialect.handle(&signed(&stop_call(&all)), &mut fleet);
            assert_eq!(reply.body["ret_code"], code, "{state}: {}", reply.body);
            assert_eq!(reply.error_code, Some(code.to_string()));
            let message = reply.body["message"].as_str().unwrap();
            assert!(message.contains(says), "{state}: {message}");
            assert_eq!(
                listed(&mut fleet, &all[0]),
                (json!("active"), json!("")),
                "{state}"
            );
        }
    }

    #[test]
    fn the_refusals_are_the_vocabulary_s_codes() {
        assert_eq!(code(Action::Stop, ErrorClass::WrongState), 1400);
        assert_eq!(code(Action::Stop, ErrorClass::NotFound), 2100);
        assert_eq!(code(Action::Start, ErrorClass::WrongState), 1400);
    }

    #[test]
    fn a_seeded_stop_error_refuses_the_stop_with_that_ret_code() {
        let id = &ids(1)[0];
        for (stop_error, code) in [("5100", 5100), ("1400", 1400), ("InstanceBusy", 1100)] {
            let seed = SeedMachine {
                stop_error: Some(stop_error.into()),
                ..in_state("active")
            };
            let mut fleet = fleet_with(HOUR, &[(id, seed)]);
            let reply = QingcloudDialect.handle(&signed(&stop_call(&ids(1))), &mut fleet);
            assert_eq!(reply.body["ret_code"], code, "{}", reply.body);
            assert_eq!(listed(&mut fleet, id), (json!("active"), json!("")));
            // The start is not concerned.
            let reply = QingcloudDialect.handle(&signed(&start_call(&ids(1))), &mut fleet);
            assert_eq!(reply.body["ret_code"], 1400, "{}", reply.body);
        }
    }

    #[test]
    fn a_stop_takes_the_start_s_body_and_its_limits() {
        let reply = QingcloudDialect.handle(&signed(&stop_call(&ids(101))), &mut fleet(&[]));
        assert_eq!(reply.body["ret_code"], 1100, "{}", reply.body);
        let mut call = stop_call(&ids(1));
        call.body = br#"{"cluster_ids": ["hpc-00000000"]}"#.to_vec();
        let reply = QingcloudDialect.handle(&signed(&call), &mut fleet(&[]));
        assert_eq!(reply.body["ret_code"], 1100, "{}", reply.body);
        assert!(reply.body["message"].as_str().unwrap().contains("[zone]"));
    }

    #[test]
    fn a_cluster_whose_start_failed_can_be_started_again() {
        let id = &ids(1)[0];
        let seed = SeedMachine {
            boot: Boot::Fail,
            ..Default::default()
        };
        let mut fleet = fleet_with(std::time::Duration::ZERO, &[(id, seed)]);
        let reply = QingcloudDialect.handle(&signed(&start_call(&ids(1))), &mut fleet);
        let job_id = reply.body["job_ids"].as_str().unwrap().to_string();
        assert_eq!(listed(&mut fleet, id), (json!("stopped"), json!("")));
        assert_eq!(job(&mut fleet, &job_id)["status"], "failed");
        let reply = QingcloudDialect.handle(&signed(&start_call(&ids(1))), &mut fleet);
        assert_eq!(reply.body["ret_code"], 0, "{}", reply.body);
    }
}
