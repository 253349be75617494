//! Lock files that serialize mcpm runs on the same files: `.NAME.mcpm-lock`
//! beside each file (beside the target of a symlink). A writer holds an
//! exclusive lock on every file it may write, taken in one fixed order (by
//! path) so two runs never wait on each other in a circle; a read-only run
//! (`--check`, `--dry-run`) takes shared locks on lock files that already
//! exist and creates nothing. The lock file records the holder's pid, so a
//! run that gives up can say whom it waited for, and a note (sync's cache key).
use std::fs;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

use super::{file_name, parent_dir, resolve_target};

/// How a run locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// A run that may write: creates the lock file (and its directory).
    Exclusive,
    /// A run that only reads: shares the lock with other readers, waits for
    /// a writer, and never creates anything.
    Shared,
}

/// The first line of a lock file: who holds (or last held) it.
const HOLDER: &str = "mcpm-lock pid=";

/// One held lock, released when dropped (closing the file releases it).
pub struct FileLock {
    /// `None` when a read-only run found no lock file: nobody ever wrote there.
    file: Option<fs::File>,
    path: PathBuf,
}

impl FileLock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The note kept in the lock file (mcpm keeps a cache key there).
    pub fn note(&mut self) -> String {
        let Some(file) = self.file.as_mut() else {
            return String::new();
        };
        let mut text = String::new();
        let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
        match text.strip_prefix(HOLDER) {
            Some(rest) => rest
                .split_once('\n')
                .map(|(_, note)| note.to_string())
                .unwrap_or_default(),
            None => text,
        }
    }

    /// Replaces the note; a failure only costs the cache, so it is ignored.
    /// A shared lock never writes.
    ///
    /// The text is written over the old one and the file shortened only when
    /// it shrinks: the pid is padded to a fixed width, so a run's text is as
    /// long as the last run's. Shortening a file whose last write is not on
    /// disk yet makes ext4 (data=ordered) flush that write first, which cost
    /// every back-to-back sync about 7 ms per lock file.
    pub fn set_note(&mut self, note: &str) {
        if let Some(file) = self.file.as_mut() {
            let text = format!("{HOLDER}{:<10}\n{note}", std::process::id());
            let len = text.len() as u64;
            let _ = file
                .rewind()
                .and_then(|()| file.write_all(text.as_bytes()))
                .and_then(|()| file.metadata())
                .and_then(|meta| match meta.len() > len {
                    true => file.set_len(len),
                    false => Ok(()),
                });
        }
    }
}

/// Locks the lock file of every path in `paths`, waiting at most `timeout`
/// for other runs, and returns the locks in the order of `paths`.
pub fn lock_files(paths: &[&Path], mode: LockMode, timeout: Duration) -> Result<Vec<FileLock>> {
    let mut wanted = Vec::with_capacity(paths.len());
    for (index, path) in paths.iter().enumerate() {
        wanted.push((lock_path(path, mode)?, index));
    }
    // One global order: two runs locking overlapping sets cannot deadlock.
    wanted.sort();
    let deadline = Instant::now() + timeout;
    let mut taken: Vec<(usize, FileLock)> = Vec::with_capacity(paths.len());
    let mut previous: Option<&PathBuf> = None;
    for (lock_path, index) in &wanted {
        let lock = if previous == Some(lock_path) {
            // The same file twice (two names of one file): locked once already.
            FileLock {
                file: None,
                path: lock_path.clone(),
            }
        } else {
            acquire(lock_path, paths[*index], mode, deadline, timeout)?
        };
        previous = Some(lock_path);
        taken.push((*index, lock));
    }
    taken.sort_by_key(|(index, _)| *index);
    Ok(taken.into_iter().map(|(_, lock)| lock).collect())
}

/// `.NAME.mcpm-lock` beside the file `path` leads to, its directory made
/// canonical so that two names for one file share one lock.
fn lock_path(path: &Path, mode: LockMode) -> Result<PathBuf> {
    let target = resolve_target(path)?;
    let dir = parent_dir(&target);
    if mode == LockMode::Exclusive {
        fs::create_dir_all(&dir).map_err(|err| Error::io("create directory", &dir, err))?;
    }
    let dir = fs::canonicalize(&dir).unwrap_or(dir);
    Ok(dir.join(format!(".{}.mcpm-lock", file_name(&target))))
}

fn acquire(
    lock_path: &Path,
    for_path: &Path,
    mode: LockMode,
    deadline: Instant,
    timeout: Duration,
) -> Result<FileLock> {
    let opened = match mode {
        LockMode::Exclusive => fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(lock_path),
        LockMode::Shared => fs::File::open(lock_path),
    };
    let file = match opened {
        Ok(file) => file,
        Err(err) if mode == LockMode::Shared && err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(FileLock {
                file: None,
                path: lock_path.to_path_buf(),
            });
        }
        Err(err) => return Err(Error::io("open lock file", lock_path, err)),
    };
    let try_lock = |file: &fs::File| match mode {
        LockMode::Exclusive => file.try_lock(),
        LockMode::Shared => file.try_lock_shared(),
    };
    let mut pause = Duration::from_millis(5);
    let mut told = false;
    loop {
        match try_lock(&file) {
            Ok(()) => break,
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(err)) => return Err(Error::io("lock", lock_path, err)),
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(timed_out(lock_path, for_path, timeout));
        }
        if !told {
            told = true;
            eprintln!(
                "waiting for another mcpm run{} on {} to finish…",
                holder(lock_path)
                    .map(|pid| format!(" (pid {pid})"))
                    .unwrap_or_default(),
                for_path.display()
            );
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
    let mut lock = FileLock {
        file: Some(file),
        path: lock_path.to_path_buf(),
    };
    if mode == LockMode::Exclusive {
        // Name the new holder; keep the note.
        let note = lock.note();
        lock.set_note(&note);
    }
    Ok(lock)
}

/// The pid recorded by the run that holds (or last held) the lock.
fn holder(lock_path: &Path) -> Option<u32> {
    let text = fs::read_to_string(lock_path).ok()?;
    let line = text.strip_prefix(HOLDER)?.lines().next()?;
    line.trim().parse().ok()
}

fn timed_out(lock_path: &Path, for_path: &Path, timeout: Duration) -> Error {
    let who = match holder(lock_path) {
        Some(pid) => format!("pid {pid}"),
        None => "another process".to_string(),
    };
    Error::runtime(format!(
        "gave up after {} s waiting for the lock {} on {}: it is held by {who}",
        timeout.as_secs(),
        lock_path.display(),
        for_path.display()
    ))
    .hint(format!(
        "wait for that mcpm run to finish, or pass --lock-timeout SECONDS; if {who} is no mcpm run, another program holds the lock"
    ))
}
