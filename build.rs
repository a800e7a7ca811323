//! Records the commit the binary is built from, for `cloudstart --version`.
//!
//! `CLOUDSTART_BUILD_COMMIT` wins (release builds set it from CI); then `git rev-parse` when the crate
//! is its own git checkout; then the `.cargo_vcs_info.json` that `cargo package` writes into a
//! published crate (so `cargo install cloudstart` reports the commit it was packaged from); and
//! `unknown` otherwise. Git is never asked from a directory without `.git`, so an unpacked crate inside
//! some other repository does not report that repository's commit.

use std::path::Path;
use std::process::Command;

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let root = Path::new(&manifest_dir);
    println!("cargo:rerun-if-env-changed=CLOUDSTART_BUILD_COMMIT");
    let has_git = root.join(".git").exists();
    // In a linked worktree `.git` is a file and these paths do not exist, which makes cargo rerun this
    // script on every build: the version stays current there too. Without `.git` nothing is watched.
    if has_git {
        println!("cargo:rerun-if-changed=.git/HEAD");
        println!("cargo:rerun-if-changed=.git/refs/heads");
    }
    let commit = std::env::var("CLOUDSTART_BUILD_COMMIT")
        .ok()
        .filter(|commit| !commit.is_empty())
        .or_else(|| has_git.then(|| git_commit(root)).flatten())
        .or_else(|| packaged_commit(root))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CLOUDSTART_COMMIT={commit}");
}

fn git_commit(root: &Path) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    let commit = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !commit.is_empty()).then_some(commit)
}

/// The `"sha1"` of `.cargo_vcs_info.json` (`{"git": {"sha1": "…", "dirty": true}, …}`), shortened.
fn packaged_commit(root: &Path) -> Option<String> {
    let info = std::fs::read_to_string(root.join(".cargo_vcs_info.json")).ok()?;
    let after = &info[info.find("\"sha1\"")? + "\"sha1\"".len()..];
    let value = after
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    let sha: String = value.chars().take_while(char::is_ascii_hexdigit).collect();
    if sha.len() < 12 {
        return None;
    }
    let dirty = if info.contains("\"dirty\": true") || info.contains("\"dirty\":true") {
        "-dirty"
    } else {
        ""
    };
    Some(format!("{}{dirty}", &sha[..12]))
}
