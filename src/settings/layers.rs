//! Where each setting of one cloud comes from: flag (or targets file) > environment > config
//! profile > vendor CLI file > built-in default, resolved by [`Layers`] for a region or zone
//! ([`PlaceKind`]), the endpoint and the credentials, each value [`Sourced`] so that
//! `cloudstart config check` can say which [`Source`] supplied it.
//!
//! One exception, as in the AWS CLI: a profile asked for by name ([`ProfileChoice::explicit`])
//! takes its credentials from that profile only, never from the credential variables in the
//! environment. The run's own settings (timeout, output, poll) are layered the same way in
//! [`super::defaults`].

use std::fmt;
use std::path::PathBuf;

use super::config::{CloudConfig, Config, DEFAULT_PROFILE};
use super::edit;
use super::vendor::{self, VendorSettings};
use crate::credentials::{CredentialOrigin, Credentials};
use crate::engine::Endpoint;
use crate::env_vars::EnvVars;
use crate::error::Error;
use crate::provider::{Location, Provider, ProviderSpec, Requirement};

/// Which of a cloud's places a setting names: its word in messages and config keys, its flag,
/// and its field of the cloud's [`ProviderSpec`] and of a [`Location`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceKind {
    /// The region (`--region`, `region`).
    Region,
    /// The zone (`--zone`, `zone`).
    Zone,
}

impl PlaceKind {
    /// `region` or `zone`: the word in messages and the config file's key.
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceKind::Region => "region",
            PlaceKind::Zone => "zone",
        }
    }

    /// `--region` or `--zone`.
    pub fn flag(self) -> &'static str {
        match self {
            PlaceKind::Region => "--region",
            PlaceKind::Zone => "--zone",
        }
    }

    /// Whether `spec`'s cloud needs this place, and the variables that give it.
    pub fn requirement(self, spec: &ProviderSpec) -> &Requirement {
        match self {
            PlaceKind::Region => &spec.region,
            PlaceKind::Zone => &spec.zone,
        }
    }

    /// This place's field of `location`.
    pub fn of(self, location: &mut Location) -> &mut Option<String> {
        match self {
            PlaceKind::Region => &mut location.region,
            PlaceKind::Zone => &mut location.zone,
        }
    }
}

impl fmt::Display for PlaceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag(&'static str),
    /// A line of a targets file.
    TargetsFile(PathBuf),
    /// An environment variable.
    Env(&'static str),
    /// A profile of the config file.
    Profile(String),
    /// A vendor CLI's file.
    Vendor(PathBuf),
    /// The built-in default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "flag {flag}"),
            Source::TargetsFile(path) => write!(f, "targets file {}", path.display()),
            Source::Env(var) => write!(f, "environment {var}"),
            Source::Profile(name) => write!(f, "config profile `{name}`"),
            Source::Vendor(path) => write!(f, "vendor CLI file {}", path.display()),
            Source::Default => f.write_str("built-in default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Its source.
    pub source: Source,
}

/// The profile a group of targets uses, and how it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProfileChoice {
    /// Its name.
    pub name: String,
    /// Asked for by name (`--profile`, a targets file's `profile`), rather than by
    /// `CLOUDSTART_PROFILE` or by default: then its credentials beat the environment's.
    pub explicit: bool,
}

impl ProfileChoice {
    /// `named` (from `--profile` or a targets file) if given, else `CLOUDSTART_PROFILE`, else
    /// `default`. A name is letters, digits, `-`, `_` and `.`, not starting with a dot (a usage
    /// error otherwise): it becomes part of vendor CLI file names (`~/.tccli/<name>.credential`),
    /// so `../` must never reach a path.
    pub fn new(named: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let (name, explicit) = match named {
            Some(name) => (name.to_string(), true),
            None => match env(EnvVars::CLOUDSTART_PROFILE) {
                Some(name) => (name, false),
                None => (DEFAULT_PROFILE.to_string(), false),
            },
        };
        let well_formed = name.len() <= 64
            && !name.starts_with('.')
            && !name.is_empty()
            && (name.chars()).all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !well_formed {
            return Err(Error::usage(format!(
                "invalid profile name `{}`: expected letters, digits, `-`, `_` and `.`, not \
                 starting with a dot",
                crate::error::clip(&name)
            )));
        }
        Ok(Self { name, explicit })
    }
}

/// The sources one cloud's settings come from, below the targets file and the flags.
pub struct Layers<'a> {
    /// The cloud.
    pub provider: &'static dyn Provider,
    /// The environment.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The profile.
    pub profile: ProfileChoice,
    /// The cloud's section of that profile, if the config file has one.
    pub config: Option<&'a CloudConfig>,
    /// What the cloud's own CLI keeps on disk.
    pub vendor: Option<VendorSettings>,
}

impl<'a> Layers<'a> {
    /// The sources for `provider` under `profile`: the environment, the config file's profile,
    /// and the vendor CLI's files. A profile other than `default` must exist in one of the two
    /// files (a usage error otherwise).
    pub fn new(
        provider: &'static dyn Provider,
        env: &'a dyn Fn(&str) -> Option<String>,
        profile: &ProfileChoice,
        config: &'a Config,
    ) -> Result<Self, Error> {
        let name = &profile.name;
        let vendor = vendor::read(provider.name(), name, env);
        if *name != DEFAULT_PROFILE && !config.has_profile(name) && vendor.is_none() {
            let file = match &config.path {
                Some(path) => format!("the config file {}", path.display()),
                None => "a config file (none found; set CLOUDSTART_CONFIG)".into(),
            };
            let cli = vendor::cli_for(provider.name())
                .map(|cli| format!(" nor in {}'s files", cli.cli))
                .unwrap_or_default();
            return Err(Error::usage(format!(
                "no profile `{name}` for {} in {file}{cli}",
                provider.name()
            )));
        }
        Ok(Self {
            provider,
            env,
            profile: profile.clone(),
            config: config.cloud(name, provider.name()),
            vendor,
        })
    }

    /// A region, zone or endpoint from the vendor CLI's settings file.
    fn vendor_value(
        &self,
        value: impl Fn(&VendorSettings) -> Option<String>,
    ) -> Option<Sourced<String>> {
        let vendor = self.vendor.as_ref()?;
        value(vendor).map(|value| Sourced {
            value,
            source: Source::Vendor(vendor.settings_file.clone()),
        })
    }
    /// The region or zone (`what`), from `given` (targets file or flag), the cloud's variables, the
    /// profile, or the vendor CLI's settings; `None` for clouds that do not use it.
    pub fn location(
        &self,
        what: PlaceKind,
        given: Option<Sourced<String>>,
    ) -> Result<Option<Sourced<String>>, Error> {
        let (from_profile, from_vendor) = match what {
            PlaceKind::Zone => (
                self.config.and_then(|c| c.zone.clone()),
                self.vendor_value(|v| v.zone.clone()),
            ),
            PlaceKind::Region => (
                self.config.and_then(|c| c.region.clone()),
                self.vendor_value(|v| v.region.clone()),
            ),
        };
        let Requirement::Required(vars) = what.requirement(self.provider.spec()) else {
            return Ok(None);
        };
        let found = given
            .filter(|g| !g.value.is_empty())
            .or_else(|| {
                vars.iter().find_map(|&var| {
                    (self.env)(var).map(|value| Sourced {
                        value,
                        source: Source::Env(var),
                    })
                })
            })
            .or_else(|| {
                from_profile.map(|value| Sourced {
                    value,
                    source: Source::Profile(self.profile.name.clone()),
                })
            })
            .or(from_vendor);
        let name = self.provider.name();
        let Some(found) = found else {
            let mut sources = vec![what.flag().to_string()];
            sources.extend(vars.iter().map(|v| v.to_string()));
            sources.push(format!(
                "`{what}` in the config profile `{}`",
                self.profile.name
            ));
            return Err(Error::usage(format!(
                "{name} needs a {what}: set {}",
                sources.join(" or ")
            )));
        };
        if !edit::well_formed_place(&found.value) {
            return Err(Error::usage(format!(
                "invalid {name} {what} `{}` (from {}): expected lowercase letters, digits and \
                 dashes, starting and ending with a letter or digit",
                crate::error::clip(&found.value),
                found.source
            )));
        }
        Ok(Some(found))
    }

    /// The endpoint: the flag, the cloud's variable, `CLOUDSTART_ENDPOINT`, the profile, or the
    /// cloud's own for `location`.
    pub fn endpoint(
        &self,
        flag: Option<&str>,
        location: &Location,
    ) -> Result<Sourced<Endpoint>, Error> {
        let spec = self.provider.spec();
        let (url, source) = if let Some(url) = flag {
            (url.to_string(), Source::Flag("--endpoint"))
        } else if let Some(url) = (self.env)(spec.endpoint_var) {
            (url, Source::Env(spec.endpoint_var))
        } else if let Some(url) = (self.env)(EnvVars::CLOUDSTART_ENDPOINT) {
            (url, Source::Env(EnvVars::CLOUDSTART_ENDPOINT))
        } else if let Some(url) = self.config.and_then(|c| c.endpoint.clone()) {
            (url, Source::Profile(self.profile.name.clone()))
        } else if let Some(found) = self.vendor_value(|v| v.endpoint.clone()) {
            (found.value, found.source)
        } else {
            (self.provider.default_endpoint(location), Source::Default)
        };
        let endpoint = Endpoint::parse(&url).map_err(|reason| {
            Error::usage(format!(
                "invalid {} endpoint (from {source}): {reason}",
                self.provider.name()
            ))
        })?;
        Ok(Sourced {
            value: endpoint,
            source,
        })
    }

    /// The credentials: the cloud's variables, else the profile (the config file's, else the
    /// vendor CLI's); a profile chosen by name skips the variables. Key id and secret always come
    /// from the same place.
    /// Surrounding whitespace is dropped (as Zenlayer's SDK does; no key ends in a space), and
    /// credentials whose bytes could never be sent are refused here (exit 3), naming where they
    /// came from, before any request.
    pub fn credentials(&self) -> Result<Sourced<Credentials>, Error> {
        let mut found = self.find_credentials()?;
        found.value = found.value.trimmed();
        let Some(part) = found.value.malformed_part() else {
            return Ok(found);
        };
        let vars = &self.provider.spec().credentials;
        let whence = match &found.source {
            Source::Env(_) => {
                let names = match part {
                    "key id" => vars.key_id,
                    "secret" => vars.secret,
                    _ => vars.token,
                };
                let set = names.iter().copied().find(|var| (self.env)(var).is_some());
                format!("environment {}", set.unwrap_or_default())
            }
            other => other.to_string(),
        };
        Err(Error::auth(format!(
            "the {} {part} from {whence} holds a control character or a byte that is not \
             visible ASCII (a stray newline, space or quote?); nothing was sent",
            self.provider.name()
        )))
    }

    /// Where `found` (from [`Layers::credentials`]) came from, in the words an error about a
    /// refused key uses: the variables that were set, the config profile, or the vendor CLI's
    /// file; and where its session token came from.
    pub fn credentials_origin(&self, found: &Sourced<Credentials>) -> CredentialOrigin {
        let vars = &self.provider.spec().credentials;
        let set =
            |names: &[&'static str]| names.iter().copied().find(|var| (self.env)(var).is_some());
        let has_token = found.value.token.is_some();
        let (keys, token) = match &found.source {
            Source::Env(_) => {
                let keys = match (set(vars.key_id), set(vars.secret)) {
                    (Some(id), Some(secret)) => format!("{id} and {secret}"),
                    _ => "the environment".to_string(),
                };
                (keys, set(vars.token).map(str::to_string))
            }
            Source::Profile(name) => {
                let profile = format!("config profile `{name}`");
                let token = has_token.then(|| profile.clone());
                (profile, token)
            }
            Source::Vendor(path) => {
                let file = match vendor::cli_for(self.provider.name()) {
                    Some(cli) => format!("{}'s file {}", cli.cli, path.display()),
                    None => format!("the file {}", path.display()),
                };
                let token = has_token.then(|| file.clone());
                (file, token)
            }
            other => (other.to_string(), None),
        };
        CredentialOrigin {
            keys,
            token: token.filter(|_| has_token),
            token_var: vars.token.first().copied(),
        }
    }

    fn find_credentials(&self) -> Result<Sourced<Credentials>, Error> {
        let vars = &self.provider.spec().credentials;
        let name = self.provider.name();
        let from_env = vars.resolve(name, self.env);
        let set_var = || {
            vars.key_id
                .iter()
                .copied()
                .find(|var| (self.env)(var).is_some())
        };
        if !self.profile.explicit {
            if let Ok(credentials) = from_env {
                return Ok(Sourced {
                    value: credentials,
                    source: Source::Env(set_var().unwrap_or_default()),
                });
            }
        }
        let profile = &self.profile.name;
        if let Some(config) = self.config {
            if let (Some(key_id), Some(secret)) = (&config.access_key_id, &config.secret_access_key)
            {
                return Ok(Sourced {
                    value: Credentials {
                        key_id: key_id.clone(),
                        secret: secret.clone(),
                        token: config.session_token.clone(),
                    },
                    source: Source::Profile(profile.clone()),
                });
            }
        }
        if let Some(vendor) = &self.vendor {
            if let (Some(key_id), Some(secret)) = (&vendor.key_id, &vendor.secret) {
                return Ok(Sourced {
                    value: Credentials {
                        key_id: key_id.clone(),
                        secret: secret.clone(),
                        token: vendor.token.clone(),
                    },
                    source: Source::Vendor(vendor.credentials_file.clone()),
                });
            }
        }
        let in_config = format!(
            "access_key_id and secret_access_key under [profile.{profile}.{name}] in the config file"
        );
        if self.profile.explicit {
            let ignored = set_var()
                .map(|var| {
                    format!(
                        "; {var} in the environment is not used, because the profile was named \
                         (--profile or the targets file)"
                    )
                })
                .unwrap_or_default();
            let cli = vendor::cli_for(name)
                .map(|cli| format!(" or in {}'s profile `{profile}`", cli.cli))
                .unwrap_or_default();
            return Err(Error::auth(format!(
                "profile `{profile}` has no {name} credentials: set {in_config}{cli}{ignored}"
            )));
        }
        from_env
            .map(|credentials| Sourced {
                value: credentials,
                source: Source::Default,
            })
            .map_err(|err| Error::auth(format!("{err}, or {in_config}")))
    }
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorKind;
    use crate::settings::config::Config;
    use crate::settings::testing::{args, config_with, env, resolve, resolve_with, CREDS};

    #[test]
    fn region_flag_wins_over_environment() {
        let settings =
            resolve(&args(&["-r", "ap-guangzhou", "ins-aaaaaaaa"]), &env(CREDS)).unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-guangzhou"));
        let settings = resolve(&args(&["ins-aaaaaaaa"]), &env(CREDS)).unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-shanghai"));
    }

    #[test]
    fn missing_region_names_flag_and_variable() {
        let err = resolve(
            &args(&["ins-aaaaaaaa"]),
            &env(&[
                ("TENCENTCLOUD_SECRET_ID", "id"),
                ("TENCENTCLOUD_SECRET_KEY", "key"),
            ]),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert_eq!(
            err.to_string(),
            "tencent needs a region: set --region or TENCENTCLOUD_REGION or `region` in the config \
             profile `default`"
        );
    }

    #[test]
    fn endpoint_precedence_is_flag_then_cloud_variable_then_general_variable() {
        let both: &[(&str, &str)] = &[
            ("TENCENTCLOUD_SECRET_ID", "id"),
            ("TENCENTCLOUD_SECRET_KEY", "key"),
            ("TENCENTCLOUD_REGION", "ap-shanghai"),
            ("CLOUDSTART_ENDPOINT", "http://127.0.0.1:1"),
            ("CLOUDSTART_TENCENT_ENDPOINT", "http://127.0.0.1:2"),
        ];
        let resolve = |extra: &[&str], vars: &'static [(&'static str, &'static str)]| {
            resolve(&args(extra), &env(vars))
                .unwrap()
                .endpoint
                .host()
                .to_string()
        };
        assert_eq!(
            resolve(&["--endpoint", "http://127.0.0.1:3", "ins-aaaaaaaa"], both),
            "127.0.0.1:3"
        );
        assert_eq!(resolve(&["ins-aaaaaaaa"], both), "127.0.0.1:2");
        assert_eq!(resolve(&["ins-aaaaaaaa"], &both[..4]), "127.0.0.1:1");
        assert_eq!(resolve(&["ins-aaaaaaaa"], CREDS), "cvm.tencentcloudapi.com");
    }

    #[test]
    fn profiles_come_below_flags_and_environment() {
        let config = config_with(
            "[profile.default.tencent]\naccess_key_id = \"cfg-id\"\n\
             secret_access_key = \"cfg-key\"\nregion = \"ap-beijing\"\n\
             endpoint = \"http://127.0.0.1:7\"\n\
             [profile.prod.tencent]\nregion = \"ap-singapore\"\n",
        );
        // Nothing else set: everything from the profile.
        let settings = resolve_with(&args(&["ins-aaaaaaaa"]), &env(&[]), &config).unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-beijing"));
        assert_eq!(settings.credentials.key_id, "cfg-id");
        assert_eq!(settings.endpoint.host(), "127.0.0.1:7");
        // The environment wins over the profile, the flag over both.
        let settings = resolve_with(&args(&["ins-aaaaaaaa"]), &env(CREDS), &config).unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-shanghai"));
        assert_eq!(settings.credentials.key_id, "id");
        let settings = resolve_with(
            &args(&["-r", "ap-tokyo", "ins-aaaaaaaa"]),
            &env(CREDS),
            &config,
        )
        .unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-tokyo"));
        // Another profile by CLOUDSTART_PROFILE: the environment's credentials still win.
        let settings = resolve_with(
            &args(&["ins-aaaaaaaa"]),
            &env(&[
                ("CLOUDSTART_PROFILE", "prod"),
                ("TENCENTCLOUD_SECRET_ID", "id"),
                ("TENCENTCLOUD_SECRET_KEY", "key"),
            ]),
            &config,
        )
        .unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-singapore"));
        assert_eq!(settings.credentials.key_id, "id");
        // An unknown one is a usage error.
        let err = resolve_with(
            &args(&["--profile", "staging", "ins-aaaaaaaa"]),
            &env(CREDS),
            &config,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert!(err.to_string().contains("no profile `staging`"), "{err}");
    }

    /// As in the AWS CLI: `--profile` (or a targets file's `profile`) takes the profile's
    /// credentials over the ones exported in the environment, and never falls back to those.
    /// botocore `credentials.py`, `create_credential_resolver`: "An explicitly provided profile
    /// will negate an EnvProvider" — the profile given on the command line, not `AWS_PROFILE`.
    #[test]
    fn a_named_profile_beats_the_environments_credentials() {
        let config = config_with(
            "[profile.prod.tencent]\naccess_key_id = \"prod-id\"\n\
             secret_access_key = \"prod-key\"\nregion = \"ap-singapore\"\n\
             [profile.bare.tencent]\nregion = \"ap-tokyo\"\n",
        );
        let flagged = resolve_with(
            &args(&["--profile", "prod", "ins-aaaaaaaa"]),
            &env(CREDS),
            &config,
        )
        .unwrap();
        assert_eq!(flagged.credentials.key_id, "prod-id");
        // The region is not a credential: the environment's still beats the profile's.
        assert_eq!(flagged.location.region.as_deref(), Some("ap-shanghai"));
        let ambient = resolve_with(
            &args(&["ins-aaaaaaaa"]),
            &env(&[CREDS, &[("CLOUDSTART_PROFILE", "prod")]].concat()),
            &config,
        )
        .unwrap();
        assert_eq!(ambient.credentials.key_id, "id");
        let err = resolve_with(
            &args(&["--profile", "bare", "ins-aaaaaaaa"]),
            &env(CREDS),
            &config,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
        let message = err.to_string();
        assert!(
            message.contains("profile `bare` has no tencent credentials")
                && message.contains("TENCENTCLOUD_SECRET_ID in the environment is not used"),
            "{message}"
        );
    }

    /// A profile name becomes part of vendor CLI file names: one that could climb out of their
    /// directory is refused before any file is read.
    #[test]
    fn a_profile_name_that_could_leave_the_vendor_directory_is_a_usage_error() {
        for name in [
            "../../etc/passwd",
            "..",
            ".hidden",
            "a/b",
            "a\\b",
            "",
            "x\n",
        ] {
            let err =
                resolve(&args(&["--profile", name, "ins-aaaaaaaa"]), &env(CREDS)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Usage, "{name:?}");
            assert!(err.to_string().contains("invalid profile name"), "{err}");
        }
        let err = resolve(
            &args(&["ins-aaaaaaaa"]),
            &env(&[CREDS, &[("CLOUDSTART_PROFILE", "../x")]].concat()),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        for name in ["prod", "team-a.gpu_2", "default"] {
            let err = resolve(&args(&["--profile", name, "ins-aaaaaaaa"]), &env(CREDS)).err();
            assert!(
                err.is_none_or(|err| !err.to_string().contains("invalid profile name")),
                "{name}"
            );
        }
    }

    /// `--profile NAME` reaches the vendor CLI's profile `NAME` when cloudstart's own config
    /// file has none, with its region from tccli's `.configure` beside the `.credential`.
    #[test]
    fn a_named_profile_reaches_the_vendor_clis_profile() {
        let home = tempfile::tempdir().unwrap();
        let tccli = home.path().join(".tccli");
        std::fs::create_dir_all(&tccli).unwrap();
        std::fs::write(
            tccli.join("ops.credential"),
            r#"{"secretId": "ops-id", "secretKey": "ops-key"}"#,
        )
        .unwrap();
        std::fs::write(
            tccli.join("ops.configure"),
            r#"{"_sys_param": {"region": "ap-seoul"}}"#,
        )
        .unwrap();
        let home_dir = home.path().to_string_lossy().into_owned();
        let vars = [CREDS, &[("HOME", home_dir.as_str())]].concat();
        let settings = resolve_with(
            &args(&["--profile", "ops", "ins-aaaaaaaa"]),
            &env(&vars),
            &Config::default(),
        )
        .unwrap();
        assert_eq!(settings.credentials.key_id, "ops-id");
        let vars: Vec<_> = vars
            .into_iter()
            .filter(|(name, _)| *name != "TENCENTCLOUD_REGION")
            .collect();
        let settings = resolve_with(
            &args(&["--profile", "ops", "ins-aaaaaaaa"]),
            &env(&vars),
            &Config::default(),
        )
        .unwrap();
        assert_eq!(settings.location.region.as_deref(), Some("ap-seoul"));
        let err = resolve_with(
            &args(&["--profile", "nosuch", "ins-aaaaaaaa"]),
            &env(&vars),
            &Config::default(),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert!(err.to_string().contains("nor in tccli's files"), "{err}");
    }
}
