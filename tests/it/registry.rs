//! The registry's completeness: every cloud in `PROVIDERS` brings everything a cloud is made of.
//!
//! A cloud is a provider module (its vocabulary, its environment variables, its signer's vector
//! stages) plus its signing vectors, its simulator dialect, its vendor CLI reader, its vendor
//! conformance cases and its README section. The suites that use those walk the
//! simulator's profiles or per-cloud folders, so a cloud missing one of them would be skipped
//! quietly rather than fail; this test walks `PROVIDERS` and names the cloud and the missing part.
//! It is an integration test because it checks the repository's files as well as the crate.

use std::path::Path;

use cloudstart::provider::{names, ErrorClass, Phase, Requirement, PROVIDERS};
use cloudstart::settings::vendor::{cli_for, VENDOR_CLIS};
use cloudstart::sim::profiles;

/// Fewest vendor conformance cases a cloud must have (`tests/it/vendor.rs` asks the same).
const MIN_VENDOR_CASES: usize = 10;
/// Fewest of them that are stops.
const MIN_VENDOR_STOPS: usize = 6;

fn repo_path(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// What `cloud` lacks, one phrase per missing part.
fn missing_parts(cloud: &'static dyn cloudstart::provider::Provider) -> Vec<String> {
    let name = cloud.name();
    let mut missing = Vec::new();

    let vectors = repo_path(&format!("tests/fixtures/vectors/{name}.json"));
    let file = std::fs::read_to_string(&vectors)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .unwrap_or_default();
    match file["vectors"].as_array().and_then(|list| list.first()) {
        None => missing.push(format!(
            "signing vectors: {} is missing, unreadable or has no `vectors`",
            vectors.display()
        )),
        Some(first) => {
            let case = first["requests"].get(0).unwrap_or(first);
            if let Err(err) = cloud.vector_stages(&case["inputs"]) {
                missing.push(format!(
                    "a signer for its vectors: vector_stages on {}'s first vector: {err}",
                    vectors.display()
                ));
            }
        }
    }

    if !profiles().any(|profile| profile.provider == name) {
        missing.push("a simulator dialect: no line in src/sim/mod.rs's DIALECTS".into());
    }

    if cli_for(name).is_none() {
        missing.push("a vendor CLI reader: no line in src/settings/vendor.rs's VENDOR_CLIS".into());
    }

    let spec = cloud.spec();
    let words = &spec.vocabulary;
    for phase in [Phase::Running, Phase::Stopped] {
        if words.state(phase).is_none() {
            missing.push(format!("a vocabulary: no {phase:?} state"));
        }
    }
    if words.phase(words.starting) != Phase::Starting
        || words.phase(words.stopping) != Phase::Stopping
    {
        missing.push("a vocabulary: its starting and stopping states".into());
    }
    if words.errors.is_empty() {
        missing.push("a vocabulary: no error codes".into());
    }
    // The tests' refusals and the simulator's answers are taken from these.
    if words.code(ErrorClass::Refused).is_none() && words.code(ErrorClass::Capacity).is_none() {
        missing.push("a vocabulary: no plain refusal (a Refused or Capacity code)".into());
    }

    let declared: Vec<&str> = spec.env_vars.iter().map(|var| var.name).collect();
    let mut read = vec![spec.endpoint_var];
    read.extend(
        spec.credentials
            .key_id
            .iter()
            .chain(spec.credentials.secret),
    );
    read.extend(spec.credentials.token);
    for place in [&spec.region, &spec.zone] {
        if let Requirement::Required(vars) = place {
            read.extend(vars.iter());
        }
    }
    for var in read.into_iter().filter(|var| !declared.contains(var)) {
        missing.push(format!(
            "its environment variable {var} in its ENV_VARS (cloud_env_vars! in its module)"
        ));
    }

    let cases = repo_path(&format!("tests/vendor/{name}"));
    let commands: Vec<String> = std::fs::read_dir(&cases)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "json"))
                .map(|path| {
                    let case: serde_json::Value = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|text| serde_json::from_str(&text).ok())
                        .unwrap_or_default();
                    case["command"].as_str().unwrap_or("start").to_string()
                })
                .collect()
        })
        .unwrap_or_default();
    let stops = commands.iter().filter(|command| *command == "stop").count();
    if commands.len() < MIN_VENDOR_CASES || stops < MIN_VENDOR_STOPS {
        missing.push(format!(
            "vendor conformance cases: {} .json files in {} ({stops} stops), at least \
             {MIN_VENDOR_CASES} ({MIN_VENDOR_STOPS} stops) wanted",
            commands.len(),
            cases.display()
        ));
    }

    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap_or_default();
    let clouds = readme.split("\n## Clouds\n").nth(1).unwrap_or_default();
    let clouds = clouds.split("\n## ").next().unwrap_or_default();
    let heading = format!("(`{name}`)");
    if !(clouds.lines()).any(|line| line.starts_with("### ") && line.contains(&heading)) {
        missing.push(format!(
            "a README section: no `### … {heading}` heading under README.md's \"## Clouds\""
        ));
    }

    missing
}

#[test]
fn every_registered_cloud_has_every_part_of_a_cloud() {
    let report: Vec<String> = PROVIDERS
        .iter()
        .flat_map(|&cloud| {
            missing_parts(cloud)
                .into_iter()
                .map(move |part| format!("{}: lacks {part}", cloud.name()))
        })
        .collect();
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn every_dialect_and_vendor_reader_belongs_to_a_registered_cloud() {
    let registered: Vec<&str> = names().collect();
    for profile in profiles() {
        assert!(
            registered.contains(&profile.provider),
            "the simulator has a dialect for {}, which is not in PROVIDERS",
            profile.provider
        );
    }
    for cli in VENDOR_CLIS {
        assert!(
            registered.contains(&cli.provider),
            "VENDOR_CLIS has a reader for {}, which is not in PROVIDERS",
            cli.provider
        );
    }
}
