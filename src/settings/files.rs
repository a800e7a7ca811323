//! Reading the local files cloudstart is pointed at — the config file, targets files, the CA
//! bundle and the vendor CLIs' files — and describing what is wrong with them.
//!
//! Two rules hold for all of them. A file must be a regular file of at most [`MAX_BYTES`]: a FIFO
//! would block the run forever waiting for a writer, and a device such as `/dev/zero` would fill
//! memory. And a parse error names the file, line and column and what is wrong, but never quotes
//! the file's text, because the offending line may hold a secret. This module owns neither the
//! formats nor what a missing file means; its callers do.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The largest local file read: far above any real config, targets file or CA bundle.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// Why a local file could not be read.
#[derive(Debug)]
pub enum Problem {
    /// Opening or reading failed, e.g. it does not exist or may not be read.
    Io(std::io::Error),
    /// A directory, FIFO, socket or device.
    NotRegular,
    /// More than [`MAX_BYTES`].
    TooLarge,
    /// Text was expected and the bytes are not UTF-8.
    NotUtf8,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Io(err) => err.fmt(f),
            Problem::NotRegular => f.write_str("not a regular file"),
            Problem::TooLarge => write!(f, "larger than {} MiB", MAX_BYTES / (1024 * 1024)),
            Problem::NotUtf8 => f.write_str("not UTF-8 text"),
        }
    }
}

/// A local file that could not be read: which one, and why.
#[derive(Debug)]
pub struct FileError {
    /// What the file is to cloudstart, e.g. "config file".
    pub what: &'static str,
    /// Its path, as given.
    pub path: PathBuf,
    /// Why it could not be read.
    pub problem: Problem,
}

impl FileError {
    /// Whether the file does not exist, which some callers treat as "absent".
    pub fn is_not_found(&self) -> bool {
        matches!(&self.problem, Problem::Io(err) if err.kind() == std::io::ErrorKind::NotFound)
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot read the {} {}: {}",
            self.what,
            self.path.display(),
            self.problem
        )
    }
}

impl From<FileError> for Error {
    fn from(err: FileError) -> Self {
        Error::usage(err.to_string())
    }
}

/// Reads the regular file at `path` (symlinks followed), of at most [`MAX_BYTES`]; `what` names
/// it in the error.
pub fn read_local_file(path: &Path, what: &'static str) -> Result<Vec<u8>, FileError> {
    read_bytes(path).map_err(|problem| FileError {
        what,
        path: path.to_path_buf(),
        problem,
    })
}

/// [`read_local_file`] for a text file.
pub fn read_local_text(path: &Path, what: &'static str) -> Result<String, FileError> {
    let bytes = read_local_file(path, what)?;
    String::from_utf8(bytes).map_err(|_| FileError {
        what,
        path: path.to_path_buf(),
        problem: Problem::NotUtf8,
    })
}

/// Standard input as text, at most [`MAX_BYTES`] (`-f -`). It is read once per process: a
/// second reader (a report of a refused run lists the targets again) gets the same text.
pub fn read_stdin_text(what: &'static str) -> Result<String, FileError> {
    static STDIN: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    let read = STDIN.get_or_init(|| {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|err| err.to_string())?;
        if bytes.len() as u64 > MAX_BYTES {
            return Err(Problem::TooLarge.to_string());
        }
        String::from_utf8(bytes).map_err(|_| Problem::NotUtf8.to_string())
    });
    read.clone().map_err(|message| FileError {
        what,
        path: PathBuf::from("from standard input"),
        problem: Problem::Io(std::io::Error::other(message)),
    })
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, Problem> {
    // Asked of the path before opening it: opening a FIFO blocks until someone writes to it.
    let metadata = std::fs::metadata(path).map_err(Problem::Io)?;
    check(&metadata)?;
    let file = std::fs::File::open(path).map_err(Problem::Io)?;
    // Asked again of what was opened, in case the path changed in between.
    check(&file.metadata().map_err(Problem::Io)?)?;
    // One byte past the limit tells a file that grew since it was measured.
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(Problem::Io)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(Problem::TooLarge);
    }
    Ok(bytes)
}

fn check(metadata: &std::fs::Metadata) -> Result<(), Problem> {
    if !metadata.is_file() {
        Err(Problem::NotRegular)
    } else if metadata.len() > MAX_BYTES {
        Err(Problem::TooLarge)
    } else {
        Ok(())
    }
}

/// A place in a text file, 1-based, columns counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The line.
    pub line: usize,
    /// The column.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Self {
        let before = text.get(..offset).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// Describes a TOML error in `text`, read from `path`: `invalid <what> <path>:<line>:<column>:
/// <message>`, a usage error.
///
/// The `Display` of a `toml` error quotes the offending line, which may hold a secret; this keeps
/// only the position and a message that names keys but no values.
pub fn toml_error(what: &str, path: &Path, text: &str, err: &toml::de::Error) -> Error {
    let place = match err.span() {
        Some(span) => {
            let at = Position::of_offset(text, span.start);
            format!("{}:{}:{}", path.display(), at.line, at.column)
        }
        None => path.display().to_string(),
    };
    Error::usage(format!(
        "invalid {what} {place}: {}",
        without_values(err.message())
    ))
}

/// A serde or TOML message with any value it quotes left out.
///
/// Parser messages ("invalid basic string", "expected `=`") and the messages about keys ("unknown
/// field `regoin`", "duplicate key `id`", "missing field `provider`") quote only the grammar and
/// key names, and are kept. serde's type and value messages quote the value they found —
/// `invalid type: string "…", expected a sequence` — so only the kind of value is kept.
fn without_values(message: &str) -> String {
    let message = message.trim().replace('\n', "; ");
    for prefix in ["invalid type: ", "invalid value: ", "unknown variant "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            // serde writes `<found>, expected <what the type wants>`, the latter from the type.
            let (found, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, ""));
            let kind = found
                .split(['`', '"', '\''])
                .next()
                .unwrap_or_default()
                .trim();
            let mut said = prefix.trim_end().to_string();
            if prefix != "unknown variant " && !kind.is_empty() {
                said = format!("{said} {kind}");
            }
            if !expected.is_empty() {
                said = format!("{said}, expected {expected}");
            }
            return said;
        }
    }
    message
}

/// Describes a JSON error in `text`: `<line>:<column>: <what is wrong>`, without the text.
///
/// serde_json's syntax messages are fixed phrases ("EOF while parsing a string"), so they are
/// kept; messages about data (which may quote a value) are replaced by a phrase.
pub fn json_problem(text: &str, err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let (mut line, mut column) = (err.line(), err.column());
    // serde_json reports a newline it stopped at as column 0 of the next line; name the end of the
    // line it ends instead.
    if column == 0 && line > 1 {
        line -= 1;
        column = text.lines().nth(line - 1).map_or(0, |l| l.chars().count()) + 1;
    }
    let what = match err.classify() {
        Category::Syntax | Category::Eof => {
            let full = err.to_string();
            let suffix = format!(" at line {} column {}", err.line(), err.column());
            let phrase = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
            format!("not valid JSON ({phrase})")
        }
        Category::Data | Category::Io => "not valid JSON".to_string(),
    };
    format!("{line}:{column}: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        std::fs::write(&path, "text").unwrap();
        assert_eq!(read_local_text(&path, "file").unwrap(), "text");
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&path, &link).unwrap();
            assert_eq!(read_local_text(&link, "file").unwrap(), "text");
        }
    }

    #[test]
    fn what_is_not_a_regular_file_is_refused_before_opening() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_local_file(dir.path(), "targets file").unwrap_err();
        assert!(matches!(err.problem, Problem::NotRegular), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "cannot read the targets file {}: not a regular file",
                dir.path().display()
            )
        );
        if Path::new("/dev/zero").exists() {
            let err = read_local_file(Path::new("/dev/zero"), "CA bundle").unwrap_err();
            assert!(matches!(err.problem, Problem::NotRegular), "{err}");
        }
    }

    #[test]
    fn a_file_over_the_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![b'#'; MAX_BYTES as usize + 1]).unwrap();
        let err = read_local_file(&path, "CA bundle").unwrap_err();
        assert!(err.to_string().ends_with(": larger than 4 MiB"), "{err}");
        std::fs::write(&path, vec![b'#'; MAX_BYTES as usize]).unwrap();
        assert_eq!(
            read_local_file(&path, "CA bundle").unwrap().len() as u64,
            MAX_BYTES
        );
    }

    #[test]
    fn missing_files_are_told_apart() {
        let err = read_local_file(Path::new("/nonexistent/cloudstart"), "config file").unwrap_err();
        assert!(err.is_not_found());
        let dir = tempfile::tempdir().unwrap();
        assert!(!read_local_file(dir.path(), "config file")
            .unwrap_err()
            .is_not_found());
        let path = dir.path().join("latin1");
        std::fs::write(&path, b"caf\xe9").unwrap();
        let err = read_local_text(&path, "config file").unwrap_err();
        assert!(err.to_string().ends_with("not UTF-8 text"), "{err}");
    }

    #[test]
    fn positions_count_lines_and_characters_from_one() {
        let text = "a = 1\nbé = \"x\n";
        assert_eq!(
            Position::of_offset(text, 0),
            Position { line: 1, column: 1 }
        );
        assert_eq!(
            Position::of_offset(text, text.find('"').unwrap()),
            Position { line: 2, column: 6 }
        );
        assert_eq!(
            Position::of_offset(text, text.len()),
            Position { line: 3, column: 1 }
        );
    }

    fn toml_message(text: &str) -> String {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)] // only parsed, to provoke errors
        struct File {
            key: Option<String>,
            list: Option<Vec<String>>,
        }
        let err = toml::from_str::<File>(text).unwrap_err();
        toml_error("config file", Path::new("c.toml"), text, &err).to_string()
    }

    #[test]
    fn toml_errors_name_the_place_and_never_a_value() {
        for (text, says) in [
            (
                "key = \"SECRET\nlist = []\n",
                "invalid config file c.toml:1:14: invalid basic string",
            ),
            (
                "kye = \"SECRET\"\n",
                "invalid config file c.toml:1:1: unknown field `kye`, expected `key` or `list`",
            ),
            (
                "key = \"a\"\nkey = \"SECRET\"\n",
                "invalid config file c.toml:2:1: duplicate key `key` in document root",
            ),
            (
                "list = \"SECRET\"\n",
                "invalid config file c.toml:1:8: invalid type: string, expected a sequence",
            ),
            (
                "key = 2024\n",
                "invalid config file c.toml:1:7: invalid type: integer, expected a string",
            ),
            (
                "key = 1.5e3\n",
                "invalid config file c.toml:1:7: invalid type: floating point, expected a string",
            ),
        ] {
            let message = toml_message(text);
            assert!(message.starts_with(says), "{text:?}: {message}");
            assert!(!message.contains("SECRET") && !message.contains("2024"));
            assert!(
                !message.contains("1.5") && !message.contains('|'),
                "{message}"
            );
        }
    }

    #[test]
    fn json_errors_name_the_place_and_never_a_value() {
        for (text, says) in [
            (
                "{\"id\": \"a\",\n \"key\": \"SECRET\n}",
                "2:16: not valid JSON (control character",
            ),
            ("{\"key\": \"SECRET\"", "1:16: not valid JSON (EOF while"),
            (
                "{\"a\": 1 \"key\": \"SECRET\"}",
                "1:9: not valid JSON (expected `,` or `}`)",
            ),
        ] {
            let err = serde_json::from_str::<serde_json::Value>(text).unwrap_err();
            let problem = json_problem(text, &err);
            assert!(problem.starts_with(says), "{text:?}: {problem}");
            assert!(!problem.contains("SECRET"), "{problem}");
        }
    }
}
