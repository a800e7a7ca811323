//! One contract for every cloud: each test walks the simulator's profiles (one per registered
//! provider) and drives the real binary against the real simulator over loopback.

use serde::Deserialize;
use serde_json::Value;

use cloudstart::provider::PROVIDERS;

use crate::support::{
    self, actions, id, profiles, provider_of, report, seed, start_json, stderr, stdout, Sim,
};

#[test]
fn every_provider_has_a_simulator_dialect() {
    let simulated: Vec<&str> = profiles().map(|p| p.provider).collect();
    for provider in PROVIDERS {
        assert!(simulated.contains(&provider.name()), "{}", provider.name());
    }
    assert_eq!(simulated.len(), PROVIDERS.len());
}

#[test]
fn start_one_reaches_running() {
    let sim = Sim::start("");
    for profile in profiles() {
        let id = id(profile, 1);
        let output = sim.start_cmd(profile, &[&id]).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}: {}",
            profile.provider,
            stderr(&output)
        );
        let out = stdout(&output);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.starts_with(&format!("{id}  running  ")), "{out}");
        assert!(out.contains(profile.running_state()), "{out}");
        // The address column: the simulator's public address, or `-` where the cloud has none.
        let address = if reports_addresses(profile) {
            "  203.0.113."
        } else {
            "  -  "
        };
        assert!(out.contains(address), "{}: {out}", profile.provider);
        let requests: Vec<Value> = sim
            .requests()
            .into_iter()
            .filter(|r| r["cloud"] == profile.provider)
            .collect();
        assert!(!requests.is_empty(), "{}", profile.provider);
        assert!(
            requests.iter().all(|r| r["signature"] == "ok"),
            "{requests:?}"
        );
    }
}

/// Whether the cloud reports machine addresses, as its `ProviderSpec` says: every one but
/// QingCloud, whose cluster list documents none (README, Clouds).
fn reports_addresses(profile: &support::Profile) -> bool {
    let cloud = PROVIDERS.iter().find(|p| p.name() == profile.provider);
    cloud.unwrap().spec().reports_addresses
}

#[test]
fn running_records_carry_the_addresses_the_cloud_reports() {
    let sim = Sim::start("");
    for profile in profiles() {
        let (json, _) = start_json(&sim, profile, &[&id(profile, 1), &id(profile, 2)], &[], 0);
        for record in json["instances"].as_array().unwrap() {
            assert_eq!(record["outcome"], "running", "{record}");
            let addresses = &record["addresses"];
            let public = addresses["public"].as_array().unwrap();
            let private = addresses["private"].as_array().unwrap();
            if !reports_addresses(profile) {
                assert!(public.is_empty() && private.is_empty(), "{record}");
                continue;
            }
            assert_eq!(public.len(), 1, "{record}");
            assert_eq!(private.len(), 1, "{record}");
            assert!(
                public[0].as_str().unwrap().starts_with("203.0.113."),
                "{record}"
            );
            assert!(private[0].as_str().unwrap().starts_with("10."), "{record}");
        }
        let (a, b) = (&json["instances"][0], &json["instances"][1]);
        if reports_addresses(profile) {
            assert_ne!(a["addresses"], b["addresses"], "each machine its own");
        }
    }
}

#[test]
fn start_and_status_records_carry_the_zone_the_cloud_names() {
    let sim = Sim::start("");
    for profile in profiles() {
        let ids = [id(profile, 1), id(profile, 2)];
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let (started, _) = start_json(&sim, profile, &ids, &[], 0);
        let output = (sim.status_std_cmd(profile, &ids).args(["-o", "json"]))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let looked = report(&output);
        for json in [&started, &looked] {
            let records = json["instances"].as_array().unwrap();
            assert_eq!(records.len(), 2, "{json}");
            for record in records {
                assert_eq!(record["zone"], profile.machine_zone, "{record}");
            }
        }
    }
}

#[test]
fn many_ids_respect_the_batch_limits() {
    // The starts: one more machine than two batches is three calls carrying every machine, and
    // `--no-wait` leaves the describes to the wait below. The describes: one more machine than
    // two describe batches, waited for until running (QingCloud describes one cluster a call, so
    // its 201 clusters would be 201 describes a round at 10 a second — a rate limit to sit out,
    // not a batch to check).
    let sim = Sim::start("");
    support::for_every_cloud(|profile| {
        let spec = provider_of(profile).spec();
        let count = 2 * spec.action_batch + 1;
        let ids: Vec<String> = (0..count).map(|n| id(profile, n)).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let (json, _) = start_json(&sim, profile, &ids, &["--no-wait"], 0);
        let instances = json["instances"].as_array().unwrap();
        assert_eq!(instances.len(), count, "{}", profile.provider);
        assert!(
            instances.iter().all(|r| r["outcome"] == "starting"),
            "{json}"
        );
        let (start_action, describe_action) = actions(profile);
        let starts = sim.calls(profile.provider, start_action);
        assert_eq!(starts.len(), 3, "{}: {starts:?}", profile.provider);
        let started: usize = starts
            .iter()
            .map(|r| r["ids"].as_array().unwrap().len())
            .sum();
        assert_eq!(started, count, "{}", profile.provider);
        let waited = &ids[..count.min(2 * spec.describe_batch + 1)];
        let extra = ["--for", "running"];
        let (json, _) = support::run_json(&sim, "wait", profile, waited, &extra, 0);
        let instances = json["instances"].as_array().unwrap();
        assert_eq!(instances.len(), waited.len(), "{}", profile.provider);
        assert!(
            instances.iter().all(|r| r["outcome"] == "running"),
            "{json}"
        );
        let describes = sim.calls(profile.provider, describe_action);
        let rounds = waited.len().div_ceil(spec.describe_batch);
        assert!(
            describes.len() >= rounds,
            "{}: {describes:?}",
            profile.provider
        );
        for request in sim
            .requests()
            .iter()
            .filter(|r| r["cloud"] == profile.provider)
        {
            let ids = request["ids"].as_array().unwrap().len();
            let limit = if request["action"] == start_action {
                spec.action_batch
            } else {
                spec.describe_batch
            };
            assert!(ids <= limit, "{}: {request}", profile.provider);
        }
    });
}

#[test]
fn one_missing_machine_does_not_stop_the_others() {
    for profile in profiles() {
        let (a, missing, b) = (id(profile, 1), id(profile, 2), id(profile, 3));
        let sim = Sim::start(&seed(profile, &missing, "state = \"not_found\""));
        let (json, _) = start_json(&sim, profile, &[&a, &missing, &b], &[], 4);
        let outcomes: Vec<&str> = json["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(
            outcomes,
            ["running", "failed", "running"],
            "{}",
            profile.provider
        );
    }
}

#[test]
fn wrong_secret_exits_three_without_retrying() {
    let sim = Sim::start("");
    for profile in profiles() {
        let secret_var = provider_of(profile).spec().credentials.secret[0];
        let output = sim
            .start_cmd(profile, &[&id(profile, 1)])
            .env(secret_var, "not-the-right-secret")
            .args(["-o", "json"])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(3),
            "{}: {}",
            profile.provider,
            stderr(&output)
        );
        let record = &report(&output)["instances"][0];
        assert_eq!(record["error"]["kind"], "auth", "{}", profile.provider);
        // The code has a field of its own; the message says what to do without repeating it.
        let code = record["error"]["code"].as_str().unwrap();
        let message = record["error"]["message"].as_str().unwrap();
        assert!(
            !message.starts_with(code),
            "{}: {code} / {message}",
            profile.provider
        );
        // … and says what to check.
        assert!(
            message.contains(secret_var),
            "{}: {message}",
            profile.provider
        );
        let requests: Vec<Value> = sim
            .requests()
            .into_iter()
            .filter(|r| r["cloud"] == profile.provider)
            .collect();
        assert_eq!(
            requests.len(),
            1,
            "{}: auth failures are not retried",
            profile.provider
        );
        assert_eq!(requests[0]["signature"], "failed");
    }
}

#[test]
fn missing_credentials_exit_three_naming_the_variables() {
    let sim = Sim::start("");
    for profile in profiles() {
        let spec = provider_of(profile).spec();
        let mut cmd = sim.start_cmd(profile, &[&id(profile, 1)]);
        for (var, _) in profile.credentials {
            cmd.env_remove(var);
        }
        let output = cmd.output().unwrap();
        assert_eq!(output.status.code(), Some(3), "{}", profile.provider);
        let err = stderr(&output);
        assert!(err.contains(spec.credentials.key_id[0]), "{err}");
        assert!(err.contains(spec.credentials.secret[0]), "{err}");
        // The machine is still in the report, failed.
        assert!(support::stdout(&output).contains(&id(profile, 1)));
    }
    assert!(sim.requests().is_empty());
}

/// The JSON report's schema, re-declared: any field added or renamed without a schema change fails.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonReport {
    schema_version: u32,
    command: String,
    started_at: String,
    #[allow(dead_code)]
    elapsed_ms: u64,
    exit_code: u8,
    instances: Vec<JsonRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRecord {
    provider: String,
    region: Option<String>,
    zone: Option<String>,
    id: String,
    outcome: String,
    state: Option<String>,
    job_id: Option<String>,
    addresses: JsonAddresses,
    error: Option<JsonError>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonAddresses {
    public: Vec<String>,
    private: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonError {
    kind: String,
    code: Option<String>,
    message: String,
    request_id: Option<String>,
}

#[test]
fn json_report_matches_the_documented_schema() {
    const OUTCOMES: [&str; 9] = [
        "running",
        "starting",
        "already_running",
        "stopped",
        "stopping",
        "already_stopped",
        "failed",
        "timeout",
        "interrupted",
    ];
    const KINDS: [&str; 8] = [
        "usage",
        "auth",
        "api",
        "transport",
        "timeout",
        "failed_state",
        "internal",
        "interrupted",
    ];
    for profile in profiles() {
        let (new, missing, running) = (id(profile, 1), id(profile, 2), id(profile, 3));
        let state = format!(
            "{}{}",
            seed(profile, &missing, "state = \"not_found\""),
            seed(
                profile,
                &running,
                &format!("state = \"{}\"", profile.running_state())
            )
        );
        let sim = Sim::start(&state);
        let output = sim
            .start_cmd(profile, &[&new, &missing, &running])
            .args(["-o", "json"])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(4),
            "{}: {}",
            profile.provider,
            stderr(&output)
        );
        let text = stdout(&output);
        assert_eq!(text.trim_end().lines().count(), 1, "one document: {text}");
        let report: JsonReport = serde_json::from_str(&text).unwrap();
        assert_eq!(report.schema_version, 1);
        assert_eq!(report.command, "start");
        assert_eq!(report.exit_code, 4);
        let started = chrono::DateTime::parse_from_rfc3339(&report.started_at).unwrap();
        let age = chrono::Utc::now() - started.with_timezone(&chrono::Utc);
        assert!(age < chrono::TimeDelta::minutes(5), "{}", report.started_at);
        let ids: Vec<&str> = report.instances.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, [&new, &missing, &running]);
        for record in &report.instances {
            assert_eq!(record.provider, profile.provider);
            assert_eq!(record.region.as_deref(), profile.region);
            // The cloud's zone for the machines it lists, else the one the run was given.
            let zone = record.zone.as_deref();
            assert!(
                zone == Some(profile.machine_zone) || zone == profile.zone,
                "{record:?}"
            );
            assert!(OUTCOMES.contains(&record.outcome.as_str()), "{record:?}");
            if let Some(error) = &record.error {
                assert!(KINDS.contains(&error.kind.as_str()), "{record:?}");
                assert!(!error.message.is_empty());
                assert_ne!(error.code.as_deref(), Some(""), "{record:?}");
                assert_ne!(error.request_id.as_deref(), Some(""), "{record:?}");
            }
        }
        assert_eq!(report.instances[0].outcome, "running");
        assert_eq!(
            report.instances[0].state.as_deref(),
            Some(profile.running_state())
        );
        assert_eq!(report.instances[1].outcome, "failed");
        assert_eq!(report.instances[1].error.as_ref().unwrap().kind, "api");
        let none = &report.instances[1].addresses;
        assert!(none.public.is_empty() && none.private.is_empty());
        assert_eq!(report.instances[2].outcome, "already_running");
        if reports_addresses(profile) {
            for record in [&report.instances[0], &report.instances[2]] {
                assert_eq!(record.addresses.public.len(), 1, "{record:?}");
                assert_eq!(record.addresses.private.len(), 1, "{record:?}");
            }
        }
        if profile.provider == "qingcloud" {
            assert!(report.instances[0].job_id.is_some(), "{report:?}");
        }
    }
}

#[test]
fn secrets_never_appear_in_any_output_even_at_trace() {
    let sim = Sim::start("");
    for profile in profiles() {
        let credentials = &provider_of(profile).spec().credentials;
        // A wrong secret makes every code path that handles it run, up to the auth failure.
        let secret = "SENTINEL-SECRET-0d1e2f";
        let output = sim
            .start_cmd(profile, &[&id(profile, 1)])
            .env(credentials.secret[0], secret)
            .env("RUST_LOG", "trace")
            .arg("-vvv")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(3), "{}", profile.provider);
        let all = format!("{}{}", stdout(&output), stderr(&output));
        assert!(!all.contains(secret), "{}: {all}", profile.provider);

        // A successful run at -vvv, with a session token where the cloud takes one.
        let token = "SENTINEL-TOKEN-7f3a9c";
        let mut cmd = sim.start_cmd(profile, &[&id(profile, 2)]);
        if let Some(var) = credentials.token.first() {
            cmd.env(var, token);
        }
        let output = cmd.args(["-vvv", "-o", "json"]).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}: {}",
            profile.provider,
            stderr(&output)
        );
        let all = format!("{}{}", stdout(&output), stderr(&output));
        assert!(all.contains("trace "), "{}: -vvv traces", profile.provider);
        assert!(!all.contains(token), "{}", profile.provider);
        let real_secret = profile.credential(credentials.secret[0]).unwrap();
        assert!(!all.contains(&real_secret), "{}", profile.provider);
    }
}
