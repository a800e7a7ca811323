//! The command line itself, through the real binary: usage errors, environment precedence, help,
//! the demo — and Tencent's batch semantics, which the other clouds lack. What every cloud must do
//! is in `contract.rs`; interrupts are in `interrupts.rs`.

use std::time::Duration;

use crate::support::{self, cloudstart, report, start_json, stderr, stdout, tencent, Sim};

#[test]
fn a_running_machine_in_a_batch_is_already_running_and_the_rest_start() {
    let sim = Sim::start("[tencent.ins-bbbbbbbb]\nstate = \"RUNNING\"\n");
    let (json, _) = start_json(&sim, tencent(), &["ins-aaaaaaaa", "ins-bbbbbbbb"], &[], 0);
    assert_eq!(json["instances"][0]["outcome"], "running");
    assert_eq!(json["instances"][1]["outcome"], "already_running");
    // CVM refuses the whole batch; the machine still stopped is sent again on its own.
    let starts: Vec<usize> = sim
        .calls("tencent", "StartInstances")
        .iter()
        .map(|r| r["ids"].as_array().unwrap().len())
        .collect();
    assert_eq!(starts, [2, 1]);
}

#[test]
fn two_hundred_fifty_ids_take_exactly_three_start_requests() {
    let sim = Sim::start("");
    let ids: Vec<String> = (0..250).map(|i| format!("ins-{i:08}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let (json, _) = start_json(&sim, tencent(), &ids, &[], 0);
    assert_eq!(json["instances"].as_array().unwrap().len(), 250);
    let mut batch_sizes: Vec<usize> = sim
        .calls("tencent", "StartInstances")
        .iter()
        .map(|r| r["ids"].as_array().unwrap().len())
        .collect();
    batch_sizes.sort_unstable();
    assert_eq!(batch_sizes, [50, 100, 100]);
}

#[test]
fn machine_in_a_terminal_state_is_refused_with_exit_four() {
    let sim = Sim::start("[tencent.ins-aaaaaaaa]\nstate = \"SHUTDOWN\"\n");
    let (json, _) = start_json(&sim, tencent(), &["ins-aaaaaaaa"], &[], 4);
    let record = &json["instances"][0];
    assert_eq!(record["state"], "SHUTDOWN");
    assert_eq!(
        record["error"]["code"],
        "UnsupportedOperation.InstanceStateShutdown"
    );
}

#[test]
fn unreachable_endpoint_exits_five_after_retries() {
    let (port, _closed) = support::closed_port();
    let home = tempfile::tempdir().unwrap();
    let output = cloudstart(home.path())
        .envs(tencent().credentials.iter().copied())
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
    let url = sim.url("tencent").to_string();
    let cases: [(&[&str], &str); 6] = [
        (
            &["-p", "tencent", "-r", "ap-guangzhou", "ins-BAD"],
            "malformed instance id tencent `ins-BAD`",
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
            "invalid tencent endpoint",
        ),
        (
            &[
                "-p",
                "tencent",
                "-r",
                "ap-guangzhou",
                "--without-gpu",
                "--endpoint",
                &url,
                "ins-aaaaaaaa",
            ],
            "--without-gpu is for GPU clouds",
        ),
        (
            &[
                "-p",
                "tencent",
                "-r",
                "ap-guangzhou",
                "--poll-interval",
                "0s",
                "ins-aaaaaaaa",
            ],
            "--poll-interval",
        ),
    ];
    for (args, message) in cases {
        let output = cloudstart(sim.dir())
            .envs(tencent().credentials.iter().copied())
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
        // A problem of the run prints no report; one of a target, that target's failed record.
        let out = stdout(&output);
        assert!(
            out.lines().all(|line| line.contains("  failed  ")),
            "{args:?}: {out}"
        );
    }
    assert!(sim.requests().is_empty());
}

#[test]
fn region_and_provider_come_from_the_environment() {
    let sim = Sim::start("");
    let output = cloudstart(sim.dir())
        .envs(tencent().credentials.iter().copied())
        .env("TENCENTCLOUD_REGION", "ap-shanghai")
        .env("CLOUDSTART_PROVIDER", "tencent")
        .env("CLOUDSTART_TENCENT_ENDPOINT", sim.url("tencent"))
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
fn repeated_flags_take_the_last_value_formats_ignore_case_and_empty_variables_are_unset() {
    let sim = Sim::start("");
    // `$DEFAULTS --timeout 1s` followed by the run's own choices, an upper-case format, and
    // variables an unset CI secret left empty.
    let output = cloudstart(sim.dir())
        .envs(tencent().credentials.iter().copied())
        .env("CLOUDSTART_PROVIDER", "")
        .env("CLOUDSTART_PROFILE", "")
        .env("SSL_CERT_FILE", "")
        .env("CLOUDSTART_HEARTBEAT", "0")
        .args(["start", "-p", "tencent", "-r", "ap-guangzhou"])
        .args([
            "--endpoint",
            "http://127.0.0.1:9",
            "--endpoint",
            sim.url("tencent"),
        ])
        .args(["--timeout", "1ms", "--timeout", "30s", "-q", "-v", "-q"])
        .args(["-o", "text", "-o", "JSON", "--poll-interval", "5ms"])
        .arg("ins-aaaaaaaa")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(report(&output)["instances"][0]["outcome"], "running");
}

#[test]
fn duplicate_ids_are_started_and_reported_once() {
    let sim = Sim::start("");
    let (json, _) = start_json(&sim, tencent(), &["ins-aaaaaaaa", "ins-aaaaaaaa"], &[], 0);
    assert_eq!(json["instances"].as_array().unwrap().len(), 1);
    assert_eq!(
        sim.calls("tencent", "StartInstances")[0]["ids"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Whether `text` holds an SGR colour sequence (`ESC [ … m`), as opposed to the live block's
/// cursor movements.
pub(crate) fn has_colour(text: &str) -> bool {
    text.split("\x1b[").skip(1).any(|rest| {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ';'));
        end.is_some_and(|end| rest[end..].starts_with('m'))
    })
}

#[test]
fn off_a_terminal_help_and_usage_errors_are_coloured_only_when_forced() {
    let home = tempfile::tempdir().unwrap();
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let output = cloudstart(home.path())
            .envs(env.iter().copied())
            .args(args)
            .output()
            .unwrap();
        let text = format!("{}{}", stdout(&output), stderr(&output));
        (output.status.code(), has_colour(&text), text)
    };
    let force = [("CLICOLOR_FORCE", "1")];
    for (env, args, code, coloured) in [
        (&[][..], &["--help"][..], 0, false),
        (&force, &["--help"], 0, true),
        (&force, &["start", "--bogus"], 2, true),
        (&[("CLICOLOR_FORCE", "0")], &["--help"], 0, false),
        (&[("CLICOLOR_FORCE", "")], &["--help"], 0, false),
        // NO_COLOR beats CLICOLOR_FORCE; an explicit --color beats both.
        (
            &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
            &["--help"],
            0,
            false,
        ),
        (&force, &["--color", "never", "--help"], 0, false),
        (&[("NO_COLOR", "1")], &["--color=always", "--help"], 0, true),
        (&[], &["start", "--color", "always", "--bogus"], 2, true),
        // The last --color wins, as every repeated flag does.
        (
            &[],
            &["--color", "never", "--color=always", "--help"],
            0,
            true,
        ),
        (
            &force,
            &["--color=always", "--color", "never", "--help"],
            0,
            false,
        ),
    ] {
        let (got, colour, text) = run(env, args);
        assert_eq!(got, Some(code), "{env:?} {args:?}: {text}");
        assert_eq!(colour, coloured, "{env:?} {args:?}: {text:?}");
    }
    let (code, _, text) = run(&[], &["--color=bogus", "--help"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("[possible values: auto, always, never]"),
        "{text}"
    );
}

#[test]
fn color_always_off_a_terminal_colours_stderr_lines_but_never_the_json_or_a_live_block() {
    let sim = Sim::start("");
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa", "ins-aaaaaaaa"])
        .args(["--color", "always", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains(
            "\x1b[1m\x1b[33mwarning:\x1b[0m tencent:ins-aaaaaaaa is given more than once"
        ),
        "{text:?}"
    );
    assert!(
        text.contains("tencent ins-aaaaaaaa: RUNNING"),
        "lines, not a live block: {text:?}"
    );
    assert!(!text.contains("\x1b[2K"), "{text:?}");
    assert!(!stdout(&output).contains('\x1b'), "{}", stdout(&output));
    report(&output);

    // Without it, off a terminal: no escape at all.
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa", "ins-aaaaaaaa"])
        .output()
        .unwrap();
    assert!(!stderr(&output).contains('\x1b'), "{:?}", stderr(&output));
}

#[test]
fn help_documents_the_exit_codes() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["start", "--help"],
        &["stop", "--help"],
        &["wait", "--help"],
    ] {
        let output = cloudstart(home.path()).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(0));
        let text = stdout(&output);
        for line in [
            "0    every target reached the state asked for (RUNNING or STOPPED)",
            "6    timed out waiting for the target state",
            "130  interrupted",
            "7    a machine entered a failure state",
        ] {
            assert!(text.contains(line), "{args:?}: {text}");
        }
    }
}

#[test]
fn sim_help_lists_every_cloud_s_test_credentials() {
    let home = tempfile::tempdir().unwrap();
    let output = cloudstart(home.path())
        .args(["sim", "--help"])
        .output()
        .unwrap();
    let text = stdout(&output);
    for profile in support::profiles() {
        for (var, value) in profile.credentials {
            assert!(text.contains(&format!("{var}={value}")), "{text}");
        }
    }
}

#[test]
fn demo_starts_one_machine_on_every_cloud_then_stops_it() {
    let home = tempfile::tempdir().unwrap();
    let output = cloudstart(home.path())
        .args(["demo", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // One JSON document a line: the start's report, then the stop's.
    let reports = support::json_lines(&output);
    assert_eq!(reports.len(), 2, "{reports:?}");
    let expected: Vec<&str> = support::profiles().map(|p| p.provider).collect();
    for (json, command, outcome) in [
        (&reports[0], "start", "running"),
        (&reports[1], "stop", "stopped"),
    ] {
        assert_eq!(json["command"], command, "{json}");
        let instances = json["instances"].as_array().unwrap();
        let providers: Vec<&str> = instances
            .iter()
            .map(|r| r["provider"].as_str().unwrap())
            .collect();
        assert_eq!(providers, expected);
        assert!(instances.iter().all(|r| r["outcome"] == outcome), "{json}");
    }
}

#[test]
fn plain_http_beyond_loopback_is_warned_about() {
    // No credentials: the run stops (exit 3) before any request, after the warning.
    let home = tempfile::tempdir().unwrap();
    let output = cloudstart(home.path())
        .args(["start", "-p", "tencent", "-r", "ap-guangzhou"])
        .args(["--endpoint", "http://cvm.example.invalid", "ins-aaaaaaaa"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let text = stderr(&output);
    assert!(
        text.contains("warning:") && text.contains("clear text"),
        "{text}"
    );
    let output = cloudstart(home.path())
        .args(["start", "-p", "tencent", "-r", "ap-guangzhou"])
        .args(["--endpoint", "http://127.0.0.1:9", "ins-aaaaaaaa"])
        .output()
        .unwrap();
    assert!(!stderr(&output).contains("clear text"));
}

#[test]
fn unreadable_or_malformed_state_files_are_usage_errors() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("state.toml");
    for (text, says) in [
        ("[tencent.ins-aaaaaaaa\nstate = 1", "invalid state file"),
        ("[nimbus.i-1]\n", "no `nimbus` dialect"),
        (
            "[tencent.ins-aaaaaaaa]\nstate = \"FLYING\"\n",
            "no state `FLYING`",
        ),
        (
            "[tencent.ins-aaaaaaaa]\ncolour = \"red\"\n",
            "invalid state file",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let output = cloudstart(home.path())
            .arg("sim")
            .arg("--state")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{text}");
        assert!(
            stderr(&output).contains(says),
            "{text}: {}",
            stderr(&output)
        );
    }
    let output = cloudstart(home.path())
        .args(["sim", "--state", "/nonexistent/state.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot read"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn version_names_the_commit() {
    let home = tempfile::tempdir().unwrap();
    let output = cloudstart(home.path()).arg("--version").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    let expected = format!("cloudstart {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(text.starts_with(&expected), "{text}");
}

#[test]
fn completions_are_generated_for_every_shell() {
    let home = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F _cloudstart"),
        ("zsh", "#compdef cloudstart"),
        ("fish", "complete -c cloudstart"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[cloudstart]"),
    ] {
        let output = cloudstart(home.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = stdout(&output);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("provider"), "{shell}");
    }
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

#[test]
fn sim_refuses_a_clock_skew_beyond_a_date_and_ports_past_65535() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["--clock-skew", "9223372036854775807"][..],
        &["--clock-skew", "-9223372036854775808"],
        &["--clock-skew", "9000000000000"],
        &["--listen", "127.0.0.1:65534"],
    ] {
        let output = cloudstart(home.path())
            .arg("sim")
            .args(args)
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).starts_with("error:"), "{}", stderr(&output));
    }
}

#[test]
fn an_endpoint_no_request_can_carry_is_a_usage_error_echoed_short() {
    // A 120 KB host parses as a URL, but no HTTP request can carry it: refused before any
    // request (not exit 5, "the cloud may still have acted"), and never echoed whole.
    let home = tempfile::tempdir().unwrap();
    let endpoint = format!("http://{}.example.com", "a".repeat(120_000));
    let output = cloudstart(home.path())
        .args(["start", "-p", "tencent", "-r", "ap-guangzhou"])
        .args(["--endpoint", &endpoint, "ins-aaaaaaaa"])
        .env("TENCENTCLOUD_SECRET_ID", "AKIDEXAMPLE")
        .env("TENCENTCLOUD_SECRET_KEY", "secretexample")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{:.500}", stderr(&output));
    assert!(output.stderr.len() < 2_000, "{:.500}", stderr(&output));
    let output = cloudstart(home.path())
        .args(["config", "check", "-p", "tencent", "-r", "ap-guangzhou"])
        .args(["--endpoint", &endpoint])
        .output()
        .unwrap();
    let shown = output.stdout.len() + output.stderr.len();
    assert!(shown < 4_000, "{shown} bytes: {:.500}", stdout(&output));
    // Names the URL parser keeps but no request can carry (or no DNS name holds).
    for endpoint in [
        "http://a\"b.example",
        "http://a{b}.example",
        "http://a`b.example",
    ] {
        let output = cloudstart(home.path())
            .args(["start", "-p", "tencent", "-r", "ap-guangzhou"])
            .args(["--endpoint", endpoint, "ins-aaaaaaaa"])
            .env("TENCENTCLOUD_SECRET_ID", "AKIDEXAMPLE")
            .env("TENCENTCLOUD_SECRET_KEY", "secretexample")
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{endpoint}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn plain_http_warning_and_config_check_cut_a_long_endpoint() {
    // The longest host DNS allows, in labels of 63: both echoes are cut to a few hundred bytes.
    let home = tempfile::tempdir().unwrap();
    let host = [
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(61),
    ]
    .join(".");
    let endpoint = format!("http://{host}");
    let output = cloudstart(home.path())
        .args(["start", "-p", "tencent", "-r", "ap-guangzhou"])
        .args(["--endpoint", &endpoint, "ins-aaaaaaaa"])
        .output()
        .unwrap();
    let warning = stderr(&output);
    let line = warning.lines().find(|l| l.contains("clear text")).unwrap();
    assert!(!line.contains(&host), "{line}");
    let output = cloudstart(home.path())
        .args(["config", "check", "-p", "tencent", "-r", "ap-guangzhou"])
        .args(["--endpoint", &endpoint])
        .output()
        .unwrap();
    assert!(!stdout(&output).contains(&host), "{}", stdout(&output));
}
