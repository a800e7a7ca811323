//! Test support: the real `cloudstart sim` on 127.0.0.1:0 and `cloudstart` commands with a clean,
//! explicit environment.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command as StdCommand, Stdio};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

pub(crate) use cloudstart::sim::{
    TENCENT_SECRET_ID as SECRET_ID, TENCENT_SECRET_KEY as SECRET_KEY,
};

/// A `cloudstart sim` child process, killed on drop, with its own request log.
pub(crate) struct Sim {
    child: Child,
    pub(crate) url: String,
    dir: TempDir,
}

impl Sim {
    /// Starts the simulator with zero boot delay and `state` (TOML) as its seed file.
    pub(crate) fn start(state: &str) -> Self {
        Self::start_with(state, &["--boot-delay", "0s"])
    }

    /// Starts the simulator with extra flags.
    pub(crate) fn start_with(state: &str, flags: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state_path = dir.path().join("state.toml");
        std::fs::write(&state_path, state).unwrap();
        let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("cloudstart"))
            .args(["-q", "sim", "--listen", "127.0.0.1:0", "--state"])
            .arg(&state_path)
            .arg("--log")
            .arg(dir.path().join("requests.jsonl"))
            .args(flags)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .strip_prefix("tencent ")
            .unwrap_or_else(|| panic!("unexpected first line from sim: {line:?}"))
            .trim()
            .to_string();
        Self { child, url, dir }
    }

    /// Every request the simulator logged so far.
    pub(crate) fn requests(&self) -> Vec<Value> {
        let path = self.dir.path().join("requests.jsonl");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// How many requests of `action` the simulator received.
    pub(crate) fn count(&self, action: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r["action"] == action)
            .count()
    }

    /// `cloudstart start -p tencent -r ap-guangzhou --endpoint <sim>` with the simulator's
    /// credentials, fast polling, and nothing else from the outside environment.
    pub(crate) fn start_cmd(&self, ids: &[&str]) -> Command {
        let mut cmd = Command::from_std(self.start_std_cmd(ids));
        cmd.timeout(std::time::Duration::from_secs(60));
        cmd
    }

    /// [`Sim::start_cmd`] as a plain `std::process::Command`, for tests that signal the child.
    pub(crate) fn start_std_cmd(&self, ids: &[&str]) -> StdCommand {
        let mut cmd = cloudstart_std(self.dir.path());
        cmd.env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
            .env("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
            .args(["start", "-p", "tencent", "-r", "ap-guangzhou", "--endpoint"])
            .arg(&self.url)
            .args(["--poll-interval", "5ms", "--poll-max", "20ms"])
            .args(ids);
        cmd
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary with an empty environment, its own HOME, and retries without delays.
pub(crate) fn cloudstart(home: &Path) -> Command {
    let mut cmd = Command::from_std(cloudstart_std(home));
    cmd.timeout(std::time::Duration::from_secs(60));
    cmd
}

fn cloudstart_std(home: &Path) -> StdCommand {
    let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("cloudstart"));
    cmd.env_clear()
        .env("HOME", home)
        .env("CLOUDSTART_TEST_NO_RETRY_DELAY", "1");
    cmd
}

/// Parses stdout as the JSON report.
pub(crate) fn report(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "stdout is not one JSON document ({err}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
