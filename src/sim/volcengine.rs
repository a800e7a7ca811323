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
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::credentials::{Credentials, Secret};
    use crate::provider::Action;
    use crate::provider::{ActionOptions, ApiCall, Location};
    use crate::sim::Boot;
    use crate::sim::SeedMachine;

    fn location() -> Location {
        Location {
            region: Some("cn-beijing".into()),
            zone: None,
        }
    }

    fn credentials(key_id: &str, secret: &str, token: Option<&str>) -> Credentials {
        Credentials {
            key_id: key_id.into(),
            secret: Secret::new(secret),
            token: token.map(Secret::new),
        }
    }

    /// `call` signed by the provider and received as `host`, `age` ago.
    fn received(call: &ApiCall, host: &str, credentials: &Credentials, age: i64) -> SimRequest {
        let now = Utc::now() - chrono::Duration::seconds(age);
        let signed = VolcengineEcs.sign(call, host, &location(), credentials, now);
        let (path, query) = signed.path_and_query.split_once('?').unwrap();
        SimRequest {
            method: signed.method.as_str().into(),
            path: path.into(),
            query: query.into(),
            headers: (signed.headers.iter())
                .map(|h| (h.name.to_ascii_lowercase(), h.value.clone()))
                .collect(),
            body: signed.body,
        }
    }

    fn send(fleet: &mut Fleet, call: &ApiCall) -> (u16, Value) {
        let good = credentials(SIM_ACCESS_KEY, SIM_SECRET_KEY, None);
        let reply = VolcengineDialect.handle(&received(call, "127.0.0.1:4567", &good, 0), fleet);
        (reply.status, reply.body)
    }

    fn ids(ns: &[usize]) -> Vec<String> {
        ns.iter().map(|n| (PROFILE.example_id)(*n)).collect()
    }

    fn start(ns: &[usize], token: &str) -> ApiCall {
        let options = ActionOptions {
            client_token: token.into(),
            ..ActionOptions::default()
        };
        VolcengineEcs.action_call(Action::Start, &ids(ns), &location(), &options)
    }

    fn describe(ns: &[usize]) -> ApiCall {
        VolcengineEcs.describe_call(&ids(ns), &location())
    }

    fn statuses(body: &Value) -> Vec<String> {
        let instances = body["Result"]["Instances"].as_array().unwrap();
        instances
            .iter()
            .map(|i| i["Status"].as_str().unwrap().into())
            .collect()
    }

    fn errors(body: &Value) -> Vec<String> {
        let details = body["Result"]["OperationDetails"].as_array().unwrap();
        let code = |d: &Value| {
            d["Error"]["Code"]
                .as_str()
                .unwrap_or("accepted")
                .to_string()
        };
        details.iter().map(code).collect()
    }

    fn fleet() -> Fleet {
        let mut fleet = Fleet::new(Duration::from_secs(3600), Duration::from_secs(3600));
        for (n, state) in [(2, "RUNNING"), (3, "not_found")] {
            let seed = SeedMachine {
                state: Some(state.into()),
                boot: Boot::Normal,
                ..Default::default()
            };
            fleet
                .seed(&VolcengineDialect, &ids(&[n])[0], &seed)
                .unwrap();
        }
        fleet
    }

    #[test]
    fn start_answers_200_with_a_result_for_each_machine() {
        let mut fleet = fleet();
        let (status, body) = send(&mut fleet, &start(&[1, 2, 3], "tok-each"));
        assert_eq!(status, 200, "{body}");
        let codes = [
            "accepted",
            "InvalidInstanceStatus",
            "InvalidInstance.NotFound",
        ];
        assert_eq!(errors(&body), codes);
        assert_eq!(body["ResponseMetadata"]["Region"], "cn-beijing");
        let (_, body) = send(&mut fleet, &describe(&[1, 2, 3]));
        assert_eq!(statuses(&body), ["STARTING", "RUNNING"]);
    }

    /// The simulator's clock is tokio's, so paused time ages the first request without a sleep.
    #[tokio::test(start_paused = true)]
    async fn a_client_token_seen_before_gets_its_first_answer_without_acting_again() {
        let mut fleet = fleet();
        let (_, first) = send(&mut fleet, &start(&[4], "tok-replay"));
        // At once, the first request is still being processed.
        let (status, busy) = send(&mut fleet, &start(&[4], "tok-replay"));
        assert_eq!(status, 412);
        assert_eq!(
            busy["ResponseMetadata"]["Error"]["Code"],
            "IdempotentProcessing"
        );
        // Starting now, so a fresh token would be refused; the replay is not.
        tokio::time::advance(IDEMPOTENT_PROCESSING).await;
        let (_, again) = send(&mut fleet, &start(&[4], "tok-replay"));
        assert_eq!(again["Result"], first["Result"]);
        assert_eq!(
            errors(&send(&mut fleet, &start(&[4], "tok-new")).1),
            ["InvalidInstanceStatus"]
        );
        let (status, body) = send(&mut fleet, &start(&[5], "tok-replay"));
        assert_eq!(status, 400);
        assert_eq!(
            body["ResponseMetadata"]["Error"]["Code"],
            "IdempotentParameterMismatch"
        );
    }

    #[test]
    fn locks_and_capacity_refuse_the_whole_call_with_their_status() {
        for (code, status) in [
            ("OperationDenied.ResourceLocked", 412),
            ("OperationDenied.InstanceIsCreatingImage", 412),
            ("Insufficient.InstanceCapacity", 500),
        ] {
            let mut fleet = Fleet::new(Duration::ZERO, Duration::ZERO);
            let machine = crate::sim::SeedMachine {
                start_error: Some(code.into()),
                ..Default::default()
            };
            fleet
                .seed(&VolcengineDialect, &ids(&[6])[0], &machine)
                .unwrap();
            let (answered, body) = send(&mut fleet, &start(&[6], "tok-lock"));
            assert_eq!(answered, status, "{code}");
            assert_eq!(body["ResponseMetadata"]["Error"]["Code"], code);
        }
    }

    fn stop(ns: &[usize], token: &str, force: bool) -> ApiCall {
        let options = ActionOptions {
            client_token: token.into(),
            force,
            ..ActionOptions::default()
        };
        VolcengineEcs.action_call(Action::Stop, &ids(ns), &location(), &options)
    }

    /// `call` with its query parameter `name` set to `value` (or left out, for `None`).
    fn with_param(mut call: ApiCall, name: &str, value: Option<&str>) -> ApiCall {
        call.query.retain(|(k, _)| k != name);
        if let Some(value) = value {
            call.query.push((name.into(), value.into()));
        }
        call
    }

    #[test]
    fn stop_answers_200_with_a_result_for_each_machine() {
        let mut fleet = fleet();
        let stopping = SeedMachine {
            state: Some("STOPPING".into()),
            ..Default::default()
        };
        fleet
            .seed(&VolcengineDialect, &ids(&[4])[0], &stopping)
            .unwrap();
        let (status, body) = send(&mut fleet, &stop(&[1, 2, 3, 4], "tok-stop", false));
        assert_eq!(status, 200, "{body}");
        // Stopped, stopping or gone: every machine but the running one is refused.
        let codes = [
            "InvalidInstanceStatus",
            "accepted",
            "InvalidInstance.NotFound",
            "InvalidInstanceStatus",
        ];
        assert_eq!(errors(&body), codes);
        assert_eq!(body["ResponseMetadata"]["Action"], "StopInstances");
        let (_, body) = send(&mut fleet, &describe(&[1, 2, 4]));
        assert_eq!(statuses(&body), ["STOPPED", "STOPPING", "STOPPING"]);
    }

    #[test]
    fn stop_parameters_take_the_documented_values_only() {
        let table = [
            ("ForceStop", Some("maybe"), 400, "InvalidArgument"),
            ("ForceStop", None, 200, ""),
            (
                "StoppedMode",
                Some("Free"),
                400,
                "InvalidStoppedMode.Malformed",
            ),
            ("StoppedMode", Some(""), 200, ""),
            ("StoppedMode", Some("KeepCharging"), 200, ""),
            ("StoppedMode", Some("StopCharging"), 200, ""),
        ];
        for (name, value, status, code) in table {
            let mut fleet = fleet();
            let call = with_param(stop(&[2], "tok-param", false), name, value);
            let (answered, body) = send(&mut fleet, &call);
            let error = body["ResponseMetadata"]["Error"]["Code"].as_str();
            assert_eq!(
                (answered, error.unwrap_or("")),
                (status, code),
                "{name}={value:?}"
            );
            if status == 200 {
                assert_eq!(errors(&body), ["accepted"]);
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_s_client_token_replays_the_stop_and_no_other_request() {
        let mut fleet = fleet();
        let (_, first) = send(&mut fleet, &stop(&[2], "tok-stop", false));
        tokio::time::advance(IDEMPOTENT_PROCESSING).await;
        // STOPPING now, so a fresh token would be refused; the replay is not.
        let (_, again) = send(&mut fleet, &stop(&[2], "tok-stop", false));
        assert_eq!(again["Result"], first["Result"]);
        assert_eq!(errors(&first), ["accepted"]);
        // The same token with another ForceStop, or for a start, is another request.
        for call in [stop(&[2], "tok-stop", true), start(&[2], "tok-stop")] {
            let (status, body) = send(&mut fleet, &call);
            assert_eq!(
                (status, &body["ResponseMetadata"]["Error"]["Code"]),
                (400, &json!("IdempotentParameterMismatch"))
            );
        }
    }

    #[test]
    fn locks_refuse_the_whole_stop_and_other_seeded_codes_one_machine() {
        for (code, status) in [
            ("OperationDenied.ResourceLocked", 412),
            ("OperationDenied.InstanceIsCreatingImage", 412),
            ("InvalidInstance.RequestForbidden", 200),
        ] {
            let mut fleet = Fleet::new(Duration::ZERO, Duration::ZERO);
            let machine = SeedMachine {
                state: Some("RUNNING".into()),
                stop_error: Some(code.into()),
                ..Default::default()
            };
            fleet
                .seed(&VolcengineDialect, &ids(&[6])[0], &machine)
                .unwrap();
            let (answered, body) = send(&mut fleet, &stop(&[6, 7], "tok-lock", false));
            assert_eq!(answered, status, "{code}");
            if status == 200 {
                // Machine 7 (stopped) is refused for its state, 6 for the seeded code.
                assert_eq!(errors(&body), [code, "InvalidInstanceStatus"]);
            } else {
                assert_eq!(body["ResponseMetadata"]["Error"]["Code"], code);
            }
            let (_, body) = send(&mut fleet, &describe(&[6]));
            assert_eq!(statuses(&body), ["RUNNING"], "{code}");
        }
    }

    #[test]
    fn a_normal_stop_the_os_ignores_falls_back_to_running_and_a_forced_one_stops() {
        let mut fleet = Fleet::new(Duration::ZERO, Duration::ZERO);
        let stubborn = SeedMachine {
            state: Some("RUNNING".into()),
            shutdown: Boot::Fail,
            ..Default::default()
        };
        fleet
            .seed(&VolcengineDialect, &ids(&[8])[0], &stubborn)
            .unwrap();
        let (_, body) = send(&mut fleet, &stop(&[8], "tok-soft", false));
        assert_eq!(errors(&body), ["accepted"]);
        // Seen stopping once, however short the stop delay, then running again.
        for status in ["STOPPING", "RUNNING", "RUNNING"] {
            let (_, body) = send(&mut fleet, &describe(&[8]));
            assert_eq!(statuses(&body), [status]);
        }
        let (_, body) = send(&mut fleet, &stop(&[8], "tok-hard", true));
        assert_eq!(errors(&body), ["accepted"]);
        let (_, body) = send(&mut fleet, &describe(&[8]));
        assert_eq!(statuses(&body), ["STOPPED"]);
        // Without an EIP bound while stopped, the EIP fields are empty strings.
        assert_eq!(
            body["Result"]["Instances"][0]["EipAddress"]["IpAddress"],
            ""
        );
    }

    #[test]
    fn describe_honours_max_results_and_refuses_more_than_100_ids() {
        let mut fleet = Fleet::new(Duration::ZERO, Duration::ZERO);
        let mut call = describe(&(0..12).collect::<Vec<_>>());
        call.query.retain(|(k, _)| k != "MaxResults");
        let (_, body) = send(&mut fleet, &call);
        assert_eq!(statuses(&body).len(), DEFAULT_MAX_RESULTS);
        assert_eq!(
            (&body["Result"]["TotalCount"], &body["Result"]["NextToken"]),
            (&json!(12), &json!("10"))
        );
        call.query.push(("NextToken".into(), "10".into()));
        assert_eq!(statuses(&send(&mut fleet, &call).1).len(), 2);
        let (status, body) = send(&mut fleet, &describe(&(0..101).collect::<Vec<_>>()));
        assert_eq!(
            (status, &body["ResponseMetadata"]["Error"]["Code"]),
            (400, &json!("InvalidArgument"))
        );
    }

    #[test]
    fn refusals_carry_the_gateway_status_code_and_envelope() {
        let good = credentials(SIM_ACCESS_KEY, SIM_SECRET_KEY, None);
        let wrong_secret = credentials(SIM_ACCESS_KEY, "wrong", None);
        let unknown_key = credentials("AKLTunknown", SIM_SECRET_KEY, None);
        let call = describe(&[1]);
        let mut token_unsigned = received(&call, "h", &good, 0);
        let token = ("x-security-token".to_string(), "t".to_string());
        token_unsigned.headers.push(token);
        let mut unauthorized = received(&call, "h", &good, 0);
        unauthorized.headers.retain(|(n, _)| n != "authorization");
        // A start must name its machines; a describe without ids is a list (below).
        let mut no_ids = call.clone();
        no_ids.query.retain(|(k, _)| !k.starts_with("InstanceIds"));
        no_ids.query[0].1 = "StartInstances".into();
        let mut unknown_action = call.clone();
        unknown_action.query[0].1 = "RebootInstances".into();
        let cases = [
            (
                received(&call, "h", &wrong_secret, 0),
                401,
                "SignatureDoesNotMatch",
            ),
            (
                received(&call, "h", &unknown_key, 0),
                401,
                "InvalidAccessKey",
            ),
            (
                received(&call, "h", &good, 20 * 60),
                400,
                "InvalidTimestamp",
            ),
            (unauthorized, 401, "MissingAuthenticationToken"),
            (token_unsigned, 401, "SignatureDoesNotMatch"),
            (received(&no_ids, "h", &good, 0), 400, "MissingParameter"),
            (
                received(&unknown_action, "h", &good, 0),
                404,
                "InvalidActionOrVersion",
            ),
        ];
        for (request, status, code) in cases {
            let reply =
                VolcengineDialect.handle(&request, &mut Fleet::new(Duration::ZERO, Duration::ZERO));
            let error = &reply.body["ResponseMetadata"]["Error"];
            assert_eq!((reply.status, error["Code"].as_str()), (status, Some(code)));
            assert!(reply.body["ResponseMetadata"]["RequestId"].is_string());
            assert_eq!(error["CodeN"].is_u64(), code_n(code).is_some(), "{code}");
        }
    }

    #[test]
    fn plain_and_ported_hosts_and_session_tokens_verify() {
        let with_token = credentials(SIM_ACCESS_KEY, SIM_SECRET_KEY, Some("sts/token+x="));
        for host in [
            "open.volcengineapi.com",
            "open.volcengineapi.com:443",
            "127.0.0.1:4567",
        ] {
            for credentials in [
                credentials(SIM_ACCESS_KEY, SIM_SECRET_KEY, None),
                with_token.clone(),
            ] {
                let request = received(&describe(&[1]), host, &credentials, 0);
                let reply = VolcengineDialect
                    .handle(&request, &mut Fleet::new(Duration::ZERO, Duration::ZERO));
                assert_eq!(
                    (reply.status, reply.signature),
                    (200, SignatureCheck::Ok),
                    "{host}"
                );
            }
        }
    }
}
