//! Writing users' files safely: atomically (a temp file in the same directory,
//! then rename), with a backup of what was there, and only when the content
//! really changes, so an unchanged file keeps its bytes and its mtime.
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Created,
    Updated,
    Unchanged,
}

/// Options for [`write_atomic`].
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Unix permission bits for the new file (e.g. 0o600 for `.env`).
    pub mode: Option<u32>,
    /// Keep the previous version as `<file>.bak`.
    pub backup: bool,
}

/// Writes `contents` to `path` atomically.
pub fn write_atomic(path: &Path, contents: &[u8], options: WriteOptions) -> Result<WriteOutcome> {
    let previous = match fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(Error::io("read", path, err)),
    };
    if previous.as_deref() == Some(contents) {
        if let Some(mode) = options.mode {
            set_mode(path, mode)?;
        }
        return Ok(WriteOutcome::Unchanged);
    }
    let dir = parent_dir(path);
    fs::create_dir_all(&dir).map_err(|err| Error::io("create directory", &dir, err))?;
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name(path)))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|err| Error::io("create a temporary file in", &dir, err))?;
    // An explicit mode wins; else an existing file keeps its own, and a new one
    // gets the usual 0644 (a temp file starts out as 0600).
    let mode = options
        .mode
        .or_else(|| existing_mode(path))
        .unwrap_or(0o644);
    set_mode(temp.path(), mode)?;
    temp.write_all(contents)
        .map_err(|err| Error::io("write", temp.path(), err))?;
    temp.as_file()
        .sync_all()
        .map_err(|err| Error::io("flush", temp.path(), err))?;
    if options.backup
        && let Some(previous) = &previous
    {
        let backup = backup_path(path);
        fs::write(&backup, previous).map_err(|err| Error::io("write backup", &backup, err))?;
        if let Some(mode) = options.mode {
            set_mode(&backup, mode)?;
        }
    }
    temp.persist(path)
        .map_err(|err| Error::io("replace", path, err.error))?;
    Ok(if previous.is_some() {
        WriteOutcome::Updated
    } else {
        WriteOutcome::Created
    })
}

/// Reads a text file that may not exist yet: `None` when it does not.
pub fn read_optional(path: &Path) -> Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => crate::source::decode(path, bytes).map(Some),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::io("read", path, err)),
    }
}

/// Holds an exclusive lock on a lock file beside `path` until dropped, so two
/// runs on the same files never interleave (the second waits).
pub struct FileLock {
    file: fs::File,
}

impl FileLock {
    /// The note kept in the lock file (mcpm keeps a cache key there).
    pub fn note(&mut self) -> String {
        use std::io::{Read, Seek};
        let mut text = String::new();
        let _ = self
            .file
            .rewind()
            .and_then(|()| self.file.read_to_string(&mut text));
        text
    }

    /// Replaces the note; a failure only costs the cache, so it is ignored.
    pub fn set_note(&mut self, note: &str) {
        use std::io::Seek;
        let _ = self
            .file
            .set_len(0)
            .and_then(|()| self.file.rewind())
            .and_then(|()| self.file.write_all(note.as_bytes()));
    }
}

/// Locks `path`'s lock file (`.NAME.mcpm-lock` in the same directory).
pub fn lock_beside(path: &Path) -> Result<FileLock> {
    let dir = parent_dir(path);
    fs::create_dir_all(&dir).map_err(|err| Error::io("create directory", &dir, err))?;
    let lock_path = dir.join(format!(".{}.mcpm-lock", file_name(path)));
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&lock_path)
        .map_err(|err| Error::io("open lock file", &lock_path, err))?;
    if file.try_lock().is_err() {
        eprintln!(
            "waiting for another mcpm run on {} to finish…",
            path.display()
        );
        file.lock()
            .map_err(|err| Error::io("lock", &lock_path, err))?;
    }
    Ok(FileLock { file })
}

/// `compose.yaml` → `compose.yaml.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "mcpm".into())
}

#[cfg(unix)]
fn existing_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .ok()
        .map(|meta| meta.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn existing_mode(_path: &Path) -> Option<u32> {
    None
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|err| Error::io("set permissions on", path, err))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_backs_up_and_skips_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        let options = WriteOptions {
            backup: true,
            ..Default::default()
        };
        assert_eq!(
            write_atomic(&path, b"one", options).unwrap(),
            WriteOutcome::Created
        );
        assert_eq!(
            write_atomic(&path, b"one", options).unwrap(),
            WriteOutcome::Unchanged
        );
        assert_eq!(
            write_atomic(&path, b"two", options).unwrap(),
            WriteOutcome::Updated
        );
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read(backup_path(&path)).unwrap(), b"one");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn mode_is_applied() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        write_atomic(
            &path,
            b"A=1\n",
            WriteOptions {
                mode: Some(0o600),
                backup: false,
            },
        )
        .unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
