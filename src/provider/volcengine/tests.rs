//! Unit tests of `volcengine`.

use super::*;
use crate::credentials::Secret;

fn error_body(code: &str) -> String {
    format!(
        r#"{{"ResponseMetadata":{{"RequestId":"req-1","Action":"StartInstances","Service":"ecs",
        "Error":{{"CodeN":100010,"Code":"{code}","Message":"no"}}}}}}"#
    )
}

#[test]
fn error_codes_map_to_classes() {
    use ErrorClass::*;
    let table = [
        ("InvalidInstanceStatus", 400, WrongState),
        ("InvalidInstance.NotFound", 404, NotFound),
        ("InvalidAccessKey", 401, Auth),
        ("SignatureDoesNotMatch", 401, Auth),
        ("MissingSignature", 401, Auth),
        ("MissingAuthenticationToken", 401, Auth),
        ("AccessDenied", 403, PermissionDenied),
        ("LackPolicy", 403, PermissionDenied),
        // volcengine.com/docs/6408/78947, common error codes.
        ("LackProjectPolicy", 403, PermissionDenied),
        ("InvalidSecretToken", 401, TokenExpired),
        ("InvalidClientTokenId", 401, Auth),
        ("SomethingNew", 401, Auth),
        ("Insufficient.InstanceCapacity", 500, Capacity),
        ("InvalidInstance.RequestForbidden", 403, Auth),
        ("InvalidTimestamp", 400, ClockSkew),
        ("FlowLimitExceeded", 429, Throttled),
        ("AccountFlowLimitExceeded", 429, Throttled),
        ("SomethingNew", 429, Throttled),
        ("InternalError", 500, Transient),
        ("ServiceUnavailableTemp", 503, Transient),
        ("SomethingNew", 502, Transient),
        ("Insufficient.Balance", 400, Refused),
        ("IdempotentParameterMismatch", 400, Refused),
        ("InvalidClientToken.Malformed", 400, Refused),
        ("InvalidArgument", 400, Refused),
        ("MissingParameter", 400, Refused),
        ("MissingParameter.InstanceId", 400, Refused),
        ("InvalidActionOrVersion", 404, Refused),
    ];
    for (code, status, class) in table {
        let err = VolcengineEcs
            .parse_action(Action::Start, &HttpResponse::new(status, error_body(code)))
            .unwrap_err();
        assert_eq!((err.class, err.code.as_str()), (class, code), "{status}");
        assert_eq!(
            (err.request_id.as_deref(), err.http_status),
            (Some("req-1"), status)
        );
    }
    // The SDK treats a 200 carrying an error as an error too.
    let err = VolcengineEcs
        .parse_describe(&HttpResponse::new(200, error_body("InvalidTimestamp")))
        .unwrap_err();
    assert_eq!((err.class, err.message.as_str()), (ClockSkew, "no"));
}

#[test]
fn states_map_to_phases() {
    use Phase::*;
    let table = [
        ("RUNNING", Running),
        ("STARTING", Starting),
        ("REBOOTING", Transition),
        ("CREATING", Transition),
        ("REBUILDING", Transition),
        ("RESIZING", Transition),
        ("STOPPING", Stopping),
        ("STOPPED", Stopped),
        ("ERROR", Failed),
        ("DELETING", Failed),
        ("SOMETHING_NEW", Unknown),
    ];
    for (raw, phase) in table {
        let body = format!(
            r#"{{"ResponseMetadata":{{"RequestId":"r"}},"Result":{{"Instances":[{{
            "InstanceId":"i-3tiefmkskq3vj0x0ab12","Status":"{raw}"}}],"TotalCount":1}}}}"#
        );
        let states = VolcengineEcs
            .parse_describe(&HttpResponse::new(200, &body))
            .unwrap();
        assert_eq!((states[0].phase, states[0].raw.as_str()), (phase, raw));
    }
}

#[test]
fn the_zone_is_read_from_zone_id() {
    let body = r#"{"ResponseMetadata":{"RequestId":"r"},"Result":{"Instances":[
        {"InstanceId":"i-aaaaaaaaaaaaaaaaaaa1","Status":"RUNNING","ZoneId":"cn-beijing-a"},
        {"InstanceId":"i-aaaaaaaaaaaaaaaaaaa2","Status":"RUNNING","ZoneId":""},
        {"InstanceId":"i-aaaaaaaaaaaaaaaaaaa3","Status":"RUNNING"}],"TotalCount":3}}"#;
    let states = VolcengineEcs
        .parse_describe(&HttpResponse::new(200, body))
        .unwrap();
    assert_eq!(states[0].zone.as_deref(), Some("cn-beijing-a"));
    assert!(states[1].zone.is_none() && states[2].zone.is_none());
}

#[test]
fn addresses_come_from_the_eip_and_the_network_interfaces() {
    let body = r#"{"ResponseMetadata":{"RequestId":"r"},"Result":{"Instances":[
        {"InstanceId":"i-aaaaaaaaaaaaaaaaaaa1","Status":"RUNNING",
         "EipAddress":{"AllocationId":"eip-1","IpAddress":"203.0.113.9"},
         "NetworkInterfaces":[{"PrimaryIpAddress":"10.0.0.9","Type":"primary"},
                              {"PrimaryIpAddress":"10.0.1.9","Type":"secondary"}]},
        {"InstanceId":"i-aaaaaaaaaaaaaaaaaaa2","Status":"STOPPED",
         "EipAddress":{"AllocationId":"","IpAddress":""},
         "NetworkInterfaces":[{"PrimaryIpAddress":"10.0.0.10"}]},
        {"InstanceId":"i-aaaaaaaaaaaaaaaaaaa3","Status":"RUNNING"},
        {"InstanceId":"i-aaaaaaaaaaaaaaaaaaa4","Status":"RUNNING",
         "EipAddress":null,"NetworkInterfaces":[null,{"PrimaryIpAddress":5}]}],
        "TotalCount":4}}"#;
    let states = VolcengineEcs
        .parse_describe(&HttpResponse::new(200, body))
        .unwrap();
    assert_eq!(states[0].addresses.public, ["203.0.113.9"]);
    assert_eq!(states[0].addresses.private, ["10.0.0.9", "10.0.1.9"]);
    // An empty IpAddress is no EIP.
    assert!(states[1].addresses.public.is_empty());
    assert_eq!(states[1].addresses.private, ["10.0.0.10"]);
    assert!(states[2].addresses.is_empty());
    assert!(states[3].addresses.is_empty());
}

#[test]
fn per_instance_errors_in_an_accepted_batch_are_refusals() {
    let body = r#"{"ResponseMetadata":{"RequestId":"req-3"},"Result":{"OperationDetails":[
        {"InstanceId":"i-aaaaaaaaaaaaaaaaaaa1"},
        {"InstanceId":"i-aaaaaaaaaaaaaaaaaaa2","Error":{"Code":"InvalidInstanceStatus"}},
        {"InstanceId":"i-aaaaaaaaaaaaaaaaaaa3","Error":{"Code":"InvalidInstance.NotFound"}}]}}"#;
    let accepted = VolcengineEcs
        .parse_action(Action::Start, &HttpResponse::new(200, body))
        .unwrap();
    assert_eq!(accepted.request_id.as_deref(), Some("req-3"));
    let refused: Vec<String> = accepted
        .refused
        .iter()
        .map(|(id, e)| format!("{id} {} {:?} {:?}", e.code, e.class, e.request_id))
        .collect();
    assert_eq!(
        refused,
        [
            r#"i-aaaaaaaaaaaaaaaaaaa2 InvalidInstanceStatus WrongState Some("req-3")"#,
            r#"i-aaaaaaaaaaaaaaaaaaa3 InvalidInstance.NotFound NotFound Some("req-3")"#,
        ]
    );
}

#[test]
fn unreadable_answers_are_errors_not_panics() {
    for body in [
        "",
        "<html>502 Bad Gateway</html>",
        r#"{"ResponseMetadata":"#,
        r#"{"Result":{"Instances":[]}}"#,
        r#"{"ResponseMetadata":{"RequestId":"r"}}"#,
        r#"{"ResponseMetadata":{"RequestId":"r"},"Result":{}}"#,
        r#"{"ResponseMetadata":{},"Result":{"Instances":[{"InstanceId":"i-1"}]}}"#,
    ] {
        let err = VolcengineEcs.parse_describe(&HttpResponse::new(200, body));
        assert_eq!(err.unwrap_err().class, ErrorClass::BadResponse, "{body}");
    }
    let class = |status| {
        let body = "<html>oops</html>";
        VolcengineEcs
            .parse_action(Action::Start, &HttpResponse::new(status, body))
            .unwrap_err()
            .class
    };
    assert_eq!(class(200), ErrorClass::BadResponse);
    assert_eq!(class(502), ErrorClass::Transient);
    assert_eq!(class(429), ErrorClass::Throttled);
    assert_eq!(class(403), ErrorClass::Refused);
}

#[test]
fn ids_are_validated_by_shape() {
    // The documented length is 20, but the docs' own examples have 18 and 19: any length
    // up to 32 passes, so a real id is never refused before the cloud sees it.
    for good in [
        "i-3tiefmkskq3vj0x0ab12",
        "i-3tiefmkskq3vj0abcd1",
        "i-3tiefmkskq3vj0abcd",
    ] {
        assert!(VolcengineEcs.validate_id(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "i-",
        "i-3tiefmkskq3vj0x0ab12i3tiefmkskq3vj0",
        "i-3TIEFMKSKQ3VJ0X0AB12",
        "ins-3tiefmkskq3vj0x0ab1",
        "i-3tiefmkskq3vj0x0a 12",
    ] {
        assert!(VolcengineEcs.validate_id(bad).is_err(), "{bad}");
    }
}

#[test]
fn calls_put_everything_in_the_query_with_one_based_lists() {
    let ids = [
        "i-aaaaaaaaaaaaaaaaaaa1".into(),
        "i-aaaaaaaaaaaaaaaaaaa2".into(),
    ];
    let options = ActionOptions {
        client_token: "token-1".into(),
        ..ActionOptions::default()
    };
    let query = |call: ApiCall| encode_query(&call.query);
    assert_eq!(
        query(VolcengineEcs.action_call(Action::Start, &ids, &Location::default(), &options)),
        "Action=StartInstances&Version=2020-04-01&InstanceIds.1=i-aaaaaaaaaaaaaaaaaaa1\
         &InstanceIds.2=i-aaaaaaaaaaaaaaaaaaa2&ClientToken=token-1"
    );
    assert!(
        query(VolcengineEcs.describe_call(&ids, &Location::default()))
            .starts_with("Action=DescribeInstances&Version=2020-04-01&InstanceIds.1=")
    );
    let describe = VolcengineEcs.describe_call(&ids, &Location::default());
    assert!(describe
        .query
        .ends_with(&[("MaxResults".into(), "2".into())]));
    assert_eq!((describe.method, describe.body.len()), (Method::Get, 0));
}

#[test]
fn stop_calls_always_say_gentle_or_forced_and_carry_the_billing_mode_when_asked() {
    let ids = ["i-aaaaaaaaaaaaaaaaaaa1".into()];
    let query = |force, stop_charging| {
        let options = ActionOptions {
            client_token: "token-2".into(),
            force,
            stop_charging,
            ..ActionOptions::default()
        };
        let call = VolcengineEcs.action_call(Action::Stop, &ids, &Location::default(), &options);
        assert_eq!((call.action, call.method), ("StopInstances", Method::Get));
        encode_query(&call.query)
    };
    let head = "Action=StopInstances&Version=2020-04-01&InstanceIds.1=i-aaaaaaaaaaaaaaaaaaa1";
    // ForceStop=false is sent, not left to the default: the gentle stop is asked for.
    assert_eq!(
        query(false, false),
        format!("{head}&ForceStop=false&ClientToken=token-2")
    );
    assert_eq!(
        query(true, true),
        format!("{head}&ForceStop=true&StoppedMode=StopCharging&ClientToken=token-2")
    );
    let stop = &SPEC.stop;
    assert_eq!(
        (stop.gentle, stop.force, stop.stop_charging),
        (
            "ForceStop=false",
            Some("ForceStop=true"),
            Some("StoppedMode=StopCharging")
        )
    );
}

#[test]
fn stop_answers_are_read_per_instance_like_start_answers() {
    // StopInstances' documented OperationDetails (volcengine.com/docs/6396/101067): an entry
    // without Error was accepted; InvalidInstanceStatus is any state but RUNNING.
    let body = r#"{"ResponseMetadata":{"RequestId":"2021062415303301022514515207C4****",
        "Action":"StopInstances","Version":"2020-04-01","Service":"ecs","Region":"cn-beijing"},
        "Result":{"OperationDetails":[
        {"InstanceId":"i-aaaaaaaaaaaaaaaaaaa1"},
        {"InstanceId":"i-aaaaaaaaaaaaaaaaaaa2","Error":{"Code":"InvalidInstanceStatus",
         "Message":"The status of the specified instance does not support this request."}},
        {"InstanceId":"i-aaaaaaaaaaaaaaaaaaa3","Error":{"Code":"InvalidInstance.NotFound",
         "Message":"The specified instance does not exist."}}]}}"#;
    let accepted = VolcengineEcs
        .parse_action(Action::Stop, &HttpResponse::new(200, body))
        .unwrap();
    let refused: Vec<(&str, ErrorClass)> = (accepted.refused.iter())
        .map(|(id, e)| (id.as_str(), e.class))
        .collect();
    assert_eq!(
        refused,
        [
            ("i-aaaaaaaaaaaaaaaaaaa2", ErrorClass::WrongState),
            ("i-aaaaaaaaaaaaaaaaaaa3", ErrorClass::NotFound),
        ]
    );
    // A lock refuses the whole call with 412, and is waited out.
    for (code, status, class) in [
        ("OperationDenied.ResourceLocked", 412, ErrorClass::Busy),
        ("IdempotentProcessing", 412, ErrorClass::Busy),
        ("InvalidStoppedMode.Malformed", 400, ErrorClass::Refused),
        ("FlowLimitExceeded", 429, ErrorClass::Throttled),
    ] {
        let err = VolcengineEcs
            .parse_action(Action::Stop, &HttpResponse::new(status, error_body(code)))
            .unwrap_err();
        assert_eq!(err.class, class, "{code}");
    }
}

#[test]
fn an_error_object_with_an_empty_code_is_no_error_wherever_it_appears() {
    // ResponseMetadata.Error, as the SDK's processBodyError reads it.
    let accepted = r#"{"ResponseMetadata":{"RequestId":"req-1","Action":"StartInstances",
        "Error":{"Code":"","Message":""}},"Result":{"OperationDetails":[
        {"InstanceId":"i-a","Error":{"Code":"","Message":""}},
        {"InstanceId":"i-b","Error":{"Code":"OperationDenied.ResourceLocked","Message":"x"}}]}}"#;
    let reply = VolcengineEcs
        .parse_action(Action::Start, &HttpResponse::new(200, accepted))
        .unwrap();
    assert_eq!(reply.request_id.as_deref(), Some("req-1"));
    // Per entry too: only the entry with a code is refused.
    assert_eq!(reply.refused.len(), 1);
    assert_eq!(reply.refused[0].0, "i-b");
    assert_eq!(reply.refused[0].1.class, ErrorClass::Busy);
    let listed = r#"{"ResponseMetadata":{"RequestId":"req-2","Error":{"Code":" "}},
        "Result":{"Instances":[{"InstanceId":"i-a","Status":"RUNNING"}]}}"#;
    let states = VolcengineEcs
        .parse_describe(&HttpResponse::new(200, listed))
        .unwrap();
    assert_eq!(states[0].phase, Phase::Running);
    // Without a code, a failing status still speaks for itself.
    let failed = r#"{"ResponseMetadata":{"RequestId":"req-3","Error":{"Code":""}}}"#;
    let err = VolcengineEcs
        .parse_action(Action::Start, &HttpResponse::new(503, failed))
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Transient);
}

#[test]
fn bootstrap_regions_use_a_regional_host() {
    let endpoint = |region: &str| {
        let region = Some(region.to_string());
        VolcengineEcs.default_endpoint(&Location { region, zone: None })
    };
    assert_eq!(endpoint("cn-beijing"), "https://open.volcengineapi.com");
    assert_eq!(
        endpoint("ap-southeast-3"),
        "https://ecs.ap-southeast-3.volcengineapi.com"
    );
}

#[test]
fn signed_request_carries_token_and_hides_secrets() {
    let credentials = Credentials {
        key_id: "AKLTexample".into(),
        secret: Secret::new("secret-key"),
        token: Some(Secret::new("session-token")),
    };
    let location = Location {
        region: Some("cn-beijing".into()),
        zone: None,
    };
    let ids = ["i-3tiefmkskq3vj0x0ab12".into()];
    let call = VolcengineEcs.action_call(Action::Start, &ids, &location, &ActionOptions::default());
    let now = DateTime::from_timestamp(1_741_996_770, 0).unwrap();
    let signed = VolcengineEcs.sign(&call, "127.0.0.1:8080", &location, &credentials, now);
    let names: Vec<&str> = signed.headers.iter().map(|h| h.name.as_str()).collect();
    let sensitive = ["X-Security-Token", "Authorization"];
    assert_eq!(names[..3], ["Host", "X-Date", "X-Content-Sha256"]);
    assert_eq!(names[3..], sensitive);
    assert!(signed
        .headers
        .iter()
        .all(|h| h.sensitive == sensitive.contains(&&*h.name)));
    assert_eq!(signed.headers[0].value, "127.0.0.1:8080");
    assert_eq!(signed.headers[1].value, "20250314T235930Z");
    assert!(signed.headers[4].value.contains(
        "/20250314/cn-beijing/ecs/request, \
         SignedHeaders=host;x-content-sha256;x-date;x-security-token, Signature="
    ));
    assert_eq!(
        signed.path_and_query,
        "/?Action=StartInstances&Version=2020-04-01&InstanceIds.1=i-3tiefmkskq3vj0x0ab12"
    );
    let printed = format!("{signed:?}");
    assert!(!printed.contains("session-token") && !printed.contains("Signature="));
}
