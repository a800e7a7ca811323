//! Unit tests of `compshare`.

use super::*;

fn response(body: &str) -> HttpResponse {
    HttpResponse {
        headers: vec![("x-ucloud-request-uuid".into(), "req-1".into())],
        ..HttpResponse::new(200, body)
    }
}

fn location() -> Location {
    Location {
        region: Some("cn-wlcb".into()),
        zone: Some("cn-wlcb-01".into()),
    }
}

fn param<'a>(call: &'a ApiCall, key: &str) -> Option<&'a str> {
    let found = call.query.iter().find(|(k, _)| k == key);
    found.map(|(_, v)| v.as_str())
}

#[test]
fn error_codes_map_to_classes() {
    use ErrorClass::{
        Auth, Busy, PermissionDenied, Refused, Throttled, Transient, Unanswered, WrongState,
    };
    const S: &str = START_ACTION;
    const P: &str = STOP_ACTION;
    const D: &str = DESCRIBE_ACTION;
    let lock = "InstanceOperationInProgress: locked";
    let table = [
        (S, 171, "Signature VerifyAC Error", Auth),
        (S, 172, "User Not Exists", Auth),
        (S, 292, "IAM permission check failed", PermissionDenied),
        (S, 299, "IAM permission check failed", PermissionDenied),
        (D, 171, "Signature VerifyAC Error", Auth),
        (S, 153, "API request throttled", Throttled),
        (D, 153, "API request throttled", Throttled),
        (S, 150, "Service unavailable", Transient),
        (S, 130, "Gateway error", Transient),
        (S, 110, "API timeout", Unanswered),
        (S, 8200, lock, Busy),
        (S, 8106, "UHost state not support", WrongState),
        (S, 8010, "UHost not found", WrongState),
        (S, 160, "Missing params", Refused),
        (P, 171, "Signature VerifyAC Error", Auth),
        (P, 153, "API request throttled", Throttled),
        (P, 110, "API timeout", Unanswered),
        (P, 226699, "InstanceOperationInProgress", Busy),
        (P, 8905, "主机电源状态错误，请稍后再试。", WrongState),
        (P, 8433, "服务异常，请联系技术支持", WrongState),
        (P, 230, "Params [Force] not available", Refused),
        (D, 230, "Params [Limit] not available", Refused),
        (D, 160, "Missing params", Refused),
    ];
    for (action, code, message, class) in table {
        assert_eq!(classify(action, code, message), class, "{action} {code}");
    }
}

#[test]
fn ip_set_entries_are_private_by_type_and_public_otherwise() {
    let body = r#"{"RetCode":0,"TotalCount":3,"UHostSet":[
        {"UHostId":"uhost-a1","State":"Running","IPSet":[
            {"IPMode":"IPv4","Type":"Private","IP":"10.9.0.1","Default":"true"},
            {"IPMode":"IPv4","Type":"Bgp","IP":"203.0.113.1","IPId":"eip-1"},
            {"IPMode":"IPv4","Type":"Internation","IP":"203.0.113.2"}]},
        {"UHostId":"uhost-a2","State":"Running","IPSet":null},
        {"UHostId":"uhost-a3","State":"Running","IPSet":[{"Type":"Private"},{"IP":"203.0.113.3"}]},
        {"UHostId":"uhost-a4","State":"Stopped"}]}"#;
    let states = UcloudCompshare.parse_describe(&response(body)).unwrap();
    assert_eq!(states[0].addresses.private, ["10.9.0.1"]);
    assert_eq!(states[0].addresses.public, ["203.0.113.1", "203.0.113.2"]);
    assert!(states[1].addresses.is_empty());
    assert!(states[2].addresses.private.is_empty());
    assert_eq!(states[2].addresses.public, ["203.0.113.3"]);
    assert!(states[3].addresses.is_empty());
}

#[test]
fn the_zone_is_read_from_the_host_s_zone() {
    let body = r#"{"RetCode":0,"TotalCount":2,"UHostSet":[
        {"UHostId":"uhost-a1","State":"Running","Zone":"cn-wlcb-01"},
        {"UHostId":"uhost-a2","State":"Running","Zone":null}]}"#;
    let states = UcloudCompshare.parse_describe(&response(body)).unwrap();
    assert_eq!(states[0].zone.as_deref(), Some("cn-wlcb-01"));
    assert!(states[1].zone.is_none());
}

#[test]
fn ret_code_decides_success_and_the_header_carries_the_request_id() {
    let ok = r#"{"Action":"StartCompShareInstanceResponse","RetCode":0,"UHostId":"uhost-a1"}"#;
    let accepted = UcloudCompshare
        .parse_action(Action::Start, &response(ok))
        .unwrap();
    assert_eq!(accepted.request_id.as_deref(), Some("req-1"));
    assert!(accepted.refused.is_empty());
    let refused = r#"{"RetCode":171,"Message":"Signature VerifyAC Error"}"#;
    let err = UcloudCompshare
        .parse_action(Action::Start, &response(refused))
        .unwrap_err();
    assert_eq!((err.code.as_str(), err.class), ("171", ErrorClass::Auth));
    assert_eq!(err.message, "Signature VerifyAC Error");
    assert_eq!(err.request_id.as_deref(), Some("req-1"));
}

#[test]
fn states_map_to_phases() {
    let table = [
        ("Running", Phase::Running),
        ("Starting", Phase::Starting),
        ("Stopping", Phase::Stopping),
        ("Rebooting", Phase::Transition),
        ("Initializing", Phase::Transition),
        ("Resizing", Phase::Transition),
        ("", Phase::Transition),
        ("Stopped", Phase::Stopped),
        ("Install Fail", Phase::Failed),
        ("Installing", Phase::Unknown),
        ("RUNNING", Phase::Unknown),
    ];
    for (raw, expected) in table {
        let body =
            format!(r#"{{"RetCode":0,"UHostSet":[{{"UHostId":"uhost-a1","State":"{raw}"}}]}}"#);
        let states = UcloudCompshare.parse_describe(&response(&body)).unwrap();
        assert_eq!(
            (states[0].id.as_str(), states[0].raw.as_str()),
            ("uhost-a1", raw)
        );
        assert_eq!(states[0].phase, expected, "{raw}");
    }
}

#[test]
fn unreadable_answers_are_errors_not_panics() {
    for body in [
        "",
        "<html>bad gateway</html>",
        r#"{"RetCode":"#,
        r#"{"Action":"DescribeCompShareInstanceResponse"}"#,
        r#"{"RetCode":0,"TotalCount":0}"#,
        r#"{"RetCode":0,"UHostSet":[{"UHostId":"uhost-a1"}]}"#,
        r#"{"RetCode":0,"UHostSet":{}}"#,
    ] {
        let err = UcloudCompshare.parse_describe(&response(body)).unwrap_err();
        assert_eq!(err.class, ErrorClass::BadResponse, "{body}");
        assert_eq!(err.request_id.as_deref(), Some("req-1"), "{body}");
    }
}

#[test]
fn http_errors_follow_the_status() {
    let mut reply = response("<html>bad gateway</html>");
    for (status, class) in [
        (429, ErrorClass::Throttled),
        (502, ErrorClass::Transient),
        (403, ErrorClass::Refused),
    ] {
        reply.status = status;
        let err = UcloudCompshare
            .parse_action(Action::Start, &reply)
            .unwrap_err();
        assert_eq!(err.class, class, "{status}");
    }
    // A refusal envelope on a 5xx is still worth a retry.
    reply.status = 503;
    reply.body = br#"{"RetCode":8106,"Message":"busy"}"#.to_vec();
    let err = UcloudCompshare
        .parse_action(Action::Start, &reply)
        .unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.class),
        ("8106", ErrorClass::Transient)
    );
}

#[test]
fn ids_are_validated_by_shape() {
    for good in ["uhost-1a2b3c4d", "uhost-x", "uhost-0123456789abcdef"] {
        assert!(UcloudCompshare.validate_id(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "uhost-",
        "uhost-ABC",
        "uhost-a_b",
        "uhost-a b",
        "uhost1a2b",
        "ins-r8hr2upy",
    ] {
        assert!(UcloudCompshare.validate_id(bad).is_err(), "{bad}");
    }
}

#[test]
fn start_sends_one_id_and_without_gpu_only_when_asked() {
    let ids = ["uhost-a1".to_string()];
    let plain =
        UcloudCompshare.action_call(Action::Start, &ids, &location(), &ActionOptions::default());
    let keys: Vec<&str> = plain.query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        (plain.action, keys),
        (START_ACTION, vec!["Region", "Zone", "UHostId"])
    );
    assert_eq!(param(&plain, "UHostId"), Some("uhost-a1"));
    let options = ActionOptions {
        without_gpu: true,
        ..ActionOptions::default()
    };
    let gpu_less = UcloudCompshare.action_call(Action::Start, &ids, &location(), &options);
    assert_eq!(param(&gpu_less, "WithoutGpu"), Some("true"));
    assert!(SPEC.without_gpu);
}

#[test]
fn describe_flattens_ids_zero_based_and_asks_for_all_of_them() {
    let ids: Vec<String> = (0..30).map(|n| format!("uhost-{n}")).collect();
    let call = UcloudCompshare.describe_call(&ids, &location());
    assert_eq!(param(&call, "Limit"), Some("30"));
    assert_eq!(param(&call, "UHostIds.0"), Some("uhost-0"));
    assert_eq!(param(&call, "UHostIds.29"), Some("uhost-29"));
    assert_eq!(param(&call, "Zone"), Some("cn-wlcb-01"));
}

#[test]
fn signed_request_is_a_form_body_and_hides_the_private_key() {
    let credentials = Credentials {
        key_id: "pub@example.com".into(),
        secret: Secret::new("sentinel-private-key"),
        token: None,
    };
    let call = UcloudCompshare.action_call(
        Action::Start,
        &["uhost-a1".into()],
        &location(),
        &ActionOptions::default(),
    );
    let now = DateTime::from_timestamp(1_741_996_770, 0).unwrap();
    let signed = UcloudCompshare.sign(&call, "127.0.0.1:8080", &location(), &credentials, now);
    let body = String::from_utf8(signed.body.clone()).unwrap();
    let fields = "Action=StartCompShareInstance&Region=cn-wlcb&Zone=cn-wlcb-01&UHostId=uhost-a1";
    let (sent, signature) = body.split_once("&Signature=").unwrap();
    assert_eq!(sent, format!("{fields}&PublicKey=pub%40example.com"));
    let string_to_sign = "ActionStartCompShareInstancePublicKeypub@example.comRegioncn-wlcb\
                          UHostIduhost-a1Zonecn-wlcb-01sentinel-private-key";
    assert_eq!(signature, hex_sha1(string_to_sign.as_bytes()));
    assert_eq!(signed.path_and_query, "/");
    let find = |name: &str| signed.headers.iter().find(|h| h.name == name).unwrap();
    assert_eq!(find("Host").value, "127.0.0.1:8080");
    assert_eq!(find("Content-Type").value, CONTENT_TYPE);
    assert_eq!(find("U-Timestamp-Ms").value, "1741996770000");
    let stages = verify_ac_sign(&[("K".into(), "v".into())], "sentinel-private-key");
    let printed = format!("{signed:?} {stages:?}");
    assert!(
        !printed.contains("sentinel") && !body.contains("sentinel"),
        "{printed}"
    );
}

#[test]
fn the_signature_sorts_byte_wise_and_skips_a_signature_parameter() {
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let a = verify_ac_sign(&pairs(&[("b", "2"), ("a", "1"), ("Z", "0")]), "k");
    let b = verify_ac_sign(
        &pairs(&[("Signature", "x"), ("Z", "0"), ("a", "1"), ("b", "2")]),
        "k",
    );
    assert_eq!(a, b);
    assert_eq!(
        (a.sorted_params.as_str(), a.string_to_sign.expose()),
        ("Z0a1b2", "Z0a1b2k")
    );
}

#[test]
fn stop_sends_one_id_and_force_only_when_asked() {
    let ids = ["uhost-a1".to_string()];
    let gentle =
        UcloudCompshare.action_call(Action::Stop, &ids, &location(), &ActionOptions::default());
    let keys: Vec<&str> = gentle.query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        (gentle.action, keys),
        (STOP_ACTION, vec!["Region", "Zone", "UHostId"])
    );
    assert_eq!(param(&gentle, "UHostId"), Some("uhost-a1"));
    // `Force=true` with --force, nothing else; --without-gpu is the start's alone.
    let options = ActionOptions {
        force: true,
        without_gpu: true,
        ..ActionOptions::default()
    };
    let forced = UcloudCompshare.action_call(Action::Stop, &ids, &location(), &options);
    let keys: Vec<&str> = forced.query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["Region", "Zone", "UHostId", "Force"]);
    assert_eq!(param(&forced, "Force"), Some("true"));
    let start = UcloudCompshare.action_call(Action::Start, &ids, &location(), &options);
    assert_eq!(param(&start, "Force"), None);
    assert_eq!(SPEC.stop.force, Some("Force=true"));
    assert_eq!(SPEC.stop.stop_charging, None);
}

#[test]
fn a_signed_forced_stop_carries_force_in_its_signed_form_body() {
    let credentials = Credentials {
        key_id: "pub@example.com".into(),
        secret: Secret::new("private"),
        token: None,
    };
    let options = ActionOptions {
        force: true,
        ..ActionOptions::default()
    };
    let call =
        UcloudCompshare.action_call(Action::Stop, &["uhost-a1".into()], &location(), &options);
    let now = DateTime::from_timestamp(1_741_996_770, 0).unwrap();
    let signed = UcloudCompshare.sign(&call, "api.compshare.cn", &location(), &credentials, now);
    let body = String::from_utf8(signed.body).unwrap();
    let (sent, signature) = body.split_once("&Signature=").unwrap();
    assert_eq!(
        sent,
        "Action=StopCompShareInstance&Region=cn-wlcb&Zone=cn-wlcb-01&UHostId=uhost-a1\
         &Force=true&PublicKey=pub%40example.com"
    );
    let string_to_sign = "ActionStopCompShareInstanceForcetruePublicKeypub@example.com\
                          Regioncn-wlcbUHostIduhost-a1Zonecn-wlcb-01private";
    assert_eq!(signature, hex_sha1(string_to_sign.as_bytes()));
}

#[test]
fn a_stop_s_answer_is_read_like_the_start_s() {
    // stop_comp_share_instance.md's 响应示例, with a `uhost-` id.
    let ok = r#"{"Action":"StopCompShareInstanceResponse","RetCode":0,"UHostId":"uhost-a1"}"#;
    let accepted = UcloudCompshare
        .parse_action(Action::Stop, &response(ok))
        .unwrap();
    assert_eq!(accepted.request_id.as_deref(), Some("req-1"));
    assert_eq!(accepted.job_id, None);
    // One machine a call: a refusal is the whole answer, never a per-machine list.
    assert!(accepted.refused.is_empty());
    let refused = r#"{"Action":"StopCompShareInstanceResponse","RetCode":8905,"Message":"主机电源状态错误，请稍后再试。"}"#;
    let err = UcloudCompshare
        .parse_action(Action::Stop, &response(refused))
        .unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.class),
        ("8905", ErrorClass::WrongState)
    );
    assert_eq!(err.request_id.as_deref(), Some("req-1"));
    let locked = r#"{"Action":"StopCompShareInstanceResponse","RetCode":226699,"Message":"InstanceOperationInProgress"}"#;
    let err = UcloudCompshare
        .parse_action(Action::Stop, &response(locked))
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Busy);
}

#[test]
fn ret_code_is_read_as_a_number_or_as_a_string_on_every_call() {
    let accepted = r#"{"Action":"StartCompShareInstanceResponse","RetCode":"0"}"#;
    assert!(UcloudCompshare
        .parse_action(Action::Start, &response(accepted))
        .is_ok());
    let capacity = r#"{"Action":"StartCompShareInstanceResponse","RetCode":"226604","Message":"当前资源不足，请稍后再试"}"#;
    let err = UcloudCompshare
        .parse_action(Action::Start, &response(capacity))
        .unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.class),
        ("226604", ErrorClass::Capacity)
    );
    let listed = r#"{"Action":"DescribeCompShareInstanceResponse","RetCode":"0","TotalCount":1,
        "UHostSet":[{"UHostId":"uhost-1","State":"Running","Zone":"cn-wlcb-01"}]}"#;
    let states = UcloudCompshare.parse_describe(&response(listed)).unwrap();
    assert_eq!(states[0].phase, Phase::Running);
    let throttled = r#"{"Action":"DescribeCompShareInstanceResponse","RetCode":"153"}"#;
    let err = UcloudCompshare
        .parse_describe(&response(throttled))
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Throttled);
    // Anything but a number's text is an answer cloudstart cannot read.
    for odd in [r#""zero""#, "null", "[]", "1.5"] {
        let body = format!(r#"{{"Action":"StartCompShareInstanceResponse","RetCode":{odd}}}"#);
        let err = UcloudCompshare
            .parse_action(Action::Start, &response(&body))
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::BadResponse, "{odd}");
    }
}
