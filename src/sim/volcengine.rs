//! The simulator's Volcengine ECS dialect: HMAC-SHA256 verification, `StartInstances` and
//! `StopInstances` with per-instance results and `ClientToken` idempotency, `DescribeInstances`,
//! and the gateway's `ResponseMetadata.Error` envelope with its real HTTP statuses, as in
//! `../shared/providers/volcengine.md`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use serde_json::{json, Value};

use super::{Dialect, Fleet, MachinePhase, Profile, SignatureCheck, SimReply, SimRequest};
use crate::provider::volcengine::{sign_v4, V4Request, ALGORITHM, SERVICE, VERSION};
use crate::provider::volcengine::{VOLCENGINE_ACCESS_KEY, VOLCENGINE_SECRET_KEY};
use crate::provider::{Action, ErrorClass, Phase, Provider, VolcengineEcs};
use crate::sign::{constant_time_eq, form_pairs, hex_sha256};

/// The only AccessKey ID the simulator knows.
const SIM_ACCESS_KEY: &str = "AKLTcloudstartSIMULATOR0001";
/// Its SecretAccessKey.
const SIM_SECRET_KEY: &str = "cloudstartSIMULATOR-volcengine-secret-key";

static PROFILE: Profile = Profile {
    provider: "volcengine",
    credentials: &[
        (VOLCENGINE_ACCESS_KEY, SIM_ACCESS_KEY),
        (VOLCENGINE_SECRET_KEY, SIM_SECRET_KEY),
    ],
    region: Some("cn-beijing"),
    zone: None,
    machine_zone: "cn-beijing-a",
    example_id: |n| format!("i-sim{n:017}"),
};

/// How long a signature stays valid, either way: the gateway's default `X-Expires`.
const MAX_SKEW_SECONDS: i64 = 900;
/// ECS's limit for `InstanceIds.N` and `MaxResults`.
const MAX_IDS: usize = 100;
/// `MaxResults` when the request gives none.
const DEFAULT_MAX_RESULTS: usize = 10;

pub(crate) struct VolcengineDialect;

/// A request that ends in the gateway's error envelope.
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

/// The gateway's numeric `CodeN` for its own (common) errors.
fn code_n(code: &str) -> Option<u32> {
    Some(match code {
        "MissingParameter" => 100002,
        "MissingAuthenticationToken" => 100003,
        "MissingRequestInfo" => 100004,
        "MissingSignature" => 100005,
        "InvalidTimestamp" => 100006,
        "InvalidActionOrVersion" => 100008,
        "InvalidAccessKey" => 100009,
        "SignatureDoesNotMatch" => 100010,
        _ => return None,
    })
}

impl Dialect for VolcengineDialect {
    fn profile(&self) -> &'static Profile {
        &PROFILE
    }

    fn action(&self, request: &SimRequest) -> String {
        param(&form_pairs(&request.query), "Action")
            .unwrap_or("")
            .to_string()
    }

    fn handle(&self, request: &SimRequest, fleet: &mut Fleet) -> SimReply {
        let request_id = fleet.request_id();
        let params = form_pairs(&request.query);
        let action = self.action(request);
        let authorization = request
            .header("authorization")
            .and_then(parse_authorization);
        let region = authorization.as_ref().map_or("", |a| a.region);
        let mut reply = SimReply {
            ids: instance_ids(&params).unwrap_or_default(),
            ..SimReply::new(action.clone())
        };
        let result = verify(
            request,
            &params,
            authorization.as_ref(),
            fleet.now(),
            &mut reply.signature,
        )
        .and_then(|()| match (param(&params, "Version"), action.as_str()) {
            (None, _) | (_, "") => Err(refuse(
                400,
                "MissingParameter",
                "Action and Version are required",
            )),
            (Some(VERSION), "StartInstances") => start(&params, fleet, &request_id),
            (Some(VERSION), "StopInstances") => stop(&params, fleet, &request_id),
            (Some(VERSION), "DescribeInstances") => describe(&params, fleet),
            (Some(version), _) => Err(refuse(
                404,
                "InvalidActionOrVersion",
                format!("could not find operation {action} for version {version}"),
            )),
        });
        answer(&mut reply, result, &request_id, region);
        reply
    }

    fn throttled(&self, action: &str, fleet: &mut Fleet) -> SimReply {
        let mut reply = SimReply::new(action);
        let code = PROFILE.vocabulary().code(ErrorClass::Throttled);
        let refusal = refuse(
            429,
            code.unwrap_or("FlowLimitExceeded"),
            "the request rate exceeds the limit",
        );
        answer(&mut reply, Err(refusal), &fleet.request_id(), "");
        reply.headers.push(("retry-after".into(), "1".into()));
        reply
    }
}

/// How long a start or stop stays "being processed": a request with its ClientToken gets 412
/// IdempotentProcessing until then.
const IDEMPOTENT_PROCESSING: Duration = Duration::from_millis(100);

/// The gateway's envelope: `ResponseMetadata` (with `Error` and the refusal's HTTP status on
/// failure) and `Result`.
fn answer(reply: &mut SimReply, result: Result<Value, Refusal>, request_id: &str, region: &str) {
    let mut metadata = json!({
        "RequestId": request_id, "Action": reply.action, "Version": VERSION,
        "Service": SERVICE, "Region": region,
    });
    reply.body = match result {
        Ok(result) => json!({ "ResponseMetadata": metadata, "Result": result }),
        Err(refusal) => {
            reply.status = refusal.status;
            metadata["Error"] = json!({ "Code": refusal.code, "Message": refusal.message });
            if let Some(n) = code_n(&refusal.code) {
                metadata["Error"]["CodeN"] = json!(n);
            }
            reply.error_code = Some(refusal.code);
            json!({ "ResponseMetadata": metadata })
        }
    };
}

/// The decoded query pairs, in order (`+` is a space: the SDK sends `quote_plus`).
/// The last value of `name`: the gateway, like the SDK, keeps one value per key.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `HMAC-SHA256 Credential=<AK>/<date>/<region>/<service>/request, SignedHeaders=…, Signature=…`.
struct Authorization<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: &'a str,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix(ALGORITHM)?.strip_prefix(' ')?;
    let mut parts = rest.split(", ");
    let credential = parts.next()?.strip_prefix("Credential=")?;
    let signed_headers = parts.next()?.strip_prefix("SignedHeaders=")?;
    parts.next()?.strip_prefix("Signature=")?;
    let mut scope = credential.split('/');
    let auth = Authorization {
        access_key: scope.next()?,
        date: scope.next()?,
        region: scope.next()?,
        service: scope.next()?,
        signed_headers,
    };
    (scope.next()? == "request" && scope.next().is_none()).then_some(auth)
}

/// Checks the request's form and signature the way the gateway does, cheapest checks first.
fn verify(
    request: &SimRequest,
    params: &[(String, String)],
    authorization: Option<&Authorization<'_>>,
    now: chrono::DateTime<Utc>,
    signature: &mut SignatureCheck,
) -> Result<(), Refusal> {
    if request.method != "GET" || request.path != "/" {
        return Err(refuse(
            400,
            "InvalidArgument",
            "the simulator takes GET / only",
        ));
    }
    let Some(raw) = request.header("authorization") else {
        return Err(refuse(
            401,
            "MissingAuthenticationToken",
            "the Authorization header is missing",
        ));
    };
    let auth = authorization.ok_or_else(|| {
        refuse(
            401,
            "MissingSignature",
            "the Authorization header is malformed",
        )
    })?;
    let x_date = request
        .header("x-date")
        .ok_or_else(|| refuse(400, "MissingRequestInfo", "the X-Date header is missing"))?;
    *signature = SignatureCheck::Failed;
    if auth.access_key != SIM_ACCESS_KEY {
        return Err(refuse(
            401,
            "InvalidAccessKey",
            "the AccessKey ID is not found; use the simulator's test credentials",
        ));
    }
    let signed_at = NaiveDateTime::parse_from_str(x_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| refuse(400, "InvalidTimestamp", "X-Date is not YYYYMMDDThhmmssZ"))?;
    let skew = now
        .naive_utc()
        .signed_duration_since(signed_at)
        .num_seconds();
    if skew.abs() > MAX_SKEW_SECONDS {
        return Err(refuse(
            400,
            "InvalidTimestamp",
            format!("the signature of the request is expired: X-Date is {skew} s from server time"),
        ));
    }
    let mismatch = |why: &str| {
        refuse(
            401,
            "SignatureDoesNotMatch",
            format!("the request signature does not match: {why}"),
        )
    };
    if auth.service != SERVICE || !x_date.starts_with(auth.date) || auth.date.len() != 8 {
        return Err(mismatch(
            "the credential scope is not <X-Date's date>/<region>/ecs/request",
        ));
    }
    let names: Vec<&str> = auth.signed_headers.split(';').collect();
    let sent_unsigned =
        request.header("x-security-token").is_some() && !names.contains(&"x-security-token");
    if ["host", "x-content-sha256", "x-date"]
        .iter()
        .any(|n| !names.contains(n))
        || sent_unsigned
    {
        return Err(mismatch(
            "host, x-content-sha256, x-date and any x-security-token must be signed",
        ));
    }
    let mut headers = Vec::new();
    for name in &names {
        let value = request
            .header(name)
            .ok_or_else(|| mismatch(&format!("the signed header {name} is missing")))?;
        headers.push((*name, value));
    }
    if request.header("x-content-sha256") != Some(hex_sha256(&request.body).as_str()) {
        return Err(mismatch("X-Content-Sha256 is not the body's SHA-256"));
    }
    let expected = sign_v4(
        &V4Request {
            method: &request.method,
            path: &request.path,
            query: params,
            headers: &headers,
            body: &request.body,
            region: auth.region,
            x_date,
        },
        SIM_ACCESS_KEY,
        SIM_SECRET_KEY,
    );
    if !constant_time_eq(&expected.authorization, raw) {
        return Err(mismatch("check the SecretAccessKey and the signing steps"));
    }
    *signature = SignatureCheck::Ok;
    Ok(())
}

/// `InstanceIds.N` in N order; N counts from 1.
fn instance_ids(params: &[(String, String)]) -> Result<Vec<String>, Refusal> {
    let mut ids = BTreeMap::new();
    for (key, id) in params {
        let Some(n) = key.strip_prefix("InstanceIds.") else {
            continue;
        };
        let n = n.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            refuse(
                400,
                "InvalidArgument",
                format!("`{key}`: list indexes count from 1"),
            )
        })?;
        ids.insert(n, id.clone());
    }
    Ok(ids.into_values().collect())
}

/// The ids of a start or describe call, held to ECS's rules.
fn checked_ids(params: &[(String, String)]) -> Result<Vec<String>, Refusal> {
    let ids = instance_ids(params)?;
    if ids.is_empty() {
        return Err(refuse(
            400,
            "MissingParameter",
            "the parameter InstanceIds is missing",
        ));
    }
    if ids.len() > MAX_IDS {
        return Err(refuse(
            400,
            "InvalidArgument",
            format!("InstanceIds takes at most {MAX_IDS} ids, got {}", ids.len()),
        ));
    }
    if let Some(bad) = ids.iter().find(|id| VolcengineEcs.validate_id(id).is_err()) {
        return Err(refuse(
            400,
            "InvalidArgument",
            format!("the instance id `{bad}` is malformed"),
        ));
    }
    Ok(ids)
}

/// What a `ClientToken` makes of a start or stop.
enum Token<'a> {
    /// Not seen before (or none sent): act, and remember the answer under it.
    Fresh(Option<&'a str>),
    /// Seen before with the same parameters: its first answer again, and nothing done twice.
    Replay(Value),
}

/// Checks `ClientToken` and looks it up. A token seen before gets its first answer again; while
/// that request is still being processed, 412 IdempotentProcessing; with other parameters (other
/// ids, another action, another ForceStop), 400 IdempotentParameterMismatch.
fn client_token<'a>(
    params: &'a [(String, String)],
    request: &[String],
    fleet: &Fleet,
) -> Result<Token<'a>, Refusal> {
    let Some(token) = param(params, "ClientToken") else {
        return Ok(Token::Fresh(None));
    };
    if token.is_empty() || token.len() > 64 || !token.is_ascii() {
        return Err(refuse(
            400,
            "InvalidClientToken.Malformed",
            "ClientToken must be 1 to 64 ASCII characters",
        ));
    }
    match fleet.idempotent_actions(token) {
        None => Ok(Token::Fresh(Some(token))),
        Some((seen, _, _)) if seen.as_slice() != request => Err(refuse(
            400,
            "IdempotentParameterMismatch",
            "the ClientToken was used with other parameters",
        )),
        Some((_, _, age)) if age < IDEMPOTENT_PROCESSING => Err(refuse(
            412,
            "IdempotentProcessing",
            "a request with the same ClientToken is still being processed",
        )),
        Some((_, answer, _)) => Ok(Token::Replay(answer.clone())),
    }
}

/// What a request asks, for comparing requests that carry the same `ClientToken`: every
/// parameter but the token (the action included), sorted.
fn fingerprint(params: &[(String, String)]) -> Vec<String> {
    let mut asked: Vec<String> = (params.iter())
        .filter(|(key, _)| key != "ClientToken")
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    asked.sort();
    asked
}

/// ECS's code for `class` in an answer to `action`, from the provider's vocabulary.
fn code(action: Action, class: ErrorClass) -> &'static str {
    let code = PROFILE.vocabulary().code_in(action, class);
    code.unwrap_or("InternalError")
}

/// The HTTP status a seeded `code` refuses a whole `action` call with, for the codes the gateway
/// answers that way (a lock: 412; no capacity: 500); `None` for the codes ECS reports per
/// machine in `OperationDetails`.
fn whole_call_status(action: Action, code: &str) -> Option<u16> {
    match PROFILE.vocabulary().class_in(action, code)? {
        ErrorClass::Busy => Some(412),
        ErrorClass::Capacity => Some(500),
        _ => None,
    }
}

/// StartInstances or StopInstances: HTTP 200 whatever happens to each machine, one
/// `OperationDetails` entry per machine saying how it fared (an entry without `Error` was
/// accepted); a lock or a capacity refusal concerns the whole call instead. `act` says which
/// machines the action applies to and does it.
fn act_on_each(
    action: Action,
    params: &[(String, String)],
    fleet: &mut Fleet,
    act: impl Fn(&mut Fleet, &str) -> bool,
) -> Result<Value, Refusal> {
    let ids = checked_ids(params)?;
    let request = fingerprint(params);
    let token = match client_token(params, &request, fleet)? {
        Token::Replay(answer) => return Ok(answer),
        Token::Fresh(token) => token,
    };
    let seeded = |fleet: &mut Fleet, ids: &[String]| match action {
        Action::Start => fleet.start_error(ids),
        Action::Stop => fleet.stop_error(ids),
    };
    if let Some((id, code)) = seeded(fleet, &ids) {
        if let Some(status) = whole_call_status(action, &code) {
            let message = format!("the instance {id} cannot {} now", action.name());
            return Err(refuse(status, code, message));
        }
    }
    let details: Vec<Value> = ids
        .iter()
        .map(|id| {
            let error = match (
                fleet.get(id).is_some(),
                seeded(fleet, std::slice::from_ref(id)),
            ) {
                (false, _) => (
                    code(action, ErrorClass::NotFound).to_string(),
                    "The specified instance does not exist.".to_string(),
                ),
                (true, Some((_, code))) => {
                    (code, format!("the instance {id} cannot {}", action.name()))
                }
                (true, None) if act(fleet, id) => return json!({ "InstanceId": id }),
                (true, None) => (
                    code(action, ErrorClass::WrongState).to_string(),
                    "The status of the specified instance does not support this request.".into(),
                ),
            };
            json!({ "InstanceId": id, "Error": { "Code": error.0, "Message": error.1 } })
        })
        .collect();
    let result = json!({ "OperationDetails": details });
    if let Some(token) = token {
        fleet.remember_start(token, request, result.clone());
    }
    Ok(result)
}

/// StartInstances: only a STOPPED machine starts; every other state is InvalidInstanceStatus.
fn start(
    params: &[(String, String)],
    fleet: &mut Fleet,
    request_id: &str,
) -> Result<Value, Refusal> {
    act_on_each(Action::Start, params, fleet, |fleet, id| {
        let startable = fleet.get(id).is_some_and(|m| m.phase.startable());
        if startable {
            fleet.start(id, request_id);
        }
        startable
    })
}

/// StopInstances: only a RUNNING machine stops; every other state, STOPPED and STOPPING
/// included, is InvalidInstanceStatus (BytePlus StopInstance error table). `ForceStop` is a
/// boolean (`false`, a normal shutdown, when absent); `StoppedMode` is `KeepCharging` or
/// `StopCharging` (absent or empty: the normal mode), else 400 InvalidStoppedMode.Malformed.
fn stop(
    params: &[(String, String)],
    fleet: &mut Fleet,
    request_id: &str,
) -> Result<Value, Refusal> {
    let forced = match param(params, "ForceStop") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            let message = format!("ForceStop `{other}` is not true or false");
            return Err(refuse(400, "InvalidArgument", message));
        }
    };
    if let Some(mode) = param(params, "StoppedMode").filter(|m| !m.is_empty()) {
        if !matches!(mode, "KeepCharging" | "StopCharging") {
            return Err(refuse(
                400,
                "InvalidStoppedMode.Malformed",
                "The specified StoppedMode is malformed.",
            ));
        }
    }
    act_on_each(Action::Stop, params, fleet, |fleet, id| {
        let stoppable = fleet.get(id).is_some_and(|m| m.phase.stoppable());
        if stoppable {
            fleet.stop(id, request_id, forced);
        }
        stoppable
    })
}

/// The `Status` DescribeInstances shows for `phase`. ECS documents no state for a failed stop:
/// a machine whose OS ignored the shutdown is RUNNING again (see [`describe`]); a failed start is
/// ERROR, the state the official Terraform provider gives up on.
fn status(phase: &MachinePhase) -> &str {
    PROFILE.state_name(phase).unwrap_or_else(|| match phase {
        MachinePhase::StopFailed => PROFILE.running_state(),
        _ => PROFILE.vocabulary().state(Phase::Failed).unwrap_or("ERROR"),
    })
}

fn describe(params: &[(String, String)], fleet: &mut Fleet) -> Result<Value, Refusal> {
    // Without `InstanceIds` ECS lists the account's machines (`config check --online`'s read):
    // the simulator keeps no list of machines nobody named, so that page is empty.
    let ids = match instance_ids(params)? {
        ids if ids.is_empty() => ids,
        _ => checked_ids(params)?,
    };
    let number = |name: &str, default: usize, range: std::ops::RangeInclusive<usize>| match param(
        params, name,
    )
    .filter(|v| !v.is_empty())
    {
        None => Ok(default),
        Some(v) => v.parse().ok().filter(|n| range.contains(n)).ok_or_else(|| {
            refuse(
                400,
                "InvalidArgument",
                format!("{name} `{v}` is out of range"),
            )
        }),
    };
    let max_results = number("MaxResults", DEFAULT_MAX_RESULTS, 1..=MAX_IDS)?;
    // NextToken is the offset of the next page, opaque to clients.
    let offset = number("NextToken", 0, 0..=ids.len())?;
    let instances: Vec<Value> = ids
        .iter()
        .filter_map(|id| {
            let machine = fleet.get(id)?;
            // A stop the OS ignored is seen STOPPING once more before it shows RUNNING again:
            // with a short stop delay the client's first poll would otherwise miss the
            // transition that tells a failed stop from one that has not begun.
            let status = if machine.phase == MachinePhase::StopFailed {
                machine.phase = MachinePhase::Running;
                PROFILE.stopping_state()
            } else {
                status(&machine.phase)
            };
            let addresses = machine.addresses();
            let suffix = id.strip_prefix("i-").unwrap_or(id);
            // Without an EIP, both of its fields are empty strings.
            let eip = match addresses.public.first() {
                Some(ip) => json!({ "AllocationId": format!("eip-{suffix}"), "IpAddress": ip }),
                None => json!({ "AllocationId": "", "IpAddress": "" }),
            };
            let interfaces: Vec<Value> = (addresses.private.iter())
                .map(|ip| {
                    json!({
                        "NetworkInterfaceId": format!("eni-{suffix}"),
                        "PrimaryIpAddress": ip,
                        "Type": "primary",
                    })
                })
                .collect();
            Some(json!({
                "InstanceId": id,
                "Status": status,
                "ZoneId": PROFILE.machine_zone,
                "EipAddress": eip,
                "NetworkInterfaces": interfaces,
            }))
        })
        .collect();
    let total = instances.len();
    let page: Vec<Value> = instances
        .into_iter()
        .skip(offset)
        .take(max_results)
        .collect();
    let next = offset + page.len();
    let next_token = if next < total {
        next.to_string()
    } else {
        String::new()
    };
    Ok(json!({ "Instances": page, "NextToken": next_token, "TotalCount": total }))
}

#[cfg(test)]
mod tests;
