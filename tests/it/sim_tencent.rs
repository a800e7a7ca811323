//! The simulator's Tencent dialect holds requests to CVM's rules: hand-made requests over raw HTTP
//! on loopback, signed with the library's signer and then broken one way at a time; and
//! `cloudstart stop` against it, through the stopping state, an already stopped machine and a
//! soft stop the OS ignores.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use cloudstart::credentials::{Credentials, Secret};
use cloudstart::provider::{
    Action, ActionOptions, ApiCall, Location, Provider, SignedRequest, TencentCvm,
};

use crate::support::{self, report, stderr, tencent, Sim};

const SECRET_ID: &str = "AKIDcloudstartSIMULATOR0001";
const SECRET_KEY: &str = "cloudstart-simulator-secret-key";

fn credentials(id: &str, key: &str) -> Credentials {
    Credentials {
        key_id: id.into(),
        secret: Secret::new(key),
        token: None,
    }
}

fn location() -> Location {
    Location {
        region: Some("ap-guangzhou".into()),
        zone: None,
    }
}

fn ids(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

fn signed_describe(sim: &Sim, ids: &[String], now: DateTime<Utc>, key: &str) -> SignedRequest {
    let call = TencentCvm.describe_call(ids, &location());
    TencentCvm.sign(
        &call,
        host(sim),
        &location(),
        &credentials(SECRET_ID, key),
        now,
    )
}

/// Signs `call` with the simulator's credentials, now.
fn sign(sim: &Sim, call: &ApiCall) -> SignedRequest {
    TencentCvm.sign(
        call,
        host(sim),
        &location(),
        &credentials(SECRET_ID, SECRET_KEY),
        Utc::now(),
    )
}

fn host(sim: &Sim) -> &str {
    sim.url("tencent").strip_prefix("http://").unwrap()
}

/// Sends `request` over a fresh connection and returns the status and the JSON body.
fn send(sim: &Sim, request: &SignedRequest) -> (u16, Value) {
    let answer = support::send_raw(host(sim), request);
    (answer.status, answer.json())
}

fn error_code(body: &Value) -> &str {
    body["Response"]["Error"]["Code"].as_str().unwrap_or("")
}

#[test]
fn the_profile_s_credentials_are_the_ones_verified() {
    assert_eq!(
        tencent().credential("TENCENTCLOUD_SECRET_ID").as_deref(),
        Some(SECRET_ID)
    );
    assert_eq!(
        tencent().credential("TENCENTCLOUD_SECRET_KEY").as_deref(),
        Some(SECRET_KEY)
    );
}

#[test]
fn a_correctly_signed_request_is_answered() {
    let sim = Sim::start("");
    let request = signed_describe(&sim, &ids(&["ins-aaaaaaaa"]), Utc::now(), SECRET_KEY);
    let (status, body) = send(&sim, &request);
    assert_eq!(status, 200);
    assert_eq!(error_code(&body), "", "{body}");
    assert_eq!(
        body["Response"]["InstanceSet"][0]["InstanceState"],
        "STOPPED"
    );
    assert!(body["Response"]["RequestId"].is_string());
    assert_eq!(sim.requests()[0]["signature"], "ok");
}

#[test]
fn a_stale_timestamp_is_refused_as_expired() {
    let sim = Sim::start("");
    let stale = Utc::now() - Duration::minutes(10);
    let request = signed_describe(&sim, &ids(&["ins-aaaaaaaa"]), stale, SECRET_KEY);
    let (status, body) = send(&sim, &request);
    assert_eq!(status, 200, "CVM reports errors with HTTP 200");
    assert_eq!(error_code(&body), "AuthFailure.SignatureExpire");
    assert_eq!(sim.requests()[0]["signature"], "failed");
}

#[test]
fn a_wrong_key_or_unknown_id_is_refused() {
    let sim = Sim::start("");
    let request = signed_describe(&sim, &ids(&["ins-aaaaaaaa"]), Utc::now(), "wrong");
    assert_eq!(
        error_code(&send(&sim, &request).1),
        "AuthFailure.SignatureFailure"
    );

    let call = TencentCvm.describe_call(&ids(&["ins-aaaaaaaa"]), &location());
    let request = TencentCvm.sign(
        &call,
        host(&sim),
        &location(),
        &credentials("AKIDother", SECRET_KEY),
        Utc::now(),
    );
    assert_eq!(
        error_code(&send(&sim, &request).1),
        "AuthFailure.SecretIdNotFound"
    );
}

#[test]
fn a_body_changed_after_signing_is_refused() {
    let sim = Sim::start("");
    let mut request = signed_describe(&sim, &ids(&["ins-aaaaaaaa"]), Utc::now(), SECRET_KEY);
    request.body = br#"{"InstanceIds":["ins-bbbbbbbb"],"Limit":1}"#.to_vec();
    assert_eq!(
        error_code(&send(&sim, &request).1),
        "AuthFailure.SignatureFailure"
    );
}

#[test]
fn a_missing_header_is_refused() {
    let sim = Sim::start("");
    let mut request = signed_describe(&sim, &ids(&["ins-aaaaaaaa"]), Utc::now(), SECRET_KEY);
    request.headers.retain(|h| h.name != "X-TC-Timestamp");
    let (_, body) = send(&sim, &request);
    assert_eq!(error_code(&body), "MissingParameter");
    assert_eq!(sim.requests()[0]["signature"], "missing");
}

#[test]
fn a_malformed_body_is_refused_even_when_signed() {
    let sim = Sim::start("");
    let mut call = TencentCvm.describe_call(&ids(&["ins-aaaaaaaa"]), &location());
    call.body = b"{not json".to_vec();
    let request = sign(&sim, &call);
    assert_eq!(error_code(&send(&sim, &request).1), "InvalidParameter");
}

#[test]
fn more_than_one_hundred_ids_are_refused() {
    let sim = Sim::start("");
    let many: Vec<String> = (0..101).map(|i| format!("ins-{i:08}")).collect();
    let call = TencentCvm.action_call(Action::Start, &many, &location(), &ActionOptions::default());
    let request = sign(&sim, &call);
    assert_eq!(
        error_code(&send(&sim, &request).1),
        "InvalidParameterValue.LimitExceeded"
    );
}

#[test]
fn describe_returns_at_most_limit_results() {
    let sim = Sim::start("");
    let thirty: Vec<String> = (0..30).map(|i| format!("ins-{i:08}")).collect();
    let mut call = TencentCvm.describe_call(&thirty, &location());
    call.body = serde_json::to_vec(&serde_json::json!({ "InstanceIds": thirty })).unwrap();
    let request = sign(&sim, &call);
    let (_, body) = send(&sim, &request);
    // CVM's default Limit is 20: a client that forgets Limit loses machines.
    assert_eq!(
        body["Response"]["InstanceSet"].as_array().unwrap().len(),
        20
    );
    assert_eq!(body["Response"]["TotalCount"], 30);
}

#[test]
fn an_unknown_action_is_refused() {
    let sim = Sim::start("");
    let mut call = TencentCvm.describe_call(&ids(&["ins-aaaaaaaa"]), &location());
    for (name, value) in &mut call.headers {
        if name == "X-TC-Action" {
            *value = "RebootInstances".into();
        }
    }
    let request = sign(&sim, &call);
    assert_eq!(error_code(&send(&sim, &request).1), "InvalidAction");
}

/// `cloudstart stop -o json` of `ids` on the simulator's CVM, with `extra` flags.
fn stop(sim: &Sim, ids: &[&str], extra: &[&str]) -> std::process::Output {
    let profile = tencent();
    support::cloudstart(sim.dir())
        .envs(profile.credentials.iter().copied())
        .args(["stop", "-p", "tencent", "-o", "json", "--endpoint"])
        .arg(sim.url("tencent"))
        .args(["--region", profile.region.unwrap()])
        .args(["--poll-interval", "5ms", "--poll-max", "20ms"])
        .args(extra)
        .args(ids)
        .output()
        .unwrap()
}

/// The one record of a stop report, after checking the exit code.
fn record(output: &std::process::Output, code: i32) -> Value {
    assert_eq!(output.status.code(), Some(code), "{}", stderr(output));
    let report = report(output);
    assert_eq!(report["command"], "stop");
    report["instances"][0].clone()
}

/// The simulator with instant boots and stops, and `state` as its seed.
fn fast_sim(state: &str) -> Sim {
    Sim::start_with(state, &["--boot-delay", "0s", "--stop-delay", "0s"])
}

#[test]
fn a_running_machine_goes_through_the_stop_to_stopped() {
    let sim = fast_sim("[tencent.ins-aaaaaaaa]\nstate = \"RUNNING\"\n");
    let stopped = record(&stop(&sim, &["ins-aaaaaaaa"], &[]), 0);
    assert_eq!(
        (&stopped["outcome"], &stopped["state"]),
        (&"stopped".into(), &"STOPPED".into())
    );
    let calls = sim.calls("tencent", "StopInstances");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["signature"], "ok");
    assert!(calls[0]["error_code"].is_null(), "{}", calls[0]);
}

#[test]
fn a_stopped_machine_is_already_stopped_after_cvm_refuses_the_stop() {
    let sim = fast_sim("");
    let record = record(&stop(&sim, &["ins-aaaaaaaa"], &[]), 0);
    assert_eq!(
        (&record["outcome"], &record["state"]),
        (&"already_stopped".into(), &"STOPPED".into())
    );
    let calls = sim.calls("tencent", "StopInstances");
    assert_eq!(
        calls[0]["error_code"],
        "UnsupportedOperation.InstanceStateStopped"
    );
}

#[test]
fn a_stop_without_waiting_leaves_the_machine_stopping() {
    let sim = Sim::start_with(
        "[tencent.ins-aaaaaaaa]\nstate = \"RUNNING\"\n",
        &["--stop-delay", "1h"],
    );
    let record = record(&stop(&sim, &["ins-aaaaaaaa"], &["--no-wait"]), 0);
    assert_eq!(record["outcome"], "stopping");
}

#[test]
fn a_soft_stop_the_os_ignores_fails_with_a_hint_and_a_forced_stop_then_stops_it() {
    let sim = fast_sim("[tencent.ins-aaaaaaaa]\nstate = \"RUNNING\"\nshutdown = \"fail\"\n");
    let failed = record(&stop(&sim, &["ins-aaaaaaaa"], &[]), 7);
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(failed["state"], "RUNNING");
    assert_eq!(failed["error"]["kind"], "failed_state");
    let message = failed["error"]["message"].as_str().unwrap();
    assert!(message.contains("StopInstances"), "{message}");
    assert!(
        message.contains("--force") && message.contains("StopType=HARD"),
        "{message}"
    );

    let forced = record(&stop(&sim, &["ins-aaaaaaaa"], &["--force"]), 0);
    assert_eq!(forced["outcome"], "stopped");
    assert_eq!(sim.calls("tencent", "StopInstances").len(), 2);
}
