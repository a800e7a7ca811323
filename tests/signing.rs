//! Every signing vector in `tests/fixtures/vectors/`, reproduced stage by stage, byte for byte.
//!
//! The vectors come from the vendors' official SDKs (see the fixtures README). A failing assertion
//! names the vector and the stage, so a broken step is found without a debugger.

use std::path::Path;

use serde_json::Value;

use cloudstart::provider::tencent::{tc3_sign, Tc3Request};
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
