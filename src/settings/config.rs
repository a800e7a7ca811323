//! The config file: named profiles holding per-cloud credentials, region, zone and endpoint.
//!
//! ```toml
//! [profile.default.tencent]
//! access_key_id = "AKID…"
//! secret_access_key = "…"
//! region = "ap-guangzhou"
//!
//! [profile.prod.volcengine]
//! access_key_id = "AKLT…"
//! secret_access_key = "…"
//! region = "cn-beijing"
//! endpoint = "https://open.volcengineapi.com"
//! ```
//!
//! It lives at `$CLOUDSTART_CONFIG`, else the platform config directory
//! (`$XDG_CONFIG_HOME/cloudstart/config.toml`, else `~/.config/cloudstart/config.toml`; on Windows
//! `%APPDATA%\cloudstart\config.toml`). A missing file at the default place is no error; one named
//! by `CLOUDSTART_CONFIG` must exist.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tracing::warn;

use super::files::{read_local_text, toml_error};
use crate::credentials::Secret;
use crate::env_vars::EnvVars;
use crate::error::Error;

/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";

/// One cloud's settings in one profile. Every field is optional: what is missing comes from the
/// next source down.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CloudConfig {
    /// The key id (SecretId, AccessKey, PublicKey).
    pub access_key_id: Option<String>,
    /// Its secret (SecretKey, SecretAccessKey, PrivateKey).
    pub secret_access_key: Option<Secret>,
    /// A temporary-credential session token, where the cloud takes one.
    pub session_token: Option<Secret>,
    /// The region.
    pub region: Option<String>,
    /// The zone.
    pub zone: Option<String>,
    /// A base URL replacing the cloud's.
    pub endpoint: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    profile: BTreeMap<String, ProfileConfig>,
}

/// One profile: the run defaults ([`RunSettings`]) beside one table per cloud.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileConfig {
    /// `timeout`, `output`, `poll_interval`, `poll_max`: text, checked where they are used.
    pub run: RunSettings,
    /// One table per cloud, by its `--provider` name.
    pub clouds: BTreeMap<String, CloudConfig>,
}

/// The run's defaults a profile may hold, as written (validated by `settings::defaults`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSettings {
    /// Default for `--timeout`.
    pub timeout: Option<String>,
    /// Default for `--output`.
    pub output: Option<String>,
    /// Default for `--poll-interval`.
    pub poll_interval: Option<String>,
    /// Default for `--poll-max`.
    pub poll_max: Option<String>,
}

/// The keys of a profile's own settings, beside its cloud tables.
pub const RUN_KEYS: [&str; 4] = ["timeout", "output", "poll_interval", "poll_max"];

impl RunSettings {
    /// The value of `key` (one of [`RUN_KEYS`]).
    pub fn get(&self, key: &str) -> Option<&String> {
        match key {
            "timeout" => self.timeout.as_ref(),
            "output" => self.output.as_ref(),
            "poll_interval" => self.poll_interval.as_ref(),
            "poll_max" => self.poll_max.as_ref(),
            _ => None,
        }
    }

    fn slot(&mut self, key: &str) -> Option<&mut Option<String>> {
        match key {
            "timeout" => Some(&mut self.timeout),
            "output" => Some(&mut self.output),
            "poll_interval" => Some(&mut self.poll_interval),
            "poll_max" => Some(&mut self.poll_max),
            _ => None,
        }
    }
}

// By hand rather than `#[serde(flatten)]`: flatten buffers the table, and the parse errors would
// lose the line and column they now name. A run key is a string; any other key is a cloud table.
impl<'de> Deserialize<'de> for ProfileConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ProfileConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a profile: run settings and one table per cloud")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ProfileConfig, A::Error> {
                let mut profile = ProfileConfig::default();
                while let Some(key) = map.next_key::<String>()? {
                    if let Some(slot) = profile.run.slot(&key) {
                        *slot = Some(map.next_value()?);
                    } else {
                        let cloud = map.next_value()?;
                        profile.clouds.insert(key, cloud);
                    }
                }
                Ok(profile)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// The loaded config file, if there is one.
#[derive(Debug, Default)]
pub struct Config {
    /// Where it was read from.
    pub path: Option<PathBuf>,
    profiles: BTreeMap<String, ProfileConfig>,
}

impl Config {
    /// Reads the config file through `env`; warns when it holds a secret that others can read.
    pub fn load(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let (path, explicit) = match env(EnvVars::CLOUDSTART_CONFIG) {
            Some(path) => (PathBuf::from(path), true),
            None => match default_path(env) {
                Some(path) => (path, false),
                None => return Ok(Self::default()),
            },
        };
        let text = match read_local_text(&path, "config file") {
            Ok(text) => text,
            Err(err) if !explicit && err.is_not_found() => return Ok(Self::default()),
            Err(err) => return Err(err.into()),
        };
        let file = parse(&path, &text)?;
        // A file of regions and endpoints is no secret: the chmod advice would be noise.
        if file.holds_secret() {
            warn_if_readable_by_others(&path);
        }
        Ok(Self {
            path: Some(path),
            profiles: file.profile,
        })
    }

    /// `cloud`'s settings in `profile`, if the file has them.
    pub fn cloud(&self, profile: &str, cloud: &str) -> Option<&CloudConfig> {
        self.profiles.get(profile)?.clouds.get(cloud)
    }

    /// `profile`'s run defaults (`timeout`, `output`, `poll_interval`, `poll_max`), if any.
    pub fn run_settings(&self, profile: &str) -> Option<&RunSettings> {
        self.profiles.get(profile).map(|p| &p.run)
    }

    /// Whether the file defines `profile`.
    pub fn has_profile(&self, profile: &str) -> bool {
        self.profiles.contains_key(profile)
    }
}

/// Checks `text` as [`Config::load`] would read it from `path`: `config set` writes nothing the
/// loader would refuse.
pub fn check_text(path: &Path, text: &str) -> Result<(), Error> {
    parse(path, text).map(drop)
}

fn parse(path: &Path, text: &str) -> Result<ConfigFile, Error> {
    let file: ConfigFile =
        toml::from_str(text).map_err(|err| toml_error("config file", path, text, &err))?;
    for (profile, settings) in &file.profile {
        if let Some(cloud) =
            (settings.clouds.keys()).find(|cloud| crate::provider::find(cloud).is_none())
        {
            return Err(Error::usage(format!(
                "invalid config file {}: profile `{profile}` names an unknown cloud `{cloud}`; \
                 known: {}",
                path.display(),
                crate::provider::names().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(file)
}

impl ConfigFile {
    /// Whether any profile holds a secret key or a session token (a key id alone is no secret).
    fn holds_secret(&self) -> bool {
        (self.profile.values().flat_map(|p| p.clouds.values()))
            .any(|cloud| cloud.secret_access_key.is_some() || cloud.session_token.is_some())
    }
}

/// Where the config file is: `$CLOUDSTART_CONFIG`, else the platform default; `None` when
/// neither can be found (no home directory).
pub fn path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env(EnvVars::CLOUDSTART_CONFIG)
        .map(PathBuf::from)
        .or_else(|| default_path(env))
}

/// The platform config directory's `cloudstart/config.toml`.
fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = if cfg!(windows) {
        PathBuf::from(env(EnvVars::APPDATA)?)
    } else if let Some(xdg) = env(EnvVars::XDG_CONFIG_HOME) {
        PathBuf::from(xdg)
    } else {
        PathBuf::from(env(EnvVars::HOME)?).join(".config")
    };
    Some(base.join("cloudstart").join("config.toml"))
}

/// A file holding secrets should be readable by its owner only. Only the config file is checked:
/// the vendor CLIs' files belong to their tools, which set their own modes.
#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(metadata) = std::fs::metadata(path) else {
        return;
    };
    if metadata.permissions().mode() & 0o077 != 0 {
        warn!(
            "{} holds credentials and is readable by group or others: run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        let path = path.to_string_lossy().into_owned();
        Config::load(&move |name| (name == EnvVars::CLOUDSTART_CONFIG).then(|| path.clone()))
    }

    #[test]
    fn profiles_hold_per_cloud_settings() {
        let config = load(
            "[profile.default.tencent]\nregion = \"ap-guangzhou\"\n\
             [profile.prod.volcengine]\naccess_key_id = \"AKLT1\"\nsecret_access_key = \"s\"\n",
        )
        .unwrap();
        let tencent = config.cloud("default", "tencent").unwrap();
        assert_eq!(tencent.region.as_deref(), Some("ap-guangzhou"));
        assert_eq!(
            config
                .cloud("prod", "volcengine")
                .unwrap()
                .access_key_id
                .as_deref(),
            Some("AKLT1")
        );
        assert!(config.cloud("prod", "tencent").is_none());
        assert!(config.has_profile("prod") && !config.has_profile("staging"));
    }

    #[test]
    fn a_profile_holds_run_settings_beside_its_clouds() {
        let config = load(
            "[profile.farm]\ntimeout = \"20m\"\npoll_max = \"9s\"\n\
             [profile.farm.tencent]\nregion = \"ap-guangzhou\"\n",
        )
        .unwrap();
        let run = config.run_settings("farm").unwrap();
        assert_eq!(run.timeout.as_deref(), Some("20m"));
        assert_eq!(run.get("poll_max").map(String::as_str), Some("9s"));
        assert_eq!(run.output, None);
        assert!(config.cloud("farm", "tencent").is_some());
        // A run setting is text: a number is refused where it stands.
        let err = load("[profile.farm]\ntimeout = 30\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("config.toml:2:11: "), "{err}");
    }

    #[test]
    fn secrets_never_in_debug_output() {
        let config = load(
            "[profile.default.tencent]\naccess_key_id = \"AKIDpublic\"\n\
             secret_access_key = \"SENTINEL-SECRET\"\nsession_token = \"SENTINEL-TOKEN\"\n",
        )
        .unwrap();
        let tencent = config.cloud("default", "tencent").unwrap();
        assert_eq!(
            tencent.secret_access_key.as_ref().map(Secret::expose),
            Some("SENTINEL-SECRET")
        );
        assert_eq!(
            tencent.session_token.as_ref().map(Secret::expose),
            Some("SENTINEL-TOKEN")
        );
        let printed = format!("{tencent:?} {tencent:#?} {config:?}");
        assert!(!printed.contains("SENTINEL"), "{printed}");
        assert!(printed.contains("AKIDpublic"), "{printed}");
    }

    #[test]
    fn malformed_files_are_usage_errors_naming_the_file() {
        for (text, says) in [
            ("[profile.default.tencent\n", "invalid config file"),
            (
                "[profile.default.tencent]\nregoin = \"x\"\n",
                "unknown field `regoin`",
            ),
            (
                "[profile.default.nimbus]\nregion = \"x\"\n",
                "unknown cloud `nimbus`",
            ),
            ("[profiles.default.tencent]\n", "unknown field `profiles`"),
        ] {
            let err = load(text).unwrap_err();
            assert_eq!(err.kind(), crate::error::ErrorKind::Usage, "{text}");
            assert!(err.to_string().contains(says), "{text}: {err}");
            assert!(err.to_string().contains("config.toml"), "{err}");
        }
    }

    #[test]
    fn malformed_files_name_line_and_column_but_never_a_secret() {
        for (text, place) in [
            (
                "[profile.default.tencent]\nsecret_access_key = \"S3CR3T\n",
                ":2:28: ",
            ),
            (
                "[profile.default.tencent]\nsecret_acces_key = \"S3CR3T\"\n",
                ":2:1: ",
            ),
            ("[profile.default]\ntencent = \"S3CR3T\"\n", ":2:11: "),
        ] {
            let err = load(text).unwrap_err().to_string();
            assert!(err.contains(&format!("config.toml{place}")), "{err}");
            assert!(!err.contains("S3CR3T"), "{err}");
        }
    }

    #[test]
    fn a_missing_default_file_is_fine_but_a_named_one_is_not() {
        let home = tempfile::tempdir().unwrap();
        let home_path = home.path().to_string_lossy().into_owned();
        let config = Config::load(&move |name| (name == "HOME").then(|| home_path.clone()));
        assert!(config.unwrap().path.is_none());
        let err = Config::load(&|name| {
            (name == EnvVars::CLOUDSTART_CONFIG).then(|| "/nonexistent/cloudstart.toml".into())
        })
        .unwrap_err();
        assert!(err.to_string().contains("cannot read"), "{err}");
    }
}
