//! Records the commit the binary is built from, for `cloudstart --version`.
//!
//! `CLOUDSTART_BUILD_COMMIT` wins (release builds set it from CI); otherwise `git rev-parse`, and
//! `unknown` outside a git checkout.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CLOUDSTART_BUILD_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let commit = std::env::var("CLOUDSTART_BUILD_COMMIT")
        .ok()
        .filter(|commit| !commit.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CLOUDSTART_COMMIT={commit}");
}

fn git_commit() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    let commit = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !commit.is_empty()).then_some(commit)
}
