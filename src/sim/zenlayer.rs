//! The simulator's Zenlayer ZEC dialect: ZC2 verification, `StartInstances` and `StopInstances`
//! with their lists of machines that failed to start or shut down, paged
//! `DescribeInstancesStatus` and `DescribeInstances` (the one with addresses), and Zenlayer's
//! error envelope (an HTTP error status with a top-level `{requestId, code, message}`), as in
//! `../shared/providers/zenlayer.md`.

use serde_json::{json, Value};

use super::{Dialect, Fleet, MachinePhase, Profile, SignatureCheck, SimReply, SimRequest};
use crate::provider::zenlayer::{zc2_sign, Zc2Request, ALGORITHM, MAX_IDS, PATH, SERVICE};
use crate::provider::zenlayer::{ZENLAYER_ACCESS_KEY_ID, ZENLAYER_ACCESS_KEY_SECRET};
use crate::provider::{Action, ErrorClass, Provider, ZenlayerZec};
use crate::sign::constant_time_eq;

/// The only access key id the simulator knows.
const SIM_ACCESS_KEY_ID: &str = "ZLcloudstartSIMULATOR0001";
/// Its password.
const SIM_ACCESS_KEY_PASSWORD: &str = "cloudstart-simulator-zenlayer-password";

static PROFILE: Profile = Profile {
    provider: "zenlayer",
    credentials: &[
        (ZENLAYER_ACCESS_KEY_ID, SIM_ACCESS_KEY_ID),
        (ZENLAYER_ACCESS_KEY_SECRET, SIM_ACCESS_KEY_PASSWORD),
    ],
    region: None,
    zone: None,
    machine_zone: "SEL-A",
    example_id: |n| (1_286_431_927_365_582_848 + n as u64).to_string(),
};

/// Accepted clock skew either way. Zenlayer documents no window; this is the common five minutes.
const MAX_SKEW_SECONDS: i64 = 300;
/// Both SDK modules (v20250901 and v20240401) carry the two actions.
const VERSIONS: [&str; 2] = ["2025-09-01", "2024-04-01"];
/// `DescribeInstancesStatus` and `DescribeInstances` paging.
const DEFAULT_PAGE_SIZE: u64 = 20;
const MAX_PAGE_SIZE: u64 = 1000;

pub(crate) struct ZenlayerDialect;

/// A request that ends in Zenlayer's error envelope.
struct Refusal {
    status: u16,
    code: String,
    message: String,
}

fn refuse(status: u16, code: impl Into<String>, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        code: code.into(),
        message: message.into(),
    }
}

impl Dialect for ZenlayerDialect {
    fn profile(&self) -> &'static Profile {
        &PROFILE
    }

    fn action(&self, request: &SimRequest) -> String {
        request.header("x-zc-action").unwrap_or("").to_string()
    }

    fn handle(&self, request: &SimRequest, fleet: &mut Fleet) -> SimReply {
        let request_id = request_id(fleet);
        let action = self.action(request);
        let mut reply = SimReply::new(action.clone());
        let now = fleet.now();
        let result = verify(request, now, &mut reply.signature).and_then(|params| {
            reply.ids = string_list(&params["instanceIds"]).unwrap_or_default();
            match action.as_str() {
                "StartInstances" => start(&params, fleet, &request_id),
                "StopInstances" => stop(&params, fleet, &request_id),
                "DescribeInstancesStatus" => describe(&params, fleet),
                "DescribeInstances" => describe_instances(&params, fleet),
                _ => Err(refuse(
                    400,
                    "INVALID_ACTION",
                    format!("the action `{action}` does not exist in zec"),
                )),
            }
        });
        answer(&mut reply, result, &request_id);
        reply
    }

    fn throttled(&self, action: &str, fleet: &mut Fleet) -> SimReply {
        let mut reply = SimReply::new(action);
        let refusal = refuse(
            429,
            code(ErrorClass::Throttled),
            "the request rate exceeds the limit",
        );
        answer(&mut reply, Err(refusal), &request_id(fleet));
        reply.headers.push(("retry-after".into(), "1".into()));
        reply
    }
}

/// Zenlayer's code for `class` in answers to anything but a stop, from the provider's vocabulary.
fn code(class: ErrorClass) -> &'static str {
    code_in(Action::Start, class)
}

/// Zenlayer's code for `class` in answers to `action`, from the provider's vocabulary.
fn code_in(action: Action, class: ErrorClass) -> &'static str {
    PROFILE
        .vocabulary()
        .code_in(action, class)
        .unwrap_or("INTERNAL_SERVER_ERROR")
}

/// The HTTP status Zenlayer sends a seeded `start_error` or `stop_error` `code` with, from what
/// the code means for `action`: the statuses of the StartInstances and StopInstances error tables
/// (404 not found, 403 for `OPERATION_DENIED_*`), 429 for throttling, 5xx for faults, and 400
/// for the rest.
fn status_of(action: Action, code: &str) -> u16 {
    match PROFILE.vocabulary().class_in(action, code) {
        Some(ErrorClass::NotFound) => 404,
        Some(ErrorClass::WrongState) => 403,
        Some(ErrorClass::Throttled) => 429,
        Some(ErrorClass::Auth | ErrorClass::TokenExpired | ErrorClass::ClockSkew) => 401,
        Some(ErrorClass::PermissionDenied) => 403,
        Some(ErrorClass::Transient) => 500,
        Some(ErrorClass::Unanswered) => 504,
        _ if code.starts_with("OPERATION_DENIED") => 403,
        _ => 400,
    }
}

/// Zenlayer's request ids look like `T` and an upper-case UUID.
fn request_id(fleet: &mut Fleet) -> String {
    format!("T{}", fleet.request_id().to_uppercase())
}

/// ZEC's envelope: `{requestId, response}`, or the refusal's status with `{requestId, code, message}`.
fn answer(reply: &mut SimReply, result: Result<Value, Refusal>, request_id: &str) {
    match result {
        Ok(mut response) => {
            response["requestId"] = json!(request_id);
            reply.body = json!({ "requestId": request_id, "response": response });
        }
        Err(refusal) => {
            reply.status = refusal.status;
            reply.error_code = Some(refusal.code.clone());
            reply.body = json!({
                "requestId": request_id,
                "code": refusal.code,
                "message": refusal.message,
            });
        }
    }
}

/// Checks the request's form and ZC2 signature; returns the JSON parameters.
fn verify(
    request: &SimRequest,
    now: chrono::DateTime<chrono::Utc>,
    signature: &mut SignatureCheck,
) -> Result<Value, Refusal> {
    if request.method != "POST" || request.path != PATH {
        return Err(refuse(
            404,
            "INVALID_REQUEST",
            format!("the simulator takes POST {PATH} only"),
        ));
    }
    let header = |name: &'static str| {
        request.header(name).ok_or_else(|| {
            refuse(
                400,
                "MISSING_PARAMETER",
                format!("the header {name} is missing"),
            )
        })
    };
    header("x-zc-action")?;
    let version = header("x-zc-version")?;
    let method = header("x-zc-signature-method")?;
    let timestamp = header("x-zc-timestamp")?;
    let content_type = header("content-type")?;
    let host = header("host")?;
    let authorization = header("authorization")?;
    *signature = SignatureCheck::Failed;
    if method != ALGORITHM {
        return Err(refuse(
            401,
            "INVALID_SIGNATURE_METHOD",
            format!("x-zc-signature-method must be {ALGORITHM}"),
        ));
    }
    let timestamp: i64 = timestamp.parse().map_err(|_| {
        refuse(
            400,
            "INVALID_PARAMETER",
            "x-zc-timestamp is not a number of seconds",
        )
    })?;
    let key_id = access_key_id(authorization).ok_or_else(|| {
        refuse(
            401,
            "AUTHFAILURE_INVALID_AUTHORIZATION",
            "the Authorization header is malformed",
        )
    })?;
    if key_id != SIM_ACCESS_KEY_ID {
        return Err(refuse(
            401,
            code(ErrorClass::Auth),
            "the access key id does not exist; use the simulator's test credentials",
        ));
    }
    let skew = now.timestamp() - timestamp;
    if skew.abs() > MAX_SKEW_SECONDS {
        return Err(refuse(
            401,
            code(ErrorClass::ClockSkew),
            format!("the signature expired: x-zc-timestamp is {skew} s from server time"),
        ));
    }
    let expected = zc2_sign(
        &Zc2Request {
            method: &request.method,
            content_type,
            host,
            body: &request.body,
            timestamp,
        },
        SIM_ACCESS_KEY_ID,
        SIM_ACCESS_KEY_PASSWORD,
    );
    if !constant_time_eq(&expected.authorization, authorization) {
        return Err(refuse(
            401,
            "AUTHFAILURE_SIGNATURE_FAILURE",
            "the signature does not match; check the access key password and the signing steps",
        ));
    }
    *signature = SignatureCheck::Ok;
    if !VERSIONS.contains(&version) {
        return Err(refuse(
            400,
            "INVALID_VERSION",
            format!("the version `{version}` does not exist for zec"),
        ));
    }
    if request.header("x-zc-service").is_some_and(|s| s != SERVICE) {
        return Err(refuse(400, "INVALID_PARAMETER", "x-zc-service must be zec"));
    }
    // The docs' own example sends `application/json; charset=utf-8`.
    if content_type.split(';').next().map(str::trim) != Some("application/json") {
        return Err(refuse(
            400,
            "INVALID_PARAMETER",
            format!("unsupported Content-Type `{content_type}`"),
        ));
    }
    let params: Value = serde_json::from_slice(&request.body).map_err(|err| {
        refuse(
            400,
            "INVALID_PARAMETER",
            format!("the body is not JSON: {err}"),
        )
    })?;
    if !params.is_object() {
        return Err(refuse(
            400,
            "INVALID_PARAMETER",
            "the body is not a JSON object",
        ));
    }
    Ok(params)
}

/// The id in `ZC2-HMAC-SHA256 Credential=<id>, SignedHeaders=content-type;host, Signature=<hex>`.
fn access_key_id(authorization: &str) -> Option<&str> {
    let rest = authorization.strip_prefix(ALGORITHM)?.strip_prefix(' ')?;
    let mut parts = rest.split(", ");
    let key_id = parts.next()?.strip_prefix("Credential=")?;
    let signed = parts.next()?.strip_prefix("SignedHeaders=")?;
    parts.next()?.strip_prefix("Signature=")?;
    (signed == "content-type;host" && parts.next().is_none()).then_some(key_id)
}

fn string_list(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// `instanceIds`, checked the way ZEC checks it.
fn instance_ids(params: &Value) -> Result<Vec<String>, Refusal> {
    let Some(ids) = params.get("instanceIds") else {
        return Err(refuse(400, "MISSING_PARAMETER", "instanceIds is missing"));
    };
    let ids = string_list(ids).ok_or_else(|| {
        refuse(
            400,
            "INVALID_PARAMETER",
            "instanceIds must be an array of strings",
        )
    })?;
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(refuse(
            400,
            "INVALID_PARAMETER",
            format!("instanceIds takes 1 to {MAX_IDS} ids, got {}", ids.len()),
        ));
    }
    Ok(ids)
}

fn start(params: &Value, fleet: &mut Fleet, request_id: &str) -> Result<Value, Refusal> {
    let ids = instance_ids(params)?;
    let phases = phases_of(Action::Start, &ids, fleet)?;
    // Whole-call refusals for what is not a start in progress or done. That running and starting
    // machines go to the failed list while these stop the call is the simulator's choice: the docs
    // name both answers but not which state gets which.
    if phases.iter().any(|p| matches!(p, MachinePhase::Other(_))) {
        return Err(refuse(
            403,
            code(ErrorClass::WrongState),
            "operations on instances that are not in powered-off state are not supported",
        ));
    }
    let mut failed = Vec::new();
    for (id, phase) in ids.iter().zip(phases) {
        match phase {
            MachinePhase::Stopped | MachinePhase::StartFailed => fleet.start(id, request_id),
            _ => failed.push(id.clone()),
        }
    }
    Ok(json!({ "instanceIds": failed }))
}

/// The phases of `ids` for a start or stop, after the whole-call refusals both share: a machine
/// that does not exist, one seeded to refuse `action`, one in the recycle bin.
fn phases_of(
    action: Action,
    ids: &[String],
    fleet: &mut Fleet,
) -> Result<Vec<MachinePhase>, Refusal> {
    missing(ids, fleet)?;
    let (seeded, verb) = match action {
        Action::Start => (fleet.start_error(ids), "started"),
        Action::Stop => (fleet.stop_error(ids), "shut down"),
    };
    if let Some((id, code)) = seeded {
        return Err(refuse(
            status_of(action, &code),
            code,
            format!("the instance {id} cannot be {verb}"),
        ));
    }
    let phases: Vec<MachinePhase> = (ids.iter())
        .filter_map(|id| fleet.get(id).map(|m| m.phase.clone()))
        .collect();
    if phases.iter().any(in_recycle_bin) {
        return Err(refuse(
            403,
            code_in(action, ErrorClass::Refused),
            "operations on instances in the recycle bin are not supported",
        ));
    }
    Ok(phases)
}

/// Refuses the whole call when one of `ids` does not exist; ids are opaque to ZEC, so one that
/// cannot exist is simply not found.
fn missing(ids: &[String], fleet: &mut Fleet) -> Result<(), Refusal> {
    let missing: Vec<&String> = (ids.iter())
        .filter(|id| ZenlayerZec.validate_id(id).is_err() || fleet.get(id).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(refuse(
        404,
        code(ErrorClass::NotFound),
        format!("the instances {missing:?} do not exist"),
    ))
}

/// StopInstances (docs.console.zenlayer.com api-reference/zec/instance/stopinstances;
/// zenlayercloud-cli `apis/{en-US,zh-CN}/zec/stop-instances.yaml`). `forceShutdown` is an optional
/// boolean whose absence means a forced shutdown. RUNNING machines are stopped, and STOPPING ones
/// too (the zh-CN page: "RUNNING or STOPPING; a normal shutdown can fail in some cases, set
/// forceShutdown = true to force it"). A call none of whose machines can be stopped is refused
/// with 403 OPERATION_DENIED_INSTANCE_NOT_RUNNING ("not in powered-on state"); in a batch stopped
/// in part, the rest are listed in `instanceIds`, "the instances that failed to shut down". The
/// docs name both answers but not which a mixed batch gets: that split is the simulator's choice.
fn stop(params: &Value, fleet: &mut Fleet, request_id: &str) -> Result<Value, Refusal> {
    let ids = instance_ids(params)?;
    let force = match params.get("forceShutdown") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(force)) => *force,
        Some(other) => {
            return Err(refuse(
                400,
                "INVALID_PARAMETER",
                format!("forceShutdown must be a boolean, not {other}"),
            ))
        }
    };
    let phases = phases_of(Action::Stop, &ids, fleet)?;
    let takes =
        |phase: &MachinePhase| phase.stoppable() || matches!(phase, MachinePhase::Stopping { .. });
    if !phases.iter().any(takes) {
        return Err(refuse(
            403,
            code_in(Action::Stop, ErrorClass::WrongState),
            "operations on instances that are not in powered-on state are not supported",
        ));
    }
    let mut failed = Vec::new();
    for (id, phase) in ids.iter().zip(phases) {
        match phase {
            _ if !takes(&phase) => failed.push(id.clone()),
            // A gentle stop of a machine already shutting down changes nothing.
            MachinePhase::Stopping { .. } if !force => {}
            _ => fleet.stop(id, request_id, force),
        }
    }
    Ok(json!({ "instanceIds": failed }))
}

fn in_recycle_bin(phase: &MachinePhase) -> bool {
    let bin = ["RECYCLE", "RECYCLING"];
    matches!(phase, MachinePhase::Other(state) if bin.contains(&state.as_str()))
}

fn describe(params: &Value, fleet: &mut Fleet) -> Result<Value, Refusal> {
    page(params, fleet, |id, machine| {
        // ZEC documents no failure state for either: a failed boot is back to STOPPED, a failed
        // shutdown back to RUNNING. Each is seen BOOTING or STOPPING once more first: with a
        // short delay the client's first poll would otherwise miss the transition that tells a
        // failed start or stop from one that has not begun.
        let status = match (PROFILE.state_name(&machine.phase), &machine.phase) {
            (Some(status), _) => status.to_string(),
            (None, MachinePhase::StopFailed) => {
                machine.phase = MachinePhase::Running;
                PROFILE.stopping_state().to_string()
            }
            (None, _) => {
                machine.phase = MachinePhase::Stopped;
                PROFILE.starting_state().to_string()
            }
        };
        json!({ "instanceId": id, "instanceStatus": status })
    })
}

/// `DescribeInstances`: the machines' details, of which the simulator keeps the state (`status`),
/// the zone and the addresses (zenlayercloud-cli `apis/en-US/zec/describe-instances.yaml`).
fn describe_instances(params: &Value, fleet: &mut Fleet) -> Result<Value, Refusal> {
    page(params, fleet, |id, machine| {
        let status = match (PROFILE.state_name(&machine.phase), &machine.phase) {
            (Some(status), _) => status,
            (None, MachinePhase::StopFailed) => PROFILE.running_state(),
            (None, _) => PROFILE.stopped_state(),
        };
        let addresses = machine.addresses();
        json!({
            "instanceId": id,
            "instanceName": format!("sim-{id}"),
            "zoneId": PROFILE.machine_zone,
            "status": status,
            "publicIpAddresses": addresses.public,
            "privateIpAddresses": addresses.private,
        })
    })
}

/// One page of `entry` for each of the machines `params` asks for that exist, as
/// `{totalCount, dataSet}`.
fn page(
    params: &Value,
    fleet: &mut Fleet,
    entry: impl Fn(&str, &mut super::Machine) -> Value,
) -> Result<Value, Refusal> {
    // Without `instanceIds` ZEC lists the account's machines (`config check --online`'s read):
    // the simulator keeps no list of machines nobody named, so that page is empty.
    let ids = match params.get("instanceIds") {
        None => Vec::new(),
        Some(_) => instance_ids(params)?,
    };
    let number = |name: &str, default: u64, max: u64| match params.get(name) {
        None => Ok(default),
        Some(value) => value
            .as_u64()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                refuse(
                    400,
                    "INVALID_PARAMETER",
                    format!("{name} must be 1 to {max}"),
                )
            }),
    };
    let page_size = number("pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let page_num = number("pageNum", 1, u64::MAX)?;
    let mut set = Vec::new();
    // An id that cannot exist is not listed, like one that does not.
    for id in ids.iter().filter(|id| ZenlayerZec.validate_id(id).is_ok()) {
        if let Some(machine) = fleet.get(id) {
            set.push(entry(id, machine));
        }
    }
    let total = set.len();
    let skip = (page_num - 1).saturating_mul(page_size);
    let page: Vec<Value> = (set.into_iter())
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(page_size as usize)
        .collect();
    Ok(json!({ "totalCount": total, "dataSet": page }))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Utc;

    use super::*;
    use crate::credentials::{Credentials, Secret};
    use crate::provider::Action;
    use crate::provider::{ActionOptions, ApiCall, Location};
    use crate::sim::{Boot, SeedMachine};

    const HOST: &str = "127.0.0.1:9";

    fn ids(n: std::ops::Range<usize>) -> Vec<String> {
        n.map(PROFILE.example_id).collect()
    }

    /// `call` signed with `key_id`/`password` `age` seconds ago, as the simulator receives it.
    fn received(call: &ApiCall, key_id: &str, password: &str, age: i64) -> SimRequest {
        let credentials = Credentials {
            key_id: key_id.into(),
            secret: Secret::new(password),
            token: None,
        };
        let now = Utc::now() - chrono::Duration::seconds(age);
        let signed = ZenlayerZec.sign(call, HOST, &Location::default(), &credentials, now);
        SimRequest {
            method: signed.method.as_str().into(),
            path: signed.path_and_query,
            query: String::new(),
            headers: (signed.headers.iter())
                .map(|h| (h.name.to_ascii_lowercase(), h.value.clone()))
                .collect(),
            body: signed.body,
        }
    }

    /// `body` as the provider reads it.
    fn reply(status: u16, body: &Value) -> crate::provider::HttpResponse {
        crate::provider::HttpResponse::new(status, body.to_string())
    }

    fn send(fleet: &mut Fleet, request: &SimRequest) -> (u16, Value) {
        let reply = ZenlayerDialect.handle(request, fleet);
        (reply.status, reply.body)
    }

    fn good(call: &ApiCall) -> SimRequest {
        received(call, SIM_ACCESS_KEY_ID, SIM_ACCESS_KEY_PASSWORD, 0)
    }

    fn start_call(ids: &[String]) -> ApiCall {
        ZenlayerZec.action_call(
            Action::Start,
            ids,
            &Location::default(),
            &ActionOptions::default(),
        )
    }

    fn stop_call(ids: &[String], force: bool) -> ApiCall {
        let options = ActionOptions {
            force,
            ..ActionOptions::default()
        };
        ZenlayerZec.action_call(Action::Stop, ids, &Location::default(), &options)
    }

    fn stop_one(id: &str, force: bool) -> ApiCall {
        stop_call(&[id.to_string()], force)
    }

    /// A StopInstances call whose body is `body` as it is.
    fn stop_body(body: &str) -> ApiCall {
        ApiCall {
            body: body.as_bytes().to_vec(),
            ..stop_call(&ids(0..1), false)
        }
    }

    /// The `instanceStatus` DescribeInstancesStatus gives `id`.
    fn instance_status(fleet: &mut Fleet, id: &str) -> Value {
        let call = ZenlayerZec.describe_call(&[id.to_string()], &Location::default());
        send(fleet, &good(&call)).1["response"]["dataSet"][0]["instanceStatus"].clone()
    }

    /// A fleet whose starts and stops take an hour, of machines in `state` with `shutdown`.
    fn slow(seed: &[(&str, &str, Boot)]) -> Fleet {
        let hour = Duration::from_secs(3600);
        let mut fleet = Fleet::new(hour, hour);
        for (id, state, shutdown) in seed {
            let machine = SeedMachine {
                state: Some(state.to_string()),
                shutdown: *shutdown,
                ..Default::default()
            };
            fleet.seed(&ZenlayerDialect, id, &machine).unwrap();
        }
        fleet
    }

    fn fleet(seed: &[(&str, Option<&str>, Boot)]) -> Fleet {
        let mut fleet = Fleet::new(Duration::ZERO, Duration::ZERO);
        for (id, state, boot) in seed {
            let machine = SeedMachine {
                state: state.map(str::to_string),
                boot: *boot,
                ..Default::default()
            };
            fleet.seed(&ZenlayerDialect, id, &machine).unwrap();
        }
        fleet
    }

    #[test]
    fn bad_credentials_and_stale_times_get_zenlayers_auth_errors() {
        let call = start_call(&ids(0..1));
        let (id, password) = (SIM_ACCESS_KEY_ID, SIM_ACCESS_KEY_PASSWORD);
        let cases = [
            (id, "wrong", 0, 401, Some("AUTHFAILURE_SIGNATURE_FAILURE")),
            (
                "ZLunknown",
                password,
                0,
                401,
                Some("AUTHFAILURE_INVALID_AUTHORIZATION"),
            ),
            (
                id,
                password,
                400,
                401,
                Some("AUTHFAILURE_SIGNATURE_EXPIRED"),
            ),
            (
                id,
                password,
                -400,
                401,
                Some("AUTHFAILURE_SIGNATURE_EXPIRED"),
            ),
            (id, password, 200, 200, None),
            (id, password, -200, 200, None),
        ];
        let mut fleet = fleet(&[]);
        for (key_id, password, age, status, code) in cases {
            let (got, body) = send(&mut fleet, &received(&call, key_id, password, age));
            assert_eq!((got, body["code"].as_str()), (status, code), "{age} {body}");
            assert!(body["requestId"].as_str().unwrap().starts_with('T'));
        }
    }

    #[test]
    fn missing_headers_are_missing_parameters() {
        let call = start_call(&ids(0..1));
        let mut fleet = fleet(&[]);
        for name in [
            "x-zc-action",
            "x-zc-timestamp",
            "x-zc-signature-method",
            "authorization",
        ] {
            let mut request = good(&call);
            request.headers.retain(|(n, _)| n != name);
            let reply = ZenlayerDialect.handle(&request, &mut fleet);
            assert_eq!(reply.status, 400, "{name}");
            assert_eq!(
                reply.error_code.as_deref(),
                Some("MISSING_PARAMETER"),
                "{name}"
            );
            assert_eq!(reply.signature, SignatureCheck::Missing);
        }
    }

    #[test]
    fn a_changed_body_breaks_the_signature() {
        let mut request = good(&start_call(&ids(0..1)));
        request.body = br#"{"instanceIds": ["other"]}"#.to_vec();
        let reply = ZenlayerDialect.handle(&request, &mut fleet(&[]));
        assert_eq!(
            reply.error_code.as_deref(),
            Some("AUTHFAILURE_SIGNATURE_FAILURE")
        );
        assert_eq!(reply.signature, SignatureCheck::Failed);
    }

    #[test]
    fn start_lists_running_and_starting_machines_as_failed_and_starts_the_rest() {
        let [stopped, running, starting] = [0, 1, 2].map(|n| (PROFILE.example_id)(n));
        let mut fleet = fleet(&[
            (&running, Some("RUNNING"), Boot::Normal),
            (&starting, Some("BOOTING"), Boot::Never),
        ]);
        let all = [stopped.clone(), running.clone(), starting.clone()];
        let (status, body) = send(&mut fleet, &good(&start_call(&all)));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["response"]["instanceIds"], json!([running, starting]));
        assert_eq!(body["response"]["requestId"], body["requestId"]);
        let accepted = ZenlayerZec
            .parse_action(
                Action::Start,
                &crate::provider::HttpResponse {
                    status,
                    headers: Vec::new(),
                    body: body.to_string().into_bytes(),
                },
            )
            .unwrap();
        assert_eq!(accepted.refused.len(), 2);
        assert!(matches!(
            fleet.get(&stopped).unwrap().phase,
            MachinePhase::Running
        ));
    }

    #[test]
    fn start_refuses_the_whole_call_for_missing_recycled_or_busy_machines() {
        let [a, gone, recycled, stopping] = [0, 1, 2, 3].map(|n| (PROFILE.example_id)(n));
        let mut fleet = fleet(&[
            (&gone, Some("not_found"), Boot::Normal),
            (&recycled, Some("RECYCLE"), Boot::Normal),
            (&stopping, Some("REBOOT"), Boot::Normal),
        ]);
        for (other, status, code) in [
            (&gone, 404, "INVALID_INSTANCE_NOT_FOUND"),
            (&recycled, 403, "OPERATION_DENIED_INSTANCE_RECYCLED"),
            (&stopping, 403, "OPERATION_DENIED_INSTANCE_NOT_STOPPED"),
        ] {
            let call = start_call(&[a.clone(), other.clone()]);
            let (got, body) = send(&mut fleet, &good(&call));
            assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
            assert!(matches!(
                fleet.get(&a).unwrap().phase,
                MachinePhase::Stopped
            ));
        }
        let (status, body) = send(&mut fleet, &good(&start_call(&ids(0..101))));
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("INVALID_PARAMETER"))
        );
    }

    #[test]
    fn describe_honours_page_size_and_defaults_to_twenty() {
        let mut fleet = fleet(&[]);
        let mut call = ZenlayerZec.describe_call(&ids(0..30), &Location::default());
        let (_, body) = send(&mut fleet, &good(&call));
        assert_eq!(body["response"]["dataSet"].as_array().unwrap().len(), 30);
        let list: Vec<String> = ids(0..30).iter().map(|id| format!("\"{id}\"")).collect();
        for (extra, expected) in [
            ("", 20),
            (r#", "pageSize": 7"#, 7),
            (r#", "pageSize": 7, "pageNum": 5"#, 2),
        ] {
            call.body = format!(r#"{{"instanceIds": [{}]{extra}}}"#, list.join(", ")).into_bytes();
            let (status, body) = send(&mut fleet, &good(&call));
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["response"]["totalCount"], 30);
            assert_eq!(
                body["response"]["dataSet"].as_array().unwrap().len(),
                expected,
                "{extra}"
            );
        }
    }

    #[test]
    fn a_failed_boot_shows_starting_then_stopped_again() {
        let one = ids(0..1);
        let mut fleet = fleet(&[(&one[0], None, Boot::Fail)]);
        send(&mut fleet, &good(&start_call(&one)));
        let describe = ZenlayerZec.describe_call(&one, &Location::default());
        let statuses: Vec<Value> = (0..3)
            .map(|_| {
                send(&mut fleet, &good(&describe)).1["response"]["dataSet"][0]["instanceStatus"]
                    .clone()
            })
            .collect();
        assert_eq!(
            statuses,
            [json!("BOOTING"), json!("STOPPED"), json!("STOPPED")]
        );
    }

    #[test]
    fn a_stop_sends_a_running_machine_stopping_under_this_request() {
        let one = ids(0..1);
        let mut fleet = slow(&[(&one[0], "RUNNING", Boot::Normal)]);
        let (status, body) = send(&mut fleet, &good(&stop_call(&one, false)));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["response"]["instanceIds"], json!([]));
        assert_eq!(body["response"]["requestId"], body["requestId"]);
        assert_eq!(instance_status(&mut fleet, &one[0]), json!("STOPPING"));
        let operation = fleet.get(&one[0]).unwrap().operation.clone().unwrap();
        assert_eq!(operation.action, Action::Stop);
        assert_eq!(
            Some(operation.request_id.as_str()),
            body["requestId"].as_str()
        );
    }

    #[test]
    fn a_stop_of_machines_none_of_which_runs_is_refused_whole() {
        let [stopped, booting, reboot, recycled, gone, running] =
            [0, 1, 2, 3, 4, 5].map(|n| (PROFILE.example_id)(n));
        let mut fleet = fleet(&[
            (&booting, Some("BOOTING"), Boot::Never),
            (&reboot, Some("REBOOT"), Boot::Normal),
            (&recycled, Some("RECYCLE"), Boot::Normal),
            (&gone, Some("not_found"), Boot::Normal),
            (&running, Some("RUNNING"), Boot::Normal),
        ]);
        let not_running = "OPERATION_DENIED_INSTANCE_NOT_RUNNING";
        for (batch, status, code) in [
            (vec![stopped.clone()], 403, not_running),
            (vec![booting.clone(), reboot.clone()], 403, not_running),
            (
                vec![recycled, running.clone()],
                403,
                "OPERATION_DENIED_INSTANCE_RECYCLED",
            ),
            (
                vec![gone, running.clone()],
                404,
                "INVALID_INSTANCE_NOT_FOUND",
            ),
        ] {
            let (got, body) = send(&mut fleet, &good(&stop_call(&batch, false)));
            assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
            let err = ZenlayerZec
                .parse_action(Action::Stop, &reply(got, &body))
                .unwrap_err();
            assert_eq!(err.code, code);
        }
        assert!(matches!(
            fleet.get(&running).unwrap().phase,
            MachinePhase::Running
        ));
        // The stop's own code: WrongState, so the engine describes the machine.
        let err = ZenlayerZec
            .parse_action(
                Action::Stop,
                &reply(
                    403,
                    &send(&mut fleet, &good(&stop_call(&[stopped], true))).1,
                ),
            )
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::WrongState);
        let (status, body) = send(&mut fleet, &good(&stop_call(&ids(0..101), false)));
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("INVALID_PARAMETER"))
        );
    }

    #[test]
    fn a_batch_stopped_in_part_lists_the_rest_as_failed_to_shut_down() {
        let [running, stopped, booting] = [0, 1, 2].map(|n| (PROFILE.example_id)(n));
        let mut fleet = slow(&[
            (&running, "RUNNING", Boot::Normal),
            (&booting, "BOOTING", Boot::Normal),
        ]);
        let all = [running.clone(), stopped.clone(), booting.clone()];
        let (status, body) = send(&mut fleet, &good(&stop_call(&all, false)));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["response"]["instanceIds"], json!([stopped, booting]));
        let accepted = ZenlayerZec
            .parse_action(Action::Stop, &reply(status, &body))
            .unwrap();
        let refused: Vec<(&str, &str)> = (accepted.refused.iter())
            .map(|(id, err)| (id.as_str(), err.code.as_str()))
            .collect();
        assert_eq!(
            refused,
            [
                (stopped.as_str(), "FAILED_TO_STOP"),
                (booting.as_str(), "FAILED_TO_STOP")
            ]
        );
        assert_eq!(instance_status(&mut fleet, &running), json!("STOPPING"));
    }

    #[test]
    fn a_failed_gentle_stop_shows_stopping_then_running_again() {
        let one = ids(0..1);
        let mut fleet = fleet(&[(&one[0], Some("RUNNING"), Boot::Normal)]);
        fleet.get(&one[0]).unwrap().shutdown = Boot::Fail;
        let (status, body) = send(&mut fleet, &good(&stop_call(&one, false)));
        assert_eq!(
            (status, &body["response"]["instanceIds"]),
            (200, &json!([]))
        );
        let statuses: Vec<Value> = (0..3)
            .map(|_| instance_status(&mut fleet, &one[0]))
            .collect();
        assert_eq!(
            statuses,
            [json!("STOPPING"), json!("RUNNING"), json!("RUNNING")]
        );
        // It runs again, so it may be stopped again.
        let (status, _) = send(&mut fleet, &good(&stop_call(&one, false)));
        assert_eq!(status, 200);
    }

    #[test]
    fn a_forced_or_unspecified_shutdown_stops_a_machine_whose_os_would_not() {
        let [fails, hangs, omitted] = [0, 1, 2].map(|n| (PROFILE.example_id)(n));
        let mut fleet = fleet(&[
            (&fails, Some("RUNNING"), Boot::Normal),
            (&hangs, Some("RUNNING"), Boot::Normal),
            (&omitted, Some("RUNNING"), Boot::Normal),
        ]);
        for id in [&fails, &omitted] {
            fleet.get(id).unwrap().shutdown = Boot::Fail;
        }
        fleet.get(&hangs).unwrap().shutdown = Boot::Never;
        // --force sends forceShutdown=true.
        let (status, _) = send(&mut fleet, &good(&stop_one(&fails, true)));
        assert_eq!(status, 200);
        assert_eq!(instance_status(&mut fleet, &fails), json!("STOPPED"));
        // No forceShutdown at all is Zenlayer's default: a forced shutdown.
        let body = format!(r#"{{"instanceIds": ["{omitted}"]}}"#);
        let (status, _) = send(&mut fleet, &good(&stop_body(&body)));
        assert_eq!(status, 200);
        assert_eq!(instance_status(&mut fleet, &omitted), json!("STOPPED"));
        // A gentle stop that hangs in STOPPING is taken again (zh-CN: RUNNING or STOPPING): gently
        // it changes nothing, forced it finishes.
        send(&mut fleet, &good(&stop_one(&hangs, false)));
        for force in [false, true] {
            let (status, body) = send(&mut fleet, &good(&stop_one(&hangs, force)));
            assert_eq!(
                (status, &body["response"]["instanceIds"]),
                (200, &json!([]))
            );
        }
        assert_eq!(instance_status(&mut fleet, &hangs), json!("STOPPED"));
        let body = format!(r#"{{"instanceIds": ["{hangs}"], "forceShutdown": "yes"}}"#);
        let (status, body) = send(&mut fleet, &good(&stop_body(&body)));
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("INVALID_PARAMETER"))
        );
    }

    #[test]
    fn seeded_stop_errors_come_with_the_status_zenlayer_gives_their_code() {
        let mut fleet = fleet(&[]);
        for (n, (code, status)) in [
            ("OPERATION_DENIED_INSTANCE_NOT_RUNNING", 403),
            ("INVALID_INSTANCE_NOT_FOUND", 404),
            ("REQUEST_LIMIT_EXCEEDED", 429),
            ("OPERATION_DENIED_INSUFFICIENT_BALANCE", 403),
            ("INTERNAL_SERVER_ERROR", 500),
            ("SOMETHING_ELSE", 400),
        ]
        .into_iter()
        .enumerate()
        {
            let id = (PROFILE.example_id)(n);
            let machine = SeedMachine {
                state: Some("RUNNING".into()),
                stop_error: Some(code.into()),
                ..Default::default()
            };
            fleet.seed(&ZenlayerDialect, &id, &machine).unwrap();
            let (got, body) = send(&mut fleet, &good(&stop_one(&id, false)));
            assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
            assert!(matches!(
                fleet.get(&id).unwrap().phase,
                MachinePhase::Running
            ));
        }
    }

    #[test]
    fn describe_instances_shows_a_failed_stop_as_running() {
        let one = ids(0..1);
        let mut fleet = fleet(&[(&one[0], Some("RUNNING"), Boot::Normal)]);
        fleet.get(&one[0]).unwrap().shutdown = Boot::Fail;
        send(&mut fleet, &good(&stop_call(&one, false)));
        let call = ZenlayerZec.detail_call(&one, &Location::default()).unwrap();
        let (_, body) = send(&mut fleet, &good(&call));
        assert_eq!(body["response"]["dataSet"][0]["status"], "RUNNING");
    }
}
