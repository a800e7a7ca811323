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
mod tests;
