//! The registry's completeness: every cloud in `PROVIDERS` brings everything a cloud is made of.
//!
//! A cloud is a provider module plus its signing vectors, its simulator dialect, its vendor CLI
//! reader, its vocabulary and its vendor conformance cases. The suites that use those walk the
//! simulator's profiles or per-cloud folders, so a cloud missing one of them would be skipped
//! quietly rather than fail; this test walks `PROVIDERS` and names the cloud and the missing part.
//! It is an integration test because it checks the repository's files as well as the crate.

use std::path::Path;

use cloudstart::provider::{names, PROVIDERS};
use cloudstart::settings::vendor::{cli_for, VENDOR_CLIS};
use cloudstart::sim::profiles;

/// Fewest vendor conformance cases a cloud must have (`tests/it/vendor.rs` asks the same).
const MIN_VENDOR_CASES: usize = 10;

fn repo_path(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// What `cloud` lacks, one phrase per missing part.
fn missing_parts(cloud: &'static dyn cloudstart::provider::Provider) -> Vec<String> {
    let name = cloud.name();
    let mut missing = Vec::new();

    let vectors = repo_path(&format!("tests/fixtures/vectors/{name}.json"));
    let vector_count = std::fs::read_to_string(&vectors)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|file| file["vectors"].as_array().map(Vec::len))
        .unwrap_or(0);
    if vector_count == 0 {
        missing.push(format!(
            "signing vectors: {} is missing, unreadable or has no `vectors`",
            vectors.display()
        ));
    }

    if !profiles().any(|profile| profile.provider == name) {
        missing.push("a simulator dialect: no line in src/sim/mod.rs's DIALECTS".into());
    }

    if cli_for(name).is_none() {
        missing.push("a vendor CLI reader: no line in src/settings/vendor.rs's VENDOR_CLIS".into());
    }

    let words = &cloud.spec().vocabulary;
    if words.states.is_empty() {
        missing.push("a vocabulary: no state names".into());
    }
    if words.errors.is_empty() {
        missing.push("a vocabulary: no error codes".into());
    }

    let cases = repo_path(&format!("tests/vendor/{name}"));
    let case_count = std::fs::read_dir(&cases)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().extension().is_some_and(|e| e == "json"))
                .count()
        })
        .unwrap_or(0);
    if case_count < MIN_VENDOR_CASES {
        missing.push(format!(
            "vendor conformance cases: {case_count} .json files in {}, at least {MIN_VENDOR_CASES} wanted",
            cases.display()
        ));
    }

    missing
}

#[test]
fn every_registered_cloud_has_vectors_a_dialect_a_vendor_reader_a_vocabulary_and_vendor_cases() {
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
