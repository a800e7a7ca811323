//! What `cloudstart config check` prints: the config file, then for each cloud one row per
//! setting with its value (never a secret — the command puts `present` or `missing` there) and
//! the source that supplied it.

use std::path::PathBuf;

use super::write_stdout;
use crate::error::Error;

/// The whole check, as the command found it.
#[derive(Debug)]
pub struct ConfigCheck {
    /// The config file read, if any.
    pub config_file: Option<PathBuf>,
    /// The profile looked at.
    pub profile: String,
    /// What chose it (`--profile`, `CLOUDSTART_PROFILE`), if not the default.
    pub profile_from: Option<&'static str>,
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
}

/// One setting: its value (or `missing`, `invalid`, `present`) and where it came from or why
/// it is missing.
#[derive(Debug)]
pub struct CheckRow {
    /// `region`, `zone`, `endpoint`, `credentials`.
    pub setting: &'static str,
    /// What to show as its value.
    pub value: String,
    /// Its source, or the error that explains it.
    pub source: String,
}

impl ConfigCheck {
    /// Writes the check to stdout.
    pub fn print(&self) -> Result<(), Error> {
        write_stdout(self.to_text().as_bytes())
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
        for cloud in &self.clouds {
            text.push_str(cloud.name);
            text.push('\n');
            for row in &cloud.rows {
                text.push_str(&format!(
                    "  {:<12} {:<40} {}\n",
                    row.setting, row.value, row.source
                ));
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cloud_is_a_heading_over_aligned_rows() {
        let check = ConfigCheck {
            config_file: None,
            profile: "default".into(),
            profile_from: None,
            clouds: vec![CloudCheck {
                name: "tencent",
                rows: vec![CheckRow {
                    setting: "credentials",
                    value: "present".into(),
                    source: "environment".into(),
                }],
            }],
        };
        assert_eq!(
            check.to_text(),
            "config file  none (set CLOUDSTART_CONFIG)\nprofile      default\ntencent\n  \
             credentials  present                                  environment\n"
        );
    }
}
