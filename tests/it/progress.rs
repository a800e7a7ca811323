//! What people and pipelines see while machines start: live lines on a terminal (run under a
//! pseudo-terminal with util-linux `script`), line-per-change and heartbeats elsewhere, `-q`, and
//! NDJSON events.

use std::io::Write;
use std::process::Stdio;

use serde_json::Value;

use crate::support::{self, report, stderr, stdout, tencent, Sim};

#[test]
fn off_a_terminal_each_state_change_is_a_line_and_a_heartbeat_keeps_ci_awake() {
    // A machine that never boots is seen STARTING, and the run is still waiting when the
    // heartbeat is due however slowly this machine runs; once both lines are out, interrupt it.
    let sim = Sim::start_with("", &["--boot-delay", "1h"]);
    let mut child = sim
        .start_std_cmd(tencent(), &["ins-aaaaaaaa"])
        .env("CLOUDSTART_HEARTBEAT", "200ms")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = support::stream(child.stderr.take().unwrap());
    lines.wait_for("tencent ins-aaaaaaaa: STARTING");
    lines.wait_for("still waiting for 1 of 1 machine");
    support::kill(child.id(), "-INT");
    let status = support::wait_for_exit(&mut child, "did not exit after SIGINT");
    let text = lines.finish();
    assert_eq!(status.code(), Some(130), "{text}");
    assert!(
        !text.contains('\x1b'),
        "no escape codes off a terminal: {text:?}"
    );

    // Booting at once, the same machine's change to RUNNING is a line too.
    let sim = Sim::start("");
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa"])
        .env("CLOUDSTART_HEARTBEAT", "200ms")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("tencent ins-aaaaaaaa: RUNNING"), "{text}");
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

/// The cron recipe: `-q -o json >> log`. stderr (what cron mails) keeps each failed machine and
/// its reason, then the count; the machine that started is not mentioned.
#[test]
fn quiet_keeps_each_failure_and_its_reason() {
    let sim = Sim::start("[tencent.ins-0000dead]\nstate = \"not_found\"\n");
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa", "ins-0000dead"])
        .args(["-q", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let text = stderr(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with(
            "error: tencent:ins-0000dead (ap-guangzhou): InvalidInstanceId.NotFound: "
        ) && lines[0].contains("(request id "),
        "{text}"
    );
    assert_eq!(lines[1], "error: 1 of 2 machines did not start (exit 4)");
    assert_eq!(
        report(&output)["instances"][1]["error"]["code"],
        "InvalidInstanceId.NotFound"
    );
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

/// Whether util-linux `script`, which gives the terminal tests their pseudo-terminal, can run.
/// Under CI (`CI` set) a missing `script` fails `test`; elsewhere the test is skipped with a line
/// on stderr saying so (written to the stream itself, so the test harness does not swallow it).
fn script_is_available(test: &str) -> bool {
    let found = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: util-linux `script` was not found, and CI must run the terminal tests \
             (Debian: apt-get install bsdutils)"
        );
        let _ = writeln!(
            std::io::stderr(),
            "{test}: skipped: `script` not found (install util-linux to run the terminal tests)"
        );
    }
    found
}

/// `script` running `command` (a shell command line) under a pseudo-terminal, with a clean
/// environment plus `env`, and the pseudo-terminal's output on its stdout.
fn under_script(sim: &Sim, env: &[(&str, &str)], command: &str) -> std::process::Command {
    let mut script = std::process::Command::new("script");
    script
        .args(["-qfec", command, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .env("HOME", sim.dir())
        .envs(tencent().credentials.iter().copied())
        .envs(env.iter().copied());
    script
}

/// Runs `command` under a pseudo-terminal to its end and returns the screen.
fn on_a_terminal(sim: &Sim, env: &[(&str, &str)], command: &str) -> String {
    let output = under_script(sim, env, command).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `command` under a pseudo-terminal until the screen shows every one of `awaited`, then
/// interrupts it and returns the whole screen. `command` writes its shell's pid to `pid` in the
/// simulator's directory and `exec`s, so the pid is the command's own.
fn on_a_terminal_until(sim: &Sim, env: &[(&str, &str)], command: &str, awaited: &[&str]) -> String {
    let pid_file = sim.dir().join("pid");
    let _ = std::fs::remove_file(&pid_file);
    let line = format!("echo $$ > '{}'; exec {command}", pid_file.display());
    let mut script = under_script(sim, env, &line)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut screen = support::stream(script.stdout.take().unwrap());
    for text in awaited {
        screen.wait_for(text);
    }
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    support::kill(pid.trim().parse().unwrap(), "-INT");
    support::wait_for_exit(&mut script, "did not exit after SIGINT");
    screen.finish()
}

fn binary() -> String {
    assert_cmd::cargo::cargo_bin("cloudstart")
        .display()
        .to_string()
}

#[test]
fn on_a_terminal_each_machine_has_a_live_line_in_colour_unless_no_color_or_color_never() {
    if !script_is_available(
        "on_a_terminal_each_machine_has_a_live_line_in_colour_unless_no_color_or_color_never",
    ) {
        return;
    }
    // One machine runs at once, the other never boots: both colours are on the screen however
    // slowly this machine runs, and the test interrupts the run once they are.
    let sim_and_command = || {
        let sim = Sim::start("[tencent.ins-aaaaaaaa]\nboot = \"never\"\n");
        let command = format!(
            "{} start -p tencent -r ap-guangzhou --endpoint {} --poll-interval 50ms ins-aaaaaaaa ins-bbbbbbbb",
            binary(),
            sim.url("tencent")
        );
        (sim, command)
    };
    let (sim, command) = sim_and_command();
    let screen = on_a_terminal_until(
        &sim,
        &[],
        &command,
        &["\x1b[33mSTARTING", "\x1b[32mrunning", "\x1b[2A"],
    );
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

    // NO_COLOR or --color never: still live, without colour; --color always beats NO_COLOR.
    for (env, flag, coloured) in [
        (&[("NO_COLOR", "1")][..], "", false),
        (&[], "--color never", false),
        (&[("CLICOLOR_FORCE", "1")], "--color=never", false),
        (&[("NO_COLOR", "1")], "--color always", true),
    ] {
        let (sim, command) = sim_and_command();
        let command = format!("{command} {flag}");
        let screen = on_a_terminal_until(&sim, env, &command, &["STARTING", "running", "\x1b[2A"]);
        assert!(screen.contains("\x1b[2A"), "still live: {screen:?}");
        assert_eq!(
            crate::cli::has_colour(&screen),
            coloured,
            "{env:?} {flag}: {screen:?}"
        );
    }
}

#[test]
fn on_a_terminal_the_cloud_s_control_characters_are_shown_escaped_in_the_live_lines() {
    if !script_is_available(
        "on_a_terminal_the_cloud_s_control_characters_are_shown_escaped_in_the_live_lines",
    ) {
        return;
    }
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
    let screen = on_a_terminal(&sim, compshare.credentials, &command);
    assert!(
        screen.contains(r"failed: Evil\x1b[2J\x07\x0d\x0aerror: forged"),
        "the live line shows the text escaped: {screen:?}"
    );
    assert!(!screen.contains("\x1b[2J"), "{screen:?}");
    assert!(!screen.contains('\x07'), "{screen:?}");
    assert!(!screen.contains("\nerror: forged"), "{screen:?}");
}

/// A machine already starting is refused, described, then waited for: its state is one change,
/// one line on stderr and one NDJSON `state` event, not one per look.
#[test]
fn a_state_seen_twice_is_one_change() {
    let sim = Sim::start_with(
        "[tencent.ins-aaaaaaaa]\nstate = \"STARTING\"\n",
        &["--boot-delay", "1500ms"],
    );
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa"])
        .args(["-o", "ndjson"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stderr(&output);
    assert_eq!(
        text.matches("tencent ins-aaaaaaaa: STARTING").count(),
        1,
        "{text}"
    );
    let states: Vec<String> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|e| e["event"] == "state")
        .map(|e| e["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states, ["STARTING", "RUNNING"]);
}
