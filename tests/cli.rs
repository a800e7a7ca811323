//! The command-line contract, driven through the real binary against the real simulator over
//! loopback: exit codes, stdout/stderr split, the JSON schema, and secrets kept out of all output.

mod support;

use std::time::Duration;

use serde::Deserialize;
use support::{cloudstart, report, Sim, SECRET_ID};

/// Runs `start` with `--output json` and `extra` flags, checks the exit code, and returns the
/// report and stderr.
fn start_json(sim: &Sim, ids: &[&str], extra: &[&str], code: i32) -> (serde_json::Value, String) {
    let output = sim
        .start_cmd(ids)
        .args(["-o", "json"])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(code), "{}", stderr(&output));
    (report(&output), stderr(&output))
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn start_one_reaches_running() {
    let sim = Sim::start("");
    let output = sim.start_cmd(&["ins-r8hr2upy"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("ins-r8hr2upy  running  "), "{out}");
    assert!(out.contains("RUNNING"), "{out}");
    assert_eq!(sim.count("StartInstances"), 1);
    assert!(sim.requests().iter().all(|r| r["signature"] == "ok"));
}

#[test]
fn two_hundred_fifty_ids_take_exactly_three_start_requests() {
    let sim = Sim::start("");
    let ids: Vec<String> = (0..250).map(|i| format!("ins-{i:08}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let output = sim.start_cmd(&ids).args(["-o", "json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = report(&output);
    let instances = report["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 250);
    assert!(instances.iter().all(|r| r["outcome"] == "running"));
    assert_eq!(sim.count("StartInstances"), 3);
    let batch_sizes: Vec<usize> = sim
        .requests()
        .iter()
        .filter(|r| r["action"] == "StartInstances")
        .map(|r| r["ids"].as_array().unwrap().len())
        .collect();
    assert_eq!(batch_sizes, [100, 100, 50]);
    // Each poll round asks about at most 100 machines per call.
    assert!(sim
        .requests()
        .iter()
        .filter(|r| r["action"] == "DescribeInstances")
        .all(|r| r["ids"].as_array().unwrap().len() <= 100));
}

#[test]
fn already_running_exits_zero() {
    let sim = Sim::start("[tencent.ins-aaaaaaaa]\nstate = \"RUNNING\"\n");
    let (json, _) = start_json(&sim, &["ins-aaaaaaaa"], &[], 0);
    let record = &json["instances"][0];
    assert_eq!(record["outcome"], "already_running");
    assert_eq!(record["state"], "RUNNING");
    assert!(record["error"].is_null());
}

#[test]
fn already_starting_is_waited_for() {
    // The seeded machine finishes booting 1 s after the simulator starts: the start call lands
    // well before, is refused as "starting", and the machine is then polled to RUNNING.
    let sim = Sim::start_with(
        "[tencent.ins-aaaaaaaa]\nstate = \"STARTING\"\n",
        &["--boot-delay", "1s"],
    );
    let (json, _) = start_json(&sim, &["ins-aaaaaaaa"], &[], 0);
    assert_eq!(json["instances"][0]["outcome"], "running");
    assert_eq!(sim.count("StartInstances"), 1);
}

#[test]
fn not_found_exits_four() {
    let sim = Sim::start("[tencent.ins-0000dead]\nstate = \"not_found\"\n");
    let (json, err) = start_json(&sim, &["ins-0000dead"], &[], 4);
    let record = &json["instances"][0];
    assert_eq!(record["outcome"], "failed");
    assert_eq!(record["error"]["kind"], "api");
    assert_eq!(record["error"]["code"], "InvalidInstanceId.NotFound");
    assert!(record["error"]["request_id"].is_string());
    assert!(err.contains("1 of 1 machine did not start"), "{err}");
}

#[test]
fn one_missing_machine_does_not_stop_the_rest_of_its_batch() {
    let sim = Sim::start("[tencent.ins-0000dead]\nstate = \"not_found\"\n");
    let (json, _) = start_json(
        &sim,
        &["ins-aaaaaaaa", "ins-0000dead", "ins-bbbbbbbb"],
        &[],
        4,
    );
    let outcomes: Vec<&str> = json["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["running", "failed", "running"]);
    // The refused batch, then the same batch without the missing machine.
    assert_eq!(sim.count("StartInstances"), 2);
}

#[test]
fn a_running_machine_in_a_batch_is_already_running_and_the_rest_start() {
    let sim = Sim::start("[tencent.ins-bbbbbbbb]\nstate = \"RUNNING\"\n");
    let (json, _) = start_json(&sim, &["ins-aaaaaaaa", "ins-bbbbbbbb"], &[], 0);
    assert_eq!(json["instances"][0]["outcome"], "running");
    assert_eq!(json["instances"][1]["outcome"], "already_running");
    let starts: Vec<usize> = sim
        .requests()
        .iter()
        .filter(|r| r["action"] == "StartInstances")
        .map(|r| r["ids"].as_array().unwrap().len())
        .collect();
    assert_eq!(starts, [2, 1]);
}

#[test]
fn wrong_secret_exits_three() {
    let sim = Sim::start("");
    let output = sim
        .start_cmd(&["ins-aaaaaaaa"])
        .env("TENCENTCLOUD_SECRET_KEY", "not-the-right-key")
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let json = report(&output);
    let record = &json["instances"][0];
    assert_eq!(record["error"]["kind"], "auth");
    assert_eq!(record["error"]["code"], "AuthFailure.SignatureFailure");
    // Auth failures are never retried.
    assert_eq!(sim.count("StartInstances"), 1);
    assert_eq!(sim.requests()[0]["signature"], "failed");
}

#[test]
fn missing_credentials_exit_three_naming_the_variables() {
    let sim = Sim::start("");
    let output = cloudstart(sim.dir())
        .args(["start", "-p", "tencent", "-r", "ap-guangzhou", "--endpoint"])
        .arg(&sim.url)
        .arg("ins-aaaaaaaa")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let err = stderr(&output);
    assert!(err.contains("TENCENTCLOUD_SECRET_ID"), "{err}");
    assert!(err.contains("TENCENTCLOUD_SECRET_KEY"), "{err}");
    assert!(output.stdout.is_empty());
    assert!(sim.requests().is_empty());
}

#[test]
fn boot_failure_exits_seven() {
    let sim = Sim::start("[tencent.ins-aaaaaaaa]\nboot = \"fail\"\n");
    let (json, _) = start_json(&sim, &["ins-aaaaaaaa"], &[], 7);
    let record = &json["instances"][0];
    assert_eq!(record["outcome"], "failed");
    assert_eq!(record["state"], "STOPPED");
    assert_eq!(record["error"]["kind"], "failed_state");
}

#[test]
fn machine_in_a_terminal_state_is_refused_with_exit_four() {
    let sim = Sim::start("[tencent.ins-aaaaaaaa]\nstate = \"SHUTDOWN\"\n");
    let (json, _) = start_json(&sim, &["ins-aaaaaaaa"], &[], 4);
    let record = &json["instances"][0];
    assert_eq!(record["state"], "SHUTDOWN");
    assert_eq!(
        record["error"]["code"],
        "UnsupportedOperation.InstanceStateShutdown"
    );
}

#[test]
fn never_running_times_out_with_exit_six() {
    let sim = Sim::start("[tencent.ins-aaaaaaaa]\nboot = \"never\"\n");
    let (json, _) = start_json(&sim, &["ins-aaaaaaaa"], &["--timeout", "300ms"], 6);
    let record = &json["instances"][0];
    assert_eq!(record["outcome"], "timeout");
    assert_eq!(record["state"], "STARTING");
    assert_eq!(record["error"]["kind"], "timeout");
}

#[test]
fn no_wait_returns_once_the_start_is_accepted() {
    let sim = Sim::start_with("", &["--boot-delay", "1h"]);
    let (json, _) = start_json(&sim, &["ins-aaaaaaaa"], &["--no-wait"], 0);
    assert_eq!(json["instances"][0]["outcome"], "starting");
    assert_eq!(sim.count("DescribeInstances"), 0);
}

#[test]
fn unreachable_endpoint_exits_five_after_retries() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = tempfile::tempdir().unwrap();
    let output = cloudstart(home.path())
        .env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", support::SECRET_KEY)
        .args(["start", "-p", "tencent", "-r", "ap-guangzhou", "-o", "json"])
        .args(["--endpoint", &format!("http://127.0.0.1:{port}")])
        .arg("ins-aaaaaaaa")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    let json = report(&output);
    let record = &json["instances"][0];
    assert_eq!(record["error"]["kind"], "transport");
    let message = record["error"]["message"].as_str().unwrap();
    assert!(message.contains("after 5 attempts"), "{message}");
}

#[test]
fn usage_errors_exit_two_before_any_request() {
    let sim = Sim::start("");
    let cases: [(&[&str], &str); 5] = [
        (&["-p", "zenlayer", "x"], "not yet supported"),
        (
            &["-p", "tencent", "-r", "ap-guangzhou", "ins-BAD"],
            "malformed tencent instance id",
        ),
        (
            &["-p", "tencent", "ins-aaaaaaaa"],
            "--region or TENCENTCLOUD_REGION",
        ),
        (&["-p", "nosuchcloud", "ins-aaaaaaaa"], "invalid value"),
        (
            &[
                "-p",
                "tencent",
                "-r",
                "ap-guangzhou",
                "--endpoint",
                "not a url",
                "ins-aaaaaaaa",
            ],
            "invalid endpoint",
        ),
    ];
    for (args, message) in cases {
        let output = cloudstart(sim.dir())
            .env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
            .env("TENCENTCLOUD_SECRET_KEY", support::SECRET_KEY)
            .arg("start")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    assert!(sim.requests().is_empty());
}

#[test]
fn region_and_provider_come_from_the_environment() {
    let sim = Sim::start("");
    let output = cloudstart(sim.dir())
        .env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", support::SECRET_KEY)
        .env("TENCENTCLOUD_REGION", "ap-shanghai")
        .env("CLOUDSTART_PROVIDER", "tencent")
        .env("CLOUDSTART_TENCENT_ENDPOINT", &sim.url)
        .env("CLOUDSTART_ENDPOINT", "http://127.0.0.1:9")
        .args([
            "start",
            "--poll-interval",
            "5ms",
            "-o",
            "json",
            "ins-aaaaaaaa",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(report(&output)["instances"][0]["region"], "ap-shanghai");
}

#[test]
fn duplicate_ids_are_started_and_reported_once() {
    let sim = Sim::start("");
    let (json, _) = start_json(&sim, &["ins-aaaaaaaa", "ins-aaaaaaaa"], &[], 0);
    assert_eq!(json["instances"].as_array().unwrap().len(), 1);
    assert_eq!(sim.requests()[0]["ids"].as_array().unwrap().len(), 1);
}

/// The JSON report's schema, re-declared: any field added or renamed without a schema change fails.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonReport {
    schema_version: u32,
    #[allow(dead_code)]
    elapsed_ms: u64,
    instances: Vec<JsonRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRecord {
    provider: String,
    region: Option<String>,
    id: String,
    outcome: String,
    state: Option<String>,
    error: Option<JsonError>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonError {
    kind: String,
    code: Option<String>,
    message: String,
    request_id: Option<String>,
}

#[test]
fn json_report_matches_the_documented_schema() {
    let sim = Sim::start(
        "[tencent.ins-0000dead]\nstate = \"not_found\"\n[tencent.ins-bbbbbbbb]\nstate = \"RUNNING\"\n",
    );
    let output = sim
        .start_cmd(&["ins-aaaaaaaa", "ins-0000dead", "ins-bbbbbbbb"])
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let text = stdout(&output);
    assert_eq!(text.trim_end().lines().count(), 1, "one document: {text}");
    let report: JsonReport = serde_json::from_str(&text).unwrap();
    assert_eq!(report.schema_version, 1);
    let outcomes = [
        "running",
        "starting",
        "already_running",
        "failed",
        "timeout",
        "interrupted",
    ];
    let kinds = [
        "usage",
        "auth",
        "api",
        "transport",
        "timeout",
        "failed_state",
        "internal",
    ];
    let ids: Vec<&str> = report.instances.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["ins-aaaaaaaa", "ins-0000dead", "ins-bbbbbbbb"]);
    for record in &report.instances {
        assert_eq!(record.provider, "tencent");
        assert_eq!(record.region.as_deref(), Some("ap-guangzhou"));
        assert!(outcomes.contains(&record.outcome.as_str()), "{record:?}");
        if let Some(error) = &record.error {
            assert!(kinds.contains(&error.kind.as_str()), "{record:?}");
            assert!(!error.message.is_empty());
        }
    }
    let dead = &report.instances[1];
    let error = dead.error.as_ref().unwrap();
    assert_eq!(error.code.as_deref(), Some("InvalidInstanceId.NotFound"));
    assert!(error.request_id.is_some());
    assert_eq!(dead.state, None);
    assert_eq!(report.instances[2].outcome, "already_running");
}

#[test]
fn secrets_never_appear_in_any_output_even_at_trace() {
    let sim = Sim::start("");
    let token = "SENTINEL-TOKEN-7f3a9c";
    let output = sim
        .start_cmd(&["ins-aaaaaaaa"])
        .env("TENCENTCLOUD_SECURITY_TOKEN", token)
        .args(["-vvv", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let all = format!("{}{}", stdout(&output), stderr(&output));
    assert!(
        all.contains("DescribeInstances"),
        "-vvv logs requests: {all}"
    );
    assert!(!all.contains(token));
    assert!(!all.contains(support::SECRET_KEY));

    let secret = "SENTINEL-SECRET-0d1e2f";
    let output = sim
        .start_cmd(&["ins-aaaaaaaa"])
        .env("TENCENTCLOUD_SECRET_KEY", secret)
        .env("RUST_LOG", "trace")
        .args(["-vvv"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let all = format!("{}{}", stdout(&output), stderr(&output));
    assert!(!all.contains(secret), "{all}");
}

#[test]
fn interrupt_reports_what_was_requested_and_exits_130() {
    let sim = Sim::start_with("", &["--boot-delay", "1h"]);
    let mut child = sim
        .start_std_cmd(&["ins-aaaaaaaa"])
        .args(["-o", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the start was sent and polling began, then press Ctrl-C.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sim.count("DescribeInstances") == 0 {
        assert!(std::time::Instant::now() < deadline, "never polled");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "did not exit after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    let json = report(&output);
    let record = &json["instances"][0];
    assert_eq!(record["outcome"], "interrupted");
    assert_eq!(record["state"], "STARTING");
    assert_eq!(record["error"]["kind"], "interrupted");
}

#[test]
fn help_documents_the_exit_codes() {
    let home = tempfile::tempdir().unwrap();
    for args in [&["--help"][..], &["start", "--help"]] {
        let output = cloudstart(home.path()).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(0));
        let text = stdout(&output);
        for line in [
            "0    every target is RUNNING",
            "130  interrupted",
            "7    a machine entered a failure state",
        ] {
            assert!(text.contains(line), "{args:?}: {text}");
        }
    }
}

#[test]
fn demo_exits_zero() {
    let home = tempfile::tempdir().unwrap();
    let output = cloudstart(home.path())
        .args(["demo", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = report(&output);
    assert!(report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["outcome"] == "running"));
}

#[test]
fn simulator_refuses_to_listen_beyond_loopback() {
    let home = tempfile::tempdir().unwrap();
    let output = cloudstart(home.path())
        .args(["sim", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("loopback only"));
}
