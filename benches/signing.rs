//! Signing and response parsing for every cloud, per request. Target: signing ≤ 10 µs per
//! request on every cloud (`scripts/bench.sh` prints the table).
#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;

use chrono::DateTime;
use criterion::{criterion_group, criterion_main, Criterion};

use cloudstart::credentials::{Credentials, Secret};
use cloudstart::provider::{Action, ActionOptions, HttpResponse, Location, PROVIDERS};
use cloudstart::sim::profiles;

fn signing(c: &mut Criterion) {
    let now = DateTime::from_timestamp(1_741_996_770, 0).unwrap();
    for profile in profiles() {
        let provider = cloudstart::provider::find(profile.provider).unwrap();
        let location = Location {
            region: profile.region.map(str::to_string),
            zone: profile.zone.map(str::to_string),
        };
        let credentials = Credentials {
            key_id: profile.credentials[0].1.to_string(),
            secret: Secret::new(profile.credentials[1].1),
            token: None,
        };
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

/// A describe answer listing 100 running machines, in each cloud's shape.
fn describe_answer(cloud: &str) -> String {
    let list = |item: &dyn Fn(usize) -> String| (0..100).map(item).collect::<Vec<_>>().join(",");
    match cloud {
        "tencent" => format!(
            r#"{{"Response":{{"TotalCount":100,"InstanceSet":[{}],"RequestId":"r"}}}}"#,
            list(&|n| format!(r#"{{"InstanceId":"ins-{n:08}","InstanceState":"RUNNING"}}"#))
        ),
        "volcengine" => format!(
            r#"{{"ResponseMetadata":{{"RequestId":"r"}},"Result":{{"Instances":[{}]}}}}"#,
            list(&|n| format!(r#"{{"InstanceId":"i-{n:020}","Status":"RUNNING"}}"#))
        ),
        "zenlayer" => format!(
            r#"{{"requestId":"r","response":{{"dataSet":[{}],"totalCount":100}}}}"#,
            list(&|n| format!(r#"{{"instanceId":"{n}","instanceStatus":"RUNNING"}}"#))
        ),
        "compshare" => format!(
            r#"{{"RetCode":0,"UHostSet":[{}],"TotalCount":100}}"#,
            list(&|n| format!(r#"{{"UHostId":"uhost-{n:08}","State":"Running"}}"#))
        ),
        "qingcloud" => format!(
            r#"{{"ret_code":0,"cluster_set":[{}],"total_count":100}}"#,
            list(&|n| format!(r#"{{"cluster_id":"hpc-{n:08}","status":"active"}}"#))
        ),
        // Each cloud answers in its own shape: a new cloud gets an arm, never another cloud's.
        other => panic!("no describe answer for {other}: add its shape to describe_answer"),
    }
}

fn parsing(c: &mut Criterion) {
    for provider in PROVIDERS {
        let response = HttpResponse::new(200, describe_answer(provider.name()));
        let parsed = provider.parse_describe(&response).unwrap();
        assert_eq!(parsed.len(), 100, "{}", provider.name());
        c.bench_function(&format!("parse_describe_100/{}", provider.name()), |b| {
            b.iter(|| provider.parse_describe(black_box(&response)))
        });
    }
}

criterion_group!(benches, signing, parsing);
criterion_main!(benches);
