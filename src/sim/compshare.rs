//! The simulator's UCloud CompShare dialect: VerifyAC verification, `StartCompShareInstance`,
//! `StopCompShareInstance`, `DescribeCompShareInstance`, and UCloud's HTTP-200 `RetCode` envelope,
//! as in `../shared/providers/compshare.md`.
//!
//! CompShare publishes no error-code table for its instance calls; the codes here are the ones
//! UCloud's gateway is known to use (160, 161, 171, 172, 230), plus product codes: 8905 (UHost's
//! power-state refusal, answered to a start or stop of a machine in the wrong power state) and,
//! chosen by the simulator, 8010 (not found) and 8200 (the documented lock,
//! `InstanceOperationInProgress`, which has no documented code).
//!
//! A start or stop takes one instance and holds its operation lock until it finishes: another
//! operation meanwhile is refused with the lock. A stop that fails leaves the machine `Running`:
//! CompShare documents no state for it.

use serde_json::{json, Value};

use super::{Dialect, Fleet, MachinePhase, Profile, SignatureCheck, SimReply, SimRequest};
use crate::provider::compshare::{
    verify_ac_sign, CONTENT_TYPE, DESCRIBE_ACTION, MAX_DESCRIBE_IDS, OPERATION_LOCK,
    REQUEST_ID_HEADER, START_ACTION, STOP_ACTION,
};
use crate::provider::compshare::{COMPSHARE_PRIVATE_KEY, COMPSHARE_PUBLIC_KEY};
use crate::provider::{Action, ErrorClass, Phase, Provider, UcloudCompshare};
use crate::sign::{constant_time_eq, form_pairs};

/// The only public key the simulator knows.
const SIM_PUBLIC_KEY: &str = "cloudstartSIMULATOR-compshare-public-key";
/// Its private key.
const SIM_PRIVATE_KEY: &str = "cloudstartSIMULATOR-compshare-private-key";
const REGION: &str = "cn-wlcb";
const ZONE: &str = "cn-wlcb-01";

static PROFILE: Profile = Profile {
    provider: "compshare",
    credentials: &[
        (COMPSHARE_PUBLIC_KEY, SIM_PUBLIC_KEY),
        (COMPSHARE_PRIVATE_KEY, SIM_PRIVATE_KEY),
    ],
    region: Some(REGION),
    zone: Some(ZONE),
    machine_zone: ZONE,
    example_id: |n| format!("uhost-{n:08}"),
};

/// `Limit` when a describe gives none.
const DEFAULT_LIMIT: usize = 20;

pub(crate) struct CompshareDialect;

/// A request that ends in UCloud's error envelope.
struct Refusal {
    code: i64,
    message: String,
}

fn refuse(code: i64, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

fn missing(name: &str) -> Refusal {
    refuse(160, format!("Missing params [{name}]"))
}

fn not_available(name: &str) -> Refusal {
    refuse(230, format!("Params [{name}] not available"))
}

/// The request's form parameters, in sending order.
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn require(&self, key: &str) -> Result<&str, Refusal> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| missing(key))
    }

    /// `UHostIds.0`, `UHostIds.1`, … in index order (the SDK's zero-based list flattening).
    fn host_ids(&self) -> Vec<String> {
        let mut listed: Vec<(usize, String)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix("UHostIds.")?.parse().ok()?;
                Some((n, v.clone()))
            })
            .collect();
        listed.sort_by_key(|(n, _)| *n);
        listed.into_iter().map(|(_, id)| id).collect()
    }
}

impl Dialect for CompshareDialect {
    fn profile(&self) -> &'static Profile {
        &PROFILE
    }

    fn action(&self, request: &SimRequest) -> String {
        read_params(request)
            .ok()
            .and_then(|params| params.get("Action").map(str::to_string))
            .unwrap_or_default()
    }

    fn handle(&self, request: &SimRequest, fleet: &mut Fleet) -> SimReply {
        let request_id = fleet.request_id();
        let mut reply = SimReply {
            headers: vec![(REQUEST_ID_HEADER.to_string(), request_id.clone())],
            ..SimReply::new("")
        };
        let result = read_params(request).and_then(|params| {
            reply.action = params.get("Action").unwrap_or("").to_string();
            reply.ids = params
                .get("UHostId")
                .map(str::to_string)
                .into_iter()
                .collect();
            reply.ids.extend(params.host_ids());
            verify(&params, &mut reply.signature)?;
            match reply.action.as_str() {
                START_ACTION => start(&params, fleet, &request_id),
                STOP_ACTION => stop(&params, fleet, &request_id),
                DESCRIBE_ACTION => describe(&params, fleet),
                other => Err(refuse(161, format!("Action [{other}] not exist"))),
            }
        });
        answer(&mut reply, result);
        reply
    }

    fn throttled(&self, action: &str, fleet: &mut Fleet) -> SimReply {
        // UCloud's common RetCode 153, in an HTTP 200 answer like every other RetCode.
        let mut reply = SimReply {
            headers: vec![(REQUEST_ID_HEADER.to_string(), fleet.request_id())],
            ..SimReply::new(action)
        };
        let code = PROFILE
            .vocabulary()
            .code(ErrorClass::Throttled)
            .unwrap_or("153");
        let code = code.parse().unwrap_or(153);
        answer(&mut reply, Err(refuse(code, "API request throttled")));
        reply
    }
}

/// UCloud's envelope: HTTP 200 (unless set) with `RetCode`, `Action` and the result or `Message`.
fn answer(reply: &mut SimReply, result: Result<Value, Refusal>) {
    let mut body = match result {
        Ok(mut body) => {
            body["RetCode"] = json!(0);
            body
        }
        Err(refusal) => {
            reply.error_code = Some(refusal.code.to_string());
            json!({ "RetCode": refusal.code, "Message": refusal.message })
        }
    };
    body["Action"] = json!(format!("{}Response", reply.action));
    reply.body = body;
}

/// The form body of `POST /`, decoded.
fn read_params(request: &SimRequest) -> Result<Params, Refusal> {
    let form = request
        .header("content-type")
        .is_some_and(|value| value.split(';').next().map(str::trim) == Some(CONTENT_TYPE));
    if request.method != "POST" || request.path != "/" || !form {
        return Err(refuse(
            160,
            format!("the simulator takes POST / with a {CONTENT_TYPE} body"),
        ));
    }
    let text =
        std::str::from_utf8(&request.body).map_err(|_| refuse(160, "the body is not UTF-8"))?;
    Ok(Params(form_pairs(text)))
}

/// Checks the action, the public key and the VerifyAC signature, as UCloud's gateway does
/// before any product sees the request. Nothing signed is timed, so nothing can be stale.
fn verify(params: &Params, signature: &mut SignatureCheck) -> Result<(), Refusal> {
    params.require("Action")?;
    let public_key = params
        .get("PublicKey")
        .ok_or_else(|| refuse(172, "Missing or unknown PublicKey"))?;
    let Some(sent) = params.get("Signature") else {
        return Err(refuse(170, "Missing signature"));
    };
    *signature = SignatureCheck::Failed;
    if public_key != SIM_PUBLIC_KEY {
        return Err(refuse(172, "Missing or unknown PublicKey"));
    }
    let expected = verify_ac_sign(&params.0, SIM_PRIVATE_KEY);
    if !constant_time_eq(&expected.signature, sent) {
        return Err(refuse(171, "Signature VerifyAC Error"));
    }
    *signature = SignatureCheck::Ok;
    Ok(())
}

/// Region must be the simulator's; the zone too, where it is `required` or given.
fn check_location(params: &Params, zone_required: bool) -> Result<(), Refusal> {
    if params.require("Region")? != REGION {
        return Err(not_available("Region"));
    }
    let zone = if zone_required {
        Some(params.require("Zone")?)
    } else {
        params.get("Zone")
    };
    if zone.is_some_and(|zone| zone != ZONE) {
        return Err(not_available("Zone"));
    }
    Ok(())
}

fn start(params: &Params, fleet: &mut Fleet, request_id: &str) -> Result<Value, Refusal> {
    // `WithoutGpu` (docs only): start without a GPU, at a lower price.
    act(Action::Start, "WithoutGpu", params, fleet, request_id)
}

/// `StopCompShareInstance`: `Force` (a boolean, default false) is what stops a preemptible
/// instance; the simulator has none, so it only checks the value (compshare.cn/docs/gpus/instance/
/// stopcompshareinstance).
fn stop(params: &Params, fleet: &mut Fleet, request_id: &str) -> Result<Value, Refusal> {
    act(Action::Stop, "Force", params, fleet, request_id)
}

/// A start or stop of the one `UHostId`, with its boolean option `flag`. Only a `Stopped`
/// machine starts and only a `Running` one stops; a machine another operation holds is locked,
/// anything else is a power-state error.
fn act(
    action: Action,
    flag: &str,
    params: &Params,
    fleet: &mut Fleet,
    request_id: &str,
) -> Result<Value, Refusal> {
    check_location(params, true)?;
    // One instance per call: the API has no batch form.
    let id = params.require("UHostId")?;
    if UcloudCompshare.validate_id(id).is_err() {
        return Err(not_available("UHostId"));
    }
    if params
        .get(flag)
        .is_some_and(|v| v != "true" && v != "false")
    {
        return Err(not_available(flag));
    }
    let (verb, seeded) = match action {
        Action::Start => ("started", fleet.start_error(&[id.to_string()])),
        Action::Stop => ("stopped", fleet.stop_error(&[id.to_string()])),
    };
    if let Some((_, code)) = seeded {
        // A numeric code is the RetCode; a name travels in the message under RetCode 8000.
        return Err(match code.parse() {
            Ok(ret_code) => refuse(ret_code, format!("UHost [{id}] cannot be {verb}")),
            Err(_) => refuse(8000, format!("{code}: UHost [{id}] cannot be {verb}")),
        });
    }
    let Some(machine) = fleet.get(id) else {
        return Err(refuse(8010, format!("UHost [{id}] not found")));
    };
    let phase = machine.phase.clone();
    let accepted = match action {
        Action::Start => phase.startable(),
        Action::Stop => phase.stoppable(),
    };
    if accepted {
        match action {
            Action::Start => fleet.start(id, request_id),
            // `Force=true` powers the machine off, whatever its OS does.
            Action::Stop => fleet.stop(id, request_id, params.get(flag) == Some("true")),
        }
        return Ok(json!({ "UHostId": id }));
    }
    // The operation that moves the machine the other way (or reboots it) holds the lock until
    // it finishes; one that moves it the way asked is a power-state error, as a machine already
    // there is, so a describe tells the caller which.
    let locked_by = match (action, &phase) {
        (Action::Start, MachinePhase::Stopping { .. })
        | (Action::Stop, MachinePhase::Starting { .. }) => Some(state_of(&phase)),
        (_, MachinePhase::Other(state)) if state == "Rebooting" => Some(state.as_str()),
        _ => None,
    };
    Err(match locked_by {
        Some(state) => refuse(8200, format!("{OPERATION_LOCK}: UHost [{id}] is {state}")),
        // UHost's code for a power state that forbids the operation (uhost-api `error_code.md`).
        None => refuse(8905, format!("UHost [{id}] power state error")),
    })
}

/// CompShare's `State` for `phase`: a failed start shows as `Install Fail`, a failed stop leaves
/// the machine `Running` (the documented states have no stop failure).
fn state_of(phase: &MachinePhase) -> &str {
    match phase {
        MachinePhase::StopFailed => PROFILE.running_state(),
        phase => (PROFILE.state_name(phase))
            .or_else(|| PROFILE.vocabulary().state(Phase::Failed))
            .unwrap_or_default(),
    }
}

fn describe(params: &Params, fleet: &mut Fleet) -> Result<Value, Refusal> {
    check_location(params, false)?;
    let ids = params.host_ids();
    if ids.len() > MAX_DESCRIBE_IDS {
        return Err(not_available("UHostIds"));
    }
    let limit = match params.get("Limit") {
        None => DEFAULT_LIMIT,
        Some(limit) => limit
            .parse()
            .ok()
            .filter(|l| (1..=MAX_DESCRIBE_IDS).contains(l))
            .ok_or_else(|| not_available("Limit"))?,
    };
    let mut set = Vec::new();
    for id in &ids {
        if UcloudCompshare.validate_id(id).is_err() {
            continue;
        }
        let Some(machine) = fleet.get(id) else {
            continue;
        };
        let state = state_of(&machine.phase);
        let addresses = machine.addresses();
        let private = (addresses.private.iter())
            .map(|ip| json!({ "IPMode": "IPv4", "Type": "Private", "IP": ip, "Default": "true" }));
        let public = (addresses.public.iter()).map(|ip| {
            json!({ "IPMode": "IPv4", "Type": "Bgp", "IP": ip, "Bandwidth": 100, "Weight": 50 })
        });
        let ip_set: Vec<Value> = private.chain(public).collect();
        set.push(json!({ "UHostId": id, "State": state, "Zone": ZONE, "IPSet": ip_set }));
    }
    let total = set.len();
    set.truncate(limit);
    Ok(json!({ "TotalCount": total, "UHostSet": set }))
}
