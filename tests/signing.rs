//! Every signing vector in `tests/fixtures/vectors/`, reproduced stage by stage, byte for byte.
//!
//! The vectors come from the vendors' official SDKs (see the fixtures README). A failing assertion
//! names the vector and the stage, so a broken step is found without a debugger.

use std::path::Path;

use serde_json::Value;

use cloudstart::credentials::{Credentials, Secret};
use cloudstart::provider::compshare::{form_body, verify_ac_sign, CONTENT_TYPE, START_ACTION};
use cloudstart::provider::tencent::{tc3_sign, Tc3Request};
use cloudstart::provider::{Location, Provider, StartOptions, UcloudCompshare};
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

/// The value of header `name` in a vector's recorded wire headers.
fn wire_header<'a>(wire: &'a Value, name: &str) -> &'a str {
    wire["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == name)
        .and_then(|h| h[1].as_str())
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[test]
fn compshare_vectors_reproduce_every_stage() {
    let vectors = load("compshare");
    let mut requests_checked = 0;
    for vector in &vectors {
        let requests = vector["requests"].as_array().unwrap();
        assert!(!requests.is_empty(), "{}", text(vector, "/name"));
        for (n, request) in requests.iter().enumerate() {
            let name = format!("{} request {n}", text(vector, "/name"));
            let inputs = &request["inputs"];
            let expected = &request["expected"];
            let public_key = text(inputs, "/credentials/public_key");
            let private_key = text(inputs, "/credentials/private_key");
            let params: Vec<(String, String)> = inputs["params_in_sdk_order"]
                .as_array()
                .unwrap()
                .iter()
                .map(|pair| {
                    (
                        pair[0].as_str().unwrap().into(),
                        pair[1].as_str().unwrap().into(),
                    )
                })
                .collect();
            let key_param = params.iter().find(|(k, _)| k == "PublicKey");
            assert_eq!(
                key_param.map(|(_, v)| v.as_str()),
                Some(public_key),
                "{name}: PublicKey"
            );

            let signature = verify_ac_sign(&params, private_key);
            let string_to_sign = text(expected, "/string_to_sign");
            assert_eq!(
                signature.sorted_params,
                string_to_sign.strip_suffix(private_key).unwrap(),
                "{name}: sorted parameters"
            );
            assert_eq!(
                signature.string_to_sign.expose(),
                string_to_sign,
                "{name}: string to sign"
            );
            assert_eq!(
                signature.signature,
                text(expected, "/signature"),
                "{name}: signature"
            );
            if let Some(published) = expected["published_signature"].as_str() {
                assert_eq!(
                    signature.signature, published,
                    "{name}: published signature"
                );
            }

            let mut sent = params.clone();
            sent.push(("Signature".into(), signature.signature.clone()));
            let body = form_body(&sent);
            assert_eq!(body, text(inputs, "/body"), "{name}: form body");
            let wire = &expected["wire"];
            if !wire.is_null() {
                assert_eq!(body, text(wire, "/body"), "{name}: wire body");
                assert_eq!(
                    hex_sha256(body.as_bytes()),
                    text(wire, "/body_sha256"),
                    "{name}: body hash"
                );
                assert_eq!(
                    text(wire, "/request_line"),
                    "POST / HTTP/1.1",
                    "{name}: request line"
                );
                assert_eq!(
                    wire_header(wire, "Host"),
                    text(inputs, "/host"),
                    "{name}: Host"
                );
                assert_eq!(
                    wire_header(wire, "Content-Type"),
                    CONTENT_TYPE,
                    "{name}: Content-Type"
                );
                assert_eq!(
                    wire_header(wire, "Content-Length"),
                    body.len().to_string(),
                    "{name}: Content-Length"
                );
                assert_eq!(
                    wire_header(wire, "U-Timestamp-Ms"),
                    text(inputs, "/u_timestamp_ms"),
                    "{name}: U-Timestamp-Ms"
                );
                assert!(
                    text(wire, "/raw_request").ends_with(&format!("\r\n\r\n{body}")),
                    "{name}: raw request"
                );
            }
            check_compshare_provider_signs_like_the_sdk(&name, &params, request);
            requests_checked += 1;
        }
    }
    assert_eq!(vectors.len(), 5, "every compshare vector was checked");
    assert_eq!(requests_checked, 7, "every compshare request was checked");
}

/// For the plain start vectors, the provider itself (not just the signer) sends the SDK's fields
/// with the SDK's signature; only their order differs, which nothing signs.
fn check_compshare_provider_signs_like_the_sdk(
    name: &str,
    params: &[(String, String)],
    request: &Value,
) {
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let plain_start = get("Action").as_deref() == Some(START_ACTION)
        && params.iter().all(|(k, _)| {
            ["Action", "Region", "Zone", "UHostId", "PublicKey"].contains(&k.as_str())
        });
    if !plain_start {
        return;
    }
    let inputs = &request["inputs"];
    let location = Location {
        region: get("Region"),
        zone: get("Zone"),
    };
    let credentials = Credentials {
        key_id: text(inputs, "/credentials/public_key").into(),
        secret: Secret::new(text(inputs, "/credentials/private_key")),
        token: None,
    };
    let call = UcloudCompshare.start_call(
        &[get("UHostId").unwrap()],
        &location,
        &StartOptions::default(),
    );
    let now = chrono::DateTime::from_timestamp(1_741_996_770, 0).unwrap();
    let signed = UcloudCompshare.sign(&call, text(inputs, "/host"), &location, &credentials, now);
    let fields = |body: &str| {
        let mut fields: Vec<String> = body.split('&').map(str::to_string).collect();
        fields.sort();
        fields
    };
    assert_eq!(
        fields(std::str::from_utf8(&signed.body).unwrap()),
        fields(text(inputs, "/body")),
        "{name}: the provider's form fields"
    );
}
