//! The config file edited from the command line (`config init`, `config set`, `config get`):
//! the key grammar, each value checked as the loader would check it, edits that keep every
//! comment and blank line (`toml_edit`), and writes that are atomic and private.
//!
//! Keys name one string of the file:
//!
//! - `profile.<name>.<setting>`: a run setting (`timeout`, `output`, `poll_interval`, `poll_max`);
//! - `profile.<name>.<cloud>.<field>`: a cloud's `access_key_id`, `secret_access_key`,
//!   `session_token`, `region`, `zone` or `endpoint`.
//!
//! A profile name may hold dots (`profile.eu.west.tencent.region`): the key is read from its
//! right end, where the field and cloud are.
//!
//! Files are written through a temporary file in the same directory (mode 0600, then renamed
//! over the old one), so a reader never sees half a file and a crash leaves the old one whole.

use std::io::Write;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Table};

use super::config::{self, RUN_KEYS};
use super::defaults::{parse_duration, parse_output};
use super::files::read_local_text;
use super::ProfileChoice;
use crate::engine::Endpoint;
use crate::error::Error;

/// The fields of a profile's cloud table.
pub const CLOUD_FIELDS: [&str; 6] = [
    "access_key_id",
    "secret_access_key",
    "session_token",
    "region",
    "zone",
    "endpoint",
];

/// The fields `config get` prints only with `--show-secret` (the loader's `Secret`s).
const SECRET_FIELDS: [&str; 2] = ["secret_access_key", "session_token"];

/// One key of the config file, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The profile.
    pub profile: String,
    /// The cloud, for a cloud's field; `None` for a run setting.
    pub cloud: Option<&'static str>,
    /// The field or setting.
    pub field: &'static str,
}

impl Key {
    /// Parses `text` by the grammar above; an unknown key is a usage error with the nearest
    /// known one.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let parts: Vec<&str> = text.split('.').collect();
        let unknown = |hint: Option<String>| {
            let mut message = format!(
                "unknown config key `{}`: expected profile.<name>.<setting> ({}) or \
                 profile.<name>.<cloud>.<field> ({})",
                crate::error::clip(text),
                RUN_KEYS.join(", "),
                CLOUD_FIELDS.join(", ")
            );
            if let Some(hint) = hint {
                message.push_str(&format!("; did you mean `{hint}`?"));
            }
            Error::usage(message)
        };
        if parts.len() < 3 || parts[0] != "profile" {
            let hint = (parts.len() >= 2 && nearest(parts[0], &["profile"]).is_some())
                .then(|| format!("profile.{}", parts[1..].join(".")));
            return Err(unknown(hint));
        }
        let last = parts[parts.len() - 1];
        let run = RUN_KEYS.iter().find(|k| **k == last);
        let field = CLOUD_FIELDS.iter().find(|f| **f == last);
        let (profile, cloud, field) = match (run, field) {
            (Some(setting), _) => (parts[1..parts.len() - 1].join("."), None, *setting),
            (None, Some(field)) if parts.len() >= 4 => {
                let cloud = parts[parts.len() - 2];
                let Some(provider) = crate::provider::find(cloud) else {
                    let names: Vec<&str> = crate::provider::names().collect();
                    let hint = nearest(cloud, &names).map(|near| {
                        format!(
                            "profile.{}.{near}.{field}",
                            parts[1..parts.len() - 2].join(".")
                        )
                    });
                    return Err(unknown(hint));
                };
                (
                    parts[1..parts.len() - 2].join("."),
                    Some(provider.name()),
                    *field,
                )
            }
            _ => {
                let mut known: Vec<&str> = RUN_KEYS.to_vec();
                known.extend(CLOUD_FIELDS);
                let hint = nearest(last, &known).map(|near| {
                    let head = &parts[..parts.len() - 1];
                    format!("{}.{near}", head.join("."))
                });
                return Err(unknown(hint));
            }
        };
        // The loader's rule for names (they become parts of vendor file names).
        let profile = ProfileChoice::new(Some(&profile), &|_| None)?.name;
        Ok(Self {
            profile,
            cloud,
            field,
        })
    }

    /// Whether `config get` hides the value unless asked.
    pub fn is_secret(&self) -> bool {
        SECRET_FIELDS.contains(&self.field)
    }

    /// The key as written.
    pub fn dotted(&self) -> String {
        match self.cloud {
            Some(cloud) => format!("profile.{}.{cloud}.{}", self.profile, self.field),
            None => format!("profile.{}.{}", self.profile, self.field),
        }
    }

    /// The tables holding the key, from the document's root: the profile's name is one key
    /// however many dots it has.
    fn table_path(&self) -> Vec<&str> {
        let mut path = vec!["profile", self.profile.as_str()];
        path.extend(self.cloud);
        path
    }

    /// Checks `value` as the loader and the run would, so `set` never writes what a run refuses.
    pub fn check(&self, value: &str) -> Result<(), Error> {
        let key = self.dotted();
        let invalid = |why: String| Error::usage(format!("invalid value for {key}: {why}"));
        match self.field {
            "timeout" | "poll_interval" | "poll_max" => {
                let duration = parse_duration(value).map_err(invalid)?;
                if duration.is_zero() {
                    return Err(invalid("must be above zero".into()));
                }
            }
            "output" => {
                parse_output(value).map_err(invalid)?;
            }
            "region" | "zone" => {
                if !well_formed_place(value) {
                    return Err(invalid(format!(
                        "`{}`: expected lowercase letters, digits and dashes, starting and \
                         ending with a letter or digit",
                        crate::error::clip(value)
                    )));
                }
            }
            "endpoint" => {
                Endpoint::parse(value).map_err(invalid)?;
            }
            "secret_access_key" => {
                if value.is_empty() || value.chars().any(char::is_control) {
                    return Err(invalid(
                        "a secret is not empty and has no control characters \
                         (a stray newline from a copy?)"
                            .into(),
                    ));
                }
            }
            _ => {
                // Key ids and tokens: visible ASCII only, as `Credentials::malformed_part` asks.
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) {
                    let shown = if self.is_secret() {
                        String::new()
                    } else {
                        format!("`{}`: ", crate::error::clip(value))
                    };
                    return Err(invalid(format!(
                        "{shown}expected visible ASCII characters only"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A region or zone's shape, as every cloud names them: lowercase letters, digits and dashes, at
/// most 64, starting and ending with a letter or digit.
pub fn well_formed_place(value: &str) -> bool {
    let value = value.as_bytes();
    let alphanumeric = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    // A dash alone, or at either end, names no place any cloud has.
    value.len() <= 64
        && value.first().is_some_and(alphanumeric)
        && value.last().is_some_and(alphanumeric)
        && value.iter().all(|b| alphanumeric(b) || *b == b'-')
}

/// The candidate closest to `word` (at most a third of its letters away), for "did you mean".
fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    (candidates.iter())
        .map(|c| (distance(word, c), *c))
        .filter(|(d, c)| *d > 0 && *d <= c.len().max(3) / 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            previous = here;
        }
    }
    row[b.len()]
}

/// The config file's path, as the loader finds it; a usage error when there is none to find.
pub fn config_path(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, Error> {
    config::path(env).ok_or_else(|| {
        Error::usage("no config file path: set CLOUDSTART_CONFIG, or HOME (XDG_CONFIG_HOME)")
    })
}

/// The starter file's text around its clouds' tables (at `@CLOUDS@`).
const STARTER_TEMPLATE: &str = include_str!("starter.toml");

/// The starter file `config init` writes: every line a comment but the profile's table headers,
/// one table per registered cloud (its provider's `config_table`), and it loads as an empty
/// profile.
pub fn starter() -> String {
    let tables: String = (crate::provider::PROVIDERS.iter())
        .map(|p| {
            format!(
                "[profile.default.{}]\n{}\n",
                p.spec().name,
                p.spec().config_table
            )
        })
        .collect();
    STARTER_TEMPLATE.replace("@CLOUDS@\n", &tables)
}

/// Writes [`starter`]'s text at `path`, mode 0600, creating its directory (mode 0700); never over an
/// existing file (a usage error naming it).
pub fn init(path: &Path) -> Result<(), Error> {
    create_parent(path)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    private(&mut options);
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::usage(format!(
                "{} already exists; left as it is (edit it with `cloudstart config set`, or \
                 move it away first)",
                path.display()
            )))
        }
        Err(err) => return Err(write_error(path, &err)),
    };
    (file.write_all(starter().as_bytes()))
        .and_then(|()| file.sync_all())
        .map_err(|err| write_error(path, &err))
}

/// The value of `key` in the file at `path`: `Ok(None)` when the file or the key is missing.
pub fn get(path: &Path, key: &Key) -> Result<Option<String>, Error> {
    let Some(text) = read_existing(path)? else {
        return Ok(None);
    };
    let doc = parse(path, &text)?;
    let mut item = doc.as_item();
    for segment in key.table_path().into_iter().chain([key.field]) {
        match item.as_table_like().and_then(|table| table.get(segment)) {
            Some(found) => item = found,
            None => return Ok(None),
        }
    }
    Ok(item.as_str().map(str::to_string))
}

/// Sets `key` to `value` (already [`Key::check`]ed) in the file at `path`, creating it when
/// missing; every other byte of the file stays as it was. The result must load, or nothing is
/// written.
pub fn set(path: &Path, key: &Key, value: &str) -> Result<(), Error> {
    let text = read_existing(path)?.unwrap_or_default();
    let mut doc = parse(path, &text)?;
    // A table that gets its header now is written after every other, not before the first.
    let next_position = last_position(doc.as_table()) + 1;
    let mut item = doc.as_item_mut();
    let tables = key.table_path();
    let last = tables.len() - 1;
    for (depth, segment) in tables.into_iter().enumerate() {
        let table = item
            .as_table_like_mut()
            .ok_or_else(|| not_a_table(path, key))?;
        if table.get(segment).is_none() {
            let mut new = Table::new();
            // Only the innermost table gets a header: `[profile.farm.tencent]`, not `[profile]`.
            new.set_implicit(depth < last);
            new.set_position(next_position);
            table.insert(segment, Item::Table(new));
        }
        item = table.get_mut(segment).expect("inserted above");
    }
    if let Item::Table(table) = item {
        if table.is_implicit() {
            table.set_implicit(false);
            table.set_position(next_position);
        }
    }
    let table = item
        .as_table_like_mut()
        .ok_or_else(|| not_a_table(path, key))?;
    let mut new = toml_edit::Value::from(value);
    if let Some(old) = table.get(key.field).and_then(Item::as_value) {
        // A comment at the end of the line (`region = "x"  # Guangzhou`) stays.
        *new.decor_mut() = old.decor().clone();
    }
    table.insert(key.field, Item::Value(new));
    let written = doc.to_string();
    config::check_text(path, &written)?;
    write_atomically(path, written.as_bytes())
}

/// The largest position of any table under `table`.
fn last_position(table: &Table) -> usize {
    (table.iter())
        .filter_map(|(_, item)| item.as_table())
        .map(|inner| inner.position().unwrap_or(0).max(last_position(inner)))
        .max()
        .unwrap_or(0)
}

fn not_a_table(path: &Path, key: &Key) -> Error {
    Error::usage(format!(
        "cannot set {} in {}: a part of it is a value there, not a table",
        key.dotted(),
        path.display()
    ))
}

fn read_existing(path: &Path) -> Result<Option<String>, Error> {
    match read_local_text(path, "config file") {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(err.into()),
    }
}

fn parse(path: &Path, text: &str) -> Result<DocumentMut, Error> {
    // The loader's message (file, line, column, never the text) for a file it would refuse too.
    config::check_text(path, text)?;
    text.parse::<DocumentMut>()
        .map_err(|_| Error::usage(format!("invalid config file {}: not TOML", path.display())))
}

/// Writes `bytes` to a new file beside `path` (mode 0600) and renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    create_parent(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map_or_else(
        || "config.toml".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    let mut attempt = 0u32;
    let (temp, mut file) = loop {
        let temp = dir.join(format!(".{name}.{}.{attempt}.tmp", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        private(&mut options);
        match options.open(&temp) {
            Ok(file) => break (temp, file),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists && attempt < 16 => {
                attempt += 1;
            }
            Err(err) => return Err(write_error(&temp, &err)),
        }
    };
    let written = (file.write_all(bytes))
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(err) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(write_error(path, &err));
    }
    Ok(())
}

/// Creates `path`'s directory (and its parents), mode 0700, when missing.
fn create_parent(path: &Path) -> Result<(), Error> {
    let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) else {
        return Ok(());
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|err| write_error(dir, &err))
}

#[cfg(unix)]
fn private(options: &mut std::fs::OpenOptions) {
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
}

#[cfg(not(unix))]
fn private(_options: &mut std::fs::OpenOptions) {}

fn write_error(path: &Path, err: &std::io::Error) -> Error {
    Error::usage(format!("cannot write {}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_from_their_right_end() {
        let key = Key::parse("profile.farm.tencent.region").unwrap();
        assert_eq!(
            (key.profile.as_str(), key.cloud, key.field),
            ("farm", Some("tencent"), "region")
        );
        let key = Key::parse("profile.eu.west.timeout").unwrap();
        assert_eq!((key.profile.as_str(), key.cloud), ("eu.west", None));
        assert_eq!(key.dotted(), "profile.eu.west.timeout");
        assert!(Key::parse("profile.x.volcengine.session_token")
            .unwrap()
            .is_secret());
    }

    #[test]
    fn unknown_keys_suggest_the_nearest() {
        for (text, hint) in [
            ("profile.farm.tencent.regoin", "profile.farm.tencent.region"),
            ("profile.farm.tencnet.region", "profile.farm.tencent.region"),
            ("profile.farm.timeuot", "profile.farm.timeout"),
            ("profiles.farm.timeout", "profile.farm.timeout"),
        ] {
            let err = Key::parse(text).unwrap_err();
            assert_eq!(err.kind(), crate::error::ErrorKind::Usage);
            assert!(
                err.to_string().contains(&format!("did you mean `{hint}`")),
                "{err}"
            );
        }
        assert!(Key::parse("profile.farm.nimbus.region").is_err());
        assert!(Key::parse("profile.../x.tencent.region").is_err());
    }

    #[test]
    fn values_are_checked_as_a_run_would() {
        let check = |key: &str, value: &str| Key::parse(key).unwrap().check(value);
        assert!(check("profile.a.tencent.region", "ap-guangzhou").is_ok());
        assert!(check("profile.a.tencent.region", "AP Guangzhou").is_err());
        assert!(check("profile.a.timeout", "90s").is_ok());
        assert!(check("profile.a.timeout", "abc").is_err());
        assert!(check("profile.a.timeout", "0s").is_err());
        assert!(check("profile.a.output", "JSON").is_ok());
        assert!(check("profile.a.output", "yaml").is_err());
        assert!(check("profile.a.tencent.endpoint", "ftp://x").is_err());
        let err = check("profile.a.tencent.session_token", "S3CR3T\n").unwrap_err();
        assert!(!err.to_string().contains("S3CR3T"), "{err}");
    }

    #[test]
    fn the_starter_file_loads_and_names_every_cloud() {
        let starter = starter();
        config::check_text(Path::new("config.toml"), &starter).unwrap();
        assert!(!starter.contains("@CLOUDS@"));
        for provider in crate::provider::PROVIDERS {
            let spec = provider.spec();
            let table = format!("[profile.default.{}]\n{}", spec.name, spec.config_table);
            assert!(starter.contains(&table), "{}", spec.name);
            assert!(
                (spec.config_table.lines()).all(|line| line.starts_with("# ")),
                "{}: every line of its table is a comment",
                spec.name
            );
        }
    }
}
