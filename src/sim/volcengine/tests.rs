//! Unit tests of `volcengine`.

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
            let reply =
                VolcengineDialect.handle(&request, &mut Fleet::new(Duration::ZERO, Duration::ZERO));
            assert_eq!(
                (reply.status, reply.signature),
                (200, SignatureCheck::Ok),
                "{host}"
            );
        }
    }
}
