//! What reaches a person's terminal, through the real binary: the clouds' text never carries a
//! raw control character into the text report or stderr (JSON keeps it exactly), and a stderr
//! that cannot be written to never changes the exit code.

use std::process::Stdio;

use crate::support::{id, profiles, report, seed, stderr, stdout, tencent, Profile, Sim};

/// An error code a hostile or broken cloud might send: a screen clear, a bell, a forged `error:`
/// line after CR LF, a C1 control sequence introducer — and Chinese, which must stay readable.
const HOSTILE: &str = "Evil\u{1b}[2J\u{7}\r\nerror: forged\u{9b}31m 资源不足";

/// The same text in a TOML basic string.
const HOSTILE_TOML: &str = r#""Evil\u001b[2J\u0007\r\nerror: forged\u009b31m 资源不足""#;

fn compshare() -> &'static Profile {
    profiles().find(|p| p.provider == "compshare").unwrap()
}

/// Tencent puts a seeded code in `Error.Code`; CompShare puts a name in its message.
fn hostile_sim() -> Sim {
    let line = format!("start_error = {HOSTILE_TOML}");
    let state = [tencent(), compshare()]
        .into_iter()
        .map(|profile| seed(profile, &id(profile, 1), &line))
        .collect::<String>();
    Sim::start(&state)
}

/// Every line of `text` is free of control characters; only the `\n` ending each line remains.
fn assert_printable(what: &str, text: &str) {
    for line in text.split_terminator('\n') {
        assert!(
            !line.chars().any(char::is_control),
            "{what}: a raw control character in {line:?}\n{text:?}"
        );
    }
}

#[test]
fn the_cloud_s_control_characters_never_reach_the_text_report_or_stderr() {
    let sim = hostile_sim();
    for profile in [tencent(), compshare()] {
        let machine = id(profile, 1);
        let output = sim.start_cmd(profile, &[&machine]).output().unwrap();
        let (out, err) = (stdout(&output), stderr(&output));
        assert_eq!(output.status.code(), Some(4), "{}: {err}", profile.provider);
        assert_printable("stdout", &out);
        assert_printable("stderr", &err);
        assert_eq!(out.lines().count(), 1, "one line per machine: {out:?}");
        assert!(
            out.contains(r"Evil\x1b[2J\x07\x0d\x0aerror: forged\u{9b}31m 资源不足"),
            "{}: shown escaped, Chinese intact: {out:?}",
            profile.provider
        );
        let error_lines: Vec<&str> = (out.lines().chain(err.lines()))
            .filter(|line| line.starts_with("error:"))
            .collect();
        assert_eq!(
            error_lines,
            ["error: 1 of 1 machine did not start (exit 4)"],
            "{}: only the real summary starts with `error:`",
            profile.provider
        );
    }
}

#[test]
fn json_keeps_the_cloud_s_text_exactly() {
    let sim = hostile_sim();
    for profile in [tencent(), compshare()] {
        let machine = id(profile, 1);
        let output = sim
            .start_cmd(profile, &[&machine])
            .args(["-o", "json"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
        let error = &report(&output)["instances"][0]["error"];
        let code = error["code"].as_str().unwrap_or_default();
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            code == HOSTILE || message.contains(HOSTILE),
            "{}: {error}",
            profile.provider
        );
    }
}

fn dev_full() -> Stdio {
    std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap()
        .into()
}

#[test]
fn a_full_stderr_does_not_change_the_exit_code() {
    let sim = Sim::start("[tencent.ins-0000dead]\nstate = \"not_found\"\n");
    let output = sim
        .start_std_cmd(tencent(), &["ins-aaaaaaaa"])
        .stderr(dev_full())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output).starts_with("ins-aaaaaaaa  running"),
        "{}",
        stdout(&output)
    );

    let output = sim
        .start_std_cmd(tencent(), &["ins-0000dead"])
        .stderr(dev_full())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4));
    assert!(
        stdout(&output).starts_with("ins-0000dead  failed"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_closed_stderr_does_not_change_the_exit_code() {
    let sim = Sim::start("[tencent.ins-0000dead]\nstate = \"not_found\"\n");
    for (machine, code) in [("ins-aaaaaaaa", 0), ("ins-0000dead", 4)] {
        let mut child = sim
            .start_std_cmd(tencent(), &[machine])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Nobody reads stderr: every write to it fails with a broken pipe.
        drop(child.stderr.take());
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(code), "{machine}");
        assert!(stdout(&output).starts_with(machine), "{}", stdout(&output));
    }
}

#[test]
fn the_cloud_s_bidi_controls_and_invisible_separators_are_escaped_for_people() {
    // U+202E shows what follows backwards; U+2028 and U+2029 break lines on some terminals;
    // U+200B and U+FEFF hide inside a name.
    let hostile = r#""Evil\u202Eexe.txt\u2028error: forged\u2029\u200B\uFEFF\u2066x\u2069""#;
    let sim = Sim::start(&seed(
        tencent(),
        "ins-aaaaaaaa",
        &format!("start_error = {hostile}"),
    ));
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa"])
        .output()
        .unwrap();
    let (out, err) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(4), "{err}");
    for c in [
        '\u{202e}', '\u{2028}', '\u{2029}', '\u{200b}', '\u{feff}', '\u{2066}', '\u{2069}',
    ] {
        assert!(
            !out.contains(c),
            "raw U+{:04X} on stdout: {out:?}",
            u32::from(c)
        );
        assert!(
            !err.contains(c),
            "raw U+{:04X} on stderr: {err:?}",
            u32::from(c)
        );
    }
    assert!(
        out.contains(r"Evil\u{202e}exe.txt\u{2028}error: forged\u{2029}\u{200b}\u{feff}"),
        "{out:?}"
    );
}

/// `cmd` run by `sh` with its stdout closed (`>&-`): `Stdio::null()` is an open `/dev/null`.
fn with_stdout_closed(cmd: &std::process::Command) -> std::process::Command {
    let mut sh = std::process::Command::new("/bin/sh");
    sh.env_clear()
        .arg("-c")
        .arg(r#"exec "$0" "$@" >&-"#)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (name, value) in cmd.get_envs() {
        if let Some(value) = value {
            sh.env(name, value);
        }
    }
    sh
}

#[test]
fn a_closed_stdout_is_warned_about_and_the_exit_code_still_tells() {
    let sim = Sim::start("[tencent.ins-0000dead]\nstate = \"not_found\"\n");
    for (machine, code) in [("ins-aaaaaaaa", 0), ("ins-0000dead", 4)] {
        let output = with_stdout_closed(&sim.start_std_cmd(tencent(), &[machine]))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(code), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("stdout is closed"),
            "{machine}: {}",
            stderr(&output)
        );
    }
    // An open stdout that discards (`>/dev/null`) is what was asked for: no warning.
    let output = sim
        .start_std_cmd(tencent(), &["ins-aaaaaaaa"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(
        !stderr(&output).contains("stdout is closed"),
        "{}",
        stderr(&output)
    );
}
