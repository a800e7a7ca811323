//! The files the clouds' own CLIs keep, read at the lowest precedence, so people who already use
//! those tools need no new setup. Each is read only for its cloud, never written.
//!
//! | cloud | CLI | files (under `$HOME`) | profile |
//! |---|---|---|---|
//! | tencent | tccli | `.tccli/<profile>.credential` (`secretId`, `secretKey`, `token`), `.tccli/<profile>.configure` (`_sys_param.region`, `cvm.endpoint`) | `TCCLI_PROFILE`, else `default` |
//! | volcengine | ve | `.volcengine/config.json`: `profiles.<name>.{access-key, secret-key, session-token, region, endpoint}` | the file's `current` |
//! | zenlayer | zeno | `.zenlayer/credentials.json`: `<profile>.{access_key_id, access_key_secret}` | `ZENLAYER_PROFILE`, else `.zenlayer/config.json`'s `current_profile`, else `default` |
//! | qingcloud | qingcloud-cli | `.qingcloud/config.yaml`: `qy_access_key_id`, `qy_secret_access_key`, `zone` | one per file |
//! | compshare | ucloud-cli | `.ucloud/credential.json` (`[{profile, public_key, private_key}]`), `.ucloud/config.json` (`[{profile, active, region, zone}]`, or one object in old versions) | the `active` one |
//!
//! A `--profile` other than `default` selects the vendor profile of the same name, even one
//! cloudstart's own config file does not define; qingcloud-cli and ucloud-cli's old single-object
//! file have no named profiles and serve the default one only. An unreadable or malformed vendor
//! file is skipped with a warning: it belongs to another tool.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tracing::warn;

use super::config::DEFAULT_PROFILE;
use super::files::{json_problem, read_local_text};
use crate::credentials::Secret;
use crate::env_vars::EnvVars;
use crate::provider::{tencent, zenlayer};

/// What a vendor CLI's files hold for one cloud.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorSettings {
    /// The file holding the credentials (for `config check` and error messages).
    pub credentials_file: PathBuf,
    /// The file holding region, zone and endpoint: tccli's `.configure` and ucloud-cli's
    /// `config.json` are not the credentials file.
    pub settings_file: PathBuf,
    /// Key id.
    pub key_id: Option<String>,
    /// Secret.
    pub secret: Option<Secret>,
    /// Session token.
    pub token: Option<Secret>,
    /// Region.
    pub region: Option<String>,
    /// Zone.
    pub zone: Option<String>,
    /// Endpoint, as a base URL.
    pub endpoint: Option<String>,
}

/// Where one cloud's vendor CLI keeps its settings, and how to read them.
#[derive(Debug)]
pub struct VendorCli {
    /// The `--provider` value of the cloud whose CLI this is.
    pub provider: &'static str,
    /// The CLI's name.
    pub cli: &'static str,
    /// The files read, relative to the home directory (for the man pages' FILES).
    pub files: &'static [&'static str],
    /// Reads the CLI's files under the home directory, for the profile chosen by `--profile`
    /// (`None` for the default one, which lets the CLI's own choice stand).
    read: ReadFn,
}

/// A vendor CLI's reader: `(home, chosen profile, environment)`.
type ReadFn = fn(&Path, Option<&str>, &dyn Fn(&str) -> Option<String>) -> Option<VendorSettings>;

/// Every cloud's vendor CLI, one line per provider in `PROVIDERS` (the table in the module docs).
/// `tests/it/registry.rs` fails for a registered cloud without a line here.
pub static VENDOR_CLIS: &[VendorCli] = &[
    VendorCli {
        provider: "tencent",
        cli: "tccli",
        files: &[".tccli/<profile>.credential", ".tccli/<profile>.configure"],
        read: tccli,
    },
    VendorCli {
        provider: "volcengine",
        cli: "ve",
        files: &[".volcengine/config.json"],
        read: |home, chosen, _| ve(home, chosen),
    },
    VendorCli {
        provider: "zenlayer",
        cli: "zeno",
        files: &[".zenlayer/credentials.json", ".zenlayer/config.json"],
        read: zeno,
    },
    VendorCli {
        provider: "qingcloud",
        cli: "qingcloud-cli",
        files: &[".qingcloud/config.yaml"],
        read: |home, chosen, _| chosen.is_none().then(|| qingcloud_cli(home)).flatten(),
    },
    VendorCli {
        provider: "compshare",
        cli: "ucloud-cli",
        files: &[".ucloud/credential.json", ".ucloud/config.json"],
        read: |home, chosen, _| ucloud_cli(home, chosen),
    },
];

/// The vendor CLI of the cloud called `provider`, if it has one.
pub fn cli_for(provider: &str) -> Option<&'static VendorCli> {
    VENDOR_CLIS.iter().find(|cli| cli.provider == provider)
}

/// The vendor CLI settings for `cloud`, if its files exist under `$HOME`.
pub fn read(
    cloud: &str,
    profile: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<VendorSettings> {
    let cli = cli_for(cloud)?;
    let home = PathBuf::from(env(EnvVars::HOME).or_else(|| env(EnvVars::USERPROFILE))?);
    let chosen = (profile != DEFAULT_PROFILE).then_some(profile);
    let settings = (cli.read)(&home, chosen, env)?;
    (settings.key_id.is_some() || settings.region.is_some() || settings.zone.is_some())
        .then_some(settings)
}

/// Reads a vendor file as text; `None` if absent, a warning if unreadable (not a regular file,
/// too large).
fn text_file(path: &Path) -> Option<String> {
    match read_local_text(path, "vendor CLI file") {
        Ok(text) => Some(text),
        Err(err) if err.is_not_found() => None,
        Err(err) => {
            warn!("{err}; skipping it");
            None
        }
    }
}

/// Reads a JSON file; `None` if absent, a warning if unreadable or malformed. The warning names
/// the line and column, never the text: the file holds secrets.
fn json_file(path: &Path) -> Option<Value> {
    let text = text_file(path)?;
    match serde_json::from_str(&text) {
        Ok(value) => Some(value),
        Err(err) => {
            warn!(
                "skipping the vendor CLI file {}:{}",
                path.display(),
                json_problem(&text, &err)
            );
            None
        }
    }
}

/// A non-empty string at `pointer`, as a `String` or, for a secret, a [`Secret`].
fn text<T: From<String>>(value: &Value, pointer: &str) -> Option<T> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| T::from(s.to_string()))
}

/// A host or URL as a base URL.
fn base_url(endpoint: Option<String>) -> Option<String> {
    endpoint.map(|e| {
        if e.contains("://") {
            e
        } else {
            format!("https://{e}")
        }
    })
}

fn tccli(
    home: &Path,
    chosen: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<VendorSettings> {
    let profile = chosen
        .map(str::to_string)
        .or_else(|| env(tencent::TCCLI_PROFILE))
        .unwrap_or_else(|| DEFAULT_PROFILE.into());
    let dir = home.join(".tccli");
    let credentials_file = dir.join(format!("{profile}.credential"));
    let settings_file = dir.join(format!("{profile}.configure"));
    let credential = json_file(&credentials_file).unwrap_or(Value::Null);
    let configure = json_file(&settings_file).unwrap_or(Value::Null);
    Some(VendorSettings {
        key_id: text(&credential, "/secretId"),
        secret: text(&credential, "/secretKey"),
        token: text(&credential, "/token"),
        region: text(&configure, "/_sys_param/region"),
        zone: None,
        endpoint: base_url(text(&configure, "/cvm/endpoint"))
            .filter(|e| e != "https://cvm.tencentcloudapi.com"),
        credentials_file,
        settings_file,
    })
}

fn ve(home: &Path, chosen: Option<&str>) -> Option<VendorSettings> {
    let path = home.join(".volcengine").join("config.json");
    let config = json_file(&path)?;
    let name = chosen
        .map(str::to_string)
        .or_else(|| text(&config, "/current"))?;
    let profile = config.pointer(&format!("/profiles/{name}"))?;
    Some(VendorSettings {
        key_id: text(profile, "/access-key"),
        secret: text(profile, "/secret-key"),
        token: text(profile, "/session-token"),
        region: text(profile, "/region"),
        zone: None,
        endpoint: base_url(text(profile, "/endpoint")),
        credentials_file: path.clone(),
        settings_file: path,
    })
}

fn zeno(
    home: &Path,
    chosen: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<VendorSettings> {
    let dir = home.join(".zenlayer");
    let profile = chosen
        .map(str::to_string)
        .or_else(|| env(zenlayer::ZENLAYER_PROFILE))
        .or_else(|| text(&json_file(&dir.join("config.json"))?, "/current_profile"))
        .unwrap_or_else(|| DEFAULT_PROFILE.into());
    let path = dir.join("credentials.json");
    let credentials = json_file(&path)?;
    let entry = credentials.get(&profile)?;
    Some(VendorSettings {
        key_id: text(entry, "/access_key_id"),
        secret: text(entry, "/access_key_secret"),
        credentials_file: path.clone(),
        settings_file: path,
        ..VendorSettings::default()
    })
}

fn qingcloud_cli(home: &Path) -> Option<VendorSettings> {
    let path = home.join(".qingcloud").join("config.yaml");
    let text = text_file(&path)?;
    // A flat `key: 'value'` YAML file; nothing nested is needed.
    let value = |key: &str| {
        text.lines()
            .find_map(|line| {
                let line = line.split(" #").next()?.trim();
                let (name, value) = line.split_once(':')?;
                (name.trim() == key).then(|| {
                    value
                        .trim()
                        .trim_matches(|c| c == '\'' || c == '"')
                        .to_string()
                })
            })
            .filter(|v| !v.is_empty())
    };
    Some(VendorSettings {
        key_id: value("qy_access_key_id"),
        secret: value("qy_secret_access_key").map(Secret::from),
        zone: value("zone"),
        credentials_file: path.clone(),
        settings_file: path,
        ..VendorSettings::default()
    })
}

fn ucloud_cli(home: &Path, chosen: Option<&str>) -> Option<VendorSettings> {
    let dir = home.join(".ucloud");
    let settings_file = dir.join("config.json");
    let config = json_file(&settings_file).unwrap_or(Value::Null);
    // Old versions keep one object with everything, for the default profile; newer ones a list
    // of profiles.
    if config.is_object() && config.get("public_key").is_some() {
        return chosen.is_none().then(|| VendorSettings {
            key_id: text(&config, "/public_key"),
            secret: text(&config, "/private_key"),
            region: text(&config, "/region"),
            zone: text(&config, "/zone"),
            credentials_file: settings_file.clone(),
            settings_file,
            ..VendorSettings::default()
        });
    }
    let profiles = config.as_array().cloned().unwrap_or_default();
    let picked = profiles.iter().find(|p| match chosen {
        Some(name) => p["profile"] == name,
        None => p["active"] == true,
    });
    let name = picked
        .and_then(|p| text(p, "/profile"))
        .or_else(|| chosen.map(str::to_string))
        .unwrap_or_else(|| DEFAULT_PROFILE.into());
    let credentials_file = dir.join("credential.json");
    let credentials = json_file(&credentials_file).unwrap_or(Value::Null);
    let credential = credentials
        .as_array()
        .and_then(|list| list.iter().find(|c| c["profile"] == name.as_str()));
    Some(VendorSettings {
        key_id: credential.and_then(|c| text(c, "/public_key")),
        secret: credential.and_then(|c| text(c, "/private_key")),
        region: picked.and_then(|p| text(p, "/region")),
        zone: picked.and_then(|p| text(p, "/zone")),
        credentials_file,
        settings_file,
        ..VendorSettings::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let home = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = home.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        home
    }

    fn read_in(home: &tempfile::TempDir, cloud: &str, profile: &str) -> Option<VendorSettings> {
        let home = home.path().to_string_lossy().into_owned();
        read(cloud, profile, &move |name| {
            (name == "HOME").then(|| home.clone())
        })
    }

    #[test]
    fn tccli_credential_and_configure_files() {
        let home = home_with(&[
            (
                ".tccli/default.credential",
                r#"{"secretId": "AKID1", "secretKey": "k1"}"#,
            ),
            (
                ".tccli/default.configure",
                r#"{"_sys_param": {"region": "ap-shanghai", "output": "json"},
                    "cvm": {"endpoint": "cvm.tencentcloudapi.com", "version": "2017-03-12"}}"#,
            ),
            (
                ".tccli/prod.credential",
                r#"{"secretId": "AKID2", "secretKey": "k2", "token": "t"}"#,
            ),
        ]);
        let found = read_in(&home, "tencent", "default").unwrap();
        assert_eq!(found.key_id.as_deref(), Some("AKID1"));
        assert_eq!(found.region.as_deref(), Some("ap-shanghai"));
        assert_eq!(found.endpoint, None, "the default host is not an override");
        assert!(found
            .credentials_file
            .ends_with(".tccli/default.credential"));
        assert!(found.settings_file.ends_with(".tccli/default.configure"));
        let prod = read_in(&home, "tencent", "prod").unwrap();
        assert_eq!(
            (
                prod.key_id.as_deref(),
                prod.token.as_ref().map(Secret::expose)
            ),
            (Some("AKID2"), Some("t"))
        );
    }

    #[test]
    fn ve_config_uses_the_current_profile() {
        let home = home_with(&[(
            ".volcengine/config.json",
            r#"{"current": "work", "profiles": {
                "work": {"name": "work", "mode": "ak", "access-key": "AKLT1", "secret-key": "s",
                         "region": "cn-shanghai", "endpoint": "", "session-token": ""}}}"#,
        )]);
        let found = read_in(&home, "volcengine", "default").unwrap();
        assert_eq!(found.key_id.as_deref(), Some("AKLT1"));
        assert_eq!(found.region.as_deref(), Some("cn-shanghai"));
        assert_eq!((found.token, found.endpoint), (None, None));
    }

    #[test]
    fn zeno_credentials_by_profile() {
        let home = home_with(&[
            (
                ".zenlayer/config.json",
                r#"{"current_profile": "ops", "profiles": {}}"#,
            ),
            (
                ".zenlayer/credentials.json",
                r#"{"ops": {"access_key_id": "ZL1", "access_key_secret": "p"}}"#,
            ),
        ]);
        let found = read_in(&home, "zenlayer", "default").unwrap();
        assert_eq!(found.key_id.as_deref(), Some("ZL1"));
        assert!(read_in(&home, "zenlayer", "other").is_none());
    }

    #[test]
    fn qingcloud_cli_yaml() {
        let home = home_with(&[(
            ".qingcloud/config.yaml",
            "# QingCloud services configuration\nqy_access_key_id: 'QYKEY'\n\
             qy_secret_access_key: \"secret\"\nzone: 'pek3'\nport: 443\n",
        )]);
        let found = read_in(&home, "qingcloud", "default").unwrap();
        assert_eq!(found.key_id.as_deref(), Some("QYKEY"));
        assert_eq!(found.secret.as_ref().map(Secret::expose), Some("secret"));
        assert_eq!(found.zone.as_deref(), Some("pek3"));
        assert!(
            read_in(&home, "qingcloud", "prod").is_none(),
            "qingcloud-cli has no named profiles: its file is the default one's"
        );
    }

    #[test]
    fn ucloud_cli_profiles_old_and_new() {
        let home = home_with(&[
            (
                ".ucloud/config.json",
                r#"[{"profile": "default", "active": false, "region": "cn-bj2", "zone": "cn-bj2-02"},
                    {"profile": "gpu", "active": true, "region": "cn-wlcb", "zone": "cn-wlcb-01"}]"#,
            ),
            (
                ".ucloud/credential.json",
                r#"[{"profile": "gpu", "public_key": "pub", "private_key": "priv"}]"#,
            ),
        ]);
        let found = read_in(&home, "compshare", "default").unwrap();
        assert_eq!(found.key_id.as_deref(), Some("pub"));
        assert_eq!(found.zone.as_deref(), Some("cn-wlcb-01"));
        assert!(found.credentials_file.ends_with(".ucloud/credential.json"));
        assert!(found.settings_file.ends_with(".ucloud/config.json"));
        let old = home_with(&[(
            ".ucloud/config.json",
            r#"{"public_key": "p1", "private_key": "k1", "region": "cn-sh2", "zone": "cn-sh2-02"}"#,
        )]);
        assert_eq!(
            read_in(&old, "compshare", "default")
                .unwrap()
                .key_id
                .as_deref(),
            Some("p1")
        );
        assert!(
            read_in(&old, "compshare", "gpu").is_none(),
            "the old single-object file serves the default profile only"
        );
    }

    #[test]
    fn secrets_never_in_debug_output() {
        let home = home_with(&[
            (
                ".tccli/default.credential",
                r#"{"secretId": "AKID1", "secretKey": "SENTINEL-1", "token": "SENTINEL-2"}"#,
            ),
            (
                ".volcengine/config.json",
                r#"{"current": "work", "profiles": {"work": {"access-key": "AKLT1",
                    "secret-key": "SENTINEL-3", "session-token": "SENTINEL-4"}}}"#,
            ),
            (
                ".zenlayer/credentials.json",
                r#"{"default": {"access_key_id": "ZL1", "access_key_secret": "SENTINEL-5"}}"#,
            ),
            (
                ".qingcloud/config.yaml",
                "qy_access_key_id: 'QYKEY'\nqy_secret_access_key: 'SENTINEL-6'\n",
            ),
            (
                ".ucloud/config.json",
                r#"{"public_key": "pub", "private_key": "SENTINEL-7"}"#,
            ),
        ]);
        for cloud in [
            "tencent",
            "volcengine",
            "zenlayer",
            "qingcloud",
            "compshare",
        ] {
            let found = read_in(&home, cloud, "default").unwrap();
            let secret = found
                .secret
                .as_ref()
                .map(Secret::expose)
                .unwrap_or_default();
            assert!(
                secret.starts_with("SENTINEL-"),
                "{cloud}: the secret is read"
            );
            let printed = format!("{found:?} {found:#?}");
            assert!(!printed.contains("SENTINEL"), "{cloud}: {printed}");
            assert!(
                found.key_id.is_some_and(|id| printed.contains(&id)),
                "{printed}"
            );
        }
    }

    #[test]
    fn missing_or_malformed_files_are_skipped() {
        let home = home_with(&[(".volcengine/config.json", "{not json")]);
        assert!(read_in(&home, "volcengine", "default").is_none());
        assert!(read_in(&home, "tencent", "default").is_none());
    }
}
