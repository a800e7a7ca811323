//! Every signing vector in `tests/fixtures/vectors/`, reproduced stage by stage, byte for byte.
//!
//! The vectors come from the vendors' official SDKs (see the fixtures README). A failing assertion
//! names the vector and the stage, so a broken step is found without a debugger.

use std::path::Path;

use serde_json::Value;

use cloudstart::credentials::{Credentials, Secret};
use cloudstart::provider::tencent::{tc3_sign, Tc3Request};
use cloudstart::provider::zenlayer::{self, zc2_sign, Zc2Request};
use cloudstart::provider::{Location, Provider, StartOptions, ZenlayerZec};
use cloudstart::sign::hex_sha256;

fn load(name: &str) -> Vec<Value> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/vectors/{name}.json"));
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let file: Value = serde_json::from_str(&text).unwrap();
    let vectors = file["vectors"].as_array().unwrap().clone();
    assert!(!vectors.is_empty(), "{name}.json has no vectors");
    vectors
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing {pointer}"))
}

#[test]
fn tencent_vectors_reproduce_every_stage() {
    let vectors = load("tencent");
    for vector in &vectors {
        let name = text(vector, "/name");
        let inputs = &vector["inputs"];
        let expected = &vector["expected"];
        let body = text(inputs, "/body");
        let request = Tc3Request {
            method: text(inputs, "/method"),
            canonical_query: text(inputs, "/query"),
            content_type: text(inputs, "/content_type"),
            host: text(inputs, "/host"),
            body: body.as_bytes(),
            timestamp: inputs["timestamp"].as_i64().unwrap(),
        };
        let signature = tc3_sign(
            &request,
            text(inputs, "/credentials/secret_id"),
            text(inputs, "/credentials/secret_key"),
        );
        // GET sends no body and hashes the empty string, like the SDK.
        assert_eq!(
            hex_sha256(body.as_bytes()),
            text(expected, "/hashed_payload"),
            "{name}: hashed payload"
        );
        assert_eq!(
            signature.canonical_request,
            text(expected, "/canonical_request"),
            "{name}: canonical request"
        );
        assert_eq!(
            signature.credential_scope,
            text(expected, "/credential_scope"),
            "{name}: credential scope"
        );
        assert_eq!(
            signature.string_to_sign,
            text(expected, "/string_to_sign"),
            "{name}: string to sign"
        );
        assert_eq!(
            signature.signature,
            text(expected, "/signature"),
            "{name}: signature"
        );
        assert_eq!(
            signature.authorization,
            text(expected, "/authorization"),
            "{name}: authorization"
        );
        // The Authorization the SDK actually sent is the one computed.
        let sent = vector["expected"]["wire"]["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0] == "Authorization")
            .map(|h| h[1].as_str().unwrap())
            .unwrap();
        assert_eq!(signature.authorization, sent, "{name}: wire Authorization");
    }
    assert_eq!(vectors.len(), 5, "every tencent vector was checked");
}

#[test]
fn tencent_signing_uses_the_utc_date_of_the_timestamp() {
    // 23:59:30 UTC on 2025-03-14 is already 03-15 in UTC+8: the scope must keep the UTC date.
    let request = Tc3Request {
        method: "POST",
        canonical_query: "",
        content_type: "application/json",
        host: "cvm.tencentcloudapi.com",
        body: b"{}",
        timestamp: 1_741_996_770,
    };
    let signature = tc3_sign(&request, "id", "key");
    assert_eq!(signature.credential_scope, "2025-03-14/cvm/tc3_request");
}

#[test]
fn zenlayer_vectors_reproduce_every_stage() {
    let vectors = load("zenlayer");
    let mut through_the_provider = 0;
    for vector in &vectors {
        let name = text(vector, "/name");
        let inputs = &vector["inputs"];
        let expected = &vector["expected"];
        let body = text(inputs, "/body");
        let timestamp = inputs["timestamp"].as_i64().unwrap();
        let (key_id, password) = (
            text(inputs, "/credentials/access_key_id"),
            text(inputs, "/credentials/access_key_password"),
        );
        let request = Zc2Request {
            method: text(inputs, "/method"),
            content_type: text(inputs, "/content_type"),
            host: text(inputs, "/host"),
            body: body.as_bytes(),
            timestamp,
        };
        let signature = zc2_sign(&request, key_id, password);
        let stages = [
            (
                "hashed payload",
                &signature.hashed_payload,
                "/hashed_payload",
            ),
            (
                "canonical request",
                &signature.canonical_request,
                "/canonical_request",
            ),
            (
                "string to sign",
                &signature.string_to_sign,
                "/string_to_sign",
            ),
            ("signature", &signature.signature, "/signature"),
            ("authorization", &signature.authorization, "/authorization"),
        ];
        for (stage, computed, pointer) in stages {
            assert_eq!(computed, text(expected, pointer), "{name}: {stage}");
        }
        let signed_headers = text(expected, "/signed_headers");
        assert!(
            signature
                .canonical_request
                .contains(&format!("\n\n{signed_headers}\n")),
            "{name}: signed headers"
        );
        assert!(
            signature
                .authorization
                .contains(&format!(" SignedHeaders={signed_headers}, ")),
            "{name}: signed headers in the authorization"
        );
        if let Some(published) = expected["published_signature"].as_str() {
            assert_eq!(
                signature.signature, published,
                "{name}: the vendor's published signature"
            );
        }
        // Surrounding whitespace in the credentials is stripped, as the SDK's Credential does.
        let padded = zc2_sign(&request, &format!(" {key_id}\t"), &format!("\n{password} "));
        assert_eq!(
            padded, signature,
            "{name}: credentials with surrounding whitespace"
        );

        let Some(wire) = expected.get("wire") else {
            continue;
        };
        let sent = |header: &str| {
            wire["headers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(header))
                .and_then(|h| h[1].as_str())
                .unwrap_or_else(|| panic!("{name}: the SDK sent no {header}"))
        };
        assert_eq!(text(wire, "/body"), body, "{name}: wire body");
        assert_eq!(
            text(wire, "/body_sha256"),
            signature.hashed_payload,
            "{name}: wire body hash"
        );
        assert_eq!(
            sent("Authorization"),
            signature.authorization,
            "{name}: wire Authorization"
        );
        assert_eq!(
            sent("Content-Length"),
            body.len().to_string(),
            "{name}: wire Content-Length"
        );

        // The provider builds and signs the very request the SDK sent: body, path and headers.
        let params: Value = serde_json::from_str(body).unwrap();
        let ids: Vec<String> = params["instanceIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap().to_string())
            .collect();
        let mut call = match text(inputs, "/action") {
            "StartInstances" => {
                ZenlayerZec.start_call(&ids, &Location::default(), &StartOptions::default())
            }
            "DescribeInstancesStatus" => ZenlayerZec.describe_call(&ids, &Location::default()),
            other => panic!("{name}: unexpected action {other}"),
        };
        assert_eq!(
            String::from_utf8_lossy(&call.body),
            body,
            "{name}: provider body"
        );
        // The version header is not signed: the older module's vectors differ only in it.
        for (header, value) in &mut call.headers {
            if header == "x-zc-version" {
                *value = text(inputs, "/version").to_string();
            }
        }
        let credentials = Credentials {
            key_id: key_id.to_string(),
            secret: Secret::new(password),
            token: None,
        };
        let now = chrono::DateTime::from_timestamp(timestamp, 0).unwrap();
        let host = text(inputs, "/host");
        let signed = ZenlayerZec.sign(&call, host, &Location::default(), &credentials, now);
        assert_eq!(
            signed.method.as_str(),
            text(wire, "/method"),
            "{name}: method"
        );
        assert_eq!(signed.path_and_query, text(wire, "/path"), "{name}: path");
        assert_eq!(signed.path_and_query, zenlayer::PATH, "{name}: path");
        let request_line = format!(
            "{} {} HTTP/1.1",
            signed.method.as_str(),
            signed.path_and_query
        );
        assert_eq!(
            request_line,
            text(wire, "/request_line"),
            "{name}: request line"
        );
        for header in &signed.headers {
            assert_eq!(
                header.value,
                sent(&header.name),
                "{name}: provider header {}",
                header.name
            );
        }
        for pair in wire["headers"].as_array().unwrap() {
            let header = pair[0].as_str().unwrap();
            // The SDK's own identification headers are extras the API does not require.
            if header.starts_with("x-zc-") && !header.starts_with("x-zc-sdk-") {
                assert!(
                    signed
                        .headers
                        .iter()
                        .any(|h| h.name.eq_ignore_ascii_case(header)),
                    "{name}: the provider does not send {header}"
                );
            }
        }
        through_the_provider += 1;
    }
    assert_eq!(vectors.len(), 7, "every zenlayer vector was checked");
    assert_eq!(
        through_the_provider, 6,
        "every zenlayer API vector went through the provider"
    );
}
