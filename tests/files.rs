//! Local files — the config file, targets files, the CA bundle and the vendor CLIs' files —
//! through the real binary: what is not a regular file or is too large is refused at once.

mod support;

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use support::{cloudstart, stderr, stdout};

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
    let output = cmd
        .output()
        .expect("cloudstart ran and ended within the deadline");
    let (out, err) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(code), "{err}");
    for part in says {
        assert!(err.contains(part), "expected `{part}` in:\n{err}");
    }
    assert!(
        !out.contains(SENTINEL) && !err.contains(SENTINEL),
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
