//! The simulator's Tencent CVM dialect: TC3 verification, `StartInstances`, `StopInstances`,
//! `DescribeInstances`, and CVM's HTTP-200 error envelope, as in `../shared/providers/tencent.md`.

use serde_json::{json, Value};

use super::{Dialect, Fleet, MachinePhase, Profile, SignatureCheck, SimReply, SimRequest};
use crate::provider::tencent::{tc3_sign, Tc3Request, ALGORITHM, SERVICE, VERSION};
use crate::provider::tencent::{TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY};
use crate::provider::{Action, ErrorClass, Provider};
use crate::sign::constant_time_eq;

/// The only SecretId the simulator knows.
const SIM_SECRET_ID: &str = "AKIDcloudstartSIMULATOR0001";
/// Its SecretKey.
const SIM_SECRET_KEY: &str = "cloudstart-simulator-secret-key";

static PROFILE: Profile = Profile {
    provider: "tencent",
    credentials: &[
        (TENCENTCLOUD_SECRET_ID, SIM_SECRET_ID),
        (TENCENTCLOUD_SECRET_KEY, SIM_SECRET_KEY),
    ],
    region: Some("ap-guangzhou"),
    zone: None,
    machine_zone: "ap-guangzhou-3",
    example_id: |n| format!("ins-{n:08}"),
};

/// CVM's allowed clock skew, either way.
const MAX_SKEW_SECONDS: i64 = 300;
/// CVM's batch limit for ids, and its maximum `Limit`.
const MAX_IDS: usize = 100;

pub(crate) struct TencentDialect;

/// A request that ends in CVM's error envelope.
struct Refusal {
    code: String,
    message: String,
}

fn refuse(code: impl Into<String>, message: impl Into<String>) -> Refusal {
    Refusal {
        code: code.into(),
        message: message.into(),
    }
}

impl Dialect for TencentDialect {
    fn profile(&self) -> &'static Profile {
        &PROFILE
    }

    fn action(&self, request: &SimRequest) -> String {
        request.header("x-tc-action").unwrap_or("").to_string()
    }

    fn handle(&self, request: &SimRequest, fleet: &mut Fleet) -> SimReply {
        let request_id = fleet.request_id();
        let action = self.action(request);
        let mut reply = SimReply::new(action.clone());
        let now = fleet.now();
        let result = verify(request, now, &mut reply.signature).and_then(|params| {
            reply.ids = string_list(&params, "InstanceIds").unwrap_or_default();
            match action.as_str() {
                "StartInstances" => start(&params, fleet, &request_id),
                "StopInstances" => stop(&params, fleet, &request_id),
                "DescribeInstances" => describe(&params, fleet),
                _ => Err(refuse(
                    "InvalidAction",
                    format!("the action `{action}` does not exist"),
                )),
            }
        });
        answer(&mut reply, result, &request_id);
        reply
    }

    fn throttled(&self, action: &str, fleet: &mut Fleet) -> SimReply {
        let mut reply = SimReply::new(action);
        let refusal = refuse(
            code(ErrorClass::Throttled),
            "the request rate exceeds the limit of the action",
        );
        answer(&mut reply, Err(refusal), &fleet.request_id());
        reply
    }
}

/// CVM's envelope: HTTP 200 with `Response`, holding the result or `Error`, and `RequestId`.
fn answer(reply: &mut SimReply, result: Result<Value, Refusal>, request_id: &str) {
    let mut body = match result {
        Ok(body) => body,
        Err(refusal) => {
            reply.error_code = Some(refusal.code.clone());
            json!({ "Error": { "Code": refusal.code, "Message": refusal.message } })
        }
    };
    body["RequestId"] = json!(request_id);
    reply.body = json!({ "Response": body });
}

/// Checks the request's form and TC3 signature; returns the JSON parameters.
fn verify(
    request: &SimRequest,
    now: chrono::DateTime<chrono::Utc>,
    signature: &mut SignatureCheck,
) -> Result<Value, Refusal> {
    if request.method != "POST" || request.path != "/" {
        return Err(refuse(
            "UnsupportedProtocol",
            "the simulator takes POST / only",
        ));
    }
    let header = |name: &'static str| {
        request
            .header(name)
            .ok_or_else(|| refuse("MissingParameter", format!("the header {name} is missing")))
    };
    header("x-tc-action")?;
    let version = header("x-tc-version")?;
    header("x-tc-region")?;
    let timestamp = header("x-tc-timestamp")?;
    let authorization = request.header("authorization").ok_or_else(|| {
        refuse(
            "AuthFailure.SignatureFailure",
            "the Authorization header is missing",
        )
    })?;
    let content_type = header("content-type")?;
    let host = header("host")?;
    *signature = SignatureCheck::Failed;
    let timestamp: i64 = timestamp.parse().map_err(|_| {
        refuse(
            "AuthFailure.InvalidAuthorization",
            "X-TC-Timestamp is not a number",
        )
    })?;
    let fields = parse_authorization(authorization).ok_or_else(|| {
        refuse(
            "AuthFailure.InvalidAuthorization",
            "the Authorization header is malformed",
        )
    })?;
    if fields.secret_id != SIM_SECRET_ID {
        return Err(refuse(
            "AuthFailure.SecretIdNotFound",
            "the SecretId is not found; use the simulator's test credentials",
        ));
    }
    let skew = now.timestamp() - timestamp;
    if skew.abs() > MAX_SKEW_SECONDS {
        return Err(refuse(
            "AuthFailure.SignatureExpire",
            format!("the signature expired: the timestamp is {skew} s from server time"),
        ));
    }
    let expected = tc3_sign(
        &Tc3Request {
            method: &request.method,
            canonical_query: &request.query,
            content_type,
            host,
            body: &request.body,
            timestamp,
        },
        SIM_SECRET_ID,
        SIM_SECRET_KEY,
    );
    if !constant_time_eq(&expected.authorization, authorization) {
        return Err(refuse(
            "AuthFailure.SignatureFailure",
            "the provided credentials could not be validated; check the SecretKey and the signing steps",
        ));
    }
    *signature = SignatureCheck::Ok;
    if version != VERSION {
        return Err(refuse(
            "NoSuchVersion",
            format!("the version `{version}` does not exist for cvm"),
        ));
    }
    if content_type != crate::provider::tencent::CONTENT_TYPE {
        return Err(refuse(
            "InvalidParameter",
            format!("unsupported Content-Type `{content_type}`"),
        ));
    }
    let params: Value = serde_json::from_slice(&request.body)
        .map_err(|err| refuse("InvalidParameter", format!("the body is not JSON: {err}")))?;
    if !params.is_object() {
        return Err(refuse("InvalidParameter", "the body is not a JSON object"));
    }
    Ok(params)
}

struct AuthorizationFields<'a> {
    secret_id: &'a str,
}

/// `TC3-HMAC-SHA256 Credential=<id>/<date>/cvm/tc3_request, SignedHeaders=…, Signature=…`.
fn parse_authorization(value: &str) -> Option<AuthorizationFields<'_>> {
    let rest = value.strip_prefix(ALGORITHM)?.strip_prefix(' ')?;
    let credential = rest.split(", ").next()?.strip_prefix("Credential=")?;
    let mut scope = credential.split('/');
    let secret_id = scope.next()?;
    let (_date, service) = (scope.next()?, scope.next()?);
    (service == SERVICE).then_some(AuthorizationFields { secret_id })
}

fn string_list(params: &Value, name: &str) -> Option<Vec<String>> {
    params[name]
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// Ids from `InstanceIds`, checked the way CVM checks them.
fn instance_ids(params: &Value) -> Result<Vec<String>, Refusal> {
    if params.get("InstanceIds").is_none() {
        return Err(refuse(
            "MissingParameter",
            "the parameter InstanceIds is missing",
        ));
    }
    let ids = string_list(params, "InstanceIds").ok_or_else(|| {
        refuse(
            "InvalidParameter",
            "InstanceIds must be an array of strings",
        )
    })?;
    if ids.len() > MAX_IDS {
        return Err(refuse(
            "InvalidParameterValue.LimitExceeded",
            format!("InstanceIds takes at most {MAX_IDS} ids, got {}", ids.len()),
        ));
    }
    if let Some(bad) = ids
        .iter()
        .find(|id| crate::provider::TencentCvm.validate_id(id).is_err())
    {
        return Err(refuse(
            "InvalidInstanceId.Malformed",
            format!("the instance id `{bad}` is malformed"),
        ));
    }
    Ok(ids)
}

fn start(params: &Value, fleet: &mut Fleet, request_id: &str) -> Result<Value, Refusal> {
    let ids = instance_ids(params)?;
    if ids.is_empty() {
        return Err(refuse("InvalidParameterValue", "InstanceIds is empty"));
    }
    // CVM refuses the whole batch if any one machine cannot be started.
    let missing: Vec<&String> = ids.iter().filter(|id| fleet.get(id).is_none()).collect();
    if !missing.is_empty() {
        return Err(refuse(
            code(ErrorClass::NotFound),
            format!("the instances {missing:?} are not found"),
        ));
    }
    if let Some((id, code)) = fleet.start_error(&ids) {
        return Err(refuse(code, format!("the instance {id} cannot be started")));
    }
    for id in &ids {
        let phase = fleet
            .get(id)
            .map(|m| m.phase.clone())
            .unwrap_or(MachinePhase::Stopped);
        if !phase.startable() {
            return Err(refuse(
                state_refusal(Action::Start, &phase),
                format!("the instance {id} is in a state that cannot be started"),
            ));
        }
    }
    for id in &ids {
        fleet.start(id, request_id);
    }
    Ok(json!({}))
}

/// StopInstances: like the start, the whole batch is refused if one machine is not RUNNING, each
/// state with its own `UnsupportedOperation.InstanceState…` code (tencentcloud-sdk-go
/// cvm/v20170312/client.go, StopInstances' error list). `StopType` and `StoppedMode` take the
/// documented values only; `ForceStop` is a boolean and may not come with `StopType`
/// (InvalidParameterCombination). A HARD stop (or SOFT_FIRST, or the deprecated ForceStop) powers
/// the machine off, so it stops even when its OS would ignore a soft one.
fn stop(params: &Value, fleet: &mut Fleet, request_id: &str) -> Result<Value, Refusal> {
    let ids = instance_ids(params)?;
    if ids.is_empty() {
        return Err(refuse("InvalidParameterValue", "InstanceIds is empty"));
    }
    let text = |name: &str| params.get(name).map(|v| v.as_str().unwrap_or("?"));
    let force_stop = match params.get("ForceStop") {
        None => false,
        Some(value) => value
            .as_bool()
            .ok_or_else(|| refuse("InvalidParameterValue", "ForceStop must be true or false"))?,
    };
    let stop_type = text("StopType");
    if let Some(stop_type) = stop_type {
        if !matches!(stop_type, "SOFT" | "HARD" | "SOFT_FIRST") {
            return Err(refuse(
                "InvalidParameterValue",
                format!("StopType `{stop_type}` is not SOFT, HARD or SOFT_FIRST"),
            ));
        }
        if params.get("ForceStop").is_some() {
            return Err(refuse(
                "InvalidParameterCombination",
                "ForceStop cannot be used together with StopType",
            ));
        }
    }
    if let Some(mode) = text("StoppedMode") {
        if !matches!(mode, "KEEP_CHARGING" | "STOP_CHARGING") {
            return Err(refuse(
                "InvalidParameterValue",
                format!("StoppedMode `{mode}` is not KEEP_CHARGING or STOP_CHARGING"),
            ));
        }
    }
    let forced = force_stop || matches!(stop_type, Some("HARD" | "SOFT_FIRST"));
    let missing: Vec<&String> = ids.iter().filter(|id| fleet.get(id).is_none()).collect();
    if !missing.is_empty() {
        return Err(refuse(
            code(ErrorClass::NotFound),
            format!("the instances {missing:?} are not found"),
        ));
    }
    if let Some((id, code)) = fleet.stop_error(&ids) {
        return Err(refuse(code, format!("the instance {id} cannot be stopped")));
    }
    for id in &ids {
        let phase = fleet
            .get(id)
            .map(|m| m.phase.clone())
            .unwrap_or(MachinePhase::Stopped);
        if !phase.stoppable() {
            return Err(refuse(
                state_refusal(Action::Stop, &phase),
                format!("the instance {id} is in a state that cannot be stopped"),
            ));
        }
    }
    for id in &ids {
        fleet.stop(id, request_id, forced);
    }
    Ok(json!({}))
}

/// CVM's code for `class`, from the provider's vocabulary.
fn code(class: ErrorClass) -> &'static str {
    PROFILE.vocabulary().code(class).unwrap_or("InternalError")
}

/// The `InstanceState` DescribeInstances shows for `phase`: a failed start leaves the machine
/// STOPPED, a failed soft stop RUNNING (their LatestOperation says FAILED).
fn state_of(phase: &MachinePhase) -> &str {
    PROFILE.state_name(phase).unwrap_or(match phase {
        MachinePhase::StopFailed => PROFILE.running_state(),
        _ => PROFILE.stopped_state(),
    })
}

/// The code CVM refuses `action` of a machine in `phase` with: `UnsupportedOperation.
/// InstanceState` and the state's name in CamelCase (`ENTER_RESCUE_MODE` →
/// `…InstanceStateEnterRescueMode`), as both calls' error lists spell them
/// (tencentcloud-sdk-go cvm/v20170312/client.go). The start's list has one code for the three
/// live-migration states; no list has one for LAUNCH_FAILED, which is InvalidInstance.NotSupported.
fn state_refusal(action: Action, phase: &MachinePhase) -> String {
    let state = match (action, state_of(phase)) {
        (_, "LAUNCH_FAILED") => return "InvalidInstance.NotSupported".into(),
        (Action::Start, "ENTER_SERVICE_LIVE_MIGRATE" | "EXIT_SERVICE_LIVE_MIGRATE") => {
            "SERVICE_LIVE_MIGRATE"
        }
        (_, state) => state,
    };
    let camel: String = (state.split('_'))
        .flat_map(|word| {
            let mut letters = word.chars();
            let first = letters.next().map(|c| c.to_ascii_uppercase());
            first
                .into_iter()
                .chain(letters.map(|c| c.to_ascii_lowercase()))
        })
        .collect();
    format!("UnsupportedOperation.InstanceState{camel}")
}

fn describe(params: &Value, fleet: &mut Fleet) -> Result<Value, Refusal> {
    let ids = instance_ids(params)?;
    let limit = match params.get("Limit") {
        None => 20,
        Some(limit) => limit
            .as_u64()
            .filter(|l| (1..=MAX_IDS as u64).contains(l))
            .ok_or_else(|| {
                refuse(
                    "InvalidParameterValue.LimitExceeded",
                    format!("Limit must be 1 to {MAX_IDS}"),
                )
            })? as usize,
    };
    let mut set = Vec::new();
    for id in &ids {
        let Some(machine) = fleet.get(id) else {
            continue;
        };
        let operation_state = match &machine.phase {
            MachinePhase::Starting { .. } | MachinePhase::Stopping { .. } => Some("OPERATING"),
            MachinePhase::Running | MachinePhase::Stopped => Some("SUCCESS"),
            MachinePhase::StartFailed | MachinePhase::StopFailed => Some("FAILED"),
            MachinePhase::Other(_) => None,
        };
        let state = state_of(&machine.phase);
        // Only a start or stop this simulator accepted leaves a LatestOperation behind.
        let operation = machine.operation.clone().zip(operation_state);
        // The primary network interface's addresses; no public one is a null list.
        let addresses = machine.addresses();
        let public = (!addresses.public.is_empty()).then_some(addresses.public);
        let mut entry = json!({
            "InstanceId": id,
            "InstanceState": state,
            "PrivateIpAddresses": addresses.private,
            "PublicIpAddresses": public,
            "Placement": { "Zone": PROFILE.machine_zone },
        });
        if let Some((operation, operation_state)) = operation {
            let (name, failure) = match operation.action {
                Action::Start => ("StartInstances", "simulated boot failure"),
                Action::Stop => (
                    "StopInstances",
                    "simulated soft stop failure: the OS did not shut down",
                ),
            };
            entry["LatestOperation"] = json!(name);
            entry["LatestOperationState"] = json!(operation_state);
            entry["LatestOperationRequestId"] = json!(operation.request_id);
            if operation_state == "FAILED" {
                entry["LatestOperationErrorMsg"] = json!(failure);
            }
        }
        set.push(entry);
    }
    let total = set.len();
    set.truncate(limit);
    Ok(json!({ "TotalCount": total, "InstanceSet": set }))
}

#[cfg(test)]
mod tests;
