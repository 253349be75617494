//! Writing users' files safely: atomically (a temp file in the same directory,
//! then rename), with a backup of what was there, and only when the content
//! really changes, so an unchanged file keeps its bytes and its mtime.
//!
//! The one writer of the tool. Modelled on cargo-util's `paths::write_atomic`:
//! a symlinked destination is followed to its target, which is replaced (the
//! link stays a link), and only the target's rwx permission bits carry over.
//! Backups (`<target>.bak`) are written the same way: a fresh temp name
//! created with `O_EXCL`, owner-only from the first byte, then renamed over
//! the old backup, so a link planted at the backup's name is replaced, never
//! followed, and a kill leaves either the old backup or the whole new one.
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

mod lock;
mod pair;
#[cfg(test)]
mod tests;

pub use lock::{FileLock, LockMode, lock_files};
pub use pair::{Interrupted, finish_interrupted, write_pair};

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
    /// Unix permission bits for the file (e.g. 0o600 for `.env`); they also
    /// cap the backup's. Without it an existing file keeps its rwx bits and a
    /// new one gets 0644.
    pub mode: Option<u32>,
    /// Keep the previous version as `<file>.bak`.
    pub backup: bool,
}

/// The permission bits a written file may carry: rwx for user, group and
/// other, never setuid, setgid or sticky.
const RWX: u32 = 0o777;

/// Writes `contents` to `path` atomically. A symlink at `path` is followed
/// and its target replaced.
pub fn write_atomic(path: &Path, contents: &[u8], options: WriteOptions) -> Result<WriteOutcome> {
    match stage(path, contents, options)? {
        None => Ok(WriteOutcome::Unchanged),
        Some(staged) => {
            flush(&[&staged])?;
            staged.install()
        }
    }
}

/// The first half of a write: the new text in a temp file beside its
/// target, with its final mode, not yet flushed nor renamed. [`flush`] then
/// [`Staged::install`] finish it; dropped instead, the temp file goes.
pub(crate) struct Staged {
    target: PathBuf,
    temp: tempfile::NamedTempFile,
    /// What the target held, for its backup (`None`: no backup wanted, or no
    /// file there yet).
    backup: Option<Backup>,
    created: bool,
}

struct Backup {
    previous: Vec<u8>,
    mode: u32,
    /// Whether the backup can be a second name of the old file (no special
    /// bits, and the same mode), rather than a copy.
    linkable: bool,
}

/// Stages a write of `contents` to `path` (see [`Staged`]); `None` when the
/// file already holds exactly that (its mode is still set when `options`
/// asks for another one).
pub(crate) fn stage(path: &Path, contents: &[u8], options: WriteOptions) -> Result<Option<Staged>> {
    let target = resolve_target(path)?;
    let previous = match fs::read(&target) {
        Ok(bytes) => Some(bytes),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(Error::io("read", &target, err)),
    };
    let old_mode = previous.as_ref().and_then(|_| existing_mode(&target));
    if previous.as_deref() == Some(contents) {
        if let Some(mode) = options.mode
            && old_mode != Some(mode & RWX)
        {
            set_mode(&target, mode & RWX)?;
        }
        return Ok(None);
    }
    let mode = options.mode.or(old_mode).unwrap_or(0o644) & RWX;
    let created = previous.is_none();
    let backup = previous.filter(|_| options.backup).map(|previous| {
        // The old content keeps its old readers and no more: the original's
        // bits, narrowed by an explicit mode (a 0644 `.env` being tightened
        // must not leave a 0644 copy of its secrets behind).
        let mode = old_mode.unwrap_or(0o600) & options.mode.unwrap_or(RWX) & RWX;
        let linkable = special_bits(&target) == Some(0) && old_mode == Some(mode);
        Backup {
            previous,
            mode,
            linkable,
        }
    });
    let temp = temp_with(&target, contents, mode)?;
    Ok(Some(Staged {
        target,
        temp,
        backup,
        created,
    }))
}

/// Flushes staged files to the disk, all at once. Each flush waits for the
/// disk; flushes issued together are committed together by the file system
/// (three files: ~1.5 ms at once against ~8.6 ms one after the other, on
/// this project's ext4 machine under load), and a writing sync flushes three.
pub(crate) fn flush(staged: &[&Staged]) -> Result<()> {
    let flush_one = |staged: &Staged| {
        staged
            .temp
            .as_file()
            .sync_all()
            .map_err(|err| Error::io("flush", staged.temp.path(), err))
    };
    match staged {
        [] => Ok(()),
        [one] => flush_one(one),
        [first, rest @ ..] => std::thread::scope(|scope| {
            let others: Vec<_> = rest
                .iter()
                .map(|staged| scope.spawn(move || flush_one(staged)))
                .collect();
            let mut result = flush_one(first);
            for other in others {
                let flushed = other
                    .join()
                    .unwrap_or_else(|_| Err(Error::runtime("a flush thread panicked")));
                result = result.and(flushed);
            }
            result
        }),
    }
}

impl Staged {
    /// The second half of a write, once [`flush`]ed: the backup, then the
    /// rename that puts the new text in place.
    pub(crate) fn install(self) -> Result<WriteOutcome> {
        if let Some(backup) = &self.backup {
            let path = backup_path(&self.target);
            // The old version is already whole on disk, and the new text
            // goes to a new file renamed over its name: a second name for
            // the old file is a whole backup without copying or flushing it
            // again. Copied where the backup must be narrower than the
            // original, or links fail.
            if !backup.linkable || link_backup(&self.target, &path).is_err() {
                replace(&path, &backup.previous, backup.mode)?;
            }
        }
        debug_point("before-rename");
        self.temp
            .persist(&self.target)
            .map_err(|err| Error::io("replace", &self.target, err.error))?;
        debug_point("after-write");
        Ok(if self.created {
            WriteOutcome::Created
        } else {
            WriteOutcome::Updated
        })
    }
}

/// Makes `backup` a second name of `target`'s file: linked under a temp
/// name (one `sweep_temps` knows), then renamed over `backup`, so a link
/// or a stale file at the backup's name is replaced, never followed.
fn link_backup(target: &Path, backup: &Path) -> std::io::Result<()> {
    let dir = parent_dir(backup);
    for _ in 0..8 {
        // Six alphanumerics, the shape of the temp files `replace` makes.
        let random =
            crate::hash::random_hex(3).map_err(|err| std::io::Error::other(err.message))?;
        let temp = dir.join(format!(".{}.{random}.tmp", file_name(backup)));
        match fs::hard_link(target, &temp) {
            Ok(()) => {
                debug_point("backup-linked");
                let renamed = fs::rename(&temp, backup);
                // Gone after a rename, except where the backup already was
                // this same file (a run killed after linking it): rename then
                // leaves both names, as POSIX says it must.
                let _ = fs::remove_file(&temp);
                return renamed;
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
    Err(std::io::Error::other("no free temporary name"))
}

/// Puts `contents` at `path` (not a link: a link there is replaced) through a
/// flushed temp file renamed over it.
fn replace(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let temp = temp_with(path, contents, mode)?;
    temp.as_file()
        .sync_all()
        .map_err(|err| Error::io("flush", temp.path(), err))?;
    debug_point("before-rename");
    temp.persist(path)
        .map_err(|err| Error::io("replace", path, err.error))?;
    Ok(())
}

/// A temp file in `path`'s directory holding `contents` with `mode`: created
/// new (`O_EXCL`, mode 0600), filled, then given `mode` through the open
/// handle (fchmod: the umask does not apply, and no other name can be
/// swapped in between). Not flushed.
fn temp_with(path: &Path, contents: &[u8], mode: u32) -> Result<tempfile::NamedTempFile> {
    let dir = parent_dir(path);
    fs::create_dir_all(&dir).map_err(|err| Error::io("create directory", &dir, err))?;
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name(path)))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|err| Error::io("create a temporary file in", &dir, err))?;
    temp.write_all(contents)
        .map_err(|err| Error::io("write", temp.path(), err))?;
    set_file_mode(temp.as_file(), mode)
        .map_err(|err| Error::io("set permissions on", temp.path(), err))?;
    Ok(temp)
}

/// Removes the temp files a killed writer left for `path` (its own and its
/// backup's: `.NAME.XXXXXX.tmp`, `.NAME.bak.XXXXXX.tmp`). Call it only while
/// holding `path`'s lock, when no other writer of `path` can be mid-write.
/// Best effort: a leftover that cannot be removed harms nobody.
pub fn sweep_temps(path: &Path) {
    let Ok(target) = resolve_target(path) else {
        return;
    };
    let prefix = format!(".{}.", file_name(&target));
    let Ok(entries) = fs::read_dir(parent_dir(&target)) else {
        return;
    };
    let random = |part: &str| part.len() == 6 && part.chars().all(|c| c.is_ascii_alphanumeric());
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(middle) = name
            .to_str()
            .and_then(|name| name.strip_prefix(&prefix))
            .and_then(|rest| rest.strip_suffix(".tmp"))
        else {
            continue;
        };
        let ours = random(middle) || middle.strip_prefix("bak.").is_some_and(random);
        if ours && entry.file_type().is_ok_and(|kind| kind.is_file()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Where a write to `path` lands: `path` itself, or the file its symlinks
/// lead to (which may not exist yet). A relative link is read from the
/// link's own directory, as the system does.
pub fn resolve_target(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    // The limit the kernel uses for nested links (ELOOP).
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&current)
                    .map_err(|err| Error::io("read the link", &current, err))?;
                current = if link.is_absolute() {
                    link
                } else {
                    parent_dir(&current).join(link)
                };
            }
            Ok(_) => return Ok(current),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(err) => return Err(Error::io("inspect", &current, err)),
        }
    }
    Err(Error::runtime(format!(
        "cannot write {}: too many levels of symbolic links",
        path.display()
    )))
}

/// Reads a text file that may not exist yet: `None` when it does not.
pub fn read_optional(path: &Path) -> Result<Option<String>> {
    match crate::memory::read_input(path) {
        Ok(bytes) => crate::source::decode(path, bytes).map(Some),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::io("read", path, err)),
    }
}

/// `compose.yaml` → `compose.yaml.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

/// A named point in a write sequence where tests can stop the process.
/// Debug builds only: `MCPM_TEST_CRASH_AT=NAME` (or `NAME#N`, the Nth time
/// there) aborts there, as a kill -9 would: no destructor runs, temp files
/// stay. `MCPM_TEST_PAUSE_AT=NAME:MS` sleeps there. Release builds compile
/// it to nothing.
pub fn debug_point(name: &str) {
    #[cfg(debug_assertions)]
    {
        static PASSES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        if let Ok(at) = std::env::var("MCPM_TEST_CRASH_AT") {
            let (at, nth) = at.split_once('#').unwrap_or((&at, "1"));
            if at == name
                && PASSES.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1
                    == nth.parse().unwrap_or(1)
            {
                std::process::abort();
            }
        }
        if let Ok(pause) = std::env::var("MCPM_TEST_PAUSE_AT")
            && let Some((at, ms)) = pause.split_once(':')
            && at == name
        {
            std::thread::sleep(std::time::Duration::from_millis(ms.parse().unwrap_or(0)));
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
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
        .map(|meta| meta.permissions().mode() & RWX)
}

#[cfg(not(unix))]
fn existing_mode(_path: &Path) -> Option<u32> {
    None
}

/// The setuid, setgid and sticky bits of a file (which a backup must not
/// carry: a linked backup would share them).
#[cfg(unix)]
fn special_bits(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .ok()
        .map(|meta| meta.permissions().mode() & 0o7000)
}

#[cfg(not(unix))]
fn special_bits(_path: &Path) -> Option<u32> {
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

#[cfg(unix)]
fn set_file_mode(file: &fs::File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_file_mode(_file: &fs::File, _mode: u32) -> std::io::Result<()> {
    Ok(())
}
