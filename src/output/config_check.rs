//! What `cloudstart config check` prints: the config file, the run's own settings, then for each
//! cloud one row per setting with its value (never a secret — credentials are `present` or
//! `missing`) and the source that supplied it; with `--online`, whether the cloud accepted the
//! credentials. As text for people, or as one JSON document (schema in README).

use std::path::PathBuf;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{write_stdout, OutputFormat};
use crate::error::{Error, ErrorKind};

/// Bumped only on incompatible changes of the JSON document.
pub const CHECK_SCHEMA_VERSION: u32 = 1;

/// The whole check, as the command found it.
#[derive(Debug)]
pub struct ConfigCheck {
    /// The config file read, if any.
    pub config_file: Option<PathBuf>,
    /// The profile looked at.
    pub profile: String,
    /// What chose it (`--profile`, `CLOUDSTART_PROFILE`), if not the default.
    pub profile_from: Option<&'static str>,
    /// The run's own settings: `timeout`, `output`, `poll_interval`, `poll_max`.
    pub run: Vec<CheckRow>,
    /// One entry per cloud checked.
    pub clouds: Vec<CloudCheck>,
}

/// One cloud's settings.
#[derive(Debug)]
pub struct CloudCheck {
    /// The `--provider` value.
    pub name: &'static str,
    /// One row per setting, in the order checked.
    pub rows: Vec<CheckRow>,
    /// With `--online`, the read's outcome; `None` when not asked or not configured.
    pub online: Option<OnlineCheck>,
}

/// One setting: what to show, its value (never a secret), and its source or its problem.
#[derive(Debug)]
pub struct CheckRow {
    /// `region`, `zone`, `endpoint`, `credentials`, `timeout`, …
    pub setting: &'static str,
    /// What the text shows as its value: the value, or `present`, `missing`, `invalid`, `unset`.
    pub shown: String,
    /// The value in the JSON document; `None` for credentials (only their presence is shown),
    /// problems and unset settings.
    pub value: Option<String>,
    /// Where it came from.
    pub source: Option<CheckSource>,
    /// Why it is missing or invalid.
    pub problem: Option<String>,
}

/// A setting's source, as data and as the sentence people read.
#[derive(Debug, Clone, Serialize)]
pub struct CheckSource {
    /// `flag`, `targets_file`, `env`, `profile`, `vendor` or `default`.
    pub kind: &'static str,
    /// The flag, variable, profile or file; none for `default`.
    pub name: Option<String>,
    /// The sentence, e.g. `environment TENCENTCLOUD_REGION`.
    #[serde(skip)]
    pub text: String,
}

/// Whether a cloud accepted the credentials of one authenticated read.
#[derive(Debug)]
pub struct OnlineCheck {
    /// The read was answered.
    pub accepted: bool,
    /// Otherwise, the error's kind and message.
    pub error: Option<(ErrorKind, String)>,
}

impl ConfigCheck {
    /// Writes the check to stdout: text, or JSON for `json` and `ndjson` (one line).
    pub fn print(&self, format: OutputFormat) -> Result<(), Error> {
        match format {
            OutputFormat::Text => write_stdout(self.to_text().as_bytes()),
            OutputFormat::Json => {
                let mut text = serde_json::to_string_pretty(&self.to_json())
                    .map_err(|err| Error::internal(err.to_string()))?;
                text.push('\n');
                write_stdout(text.as_bytes())
            }
            OutputFormat::Ndjson => write_stdout(format!("{}\n", self.to_json()).as_bytes()),
        }
    }

    fn to_text(&self) -> String {
        let mut text = match &self.config_file {
            Some(path) => format!("config file  {}\n", path.display()),
            None => "config file  none (set CLOUDSTART_CONFIG)\n".to_string(),
        };
        text.push_str(&format!("profile      {}", self.profile));
        if let Some(from) = self.profile_from {
            text.push_str(&format!(" (from {from})"));
        }
        text.push('\n');
        if !self.run.is_empty() {
            text.push_str("run\n");
            push_rows(&mut text, &self.run);
        }
        for cloud in &self.clouds {
            text.push_str(cloud.name);
            text.push('\n');
            push_rows(&mut text, &cloud.rows);
            if let Some(online) = &cloud.online {
                let (shown, why) = match &online.error {
                    None => ("accepted", "one authenticated read answered".to_string()),
                    Some((ErrorKind::Auth, message)) => ("rejected", message.clone()),
                    Some((_, message)) => ("failed", message.clone()),
                };
                text.push_str(&format!("  {:<13} {shown:<40} {why}\n", "online"));
            }
        }
        text
    }

    fn to_json(&self) -> Value {
        let clouds: Vec<Value> = (self.clouds.iter())
            .map(|cloud| {
                let mut settings = Map::new();
                let mut credentials = json!({"present": false, "source": null, "error": null});
                let mut profile_error = Value::Null;
                for row in &cloud.rows {
                    match row.setting {
                        "credentials" => {
                            credentials = json!({
                                "present": row.problem.is_none(),
                                "source": row.source,
                                "error": row.problem,
                            });
                        }
                        "profile" => profile_error = json!(row.problem),
                        _ => {
                            settings.insert(row.setting.into(), row_json(row));
                        }
                    }
                }
                let online = cloud.online.as_ref().map(|online| {
                    json!({
                        "accepted": online.accepted,
                        "error": online.error.as_ref().map(|(kind, message)| json!({
                            "kind": kind, "exit_code": kind.exit_code(), "message": message,
                        })),
                    })
                });
                json!({
                    "provider": cloud.name,
                    "region": settings.remove("region"),
                    "zone": settings.remove("zone"),
                    "endpoint": settings.remove("endpoint"),
                    "credentials": credentials,
                    "profile_error": profile_error,
                    "online": online,
                })
            })
            .collect();
        let run: Map<String, Value> = (self.run.iter())
            .map(|row| (row.setting.to_string(), row_json(row)))
            .collect();
        json!({
            "schema_version": CHECK_SCHEMA_VERSION,
            "config_file": self.config_file.as_ref().map(|p| p.display().to_string()),
            "profile": self.profile,
            "profile_from": self.profile_from,
            "run": run,
            "clouds": clouds,
        })
    }
}

fn row_json(row: &CheckRow) -> Value {
    json!({"value": row.value, "source": row.source, "error": row.problem})
}

fn push_rows(text: &mut String, rows: &[CheckRow]) {
    for row in rows {
        let source = match (&row.problem, &row.source) {
            (Some(problem), _) => problem.as_str(),
            (None, Some(source)) => source.text.as_str(),
            (None, None) => "",
        };
        text.push_str(&format!(
            "  {:<13} {:<40} {}\n",
            row.setting, row.shown, source
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> ConfigCheck {
        ConfigCheck {
            config_file: None,
            profile: "default".into(),
            profile_from: None,
            run: Vec::new(),
            clouds: vec![CloudCheck {
                name: "tencent",
                rows: vec![CheckRow {
                    setting: "credentials",
                    shown: "present".into(),
                    value: None,
                    source: Some(CheckSource {
                        kind: "env",
                        name: Some("TENCENTCLOUD_SECRET_ID".into()),
                        text: "environment".into(),
                    }),
                    problem: None,
                }],
                online: None,
            }],
        }
    }

    #[test]
    fn each_cloud_is_a_heading_over_aligned_rows() {
        assert_eq!(
            check().to_text(),
            "config file  none (set CLOUDSTART_CONFIG)\nprofile      default\ntencent\n  \
             credentials   present                                  environment\n"
        );
    }

    #[test]
    fn json_shows_presence_and_source_of_credentials_only() {
        let json = check().to_json();
        let credentials = &json["clouds"][0]["credentials"];
        assert_eq!(credentials["present"], true);
        assert_eq!(credentials["source"]["kind"], "env");
        assert_eq!(json["schema_version"], 1);
        assert!(json["clouds"][0]["region"].is_null());
    }
}
