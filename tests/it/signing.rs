//! Every signing vector in `tests/fixtures/vectors/`, reproduced stage by stage, byte for byte.
//!
//! The vectors come from the vendors' official SDKs (see the fixtures README). One data-driven test
//! walks every vectors file and the registry, signing each vector through its provider's
//! `vector_stages`; a failing assertion names the cloud, the vector and the stage's pointer, so a
//! broken step is found without a debugger. The per-cloud tests below check what that cannot see
//! generically: the requests the SDK sent on the wire and the ones the provider itself builds.
//!
//! One cohesive suite (every cloud's vectors and what its provider sends), kept in one file.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use cloudstart::credentials::{Credentials, Secret};
use cloudstart::provider::compshare::{form_body, verify_ac_sign, CONTENT_TYPE, START_ACTION};
use cloudstart::provider::qingcloud::{qingcloud_sign, QingcloudRequest};
use cloudstart::provider::tencent::{tc3_sign, Tc3Request};
use cloudstart::provider::volcengine::{sign_v4, signing_key, V4Request};
use cloudstart::provider::zenlayer::{self, zc2_sign, Zc2Request};
use cloudstart::provider::{
    Action, ActionOptions, ApiCall, Location, Method, Provider, QingcloudEhpc, UcloudCompshare,
    VolcengineEcs, ZenlayerZec,
};
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

/// The vector files, by cloud: every `tests/fixtures/vectors/*.json`.
fn vector_files() -> BTreeMap<String, Value> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vectors");
    (std::fs::read_dir(&dir).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let cloud = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let file = serde_json::from_str(&text)
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            (cloud, file)
        })
        .collect()
}

/// Every vector file belongs to a registered cloud and every registered cloud has one; each
/// vector (or each request of a multi-request vector) is signed through its provider's
/// `vector_stages`, and every stage it exposes equals the SDK's byte for byte. A new cloud needs
/// only its provider and its vectors file for this test to cover it.
#[test]
fn every_vectors_file_reproduces_its_cloud_s_stages() {
    let files = vector_files();
    for cloud in files.keys() {
        assert!(
            cloudstart::provider::find(cloud).is_some(),
            "tests/fixtures/vectors/{cloud}.json names no registered cloud"
        );
    }
    for provider in cloudstart::provider::PROVIDERS {
        let cloud = provider.name();
        let file = (files.get(cloud))
            .unwrap_or_else(|| panic!("{cloud}: no tests/fixtures/vectors/{cloud}.json"));
        assert_eq!(file["provider"], cloud, "{cloud}.json: its `provider`");
        let vectors = file["vectors"].as_array().unwrap();
        assert!(!vectors.is_empty(), "{cloud}.json has no vectors");
        let mut checked = 0;
        for vector in vectors {
            let cases = match vector["requests"].as_array() {
                Some(requests) => requests.iter().collect(),
                None => vec![vector],
            };
            for (n, case) in cases.iter().enumerate() {
                let name = format!("{cloud}: {} #{n}", text(vector, "/name"));
                let stages = (provider.vector_stages(&case["inputs"]))
                    .unwrap_or_else(|err| panic!("{name}: {err}"));
                assert!(!stages.is_empty(), "{name}: no stages");
                for (pointer, computed) in stages {
                    let expected = case.pointer(pointer).and_then(Value::as_str);
                    assert_eq!(Some(computed.as_str()), expected, "{name}: {pointer}");
                }
                checked += 1;
            }
        }
        assert!(checked > 0, "{cloud}: no vector checked");
    }
}

#[test]
fn tencent_vectors_authorize_what_the_sdk_sent() {
    let vectors = load("tencent");
    for vector in &vectors {
        let name = text(vector, "/name");
        let inputs = &vector["inputs"];
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
fn qingcloud_vectors_decode_and_send_as_the_sdk_did() {
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
        let string_to_sign = text(expected, "/string_to_sign");
        assert_eq!(
            signature.canonical_query,
            string_to_sign.split('\n').nth(2).unwrap(),
            "{name}: canonical query"
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
    let call = QingcloudEhpc.action_call(Action::Start, &ids, &location, &ActionOptions::default());
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

/// A JSON object of strings as a sorted map.
fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn volcengine_vectors_send_what_the_sdk_sent() {
    let vectors = load("volcengine");
    let (mut wire_checked, mut provider_checked) = (0, 0);
    for vector in &vectors {
        let name = text(vector, "/name");
        let inputs = &vector["inputs"];
        let expected = &vector["expected"];
        let body = text(inputs, "/body");
        let query: Vec<(String, String)> = inputs["query_params_in_sdk_order"]
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
        // The SDK vectors signed its own extra headers; the signer takes whatever set it is given.
        let header_values = string_map(&inputs["signed_header_values"]);
        let headers: Vec<(&str, &str)> = header_values
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let (access_key, secret_key) = (
            text(inputs, "/credentials/access_key_id"),
            text(inputs, "/credentials/secret_access_key"),
        );
        let (region, x_date) = (text(inputs, "/region"), text(inputs, "/x_date"));
        let signature = sign_v4(
            &V4Request {
                method: text(inputs, "/method"),
                path: text(inputs, "/path"),
                query: &query,
                headers: &headers,
                body: body.as_bytes(),
                region,
                x_date,
            },
            access_key,
            secret_key,
        );
        let canonical_request = text(expected, "/canonical_request");
        assert_eq!(
            Some(signature.canonical_query.as_str()),
            canonical_request.lines().nth(2),
            "{name}: canonical query"
        );
        assert_eq!(
            hex::encode(signing_key(secret_key, &x_date[..8], region)),
            text(vector, "/crosscheck/k_signing_hex"),
            "{name}: signing key"
        );
        // The query cloudstart sends, built in the SDK's parameter order, is the SDK's.
        assert_eq!(
            encode_query(&query),
            text(inputs, "/query"),
            "{name}: wire query"
        );
        if let Some(wire) = expected.get("wire") {
            let sent: BTreeMap<String, String> = wire["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h[0].as_str().unwrap().to_ascii_lowercase(),
                        h[1].as_str().unwrap().into(),
                    )
                })
                .collect();
            assert_eq!(
                sent["authorization"], signature.authorization,
                "{name}: wire Authorization"
            );
            for (header, value) in &header_values {
                assert_eq!(&sent[header], value, "{name}: wire {header}");
            }
            assert_eq!(
                text(wire, "/query"),
                text(inputs, "/query"),
                "{name}: wire query"
            );
            wire_checked += 1;
        }
        // The minimal-header vectors are exactly what the provider itself sends.
        if let Some(after) = expected.get("headers_after_signing") {
            let call = ApiCall {
                action: "vector",
                method: Method::Get,
                path: text(inputs, "/path").into(),
                query: query.clone(),
                headers: Vec::new(),
                body: body.as_bytes().to_vec(),
            };
            let credentials = Credentials {
                key_id: access_key.into(),
                secret: Secret::new(secret_key),
                token: inputs["credentials"]["session_token"]
                    .as_str()
                    .map(Secret::new),
            };
            let location = Location {
                region: Some(region.into()),
                zone: None,
            };
            let now = text(inputs, "/timestamp_utc").parse().unwrap();
            let signed =
                VolcengineEcs.sign(&call, text(inputs, "/host"), &location, &credentials, now);
            let headers: BTreeMap<String, String> = signed
                .headers
                .iter()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect();
            assert_eq!(headers, string_map(after), "{name}: headers after signing");
            let path = format!("{}?{}", text(inputs, "/path"), text(inputs, "/query"));
            assert_eq!(signed.path_and_query, path, "{name}: provider request line");
            provider_checked += 1;
        }
    }
    assert_eq!(vectors.len(), 6, "every volcengine vector was checked");
    assert_eq!((wire_checked, provider_checked), (3, 3));
}

#[test]
fn volcengine_signing_drops_only_default_ports_from_the_host() {
    let sign = |host: &str| {
        let headers = [("Host", host), ("X-Date", "20250314T235930Z")];
        let request = V4Request {
            method: "GET",
            path: "/",
            query: &[],
            headers: &headers,
            body: b"",
            region: "cn-beijing",
            x_date: "20250314T235930Z",
        };
        sign_v4(&request, "ak", "sk").canonical_request
    };
    assert!(sign("h.example:443").contains("\nhost:h.example\n"));
    assert!(sign("h.example:80").contains("\nhost:h.example\n"));
    assert!(sign("h.example:8080").contains("\nhost:h.example:8080\n"));
}

#[test]
fn zenlayer_vectors_send_what_the_sdk_sent() {
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
            "StartInstances" => ZenlayerZec.action_call(
                Action::Start,
                &ids,
                &Location::default(),
                &ActionOptions::default(),
            ),
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
fn compshare_vectors_send_what_the_sdk_sent() {
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
            if let Some(published) = expected["published_signature"].as_str() {
                assert_eq!(
                    signature.signature, published,
                    "{name}: published signature"
                );
            }

            let mut sent = params.clone();
            sent.push(("Signature".into(), signature.signature.clone()));
            let body = form_body(&sent);
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
    let call = UcloudCompshare.action_call(
        Action::Start,
        &[get("UHostId").unwrap()],
        &location,
        &ActionOptions::default(),
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
