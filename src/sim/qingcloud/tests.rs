//! Unit tests of `qingcloud`.

use chrono::{DateTime, Duration as Skew, Utc};

use super::*;
use crate::credentials::{Credentials, Secret};
use crate::provider::{ApiCall, Location};
use crate::sim::{Boot, SeedMachine};

/// Long enough that a test never sees a stop finish by itself.
const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

fn location() -> Location {
    Location {
        region: None,
        zone: PROFILE.zone.map(str::to_string),
    }
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(PROFILE.example_id).collect()
}

/// `call` signed by `key_id`/`secret` at `now`, as the simulator receives it.
fn signed_by(call: &ApiCall, now: DateTime<Utc>, key_id: &str, secret: &str) -> SimRequest {
    let credentials = Credentials {
        key_id: key_id.into(),
        secret: Secret::new(secret),
        token: None,
    };
    let signed = QingcloudEhpc.sign(call, "127.0.0.1:9", &location(), &credentials, now);
    let (path, query) = signed.path_and_query.split_once('?').unwrap();
    SimRequest {
        method: call.method.as_str().into(),
        path: path.into(),
        query: query.into(),
        headers: signed
            .headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), h.value.clone()))
            .collect(),
        body: signed.body,
    }
}

fn signed(call: &ApiCall) -> SimRequest {
    signed_by(call, Utc::now(), SIM_ACCESS_KEY_ID, SIM_SECRET_KEY)
}

fn start_call(ids: &[String]) -> ApiCall {
    QingcloudEhpc.action_call(Action::Start, ids, &location(), &Default::default())
}

fn stop_call(ids: &[String]) -> ApiCall {
    QingcloudEhpc.action_call(Action::Stop, ids, &location(), &Default::default())
}

fn fleet(seed: &[(&str, &str)]) -> Fleet {
    let seed: Vec<(&str, SeedMachine)> = (seed.iter())
        .map(|(id, state)| (*id, in_state(state)))
        .collect();
    fleet_with(std::time::Duration::ZERO, &seed)
}

/// A fleet whose starts and stops take `delay`, with machines seeded in full.
fn fleet_with(delay: std::time::Duration, seed: &[(&str, SeedMachine)]) -> Fleet {
    let mut fleet = Fleet::new(delay, delay);
    for (id, machine) in seed {
        fleet.seed(&QingcloudDialect, id, machine).unwrap();
    }
    fleet
}

fn in_state(state: &str) -> SeedMachine {
    SeedMachine {
        state: Some(state.to_string()),
        ..Default::default()
    }
}

/// The list's `status` and `transition_status` of cluster `id`.
fn listed(fleet: &mut Fleet, id: &str) -> (Value, Value) {
    let call = QingcloudEhpc.describe_call(&[id.to_string()], &location());
    let body = QingcloudDialect.handle(&signed(&call), fleet).body;
    let cluster = &body["cluster_set"][0];
    (
        cluster["status"].clone(),
        cluster["transition_status"].clone(),
    )
}

/// The job log's entry for `job`.
fn job(fleet: &mut Fleet, job: &str) -> Value {
    let call = QingcloudEhpc.job_call(job, &location()).unwrap();
    let body = QingcloudDialect.handle(&signed(&call), fleet).body;
    assert_eq!(body["ret_code"], 0, "{body}");
    body["job_set"][0].clone()
}

fn status_of(fleet: &mut Fleet, id: &str) -> Value {
    let call = QingcloudEhpc.describe_call(&[id.to_string()], &location());
    QingcloudDialect.handle(&signed(&call), fleet).body["cluster_set"][0]["status"].clone()
}

#[test]
fn a_signed_start_is_accepted_with_a_job_and_the_cluster_becomes_active() {
    let mut fleet = fleet(&[]);
    let reply = QingcloudDialect.handle(&signed(&start_call(&ids(2))), &mut fleet);
    assert_eq!(reply.signature, SignatureCheck::Ok);
    assert_eq!((reply.status, reply.action.as_str()), (200, START_ACTION));
    assert_eq!(reply.body["ret_code"], 0, "{}", reply.body);
    assert!(reply.body["job_ids"].as_str().unwrap().starts_with("j-"));
    assert_eq!(reply.ids, ids(2));
    assert_eq!(status_of(&mut fleet, &ids(1)[0]), "active");
}

#[test]
fn bad_signatures_are_refused_with_http_200_and_the_right_ret_code() {
    let call = start_call(&ids(1));
    let now = Utc::now();
    let single_encoded = {
        // The SDK encodes the signature twice; sending it once-encoded must fail.
        let mut request = signed(&call);
        request.query = request.query.replace("%25", "%");
        request
    };
    let tampered = {
        let mut request = signed(&call);
        request.body = start_call(&ids(2)).body;
        request
    };
    let missing = {
        let mut request = signed(&call);
        request.query = request.query.split("&signature=").next().unwrap().into();
        request
    };
    let cases = [
        (single_encoded, 1200, SignatureCheck::Failed),
        (tampered, 1200, SignatureCheck::Failed),
        (
            signed_by(&call, now, SIM_ACCESS_KEY_ID, "wrong"),
            1200,
            SignatureCheck::Failed,
        ),
        (
            signed_by(&call, now, "QYUNKNOWN", SIM_SECRET_KEY),
            1200,
            SignatureCheck::Failed,
        ),
        (
            signed_by(
                &call,
                now - Skew::seconds(90),
                SIM_ACCESS_KEY_ID,
                SIM_SECRET_KEY,
            ),
            1300,
            SignatureCheck::Failed,
        ),
        (
            signed_by(
                &call,
                now + Skew::seconds(90),
                SIM_ACCESS_KEY_ID,
                SIM_SECRET_KEY,
            ),
            1300,
            SignatureCheck::Failed,
        ),
        (missing, 1100, SignatureCheck::Missing),
    ];
    for (i, (request, code, check)) in cases.into_iter().enumerate() {
        let mut fleet = fleet(&[]);
        let reply = QingcloudDialect.handle(&request, &mut fleet);
        assert_eq!(reply.status, 200, "case {i}");
        assert_eq!(reply.body["ret_code"], code, "case {i}: {}", reply.body);
        assert!(reply.body["message"].is_string(), "case {i}");
        assert_eq!(reply.signature, check, "case {i}");
        assert_eq!(status_of(&mut fleet, &ids(1)[0]), "stopped", "case {i}");
    }
}

#[test]
fn one_cluster_that_cannot_start_refuses_the_whole_batch() {
    let all = ids(3);
    for (state, code) in [
        ("not_found", 2100),
        ("active", 1400),
        ("pending", 1400),
        ("ceased", 1400),
    ] {
        let mut fleet = fleet(&[(&all[1], state)]);
        let reply = QingcloudDialect.handle(&signed(&start_call(&all)), &mut fleet);
        assert_eq!(reply.body["ret_code"], code, "{state}: {}", reply.body);
        assert_eq!(reply.error_code, Some(code.to_string()));
        assert_eq!(status_of(&mut fleet, &all[0]), "stopped", "{state}");
    }
    let mut fleet = fleet(&[(&all[1], "suspended")]);
    let reply = QingcloudDialect.handle(&signed(&start_call(&all)), &mut fleet);
    assert_eq!(reply.body["ret_code"], 0, "suspended clusters start");
}

#[test]
fn more_than_one_hundred_clusters_are_refused() {
    let reply = QingcloudDialect.handle(&signed(&start_call(&ids(101))), &mut fleet(&[]));
    assert_eq!(reply.body["ret_code"], 1100, "{}", reply.body);
}

#[test]
fn a_missing_cluster_is_listed_as_nothing() {
    let id = &ids(1)[0];
    let mut fleet = fleet(&[(id, "not_found")]);
    let call = QingcloudEhpc.describe_call(std::slice::from_ref(id), &location());
    let reply = QingcloudDialect.handle(&signed(&call), &mut fleet);
    assert_eq!(reply.action, LIST_ACTION);
    assert_eq!(reply.body["total_count"], 0, "{}", reply.body);
    assert_eq!(reply.body["cluster_set"], json!([]));
}

#[test]
fn a_signed_stop_is_accepted_with_a_job_and_the_cluster_shows_stopping_while_active() {
    let id = &ids(1)[0];
    let mut fleet = fleet_with(HOUR, &[(id, in_state("active"))]);
    let reply = QingcloudDialect.handle(&signed(&stop_call(&ids(1))), &mut fleet);
    assert_eq!(reply.signature, SignatureCheck::Ok);
    assert_eq!((reply.status, reply.action.as_str()), (200, STOP_ACTION));
    assert_eq!(reply.body["ret_code"], 0, "{}", reply.body);
    assert_eq!(reply.body["action"], "HpcClusterStopClusterResponse");
    let job_id = reply.body["job_ids"].as_str().unwrap().to_string();
    assert!(job_id.starts_with("j-"));
    assert_eq!(reply.ids, ids(1));
    assert_eq!(listed(&mut fleet, id), (json!("active"), json!("stopping")));
    let entry = job(&mut fleet, &job_id);
    assert_eq!(
        (&entry["status"], &entry["job_action"]),
        (&json!("working"), &json!(STOP_ACTION))
    );
}

#[test]
fn a_finished_stop_lists_the_cluster_stopped_and_its_job_successful() {
    let id = &ids(1)[0];
    let mut fleet = fleet(&[(id, "active")]);
    let reply = QingcloudDialect.handle(&signed(&stop_call(&ids(1))), &mut fleet);
    let job_id = reply.body["job_ids"].as_str().unwrap().to_string();
    assert_eq!(listed(&mut fleet, id), (json!("stopped"), json!("")));
    assert_eq!(job(&mut fleet, &job_id)["status"], "successful");
    // And it starts again, with a start job.
    let reply = QingcloudDialect.handle(&signed(&start_call(&ids(1))), &mut fleet);
    let job_id = reply.body["job_ids"].as_str().unwrap().to_string();
    assert_eq!(job(&mut fleet, &job_id)["job_action"], START_ACTION);
}

#[test]
fn a_failed_stop_leaves_the_cluster_active_without_a_transition_and_its_job_failed() {
    let id = &ids(1)[0];
    let seed = SeedMachine {
        shutdown: Boot::Fail,
        ..in_state("active")
    };
    let mut fleet = fleet_with(std::time::Duration::ZERO, &[(id, seed)]);
    let reply = QingcloudDialect.handle(&signed(&stop_call(&ids(1))), &mut fleet);
    let job_id = reply.body["job_ids"].as_str().unwrap().to_string();
    assert_eq!(listed(&mut fleet, id), (json!("active"), json!("")));
    let entry = job(&mut fleet, &job_id);
    assert_eq!(
        (&entry["status"], &entry["job_action"]),
        (&json!("failed"), &json!(STOP_ACTION))
    );
    // Still active, so it may be stopped again.
    let reply = QingcloudDialect.handle(&signed(&stop_call(&ids(1))), &mut fleet);
    assert_eq!(reply.body["ret_code"], 0, "{}", reply.body);
}

#[test]
fn one_cluster_that_is_not_active_refuses_the_whole_stop() {
    let all = ids(3);
    for (state, code, says) in [
        ("not_found", 2100, "ResourceNotFound"),
        ("stopped", 1400, "[stopped]"),
        ("stopping", 1400, "[stopping]"),
        ("starting", 1400, "[starting]"),
        ("pending", 1400, "[pending]"),
        ("suspended", 1400, "[suspended]"),
        ("ceased", 1400, "[ceased]"),
    ] {
        let seed = [
            (all[0].as_str(), in_state("active")),
            (all[1].as_str(), in_state(state)),
            (all[2].as_str(), in_state("active")),
        ];
        let mut fleet = fleet_with(HOUR, &seed);
        let reply = QingcloudDialect.handle(&signed(&stop_call(&all)), &mut fleet);
        assert_eq!(reply.body["ret_code"], code, "{state}: {}", reply.body);
        assert_eq!(reply.error_code, Some(code.to_string()));
        let message = reply.body["message"].as_str().unwrap();
        assert!(message.contains(says), "{state}: {message}");
        assert_eq!(
            listed(&mut fleet, &all[0]),
            (json!("active"), json!("")),
            "{state}"
        );
    }
}

#[test]
fn the_refusals_are_the_vocabulary_s_codes() {
    assert_eq!(code(Action::Stop, ErrorClass::WrongState), 1400);
    assert_eq!(code(Action::Stop, ErrorClass::NotFound), 2100);
    assert_eq!(code(Action::Start, ErrorClass::WrongState), 1400);
}

#[test]
fn a_seeded_stop_error_refuses_the_stop_with_that_ret_code() {
    let id = &ids(1)[0];
    for (stop_error, code) in [("5100", 5100), ("1400", 1400), ("InstanceBusy", 1100)] {
        let seed = SeedMachine {
            stop_error: Some(stop_error.into()),
            ..in_state("active")
        };
        let mut fleet = fleet_with(HOUR, &[(id, seed)]);
        let reply = QingcloudDialect.handle(&signed(&stop_call(&ids(1))), &mut fleet);
        assert_eq!(reply.body["ret_code"], code, "{}", reply.body);
        assert_eq!(listed(&mut fleet, id), (json!("active"), json!("")));
        // The start is not concerned.
        let reply = QingcloudDialect.handle(&signed(&start_call(&ids(1))), &mut fleet);
        assert_eq!(reply.body["ret_code"], 1400, "{}", reply.body);
    }
}

#[test]
fn a_stop_takes_the_start_s_body_and_its_limits() {
    let reply = QingcloudDialect.handle(&signed(&stop_call(&ids(101))), &mut fleet(&[]));
    assert_eq!(reply.body["ret_code"], 1100, "{}", reply.body);
    let mut call = stop_call(&ids(1));
    call.body = br#"{"cluster_ids": ["hpc-00000000"]}"#.to_vec();
    let reply = QingcloudDialect.handle(&signed(&call), &mut fleet(&[]));
    assert_eq!(reply.body["ret_code"], 1100, "{}", reply.body);
    assert!(reply.body["message"].as_str().unwrap().contains("[zone]"));
}

#[test]
fn a_cluster_whose_start_failed_can_be_started_again() {
    let id = &ids(1)[0];
    let seed = SeedMachine {
        boot: Boot::Fail,
        ..Default::default()
    };
    let mut fleet = fleet_with(std::time::Duration::ZERO, &[(id, seed)]);
    let reply = QingcloudDialect.handle(&signed(&start_call(&ids(1))), &mut fleet);
    let job_id = reply.body["job_ids"].as_str().unwrap().to_string();
    assert_eq!(listed(&mut fleet, id), (json!("stopped"), json!("")));
    assert_eq!(job(&mut fleet, &job_id)["status"], "failed");
    let reply = QingcloudDialect.handle(&signed(&start_call(&ids(1))), &mut fleet);
    assert_eq!(reply.body["ret_code"], 0, "{}", reply.body);
}
