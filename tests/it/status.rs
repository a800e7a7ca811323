//! Commands that send nothing that changes a machine: `status` reports current states, and
//! `--dry-run` prints every request, redacted, without sending it.

use crate::config::{everywhere, records, start_everywhere, target};
use crate::support::{self, id, profiles, stderr, Sim};

#[test]
fn status_reports_current_states_without_starting_anything() {
    let state: String = profiles()
        .map(|p| {
            support::seed(p, &id(p, 2), &format!("state = \"{}\"", p.running_state()))
                + &support::seed(p, &id(p, 3), "state = \"not_found\"")
        })
        .collect();
    let sim = Sim::start(&state);
    let mut all: Vec<String> = Vec::new();
    for profile in profiles() {
        all.extend([target(profile, 1), target(profile, 2), target(profile, 3)]);
    }
    let output = everywhere(&sim)
        .arg("status")
        .args(&all)
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    // status starts nothing, so it does not say machines "did not start".
    let err = stderr(&output);
    assert!(
        err.contains("could not be looked up") && !err.contains("did not start"),
        "{err}"
    );
    let records = records(&output);
    assert_eq!(records.len(), all.len());
    for (chunk, profile) in records.chunks(3).zip(profiles()) {
        assert_eq!(chunk[0]["outcome"], "observed", "{}", profile.provider);
        assert_eq!(chunk[1]["outcome"], "observed");
        assert_eq!(chunk[1]["state"], profile.running_state());
        assert_eq!(chunk[2]["outcome"], "failed");
        assert_eq!(chunk[2]["error"]["kind"], "api");
        let (start_action, _) = support::actions(profile);
        assert!(sim.calls(profile.provider, start_action).is_empty());
    }
    // Every machine found: exit 0.
    let found: Vec<String> = profiles().map(|p| target(p, 2)).collect();
    let output = everywhere(&sim)
        .arg("status")
        .args(&found)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn dry_run_prints_every_request_redacted_and_sends_nothing() {
    let sim = Sim::start("");
    let targets: Vec<String> = profiles().map(|p| target(p, 1)).collect();
    for format in ["text", "json"] {
        let output = start_everywhere(&sim)
            .args(&targets)
            .args(["--dry-run", "-o", format])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let text = support::stdout(&output);
        for profile in profiles() {
            assert!(text.contains(sim.url(profile.provider)), "{format}: {text}");
            for (_, value) in profile.credentials.iter().skip(1) {
                assert!(
                    !text.contains(value),
                    "{}: secret printed",
                    profile.provider
                );
            }
        }
        assert!(text.contains("(redacted)"), "{text}");
        if format == "json" {
            // The documented shape (README "Dry run"), field for field.
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            #[allow(dead_code)] // read by serde: the test is that it parses
            struct DryRun {
                schema_version: u32,
                dry_run: bool,
                requests: Vec<Planned>,
            }
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            #[allow(dead_code)] // read by serde: the test is that it parses
            struct Planned {
                provider: String,
                region: Option<String>,
                zone: Option<String>,
                action: String,
                ids: Vec<String>,
                method: String,
                url: String,
                headers: Vec<[String; 2]>,
                body: String,
            }
            let document: DryRun = serde_json::from_str(&text).unwrap();
            assert_eq!(document.schema_version, 1);
            assert_eq!(document.requests.len(), profiles().count());
        }
        // QingCloud and CompShare carry their signatures in the query and the form body.
        assert!(!text.contains("signature=") || text.contains("signature=(redacted)"));
        assert!(!text.contains("Signature=") || text.contains("Signature=(redacted)"));
    }
    assert!(sim.requests().is_empty(), "a dry run sent requests");
}
