//! README.md's recipes, run as written: the quick start and the cron line, against the simulator,
//! each with a bare environment and nothing set but what the recipe itself sets — and, as the
//! one addition, where the simulated cloud listens.

use std::path::Path;
use std::process::Command;

use crate::support::{stderr, tencent, Sim};

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The first fenced ```sh block after `heading`.
fn sh_block(readme: &str, heading: &str) -> String {
    let section = &readme[readme
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading}"))..];
    let start = section.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let end = start + section[start..].find("```").unwrap();
    section[start..end].to_string()
}

/// `sh -c script` with only `HOME`, `PATH` and `vars`.
fn sh(script: &str, home: &Path, path: &str, vars: &[(&str, &str)]) -> std::process::Output {
    Command::new("/bin/sh")
        .args(["-c", script])
        .env_clear()
        .env("HOME", home)
        .env("PATH", path)
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

/// The directory of the binary under test, for `PATH`.
fn bin_dir() -> String {
    let bin = assert_cmd::cargo::cargo_bin("cloudstart");
    bin.parent().unwrap().to_string_lossy().into_owned()
}

#[test]
fn the_quick_start_runs_as_shown() {
    let sim = Sim::start("");
    let profile = tencent();
    let block = sh_block(&readme(), "## Quick start");
    // The placeholders become the simulator's test credentials; nothing else is changed.
    let mut script = block.clone();
    for (var, value) in profile.credentials {
        let placeholder = match *var {
            "TENCENTCLOUD_SECRET_ID" => "AKID…",
            _ => "…",
        };
        let given = format!("{var}={placeholder}");
        assert!(script.contains(&given), "the quick start sets {given}");
        script = script.replacen(&given, &format!("{var}={value}"), 1);
    }
    let home = tempfile::tempdir().unwrap();
    let output = sh(
        &format!("set -e\n{script}"),
        home.path(),
        &format!("{}:/usr/bin:/bin", bin_dir()),
        &[("CLOUDSTART_TENCENT_ENDPOINT", sim.url("tencent"))],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let commands = block
        .lines()
        .filter(|line| line.starts_with("cloudstart "))
        .count();
    assert!(commands >= 5, "{block}");
    assert!(
        !sim.calls("tencent", "StartInstances").is_empty(),
        "the quick start started machines"
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.lines()
            .any(|line| line.starts_with("{\"schema_version\":1")),
        "{text}"
    );
}

/// The cron line: as the user (everything it touches is under `$HOME`), with cron's bare
/// environment; a run appends one JSON line, and what cron mails names each failure's reason.
#[test]
fn the_cron_line_runs_as_shown_under_home() {
    let sim = Sim::start("[tencent.ins-0000dead]\nstate = \"not_found\"\n");
    let profile = tencent();
    let readme = readme();
    let line = readme
        .lines()
        .find(|line| line.starts_with("0 7 * * 1-5 "))
        .expect("the cron line");
    let command = line
        .split_whitespace()
        .skip(5)
        .collect::<Vec<_>>()
        .join(" ");
    for word in command.split_whitespace() {
        assert!(
            !word.starts_with('/') || word.starts_with("$HOME"),
            "{word}: nothing outside $HOME, so no root is needed"
        );
    }
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let bin = home.join(".cargo/bin");
    std::fs::create_dir_all(&bin).unwrap();
    // A link, not a copy: a copy is a file open for writing, and a child another test forks
    // meanwhile holds it open until its exec, so running the copy could fail with "text file
    // busy" (ETXTBSY).
    std::os::unix::fs::symlink(
        assert_cmd::cargo::cargo_bin("cloudstart"),
        bin.join("cloudstart"),
    )
    .unwrap();
    let config_dir = home.join(".config/cloudstart");
    std::fs::create_dir_all(&config_dir).unwrap();
    let config = config_dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profile.farm.tencent]\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n\
             region = \"{}\"\nendpoint = \"{}\"\n",
            profile.credentials[0].1,
            profile.credentials[1].1,
            profile.region.unwrap(),
            sim.url("tencent")
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(
        config_dir.join("farm.toml"),
        "[[target]]\nprovider = \"tencent\"\nids = [\"ins-aaaaaaaa\", \"ins-0000dead\"]\n",
    )
    .unwrap();
    for run in 1..=2 {
        let output = sh(&command, home, "/usr/bin:/bin", &[]);
        assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
        let mail = stderr(&output);
        assert!(
            mail.contains("error: tencent:ins-0000dead (ap-guangzhou): InvalidInstanceId.NotFound"),
            "{mail}"
        );
        assert!(!mail.contains("ins-aaaaaaaa"), "{mail}");
        let log = std::fs::read_to_string(home.join("farm-start.jsonl")).unwrap();
        assert_eq!(
            log.lines().count(),
            run,
            "one line per run, appended: {log}"
        );
        let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
        let expected = if run == 1 {
            "running"
        } else {
            "already_running"
        };
        assert_eq!(last["instances"][0]["outcome"], expected);
        assert_eq!(
            last["instances"][1]["error"]["code"],
            "InvalidInstanceId.NotFound"
        );
    }
}

/// Every flag `start --help`, `stop --help` and `wait --help` offer has a row in README's options
/// table.
#[test]
fn every_start_stop_and_wait_flag_has_a_row_in_the_options_table() {
    for command in ["start", "stop", "wait"] {
        flags_have_rows(command);
    }
}

fn flags_have_rows(command: &str) {
    let readme = readme();
    let help = Command::new(assert_cmd::cargo::cargo_bin("cloudstart"))
        .args([command, "--help"])
        .env_clear()
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let flags: Vec<&str> = help
        .lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let line = line
                .strip_prefix('-')
                .filter(|l| l.len() > 2 && l.as_bytes()[1] == b',')
                .map_or(line, |short| short[2..].trim_start());
            let flag = line.strip_prefix("--")?;
            flag.split([' ', '=', '[', '<', '.'])
                .next()
                .filter(|name| !name.is_empty())
        })
        .filter(|flag| *flag != "help")
        .collect();
    assert!(flags.len() > 12, "{help}");
    for flag in flags {
        assert!(
            readme
                .lines()
                .any(|line| line.starts_with("| `") && line.contains(&format!("--{flag}"))),
            "{command} --{flag} has no row in README's options table"
        );
    }
}
