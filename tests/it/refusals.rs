//! Credential refusals through the real binary: a refused key names where it came from, an expired
//! token and a missing permission each say what to do, on every cloud.

use crate::hardening::start_at;
use crate::support::{self, cloudstart, id, profiles, report, stderr, tencent, Sim};
use assert_cmd::Command;
use serde_json::Value;

/// The simulator refusing a key that came from `home`'s files or the environment: the record's
/// message, which must name where the key came from.
fn refused_key_message(cmd: &mut Command) -> String {
    let output = cmd.args(["-o", "json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let record = &report(&output)["instances"][0];
    assert_eq!(record["error"]["kind"], "auth");
    assert_eq!(record["error"]["code"], "AuthFailure.SecretIdNotFound");
    record["error"]["message"].as_str().unwrap().to_string()
}

/// Issue 19 item 5: a refused key is named by where it came from — the variables, the config
/// profile or the vendor CLI's file — never by a generic list. Before, all three said `(check the
/// credentials: TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, or the config profile)`.
#[test]
fn a_refused_key_names_where_it_came_from() {
    let sim = Sim::start("");
    let unknown = |cmd: &mut Command| {
        cmd.args(["start", "-p", "tencent", "-r", "ap-guangzhou"])
            .args(["--endpoint", sim.url("tencent"), "ins-aaaaaaaa"]);
    };
    // tccli's credential file.
    let home = tempfile::tempdir().unwrap();
    let tccli = home.path().join(".tccli");
    std::fs::create_dir_all(&tccli).unwrap();
    std::fs::write(
        tccli.join("default.credential"),
        r#"{"secretId": "AKIDunknown", "secretKey": "wrong"}"#,
    )
    .unwrap();
    let mut cmd = cloudstart(home.path());
    unknown(&mut cmd);
    let message = refused_key_message(&mut cmd);
    assert!(
        message.ends_with(&format!(
            "(check the tencent key from tccli's file {})",
            tccli.join("default.credential").display()
        )),
        "{message}"
    );
    // A config profile named with --profile.
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        "[profile.work.tencent]\naccess_key_id = \"AKIDunknown\"\nsecret_access_key = \"wrong\"\n",
    )
    .unwrap();
    let mut cmd = cloudstart(home.path());
    cmd.env("CLOUDSTART_CONFIG", &config);
    unknown(&mut cmd);
    cmd.args(["--profile", "work"]);
    let message = refused_key_message(&mut cmd);
    assert!(
        message.ends_with("(check the tencent key from config profile `work`)"),
        "{message}"
    );
    // The environment, with a session token: temporary credentials may simply have expired.
    let mut cmd = cloudstart(sim.dir());
    cmd.env("TENCENTCLOUD_SECRET_ID", "AKIDunknown")
        .env("TENCENTCLOUD_SECRET_KEY", "wrong")
        .env("TENCENTCLOUD_SECURITY_TOKEN", "token");
    unknown(&mut cmd);
    let message = refused_key_message(&mut cmd);
    assert!(
        message.ends_with(
            "(check the tencent key from TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY; it \
             is a temporary key with the session token from TENCENTCLOUD_SECURITY_TOKEN: if it \
             expired, refresh it)"
        ),
        "{message}"
    );
}

/// A canned Tencent API answering every call with the error `code`.
fn tencent_refusing(code: &'static str, message: &'static str) -> String {
    let addr = support::serve(move |_, _| {
        let body = serde_json::json!({"Response": {
            "Error": {"Code": code, "Message": message},
            "RequestId": "b2c5d9a0-0000-4000-8000-000000000019"
        }});
        (200, Vec::new(), body.to_string().into_bytes())
    });
    format!("http://{addr}")
}

/// An expired session token says to refresh it and names its variable; a key without the
/// permission says so for the action. Tencent's common error codes
/// (cloud.tencent.com/document/api/213/15694, 公共错误码): `AuthFailure.TokenFailure` "token
/// error", `UnauthorizedOperation` / `AuthFailure.UnauthorizedOperation` "no CAM authorization";
/// the messages below are the English console's. Before, both ended `(check the credentials:
/// TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, or the config profile)`.
#[test]
fn an_expired_token_and_a_missing_permission_each_say_what_to_do() {
    let home = tempfile::tempdir().unwrap();
    let token = tencent_refusing(
        "AuthFailure.TokenFailure",
        "Token verification failed, please check if your Token is correct.",
    );
    let output = start_at(home.path(), tencent(), &token, &["ins-aaaaaaaa"])
        .env("TENCENTCLOUD_SECURITY_TOKEN", "expired-token")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let error = &report(&output)["instances"][0]["error"];
    assert_eq!(error["kind"], "auth");
    assert_eq!(error["code"], "AuthFailure.TokenFailure");
    assert_eq!(
        error["message"],
        "Token verification failed, please check if your Token is correct. (the session token \
         from TENCENTCLOUD_SECURITY_TOKEN has expired or is not valid: refresh the temporary \
         credentials and set the new token with the key id and secret issued with it)"
    );
    // The same answer to a key without a token: the token is what is missing.
    let output = start_at(home.path(), tencent(), &token, &["ins-aaaaaaaa"])
        .output()
        .unwrap();
    let message = report(&output)["instances"][0]["error"]["message"].to_string();
    assert!(
        message.contains(
            "needs a valid session token and none was given: set TENCENTCLOUD_SECURITY_TOKEN"
        ),
        "{message}"
    );
    for code in ["UnauthorizedOperation", "AuthFailure.UnauthorizedOperation"] {
        let denied = tencent_refusing(code, "You are not authorized to perform this operation.");
        let output = start_at(home.path(), tencent(), &denied, &["ins-aaaaaaaa"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
        let error = &report(&output)["instances"][0]["error"];
        assert_eq!(error["kind"], "auth");
        assert_eq!(error["code"], code);
        let message = error["message"].as_str().unwrap();
        assert!(
            message.ends_with(
                "(the tencent key from TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY is \
                 valid but lacks a permission for StartInstances, or for these machines: have it \
                 granted to the key's user or role, or use a key that has it)"
            ),
            "{message}"
        );
    }
}

/// The other clouds' permission refusals say the same, each in its own envelope: Volcengine's
/// common error codes (volcengine.com/docs/6408/78947: `AccessDenied` 403, `LackPolicy` 403),
/// CompShare's IAM RetCodes (UCloudDoc-Team/api `summary/public.md`: 292–295, 299 "IAM permission
/// check failed"), Zenlayer's `AUTHFAILURE_UNAUTHORIZED_OPERATION` (zenlayer/zenlayer-cloud-csi-driver
/// `pkg/cloud/error.go`). The envelopes are assembled from each provider's error shape.
#[test]
fn permission_refusals_on_every_cloud_say_the_key_lacks_a_permission() {
    let cases: [(&str, u16, Value, &str); 4] = [
        (
            "volcengine",
            403,
            serde_json::json!({"ResponseMetadata": {
                "RequestId": "20240501120000000000000000000019", "Action": "StartInstances",
                "Version": "2020-04-01", "Service": "ecs", "Region": "cn-beijing",
                "Error": {"Code": "AccessDenied", "Message": "no policy for ecs:StartInstances"}}}),
            "AccessDenied",
        ),
        (
            "volcengine",
            403,
            serde_json::json!({"ResponseMetadata": {
                "RequestId": "20240501120000000000000000000019", "Action": "StartInstances",
                "Version": "2020-04-01", "Service": "ecs", "Region": "cn-beijing",
                "Error": {"Code": "LackPolicy", "Message": "lack policy"}}}),
            "LackPolicy",
        ),
        (
            "compshare",
            200,
            serde_json::json!({"RetCode": 292, "Message": "IAM permission check failed",
                "Action": "StartCompShareInstanceResponse"}),
            "292",
        ),
        (
            "zenlayer",
            403,
            serde_json::json!({"requestId": "T19", "code": "AUTHFAILURE_UNAUTHORIZED_OPERATION",
                "message": "unauthorized operation"}),
            "AUTHFAILURE_UNAUTHORIZED_OPERATION",
        ),
    ];
    for (cloud, status, body, code) in cases {
        let profile = profiles().find(|p| p.provider == cloud).unwrap();
        let body = body.to_string().into_bytes();
        let addr = support::serve(move |_, _| (status, Vec::new(), body.clone()));
        let home = tempfile::tempdir().unwrap();
        let output = start_at(
            home.path(),
            profile,
            &format!("http://{addr}"),
            &[&id(profile, 1)],
        )
        .output()
        .unwrap();
        assert_eq!(
            output.status.code(),
            Some(3),
            "{cloud}: {}",
            stderr(&output)
        );
        let error = &report(&output)["instances"][0]["error"];
        assert_eq!(
            (error["kind"].as_str(), error["code"].as_str()),
            (Some("auth"), Some(code))
        );
        let message = error["message"].as_str().unwrap();
        let (start, _) = support::actions(profile);
        assert!(
            message.contains(&format!("(the {cloud} key from "))
                && message.contains(&format!(
                    " is valid but lacks a permission for {start}, or for these machines"
                )),
            "{cloud} {code}: {message}"
        );
    }
}
