//! Credentials: the redacting [`Secret`] type and the per-cloud environment lookup.
//!
//! Secrets are only ever read by signing code through [`Secret::expose`]; nothing here implements
//! `Display`, and `Debug` prints `(redacted)`, so a secret cannot reach a log line or an error by
//! accident.

use std::fmt;

use serde::Deserialize;

use crate::error::Error;

/// A secret value (key, password, token). `Debug` never shows it and there is no `Display`.
///
/// It deserializes from a plain string, so a file's secret is a `Secret` from the moment it is
/// read and no settings type holds it as a `String`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for signing code only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

/// One cloud's credentials: a public key id, its secret, and an optional session token.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The public half (SecretId, AccessKey, PublicKey): sent in clear in signatures.
    pub key_id: String,
    /// The private half, used only to compute signatures.
    pub secret: Secret,
    /// A temporary-credential session token, sent as a header where the cloud wants one.
    pub token: Option<Secret>,
}

impl Credentials {
    /// The same credentials without whitespace around any part.
    pub fn trimmed(self) -> Self {
        Self {
            key_id: self.key_id.trim().to_string(),
            secret: Secret::new(self.secret.expose().trim()),
            token: self.token.map(|token| Secret::new(token.expose().trim())),
        }
    }

    /// The first part that cannot be sent as it is: a key id or token with a byte that is not
    /// visible ASCII (a stray newline or quote from a copy), or a secret with a control character.
    /// Such bytes would only fail every request after its retries.
    pub fn malformed_part(&self) -> Option<&'static str> {
        let visible = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic());
        if !visible(&self.key_id) {
            return Some("key id");
        }
        if self.secret.expose().is_empty() || self.secret.expose().chars().any(char::is_control) {
            return Some("secret");
        }
        match &self.token {
            Some(token) if !visible(token.expose()) => Some("session token"),
            _ => None,
        }
    }
}

/// Where one cloud's credentials came from, for the messages that tell a person which key the
/// cloud refused: names of variables, a config profile or a vendor CLI file, never a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialOrigin {
    /// Where the key id and secret came from, e.g. `TENCENTCLOUD_SECRET_ID and
    /// TENCENTCLOUD_SECRET_KEY`, `config profile `default``, `tccli's file ~/.tccli/default.credential`;
    /// empty when unknown.
    pub keys: String,
    /// Where the session token came from, when there is one, e.g. `TENCENTCLOUD_SECURITY_TOKEN`.
    pub token: Option<String>,
    /// The variable a session token would be set in for this cloud (`TENCENTCLOUD_SECURITY_TOKEN`),
    /// for clouds that take one.
    pub token_var: Option<&'static str>,
}

/// The environment variable names one cloud reads its credentials from, first match wins.
#[derive(Debug)]
pub struct CredentialVars {
    /// Names for the key id.
    pub key_id: &'static [&'static str],
    /// Names for the secret.
    pub secret: &'static [&'static str],
    /// Names for the optional session token.
    pub token: &'static [&'static str],
}

impl CredentialVars {
    /// Reads credentials through `env`; a missing key id or secret is an auth error (exit 3) that
    /// names the variables to set.
    pub fn resolve(
        &self,
        provider: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Credentials, Error> {
        let first = |names: &[&str]| names.iter().find_map(|name| env(name));
        let key_id = first(self.key_id);
        let secret = first(self.secret);
        let (Some(key_id), Some(secret)) = (key_id.clone(), secret.clone()) else {
            let mut missing = Vec::new();
            if key_id.is_none() {
                missing.push(self.key_id.join(" or "));
            }
            if secret.is_none() {
                missing.push(self.secret.join(" or "));
            }
            return Err(Error::auth(format!(
                "{provider} credentials missing: set {}",
                missing.join(" and ")
            )));
        };
        Ok(Credentials {
            key_id,
            secret: Secret::new(secret),
            token: first(self.token).map(Secret::new),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARS: CredentialVars = CredentialVars {
        key_id: &["ID"],
        secret: &["KEY"],
        token: &["TOKEN"],
    };

    #[test]
    fn secret_never_in_debug_output() {
        let credentials = Credentials {
            key_id: "AKIDpublic".into(),
            secret: Secret::new("sentinel-secret-value"),
            token: Some(Secret::new("sentinel-token-value")),
        };
        let printed = format!("{credentials:?} {credentials:#?}");
        assert!(!printed.contains("sentinel"), "{printed}");
        assert!(printed.contains("AKIDpublic"));
    }

    #[test]
    fn missing_secret_names_the_variable() {
        let env = |name: &str| (name == "ID").then(|| "id".to_string());
        let err = VARS.resolve("tencent", &env).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Auth);
        assert_eq!(err.to_string(), "tencent credentials missing: set KEY");
    }

    #[test]
    fn both_missing_names_both_variables() {
        let err = VARS.resolve("tencent", &|_| None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tencent credentials missing: set ID and KEY"
        );
    }

    #[test]
    fn token_is_optional() {
        let env = |name: &str| match name {
            "ID" => Some("id".to_string()),
            "KEY" => Some("key".to_string()),
            _ => None,
        };
        let credentials = VARS.resolve("tencent", &env).unwrap();
        assert_eq!(credentials.key_id, "id");
        assert_eq!(credentials.secret.expose(), "key");
        assert!(credentials.token.is_none());
    }
}
