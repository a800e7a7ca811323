//! Unit tests of `qingcloud`.

use super::*;
use crate::credentials::Secret;

fn jinan() -> Location {
    Location {
        region: None,
        zone: Some("jinan1a".into()),
    }
}

#[test]
fn ret_codes_map_to_classes() {
    use ErrorClass::*;
    let table: [(&[i64], ErrorClass); 7] = [
        (&[1100, 1101, 2110, 2400, 2500, 9999], Refused),
        (&[5200], Capacity),
        (&[1200], Auth),
        (&[1300], ClockSkew),
        (&[1400], WrongState),
        (&[2100], NotFound),
        (&[5000, 5100, 5300], Transient),
    ];
    for (codes, class) in table {
        for &code in codes {
            for action in [START_ACTION, STOP_ACTION, LIST_ACTION] {
                assert_eq!(classify(action, code, "no"), class, "{action} {code}");
            }
        }
    }
}

#[test]
fn a_permission_refusal_that_asks_to_try_later_is_a_lock() {
    let message =
        "PermissionDenied, resource [hpc-k3fw1jyq] lease info not ready yet, please try later";
    assert_eq!(classify(START_ACTION, 1400, message), ErrorClass::Busy);
    assert_eq!(classify(STOP_ACTION, 1400, message), ErrorClass::Busy);
    assert_eq!(
        classify(START_ACTION, 1400, "PermissionDenied"),
        ErrorClass::WrongState
    );
}

#[test]
fn states_map_to_phases() {
    let table = [
        (r#""status":"active""#, "active", Phase::Running),
        (r#""status":"pending""#, "pending", Phase::Transition),
        (r#""status":"stopped""#, "stopped", Phase::Stopped),
        (r#""status":"suspended""#, "suspended", Phase::Stopped),
        (
            r#""app_cluster":{"cluster_id":"hpc-k3fw1jyq","cluster_status":"active"}"#,
            "active",
            Phase::Running,
        ),
        (r#""status":"ceased""#, "ceased", Phase::Failed),
        (r#""status":"deleted""#, "deleted", Phase::Failed),
        (r#""status":"new_state""#, "new_state", Phase::Unknown),
        (r#""cluster_status":"active""#, "active", Phase::Running),
        (
            r#""status":"stopped","transition_status":"starting""#,
            "starting",
            Phase::Starting,
        ),
        (
            r#""status":"active","transition_status":"""#,
            "active",
            Phase::Running,
        ),
    ];
    for (fields, raw, phase) in table {
        let body =
            format!(r#"{{"ret_code":0,"cluster_set":[{{"cluster_id":"hpc-k3fw1jyq",{fields}}}]}}"#);
        let states = QingcloudEhpc
            .parse_describe(&HttpResponse::new(200, &body))
            .unwrap();
        assert_eq!(
            (states[0].raw.as_str(), states[0].phase),
            (raw, phase),
            "{fields}"
        );
    }
}

#[test]
fn error_envelope_with_http_200_is_an_api_error() {
    let body = r#"{"ret_code":2100,"message":"ResourceNotFound, resource [hpc-k3fw1jyq]"}"#;
    let err = QingcloudEhpc
        .parse_action(Action::Start, &HttpResponse::new(200, body))
        .unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.class),
        ("2100", ErrorClass::NotFound)
    );
    assert!(err.message.starts_with("ResourceNotFound"));
}

#[test]
fn job_ids_are_read_in_every_documented_shape() {
    let table = [
        (
            r#"{"ret_code":0,"job_ids":"j-5lggvldskpm"}"#,
            Some("j-5lggvldskpm"),
        ),
        (
            r#"{"ret_code":0,"job_id":"j-5lggvldskpm"}"#,
            Some("j-5lggvldskpm"),
        ),
        (r#"{"ret_code":0,"job_ids":["j-a","j-b"]}"#, Some("j-a,j-b")),
        (r#"{"ret_code":0}"#, None),
    ];
    for (body, job) in table {
        let accepted = QingcloudEhpc
            .parse_action(Action::Start, &HttpResponse::new(200, body))
            .unwrap();
        assert_eq!(accepted.job_id.as_deref(), job, "{body}");
    }
}

#[test]
fn unreadable_answers_are_errors_not_panics() {
    for body in [
        "",
        "<html>502 Bad Gateway</html>",
        r#"{"ret_code":"#,
        r#"{"ret_code":"0"}"#,
        r#"{"action":"HpcClusterListClusterResponse"}"#,
        r#"{"ret_code":0}"#,
        r#"{"ret_code":0,"cluster_set":[{"status":"active"}]}"#,
        r#"{"ret_code":0,"cluster_set":[{"cluster_id":"hpc-k3fw1jyq"}]}"#,
    ] {
        let err = QingcloudEhpc
            .parse_describe(&HttpResponse::new(200, body))
            .unwrap_err();
        assert_eq!(err.class, ErrorClass::BadResponse, "{body}");
    }
    // Without an envelope, the status decides: gateways answer 5xx and 429 by themselves.
    let err = |status| {
        QingcloudEhpc
            .parse_action(Action::Start, &HttpResponse::new(status, "<html>"))
            .unwrap_err()
    };
    assert_eq!(err(502).class, ErrorClass::Transient);
    assert_eq!(err(429).class, ErrorClass::Throttled);
}

#[test]
fn ids_are_validated_by_shape() {
    for good in ["hpc-k3fw1jyq", "ehpc-ut2ua3b0", "hpc-00000000"] {
        assert!(QingcloudEhpc.validate_id(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "hpc-",
        "hpc-K3FW1JYQ",
        "hpc-k3fw1jy",
        "hpc-k3fw1jyqq",
        "xhpc-k3fw1jyq",
        "eehpc-k3fw1jyq",
        "hpc-k3fw 1jy",
        "i-k3fw1jyq",
    ] {
        assert!(QingcloudEhpc.validate_id(bad).is_err(), "{bad}");
    }
}

#[test]
fn describe_filters_by_one_cluster_in_the_zone() {
    let call = QingcloudEhpc.describe_call(&["hpc-k3fw1jyq".into()], &jinan());
    assert_eq!((call.method, call.path.as_str()), (Method::Get, LIST_PATH));
    let query: Vec<(&str, &str)> = call
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let expected = [
        ("cluster_id", "hpc-k3fw1jyq"),
        ("limit", "100"),
        ("zone", "jinan1a"),
    ];
    assert_eq!(query, expected);
}

#[test]
fn signed_request_hides_the_secret() {
    let credentials = Credentials {
        key_id: "QYACCESSKEYIDEXAMPLE".into(),
        secret: Secret::new("sentinel-secret-key"),
        token: None,
    };
    let call = QingcloudEhpc.action_call(
        Action::Start,
        &["hpc-k3fw1jyq".into()],
        &jinan(),
        &Default::default(),
    );
    let now = DateTime::from_timestamp(1_741_996_770, 0).unwrap();
    let signed = QingcloudEhpc.sign(&call, "127.0.0.1:8080", &jinan(), &credentials, now);
    assert!(signed
        .headers
        .contains(&Header::plain("Host", "127.0.0.1:8080")));
    assert!(signed
        .path_and_query
        .starts_with("/api/cluster/startCluster?timestamp=2025-03-14T23%3A59%3A30Z&version=1&"));
    let printed = format!("{signed:?}");
    assert!(!printed.contains("sentinel-secret-key"), "{printed}");
}

#[test]
fn stop_is_stop_cluster_with_the_start_s_body_and_no_option() {
    let ids = ["hpc-k3fw1jyq".to_string(), "ehpc-ut2ua3b0".to_string()];
    // --force and --stop-charging never reach this call (settings refuse them, as the spec
    // has no wire for either); were they passed, nothing would change on the wire.
    let forced = ActionOptions {
        force: true,
        stop_charging: true,
        ..Default::default()
    };
    for options in [ActionOptions::default(), forced] {
        let call = QingcloudEhpc.action_call(Action::Stop, &ids, &jinan(), &options);
        assert_eq!(
            (call.action, call.method, call.path.as_str()),
            (STOP_ACTION, Method::Post, STOP_PATH)
        );
        assert!(call.query.is_empty());
        assert_eq!(
            call.body,
            br#"{"cluster_ids": ["hpc-k3fw1jyq", "ehpc-ut2ua3b0"], "zone": "jinan1a"}"#
        );
    }
    assert_eq!((SPEC.stop.force, SPEC.stop.stop_charging), (None, None));
}

#[test]
fn a_stop_s_answer_is_read_like_the_start_s() {
    // stopcluster.md's example (unquoted keys made JSON) and its field table's `job_ids`.
    for body in [
        r#"{"action":"HpcClusterStopClusterResponse","job_id":"j-4r4p74l1mi8","ret_code":0}"#,
        r#"{"action":"HpcClusterStopClusterResponse","job_ids":"j-4r4p74l1mi8","ret_code":0}"#,
    ] {
        let accepted = QingcloudEhpc
            .parse_action(Action::Stop, &HttpResponse::new(200, body))
            .unwrap();
        assert_eq!(accepted.job_id.as_deref(), Some("j-4r4p74l1mi8"), "{body}");
        // The batch is accepted or refused as a whole: no per-cluster refusals.
        assert!(accepted.refused.is_empty());
    }
    // error_code.md's own example is a stop refused for a machine that is not running.
    let body = r#"{"message":"PermissionDenied, instance [i-2aypaijz] is not running， can not be stopped","ret_code":1400}"#;
    let err = QingcloudEhpc
        .parse_action(Action::Stop, &HttpResponse::new(200, body))
        .unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.class),
        ("1400", ErrorClass::WrongState)
    );
    assert!(err.message.contains("can not be stopped"));
}

#[test]
fn a_stopping_cluster_is_read_from_its_transition() {
    let table = [
        (
            r#""status":"active","transition_status":"stopping""#,
            "stopping",
            Phase::Stopping,
        ),
        (
            r#""status":"stopped","transition_status":"""#,
            "stopped",
            Phase::Stopped,
        ),
        (
            r#""status":"active","transition_status":"""#,
            "active",
            Phase::Running,
        ),
    ];
    for (fields, raw, phase) in table {
        let body =
            format!(r#"{{"ret_code":0,"cluster_set":[{{"cluster_id":"hpc-k3fw1jyq",{fields}}}]}}"#);
        let states = QingcloudEhpc
            .parse_describe(&HttpResponse::new(200, &body))
            .unwrap();
        assert_eq!((states[0].raw.as_str(), states[0].phase), (raw, phase));
    }
}

#[test]
fn a_signed_stop_goes_to_stop_cluster() {
    let credentials = Credentials {
        key_id: "QYACCESSKEYIDEXAMPLE".into(),
        secret: Secret::new("SECRETACCESSKEY"),
        token: None,
    };
    let call = QingcloudEhpc.action_call(
        Action::Stop,
        &["hpc-k3fw1jyq".into()],
        &jinan(),
        &Default::default(),
    );
    let now = DateTime::from_timestamp(1_741_996_770, 0).unwrap();
    let signed = QingcloudEhpc.sign(&call, "hpc.api.qingcloud.com", &jinan(), &credentials, now);
    assert!(signed
        .path_and_query
        .starts_with("/api/cluster/stopCluster?timestamp=2025-03-14T23%3A59%3A30Z&version=1&"));
    let stages = qingcloud_sign(
        &QingcloudRequest {
            method: "POST",
            path: STOP_PATH,
            query: &signed_query(&call, "QYACCESSKEYIDEXAMPLE", now),
            body: &call.body,
        },
        "SECRETACCESSKEY",
    );
    assert!(stages
        .string_to_sign
        .starts_with("POST\n/api/cluster/stopCluster/\naccess_key_id="));
    assert!(signed.path_and_query.ends_with(&stages.wire_value));
}
