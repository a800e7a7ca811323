//! Shared signing primitives: hashes, HMACs and their encodings.
//!
//! Only building blocks live here, named by their output (as in reqsign's `hash.rs`). Each cloud's
//! scheme — which strings are joined, in which order, with which key — lives in that cloud's
//! provider module, as a pure function of the request, the credentials and the time.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of `data`.
pub fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
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

/// Compares two strings in time independent of where they differ, for signature checks.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Percent-encodes `value` keeping only RFC 3986 unreserved characters (`A-Z a-z 0-9 - _ . ~`),
/// upper-case hex, space as `%20`.
pub fn percent_encode_unreserved(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `k=v&k=v` in the given order, both sides encoded with [`percent_encode_unreserved`].
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
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
