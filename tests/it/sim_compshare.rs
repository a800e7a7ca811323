//! The simulator's CompShare dialect holds requests to UCloud's rules: hand-made requests over raw
//! HTTP on loopback, signed with the library's signer and then broken one way at a time; and the
//! binary's CompShare-only behaviour (settings fallbacks, `--without-gpu`, `stop --force`, the
//! operation lock).

use chrono::Utc;
use serde_json::Value;

use cloudstart::credentials::{Credentials, Secret};
use cloudstart::provider::compshare::form_body;
use cloudstart::provider::{
    Action, ActionOptions, ApiCall, Location, Provider, SignedRequest, UcloudCompshare,
};

use crate::support::{self, cloudstart, profiles, report, start_json, stderr, Profile, Sim};

const PUBLIC_KEY: &str = "cloudstartSIMULATOR-compshare-public-key";
const PRIVATE_KEY: &str = "cloudstartSIMULATOR-compshare-private-key";

fn compshare() -> &'static Profile {
    profiles().find(|p| p.provider == "compshare").unwrap()
}

fn location() -> Location {
    Location {
        region: Some("cn-wlcb".into()),
        zone: Some("cn-wlcb-01".into()),
    }
}

fn ids(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

fn host(sim: &Sim) -> &str {
    sim.url("compshare").strip_prefix("http://").unwrap()
}

fn sign_with(sim: &Sim, call: &ApiCall, public_key: &str, private_key: &str) -> SignedRequest {
    let credentials = Credentials {
        key_id: public_key.into(),
        secret: Secret::new(private_key),
        token: None,
    };
    UcloudCompshare.sign(call, host(sim), &location(), &credentials, Utc::now())
}

fn sign(sim: &Sim, call: &ApiCall) -> SignedRequest {
    sign_with(sim, call, PUBLIC_KEY, PRIVATE_KEY)
}

fn start_call(id: &str) -> ApiCall {
    UcloudCompshare.action_call(
        Action::Start,
        &ids(&[id]),
        &location(),
        &ActionOptions::default(),
    )
}

fn stop_call(id: &str, force: bool) -> ApiCall {
    let options = ActionOptions {
        force,
        ..ActionOptions::default()
    };
    UcloudCompshare.action_call(Action::Stop, &ids(&[id]), &location(), &options)
}

fn describe_state(sim: &Sim, id: &str) -> Value {
    let call = UcloudCompshare.describe_call(&ids(&[id]), &location());
    send(sim, &sign(sim, &call)).body["UHostSet"][0]["State"].clone()
}

/// `cloudstart stop -o json` on CompShare at `sim`, with `extra` flags.
fn stop_cmd(sim: &Sim, id: &str, extra: &[&str]) -> std::process::Output {
    let profile = compshare();
    cloudstart(sim.dir())
        .envs(profile.credentials.iter().copied())
        .args(["stop", "-p", "compshare", "-o", "json", "--endpoint"])
        .arg(sim.url("compshare"))
        .args(["--region", profile.region.unwrap()])
        .args(["--zone", profile.zone.unwrap()])
        .args(["--poll-interval", "5ms", "--poll-max", "20ms"])
        .args(extra)
        .arg(id)
        .output()
        .unwrap()
}

/// Drops parameter `name` from `call` (before signing, so the signature still verifies).
fn without(mut call: ApiCall, name: &str) -> ApiCall {
    call.query.retain(|(k, _)| k != name);
    call
}

/// What the dialect answered: status, the request-id header, and the JSON body.
struct Answer {
    status: u16,
    request_id: Option<String>,
    body: Value,
}

impl Answer {
    fn ret_code(&self) -> i64 {
        self.body["RetCode"].as_i64().unwrap()
    }
}

/// Sends `request` over a fresh connection.
fn send(sim: &Sim, request: &SignedRequest) -> Answer {
    let answer = support::send_raw(host(sim), request);
    Answer {
        status: answer.status,
        request_id: answer.header("x-ucloud-request-uuid").map(str::to_string),
        body: answer.json(),
    }
}

fn seed(id: &str, line: &str) -> String {
    format!("[compshare.\"{id}\"]\n{line}\n")
}

#[test]
fn the_profile_s_credentials_are_the_ones_verified() {
    let profile = compshare();
    assert_eq!(
        profile.credential("COMPSHARE_PUBLIC_KEY").as_deref(),
        Some(PUBLIC_KEY)
    );
    assert_eq!(
        profile.credential("COMPSHARE_PRIVATE_KEY").as_deref(),
        Some(PRIVATE_KEY)
    );
}

#[test]
fn a_correctly_signed_start_is_answered_with_a_request_id_header() {
    let sim = Sim::start("");
    let answer = send(&sim, &sign(&sim, &start_call("uhost-a1")));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.ret_code(), 0, "{}", answer.body);
    assert_eq!(answer.body["Action"], "StartCompShareInstanceResponse");
    assert_eq!(answer.body["UHostId"], "uhost-a1");
    assert!(answer.request_id.is_some_and(|id| !id.is_empty()));
    assert_eq!(sim.requests()[0]["signature"], "ok");
}

#[test]
fn an_unknown_public_key_or_a_wrong_signature_is_refused_with_http_200() {
    let sim = Sim::start("");
    let call = start_call("uhost-a1");
    let answer = send(&sim, &sign_with(&sim, &call, "someone-else", PRIVATE_KEY));
    assert_eq!((answer.status, answer.ret_code()), (200, 172));
    assert!(answer.request_id.is_some(), "every answer has a request id");

    let answer = send(&sim, &sign_with(&sim, &call, PUBLIC_KEY, "wrong"));
    assert_eq!((answer.status, answer.ret_code()), (200, 171));
    assert_eq!(answer.body["Message"], "Signature VerifyAC Error");

    let mut tampered = sign(&sim, &call);
    let body = String::from_utf8(tampered.body).unwrap();
    tampered.body = body.replace("uhost-a1", "uhost-b2").into_bytes();
    assert_eq!(send(&sim, &tampered).ret_code(), 171);
    assert!(sim.requests().iter().all(|r| r["signature"] == "failed"));
}

#[test]
fn a_request_without_a_signature_is_refused() {
    let sim = Sim::start("");
    let mut request = sign(&sim, &start_call("uhost-a1"));
    let body = String::from_utf8(request.body).unwrap();
    let unsigned = body.split("&Signature=").next().unwrap().to_string();
    request.body = unsigned.into_bytes();
    assert_eq!(send(&sim, &request).ret_code(), 170);
    assert_eq!(sim.requests()[0]["signature"], "missing");
}

#[test]
fn missing_parameters_are_refused_even_when_signed() {
    let sim = Sim::start("");
    for name in ["Region", "Zone", "UHostId"] {
        let answer = send(&sim, &sign(&sim, &without(start_call("uhost-a1"), name)));
        assert_eq!(answer.ret_code(), 160, "{name}: {}", answer.body);
        assert_eq!(
            answer.body["Message"],
            format!("Missing params [{name}]"),
            "{name}"
        );
    }
    let mut request = sign(&sim, &start_call("uhost-a1"));
    request.body = form_body(&[("Region".into(), "cn-wlcb".into())]).into_bytes();
    assert_eq!(send(&sim, &request).ret_code(), 160, "no Action");
}

#[test]
fn starting_a_running_starting_or_missing_machine_is_refused() {
    let state = [
        seed("uhost-run", "state = \"Running\""),
        seed("uhost-boot", "state = \"Starting\""),
        seed("uhost-gone", "state = \"not_found\""),
        seed("uhost-stopping", "state = \"Stopping\""),
    ]
    .concat();
    let sim = Sim::start_with(&state, &["--boot-delay", "1h"]);
    for id in ["uhost-run", "uhost-boot"] {
        let answer = send(&sim, &sign(&sim, &start_call(id)));
        assert_eq!(answer.ret_code(), 8905, "{id}: {}", answer.body);
    }
    assert_eq!(
        send(&sim, &sign(&sim, &start_call("uhost-gone"))).ret_code(),
        8010
    );
    let answer = send(&sim, &sign(&sim, &start_call("uhost-stopping")));
    assert!(
        answer.body["Message"]
            .as_str()
            .unwrap()
            .contains("InstanceOperationInProgress"),
        "{}",
        answer.body
    );
    // A started machine is starting: a second start is refused.
    assert_eq!(
        send(&sim, &sign(&sim, &start_call("uhost-new"))).ret_code(),
        0
    );
    assert_eq!(
        send(&sim, &sign(&sim, &start_call("uhost-new"))).ret_code(),
        8905
    );
}

#[test]
fn describe_lists_existing_machines_up_to_limit() {
    let sim = Sim::start(&seed("uhost-gone", "state = \"not_found\""));
    let mut thirty: Vec<String> = (0..30).map(|n| format!("uhost-{n:04}")).collect();
    thirty[0] = "uhost-gone".into();
    let answer = send(
        &sim,
        &sign(&sim, &UcloudCompshare.describe_call(&thirty, &location())),
    );
    assert_eq!(answer.ret_code(), 0, "{}", answer.body);
    assert_eq!(answer.body["TotalCount"], 29);
    let set = answer.body["UHostSet"].as_array().unwrap();
    assert_eq!(set.len(), 29);
    assert!(set.iter().all(|h| h["State"] == "Stopped"));

    // UCloud's default Limit is 20: a client that forgets Limit loses machines.
    let call = without(UcloudCompshare.describe_call(&thirty, &location()), "Limit");
    let answer = send(&sim, &sign(&sim, &call));
    assert_eq!(answer.body["UHostSet"].as_array().unwrap().len(), 20);
}

#[test]
fn more_than_one_hundred_ids_are_refused() {
    let sim = Sim::start("");
    let many: Vec<String> = (0..101).map(|n| format!("uhost-{n:04}")).collect();
    let mut call = UcloudCompshare.describe_call(&many, &location());
    for (name, value) in &mut call.query {
        if name == "Limit" {
            *value = "100".into();
        }
    }
    let answer = send(&sim, &sign(&sim, &call));
    assert_eq!(answer.ret_code(), 230, "{}", answer.body);
}

#[test]
fn an_unknown_action_is_refused() {
    let sim = Sim::start("");
    let mut call = start_call("uhost-a1");
    call.action = "TerminateCompShareInstance";
    assert_eq!(send(&sim, &sign(&sim, &call)).ret_code(), 161);
}

#[test]
fn ucloud_variables_are_the_fallback_for_credentials_and_location() {
    let sim = Sim::start("");
    let profile = compshare();
    let output = cloudstart(sim.dir())
        .env("UCLOUD_PUBLIC_KEY", PUBLIC_KEY)
        .env("UCLOUD_PRIVATE_KEY", PRIVATE_KEY)
        .env("UCLOUD_REGION", profile.region.unwrap())
        .env("UCLOUD_ZONE", profile.zone.unwrap())
        .env("CLOUDSTART_COMPSHARE_ENDPOINT", sim.url("compshare"))
        .args(["start", "-p", "compshare", "--no-wait", "uhost-a1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn a_missing_zone_is_a_usage_error_naming_every_source() {
    let sim = Sim::start("");
    let output = cloudstart(sim.dir())
        .env("COMPSHARE_PUBLIC_KEY", PUBLIC_KEY)
        .env("COMPSHARE_PRIVATE_KEY", PRIVATE_KEY)
        .args([
            "start",
            "-p",
            "compshare",
            "--region",
            "cn-wlcb",
            "uhost-a1",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--zone or COMPSHARE_ZONE or UCLOUD_ZONE"),
        "{}",
        stderr(&output)
    );
    assert!(sim.requests().is_empty());
}

#[test]
fn without_gpu_starts_the_machine() {
    let sim = Sim::start("");
    let (json, _) = start_json(&sim, compshare(), &["uhost-a1"], &["--without-gpu"], 0);
    assert_eq!(json["instances"][0]["outcome"], "running");
}

#[test]
fn an_operation_lock_is_waited_out_until_the_deadline() {
    // Stopping for an hour: locked for the whole run.
    let sim = Sim::start_with(
        &seed("uhost-a1", "state = \"Stopping\""),
        &["--stop-delay", "1h"],
    );
    let output = sim
        .start_cmd(compshare(), &["uhost-a1"])
        .args(["-o", "json", "--timeout", "300ms"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    assert_eq!(report(&output)["instances"][0]["outcome"], "timeout");
    // The lock's 5 s retries against a short deadline are proven in-process, with an injected
    // retry config: engine::client::tests::an_operation_lock_is_waited_out_until_the_deadline.
    let starts = sim.calls("compshare", "StartCompShareInstance");
    assert!(!starts.is_empty(), "the start was sent: {starts:?}");
}

#[test]
fn a_stop_of_a_running_machine_is_accepted_and_it_shows_stopping() {
    let sim = Sim::start_with(
        &seed("uhost-run", "state = \"Running\""),
        &["--stop-delay", "1h"],
    );
    for force in [false, true] {
        let call = stop_call("uhost-run", force);
        let forced = call.query.iter().any(|(k, v)| k == "Force" && v == "true");
        assert_eq!(
            forced, force,
            "Force=true only with --force: {:?}",
            call.query
        );
        let answer = send(&sim, &sign(&sim, &call));
        if force {
            // Already stopping: a power-state refusal, which a describe explains.
            assert_eq!(answer.ret_code(), 8905, "{}", answer.body);
            continue;
        }
        assert_eq!(answer.status, 200);
        assert_eq!(answer.ret_code(), 0, "{}", answer.body);
        assert_eq!(answer.body["Action"], "StopCompShareInstanceResponse");
        assert_eq!(answer.body["UHostId"], "uhost-run");
        assert!(answer.request_id.is_some_and(|id| !id.is_empty()));
        assert_eq!(describe_state(&sim, "uhost-run"), "Stopping");
    }
    // The stop holds the instance's lock: a start meanwhile is refused with it.
    let answer = send(&sim, &sign(&sim, &start_call("uhost-run")));
    let message = answer.body["Message"].as_str().unwrap();
    assert!(message.contains("InstanceOperationInProgress"), "{message}");
}

#[test]
fn stopping_a_machine_that_is_not_running_is_refused() {
    let state = [
        seed("uhost-off", "state = \"Stopped\""),
        seed("uhost-halting", "state = \"Stopping\""),
        seed("uhost-boot", "state = \"Starting\""),
        seed("uhost-reboot", "state = \"Rebooting\""),
        seed("uhost-gone", "state = \"not_found\""),
    ]
    .concat();
    let sim = Sim::start_with(&state, &["--boot-delay", "1h", "--stop-delay", "1h"]);
    // No documented code for a machine already there: UHost's power-state refusal.
    for id in ["uhost-off", "uhost-halting"] {
        let answer = send(&sim, &sign(&sim, &stop_call(id, false)));
        assert_eq!(answer.ret_code(), 8905, "{id}: {}", answer.body);
    }
    // Held by another operation: the documented lock.
    for id in ["uhost-boot", "uhost-reboot"] {
        let answer = send(&sim, &sign(&sim, &stop_call(id, false)));
        let message = answer.body["Message"].as_str().unwrap();
        assert!(
            message.contains("InstanceOperationInProgress"),
            "{id}: {message}"
        );
    }
    let answer = send(&sim, &sign(&sim, &stop_call("uhost-gone", false)));
    assert_eq!(answer.ret_code(), 8010, "{}", answer.body);
    for id in ["uhost-off", "uhost-halting", "uhost-boot", "uhost-reboot"] {
        let state = describe_state(&sim, id);
        let seeded = &id["uhost-".len()..];
        let expected = match seeded {
            "off" => "Stopped",
            "halting" => "Stopping",
            "boot" => "Starting",
            _ => "Rebooting",
        };
        assert_eq!(state, expected, "{id}: unchanged");
    }
}

#[test]
fn force_is_a_boolean_and_a_seeded_stop_error_is_answered() {
    let state = [
        seed("uhost-run", "state = \"Running\""),
        seed("uhost-stuck", "state = \"Running\"\nstop_error = \"8843\""),
    ]
    .concat();
    let sim = Sim::start_with(&state, &["--stop-delay", "1h"]);
    let mut call = stop_call("uhost-run", true);
    for (name, value) in &mut call.query {
        if name == "Force" {
            *value = "yes".into();
        }
    }
    let answer = send(&sim, &sign(&sim, &call));
    assert_eq!(answer.ret_code(), 230, "{}", answer.body);
    assert_eq!(answer.body["Message"], "Params [Force] not available");
    let answer = send(&sim, &sign(&sim, &stop_call("uhost-stuck", true)));
    assert_eq!(answer.ret_code(), 8843, "{}", answer.body);
    assert_eq!(describe_state(&sim, "uhost-stuck"), "Running");
    let answer = send(&sim, &sign(&sim, &stop_call("uhost-run", true)));
    assert_eq!(answer.ret_code(), 0, "{}", answer.body);
}

#[test]
fn stop_runs_a_machine_down_and_a_stopped_one_is_already_stopped() {
    let state = [
        seed("uhost-run", "state = \"Running\""),
        seed("uhost-off", "state = \"Stopped\""),
    ]
    .concat();
    let sim = Sim::start_with(&state, &["--stop-delay", "50ms"]);
    for (id, outcome) in [("uhost-run", "stopped"), ("uhost-off", "already_stopped")] {
        let output = stop_cmd(&sim, id, &[]);
        assert_eq!(output.status.code(), Some(0), "{id}: {}", stderr(&output));
        let json = report(&output);
        assert_eq!(json["command"], "stop");
        let record = &json["instances"][0];
        assert_eq!(record["outcome"], outcome, "{json}");
        assert_eq!(record["state"], "Stopped", "{json}");
    }
    assert_eq!(sim.calls("compshare", "StopCompShareInstance").len(), 2);
}

#[test]
fn a_stop_that_falls_back_to_running_fails_and_points_to_force() {
    let sim = Sim::start_with(
        &seed("uhost-run", "state = \"Running\"\nshutdown = \"fail\""),
        &["--stop-delay", "200ms"],
    );
    let output = stop_cmd(&sim, "uhost-run", &[]);
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    let json = report(&output);
    let record = &json["instances"][0];
    assert_eq!(record["outcome"], "failed", "{json}");
    assert_eq!(record["state"], "Running", "{json}");
    assert_eq!(record["error"]["kind"], "failed_state", "{json}");
    let message = record["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("--force") && message.contains("Force=true"),
        "{message}"
    );
}

#[test]
fn stop_charging_has_no_equivalent_on_compshare() {
    let sim = Sim::start("");
    let output = stop_cmd(&sim, "uhost-run", &["--stop-charging"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--stop-charging has no equivalent on compshare"));
    assert!(sim.requests().is_empty());
}
