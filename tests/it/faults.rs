//! One fault suite for every cloud: each test starts `cloudstart sim` with a fault injected, runs
//! the real binary against every dialect at once (a thread per cloud), and checks the exit code,
//! each machine's outcome, that every machine is in the report exactly once, and — from the
//! simulator's request log — how many requests were sent. Never durations.

use std::process::Output;

use serde_json::Value;

use cloudstart::provider::ErrorClass;

use crate::support::{
    self, actions, for_every_cloud, id, profiles, provider_of, report, seed, stderr, Profile, Sim,
};

/// `start` on `profile`'s cloud with `--output json` and `extra` flags.
fn start(sim: &Sim, profile: &Profile, ids: &[String], extra: &[&str]) -> Output {
    run(sim, "start", profile, ids, extra)
}

/// `command` (`start` or `stop`) on `profile`'s cloud with `--output json` and `extra` flags.
fn run(sim: &Sim, command: &str, profile: &Profile, ids: &[String], extra: &[&str]) -> Output {
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    sim.cmd(command, profile, &ids)
        .args(["-o", "json"])
        .args(extra)
        .output()
        .unwrap()
}

/// The operations every fault is tried on: the command, the outcome it ends in, and a state
/// file putting machines 1 to 3 of every cloud where it begins.
fn operations() -> [(&'static str, &'static str, String); 2] {
    let running: String = (profiles())
        .flat_map(|profile| {
            let state = format!("state = \"{}\"", profile.running_state());
            (1..=3).map(move |n| seed(profile, &id(profile, n), &state))
        })
        .collect();
    [
        ("start", "running", String::new()),
        ("stop", "stopped", running),
    ]
}

/// The simulator seeded with `state`, machines booting and stopping at once, and `fault`.
fn instant_sim(state: &str, fault: &str) -> Sim {
    let flags = ["--boot-delay", "0s", "--stop-delay", "0s", "--fault", fault];
    Sim::start_with(state, &flags)
}

/// The names `profile`'s cloud gives `command`'s call and its describe call.
fn call_names(profile: &Profile, command: &str) -> (&'static str, &'static str) {
    let actions = profile.actions();
    let call = if command == "stop" {
        actions.stop
    } else {
        actions.start
    };
    (call, actions.describe)
}

/// Runs `command` on `n` machines of `profile`'s cloud and checks that the run exits 0 with
/// every one at `goal` and reported once; `context` names the case in failures.
fn all_reach(sim: &Sim, command: &str, goal: &str, profile: &Profile, n: usize, context: &str) {
    let ids = ids(profile, n);
    let records = records(profile, &run(sim, command, profile, &ids, &[]), 0, &ids);
    assert!(
        records.iter().all(|r| r["outcome"] == goal),
        "{} {command} {context}: {records:?}",
        profile.provider
    );
}

/// Checks the exit code and that the report lists each of `ids` exactly once, in order; returns
/// the records.
fn records(profile: &Profile, output: &Output, code: i32, ids: &[String]) -> Vec<Value> {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{}: {}",
        profile.provider,
        stderr(output)
    );
    let json = report(output);
    let records = json["instances"].as_array().unwrap().clone();
    let listed: Vec<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids, "{}: each machine once", profile.provider);
    records
}

fn outcomes(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect()
}

/// The logged requests of `profile`'s cloud.
fn requests(sim: &Sim, profile: &Profile) -> Vec<Value> {
    sim.requests()
        .into_iter()
        .filter(|r| r["cloud"] == profile.provider)
        .collect()
}

/// How many of `profile`'s requests for `action` were logged, and how many of those carried
/// `fault`.
fn count(sim: &Sim, profile: &Profile, action: &str, fault: &str) -> (usize, usize) {
    let calls = sim.calls(profile.provider, action);
    let faulty = calls.iter().filter(|r| r["fault"] == fault).count();
    (calls.len(), faulty)
}

fn ids(profile: &Profile, n: usize) -> Vec<String> {
    (1..=n).map(|i| id(profile, i)).collect()
}

/// Starts `n` machines on `profile`'s cloud and checks that the run exits 0 with every one
/// running and reported once; `context` names the case in failures.
fn start_all_running(sim: &Sim, profile: &Profile, n: usize, context: &str) {
    all_reach(sim, "start", "running", profile, n, context);
}

/// Whether the cloud documents a throttling answer to retry. QingCloud EHPC has none: its
/// ret_code 2500 is an API quota restored at midnight (`error_code.md`), which the simulator's
/// throttle answers with and cloudstart reports at once.
fn throttles_retryably(profile: &Profile) -> bool {
    profile.vocabulary().code(ErrorClass::Throttled).is_some()
}

/// A run whose cloud answered its quota refusal: exit 4 with the cloud's quota code.
fn refused_for_quota(sim: &Sim, profile: &Profile, n: usize) {
    let ids = ids(profile, n);
    let records = records(profile, &start(sim, profile, &ids, &[]), 4, &ids);
    for record in &records {
        assert_eq!(record["error"]["code"], "2500", "{}", profile.provider);
        let message = record["error"]["message"].as_str().unwrap();
        assert!(message.contains("midnight"), "{message}");
    }
}

#[test]
fn throttled_starts_and_stops_are_retried_until_accepted() {
    support::at_once(operations(), |(command, goal, state)| {
        let sim = instant_sim(&state, &format!("throttle:2@{command}"));
        for_every_cloud(|profile| {
            let (call, _) = call_names(profile, command);
            if !throttles_retryably(profile) {
                let ids = ids(profile, 1);
                let records = records(profile, &run(&sim, command, profile, &ids, &[]), 4, &ids);
                assert_eq!(records[0]["error"]["code"], "2500", "{command}");
                assert_eq!(count(&sim, profile, call, "throttle"), (1, 1));
                return;
            }
            all_reach(&sim, command, goal, profile, 1, "");
            assert_eq!(
                count(&sim, profile, call, "throttle"),
                (3, 2),
                "{} {command}",
                profile.provider
            );
        });
    });
}

#[test]
fn throttled_describes_slow_the_wait_without_ending_it() {
    // One throttled describe, paused for its Retry-After and sent again. That a whole round of
    // throttled describes only lengthens the pause before the next round, and how, is a timing
    // rule judged on paused time by `engine::wait`'s unit test of the same name.
    let sim = Sim::start_with(
        "",
        &["--boot-delay", "0s", "--fault", "throttle:1@describe"],
    );
    for_every_cloud(|profile| {
        let (_, describe_action) = actions(profile);
        if !throttles_retryably(profile) {
            refused_for_quota(&sim, profile, 1);
            assert_eq!(count(&sim, profile, describe_action, "throttle"), (1, 1));
            return;
        }
        start_all_running(&sim, profile, 1, "");
        let (describes, throttled) = count(&sim, profile, describe_action, "throttle");
        assert_eq!(throttled, 1, "{}", profile.provider);
        assert!(describes > 1, "{}", profile.provider);
    });
}

#[test]
fn server_errors_with_html_pages_are_retried() {
    support::at_once(["http500", "http502", "http503"], |kind| {
        let fault = format!("{kind}:2");
        let sim = Sim::start_with("", &["--boot-delay", "0s", "--fault", &fault]);
        for_every_cloud(|profile| {
            start_all_running(&sim, profile, 1, kind);
            let faults = requests(&sim, profile)
                .iter()
                .filter(|r| r["fault"] == kind)
                .count();
            assert_eq!(faults, 2, "{} {kind}", profile.provider);
        });
    });
}

#[test]
fn persistent_server_errors_end_after_bounded_retries() {
    let sim = Sim::start_with("", &["--fault", "http502:1000@start"]);
    for_every_cloud(|profile| {
        let ids = ids(profile, 2);
        let records = records(profile, &start(&sim, profile, &ids, &[]), 5, &ids);
        for record in &records {
            assert_eq!(record["outcome"], "failed", "{}", profile.provider);
            assert_eq!(record["error"]["kind"], "transport", "{}", profile.provider);
            let message = record["error"]["message"].as_str().unwrap();
            assert!(message.contains("after 5 attempts"), "{message}");
        }
        // One call per batch (CompShare: per machine), each tried 5 times; nothing else sent.
        let calls = ids.len().div_ceil(provider_of(profile).spec().action_batch);
        assert_eq!(
            requests(&sim, profile).len(),
            5 * calls,
            "{}",
            profile.provider
        );
    });
}

#[test]
fn a_start_or_stop_without_a_readable_answer_is_described_before_any_resend() {
    // The simulator acts on the call, then loses or garbles the answer.
    let kinds = ["drop", "truncate", "not-json", "html"];
    let cases = operations()
        .into_iter()
        .flat_map(|op| kinds.map(|kind| (op.clone(), kind)));
    support::at_once(cases, |((command, goal, state), kind)| {
        let sim = instant_sim(&state, &format!("{kind}:1@{command}"));
        for_every_cloud(|profile| {
            all_reach(&sim, command, goal, profile, 1, kind);
            let (call, describe_action) = call_names(profile, command);
            let (calls, _) = count(&sim, profile, call, kind);
            let context = format!("{} {command} {kind}", profile.provider);
            if provider_of(profile).spec().idempotent_actions {
                // Sent again with the same client token: the cloud answers 412
                // IdempotentProcessing while it still processes the first, then the
                // first's answer, without acting twice.
                let codes: Vec<Value> = sim.calls(profile.provider, call)[1..]
                    .iter()
                    .map(|r| r["error_code"].clone())
                    .collect();
                let (last, waits) = codes.split_last().unwrap();
                assert_eq!(*last, Value::Null, "{context}: {codes:?}");
                assert!(
                    waits.iter().all(|c| c == "IdempotentProcessing"),
                    "{context}: {codes:?}"
                );
                assert!(calls >= 2, "{context}");
            } else {
                // Described, found on its way, and not sent again.
                assert_eq!(calls, 1, "{context}");
                assert!(
                    !sim.calls(profile.provider, describe_action).is_empty(),
                    "{context}"
                );
            }
        });
    });
}

#[test]
fn a_start_whose_answers_are_all_lost_is_described_and_waited_for() {
    // The simulator acts on the first start and every answer is lost: where the cloud
    // de-duplicates (Volcengine), the same request is sent until the retries run out; everywhere,
    // the machine is then described, found on its way up, and waited for — not reported failed.
    let sim = Sim::start_with("", &["--boot-delay", "0s", "--fault", "drop:1000@start"]);
    for_every_cloud(|profile| {
        start_all_running(&sim, profile, 1, "");
        let (start_action, describe_action) = actions(profile);
        let (starts, dropped) = count(&sim, profile, start_action, "drop");
        assert_eq!(starts, dropped, "{}", profile.provider);
        let expected = if provider_of(profile).spec().idempotent_actions {
            5
        } else {
            1
        };
        assert_eq!(starts, expected, "{}", profile.provider);
        assert!(
            !sim.calls(profile.provider, describe_action).is_empty(),
            "{}",
            profile.provider
        );
    });
}

#[test]
fn an_enormous_start_answer_is_not_read_and_the_start_is_sent_again() {
    // The simulator does not act on the start and answers with more than the 4 MiB cap.
    let sim = Sim::start_with("", &["--boot-delay", "0s", "--fault", "huge:1@start"]);
    for_every_cloud(|profile| {
        start_all_running(&sim, profile, 1, "");
        let (start_action, _) = actions(profile);
        assert_eq!(
            count(&sim, profile, start_action, "huge"),
            (2, 1),
            "{}",
            profile.provider
        );
    });
}

#[test]
fn unreadable_describes_are_retried() {
    support::at_once(["drop", "truncate", "not-json", "html", "huge"], |kind| {
        let fault = format!("{kind}:2@describe");
        let sim = Sim::start_with("", &["--boot-delay", "0s", "--fault", &fault]);
        for_every_cloud(|profile| {
            start_all_running(&sim, profile, 1, kind);
            let (_, describe_action) = actions(profile);
            let (_, faulty) = count(&sim, profile, describe_action, kind);
            assert_eq!(faulty, 2, "{} {kind}", profile.provider);
        });
    });
}

#[test]
fn a_skewed_cloud_clock_is_measured_once_and_signed_with() {
    let sim = Sim::start_with("", &["--boot-delay", "0s", "--clock-skew", "3600"]);
    for_every_cloud(|profile| {
        let ids = ids(profile, 1);
        let output = start(&sim, profile, &ids, &[]);
        let records = records(profile, &output, 0, &ids);
        assert_eq!(outcomes(&records), ["running"], "{}", profile.provider);
        let refused = requests(&sim, profile)
            .iter()
            .filter(|r| !r["error_code"].is_null())
            .count();
        let warned = stderr(&output).contains("s off (behind the");
        if profile.provider == "compshare" {
            // CompShare signs no time: nothing to correct.
            assert_eq!((refused, warned), (0, false), "{}", stderr(&output));
        } else {
            assert_eq!(
                (refused, warned),
                (1, true),
                "{}: {}",
                profile.provider,
                stderr(&output)
            );
            // Measured from the cloud's Date header, to the second, less however long the
            // answer took to arrive: a few seconds short of the skew on a loaded machine.
            let text = stderr(&output);
            let seconds: u32 = (text.split("local clock is ").nth(1))
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no measured offset: {text}"));
            assert!((3590..=3600).contains(&seconds), "{text}");
        }
    });
}

/// A code each cloud answers a start with that is a plain refusal: its vocabulary's first
/// `Refused` code, else its first `Capacity` one (a refusal too without `--retry-capacity`).
fn refusal_code(profile: &Profile) -> &'static str {
    let words = profile.vocabulary();
    (words.code(ErrorClass::Refused))
        .or_else(|| words.code(ErrorClass::Capacity))
        .unwrap_or_else(|| panic!("{}: its vocabulary lists no refusal", profile.provider))
}

#[test]
fn a_refused_start_is_reported_with_the_cloud_s_code() {
    let state: String = profiles()
        .map(|profile| {
            let line = format!("start_error = \"{}\"", refusal_code(profile));
            seed(profile, &id(profile, 1), &line)
        })
        .collect();
    let sim = Sim::start(&state);
    for_every_cloud(|profile| {
        let ids = ids(profile, 2);
        let records = records(profile, &start(&sim, profile, &ids, &[]), 4, &ids);
        let refused = &records[0];
        assert_eq!(refused["outcome"], "failed", "{}", profile.provider);
        assert_eq!(refused["error"]["kind"], "api", "{}", profile.provider);
        let code = refused["error"]["code"].as_str().unwrap_or_default();
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(
            code == refusal_code(profile) || message.contains(refusal_code(profile)),
            "{}: {refused}",
            profile.provider
        );
    });
}

#[test]
fn the_client_keeps_under_each_cloud_s_rate_limit() {
    // Slow boots and 5 ms polls: unlimited, the client would poll far faster than any cloud
    // allows. The limiter's window itself is judged on paused time by the unit test
    // `the_rate_limiter_never_lets_more_than_the_limit_into_one_window`; here only a count the
    // limiter guarantees whatever the load: every request was sent while the command ran, and
    // that stretch is covered by `floor(elapsed / per) + 1` windows of at most `limit` each. A
    // slow machine only lengthens `elapsed` and so loosens the bound; it cannot break it, as
    // judging gaps between the simulator's log times could (requests delayed in transit bunch).
    let sim = Sim::start_with("", &["--boot-delay", "2s"]);
    for_every_cloud(|profile| {
        // The per-second ceiling (QingCloud's hourly quota cannot bind in a test).
        let limits = provider_of(profile).spec().rate_limits;
        let limit = *(limits.iter())
            .find(|l| l.per <= std::time::Duration::from_secs(1))
            .unwrap_or_else(|| panic!("{}: no per-second limit", profile.provider));
        let began = std::time::Instant::now();
        start_all_running(&sim, profile, 3, "");
        let elapsed = began.elapsed();
        let (start_action, describe_action) = actions(profile);
        assert!(
            !sim.calls(profile.provider, start_action).is_empty()
                && !sim.calls(profile.provider, describe_action).is_empty(),
            "{}: no start or no describe was sent",
            profile.provider
        );
        let sent = requests(&sim, profile).len();
        let windows = (elapsed.as_nanos() / limit.per.as_nanos()) as usize + 1;
        let most = limit.requests as usize * windows;
        assert!(
            sent <= most,
            "{}: {sent} requests in {elapsed:?}, more than {} per {:?} allows ({most})",
            profile.provider,
            limit.requests,
            limit.per
        );
    });
}

#[test]
fn a_cloud_throttling_above_a_rate_is_recovered_from() {
    // One request a second: the start and the first describe already collide.
    let sim = Sim::start_with("", &["--boot-delay", "0s", "--throttle-rate", "1"]);
    for_every_cloud(|profile| {
        if !throttles_retryably(profile) {
            refused_for_quota(&sim, profile, 2);
            return;
        }
        start_all_running(&sim, profile, 2, "");
        let throttled = requests(&sim, profile)
            .iter()
            .filter(|r| r["fault"] == "rate")
            .count();
        assert!(throttled > 0, "{}: never throttled", profile.provider);
    });
}

#[test]
fn answers_slower_than_the_deadline_end_in_a_timeout_for_every_machine() {
    let sim = Sim::start_with("", &["--delay", "5s"]);
    for_every_cloud(|profile| {
        let ids = ids(profile, 2);
        let output = start(&sim, profile, &ids, &["--timeout", "1s"]);
        let records = records(profile, &output, 6, &ids);
        for record in &records {
            assert_eq!(record["error"]["kind"], "timeout", "{}", profile.provider);
        }
    });
}

#[test]
fn bad_input_exits_two_before_any_request() {
    let sim = Sim::start("");
    for_every_cloud(|profile| {
        let good = id(profile, 1);
        let endpoint = sim.url(profile.provider);
        let region = profile
            .region
            .map(|r| vec!["--region", r])
            .unwrap_or_default();
        let zone = profile.zone.map(|z| vec!["--zone", z]).unwrap_or_default();
        let located = |args: &[&str]| -> Vec<String> {
            let mut all: Vec<&str> = vec!["--endpoint", endpoint];
            all.extend(&region);
            all.extend(&zone);
            all.extend(args);
            all.iter().map(|a| a.to_string()).collect()
        };
        let mut cases = vec![
            located(&[""]),
            located(&["not an id!"]),
            located(&[&good, "--timeout", "0s"]),
            located(&[&good, "--poll-interval", "5s", "--poll-max", "1s"]),
        ];
        let mut bad_endpoint = vec!["--endpoint", "not a url"];
        bad_endpoint.extend(&region);
        bad_endpoint.extend(&zone);
        bad_endpoint.push(&good);
        cases.push(bad_endpoint.iter().map(|a| a.to_string()).collect());
        if profile.region.is_some() {
            let mut bad_region = vec!["--endpoint", endpoint, "--region", "AP_Guangzhou"];
            bad_region.extend(&zone);
            bad_region.push(&good);
            cases.push(bad_region.iter().map(|a| a.to_string()).collect());
        }
        if !provider_of(profile).spec().without_gpu {
            cases.push(located(&[&good, "--without-gpu"]));
        }
        for args in cases {
            let output = support::cloudstart(sim.dir())
                .envs(profile.credentials.iter().copied())
                .args(["start", "-p", profile.provider])
                .args(&args)
                .output()
                .unwrap();
            assert_eq!(
                output.status.code(),
                Some(2),
                "{} {args:?}: {}",
                profile.provider,
                stderr(&output)
            );
            assert!(stderr(&output).contains("error"), "{}", stderr(&output));
        }
        assert!(requests(&sim, profile).is_empty(), "{}", profile.provider);
    });
}

#[test]
fn repeated_ids_are_started_and_reported_once() {
    let sim = Sim::start("");
    for_every_cloud(|profile| {
        let one = id(profile, 1);
        let output = start(&sim, profile, &[one.clone(), one.clone(), one.clone()], &[]);
        records(profile, &output, 0, std::slice::from_ref(&one));
        let (start_action, _) = actions(profile);
        let started: Vec<Value> = sim
            .calls(profile.provider, start_action)
            .iter()
            .flat_map(|r| r["ids"].as_array().unwrap().clone())
            .collect();
        assert_eq!(started, [Value::from(one)], "{}", profile.provider);
    });
}

#[test]
fn running_the_same_start_twice_is_safe() {
    let sim = Sim::start("");
    for_every_cloud(|profile| {
        let ids = ids(profile, 2);
        let first = records(profile, &start(&sim, profile, &ids, &[]), 0, &ids);
        assert_eq!(outcomes(&first), ["running", "running"]);
        let second = records(profile, &start(&sim, profile, &ids, &[]), 0, &ids);
        assert_eq!(
            outcomes(&second),
            ["already_running", "already_running"],
            "{}",
            profile.provider
        );
    });
}

#[test]
fn a_batch_refused_for_one_machines_capacity_still_starts_the_others() {
    // Tencent, QingCloud and Zenlayer refuse a whole start call when one machine cannot start
    // (Tencent: StartInstances' batch is refused as a whole, its sold-out codes in
    // tencentcloud-sdk-go cvm/v20170312/errors.go); the batch is halved until the others go
    // ahead. Volcengine refuses that machine's OperationDetails entry alone; CompShare starts one
    // machine per call. Either way only the culprit fails, with its cloud's capacity code.
    let state: String = (profiles())
        .map(|profile| {
            let code = profile.vocabulary().code(ErrorClass::Capacity).unwrap();
            seed(
                profile,
                &id(profile, 3),
                &format!("start_error = \"{code}\""),
            )
        })
        .collect();
    let sim = Sim::start(&state);
    for_every_cloud(|profile| {
        let ids = ids(profile, 4);
        let records = records(profile, &start(&sim, profile, &ids, &[]), 4, &ids);
        assert_eq!(
            outcomes(&records),
            ["running", "running", "failed", "running"],
            "{}",
            profile.provider
        );
        let code = profile.vocabulary().code(ErrorClass::Capacity).unwrap();
        assert_eq!(records[2]["error"]["code"], code, "{}", profile.provider);
        if profile.provider == "tencent" {
            // All four, then the halves, then the culprit's half split in two.
            let (start_action, _) = actions(profile);
            assert_eq!(count(&sim, profile, start_action, "").0, 5);
        }
    });
}
