//! What to start: `provider:id` arguments, bare ids for `--provider`, and `-f` targets files.
//!
//! ```toml
//! [[target]]
//! provider = "tencent"
//! ids = ["ins-r8hr2upy", "ins-0a1b2c3d"]
//! region = "ap-guangzhou"
//!
//! [[target]]
//! provider = "compshare"
//! id = "uhost-1a2b3c4d"
//! region = "cn-wlcb"
//! zone = "cn-wlcb-01"
//! profile = "gpu"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::files::{read_local_text, read_stdin_text, toml_error};
use crate::error::Error;
use crate::provider::{self, Provider};

/// One machine to act on, with the settings its line in a targets file gave.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its cloud.
    pub provider: &'static dyn Provider,
    /// Its id, as given.
    pub id: String,
    /// Region from the targets file, winning over `--region`.
    pub region: Option<String>,
    /// Zone from the targets file, winning over `--zone`.
    pub zone: Option<String>,
    /// Profile from the targets file, winning over `--profile`.
    pub profile: Option<String>,
    /// The targets file it came from.
    pub file: Option<PathBuf>,
}

impl Target {
    fn new(provider: &'static dyn Provider, id: &str) -> Self {
        Self {
            provider,
            id: id.to_string(),
            region: None,
            zone: None,
            profile: None,
            file: None,
        }
    }
}

/// Parses command-line targets: `provider:id`, or a bare id for `default_provider`.
pub fn from_args(args: &[String], default_provider: Option<&str>) -> Result<Vec<Target>, Error> {
    args.iter()
        .map(|arg| match arg.split_once(':') {
            Some((name, id)) => Ok(Target::new(known(name, arg)?, id)),
            None => {
                let Some(name) = default_provider else {
                    let shown = crate::error::clip(arg);
                    // The example names the cloud the id looks like, when one fits.
                    let (example, hint) = match guess(arg) {
                        Some(p) => (p, format!("; it looks like a {p} id")),
                        None => ("tencent", String::new()),
                    };
                    return Err(Error::usage(format!(
                        "`{shown}` names no cloud: write it as provider:id (e.g. \
                         {example}:{shown}) or give --provider{hint}"
                    )));
                };
                Ok(Target::new(known(name, arg)?, arg))
            }
        })
        .collect()
}

/// Reads a targets file.
pub fn from_file(path: &Path) -> Result<Vec<Target>, Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        target: Vec<Entry>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        provider: String,
        id: Option<String>,
        #[serde(default)]
        ids: Vec<String>,
        region: Option<String>,
        zone: Option<String>,
        profile: Option<String>,
    }
    // `-f -`: the targets come on standard input (`generate-targets | cloudstart start -f -`).
    let text = if path == Path::new("-") {
        read_stdin_text("targets file")?
    } else {
        read_local_text(path, "targets file")?
    };
    let invalid =
        |what: String| Error::usage(format!("invalid targets file {}: {what}", path.display()));
    let file: File =
        toml::from_str(&text).map_err(|err| toml_error("targets file", path, &text, &err))?;
    let mut targets = Vec::new();
    for (n, entry) in file.target.into_iter().enumerate() {
        let provider = known(&entry.provider, &entry.provider)
            .map_err(|err| invalid(format!("target {}: {err}", n + 1)))?;
        let ids: Vec<String> = entry.id.into_iter().chain(entry.ids).collect();
        if ids.is_empty() {
            return Err(invalid(format!("target {} has no `id` or `ids`", n + 1)));
        }
        targets.extend(ids.iter().map(|id| Target {
            region: entry.region.clone(),
            zone: entry.zone.clone(),
            profile: entry.profile.clone(),
            file: Some(path.to_path_buf()),
            ..Target::new(provider, id)
        }));
    }
    if targets.is_empty() {
        return Err(invalid("no [[target]] entries".into()));
    }
    Ok(targets)
}

fn known(name: &str, arg: &str) -> Result<&'static dyn Provider, Error> {
    provider::find(name).ok_or_else(|| {
        Error::usage(format!(
            "unknown provider `{name}` in `{arg}`; known: {}",
            provider::names().collect::<Vec<_>>().join(", ")
        ))
    })
}

/// The cloud whose id shape `id` has, when exactly one (opaque-id clouds aside) fits.
pub fn guess(id: &str) -> Option<&'static str> {
    let fits: Vec<&'static str> = provider::PROVIDERS
        .iter()
        .filter(|p| !p.spec().id_shape.prefixes.is_empty() && p.validate_id(id).is_ok())
        .map(|p| p.name())
        .collect();
    match fits[..] {
        [one] => Some(one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn prefixes_pick_the_cloud_and_bare_ids_take_the_default() {
        let targets = from_args(
            &strings(&[
                "tencent:ins-r8hr2upy",
                "i-3tiefmkskq3vj0abcd1",
                "zenlayer:12345",
            ]),
            Some("volcengine"),
        )
        .unwrap();
        let got: Vec<(&str, &str)> = targets
            .iter()
            .map(|t| (t.provider.name(), t.id.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("tencent", "ins-r8hr2upy"),
                ("volcengine", "i-3tiefmkskq3vj0abcd1"),
                ("zenlayer", "12345")
            ]
        );
    }

    #[test]
    fn a_bare_id_without_a_provider_says_which_cloud_it_looks_like() {
        let err = from_args(&strings(&["ins-r8hr2upy"]), None).unwrap_err();
        assert!(err.to_string().contains("looks like a tencent id"), "{err}");
        let err = from_args(&strings(&["i-3tiefmkskq3vj0abcd1"]), None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("e.g. volcengine:i-3tief"), "{text}");
        assert!(!text.contains("tencent:"), "{text}");
        let err = from_args(&strings(&["nimbus:x"]), None).unwrap_err();
        assert!(
            err.to_string().contains("unknown provider `nimbus`"),
            "{err}"
        );
    }

    #[test]
    fn targets_files_carry_per_target_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("targets.toml");
        std::fs::write(
            &path,
            "[[target]]\nprovider = \"tencent\"\nids = [\"ins-aaaaaaaa\", \"ins-bbbbbbbb\"]\n\
             region = \"ap-shanghai\"\n\n[[target]]\nprovider = \"compshare\"\n\
             id = \"uhost-1\"\nzone = \"cn-wlcb-01\"\nprofile = \"gpu\"\n",
        )
        .unwrap();
        let targets = from_file(&path).unwrap();
        assert_eq!(targets.len(), 3);
        assert_eq!(targets[1].region.as_deref(), Some("ap-shanghai"));
        assert_eq!(targets[2].provider.name(), "compshare");
        assert_eq!(targets[2].profile.as_deref(), Some("gpu"));
        for (text, says) in [
            ("[[target]]\nprovider = \"tencent\"\n", "no `id` or `ids`"),
            (
                "[[target]]\nprovider = \"nimbus\"\nid = \"x\"\n",
                "unknown provider",
            ),
            (
                "[[target]]\nprovider = \"tencent\"\nid = \"x\"\ncolour = 1\n",
                "unknown field",
            ),
            ("", "no [[target]] entries"),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = from_file(&path).unwrap_err();
            assert!(err.to_string().contains(says), "{text}: {err}");
        }
    }
}
