//! Every signing vector in `tests/fixtures/vectors/`, reproduced stage by stage, byte for byte.
//!
//! The vectors come from the vendors' official SDKs (see the fixtures README). A failing assertion
//! names the vector and the stage, so a broken step is found without a debugger.

use std::path::Path;

use serde_json::Value;

use cloudstart::credentials::{Credentials, Secret};
use cloudstart::provider::qingcloud::{qingcloud_sign, QingcloudRequest};
use cloudstart::provider::tencent::{tc3_sign, Tc3Request};
use cloudstart::provider::{Location, Provider, QingcloudEhpc, StartOptions};
use cloudstart::sign::{encode_query, form_decode, hex_sha256};

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
fn qingcloud_vectors_reproduce_every_stage() {
    let vectors = load("qingcloud");
    for vector in &vectors {
        let name = text(vector, "/name");
        let inputs = &vector["inputs"];
        let expected = &vector["expected"];
        let (method, path, body) = (
            text(inputs, "/method"),
            text(inputs, "/path"),
            text(inputs, "/body"),
        );
        // The signer takes decoded parameters, as the SDK's signer parses its own query.
        let query: Vec<(String, String)> = text(inputs, "/query_before_signature")
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                (form_decode(k), form_decode(v))
            })
            .collect();
        let signature = qingcloud_sign(
            &QingcloudRequest {
                method,
                path,
                query: &query,
                body: body.as_bytes(),
            },
            text(inputs, "/credentials/secret_access_key"),
        );
        assert_eq!(
            signature.body_md5,
            text(expected, "/body_md5_hex"),
            "{name}: body md5"
        );
        let string_to_sign = text(expected, "/string_to_sign");
        assert_eq!(
            signature.canonical_query,
            string_to_sign.split('\n').nth(2).unwrap(),
            "{name}: canonical query"
        );
        assert_eq!(
            signature.string_to_sign, string_to_sign,
            "{name}: string to sign"
        );
        assert_eq!(
            signature.signature,
            text(expected, "/signature_base64"),
            "{name}: signature"
        );
        assert_eq!(
            signature.form_value,
            text(expected, "/signature_sdk_value"),
            "{name}: signature after quote_plus"
        );
        assert_eq!(
            signature.wire_value,
            text(expected, "/signature_query_value_raw"),
            "{name}: signature on the wire (double-encoded)"
        );
        // What the server sees after decoding the query once.
        let decoded_once = form_decode(&signature.wire_value);
        assert_eq!(decoded_once, signature.form_value, "{name}: one decode");
        if let Some(after) = expected["signature_after_one_url_decode"].as_str() {
            assert_eq!(decoded_once, after, "{name}: signature after one decode");
        }
        assert_eq!(
            form_decode(&decoded_once),
            signature.signature,
            "{name}: two decodes"
        );
        // The query the SDK sent: its own parameters in its order, then the signature.
        let wire_query = format!(
            "{}&signature={}",
            encode_query(&query),
            signature.wire_value
        );
        assert_eq!(
            wire_query,
            text(expected, "/wire/query"),
            "{name}: wire query"
        );
        assert_eq!(
            format!("{method} {path}?{wire_query} HTTP/1.1"),
            text(expected, "/wire/request_line"),
            "{name}: request line"
        );
        if let Some(published) = expected["published_signature_query_value"].as_str() {
            // The signature page's published value is a documentation error (see the vector).
            assert_eq!(expected["published_signature_matches_sdk"], false);
            assert_ne!(signature.wire_value, published, "{name}: published value");
        }
        if method == "POST" {
            qingcloud_start_request_matches_the_sdk(vector);
        }
    }
    assert_eq!(vectors.len(), 5, "every qingcloud vector was checked");
}

/// The provider's own start call, signed at the vector's time, is the request the SDK sent.
fn qingcloud_start_request_matches_the_sdk(vector: &Value) {
    let name = text(vector, "/name");
    let inputs = &vector["inputs"];
    let wire = &vector["expected"]["wire"];
    let body: Value = serde_json::from_str(text(inputs, "/body")).unwrap();
    let ids: Vec<String> = body["cluster_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    let location = Location {
        region: None,
        zone: Some(text(inputs, "/zone").to_string()),
    };
    let call = QingcloudEhpc.start_call(&ids, &location, &StartOptions::default());
    assert_eq!(
        String::from_utf8(call.body.clone()).unwrap(),
        text(wire, "/body"),
        "{name}: start body"
    );
    let credentials = Credentials {
        key_id: text(inputs, "/credentials/access_key_id").to_string(),
        secret: Secret::new(text(inputs, "/credentials/secret_access_key")),
        token: None,
    };
    let now = chrono::DateTime::parse_from_rfc3339(text(inputs, "/timestamp"))
        .unwrap()
        .to_utc();
    let host = text(inputs, "/host");
    let signed = QingcloudEhpc.sign(&call, host, &location, &credentials, now);
    assert_eq!(
        signed.path_and_query,
        format!("{}?{}", text(wire, "/path"), text(wire, "/query")),
        "{name}: signed start request"
    );
    let header = |name: &str| {
        signed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    };
    assert_eq!(header("Host"), Some(host), "{name}: Host");
    assert_eq!(
        header("Content-Type"),
        Some(text(inputs, "/content_type")),
        "{name}: Content-Type"
    );
}
