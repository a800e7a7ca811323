//! Signing and response parsing for every cloud, per request. Target: signing ≤ 10 µs per
//! request on every cloud (`scripts/bench.sh` prints the table).
#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion};

use cloudstart::credentials::{Credentials, Secret};
use cloudstart::provider::{Action, ActionOptions, HttpResponse, Location};
use cloudstart::sim::{profiles, Profile};

/// Where and as whom the simulator's dialect for `profile` is reached.
fn reach(profile: &Profile) -> (Location, Credentials) {
    let location = Location {
        region: profile.region.map(str::to_string),
        zone: profile.zone.map(str::to_string),
    };
    let credentials = Credentials {
        key_id: profile.credentials[0].1.to_string(),
        secret: Secret::new(profile.credentials[1].1),
        token: None,
    };
    (location, credentials)
}

fn signing(c: &mut Criterion) {
    let now = DateTime::from_timestamp(1_741_996_770, 0).unwrap();
    for profile in profiles() {
        let provider = cloudstart::provider::find(profile.provider).unwrap();
        let (location, credentials) = reach(profile);
        let ids = [(profile.example_id)(1)];
        let call = provider.action_call(Action::Start, &ids, &location, &ActionOptions::default());
        c.bench_function(&format!("sign/{}", profile.provider), |b| {
            b.iter(|| {
                provider.sign(
                    black_box(&call),
                    "api.example.com",
                    &location,
                    &credentials,
                    now,
                )
            })
        });
    }
}

/// A describe answer listing up to 100 running machines (the cloud's describe batch), in the
/// cloud's own shape: its simulator dialect's answer, so a new cloud needs nothing here.
fn describe_answer(profile: &Profile) -> (usize, HttpResponse) {
    let provider = cloudstart::provider::find(profile.provider).unwrap();
    let (location, credentials) = reach(profile);
    let ids: Vec<String> = (0..provider.spec().describe_batch.min(100))
        .map(profile.example_id)
        .collect();
    let call = provider.describe_call(&ids, &location);
    let host = "127.0.0.1";
    let signed = provider.sign(&call, host, &location, &credentials, Utc::now());
    let (status, body) =
        cloudstart::sim::answer(profile.provider, &signed, &ids).unwrap_or_else(|| {
            panic!(
                "{}: the simulator cannot seed its machines",
                profile.provider
            )
        });
    (ids.len(), HttpResponse::new(status, body))
}

fn parsing(c: &mut Criterion) {
    for profile in profiles() {
        let provider = cloudstart::provider::find(profile.provider).unwrap();
        let (count, response) = describe_answer(profile);
        let parsed = provider.parse_describe(&response).unwrap();
        assert_eq!(parsed.len(), count, "{}", provider.name());
        c.bench_function(&format!("parse_describe_100/{}", provider.name()), |b| {
            b.iter(|| provider.parse_describe(black_box(&response)))
        });
    }
}

criterion_group!(benches, signing, parsing);
criterion_main!(benches);
