//! Reading the local files cloudstart is pointed at — the config file, targets files, the CA
//! bundle and the vendor CLIs' files.
//!
//! A file must be a regular file of at most [`MAX_BYTES`]: a FIFO would block the run forever
//! waiting for a writer, and a device such as `/dev/zero` would fill memory. This module owns
//! neither the formats nor what a missing file means; its callers do.

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
}
