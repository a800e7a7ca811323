//! Unit tests of `tencent`.

use super::*;

fn response(body: &str) -> HttpResponse {
    HttpResponse::new(200, body)
}

#[test]
fn error_codes_map_to_classes() {
    let table = [
        (
            "UnsupportedOperation.InstanceStateRunning",
            ErrorClass::AlreadyDone,
        ),
        (
            "UnsupportedOperation.InstanceStateStarting",
            ErrorClass::AlreadyUnderway,
        ),
        (
            "UnsupportedOperation.InstanceStateShutdown",
            ErrorClass::WrongState,
        ),
        (
            "UnsupportedOperation.InstanceStateTerminating",
            ErrorClass::WrongState,
        ),
        (
            "UnsupportedOperation.InstanceStateStopping",
            ErrorClass::Busy,
        ),
        (
            "OperationDenied.InstanceOperationInProgress",
            ErrorClass::Busy,
        ),
        ("MutexOperation.TaskRunning", ErrorClass::Busy),
        ("InvalidInstanceId.NotFound", ErrorClass::NotFound),
        (
            "ResourceNotFound.InvalidInstanceIdNotFound",
            ErrorClass::NotFound,
        ),
        ("InvalidInstanceId.Malformed", ErrorClass::Refused),
        ("InvalidParameterValue.LimitExceeded", ErrorClass::Refused),
        ("AuthFailure.SignatureFailure", ErrorClass::Auth),
        ("AuthFailure.SecretIdNotFound", ErrorClass::Auth),
        // Common codes (cloud.tencent.com/document/api/213/15694): "token error", "no CAM
        // authorization"; StopInstances' MFA codes (tencentcloud-sdk-go cvm client.go).
        ("UnauthorizedOperation", ErrorClass::PermissionDenied),
        (
            "AuthFailure.UnauthorizedOperation",
            ErrorClass::PermissionDenied,
        ),
        ("AuthFailure.TokenFailure", ErrorClass::TokenExpired),
        ("UnauthorizedOperation.MFAExpired", ErrorClass::Auth),
        ("AuthFailure.SignatureExpire", ErrorClass::ClockSkew),
        ("RequestLimitExceeded", ErrorClass::Throttled),
        (
            "RequestLimitExceeded.UinLimitExceeded",
            ErrorClass::Throttled,
        ),
        ("InternalError", ErrorClass::Transient),
        ("InternalServerError", ErrorClass::Transient),
        ("ServiceUnavailable", ErrorClass::Transient),
        ("InvalidAccount.InsufficientBalance", ErrorClass::Refused),
        (
            "ResourceInsufficient.CloudDiskUnavailable",
            ErrorClass::Refused,
        ),
        ("ResourceInsufficient.CidrBlock", ErrorClass::Refused),
        (
            "ResourceInsufficient.SpecifiedInstanceType",
            ErrorClass::Capacity,
        ),
        (
            "ResourceInsufficient.ZoneSoldOutForSpecifiedInstance",
            ErrorClass::Capacity,
        ),
        ("ResourcesSoldOut.AvailableZone", ErrorClass::Capacity),
        ("ResourcesSoldOut.EipInsufficient", ErrorClass::Capacity),
        ("InvalidRegion.NotFound", ErrorClass::Refused),
    ];
    for (code, class) in table {
        assert_eq!(classify(None, code), class, "{code}");
    }
}

#[test]
fn states_map_to_phases() {
    let table = [
        ("RUNNING", Phase::Running),
        ("STARTING", Phase::Starting),
        ("PENDING", Phase::Transition),
        ("STOPPING", Phase::Stopping),
        ("REBOOTING", Phase::Transition),
        ("SERVICE_LIVE_MIGRATE", Phase::Transition),
        ("STOPPED", Phase::Stopped),
        ("LAUNCH_FAILED", Phase::Failed),
        ("SHUTDOWN", Phase::Failed),
        ("TERMINATING", Phase::Failed),
        ("RESCUE_MODE", Phase::Failed),
        ("SOMETHING_NEW", Phase::Unknown),
    ];
    for (raw, phase) in table {
        let body = format!(
            r#"{{"Response":{{"RequestId":"r","InstanceSet":[{{"InstanceId":"ins-aaaaaaaa","InstanceState":"{raw}"}}]}}}}"#
        );
        let states = TencentCvm.parse_describe(&response(&body)).unwrap();
        assert_eq!(states[0].phase, phase, "{raw}");
        assert_eq!(states[0].raw, raw);
    }
}

#[test]
fn a_failed_operation_is_reported_with_its_request_id_for_the_engine_to_attribute() {
    let body = r#"{"Response":{"RequestId":"r","InstanceSet":[{"InstanceId":"ins-aaaaaaaa",
        "InstanceState":"STOPPED","LatestOperation":"StartInstances",
        "LatestOperationState":"FAILED","LatestOperationRequestId":"req-start",
        "LatestOperationErrorMsg":"no capacity"}]}}"#;
    let states = TencentCvm.parse_describe(&response(body)).unwrap();
    // Stopped, not failed: only the engine knows whether req-start was this run's start.
    assert_eq!(states[0].phase, Phase::Stopped);
    assert_eq!(states[0].failed_operation.as_deref(), Some("req-start"));
    assert_eq!(
        states[0].detail.as_deref(),
        Some("StartInstances req-start FAILED no capacity")
    );
}

#[test]
fn a_failed_operation_without_a_request_id_is_nobody_s() {
    let body = r#"{"Response":{"RequestId":"r","InstanceSet":[{"InstanceId":"ins-aaaaaaaa",
        "InstanceState":"STOPPED","LatestOperation":"StartInstances",
        "LatestOperationState":"FAILED","LatestOperationRequestId":null}]}}"#;
    let states = TencentCvm.parse_describe(&response(body)).unwrap();
    assert_eq!(states[0].phase, Phase::Stopped);
    assert_eq!(states[0].failed_operation, None);
}

#[test]
fn addresses_are_read_and_null_or_missing_lists_are_empty() {
    let body = r#"{"Response":{"RequestId":"r","InstanceSet":[
        {"InstanceId":"ins-aaaaaaaa","InstanceState":"RUNNING",
         "PublicIpAddresses":["203.0.113.7"],"PrivateIpAddresses":["10.0.0.7","10.0.1.7"]},
        {"InstanceId":"ins-bbbbbbbb","InstanceState":"STOPPED",
         "PublicIpAddresses":null,"PrivateIpAddresses":["10.0.0.8"]},
        {"InstanceId":"ins-cccccccc","InstanceState":"RUNNING"},
        {"InstanceId":"ins-dddddddd","InstanceState":"RUNNING",
         "PublicIpAddresses":{"Ip":1},"PrivateIpAddresses":[null,7,"","10.0.0.9"]}]}}"#;
    let states = TencentCvm.parse_describe(&response(body)).unwrap();
    assert_eq!(states[0].addresses.public, ["203.0.113.7"]);
    assert_eq!(states[0].addresses.private, ["10.0.0.7", "10.0.1.7"]);
    assert!(states[1].addresses.public.is_empty());
    assert_eq!(states[1].addresses.private, ["10.0.0.8"]);
    assert!(states[2].addresses.is_empty());
    // Odd shapes are not a reason to fail the describe.
    assert!(states[3].addresses.public.is_empty());
    assert_eq!(states[3].addresses.private, ["10.0.0.9"]);
}

#[test]
fn the_zone_is_read_from_placement_and_odd_shapes_are_none() {
    // Placement as DescribeInstances documents it (API 2017-03-12, Instance.Placement).
    let body = r#"{"Response":{"RequestId":"r","InstanceSet":[
        {"InstanceId":"ins-aaaaaaaa","InstanceState":"RUNNING",
         "Placement":{"HostId":"host-h3m57oik","ProjectId":1174660,"HostIds":[],
                      "Zone":"ap-guangzhou-3"}},
        {"InstanceId":"ins-bbbbbbbb","InstanceState":"RUNNING"},
        {"InstanceId":"ins-cccccccc","InstanceState":"RUNNING","Placement":null},
        {"InstanceId":"ins-dddddddd","InstanceState":"RUNNING","Placement":{"Zone":3}}]}}"#;
    let states = TencentCvm.parse_describe(&response(body)).unwrap();
    assert_eq!(states[0].zone.as_deref(), Some("ap-guangzhou-3"));
    assert!(states[1..].iter().all(|s| s.zone.is_none()), "{states:?}");
}

#[test]
fn error_envelope_with_http_200_is_an_api_error() {
    let body = r#"{"Response":{"Error":{"Code":"InvalidInstanceId.NotFound","Message":"gone"},"RequestId":"req-1"}}"#;
    let err = TencentCvm
        .parse_action(Action::Start, &response(body))
        .unwrap_err();
    assert_eq!(err.code, "InvalidInstanceId.NotFound");
    assert_eq!(err.message, "gone");
    assert_eq!(err.request_id.as_deref(), Some("req-1"));
    assert_eq!(err.class, ErrorClass::NotFound);
}

#[test]
fn accepted_start_keeps_the_request_id() {
    let accepted = TencentCvm
        .parse_action(
            Action::Start,
            &response(r#"{"Response":{"RequestId":"req-2"}}"#),
        )
        .unwrap();
    assert_eq!(accepted.request_id.as_deref(), Some("req-2"));
    assert!(accepted.refused.is_empty());
}

#[test]
fn stop_calls_send_stop_type_and_never_the_deprecated_force_stop() {
    let ids = ["ins-r8hr2upy".into()];
    let location = Location {
        region: Some("ap-guangzhou".into()),
        zone: None,
    };
    let body = |force, stop_charging| {
        let options = ActionOptions {
            force,
            stop_charging,
            ..ActionOptions::default()
        };
        let call = TencentCvm.action_call(Action::Stop, &ids, &location, &options);
        assert_eq!(header_value(&call, "X-TC-Action"), Some("StopInstances"));
        String::from_utf8(call.body).unwrap()
    };
    // SOFT is CVM's default, but sent: the gentle stop is asked for, not assumed.
    assert_eq!(
        body(false, false),
        r#"{"InstanceIds":["ins-r8hr2upy"],"StopType":"SOFT"}"#
    );
    assert_eq!(
        body(true, false),
        r#"{"InstanceIds":["ins-r8hr2upy"],"StopType":"HARD"}"#
    );
    assert_eq!(
        body(false, true),
        r#"{"InstanceIds":["ins-r8hr2upy"],"StopType":"SOFT","StoppedMode":"STOP_CHARGING"}"#
    );
    // ForceStop "cannot be used together with StopType" (models.go).
    assert!(!body(true, true).contains("ForceStop"));
}

#[test]
fn stop_answers_read_the_stop_s_own_meaning_of_state_codes() {
    // The success body of tccli's StopInstances example 1.
    let accepted = TencentCvm
        .parse_action(
            Action::Stop,
            &response(r#"{"Response":{"RequestId":"6ef60bec-0242-43af-bb20-270359fb54a7"}}"#),
        )
        .unwrap();
    assert_eq!(
        accepted.request_id.as_deref(),
        Some("6ef60bec-0242-43af-bb20-270359fb54a7")
    );
    let table = [
        (
            "UnsupportedOperation.InstanceStateStopped",
            ErrorClass::AlreadyDone,
        ),
        (
            "UnsupportedOperation.InstanceStateStopping",
            ErrorClass::AlreadyUnderway,
        ),
        (
            "UnsupportedOperation.InstanceStateStarting",
            ErrorClass::Busy,
        ),
        (
            "UnsupportedOperation.InstanceStateRebooting",
            ErrorClass::Busy,
        ),
        (
            "OperationDenied.InstanceOperationInProgress",
            ErrorClass::Busy,
        ),
        (
            "UnsupportedOperation.InstanceStateShutdown",
            ErrorClass::WrongState,
        ),
        (
            "UnsupportedOperation.InstanceStateEnterServiceLiveMigrate",
            ErrorClass::WrongState,
        ),
        ("InvalidInstanceId.NotFound", ErrorClass::NotFound),
        (
            "UnsupportedOperation.StoppedModeStopCharging",
            ErrorClass::Refused,
        ),
        ("InvalidParameterCombination", ErrorClass::Refused),
        ("RequestLimitExceeded", ErrorClass::Throttled),
    ];
    for (code, class) in table {
        let body = format!(
            r#"{{"Response":{{"Error":{{"Code":"{code}","Message":"m"}},"RequestId":"r"}}}}"#
        );
        let err = TencentCvm
            .parse_action(Action::Stop, &response(&body))
            .unwrap_err();
        assert_eq!(err.class, class, "{code}");
    }
    // The same codes keep their start meaning in an answer to a start.
    assert_eq!(
        classify(
            Some(Action::Start),
            "UnsupportedOperation.InstanceStateStopping"
        ),
        ErrorClass::Busy
    );
}

#[test]
fn a_failed_soft_stop_leaves_the_machine_running_with_its_request_id() {
    let body = r#"{"Response":{"RequestId":"r","InstanceSet":[{"InstanceId":"ins-xlsyru2j",
        "InstanceState":"RUNNING","LatestOperation":"StopInstances",
        "LatestOperationState":"FAILED",
        "LatestOperationRequestId":"6ef60bec-0242-43af-bb20-270359fb54a7",
        "LatestOperationErrorMsg":""}]}}"#;
    let states = TencentCvm.parse_describe(&response(body)).unwrap();
    assert_eq!(states[0].phase, Phase::Running);
    assert_eq!(
        states[0].failed_operation.as_deref(),
        Some("6ef60bec-0242-43af-bb20-270359fb54a7")
    );
    assert_eq!(
        states[0].detail.as_deref(),
        Some("StopInstances 6ef60bec-0242-43af-bb20-270359fb54a7 FAILED")
    );
}

#[test]
fn unreadable_answers_are_errors_not_panics() {
    for body in [
        "",
        "<html>502 Bad Gateway</html>",
        r#"{"Response":"#,
        r#"{"Response":{"RequestId":"r"}}"#,
        r#"{"Response":{"InstanceSet":[{"InstanceId":"ins-aaaaaaaa"}]}}"#,
    ] {
        let err = TencentCvm.parse_describe(&response(body)).unwrap_err();
        assert_eq!(err.class, ErrorClass::BadResponse, "{body}");
    }
}

#[test]
fn server_errors_without_an_envelope_are_retryable() {
    let mut reply = response("<html>bad gateway</html>");
    reply.status = 502;
    let err = TencentCvm.parse_action(Action::Start, &reply).unwrap_err();
    assert_eq!(err.class, ErrorClass::Transient);
    reply.status = 429;
    let err = TencentCvm.parse_action(Action::Start, &reply).unwrap_err();
    assert_eq!(err.class, ErrorClass::Throttled);
}

#[test]
fn ids_are_validated_by_shape() {
    assert!(TencentCvm.validate_id("ins-r8hr2upy").is_ok());
    for bad in [
        "",
        "ins-",
        "ins-R8HR2UPY",
        "ins-r8hr2up",
        "ins-r8hr2upyy",
        "i-r8hr2upy",
        "ins-r8hr 2up",
    ] {
        assert!(TencentCvm.validate_id(bad).is_err(), "{bad}");
    }
}

#[test]
fn describe_asks_for_as_many_results_as_ids() {
    let ids: Vec<String> = (0..30).map(|i| format!("ins-{i:08}")).collect();
    let call = TencentCvm.describe_call(&ids, &Location::default());
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body["Limit"], 30);
    assert_eq!(body["InstanceIds"].as_array().unwrap().len(), 30);
}

#[test]
fn signed_request_carries_token_and_hides_secrets() {
    let credentials = Credentials {
        key_id: "AKIDexample".into(),
        secret: crate::credentials::Secret::new("secret-key"),
        token: Some(crate::credentials::Secret::new("session-token")),
    };
    let location = Location {
        region: Some("ap-guangzhou".into()),
        zone: None,
    };
    let call = TencentCvm.action_call(
        Action::Start,
        &["ins-r8hr2upy".into()],
        &location,
        &ActionOptions::default(),
    );
    let now = DateTime::from_timestamp(1_741_996_770, 0).unwrap();
    let signed = TencentCvm.sign(&call, "127.0.0.1:8080", &location, &credentials, now);
    let find = |name: &str| signed.headers.iter().find(|h| h.name == name).unwrap();
    assert_eq!(find("X-TC-Token").value, "session-token");
    assert!(find("X-TC-Token").sensitive);
    assert!(find("Authorization").sensitive);
    assert_eq!(find("X-TC-Timestamp").value, "1741996770");
    assert_eq!(find("X-TC-Region").value, "ap-guangzhou");
    assert_eq!(find("Host").value, "127.0.0.1:8080");
    let printed = format!("{signed:?}");
    assert!(!printed.contains("session-token") && !printed.contains("Signature="));
}
