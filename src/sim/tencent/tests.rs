//! Unit tests of `tencent`.

use std::time::Duration;

use super::*;
use crate::credentials::{Credentials, Secret};
use crate::provider::{ActionOptions, ApiCall, Location, TencentCvm};
use crate::sim::Boot;
use crate::sim::SeedMachine;

fn location() -> Location {
    Location {
        region: PROFILE.region.map(str::to_string),
        zone: None,
    }
}

/// `call` signed with the simulator's credentials, as the dialect receives it.
fn received(call: &ApiCall) -> SimRequest {
    let credentials = Credentials {
        key_id: SIM_SECRET_ID.into(),
        secret: Secret::new(SIM_SECRET_KEY),
        token: None,
    };
    let now = chrono::Utc::now();
    let signed = TencentCvm.sign(call, "127.0.0.1:4567", &location(), &credentials, now);
    let (path, query) =
        (signed.path_and_query.split_once('?')).unwrap_or((signed.path_and_query.as_str(), ""));
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

/// The `Response` of `call`.
fn send(fleet: &mut Fleet, call: &ApiCall) -> Value {
    let reply = TencentDialect.handle(&received(call), fleet);
    assert_eq!(reply.status, 200, "CVM answers everything with HTTP 200");
    reply.body["Response"].clone()
}

fn error(response: &Value) -> &str {
    response["Error"]["Code"].as_str().unwrap_or("")
}

fn id(n: usize) -> String {
    (PROFILE.example_id)(n)
}

fn stop(ns: &[usize], force: bool) -> ApiCall {
    let ids: Vec<String> = ns.iter().map(|n| id(*n)).collect();
    let options = ActionOptions {
        force,
        ..ActionOptions::default()
    };
    TencentCvm.action_call(Action::Stop, &ids, &location(), &options)
}

/// A stop call with `body` instead of the provider's, for the parameters it never sends.
fn stop_with(body: Value) -> ApiCall {
    ApiCall {
        body: body.to_string().into_bytes(),
        ..stop(&[1], false)
    }
}

fn describe(fleet: &mut Fleet, n: usize) -> Value {
    let call = TencentCvm.describe_call(&[id(n)], &location());
    send(fleet, &call)["InstanceSet"][0].clone()
}

/// A fleet whose starts and stops take `delay`, with machine `n` seeded as `seed` says.
fn fleet(delay: Duration, seeds: &[(usize, SeedMachine)]) -> Fleet {
    let mut fleet = Fleet::new(delay, delay);
    for (n, seed) in seeds {
        fleet.seed(&TencentDialect, &id(*n), seed).unwrap();
    }
    fleet
}

fn in_state(state: &str) -> SeedMachine {
    SeedMachine {
        state: Some(state.into()),
        ..SeedMachine::default()
    }
}

#[test]
fn a_stop_goes_through_stopping_with_its_request_id_as_the_latest_operation() {
    let mut slow = fleet(Duration::from_secs(3600), &[(1, in_state("RUNNING"))]);
    let accepted = send(&mut slow, &stop(&[1], false));
    assert_eq!(error(&accepted), "", "{accepted}");
    let machine = describe(&mut slow, 1);
    assert_eq!(machine["InstanceState"], "STOPPING");
    assert_eq!(machine["LatestOperation"], "StopInstances");
    assert_eq!(machine["LatestOperationState"], "OPERATING");
    assert_eq!(machine["LatestOperationRequestId"], accepted["RequestId"]);

    let mut fast = fleet(Duration::ZERO, &[(1, in_state("RUNNING"))]);
    send(&mut fast, &stop(&[1], false));
    let machine = describe(&mut fast, 1);
    assert_eq!(machine["InstanceState"], "STOPPED");
    assert_eq!(machine["LatestOperationState"], "SUCCESS");
    assert!(machine["PublicIpAddresses"].is_null(), "{machine}");
}

#[test]
fn each_state_refuses_a_stop_with_its_own_code_and_the_vocabulary_reads_it() {
    let words = PROFILE.vocabulary();
    let table = [
        ("STOPPED", "UnsupportedOperation.InstanceStateStopped"),
        ("STOPPING", "UnsupportedOperation.InstanceStateStopping"),
        ("STARTING", "UnsupportedOperation.InstanceStateStarting"),
        ("REBOOTING", "UnsupportedOperation.InstanceStateRebooting"),
        ("PENDING", "UnsupportedOperation.InstanceStatePending"),
        ("SHUTDOWN", "UnsupportedOperation.InstanceStateShutdown"),
        (
            "ENTER_RESCUE_MODE",
            "UnsupportedOperation.InstanceStateEnterRescueMode",
        ),
        (
            "EXIT_SERVICE_LIVE_MIGRATE",
            "UnsupportedOperation.InstanceStateExitServiceLiveMigrate",
        ),
        ("LAUNCH_FAILED", "InvalidInstance.NotSupported"),
    ];
    for (state, code) in table {
        // Transitions last: a seeded STARTING machine is still starting when asked.
        let mut fleet = fleet(Duration::from_secs(3600), &[(1, in_state(state))]);
        assert_eq!(
            error(&send(&mut fleet, &stop(&[1], false))),
            code,
            "{state}"
        );
        assert_eq!(describe(&mut fleet, 1)["InstanceState"], state, "untouched");
    }
    // What the engine makes of them: done, underway, or a lock to wait out.
    let class = |code| words.class_in(Action::Stop, code);
    let stopped = state_refusal(Action::Stop, &MachinePhase::Stopped);
    let stopping = state_refusal(
        Action::Stop,
        &MachinePhase::Stopping {
            since: tokio::time::Instant::now(),
        },
    );
    assert_eq!(class(&stopped), Some(ErrorClass::AlreadyDone));
    assert_eq!(class(&stopping), Some(ErrorClass::AlreadyUnderway));
    // The start's list names one code for the three live-migration states.
    let migrating = MachinePhase::Other("ENTER_SERVICE_LIVE_MIGRATE".into());
    assert_eq!(
        state_refusal(Action::Start, &migrating),
        "UnsupportedOperation.InstanceStateServiceLiveMigrate"
    );
    assert_eq!(
        words.class_in(
            Action::Start,
            &state_refusal(Action::Start, &MachinePhase::Running)
        ),
        Some(ErrorClass::AlreadyDone)
    );
}

#[test]
fn one_machine_that_cannot_stop_refuses_the_whole_batch() {
    let seeds = [(1, in_state("RUNNING")), (2, in_state("STOPPED"))];
    let mut mixed = fleet(Duration::from_secs(3600), &seeds);
    let refused = send(&mut mixed, &stop(&[1, 2], false));
    assert_eq!(error(&refused), "UnsupportedOperation.InstanceStateStopped");
    assert_eq!(describe(&mut mixed, 1)["InstanceState"], "RUNNING");
    // An unknown id refuses it too, before any state is looked at.
    let missing = SeedMachine {
        state: Some("not_found".into()),
        ..SeedMachine::default()
    };
    let mut fleet = fleet(Duration::ZERO, &[(1, in_state("RUNNING")), (3, missing)]);
    let refused = send(&mut fleet, &stop(&[1, 3], false));
    assert_eq!(error(&refused), "InvalidInstanceId.NotFound");
    assert_eq!(describe(&mut fleet, 1)["InstanceState"], "RUNNING");
}

#[test]
fn a_seeded_stop_error_refuses_every_stop_of_that_machine() {
    let locked = SeedMachine {
        state: Some("RUNNING".into()),
        stop_error: Some("OperationDenied.InstanceOperationInProgress".into()),
        ..SeedMachine::default()
    };
    let mut fleet = fleet(Duration::ZERO, &[(1, locked)]);
    for _ in 0..2 {
        let refused = send(&mut fleet, &stop(&[1], true));
        assert_eq!(
            error(&refused),
            "OperationDenied.InstanceOperationInProgress"
        );
    }
    assert_eq!(describe(&mut fleet, 1)["InstanceState"], "RUNNING");
}

#[test]
fn stop_parameters_take_the_documented_values_only() {
    let ids = vec![id(1)];
    let table = [
        (
            json!({ "InstanceIds": ids, "StopType": "GENTLE" }),
            "InvalidParameterValue",
        ),
        (
            json!({ "InstanceIds": ids, "StoppedMode": "FREE" }),
            "InvalidParameterValue",
        ),
        (
            json!({ "InstanceIds": ids, "StopType": "HARD", "ForceStop": true }),
            "InvalidParameterCombination",
        ),
        (
            json!({ "InstanceIds": ids, "ForceStop": "yes" }),
            "InvalidParameterValue",
        ),
        (json!({ "InstanceIds": [] }), "InvalidParameterValue"),
        (json!({ "InstanceIds": ids, "ForceStop": true }), ""),
        (
            json!({ "InstanceIds": ids, "StopType": "SOFT_FIRST", "StoppedMode": "STOP_CHARGING" }),
            "",
        ),
    ];
    for (body, code) in table {
        let mut fleet = fleet(Duration::ZERO, &[(1, in_state("RUNNING"))]);
        let answer = send(&mut fleet, &stop_with(body.clone()));
        assert_eq!(error(&answer), code, "{body}");
    }
}

#[test]
fn a_soft_stop_the_os_ignores_fails_and_a_hard_one_powers_the_machine_off() {
    let stubborn = SeedMachine {
        state: Some("RUNNING".into()),
        shutdown: Boot::Fail,
        ..SeedMachine::default()
    };
    let mut fleet = fleet(Duration::ZERO, &[(1, stubborn)]);
    let soft = send(&mut fleet, &stop(&[1], false));
    let machine = describe(&mut fleet, 1);
    assert_eq!(machine["InstanceState"], "RUNNING");
    assert_eq!(machine["LatestOperation"], "StopInstances");
    assert_eq!(machine["LatestOperationState"], "FAILED");
    assert_eq!(machine["LatestOperationRequestId"], soft["RequestId"]);
    assert!(machine["LatestOperationErrorMsg"].is_string());
    // Running again, it may be stopped again: with StopType HARD it stops.
    let hard = send(&mut fleet, &stop(&[1], true));
    assert_eq!(error(&hard), "", "{hard}");
    let machine = describe(&mut fleet, 1);
    assert_eq!(machine["InstanceState"], "STOPPED");
    assert_eq!(machine["LatestOperationState"], "SUCCESS");
    assert_eq!(machine["LatestOperationRequestId"], hard["RequestId"]);
}
