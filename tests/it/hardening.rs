//! Hostile networks and bad input: redirects, proxies, credential bytes, huge durations, the final
//! poll on the deadline, multi-cloud runs with one cloud's credentials missing, and values echoed
//! back in errors. Every request stays on 127.0.0.1.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use assert_cmd::Command;
use serde_json::Value;

use crate::support::{
    self, cloudstart, id, profiles, report, seed, stderr, stdout, tencent, Profile, Sim,
};

/// `start` on `profile`'s cloud at `endpoint`, with its simulator credentials and location.
pub(crate) fn start_at(
    home: &std::path::Path,
    profile: &Profile,
    endpoint: &str,
    ids: &[&str],
) -> Command {
    let mut cmd = cloudstart(home);
    cmd.envs(profile.credentials.iter().copied())
        .args([
            "start",
            "-o",
            "json",
            "-p",
            profile.provider,
            "--endpoint",
            endpoint,
        ])
        .args(["--poll-interval", "5ms", "--timeout", "20s"]);
    if let Some(region) = profile.region {
        cmd.args(["--region", region]);
    }
    if let Some(zone) = profile.zone {
        cmd.args(["--zone", zone]);
    }
    cmd.args(ids);
    cmd
}

/// `start` on Tencent at the simulator with nothing but its credentials and region: the caller
/// adds flags and ids.
fn tencent_at(sim: &Sim) -> Command {
    let mut cmd = cloudstart(sim.dir());
    cmd.envs(tencent().credentials.iter().copied())
        .args(["start", "-p", "tencent", "-r", "ap-guangzhou"])
        .args(["--endpoint", sim.url("tencent")]);
    cmd
}

/// A listener that counts the requests it gets and answers 200 `{}`.
fn counting_server() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let addr = support::serve(move |_, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        (200, Vec::new(), b"{}".to_vec())
    });
    (addr, hits)
}

#[test]
fn signed_calls_never_follow_a_redirect() {
    for status in [301u16, 302, 307, 308] {
        let (elsewhere, hits) = counting_server();
        let location = format!("http://{elsewhere}/steal?Signature=c2VjcmV0&token=abc");
        let redirector = support::serve(move |_, _| {
            let headers = vec![("location".to_string(), location.clone())];
            (status, headers, Vec::new())
        });
        for profile in profiles() {
            let home = tempfile::tempdir().unwrap();
            let endpoint = format!("http://{redirector}");
            let output = start_at(home.path(), profile, &endpoint, &[&id(profile, 1)])
                .output()
                .unwrap();
            let name = profile.provider;
            assert_eq!(
                output.status.code(),
                Some(5),
                "{name} {status}: {}",
                stderr(&output)
            );
            let record = &report(&output)["instances"][0];
            assert_eq!(record["error"]["kind"], "transport", "{name}");
            let message = record["error"]["message"].as_str().unwrap();
            assert!(
                message.contains(&format!("HTTP {status}"))
                    && message.contains(&format!("http://{elsewhere}")),
                "{name}: {message}"
            );
            let everything = format!("{}{}", support::stdout(&output), stderr(&output));
            assert!(!everything.contains("c2VjcmV0") && !everything.contains("steal"));
        }
        assert_eq!(hits.load(Ordering::SeqCst), 0, "{status} was followed");
    }
}

#[test]
fn huge_durations_are_usage_errors_naming_the_largest_accepted() {
    let sim = Sim::start("");
    for flag in ["--timeout", "--poll-interval", "--poll-max"] {
        let output = tencent_at(&sim)
            .args([flag, "300000000000y", "ins-aaaaaaaa"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{flag}: {}", stderr(&output));
        assert!(stderr(&output).contains("30days"), "{}", stderr(&output));
    }
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa"])
        .env("CLOUDSTART_HEARTBEAT", "300000000000y")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("CLOUDSTART_HEARTBEAT"));
    assert!(sim.requests().is_empty());
}

#[test]
fn proxies_are_checked_up_front_and_their_passwords_never_shown() {
    let sim = Sim::start("");
    // (environment, flags, what the error names)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);
    let cases: [Case; 5] = [
        (
            &[],
            &["--proxy", "http://alice:s3cret@[not-a-host"],
            "--proxy",
        ),
        (
            &[],
            &["--proxy", "socks5://alice:s3cret@127.0.0.1:1080"],
            "SOCKS",
        ),
        (
            &[("HTTPS_PROXY", "alice:s3cret@proxy:3128 x")],
            &[],
            "HTTPS_PROXY",
        ),
        (
            &[("http_proxy", "ftp://alice:s3cret@proxy")],
            &[],
            "http_proxy",
        ),
        (&[("ALL_PROXY", "socks5h://127.0.0.1:1080")], &[], "SOCKS"),
    ];
    for (env, flags, says) in cases {
        let output = sim
            .start_cmd(tencent(), &["ins-aaaaaaaa"])
            .envs(env.iter().copied())
            .args(flags)
            .output()
            .unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{env:?} {flags:?}: {err}");
        assert!(err.contains(says), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
    // An empty variable (an unset CI secret) counts as unset.
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa"])
        .env("HTTPS_PROXY", "")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // Only the last run reached the simulator.
    assert_eq!(sim.calls("tencent", "StartInstances").len(), 1);
}

#[test]
fn a_proxy_that_wants_credentials_is_a_credentials_error_naming_it() {
    let proxy = support::serve(|_, _| {
        let challenge = (
            "proxy-authenticate".to_string(),
            "Basic realm=\"x\"".to_string(),
        );
        (407, vec![challenge], Vec::new())
    });
    let home = tempfile::tempdir().unwrap();
    let output = start_at(
        home.path(),
        tencent(),
        "http://cvm.cloudstart.invalid",
        &["ins-aaaaaaaa"],
    )
    .args(["--proxy", &format!("http://{proxy}")])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let record = &report(&output)["instances"][0];
    assert_eq!(record["error"]["kind"], "auth");
    let message = record["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("proxy {proxy} (--proxy)")),
        "{message}"
    );
}

#[test]
fn credentials_with_stray_bytes_are_refused_before_any_request() {
    let sim = Sim::start("");
    let profile = tencent();
    let cases = [
        ("TENCENTCLOUD_SECRET_ID", "AKIDcloudstart\nSIMULATOR0001"),
        ("TENCENTCLOUD_SECRET_ID", "AKIDcloudstart SIMULATOR0001"),
        (
            "TENCENTCLOUD_SECRET_KEY",
            "cloudstart-simulator\u{7}-secret-key",
        ),
        ("TENCENTCLOUD_SECURITY_TOKEN", "token\r\nX-Injected: 1"),
    ];
    for (var, value) in cases {
        let output = sim
            .start_cmd(profile, &["ins-aaaaaaaa"])
            .env(var, value)
            .output()
            .unwrap();
        let err = format!("{}{}", support::stdout(&output), stderr(&output));
        assert_eq!(output.status.code(), Some(3), "{var}: {err}");
        assert!(err.contains(var), "{err}");
        assert!(
            !err.contains("SIMULATOR0001") && !err.contains("Injected"),
            "{err}"
        );
    }
    assert!(sim.requests().is_empty(), "a request was sent");
    // Whitespace around a value (a trailing newline from a file) is dropped, not refused.
    let output = sim
        .start_cmd(profile, &["ins-aaaaaaaa"])
        .env("TENCENTCLOUD_SECRET_ID", " AKIDcloudstartSIMULATOR0001\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn one_cloud_without_credentials_does_not_stop_the_others() {
    let sim = Sim::start("");
    let zenlayer = profiles().find(|p| p.provider == "zenlayer").unwrap();
    let home = tempfile::tempdir().unwrap();
    let tencent_id = format!("tencent:{}", id(tencent(), 1));
    let zenlayer_id = format!("zenlayer:{}", id(zenlayer, 1));
    let output = cloudstart(home.path())
        .envs(tencent().credentials.iter().copied())
        .env("CLOUDSTART_TENCENT_ENDPOINT", sim.url("tencent"))
        .env("CLOUDSTART_ZENLAYER_ENDPOINT", sim.url("zenlayer"))
        .args([
            "start",
            "-o",
            "json",
            "-r",
            "ap-guangzhou",
            "--poll-interval",
            "5ms",
        ])
        .args([&zenlayer_id, &tencent_id])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let records = report(&output)["instances"].as_array().unwrap().clone();
    let summary: Vec<(Value, Value, Value)> = records
        .iter()
        .map(|r| {
            (
                r["provider"].clone(),
                r["outcome"].clone(),
                r["error"]["kind"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("zenlayer".into(), "failed".into(), "auth".into()),
            ("tencent".into(), "running".into(), Value::Null),
        ]
    );
    let message = records[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("ZENLAYER_ACCESS_KEY_ID"), "{message}");
}

#[test]
fn values_echoed_in_errors_are_short_and_places_must_be_names() {
    let sim = Sim::start("");
    let long_id = format!("ins-{}", "x".repeat(10_000));
    let output = sim.start_cmd(tencent(), &[&long_id]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).len() < 1_000, "{}", stderr(&output).len());
    for (flag, value) in [
        ("--region", "-"),
        ("--region", "-ap"),
        ("--endpoint", "http://127.0.0.1:0"),
    ] {
        let output = sim
            .start_cmd(tencent(), &["ins-aaaaaaaa"])
            .args([flag, value])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{flag} {value}: {}",
            stderr(&output)
        );
    }
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa"])
        .args([
            "--endpoint",
            &format!("http://u:p4ss@127.0.0.1/{}", "p".repeat(5000)),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(!stderr(&output).contains("p4ss"), "{}", stderr(&output));
    assert!(stderr(&output).len() < 1_000);
    assert!(sim.requests().is_empty());
    // A seeded machine still answers normally afterwards.
    let sim = Sim::start(&seed(tencent(), "ins-aaaaaaaa", "state = \"RUNNING\""));
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn json_and_ndjson_runs_refused_before_any_request_still_report_every_target() {
    let sim = Sim::start("");
    let home = tempfile::tempdir().unwrap();
    // Missing credentials: one `auth` record per target, exit 3.
    let output = cloudstart(home.path())
        .args(["start", "-o", "json", "-p", "tencent", "-r", "ap-guangzhou"])
        .args(["ins-aaaaaaaa", "ins-bbbbbbbb"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let records = report(&output)["instances"].as_array().unwrap().clone();
    assert_eq!(records.len(), 2);
    for record in &records {
        assert_eq!(record["outcome"], "failed");
        assert_eq!(record["error"]["kind"], "auth");
    }
    // A bad region: `usage` records for every target of that cloud, exit 2, in JSON and in NDJSON
    // (a `final` event per target and the summary); nothing is sent.
    let bad_region = ["-p", "tencent", "-r", "-", "ins-aaaaaaaa", "ins-bbbbbbbb"];
    let in_format = |format: &str, args: &[&str]| {
        cloudstart(sim.dir())
            .envs(tencent().credentials.iter().copied())
            .args(["start", "-o", format, "--endpoint", sim.url("tencent")])
            .args(["--poll-interval", "5ms", "--poll-max", "20ms"])
            .args(args)
            .output()
            .unwrap()
    };
    let output = in_format("json", &bad_region);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let json = report(&output);
    let kinds: Vec<&Value> = (json["instances"].as_array().unwrap().iter())
        .map(|r| &r["error"]["kind"])
        .collect();
    assert_eq!(
        kinds,
        [&Value::from("usage"), &Value::from("usage")],
        "{json}"
    );
    assert!(stderr(&output).contains("error: "), "{}", stderr(&output));
    let output = in_format("ndjson", &bad_region);
    assert_eq!(output.status.code(), Some(2));
    let events: Vec<Value> = support::json_lines(&output);
    let (summary, finals) = events.split_last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["exit_code"], 2);
    assert!(finals.iter().all(|e| e["event"] == "final"));
    assert_eq!(finals.len(), 2);
    assert!(sim.requests().is_empty());
    // A malformed id fails only itself, with its own message: the other target starts.
    let output = in_format(
        "json",
        &[
            "-p",
            "tencent",
            "-r",
            "ap-guangzhou",
            "ins-aaaaaaaa",
            "ins-BAD",
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let json = report(&output);
    let (good, bad) = (&json["instances"][0], &json["instances"][1]);
    assert_eq!(
        (&good["outcome"], &good["error"]),
        (&Value::from("running"), &Value::Null)
    );
    assert_eq!(bad["error"]["kind"], "usage", "{json}");
    let message = bad["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("ins-BAD") && !message.contains("ins-aaaaaaaa"),
        "{message}"
    );
    // Text output lists the refused target like any other; targets that cannot be read (an
    // unknown cloud) keep the plain error.
    let output = tencent_at(&sim).arg("ins-BAD").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stdout(&output).starts_with("ins-BAD  failed"),
        "{}",
        stdout(&output)
    );
    let output = tencent_at(&sim)
        .args(["-o", "json", "nimbus:abc"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}

/// Issue 20 item 1: a describe answer can put any string in an address, and an address reaches
/// the report, the Action's step outputs (`GITHUB_OUTPUT`) and a port probe. Only IP literals are
/// kept, the first 16 of a kind: a newline (a forged `exit-code=0` output), a shell
/// metacharacter or a host name never reaches the report, nor do 2,400 addresses.
#[test]
fn hostile_addresses_never_reach_the_report() {
    let mut public: Vec<String> = [
        "127.0.0.1\nexit-code=0",
        "203.0.113.1'; touch /tmp/pwned; echo '",
        "$(reboot)",
        "evil.example.com",
    ]
    .map(String::from)
    .to_vec();
    public.extend((0..2400).map(|n| format!("198.51.{}.{}", n / 200, n % 200 + 1)));
    let addr = support::serve(move |parts, _| {
        let action = (parts.headers.get("x-tc-action"))
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let response = match action.as_str() {
            "DescribeInstances" => serde_json::json!({
                "TotalCount": 1,
                "InstanceSet": [{
                    "InstanceId": "ins-aaaaaaaa",
                    "InstanceState": "RUNNING",
                    "PublicIpAddresses": public,
                    "PrivateIpAddresses": ["10.0.0.1\r\nreport<<EOF", "10.0.0.2"],
                }],
                "RequestId": "r-2",
            }),
            _ => serde_json::json!({ "RequestId": "r-1" }),
        };
        let body = serde_json::json!({ "Response": response });
        (200, Vec::new(), body.to_string().into_bytes())
    });
    let home = tempfile::tempdir().unwrap();
    let output = start_at(
        home.path(),
        tencent(),
        &format!("http://{addr}"),
        &["ins-aaaaaaaa"],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    for hostile in [
        "exit-code",
        "touch",
        "reboot",
        "evil",
        "report<<",
        "\\n",
        "\\r",
    ] {
        assert!(!out.contains(hostile), "{hostile}: {out}");
    }
    let record = &report(&output)["instances"][0];
    let public = record["addresses"]["public"].as_array().unwrap();
    assert_eq!(public.len(), 16, "{record}");
    assert_eq!(public[0], "198.51.0.1");
    assert_eq!(
        record["addresses"]["private"],
        serde_json::json!(["10.0.0.2"])
    );
}

/// Issue 20 item 6: a run against the simulator (a loopback endpoint) never probes an address
/// off this machine, whatever its machines show — by default 203.0.113.x, which before was
/// tried until the deadline. The machine fails with exit 4, naming the address and why.
#[test]
fn a_run_against_the_simulator_probes_nothing_but_loopback() {
    let profile = tencent();
    let id = id(profile, 3);
    let sim = Sim::start("");
    let output = sim
        .start_cmd(profile, &[&id])
        .args(["-o", "json", "--timeout", "10s", "--wait-port", "22"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let record = &report(&output)["instances"][0];
    let shown = record["addresses"]["public"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(shown.starts_with("203.0.113."), "{record}");
    assert_eq!(record["error"]["kind"], "api", "{record}");
    let message = record["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "public address {shown} is not probed: the endpoint is loopback"
        )),
        "{message}"
    );
    // Nor the metadata service's address, seeded as the machine's.
    let sim = Sim::start(&seed(profile, &id, "public_ip = \"169.254.169.254\""));
    let output = sim
        .start_cmd(profile, &[&id])
        .args(["-o", "json", "--timeout", "10s", "--wait-port", "80"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let message = report(&output)["instances"][0]["error"]["message"].to_string();
    assert!(
        message.contains("169.254.169.254 is not probed"),
        "{message}"
    );
}

/// Issue 20 item 6, the bound on probes: 1,200 machines whose port hangs (a listener whose
/// backlog is full, so each further connection attempt waits for its SYN to be answered) are
/// waited for under `ulimit -n 512`. Unbounded, every attempt holds a descriptor and a share of
/// them end with EMFILE ("Too many open files"); with at most `MAX_PROBES_IN_FLIGHT` attempts at
/// once, every record is the port's own timeout.
#[test]
fn port_waits_on_a_big_fleet_stay_within_the_descriptor_limit() {
    let profile = tencent();
    let ids: Vec<String> = (0..1200).map(|n| id(profile, 9000 + n)).collect();
    let state: String = (ids.iter())
        .map(|i| {
            seed(
                profile,
                i,
                &format!(
                    "state = \"{}\"\npublic_ip = \"127.0.0.1\"",
                    profile.running_state()
                ),
            )
        })
        .collect();
    let sim = Sim::start(&state);
    // Never accepted, with a backlog of one (std's listeners take thousands): once it is full,
    // connection attempts hang.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let listener = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        socket.listen(1).unwrap()
    });
    let port = listener.local_addr().unwrap().port().to_string();
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut inner = sim.command_std_cmd("wait", profile, &id_refs);
    inner.args([
        "--for",
        "running",
        "-o",
        "json",
        "--timeout",
        "3s",
        "--wait-port",
        &port,
    ]);
    let mut limited = std::process::Command::new("/bin/sh");
    limited
        .env_clear()
        .envs(inner.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .args(["-c", "ulimit -n 512 && exec \"$0\" \"$@\""])
        .arg(inner.get_program())
        .args(inner.get_args());
    let output = Command::from_std(limited)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    drop(listener);
    assert!(!output.stdout.is_empty(), "{}", stderr(&output));
    let report = report(&output);
    let records = report["instances"].as_array().unwrap();
    assert_eq!(records.len(), ids.len(), "{}", stderr(&output));
    let exhausted: Vec<&Value> = (records.iter())
        .filter(|r| {
            let message = r["error"]["message"].as_str().unwrap_or_default();
            message.contains("os error 24") || message.contains("Too many open files")
        })
        .collect();
    assert!(
        exhausted.is_empty(),
        "{} records ran out of descriptors: {}",
        exhausted.len(),
        exhausted[0]
    );
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
}
