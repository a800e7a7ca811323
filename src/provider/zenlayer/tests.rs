//! Unit tests of `zenlayer`.

use super::*;

fn start(status: u16, body: &str) -> Result<Accepted, ApiError> {
    ZenlayerZec.parse_action(Action::Start, &HttpResponse::new(status, body))
}

fn describe(body: &str) -> Result<Vec<InstanceState>, ApiError> {
    ZenlayerZec.parse_describe(&HttpResponse::new(200, body))
}

fn stop(status: u16, body: &str) -> Result<Accepted, ApiError> {
    ZenlayerZec.parse_action(Action::Stop, &HttpResponse::new(status, body))
}

#[test]
fn a_stop_sends_force_shutdown_false_unless_forced() {
    let ids = ["a".to_string(), "b".into()];
    let gentle = r#"{"instanceIds": ["a", "b"], "forceShutdown": false}"#;
    let forced = r#"{"instanceIds": ["a", "b"], "forceShutdown": true}"#;
    for (force, stop_charging, expected) in [
        (false, false, gentle),
        (true, false, forced),
        // ZEC's stop has no billing option: the flag is refused before any call, and the
        // call would not carry it anyway.
        (false, true, gentle),
    ] {
        let options = ActionOptions {
            force,
            stop_charging,
            ..ActionOptions::default()
        };
        let call = ZenlayerZec.action_call(Action::Stop, &ids, &Location::default(), &options);
        assert_eq!((call.action, call.path.as_str()), ("StopInstances", PATH));
        assert!(call
            .headers
            .contains(&("x-zc-action".to_string(), "StopInstances".to_string())));
        assert_eq!(String::from_utf8_lossy(&call.body), expected);
    }
    assert_eq!(
        (SPEC.stop.gentle, SPEC.stop.force, SPEC.stop.stop_charging),
        ("forceShutdown=false", Some("forceShutdown=true"), None)
    );
}

#[test]
fn machines_that_failed_to_shut_down_are_refused_one_by_one() {
    // The documented success body (stopinstances, 4. Code Example), its placeholders named.
    let body = r#"{"requestId":"TC1748D3E-452D-4F74-8485-7AA73718E453","response":{
        "requestId":"TC1748D3E-452D-4F74-8485-7AA73718E453","instanceIds":["a","b"]}}"#;
    let accepted = stop(200, body).unwrap();
    assert_eq!(
        accepted.request_id.as_deref(),
        Some("TC1748D3E-452D-4F74-8485-7AA73718E453")
    );
    let ids: Vec<&str> = accepted.refused.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    for (id, err) in &accepted.refused {
        assert_eq!(
            (err.code.as_str(), err.class),
            ("FAILED_TO_STOP", ErrorClass::OperationFailed)
        );
        assert!(
            err.message.contains(&format!(
                "{id} among the instances that failed to shut down"
            )),
            "{err}"
        );
    }
    for body in [
        r#"{"requestId":"T2","response":{"requestId":"T2","instanceIds":[]}}"#,
        r#"{"requestId":"T2","response":{"requestId":"T2"}}"#,
    ] {
        assert!(stop(200, body).unwrap().refused.is_empty(), "{body}");
    }
}

#[test]
fn a_stop_reads_not_running_as_a_state_to_describe() {
    use ErrorClass::*;
    for (status, code, for_stop, for_start) in [
        (
            403,
            "OPERATION_DENIED_INSTANCE_NOT_RUNNING",
            WrongState,
            Refused,
        ),
        (
            403,
            "Operation.Denied.Instance.Not.Running",
            WrongState,
            Refused,
        ),
        (
            403,
            "OPERATION_DENIED_INSTANCE_NOT_STOPPED",
            WrongState,
            WrongState,
        ),
        (403, "OPERATION_DENIED_INSTANCE_RECYCLED", Refused, Refused),
        (404, "INVALID_INSTANCE_NOT_FOUND", NotFound, NotFound),
        (429, "REQUEST_LIMIT_EXCEEDED", Throttled, Throttled),
        (401, "AUTHFAILURE_SIGNATURE_FAILURE", Auth, Auth),
    ] {
        let body = format!(r#"{{"requestId":"T5","code":"{code}","message":"no"}}"#);
        let err = stop(status, &body).unwrap_err();
        assert_eq!((err.class, err.http_status), (for_stop, status), "{code}");
        assert_eq!(err.request_id.as_deref(), Some("T5"));
        assert_eq!(start(status, &body).unwrap_err().class, for_start, "{code}");
    }
}

#[test]
fn error_codes_map_to_classes() {
    let table = "
        403 OPERATION_DENIED_INSTANCE_NOT_STOPPED WrongState
        404 INVALID_INSTANCE_NOT_FOUND NotFound
        404 Invalid.Instance.Not.Found NotFound
        403 OPERATION_DENIED_INSTANCE_RECYCLED Refused
        403 RESOURCES_SOLDOUT_INSTANCE_TYPE Capacity
        400 Resource.Soldout.Instance.type Capacity
        400 Resource.Insufficient.Product.Sold.out Capacity
        400 REQUEST_LIMIT_EXCEEDED Throttled
        429 TOO_MANY_REQUESTS Throttled
        401 INVALID_SIGNATURE Auth
        401 INVALID_ACCESS_KEY_ID Auth
        403 ACCESS_KEY_EXPIRED Auth
        403 UNAUTHORIZED_OPERATION Auth
        403 AUTHFAILURE_UNAUTHORIZED_OPERATION PermissionDenied
        401 SOMETHING_NEW Auth
        401 SIGNATURE_EXPIRED ClockSkew
        400 INVALID_TIMESTAMP ClockSkew
        500 INTERNAL_SERVER_ERROR Transient
        503 SERVICE_UNAVAILABLE Transient
        400 MISSING_PARAMETER Refused
        403 OPERATION_DENIED_INSUFFICIENT_BALANCE Refused
        404 INVALID_ACTION Refused";
    for row in table.trim().lines() {
        let [status, code, class] = row.split_whitespace().collect::<Vec<_>>()[..] else {
            panic!("{row}")
        };
        let got = classify(None, status.parse().unwrap(), code);
        assert_eq!(format!("{got:?}"), class, "{row}");
    }
}

#[test]
fn addresses_and_zone_come_from_one_describe_instances_call() {
    let ids = [
        "1286431927365582848".to_string(),
        "1286431927365582849".into(),
    ];
    let call = ZenlayerZec.detail_call(&ids, &Location::default()).unwrap();
    assert_eq!(call.action, "DescribeInstances");
    assert_eq!(call.path, PATH);
    let header = |name: &str| {
        call.headers
            .iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(header("x-zc-action"), "DescribeInstances");
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body["instanceIds"].as_array().unwrap().len(), 2);
    assert_eq!(
        (body["pageSize"].as_u64(), body["pageNum"].as_u64()),
        (Some(100), Some(1))
    );

    let answer = r#"{"requestId":"T1","response":{"requestId":"T1","totalCount":3,"dataSet":[
        {"instanceId":"a1","zoneId":"SEL-A","status":"RUNNING",
         "publicIpAddresses":["203.0.113.4"],"privateIpAddresses":["10.0.0.4"]},
        {"instanceId":"a2","status":"RUNNING","publicIpAddresses":null},
        {"instanceId":"a3","zoneId":7,"status":"RUNNING","publicIpAddresses":[7],
         "privateIpAddresses":{}}]}}"#;
    let found = ZenlayerZec
        .parse_details(&HttpResponse::new(200, answer))
        .unwrap();
    assert_eq!(found.len(), 3);
    assert_eq!(found[0].id, "a1");
    assert_eq!(found[0].zone.as_deref(), Some("SEL-A"));
    assert_eq!(found[0].addresses.public, ["203.0.113.4"]);
    assert_eq!(found[0].addresses.private, ["10.0.0.4"]);
    assert!(found[1].addresses.is_empty() && found[2].addresses.is_empty());
    assert!(found[1].zone.is_none() && found[2].zone.is_none());
    // Its errors are Zenlayer's like any other call's.
    let refused = r#"{"requestId":"T2","code":"INVALID_ACTION","message":"no"}"#;
    let err = ZenlayerZec
        .parse_details(&HttpResponse::new(404, refused))
        .unwrap_err();
    assert_eq!(err.code, "INVALID_ACTION");
}

#[test]
fn states_map_to_phases() {
    let table = "RUNNING Running, BOOTING Starting, DEPLOYING Transition, STOPPING Stopping,
        REBOOT Transition, STOPPED Stopped, CREATE_FAILED Failed, RELEASING Failed,
        RECYCLE Failed, RECYCLING Failed, REINSTALL_FAILED Failed, STARTING Unknown,
        RECYCLED Unknown, SOMETHING_NEW Unknown";
    for row in table.split(',') {
        let (raw, phase) = row.trim().split_once(' ').unwrap();
        let set = format!(r#"[{{"instanceId":"i-1","instanceStatus":"{raw}"}}]"#);
        let states = describe(&format!(r#"{{"response":{{"dataSet":{set}}}}}"#)).unwrap();
        let state = &states[0];
        assert_eq!((state.id.as_str(), state.raw.as_str()), ("i-1", raw));
        assert_eq!(format!("{:?}", state.phase), phase, "{raw}");
    }
}

#[test]
fn machines_that_failed_to_start_are_refused_one_by_one() {
    let body = r#"{"requestId":"T1","response":{"requestId":"T1","instanceIds":["a","b"]}}"#;
    let accepted = start(200, body).unwrap();
    assert_eq!(accepted.request_id.as_deref(), Some("T1"));
    let ids: Vec<&str> = accepted.refused.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    for (_, err) in &accepted.refused {
        assert_eq!(err.class, ErrorClass::OperationFailed);
        assert_eq!(err.request_id.as_deref(), Some("T1"));
    }
    for body in [
        r#"{"requestId":"T2","response":{"instanceIds":[]}}"#,
        r#"{"requestId":"T2","response":{}}"#,
    ] {
        assert!(start(200, body).unwrap().refused.is_empty(), "{body}");
    }
}

#[test]
fn error_envelope_keeps_code_message_and_request_id() {
    let body = r#"{"requestId":"T3","code":"INVALID_INSTANCE_NOT_FOUND","message":"gone"}"#;
    let err = start(404, body).unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        ("INVALID_INSTANCE_NOT_FOUND", "gone")
    );
    assert_eq!(err.request_id.as_deref(), Some("T3"));
    assert_eq!((err.http_status, err.class), (404, ErrorClass::NotFound));
    // An error code in a 200 answer is an error all the same.
    let err = describe(r#"{"requestId":"T4","code":"REQUEST_LIMIT_EXCEEDED"}"#).unwrap_err();
    assert_eq!(err.class, ErrorClass::Throttled);
}

#[test]
fn edge_network_blocks_and_bare_statuses_classify_by_status() {
    use ErrorClass::*;
    let mut challenge = HttpResponse::new(403, "<html>Just a moment...</html>");
    challenge.headers = vec![("cf-mitigated".into(), "challenge".into())];
    let err = ZenlayerZec
        .parse_action(Action::Start, &challenge)
        .unwrap_err();
    assert_eq!(
        (err.class, err.code.as_str()),
        (Refused, "SECURITY_CHALLENGE")
    );
    assert!(err.message.contains("blocked before reaching"), "{err}");
    let err = start(451, "<html/>").unwrap_err();
    assert_eq!((err.class, err.code.as_str()), (Refused, "REQUEST_BLOCKED"));
    for (status, class) in [
        (401, Auth),
        (429, Throttled),
        (502, Transient),
        (403, Refused),
    ] {
        for body in ["<html>no</html>", "{}"] {
            assert_eq!(
                start(status, body).unwrap_err().class,
                class,
                "{status} {body}"
            );
        }
    }
}

#[test]
fn unreadable_answers_are_errors_not_panics() {
    for body in [
        "",
        "<html>502 Bad Gateway</html>",
        r#"{"response":"#,
        r#"{"requestId":"r"}"#,
        r#"{"response":[]}"#,
        r#"{"response":{"totalCount":1}}"#,
        r#"{"response":{"dataSet":[{"instanceId":"a"}]}}"#,
        r#"{"response":{"dataSet":[{"instanceId":7,"instanceStatus":"RUNNING"}]}}"#,
    ] {
        let err = describe(body).unwrap_err();
        assert_eq!(err.class, ErrorClass::BadResponse, "{body}");
    }
    let empty = describe(r#"{"response":{"totalCount":0}}"#).unwrap();
    assert!(empty.is_empty());
    let err = start(200, r#"{"response":{"instanceIds":"a"}}"#).unwrap_err();
    assert_eq!(err.class, ErrorClass::BadResponse);
}

#[test]
fn ids_are_opaque_but_bounded() {
    for good in ["1286431927365582848", "zec-a_B9", &"x".repeat(64)] {
        assert!(ZenlayerZec.validate_id(good).is_ok(), "{good}");
    }
    for bad in ["", "a b", "a/b", "a.b", "ins-é", &"x".repeat(65)] {
        assert!(ZenlayerZec.validate_id(bad).is_err(), "{bad}");
    }
}

#[test]
fn signed_request_carries_the_zc_headers_and_hides_secrets() {
    let credentials = Credentials {
        key_id: "ZLkeyid".into(),
        secret: crate::credentials::Secret::new("sentinel-password"),
        token: None,
    };
    let (ids, location) = (["a".to_string(), "b".to_string()], Location::default());
    let describe = ZenlayerZec.describe_call(&ids, &location);
    let expected = r#"{"instanceIds": ["a", "b"], "pageSize": 100, "pageNum": 1}"#;
    assert_eq!(String::from_utf8_lossy(&describe.body), expected);
    let call = ZenlayerZec.action_call(Action::Start, &ids, &location, &ActionOptions::default());
    let expected = r#"{"instanceIds": ["a", "b"]}"#;
    assert_eq!(String::from_utf8_lossy(&call.body), expected);
    let now = DateTime::from_timestamp(1_741_996_770, 0).unwrap();
    let signed = ZenlayerZec.sign(&call, "127.0.0.1:8080", &location, &credentials, now);
    assert_eq!(signed.path_and_query, "/api/v2/zec");
    let find = |name: &str| signed.headers.iter().find(|h| h.name == name).unwrap();
    let plain = [
        ("x-zc-action", "StartInstances"),
        ("x-zc-version", VERSION),
        ("x-zc-service", "zec"),
        ("x-zc-signature-method", ALGORITHM),
        ("x-zc-timestamp", "1741996770"),
        ("Host", "127.0.0.1:8080"),
    ];
    for (name, value) in plain {
        let header = find(name);
        assert_eq!((header.value.as_str(), header.sensitive), (value, false));
    }
    assert!(find("Authorization").sensitive);
    let printed = format!("{signed:?}");
    assert!(
        !printed.contains("sentinel") && !printed.contains("Signature="),
        "{printed}"
    );
}
