//! Unit tests of `zenlayer`.

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
            send(&mut fleet, &good(&describe)).1["response"]["dataSet"][0]["instanceStatus"].clone()
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
