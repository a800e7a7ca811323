//! Writing a file where the user asked for it, for `man --out-dir` and `completions --install`:
//! each file is written new beside its place and renamed into it, so a reader never sees half a
//! file and whatever was planted at the path is never opened — a symlink is replaced, not
//! followed, and a FIFO never blocks the run.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// Refuses `path` when it holds something other than a file or a symlink (a directory, a FIFO,
/// a socket): renaming over it would fail, or replace what someone meant to keep.
pub(super) fn check_replaceable(path: &Path) -> Result<(), Error> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.is_file() && !meta.is_symlink() => Err(Error::usage(format!(
            "cannot write {}: something other than a file is there",
            path.display()
        ))),
        _ => Ok(()),
    }
}

/// Writes `bytes` as `dir/name` (`dir` created if missing) through a new file renamed into
/// place, and returns the path written. Checks the path first with [`check_replaceable`].
pub(super) fn replace(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(dir).map_err(|err| failed("create", dir, err))?;
    let path = dir.join(name);
    check_replaceable(&path)?;
    let (temporary, mut file) =
        new_file_beside(dir, name).map_err(|err| failed("write in", dir, err))?;
    let written = std::io::Write::write_all(&mut file, bytes)
        .and_then(|()| file.sync_all())
        .map_err(|err| failed("write", &temporary, err))
        .and_then(|()| {
            std::fs::rename(&temporary, &path).map_err(|err| failed("write", &path, err))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.map(|()| path)
}

fn failed(what: &str, path: &Path, err: std::io::Error) -> Error {
    Error::usage(format!("cannot {what} {}: {err}", path.display()))
}

/// A file created new (never one that was there) in `dir`, named after `name` with a random
/// part, and its path.
fn new_file_beside(dir: &Path, name: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut tries = 0;
    loop {
        let path = dir.join(format!(".{name}.{:016x}.tmp", fastrand::u64(..)));
        match std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists && tries < 8 => {
                tries += 1;
            }
            Err(err) => return Err(err),
        }
    }
}
