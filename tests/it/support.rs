//! Test support: the real `cloudstart sim` on 127.0.0.1:0 and `cloudstart` commands with a clean,
//! explicit environment.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command as StdCommand, Stdio};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

pub(crate) use cloudstart::sim::{profiles, Profile};

/// Runs `check` for every cloud at once, each on its own thread named after it, so a failure
/// names its cloud and the clouds' waits overlap instead of adding up.
pub(crate) fn for_every_cloud(check: impl Fn(&'static Profile) + Sync) {
    std::thread::scope(|scope| {
        for profile in profiles() {
            let check = &check;
            std::thread::Builder::new()
                .name(profile.provider.into())
                .spawn_scoped(scope, move || check(profile))
                .unwrap();
        }
    });
}

/// Runs `check` on every case at once, each on its own thread: cases that wait on the
/// simulator (retry pauses, boot delays) overlap instead of adding up.
pub(crate) fn at_once<T: Send>(cases: impl IntoIterator<Item = T>, check: impl Fn(T) + Sync) {
    std::thread::scope(|scope| {
        for case in cases {
            let check = &check;
            scope.spawn(move || check(case));
        }
    });
}

/// The Tencent dialect's profile, for tests about the command line rather than a cloud.
pub(crate) fn tencent() -> &'static Profile {
    profiles().find(|p| p.provider == "tencent").unwrap()
}

/// A `cloudstart sim` child process, killed on drop, with its own request log.
pub(crate) struct Sim {
    child: Child,
    urls: HashMap<String, String>,
    dir: TempDir,
}

impl Sim {
    /// Starts the simulator with machines that boot and stop at once and `state` (TOML) as its
    /// seed file.
    pub(crate) fn start(state: &str) -> Self {
        Self::start_with(state, &["--boot-delay", "0s", "--stop-delay", "0s"])
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
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut urls = HashMap::new();
        for _ in profiles() {
            let line = lines.next().unwrap().unwrap();
            let (provider, url) = line
                .split_once(' ')
                .unwrap_or_else(|| panic!("unexpected line from sim: {line:?}"));
            urls.insert(provider.to_string(), url.to_string());
        }
        Self { child, urls, dir }
    }

    /// The base URL of `provider`'s dialect.
    pub(crate) fn url(&self, provider: &str) -> &str {
        &self.urls[provider]
    }

    /// Every request the simulator logged so far (a line it is still writing is left out).
    pub(crate) fn requests(&self) -> Vec<Value> {
        let path = self.dir.path().join("requests.jsonl");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The logged requests of `provider` for `action`.
    pub(crate) fn calls(&self, provider: &str, action: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["cloud"] == provider && r["action"] == action)
            .collect()
    }

    /// `cloudstart start` on `profile`'s cloud at this simulator, with its test credentials,
    /// location and fast polling, and nothing else from the outside environment.
    pub(crate) fn start_cmd(&self, profile: &Profile, ids: &[&str]) -> Command {
        self.cmd("start", profile, ids)
    }

    /// [`Sim::start_cmd`] as a plain `std::process::Command`, for tests that signal the child.
    pub(crate) fn start_std_cmd(&self, profile: &Profile, ids: &[&str]) -> StdCommand {
        self.command_std_cmd("start", profile, ids)
    }

    /// `cloudstart <command>` (`start`, `stop` or `wait`) as [`Sim::start_cmd`] sets it up.
    pub(crate) fn cmd(&self, command: &str, profile: &Profile, ids: &[&str]) -> Command {
        let mut cmd = Command::from_std(self.command_std_cmd(command, profile, ids));
        cmd.timeout(std::time::Duration::from_secs(60));
        cmd
    }

    /// [`Sim::cmd`] as a plain `std::process::Command`.
    pub(crate) fn command_std_cmd(
        &self,
        command: &str,
        profile: &Profile,
        ids: &[&str],
    ) -> StdCommand {
        let mut cmd = cloudstart_std(self.dir.path());
        cmd.envs(profile.credentials.iter().copied())
            .args([command, "-p", profile.provider, "--endpoint"])
            .arg(self.url(profile.provider))
            .args(["--poll-interval", "5ms", "--poll-max", "20ms"]);
        if let Some(region) = profile.region {
            cmd.args(["--region", region]);
        }
        if let Some(zone) = profile.zone {
            cmd.args(["--zone", zone]);
        }
        cmd.args(ids);
        cmd
    }

    /// `cloudstart status` on `profile`'s cloud at this simulator, as a plain
    /// `std::process::Command`, for tests that signal the child.
    pub(crate) fn status_std_cmd(&self, profile: &Profile, ids: &[&str]) -> StdCommand {
        let mut cmd = cloudstart_std(self.dir.path());
        cmd.envs(profile.credentials.iter().copied())
            .args(["status", "-p", profile.provider, "--endpoint"])
            .arg(self.url(profile.provider));
        if let Some(region) = profile.region {
            cmd.args(["--region", region]);
        }
        if let Some(zone) = profile.zone {
            cmd.args(["--zone", zone]);
        }
        cmd.args(ids);
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

/// The binary with an empty environment and its own HOME. Nothing shortens its retries: a test
/// that makes it retry sits out the real backoff and Retry-After pauses, which is why the timing
/// rules are judged on paused time in the engine's unit tests and binary tests keep their
/// retries few.
pub(crate) fn cloudstart(home: &Path) -> Command {
    let mut cmd = Command::from_std(cloudstart_std(home));
    cmd.timeout(std::time::Duration::from_secs(60));
    cmd
}

fn cloudstart_std(home: &Path) -> StdCommand {
    let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("cloudstart"));
    cmd.env_clear().env("HOME", home);
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

/// Parses stdout as JSON lines: NDJSON events, or one report a line (`demo`).
pub(crate) fn json_lines(output: &std::process::Output) -> Vec<Value> {
    (stdout(output).lines())
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"))
        })
        .collect()
}

pub(crate) fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `start` on `profile`'s cloud with `--output json` and `extra` flags, checks the exit
/// code, and returns the report and stderr.
pub(crate) fn start_json(
    sim: &Sim,
    profile: &Profile,
    ids: &[&str],
    extra: &[&str],
    code: i32,
) -> (Value, String) {
    run_json(sim, "start", profile, ids, extra, code)
}

/// Runs `command` on `profile`'s cloud with `--output json` and `extra` flags, checks the exit
/// code, and returns the report and stderr.
pub(crate) fn run_json(
    sim: &Sim,
    command: &str,
    profile: &Profile,
    ids: &[&str],
    extra: &[&str],
    code: i32,
) -> (Value, String) {
    let output = sim
        .cmd(command, profile, ids)
        .args(["-o", "json"])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(code),
        "{} {command}: {}",
        profile.provider,
        stderr(&output)
    );
    (report(&output), stderr(&output))
}

/// The registered provider `profile` simulates.
pub(crate) fn provider_of(profile: &Profile) -> &'static dyn cloudstart::provider::Provider {
    cloudstart::provider::find(profile.provider).unwrap()
}

/// The `n`th well-formed id of `profile`'s cloud.
pub(crate) fn id(profile: &Profile, n: usize) -> String {
    (profile.example_id)(n)
}

/// A `--state` file table seeding one machine of `profile`'s cloud.
pub(crate) fn seed(profile: &Profile, id: &str, line: &str) -> String {
    format!("[{}.\"{id}\"]\n{line}\n", profile.provider)
}

/// The names `profile`'s cloud gives its start and describe actions in the simulator's log.
pub(crate) fn actions(profile: &Profile) -> (&'static str, &'static str) {
    let actions = profile.actions();
    (actions.start, actions.describe)
}

/// What a [`serve`] handler answers: status, headers, body.
pub(crate) type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// Serves `handler` over HTTP/1.1 on 127.0.0.1 from a thread of its own for as long as the test
/// process lives: a canned or hostile cloud, whatever the test needs. The handler sees the
/// request head and body.
pub(crate) fn serve(
    handler: impl Fn(&hyper::http::request::Parts, &[u8]) -> Answer + Send + Sync + 'static,
) -> std::net::SocketAddr {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;

    let handler = std::sync::Arc::new(handler);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let handler = handler.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |request: hyper::Request<hyper::body::Incoming>| {
                            let handler = handler.clone();
                            async move {
                                let (parts, body) = hyper::Request::into_parts(request);
                                let body: Bytes = body
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes())
                                    .unwrap_or_default();
                                let (status, headers, bytes) = handler(&parts, &body);
                                let mut response = hyper::Response::builder().status(status);
                                for (name, value) in headers {
                                    response = response.header(name, value);
                                }
                                Ok::<_, std::convert::Infallible>(
                                    response.body(Full::new(Bytes::from(bytes))).unwrap(),
                                )
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    addr
}

/// A port on 127.0.0.1 that refuses connections for as long as the returned socket lives: bound
/// but never listening. A port bound and released instead can be handed to the next test's
/// simulator or listener (the suite runs many at once), which then answers on it.
pub(crate) fn closed_port() -> (u16, tokio::net::TcpSocket) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    // As std's listeners do, so a test can bind one to the port once this socket is dropped.
    socket.set_reuseaddr(true).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    (socket.local_addr().unwrap().port(), socket)
}

/// What the server answered a [`send_raw`] request: status, headers (names as sent), body.
pub(crate) struct RawAnswer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl RawAnswer {
    /// The value of the header `name` (any case), if the answer has one.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        (self.headers.iter())
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.body))
    }
}

/// Sends `request` to `host` (`127.0.0.1:PORT`) over a fresh connection, byte for byte as the
/// signer made it — no client library re-encodes the path, query or headers, so a test can send
/// a request broken on purpose — and reads the whole answer.
pub(crate) fn send_raw(host: &str, request: &cloudstart::provider::SignedRequest) -> RawAnswer {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let mut head = format!(
        "{} {} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        request.method.as_str(),
        request.path_and_query,
        request.body.len()
    );
    for header in &request.headers {
        head.push_str(&format!("{}: {}\r\n", header.name, header.value));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&request.body).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_string(), value.trim().to_string()))
        .collect();
    RawAnswer {
        status,
        headers,
        body: body.to_string(),
    }
}

/// Sends `signal` (`kill`'s spelling, e.g. `-INT`) to process `pid`.
pub(crate) fn kill(pid: u32, signal: &str) {
    let status = StdCommand::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid} failed");
}

/// Waits up to a minute for `child` to exit, panicking with `what` if it does not.
pub(crate) fn wait_for_exit(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Everything `reader` yields, forwarded chunk by chunk (lossy UTF-8) from a thread of its own
/// until end of file, so a test can wait for what a child writes without a fixed sleep.
pub(crate) fn stream(mut reader: impl std::io::Read + Send + 'static) -> Stream {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n @ 1..) = reader.read(&mut buffer) {
            if sender
                .send(String::from_utf8_lossy(&buffer[..n]).into_owned())
                .is_err()
            {
                break;
            }
        }
    });
    Stream {
        receiver,
        text: String::new(),
    }
}

/// A child's output as it arrives (see [`stream`]).
pub(crate) struct Stream {
    receiver: std::sync::mpsc::Receiver<String>,
    text: String,
}

impl Stream {
    /// Waits up to a minute until the output so far contains `needle`; panics with the output
    /// otherwise.
    pub(crate) fn wait_for(&mut self, needle: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !self.text.contains(needle) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.receiver.recv_timeout(left) {
                Ok(chunk) => self.text.push_str(&chunk),
                Err(_) => panic!("never saw {needle:?} in {:?}", self.text),
            }
        }
    }

    /// The whole output, once the writer has closed it (waits up to a minute).
    pub(crate) fn finish(mut self) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.receiver.recv_timeout(left) {
                Ok(chunk) => self.text.push_str(&chunk),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return self.text,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    panic!("output never ended: {:?}", self.text)
                }
            }
        }
    }
}
