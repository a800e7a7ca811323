//! What people and pipelines see while machines start: live lines on a terminal (run under a
//! pseudo-terminal with util-linux `script`), line-per-change and heartbeats elsewhere, `-q`, and
//! NDJSON events.

use serde_json::Value;

use crate::support::{self, stderr, stdout, tencent, Sim};

#[test]
fn off_a_terminal_each_state_change_is_a_line_and_a_heartbeat_keeps_ci_awake() {
    let sim = Sim::start_with("", &["--boot-delay", "1500ms"]);
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa"])
        .env("CLOUDSTART_HEARTBEAT", "200ms")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("tencent ins-aaaaaaaa: STARTING"), "{text}");
    assert!(text.contains("tencent ins-aaaaaaaa: RUNNING"), "{text}");
    assert!(text.contains("still waiting for 1 of 1 machine"), "{text}");
    assert!(
        !text.contains('\x1b'),
        "no escape codes off a terminal: {text:?}"
    );
}

#[test]
fn quiet_leaves_only_errors() {
    let sim = Sim::start_with("", &["--boot-delay", "500ms"]);
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa"])
        .env("CLOUDSTART_HEARTBEAT", "100ms")
        .arg("-q")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stderr(&output), "");
}

#[test]
fn ndjson_streams_events_then_a_summary() {
    let sim = Sim::start("[tencent.ins-0000dead]\nstate = \"not_found\"\n");
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa", "ins-0000dead"])
        .args(["-o", "ndjson"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let events: Vec<Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.last(), Some(&"summary"));
    assert_eq!(events.last().unwrap()["exit_code"], 4);
    let position = |kind: &str, id: &str| {
        events
            .iter()
            .position(|e| e["event"] == kind && (e["id"] == id || e["record"]["id"] == id))
            .unwrap_or_else(|| panic!("no {kind} for {id}: {events:?}"))
    };
    assert!(position("start_accepted", "ins-aaaaaaaa") < position("final", "ins-aaaaaaaa"));
    let finals: Vec<&Value> = events.iter().filter(|e| e["event"] == "final").collect();
    assert_eq!(finals.len(), 2, "one final per machine");
    assert!(events
        .iter()
        .all(|e| e["time"].is_string() || e["event"] == "summary"));
}

/// Runs `command` under a pseudo-terminal; `None` where util-linux `script` is missing.
fn on_a_terminal(sim: &Sim, env: &[(&str, &str)], command: &str) -> Option<String> {
    let script = std::process::Command::new("script")
        .arg("--version")
        .output()
        .ok()?;
    if !script.status.success() {
        return None;
    }
    let output = std::process::Command::new("script")
        .args(["-qfec", command, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .env("HOME", sim.dir())
        .envs(tencent().credentials.iter().copied())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn binary() -> String {
    assert_cmd::cargo::cargo_bin("cloudstart")
        .display()
        .to_string()
}

#[test]
fn on_a_terminal_each_machine_has_a_live_line_in_colour_unless_no_color() {
    let sim = Sim::start_with("", &["--boot-delay", "1500ms"]);
    let command = format!(
        "{} start -p tencent -r ap-guangzhou --endpoint {} --poll-interval 50ms ins-aaaaaaaa ins-bbbbbbbb",
        binary(),
        sim.url("tencent")
    );
    let Some(screen) = on_a_terminal(&sim, &[], &command) else {
        // CI must run this test; a developer machine without util-linux may skip it.
        assert!(
            std::env::var_os("CI").is_none(),
            "util-linux `script` is needed for the terminal test"
        );
        return;
    };
    // Redrawn in place: cursor up over both lines, each line cleared and rewritten.
    assert!(screen.contains("\x1b[2A"), "{screen:?}");
    assert!(screen.contains("\x1b[2Ktencent ins-aaaaaaaa"), "{screen:?}");
    assert!(
        screen.contains("\x1b[33mSTARTING"),
        "in progress in yellow: {screen:?}"
    );
    assert!(
        screen.contains("\x1b[32mrunning"),
        "done in green: {screen:?}"
    );
    // The plain per-change lines are not printed under the live display.
    assert!(
        !screen.contains("tencent ins-aaaaaaaa: STARTING"),
        "{screen:?}"
    );

    let Some(screen) = on_a_terminal(&sim, &[("NO_COLOR", "1")], &command) else {
        return;
    };
    assert!(screen.contains("\x1b[2A"), "still live: {screen:?}");
    assert!(
        !screen.contains("\x1b[32m") && !screen.contains("\x1b[33m"),
        "{screen:?}"
    );
}

#[test]
fn on_a_terminal_the_cloud_s_control_characters_are_shown_escaped_in_the_live_lines() {
    let compshare = support::profiles()
        .find(|p| p.provider == "compshare")
        .unwrap();
    // A refusal whose text would clear the screen, ring the bell and forge an `error:` line.
    let sim = Sim::start(
        "[compshare.uhost-00000001]\n\
         start_error = \"Evil\\u001b[2J\\u0007\\r\\nerror: forged\"\n",
    );
    let command = format!(
        "{} start -p compshare -r cn-wlcb -z cn-wlcb-01 --endpoint {} --poll-interval 50ms uhost-00000001",
        binary(),
        sim.url("compshare")
    );
    let Some(screen) = on_a_terminal(&sim, compshare.credentials, &command) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "util-linux `script` is needed for the terminal test"
        );
        return;
    };
    assert!(
        screen.contains(r"failed: Evil\x1b[2J\x07\x0d\x0aerror: forged"),
        "the live line shows the text escaped: {screen:?}"
    );
    assert!(!screen.contains("\x1b[2J"), "{screen:?}");
    assert!(!screen.contains('\x07'), "{screen:?}");
    assert!(!screen.contains("\nerror: forged"), "{screen:?}");
}
