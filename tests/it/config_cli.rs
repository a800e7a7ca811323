//! The config file from the command line — `config init`, `config set`, `config get` — and the
//! run's own settings (`timeout`, `output`, `poll_interval`, `poll_max`) from flag, environment
//! and profile, through the real binary.

use std::path::Path;
use std::time::{Duration, Instant};

use cloudstart::provider::Requirement;

use crate::support::{self, cloudstart, id, profiles, provider_of, seed, stderr, Profile, Sim};

#[test]
fn cloudstart_timeout_in_the_environment_ends_a_wait_that_never_ends_with_exit_six() {
    let profile = support::tencent();
    let id = id(profile, 6);
    let sim = Sim::start(&seed(profile, &id, "boot = \"never\""));
    let started = Instant::now();
    let output = sim
        .start_cmd(profile, &[&id])
        .env("CLOUDSTART_TIMEOUT", "3s")
        .env("CLOUDSTART_OUTPUT", "json")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    let json = support::report(&output);
    assert_eq!(json["instances"][0]["outcome"], "timeout", "{json}");
    // About three seconds: the variable's deadline, not the 10m default (generous upper bound
    // for a loaded machine).
    assert!(elapsed >= Duration::from_millis(2900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
}

#[test]
fn a_malformed_run_variable_is_a_usage_error_naming_it() {
    let profile = support::tencent();
    let sim = Sim::start("");
    for (var, value) in [("CLOUDSTART_TIMEOUT", "abc"), ("CLOUDSTART_OUTPUT", "yaml")] {
        let output = sim
            .start_cmd(profile, &[&id(profile, 1)])
            .env(var, value)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{var}: {}", stderr(&output));
        assert!(stderr(&output).contains(var), "{}", stderr(&output));
        assert!(sim.requests().is_empty(), "{var}: nothing is sent");
    }
}

/// `cloudstart config check --online -p <cloud>` against `sim`, with the dialect's location and
/// credentials in the environment, the secret replaced by `secret` when given.
fn online_check(sim: &Sim, profile: &Profile, secret: Option<&str>) -> std::process::Output {
    let spec = provider_of(profile).spec();
    let mut cmd = cloudstart(sim.dir());
    cmd.env(spec.endpoint_var, sim.url(profile.provider));
    for (n, (var, value)) in profile.credentials.iter().enumerate() {
        cmd.env(
            var,
            if n == 1 {
                secret.unwrap_or(value)
            } else {
                value
            },
        );
    }
    if let (Requirement::Required(vars), Some(region)) = (&spec.region, profile.region) {
        cmd.env(vars[0], region);
    }
    if let (Requirement::Required(vars), Some(zone)) = (&spec.zone, profile.zone) {
        cmd.env(vars[0], zone);
    }
    cmd.args([
        "config",
        "check",
        "--online",
        "-o",
        "json",
        "-p",
        profile.provider,
    ]);
    cmd.output().unwrap()
}

#[test]
fn config_check_online_says_whether_each_cloud_accepts_the_credentials() {
    let sim = Sim::start("");
    for profile in profiles() {
        let accepted = online_check(&sim, profile, None);
        let context = format!("{}: {}", profile.provider, stderr(&accepted));
        assert_eq!(accepted.status.code(), Some(0), "{context}");
        let json = support::report(&accepted);
        assert_eq!(json["clouds"][0]["online"]["accepted"], true, "{context}");

        let rejected = online_check(&sim, profile, Some("SENTINEL-WRONG-SECRET"));
        let context = format!("{}: {}", profile.provider, stderr(&rejected));
        assert_eq!(rejected.status.code(), Some(3), "{context}");
        let json = support::report(&rejected);
        let online = &json["clouds"][0]["online"];
        assert_eq!(online["accepted"], false, "{context}");
        assert_eq!(online["error"]["kind"], "auth", "{context}");
        let all = format!("{}{}", support::stdout(&rejected), stderr(&rejected));
        assert!(!all.contains("SENTINEL"), "{all}");
    }
    // No machine was touched: every request was a read.
    for request in sim.requests() {
        let (start, _) = support::actions(
            support::profiles()
                .find(|p| p.provider == request["cloud"])
                .unwrap(),
        );
        assert_ne!(request["action"], start, "{request}");
    }
}

/// `cloudstart config <args>` with `CLOUDSTART_CONFIG` at `path`.
fn config_cmd(home: &Path, path: &Path, args: &[&str]) -> std::process::Output {
    cloudstart(home)
        .env("CLOUDSTART_CONFIG", path)
        .arg("config")
        .args(args)
        .output()
        .unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_writes_a_private_commented_starter_that_loads_and_never_overwrites() {
    let home = tempfile::tempdir().unwrap();
    // The documented default path, its directories created.
    let output = cloudstart(home.path())
        .args(["config", "init"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let path = home.path().join(".config/cloudstart/config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    for profile in profiles() {
        assert!(text.contains(&format!("[profile.default.{}]", profile.provider)));
    }
    #[cfg(unix)]
    {
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }
    // The loader reads it: `config check` finds the file and no problem in it.
    let check = cloudstart(home.path())
        .args(["config", "check", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    let json = support::report(&check);
    assert_eq!(json["config_file"], path.display().to_string());

    std::fs::write(&path, "# mine\n").unwrap();
    let again = cloudstart(home.path())
        .args(["config", "init"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains(&path.display().to_string()),
        "{}",
        stderr(&again)
    );
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
}

#[test]
fn set_keeps_every_other_byte_and_get_reads_it_back() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("config.toml");
    let before = "# my farm\n\n[profile.farm.tencent]   # Guangzhou\n\
                  region = \"ap-shanghai\"  # moved later\n\n# the end\n";
    std::fs::write(&path, before).unwrap();
    let set = config_cmd(
        home.path(),
        &path,
        &["set", "profile.farm.tencent.region", "ap-guangzhou"],
    );
    assert_eq!(set.status.code(), Some(0), "{}", stderr(&set));
    let after = std::fs::read_to_string(&path).unwrap();
    assert_eq!(after, before.replace("ap-shanghai", "ap-guangzhou"));
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);

    let set = config_cmd(home.path(), &path, &["set", "profile.farm.timeout", "90s"]);
    assert_eq!(set.status.code(), Some(0), "{}", stderr(&set));
    let after = std::fs::read_to_string(&path).unwrap();
    // A new table goes after the others, before the file's closing comment; nothing else moves.
    let added = "\n[profile.farm]\ntimeout = \"90s\"\n";
    assert!(after.contains(added), "{after}");
    assert_eq!(
        after.replacen(added, "", 1),
        before.replace("ap-shanghai", "ap-guangzhou")
    );

    for (key, value) in [
        ("profile.farm.tencent.region", "ap-guangzhou"),
        ("profile.farm.timeout", "90s"),
    ] {
        let get = config_cmd(home.path(), &path, &["get", key]);
        assert_eq!(get.status.code(), Some(0), "{}", stderr(&get));
        assert_eq!(support::stdout(&get), format!("{value}\n"));
    }
    let unset = config_cmd(home.path(), &path, &["get", "profile.farm.tencent.zone"]);
    assert_eq!(unset.status.code(), Some(2));
    assert!(stderr(&unset).contains("is not set"), "{}", stderr(&unset));
}

#[test]
fn set_creates_a_missing_file_and_secrets_are_shown_only_when_asked() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("new/dir/config.toml");
    let set = cloudstart(home.path())
        .env("CLOUDSTART_CONFIG", &path)
        .args([
            "config",
            "set",
            "profile.default.volcengine.secret_access_key",
            "-",
        ])
        .write_stdin("SENTINEL-SECRET\n")
        .output()
        .unwrap();
    assert_eq!(set.status.code(), Some(0), "{}", stderr(&set));
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("secret_access_key = \"SENTINEL-SECRET\""),
        "{text}"
    );
    assert!(!stderr(&set).contains("SENTINEL"), "{}", stderr(&set));

    let key = "profile.default.volcengine.secret_access_key";
    let hidden = config_cmd(home.path(), &path, &["get", key]);
    assert_eq!(hidden.status.code(), Some(2));
    let all = format!("{}{}", support::stdout(&hidden), stderr(&hidden));
    assert!(!all.contains("SENTINEL"), "{all}");
    assert!(all.contains("--show-secret"), "{all}");
    let shown = config_cmd(home.path(), &path, &["get", "--show-secret", key]);
    assert_eq!(support::stdout(&shown), "SENTINEL-SECRET\n");
}

#[test]
fn unknown_keys_and_bad_values_are_refused_with_a_suggestion_and_nothing_written() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("config.toml");
    std::fs::write(&path, "# kept\n").unwrap();
    for (args, says) in [
        (
            vec!["set", "profile.farm.tencent.regoin", "ap-guangzhou"],
            "did you mean `profile.farm.tencent.region`",
        ),
        (
            vec!["get", "profile.farm.tencnet.region"],
            "did you mean `profile.farm.tencent.region`",
        ),
        (
            vec!["set", "profile.farm.timeout", "abc"],
            "profile.farm.timeout",
        ),
        (
            vec!["set", "profile.farm.tencent.region", "AP Guangzhou"],
            "expected lowercase letters",
        ),
        (
            vec!["set", "profile.farm.output", "yaml"],
            "text, json or ndjson",
        ),
    ] {
        let output = config_cmd(home.path(), &path, &args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&output).contains(says),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# kept\n");
}

#[test]
fn config_check_json_shows_flag_over_environment_over_profile_over_default() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("config.toml");
    std::fs::write(
        &path,
        "[profile.farm]\ntimeout = \"3m\"\noutput = \"json\"\npoll_interval = \"2s\"\npoll_max = \"9s\"\n\
         [profile.farm.tencent]\nregion = \"ap-shanghai\"\n",
    )
    .unwrap();
    let output = cloudstart(home.path())
        .env("CLOUDSTART_CONFIG", &path)
        .env("CLOUDSTART_PROFILE", "farm")
        .env("CLOUDSTART_TIMEOUT", "2m")
        .env("CLOUDSTART_POLL_INTERVAL", "3s")
        .env("TENCENTCLOUD_SECRET_ID", "AKIDpublic")
        .env("TENCENTCLOUD_SECRET_KEY", "SENTINEL-SECRET")
        .args(["config", "check", "--poll-interval", "4s", "-p", "tencent"])
        .output()
        .unwrap();
    // The profile's `output = "json"` chose the check's format too.
    let json = support::report(&output);
    let run = &json["run"];
    let source = |name: &str| run[name]["source"]["kind"].as_str().unwrap().to_string();
    assert_eq!(source("poll_interval"), "flag", "{json}");
    assert_eq!(run["poll_interval"]["value"], "4s");
    assert_eq!(source("timeout"), "env");
    assert_eq!(run["timeout"]["source"]["name"], "CLOUDSTART_TIMEOUT");
    assert_eq!(run["timeout"]["value"], "2m");
    assert_eq!(source("output"), "profile");
    assert_eq!(run["poll_max"]["value"], "9s");
    let cloud = &json["clouds"][0];
    assert_eq!(cloud["provider"], "tencent");
    assert_eq!(cloud["region"]["value"], "ap-shanghai");
    assert_eq!(cloud["region"]["source"]["kind"], "profile");
    assert_eq!(cloud["credentials"]["present"], true);
    assert_eq!(cloud["credentials"]["source"]["kind"], "env");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("SENTINEL"));

    let bare = cloudstart(home.path())
        .args(["config", "check", "-o", "json", "-p", "tencent"])
        .output()
        .unwrap();
    let json = support::report(&bare);
    assert_eq!(json["run"]["timeout"]["source"]["kind"], "default");
    assert_eq!(json["run"]["timeout"]["value"], "10m");
    assert!(json["run"]["poll_max"]["value"].is_null());
}

#[test]
fn config_check_online_exits_five_when_a_cloud_cannot_be_reached() {
    let home = tempfile::tempdir().unwrap();
    let profile = support::tencent();
    let output = cloudstart(home.path())
        .envs(profile.credentials.iter().copied())
        .args(["config", "check", "--online", "-o", "json", "-p", "tencent"])
        .args([
            "--region",
            "ap-guangzhou",
            "--endpoint",
            "http://127.0.0.1:1",
        ])
        .args(["--timeout", "5s"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    let json = support::report(&output);
    assert_eq!(json["clouds"][0]["online"]["error"]["kind"], "transport");
    assert_eq!(json["clouds"][0]["online"]["error"]["exit_code"], 5);
}
