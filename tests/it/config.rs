//! Several clouds in one run, targets files, the config file and its profiles — through the real
//! binary against the simulator.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

use cloudstart::provider::Requirement;

use crate::support::{self, cloudstart, id, profiles, provider_of, report, stderr, Profile, Sim};

/// `cloudstart start` against every cloud of `sim`, polling fast.
pub(crate) fn start_everywhere(sim: &Sim) -> Command {
    let mut cmd = everywhere(sim);
    cmd.args(["start", "--poll-interval", "5ms", "--poll-max", "20ms"]);
    cmd
}

/// `cloudstart` with every cloud's endpoint, location and credentials in the environment, the
/// way a pipeline would set them: `CLOUDSTART_<PROVIDER>_ENDPOINT`, the clouds' own variables.
pub(crate) fn everywhere(sim: &Sim) -> Command {
    let mut cmd = cloudstart(sim.dir());
    for profile in profiles() {
        let spec = provider_of(profile).spec();
        cmd.env(spec.endpoint_var, sim.url(profile.provider));
        cmd.envs(profile.credentials.iter().copied());
        if let (Requirement::Required(vars), Some(region)) = (&spec.region, profile.region) {
            cmd.env(vars[0], region);
        }
        if let (Requirement::Required(vars), Some(zone)) = (&spec.zone, profile.zone) {
            cmd.env(vars[0], zone);
        }
    }
    cmd
}

pub(crate) fn records(output: &std::process::Output) -> Vec<Value> {
    report(output)["instances"].as_array().unwrap().clone()
}

/// The row of `config check`'s output for `setting` (empty if there is none).
fn check_row<'t>(text: &'t str, setting: &str) -> &'t str {
    text.lines()
        .find(|line| line.trim_start().starts_with(setting))
        .unwrap_or_default()
}

pub(crate) fn target(profile: &Profile, n: usize) -> String {
    format!("{}:{}", profile.provider, id(profile, n))
}

#[test]
fn one_run_starts_machines_on_every_cloud_and_reports_in_the_order_given() {
    let sim = Sim::start("");
    // Interleaved clouds: the report keeps this order although the clouds run in parallel.
    let mut targets: Vec<String> = profiles().map(|p| target(p, 1)).collect();
    targets.extend(profiles().map(|p| target(p, 2)));
    let output = start_everywhere(&sim)
        .args(&targets)
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let got: Vec<String> = records(&output)
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["provider"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(got, targets);
    assert!(records(&output).iter().all(|r| r["outcome"] == "running"));
    // Each cloud got its own batched start call.
    for profile in profiles() {
        let (start_action, _) = support::actions(profile);
        let expected = if provider_of(profile).spec().action_batch == 1 {
            2
        } else {
            1
        };
        assert_eq!(
            sim.calls(profile.provider, start_action).len(),
            expected,
            "{}",
            profile.provider
        );
    }
}

#[test]
fn one_failing_cloud_sets_the_exit_code_without_stopping_the_others() {
    let sim = Sim::start("");
    let tencent = support::tencent();
    let zenlayer = profiles().find(|p| p.provider == "zenlayer").unwrap();
    let output = start_everywhere(&sim)
        .env("TENCENTCLOUD_SECRET_KEY", "wrong")
        .args([&target(tencent, 1), &target(zenlayer, 1), "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let records = records(&output);
    assert_eq!(records[0]["error"]["kind"], "auth");
    assert_eq!(records[1]["outcome"], "running");
}

#[test]
fn targets_files_give_each_target_its_own_region_and_profile() {
    let sim = Sim::start("");
    let dir = sim.dir();
    let tencent = support::tencent();
    let compshare = profiles().find(|p| p.provider == "compshare").unwrap();
    write(
        &dir.join("targets.toml"),
        &format!(
            "[[target]]\nprovider = \"tencent\"\nids = [\"{}\", \"{}\"]\nregion = \"{}\"\n\n\
             [[target]]\nprovider = \"compshare\"\nid = \"{}\"\nprofile = \"gpu\"\n",
            id(tencent, 1),
            id(tencent, 2),
            tencent.region.unwrap(),
            id(compshare, 1),
        ),
    );
    // CompShare's credentials and location come only from the `gpu` profile.
    write(
        &dir.join("config.toml"),
        &format!(
            "[profile.gpu.compshare]\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n\
             region = \"{}\"\nzone = \"{}\"\nendpoint = \"{}\"\n",
            compshare.credentials[0].1,
            compshare.credentials[1].1,
            compshare.region.unwrap(),
            compshare.zone.unwrap(),
            sim.url("compshare"),
        ),
    );
    chmod_600(&dir.join("config.toml"));
    let output = cloudstart(dir)
        .env("CLOUDSTART_CONFIG", dir.join("config.toml"))
        .env("CLOUDSTART_TENCENT_ENDPOINT", sim.url("tencent"))
        .envs(tencent.credentials.iter().copied())
        .args(["start", "-f"])
        .arg(dir.join("targets.toml"))
        .args(["-o", "json", "--poll-interval", "5ms"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(records(&output).len(), 3);
    assert!(!stderr(&output).contains("chmod"), "{}", stderr(&output));
}

/// As in the AWS CLI: `--profile` takes that profile's credentials over the ones exported in the
/// environment; `CLOUDSTART_PROFILE` alone does not (the documented order stays).
#[test]
fn a_named_profile_beats_credentials_in_the_environment() {
    let sim = Sim::start("");
    let dir = sim.dir();
    let tencent = support::tencent();
    let config = dir.join("config.toml");
    write(
        &config,
        &format!(
            "[profile.prod.tencent]\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
            tencent.credentials[0].1, tencent.credentials[1].1,
        ),
    );
    chmod_600(&config);
    let run = |args: &[&str], profile_var: Option<&str>| {
        let mut cmd = cloudstart(dir);
        cmd.env("CLOUDSTART_CONFIG", &config)
            .env("CLOUDSTART_TENCENT_ENDPOINT", sim.url("tencent"))
            .env("TENCENTCLOUD_REGION", tencent.region.unwrap())
            // Another account's key, exported in the shell.
            .env(tencent.credentials[0].0, "AKIDanotheraccount")
            .env(tencent.credentials[1].0, "another-secret")
            .args(["start", &target(tencent, 1), "--poll-interval", "5ms"])
            .args(args);
        if let Some(profile) = profile_var {
            cmd.env("CLOUDSTART_PROFILE", profile);
        }
        cmd.output().unwrap()
    };
    let named = run(&["--profile", "prod"], None);
    assert_eq!(named.status.code(), Some(0), "{}", stderr(&named));
    let ambient = run(&[], Some("prod"));
    assert_eq!(ambient.status.code(), Some(3), "{}", stderr(&ambient));
}

/// A config file others can read is warned about only when it holds a secret: a file of regions
/// and endpoints is not.
#[test]
#[cfg(unix)]
fn a_config_file_others_can_read_is_warned_about_when_it_holds_a_secret() {
    let sim = Sim::start("");
    let dir = sim.dir();
    let tencent = support::tencent();
    let config = dir.join("config.toml");
    let place = format!(
        "region = \"{}\"\nendpoint = \"{}\"\n",
        tencent.region.unwrap(),
        sim.url("tencent")
    );
    let keys = format!(
        "access_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
        tencent.credentials[0].1, tencent.credentials[1].1,
    );
    for (n, (keys_in_file, warned)) in [(true, true), (false, false)].into_iter().enumerate() {
        let keys = if keys_in_file { keys.as_str() } else { "" };
        write(
            &config,
            &format!("[profile.default.tencent]\n{keys}{place}"),
        );
        set_mode(&config, 0o644);
        let mut cmd = cloudstart(dir);
        if !keys_in_file {
            cmd.envs(tencent.credentials.iter().copied());
        }
        let output = cmd
            .env("CLOUDSTART_CONFIG", &config)
            .args(["start", &target(tencent, n + 1), "--poll-interval", "5ms"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let text = stderr(&output);
        let warning = format!("chmod 600 {}", config.display());
        assert_eq!(
            text.contains(&warning),
            warned,
            "secret in file {keys_in_file}: {text}"
        );
    }
}

#[test]
fn config_problems_are_usage_errors_before_any_request() {
    let sim = Sim::start("");
    let dir = sim.dir();
    let tencent = support::tencent();
    let config = dir.join("config.toml");
    for (text, args, says) in [
        ("[profile.default.tencent\n", vec![], "invalid config file"),
        (
            "[profile.default.tencent]\nregoin = \"x\"\n",
            vec![],
            "unknown field `regoin`",
        ),
        ("", vec!["--profile", "staging"], "no profile `staging`"),
    ] {
        write(&config, text);
        chmod_600(&config);
        let output = start_everywhere(&sim)
            .env("CLOUDSTART_CONFIG", &config)
            .args(&args)
            .arg(target(tencent, 1))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{text}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(says),
            "{text}: {}",
            stderr(&output)
        );
    }
    let output = start_everywhere(&sim)
        .env("CLOUDSTART_CONFIG", dir.join("missing.toml"))
        .arg(target(tencent, 1))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("cannot read the config file"));
    assert!(sim.requests().is_empty());
}

#[test]
fn bare_ids_need_a_provider_and_get_a_hint() {
    let home = tempfile::tempdir().unwrap();
    let output = cloudstart(home.path())
        .args(["start", "ins-r8hr2upy"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("provider:id") && text.contains("looks like a tencent id"),
        "{text}"
    );
    let output = cloudstart(home.path())
        .args([
            "start",
            "-p",
            "volcengine",
            "-r",
            "cn-beijing",
            "ins-r8hr2upy",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("looks like a tencent id"),
        "{}",
        stderr(&output)
    );
    // With -o json, the targets whose record can be formed are still reported; the bare id has
    // no cloud, so it has no record.
    let output = cloudstart(home.path())
        .args([
            "start",
            "-o",
            "json",
            "tencent:ins-aaaaaaaa",
            "ins-r8hr2upy",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let listed = records(&output);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], "ins-aaaaaaaa");
    assert_eq!(listed[0]["error"]["kind"], "usage");
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn chmod_600(path: &Path) {
    set_mode(path, 0o600);
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) {}

#[test]
fn config_check_names_each_setting_s_source_and_never_a_secret() {
    let sim = Sim::start("");
    let dir = sim.dir();
    let tencent = support::tencent();
    let config = dir.join("config.toml");
    write(
        &config,
        "[profile.default.tencent]\naccess_key_id = \"cfg-id\"\n\
         secret_access_key = \"SENTINEL-CONFIG-SECRET\"\n",
    );
    chmod_600(&config);
    let output = cloudstart(dir)
        .env("CLOUDSTART_CONFIG", &config)
        .env("TENCENTCLOUD_REGION", tencent.region.unwrap())
        .args(["config", "check", "-p", "tencent"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = support::stdout(&output);
    assert!(text.contains("environment TENCENTCLOUD_REGION"), "{text}");
    assert!(text.contains("config profile `default`"), "{text}");
    assert!(text.contains("built-in default"), "{text}");
    assert!(!text.contains("SENTINEL-CONFIG-SECRET") && !stderr(&output).contains("SENTINEL"));
    // A cloud that cannot be used: non-zero, naming what to set.
    let output = cloudstart(dir)
        .env("CLOUDSTART_CONFIG", &config)
        .args(["config", "check", "-p", "qingcloud"])
        .output()
        .unwrap();
    assert_ne!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("QINGCLOUD_ZONE"),
        "{}",
        stderr(&output)
    );
    // Without --provider, every cloud is listed and the check itself succeeds.
    let output = cloudstart(dir)
        .env("CLOUDSTART_CONFIG", &config)
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let text = support::stdout(&output);
    for profile in profiles() {
        assert!(
            text.contains(&format!("\n{}\n", profile.provider)),
            "{text}"
        );
    }
}

#[test]
fn vendor_cli_files_are_read_at_the_lowest_precedence() {
    let sim = Sim::start("");
    let home = sim.dir();
    let tencent = support::tencent();
    // Only tccli's files hold the credentials and region.
    std::fs::create_dir_all(home.join(".tccli")).unwrap();
    write(
        &home.join(".tccli/default.credential"),
        &format!(
            r#"{{"secretId": "{}", "secretKey": "{}"}}"#,
            tencent.credentials[0].1, tencent.credentials[1].1
        ),
    );
    write(
        &home.join(".tccli/default.configure"),
        &format!(
            r#"{{"_sys_param": {{"region": "{}"}}}}"#,
            tencent.region.unwrap()
        ),
    );
    let output = cloudstart(home)
        .env("CLOUDSTART_TENCENT_ENDPOINT", sim.url("tencent"))
        .args(["start", &target(tencent, 1), "--poll-interval", "5ms"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = cloudstart(home)
        .args(["config", "check", "-p", "tencent"])
        .output()
        .unwrap();
    let text = support::stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}{}", stderr(&output));
    // Each row names the file its value came from: tccli keeps the region apart.
    let row = |setting: &str| check_row(&text, setting);
    assert!(
        row("credentials").contains("vendor CLI file")
            && row("credentials").ends_with(".tccli/default.credential"),
        "{text}"
    );
    assert!(
        row("region").ends_with(".tccli/default.configure"),
        "{text}"
    );
    // The environment wins over the vendor file.
    let output = cloudstart(home)
        .env("TENCENTCLOUD_SECRET_ID", "AKIDfromENV")
        .env("TENCENTCLOUD_SECRET_KEY", "wrong")
        .env("CLOUDSTART_TENCENT_ENDPOINT", sim.url("tencent"))
        .args(["start", &target(tencent, 2), "--poll-interval", "5ms"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
}

/// ucloud-cli keeps the region and zone in `config.json` and the keys in `credential.json`
/// (ucloud/ucloud-cli@2af77c6:base/config.go, `ConfigFile`, `CredentialFile`; its pre-0.1.8
/// single-object `config.json` becomes the `default` profile); `config check` names each.
/// `--profile` reaches a ucloud-cli profile cloudstart's own config file does not define.
#[test]
fn config_check_names_the_vendor_file_each_value_came_from() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    std::fs::create_dir_all(home.join(".ucloud")).unwrap();
    write(
        &home.join(".ucloud/config.json"),
        r#"[{"profile": "default", "active": true, "region": "cn-wlcb", "zone": "cn-wlcb-01"},
            {"profile": "gpu", "active": false, "region": "cn-sh2", "zone": "cn-sh2-02"}]"#,
    );
    write(
        &home.join(".ucloud/credential.json"),
        r#"[{"profile": "default", "public_key": "pub", "private_key": "SENTINEL"},
            {"profile": "gpu", "public_key": "pub2", "private_key": "SENTINEL2"}]"#,
    );
    chmod_600(&home.join(".ucloud/credential.json"));
    for profile in [&[][..], &["--profile", "gpu"][..]] {
        let output = cloudstart(home)
            .args(["config", "check", "-p", "compshare"])
            .args(profile)
            .output()
            .unwrap();
        let text = support::stdout(&output);
        assert_eq!(output.status.code(), Some(0), "{text}{}", stderr(&output));
        assert!(!text.contains("SENTINEL"), "{text}");
        let chosen = match profile {
            [] => "profile      default\n",
            _ => {
                "profile      gpu (from --profile: its credentials come before the environment's)\n"
            }
        };
        assert!(text.contains(chosen), "{text}");
        for (setting, file) in [
            ("region", ".ucloud/config.json"),
            ("zone", ".ucloud/config.json"),
            ("credentials", ".ucloud/credential.json"),
        ] {
            assert!(
                check_row(&text, setting).ends_with(file),
                "{setting}: {text}"
            );
        }
    }
    let output = cloudstart(home)
        .args(["config", "check", "--profile", "nosuch"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("no profile `nosuch`"));
}

#[test]
fn a_targets_file_can_come_on_standard_input() {
    let sim = Sim::start("");
    let tencent = support::tencent();
    let list = format!(
        "[[target]]\nprovider = \"tencent\"\nids = [\"{}\", \"{}\"]\n",
        support::id(tencent, 1),
        support::id(tencent, 2)
    );
    let output = start_everywhere(&sim)
        .args(["-o", "json", "-f", "-"])
        .write_stdin(list)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json = report(&output);
    assert_eq!(json["instances"].as_array().unwrap().len(), 2);
    // Malformed input names where, as a file does, and is a usage error.
    let output = start_everywhere(&sim)
        .args(["-f", "-"])
        .write_stdin("garbage")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains(":1:"), "{}", stderr(&output));
}

/// One malformed id and one cloud without its region fail alone, each with its own message, in the
/// same run; the healthy machine starts; exit 2. `--dry-run` lists both problems too.
#[test]
fn each_bad_target_fails_alone_and_every_problem_is_reported_in_one_run() {
    let sim = Sim::start("");
    let tencent = support::tencent();
    let volcengine = profiles().find(|p| p.provider == "volcengine").unwrap();
    let spec = provider_of(volcengine).spec();
    let Requirement::Required(region_vars) = spec.region else {
        unreachable!("volcengine needs a region")
    };
    let healthy = target(tencent, 1);
    let malformed = "tencent:ins-BAD";
    let unplaced = target(volcengine, 1);
    let run = |extra: &[&str]| {
        everywhere(&sim)
            .env_remove(region_vars[0])
            .args(["start", "-o", "json", "--poll-interval", "5ms"])
            .args(extra)
            .args([healthy.as_str(), malformed, unplaced.as_str()])
            .output()
            .unwrap()
    };
    let output = run(&[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let records = records(&output);
    let outcomes: Vec<&Value> = records.iter().map(|r| &r["outcome"]).collect();
    assert_eq!(outcomes, ["running", "failed", "failed"]);
    let message = |n: usize| records[n]["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message(1).contains("malformed instance id tencent `ins-BAD`"),
        "{}",
        message(1)
    );
    assert!(
        message(2).contains("volcengine needs a region"),
        "{}",
        message(2)
    );
    assert!(!message(2).contains("ins-BAD"), "{}", message(2));
    let err = stderr(&output);
    assert_eq!(
        err.matches("error: malformed instance id").count(),
        1,
        "{err}"
    );
    assert_eq!(
        err.matches("error: volcengine needs a region").count(),
        1,
        "{err}"
    );
    // The dry run shows the healthy machine's request and both problems.
    let output = run(&["--dry-run"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let plan = report(&output);
    let planned: Vec<&Value> = (plan["requests"].as_array().unwrap().iter())
        .map(|r| &r["provider"])
        .collect();
    assert_eq!(planned, ["tencent"]);
    let err = stderr(&output);
    assert!(
        err.contains("malformed instance id") && err.contains("needs a region"),
        "{err}"
    );
}

/// A flag fills in what a targets-file line leaves out; where the line says otherwise, its
/// targets fail with a usage error naming both values, and the rest run.
#[test]
fn a_targets_file_line_that_contradicts_a_flag_fails_its_targets() {
    let sim = Sim::start("");
    let dir = sim.dir();
    let tencent = support::tencent();
    let file = dir.join("targets.toml");
    write(
        &file,
        &format!(
            "[[target]]\nprovider = \"tencent\"\nid = \"{}\"\nregion = \"ap-shanghai\"\n\n\
             [[target]]\nprovider = \"tencent\"\nid = \"{}\"\n",
            id(tencent, 1),
            id(tencent, 2),
        ),
    );
    let output = start_everywhere(&sim)
        .args(["-o", "json", "-r", tencent.region.unwrap(), "-f"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let records = records(&output);
    assert_eq!(records[0]["error"]["kind"], "usage");
    let message = records[0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("region `ap-shanghai` and --region gives `ap-guangzhou`"),
        "{message}"
    );
    // The line without a region takes --region's and starts.
    assert_eq!(records[1]["outcome"], "running");
    assert_eq!(records[1]["region"], tencent.region.unwrap());
}
