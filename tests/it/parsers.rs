//! Every provider's response parsers against hostile input: arbitrary bytes, arbitrary JSON built
//! from the field names the clouds use, valid answers with parts swapped for anything, and valid
//! answers cut short. The property is the same for all: an `Ok` or an `ApiError`, never a panic —
//! and an unreadable answer is an error that names the action and the HTTP status. Address fields
//! are held to more: whatever they hold, the describe still reads.
//!
//! `PROPTEST_CASES=100000 cargo test --release --test it parsers::` runs a longer search.

use proptest::prelude::*;
use serde_json::{Map, Value};

use cloudstart::provider::{Action, ErrorClass, HttpResponse, Provider, PROVIDERS};

/// Field names the five clouds' answers use, so generated JSON reaches deep into the parsers.
const KEYS: &[&str] = &[
    "Response",
    "Error",
    "Code",
    "Message",
    "RequestId",
    "InstanceSet",
    "InstanceId",
    "InstanceState",
    "LatestOperation",
    "LatestOperationState",
    "TotalCount",
    "ResponseMetadata",
    "Result",
    "Instances",
    "Status",
    "OperationDetails",
    "requestId",
    "response",
    "code",
    "message",
    "instanceIds",
    "dataSet",
    "instanceId",
    "instanceStatus",
    "totalCount",
    "RetCode",
    "UHostSet",
    "UHostId",
    "State",
    "ret_code",
    "job_ids",
    "job_id",
    "cluster_set",
    "cluster_id",
    "status",
    "cluster_status",
    "transition_status",
    "total_count",
    "Action",
    "CodeN",
    "PublicIpAddresses",
    "PrivateIpAddresses",
    "EipAddress",
    "IpAddress",
    "NetworkInterfaces",
    "PrimaryIpAddress",
    "IPSet",
    "IP",
    "Type",
    "publicIpAddresses",
    "privateIpAddresses",
];

/// A valid describe-or-start answer per cloud, the seed for mutations.
const SAMPLES: &[&str] = &[
    r#"{"Response":{"InstanceSet":[{"InstanceId":"ins-aaaaaaaa","InstanceState":"RUNNING","LatestOperation":"StartInstances","LatestOperationState":"SUCCESS"}],"TotalCount":1,"RequestId":"r-1"}}"#,
    r#"{"Response":{"Error":{"Code":"UnsupportedOperation.InstanceStateRunning","Message":"m"},"RequestId":"r-2"}}"#,
    r#"{"ResponseMetadata":{"RequestId":"r-3","Action":"DescribeInstances"},"Result":{"Instances":[{"InstanceId":"i-aaaaaaaaaaaaaaaaaaaa","Status":"RUNNING"}],"OperationDetails":[{"InstanceId":"i-aaaaaaaaaaaaaaaaaaaa","Error":{"Code":"InvalidInstanceStatus","Message":"m"}}]}}"#,
    r#"{"requestId":"T1","response":{"requestId":"T1","dataSet":[{"instanceId":"a1","instanceStatus":"RUNNING"}],"instanceIds":["a1"],"totalCount":1}}"#,
    r#"{"RetCode":0,"Action":"DescribeCompShareInstanceResponse","UHostSet":[{"UHostId":"uhost-a1","State":"Running"}],"TotalCount":1,"UHostId":"uhost-a1"}"#,
    r#"{"ret_code":0,"action":"HpcClusterListClusterResponse","job_ids":"j-1","cluster_set":[{"cluster_id":"hpc-aaaaaaaa","status":"active","transition_status":""}],"total_count":1}"#,
];

/// A describe answer with addresses per cloud that has them, and the address fields in it: each
/// `(sample, pointer)` names a field that may hold anything without failing the answer.
const ADDRESS_SAMPLES: &[(&str, &[&str])] = &[
    (
        r#"{"Response":{"InstanceSet":[{"InstanceId":"ins-aaaaaaaa","InstanceState":"RUNNING","PublicIpAddresses":["203.0.113.1"],"PrivateIpAddresses":["10.0.0.1"]}],"TotalCount":1,"RequestId":"r-1"}}"#,
        &[
            "/Response/InstanceSet/0/PublicIpAddresses",
            "/Response/InstanceSet/0/PublicIpAddresses/0",
            "/Response/InstanceSet/0/PrivateIpAddresses",
        ],
    ),
    (
        r#"{"ResponseMetadata":{"RequestId":"r-3"},"Result":{"Instances":[{"InstanceId":"i-aaaaaaaaaaaaaaaaaaaa","Status":"RUNNING","EipAddress":{"AllocationId":"eip-1","IpAddress":"203.0.113.1"},"NetworkInterfaces":[{"PrimaryIpAddress":"10.0.0.1"}]}]}}"#,
        &[
            "/Result/Instances/0/EipAddress",
            "/Result/Instances/0/EipAddress/IpAddress",
            "/Result/Instances/0/NetworkInterfaces",
            "/Result/Instances/0/NetworkInterfaces/0",
            "/Result/Instances/0/NetworkInterfaces/0/PrimaryIpAddress",
        ],
    ),
    (
        r#"{"RetCode":0,"UHostSet":[{"UHostId":"uhost-a1","State":"Running","IPSet":[{"Type":"Private","IP":"10.0.0.1"},{"Type":"Bgp","IP":"203.0.113.1"}]}],"TotalCount":1}"#,
        &[
            "/UHostSet/0/IPSet",
            "/UHostSet/0/IPSet/0",
            "/UHostSet/0/IPSet/1/Type",
            "/UHostSet/0/IPSet/1/IP",
        ],
    ),
];

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[ -~]{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "RUNNING",
            "STOPPED",
            "Running",
            "active",
            "",
            "ins-aaaaaaaa"
        ])
        .prop_map(Value::from),
    ]
}

/// Strings near an address: literals, literals with something after them, and names.
fn address_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<std::net::IpAddr>().prop_map(|ip| ip.to_string()),
        (any::<std::net::Ipv4Addr>(), "[\n\r;`$|& a-z=<>()']{1,12}")
            .prop_map(|(ip, tail)| format!("{ip}{tail}")),
        "[a-z0-9.:%-]{1,20}",
    ]
}

/// JSON whose object keys mostly come from [`KEYS`].
fn json_tree() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            4 => prop::sample::select(KEYS).prop_map(str::to_string),
            1 => "[a-zA-Z]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Every JSON pointer in `value`, the root included.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                pointers(child, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => Just(200u16),
        1 => prop::sample::select(vec![400u16, 401, 403, 404, 429, 500, 502, 503]),
        1 => 100u16..600,
    ]
}

/// Runs both parsers of every provider on one answer; an unreadable answer must say what it was.
fn check_all(status: u16, body: &[u8]) {
    for provider in PROVIDERS {
        let response = HttpResponse::new(status, body);
        check(
            *provider,
            "start",
            provider.parse_action(Action::Start, &response).err(),
        );
        check(
            *provider,
            "describe",
            provider.parse_describe(&response).err(),
        );
        check(
            *provider,
            "details",
            provider.parse_details(&response).err(),
        );
    }

    fn check(provider: &dyn Provider, call: &str, err: Option<cloudstart::provider::ApiError>) {
        let Some(err) = err else { return };
        assert!(
            !err.code.is_empty(),
            "{} {call}: empty code",
            provider.name()
        );
        if err.class == ErrorClass::BadResponse {
            assert!(
                err.message.contains("HTTP"),
                "{} {call}: {}",
                provider.name(),
                err.message
            );
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(status in status(), body in prop::collection::vec(any::<u8>(), 0..512)) {
        check_all(status, &body);
    }

    #[test]
    fn arbitrary_json_never_panics(status in status(), tree in json_tree()) {
        check_all(status, tree.to_string().as_bytes());
    }

    #[test]
    fn valid_answers_with_parts_replaced_never_panic(
        status in status(),
        sample in prop::sample::select(SAMPLES),
        swaps in prop::collection::vec((any::<prop::sample::Index>(), json_tree()), 1..4),
    ) {
        let mut value: Value = serde_json::from_str(sample).unwrap();
        for (index, replacement) in swaps {
            let mut all = Vec::new();
            pointers(&value, String::new(), &mut all);
            let pointer = index.get(&all);
            match value.pointer_mut(pointer) {
                Some(slot) => *slot = replacement,
                None => value = replacement,
            }
        }
        check_all(status, value.to_string().as_bytes());
    }

    #[test]
    fn address_fields_holding_anything_never_fail_a_describe(
        sample in prop::sample::select(ADDRESS_SAMPLES),
        field in any::<prop::sample::Index>(),
        replacement in json_tree(),
    ) {
        let (sample, fields) = sample;
        let mut value: Value = serde_json::from_str(sample).unwrap();
        let pointer = fields[field.index(fields.len())];
        *value.pointer_mut(pointer).unwrap() = replacement;
        let response = HttpResponse::new(200, value.to_string().as_bytes());
        let read = PROVIDERS.iter().filter_map(|p| p.parse_describe(&response).ok());
        prop_assert_eq!(read.filter(|states| states.len() == 1).count(), 1, "{}", value);
    }

    /// Issue 20 item 1: whatever an address field holds, what is read is IP literals, at most
    /// 16 of a kind — never a newline, a shell metacharacter or a name.
    #[test]
    fn address_fields_yield_only_ip_literals_and_a_few_of_them(
        sample in prop::sample::select(ADDRESS_SAMPLES),
        field in any::<prop::sample::Index>(),
        replacement in prop_oneof![
            json_tree(),
            prop::collection::vec(address_like(), 0..40).prop_map(Value::from),
            address_like().prop_map(Value::from),
        ],
    ) {
        let (sample, fields) = sample;
        let mut value: Value = serde_json::from_str(sample).unwrap();
        let pointer = fields[field.index(fields.len())];
        *value.pointer_mut(pointer).unwrap() = replacement;
        let response = HttpResponse::new(200, value.to_string().as_bytes());
        for states in PROVIDERS.iter().filter_map(|p| p.parse_describe(&response).ok()) {
            for state in states {
                for list in [&state.addresses.public, &state.addresses.private] {
                    prop_assert!(list.len() <= 16, "{}", value);
                    for ip in list {
                        prop_assert!(ip.parse::<std::net::IpAddr>().is_ok(), "{:?} from {}", ip, value);
                    }
                }
            }
        }
    }

    #[test]
    fn valid_answers_cut_short_never_panic(
        status in status(),
        sample in prop::sample::select(SAMPLES),
        cut in any::<prop::sample::Index>(),
    ) {
        let end = cut.index(sample.len());
        check_all(status, &sample.as_bytes()[..end]);
    }
}

#[test]
fn the_samples_are_read_by_their_clouds() {
    // The mutations start from answers the parsers accept, so they reach past the envelope.
    let accepted = SAMPLES
        .iter()
        .filter(|sample| {
            let response = HttpResponse::new(200, sample.as_bytes());
            PROVIDERS.iter().any(|p| {
                p.parse_describe(&response)
                    .is_ok_and(|states| !states.is_empty())
            })
        })
        .count();
    assert_eq!(accepted, 5, "every cloud's describe sample parses");
    for (sample, _) in ADDRESS_SAMPLES {
        let response = HttpResponse::new(200, sample.as_bytes());
        let with_addresses = PROVIDERS.iter().filter(|p| {
            p.parse_describe(&response)
                .is_ok_and(|states| states.len() == 1 && !states[0].addresses.is_empty())
        });
        assert_eq!(with_addresses.count(), 1, "{sample}");
    }
}
