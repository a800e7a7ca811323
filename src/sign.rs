//! Shared signing primitives: hashes, HMACs, percent-encoding sets and their encodings.
//!
//! Only building blocks live here, named by their output (as in reqsign's `hash.rs`). Each cloud's
//! scheme — which strings are joined, in which order, with which key — lives in that cloud's
//! provider module, as a pure function of the request, the credentials and the time.

use base64::Engine;
use hmac::{Hmac, Mac};
use md5::Md5;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of `data`.
pub fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Lower-case hex MD5 of `data` (QingCloud hashes the body with it).
pub fn hex_md5(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// Lower-case hex SHA-1 of `data` (UCloud's parameter signature).
pub fn hex_sha1(data: &[u8]) -> String {
    hex::encode(Sha1::digest(data))
}

/// Raw HMAC-SHA256 of `data` under `key`, for key-derivation chains.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Lower-case hex HMAC-SHA256 of `data` under `key`.
pub fn hex_hmac_sha256(key: &[u8], data: &[u8]) -> String {
    hex::encode(hmac_sha256(key, data))
}

/// Standard (padded) base64 of HMAC-SHA256 of `data` under `key`.
pub fn base64_hmac_sha256(key: &[u8], data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(key, data))
}

/// The SigV4-shaped canonical request that TC3, ZC2 and Volcengine's signer share:
/// `METHOD\nPATH\nQUERY\n` + one `name:value\n` per signed header (names lower-case, in the
/// order given) + `\n` + the `;`-joined names + `\n` + the payload hash. The header block ends with
/// `\n`, so a blank line follows it.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    payload_hash: &str,
) -> String {
    let mut out = format!("{method}\n{path}\n{query}\n");
    for (name, value) in headers {
        out.push_str(name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }
    out.push('\n');
    let names: Vec<&str> = headers.iter().map(|(name, _)| *name).collect();
    out.push_str(&names.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// Compares two strings in time independent of where they differ, for signature checks.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// RFC 3986 unreserved characters (`A-Z a-z 0-9 - _ . ~`) kept, every other byte `%XX` with
/// upper-case hex, space as `%20`: Python's `quote(v, safe="-_.~")`. Volcengine's canonical query
/// must be built with exactly this set (its SDK's rule). Tencent's TC3 and QingCloud sign or decode the
/// query as sent, so every query string cloudstart sends ([`encode_query`]) uses it too.
pub const UNRESERVED_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// [`UNRESERVED_ENCODE_SET`] with `/` kept as well: Python's `quote(v)` with its default
/// `safe="/"`. QingCloud's canonical query and canonical URI use it, because its SDK signs with
/// `quote`.
pub const QUOTE_ENCODE_SET: &AsciiSet = &UNRESERVED_ENCODE_SET.remove(b'/');

/// [`UNRESERVED_ENCODE_SET`] with space left alone so that [`form_encode`] can write it as `+`
/// afterwards, as Python's `quote_plus` does (`quote(v, safe=" ")` then `' '` → `'+'`). CompShare's
/// form body and QingCloud's double-encoded signature use it, because their SDKs hand them to
/// `quote_plus` (through `requests` and `urlencode`).
pub const QUOTE_PLUS_ENCODE_SET: &AsciiSet = &UNRESERVED_ENCODE_SET.remove(b' ');

/// `value` encoded with [`UNRESERVED_ENCODE_SET`] (Volcengine's canonical query).
pub fn percent_encode_unreserved(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED_ENCODE_SET).to_string()
}

/// `value` encoded with [`QUOTE_ENCODE_SET`] (QingCloud's canonical query and URI).
pub fn percent_encode_keep_slash(value: &str) -> String {
    utf8_percent_encode(value, QUOTE_ENCODE_SET).to_string()
}

/// Python's `quote_plus(v)` (form encoding): [`QUOTE_PLUS_ENCODE_SET`], then space as `+`. A `+` in
/// `value` is already `%2B` by then, so the replacement touches only spaces. Form bodies
/// (CompShare) and QingCloud's two encodings of its signature use it.
pub fn form_encode(value: &str) -> String {
    utf8_percent_encode(value, QUOTE_PLUS_ENCODE_SET)
        .to_string()
        .replace(' ', "+")
}

/// Python's `unquote_plus(v)`, the inverse of [`form_encode`]: `+` as space, `%XX` as that byte;
/// a `%` not followed by two hex digits stays as it is, and invalid UTF-8 becomes U+FFFD. The
/// simulator decodes query strings with it (QingCloud's server decodes its query once).
pub fn form_decode(value: &str) -> String {
    // `+` becomes a space before decoding, so an encoded `%2B` still decodes to `+`.
    percent_decode_str(&value.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The `name=value` pairs of a query string or form body, in order, each side [`form_decode`]d.
pub fn form_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(name), form_decode(value))
        })
        .collect()
}

/// `k=v&k=v` in the given order, both sides encoded with [`UNRESERVED_ENCODE_SET`].
pub fn encode_query(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encode_unreserved(k),
                percent_encode_unreserved(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty_input_is_the_well_known_constant() {
        assert_eq!(
            hex_sha256(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            hex_hmac_sha256(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn query_encoding_keeps_unreserved_and_escapes_the_rest() {
        let params = [
            ("InstanceIds.0".to_string(), "ins-a b/c".to_string()),
            ("T".to_string(), "2025-03-14T23:59:30Z~".to_string()),
        ];
        assert_eq!(
            encode_query(&params),
            "InstanceIds.0=ins-a%20b%2Fc&T=2025-03-14T23%3A59%3A30Z~"
        );
    }

    #[test]
    fn python_quote_variants_agree_with_python() {
        // Expected values from Python 3.11's urllib.parse.
        let raw = "a b/c:d+e=f@g~h";
        assert_eq!(
            percent_encode_unreserved(raw),
            "a%20b%2Fc%3Ad%2Be%3Df%40g~h"
        );
        assert_eq!(percent_encode_keep_slash(raw), "a%20b/c%3Ad%2Be%3Df%40g~h");
        assert_eq!(form_encode(raw), "a+b%2Fc%3Ad%2Be%3Df%40g~h");
    }

    #[test]
    fn encode_sets_keep_exactly_what_python_keeps() {
        // Python's `quote` keeps `A-Z a-z 0-9 _ . - ~` plus its `safe` characters and escapes every
        // other ASCII byte; `quote_plus` also writes space as `+`.
        for byte in 0u8..0x80 {
            let raw = char::from(byte).to_string();
            let escaped = format!("%{byte:02X}");
            let unreserved = byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte);
            let expect = |kept: bool| if kept { raw.clone() } else { escaped.clone() };
            assert_eq!(percent_encode_unreserved(&raw), expect(unreserved));
            assert_eq!(
                percent_encode_keep_slash(&raw),
                expect(unreserved || byte == b'/')
            );
            let form = if byte == b' ' {
                "+".to_string()
            } else {
                expect(unreserved)
            };
            assert_eq!(form_encode(&raw), form);
        }
        assert_eq!(percent_encode_unreserved("ü"), "%C3%BC");
        assert_eq!(form_encode("ü"), "%C3%BC");
    }

    #[test]
    fn form_decode_inverts_form_encode() {
        let raw = "a b/c:d+e=f@g~h%ü";
        assert_eq!(form_decode(&form_encode(raw)), raw);
        // Two rounds of encoding need two rounds of decoding (QingCloud's signature).
        assert_eq!(form_decode("x%252By%253D"), "x%2By%3D");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("%zz%4"), "%zz%4");
        assert_eq!(
            form_pairs("a=1&&b&c=x%3Dy+z"),
            [("a", "1"), ("b", ""), ("c", "x=y z")].map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn digests_match_known_values() {
        assert_eq!(hex_md5(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex_sha1(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            base64_hmac_sha256(b"key", b"The quick brown fox jumps over the lazy dog"),
            "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
        );
    }

    #[test]
    fn canonical_request_ends_its_header_block_with_a_blank_line() {
        let canonical = canonical_request(
            "POST",
            "/",
            "",
            &[("content-type", "application/json"), ("host", "h")],
            "abc",
        );
        assert_eq!(
            canonical,
            "POST\n/\n\ncontent-type:application/json\nhost:h\n\ncontent-type;host\nabc"
        );
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
