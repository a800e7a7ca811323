//! Local files — the config file, targets files, the CA bundle and the vendor CLIs' files —
//! through the real binary: what is not a regular file or is too large is refused at once, and a
//! malformed file is described by path, line and column without ever quoting its text.

use std::path::Path;
use std::time::Duration;

use crate::support::{cloudstart, stderr, stdout};
use assert_cmd::Command;

/// Every secret the files below hold starts with this.
const SENTINEL: &str = "SENTINEL";

/// Well under the support module's minute: a command that blocks on a FIFO or reads forever fails
/// the test instead of hanging it.
const PROMPTLY: Duration = Duration::from_secs(20);

/// `cloudstart` with `home` as its HOME and a deadline.
fn run(home: &Path) -> Command {
    let mut cmd = cloudstart(home);
    cmd.timeout(PROMPTLY);
    cmd
}

/// Runs `cmd`, and checks that it exits with `code`, that stderr says `says`, and that nothing
/// it printed holds a secret.
fn expect(cmd: &mut Command, code: i32, says: &[&str]) -> String {
    expect_without(cmd, code, says, SENTINEL)
}

/// [`expect`], with `secret` as the text that must not be printed.
fn expect_without(cmd: &mut Command, code: i32, says: &[&str], secret: &str) -> String {
    let output = cmd
        .output()
        .expect("cloudstart ran and ended within the deadline");
    let (out, err) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(code), "{err}");
    for part in says {
        assert!(err.contains(part), "expected `{part}` in:\n{err}");
    }
    assert!(
        !out.contains(secret) && !err.contains(secret),
        "a secret was printed:\n{out}{err}"
    );
    err
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
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
fn a_malformed_config_file_names_the_place_but_never_shows_its_secret() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    let head = "[profile.default.tencent]\naccess_key_id = \"AKIDexample\"\n";
    for (body, place, says, secret) in [
        // (a) a secret without its closing quote
        (
            "secret_access_key = \"SENTINEL-a\nregion = \"ap-guangzhou\"\n",
            ":3:32:",
            "invalid basic string",
            SENTINEL,
        ),
        // (b) a misspelled key next to a secret
        (
            "secret_acess_key = \"SENTINEL-b\"\n",
            ":3:1:",
            "unknown field `secret_acess_key`",
            SENTINEL,
        ),
        // (c) a duplicate key holding the secret
        (
            "secret_access_key = \"x\"\nsecret_access_key = \"SENTINEL-c\"\n",
            ":4:1:",
            "duplicate key `secret_access_key`",
            SENTINEL,
        ),
        // a secret of the wrong type: serde's message would quote it
        (
            "secret_access_key = 12345678\n",
            ":3:21:",
            "invalid type: integer, expected a string",
            "12345678",
        ),
    ] {
        write(&config, &format!("{head}{body}"));
        let place = format!("{}{place}", config.display());
        for args in [
            &["config", "check"][..],
            &["start", "tencent:ins-r8hr2upy"][..],
        ] {
            expect_without(
                run(home.path())
                    .env("CLOUDSTART_CONFIG", &config)
                    .args(args),
                2,
                &["invalid config file", &place, says],
                secret,
            );
        }
    }
    // A whole cloud table given as a string: the string is not quoted either.
    write(&config, "[profile.default]\ntencent = \"SENTINEL-e\"\n");
    let place = format!("{}:2:11:", config.display());
    expect(
        run(home.path())
            .env("CLOUDSTART_CONFIG", &config)
            .args(["config", "check"]),
        2,
        &[&place, "invalid type: string, expected struct CloudConfig"],
    );
}

#[test]
fn a_malformed_targets_file_names_the_place_but_never_shows_its_text() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("targets.toml");
    for (text, place, says) in [
        (
            "[[target]]\nprovider = \"tencent\"\nid = \"ins-SENTINEL\n",
            ":3:19:",
            "invalid basic string",
        ),
        (
            "[[target]]\nprovider = \"tencent\"\nid = \"ins-r8hr2upy\"\nregoin = \"SENTINEL\"\n",
            ":4:1:",
            "unknown field `regoin`",
        ),
        (
            "[[target]]\nprovider = \"tencent\"\nid = \"ins-r8hr2upy\"\nid = \"SENTINEL\"\n",
            ":4:1:",
            "duplicate key `id`",
        ),
        (
            "[[target]]\nprovider = \"tencent\"\nids = \"SENTINEL\"\n",
            ":3:7:",
            "invalid type: string, expected a sequence",
        ),
    ] {
        write(&file, text);
        let place = format!("{}{place}", file.display());
        expect(
            run(home.path()).args(["start", "-f"]).arg(&file),
            2,
            &["invalid targets file", &place, says],
        );
    }
}

#[test]
fn a_malformed_vendor_file_is_skipped_naming_the_place_but_never_its_secret() {
    let home = tempfile::tempdir().unwrap();
    write(
        &home.path().join(".tccli/default.credential"),
        "{\n  \"secretId\": \"AKIDexample\",\n  \"secretKey\": \"SENTINEL-tccli\n}\n",
    );
    write(
        &home.path().join(".volcengine/config.json"),
        "{\"current\": \"work\", \"profiles\": {\"work\": {\n\
         \"access-key\": \"AKLTexample\" \"secret-key\": \"SENTINEL-ve\"}}}\n",
    );
    for (cloud, place) in [
        ("tencent", ".tccli/default.credential:3:"),
        ("volcengine", ".volcengine/config.json:2:"),
    ] {
        // The file belongs to another tool, so it is skipped with a warning and the credentials
        // are missing (exit 3), as with no file at all.
        let err = expect(
            run(home.path())
                .env("TENCENTCLOUD_REGION", "ap-guangzhou")
                .env("VOLCENGINE_REGION", "cn-beijing")
                .args(["config", "check", "-p", cloud]),
            3,
            &[place, "not valid JSON"],
        );
        assert!(err.contains("warning:"), "{err}");
    }
}

#[test]
fn a_ca_bundle_that_is_not_a_regular_file_is_refused_at_once() {
    let home = tempfile::tempdir().unwrap();
    for path in ["/dev/zero", "/dev/stdin"] {
        if !Path::new(path).exists() {
            continue;
        }
        expect(
            run(home.path())
                .args(["start", "tencent:ins-r8hr2upy", "--ca-bundle", path])
                .write_stdin(vec![b'x'; 1 << 16]),
            2,
            &["CA bundle", path, "not a regular file"],
        );
    }
    expect(
        run(home.path())
            .args(["start", "tencent:ins-r8hr2upy", "--ca-bundle"])
            .arg(home.path()),
        2,
        &["CA bundle", "not a regular file"],
    );
}

#[test]
fn files_larger_than_the_limit_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let big = home.path().join("big");
    // Valid TOML throughout (comments), so only the size can be the complaint.
    let line = format!("# {}\n", "x".repeat(1021));
    write(&big, &line.repeat(4 * 1024 + 1));
    expect(
        run(home.path())
            .args(["start", "tencent:ins-r8hr2upy", "--ca-bundle"])
            .arg(&big),
        2,
        &["CA bundle", &big.display().to_string(), "larger than 4 MiB"],
    );
    expect(
        run(home.path()).args(["start", "-f"]).arg(&big),
        2,
        &["targets file", "larger than 4 MiB"],
    );
    expect(
        run(home.path())
            .env("CLOUDSTART_CONFIG", &big)
            .args(["config", "check"]),
        2,
        &["config file", "larger than 4 MiB"],
    );
}

#[cfg(unix)]
#[test]
fn fifos_are_refused_without_waiting_for_a_writer() {
    let home = tempfile::tempdir().unwrap();
    let fifo = home.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let named = fifo.display().to_string();
    expect(
        run(home.path()).args(["start", "-f"]).arg(&fifo),
        2,
        &["targets file", &named, "not a regular file"],
    );
    expect(
        run(home.path())
            .env("CLOUDSTART_CONFIG", &fifo)
            .args(["config", "check"]),
        2,
        &["config file", &named, "not a regular file"],
    );
    expect(
        run(home.path())
            .args(["start", "tencent:ins-r8hr2upy", "--ca-bundle"])
            .arg(&fifo),
        2,
        &["CA bundle", &named, "not a regular file"],
    );
    // Where tccli keeps its credentials: skipped with a warning, like any unreadable vendor file.
    let tccli = home.path().join(".tccli");
    std::fs::create_dir_all(&tccli).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(tccli.join("default.credential"))
        .status()
        .unwrap();
    assert!(made.success());
    let err = expect(
        run(home.path())
            .env("TENCENTCLOUD_REGION", "ap-guangzhou")
            .args(["config", "check", "-p", "tencent"]),
        3,
        &[".tccli/default.credential", "not a regular file"],
    );
    assert!(err.contains("warning:"), "{err}");
}
