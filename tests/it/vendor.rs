//! The vendor conformance suite: answers copied from the clouds' own documentation, SDKs, CLIs and
//! Terraform providers (`tests/vendor/<cloud>/*.json`, format and provenance rules in
//! `tests/vendor/README.md`), served by a canned HTTP server on 127.0.0.1 to the real binary,
//! which must end each case with the exit code, outcome, state and error the vendor implies.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::Value;

use crate::support::{self, profiles};

/// Fewest cases a cloud's folder must hold.
const MIN_CASES: usize = 10;
/// Fewest of them that must run `stop`.
const MIN_STOP_CASES: usize = 6;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    title: String,
    vendor_says: String,
    sources: Vec<Source>,
    /// The subcommand the case runs: `start` (the default), `stop` or `wait`.
    #[serde(default = "start")]
    command: String,
    target: String,
    #[serde(default)]
    args: Vec<String>,
    answers: HashMap<String, Vec<Answer>>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    answer: String,
    source: String,
    verbatim: bool,
    how: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    status: u16,
    #[serde(default)]
    headers: HashMap<String, String>,
    body: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    exit: i32,
    outcome: String,
    state: Option<String>,
    error_kind: Option<String>,
    error_code: Option<String>,
    /// Optional: the record's `zone`, where the case's answers name one (or the run passes one).
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    requests: HashMap<String, usize>,
    /// Optional: per action, texts every request for it carries on the wire (query or body),
    /// e.g. `"StopType":"HARD"`.
    #[serde(default)]
    sent: HashMap<String, Vec<String>>,
}

fn start() -> String {
    "start".into()
}

/// The canned cloud: per action, the answers in order (the last repeats), and what was asked.
struct Canned {
    answers: HashMap<String, Vec<Answer>>,
    asked: Mutex<HashMap<String, usize>>,
    /// Per action, each request's query and body as sent.
    sent: Mutex<HashMap<String, Vec<String>>>,
}

impl Canned {
    fn answer(&self, action: &str, wire: String) -> Answer {
        (self.sent.lock().unwrap())
            .entry(action.to_string())
            .or_default()
            .push(wire);
        let mut asked = self.asked.lock().unwrap();
        let n = asked.entry(action.to_string()).or_default();
        *n += 1;
        match self.answers.get(action) {
            Some(answers) if !answers.is_empty() => {
                answers[(*n - 1).min(answers.len() - 1)].clone()
            }
            _ => Answer {
                status: 599,
                headers: HashMap::new(),
                body: Value::String(format!("the case has no answer for {action}")),
            },
        }
    }
}

/// The action a request asks for, the way each cloud names it: a header (Tencent, Zenlayer), the
/// `Action` query or form parameter (Volcengine, CompShare), or else the path (QingCloud).
fn action_of(parts: &hyper::http::request::Parts, body: &[u8]) -> String {
    for header in ["x-tc-action", "x-zc-action"] {
        if let Some(value) = parts.headers.get(header) {
            return String::from_utf8_lossy(value.as_bytes()).into_owned();
        }
    }
    let form = String::from_utf8_lossy(body);
    let pairs = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .chain(form.split('&'));
    for pair in pairs {
        if let Some(action) = pair.strip_prefix("Action=") {
            return action.to_string();
        }
    }
    parts.uri.path().to_string()
}

/// Serves `canned` on 127.0.0.1 for as long as the test process lives.
fn spawn_server(canned: Arc<Canned>) -> SocketAddr {
    support::serve(move |parts, body| {
        let wire = format!(
            "{}\n{}",
            parts.uri.query().unwrap_or(""),
            String::from_utf8_lossy(body)
        );
        let answer = canned.answer(&action_of(parts, body), wire);
        let bytes = match &answer.body {
            Value::String(raw) => raw.clone(),
            json => json.to_string(),
        };
        (
            answer.status,
            answer.headers.into_iter().collect(),
            bytes.into_bytes(),
        )
    })
}

fn case_files(cloud: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vendor")
        .join(cloud);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Runs one case; the mismatches, if any, as one message.
fn run_case(cloud: &str, path: &Path) -> Result<(), String> {
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).unwrap();
    let case: Case = serde_json::from_str(&text)
        .map_err(|err| format!("{cloud}/{name}: bad case file: {err}"))?;
    check_provenance(&case).map_err(|what| format!("{cloud}/{name}: {what}"))?;
    let canned = Arc::new(Canned {
        answers: case.answers.clone(),
        asked: Mutex::new(HashMap::new()),
        sent: Mutex::new(HashMap::new()),
    });
    if !["start", "stop", "wait"].contains(&case.command.as_str()) {
        return Err(format!("{cloud}/{name}: command `{}`", case.command));
    }
    let addr = spawn_server(canned.clone());
    let profile = profiles().find(|p| p.provider == cloud).unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = support::cloudstart(home.path());
    cmd.envs(profile.credentials.iter().copied())
        .args([
            "-q",
            case.command.as_str(),
            "-p",
            cloud,
            "-o",
            "json",
            "--endpoint",
        ])
        .arg(format!("http://{addr}"))
        .args(["--poll-interval", "20ms", "--poll-max", "100ms"]);
    if !case.args.iter().any(|a| a == "--timeout") {
        cmd.args(["--timeout", "20s"]);
    }
    let output = cmd.args(&case.args).arg(&case.target).output().unwrap();
    let asked = canned.asked.lock().unwrap().clone();
    let context = || {
        format!(
            "{cloud}/{name} ({}):\n  requests: {asked:?}\n  stdout: {}\n  stderr: {}",
            case.title,
            support::stdout(&output).trim(),
            support::stderr(&output).trim()
        )
    };
    let report: Value = serde_json::from_slice(&output.stdout)
        .map_err(|err| format!("{}\n  stdout is not the JSON report: {err}", context()))?;
    let records = report["instances"].as_array().cloned().unwrap_or_default();
    let mut wrong = Vec::new();
    if records.len() != 1 || records[0]["id"] != case.target.as_str() {
        wrong.push(format!("exactly one record for {}", case.target));
    }
    let record = records.first().cloned().unwrap_or_default();
    let text_or_null = |v: &Option<String>| v.as_deref().map_or(Value::Null, Value::from);
    let expect = &case.expect;
    let checks = [
        (
            "exit",
            Value::from(expect.exit),
            output.status.code().map_or(Value::Null, Value::from),
        ),
        (
            "outcome",
            Value::from(expect.outcome.as_str()),
            record["outcome"].clone(),
        ),
        (
            "state",
            text_or_null(&expect.state),
            record["state"].clone(),
        ),
        (
            "error.kind",
            text_or_null(&expect.error_kind),
            record["error"]["kind"].clone(),
        ),
        (
            "error.code",
            text_or_null(&expect.error_code),
            record["error"]["code"].clone(),
        ),
    ];
    for (field, expected, actual) in checks {
        if expected != actual {
            wrong.push(format!("{field}: expected {expected}, got {actual}"));
        }
    }
    if let Some(zone) = &expect.zone {
        if record["zone"] != zone.as_str() {
            wrong.push(format!("zone: expected {zone}, got {}", record["zone"]));
        }
    }
    for (action, count) in &expect.requests {
        let actual = asked.get(action).copied().unwrap_or(0);
        if actual != *count {
            wrong.push(format!("{action} requests: expected {count}, got {actual}"));
        }
    }
    let sent = canned.sent.lock().unwrap().clone();
    for (action, texts) in &expect.sent {
        let requests = sent.get(action).cloned().unwrap_or_default();
        if requests.is_empty() {
            wrong.push(format!("no {action} request was sent"));
        }
        for text in texts {
            if let Some(request) = requests.iter().find(|r| !r.contains(text.as_str())) {
                wrong.push(format!("{action} request without `{text}`: {request}"));
            }
        }
    }
    if report["command"] != case.command.as_str() {
        wrong.push(format!("command: got {}", report["command"]));
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n  wrong: {}", context(), wrong.join("; ")))
    }
}

/// Every case names where each answer came from and how it was made.
fn check_provenance(case: &Case) -> Result<(), String> {
    if case.title.trim().is_empty() || case.vendor_says.trim().is_empty() {
        return Err("title and vendor_says must say something".into());
    }
    if case.sources.is_empty() {
        return Err("no sources".into());
    }
    for source in &case.sources {
        if source.source.trim().is_empty() || source.how.trim().is_empty() {
            return Err(format!("the source of {} says nothing", source.answer));
        }
        // A repository source is pinned to a commit; a page is named by its address.
        let pinned = source.source.contains('@') || source.source.contains("://");
        if !pinned {
            return Err(format!(
                "{}: neither repo@commit:path nor a URL",
                source.source
            ));
        }
        if source.verbatim && source.how.is_empty() {
            return Err("a verbatim body still says where it was copied from".into());
        }
    }
    for action in case.answers.keys() {
        if !case.sources.iter().any(|s| s.answer == *action) {
            return Err(format!("the answers to {action} have no source"));
        }
    }
    Ok(())
}

/// Runs every case of `cloud` in parallel and fails with all the mismatches at once.
fn conformance(cloud: &str) {
    let files = case_files(cloud);
    assert!(
        files.len() >= MIN_CASES,
        "{cloud}: {} cases, at least {MIN_CASES} wanted",
        files.len()
    );
    let command = |path: &PathBuf| {
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap_or_default();
        case["command"].as_str().unwrap_or("start").to_string()
    };
    let stops = files.iter().filter(|path| command(path) == "stop").count();
    assert!(
        stops >= MIN_STOP_CASES,
        "{cloud}: {stops} stop cases, at least {MIN_STOP_CASES} wanted"
    );
    let failures: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = files
            .iter()
            .map(|path| scope.spawn(move || run_case(cloud, path)))
            .collect();
        runs.into_iter()
            .filter_map(|run| run.join().unwrap().err())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} {cloud} cases went wrong:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

/// Every registered cloud against its vendor's cases, all clouds at once (each runs its cases at
/// once: they wait on lock pauses, not the CPU); a failing cloud does not hide the others.
#[test]
fn every_registered_cloud_behaves_as_its_vendor_documents() {
    let clouds: Vec<&str> = cloudstart::provider::names().collect();
    let mut failures = Vec::new();
    std::thread::scope(|scope| {
        let runs: Vec<_> = (clouds.iter())
            .map(|&cloud| (cloud, scope.spawn(move || conformance(cloud))))
            .collect();
        for (cloud, run) in runs {
            if let Err(panic) = run.join() {
                let message = (panic.downcast_ref::<String>().cloned())
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{cloud}: {message}"));
            }
        }
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
