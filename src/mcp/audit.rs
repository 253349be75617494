//! The MCP server's audit log: one JSON line per tool call in
//! `<config dir>/audit.log` (mode 0600), with secrets in the arguments masked,
//! rotated by size into `audit.log.1` … `audit.log.5`.
//!
//! Several mcpm processes may share one log (a stdio server per agent and an
//! HTTP server), so every record locks the log file itself (`flock`),
//! rotates when the next line would pass the limit, and appends the line
//! with one `write` on an `O_APPEND` descriptor: lines never interleave and
//! none is lost across a rotation. (`files::lock`'s lock files are not used:
//! they announce every wait on stderr and poll with a growing sleep, both
//! wrong for a server whose own threads contend for the log all the time.) A symlink at `audit.log` is
//! refused rather than followed: whoever can write the config dir could point
//! it at a file the server's user may write and make mcpm append to it.
pub mod read;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::compose::secrets::mask_json;
use crate::error::{Error, Result};

/// The log's file name in the config dir.
pub const FILE_NAME: &str = "audit.log";
/// Rotated generations kept: `audit.log.1` (newest) … `audit.log.5`.
pub const GENERATIONS: usize = 5;
/// Size past which the log is rotated, unless `MCPM_AUDIT_MAX_BYTES` says.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// The environment variable that overrides [`DEFAULT_MAX_BYTES`] (tests).
pub const MAX_BYTES_ENV: &str = "MCPM_AUDIT_MAX_BYTES";
/// The log's permission bits: it names callers and what they asked for.
const MODE: u32 = 0o600;

/// One tool call, as the server saw it.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub time: SystemTime,
    /// The token's name over HTTP, `stdio` over stdio.
    pub caller: String,
    /// `read`, `operate` or `admin`.
    pub role: String,
    /// `stdio` or `http`.
    pub transport: String,
    pub tool: String,
    /// As received; [`AuditLog::record`] masks secrets itself.
    pub arguments: serde_json::Value,
    /// `ok`, `error`, `denied` or `invalid`.
    pub outcome: String,
    /// The error, or the role a denied call needed.
    pub detail: Option<String>,
    pub duration: Duration,
}

/// One line of the log, as written and as read back (`mcpm mcp audit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditLine {
    /// RFC 3339 in UTC, milliseconds (`2026-11-29T18:52:21.123Z`).
    pub time: String,
    pub caller: String,
    pub role: String,
    pub transport: String,
    pub tool: String,
    /// With secrets masked.
    pub arguments: serde_json::Value,
    pub outcome: String,
    pub detail: Option<String>,
    pub duration_ms: f64,
}

impl AuditLine {
    /// The line an entry is written as: the time in RFC 3339 UTC and the
    /// arguments masked (`compose::secrets::mask_json`).
    pub fn from_entry(entry: &AuditEntry) -> Self {
        Self {
            time: humantime::format_rfc3339_millis(entry.time).to_string(),
            caller: entry.caller.clone(),
            role: entry.role.clone(),
            transport: entry.transport.clone(),
            tool: entry.tool.clone(),
            arguments: mask_json(&entry.arguments),
            outcome: entry.outcome.clone(),
            detail: entry.detail.clone(),
            // Microsecond precision is plenty and keeps the line short.
            duration_ms: (entry.duration.as_secs_f64() * 1_000_000.0).round() / 1000.0,
        }
    }

    /// The JSON text of the line with its newline: one `write` of it appends
    /// the whole record.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing strings, numbers and JSON values cannot fail.
        let mut bytes = serde_json::to_vec(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

/// The audit log of one config dir; shared by the server's tasks (`&self`).
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    max_bytes: u64,
}

impl AuditLog {
    /// `<config_dir>/audit.log`, created 0600 (with the dir) when missing.
    /// An existing log with looser permissions is tightened to 0600; a
    /// symlink or anything but a regular file there is refused.
    pub fn open(config_dir: &Path) -> Result<AuditLog> {
        let max_bytes = max_bytes(std::env::var(MAX_BYTES_ENV).ok().as_deref())?;
        Self::with_limit(config_dir, max_bytes)
    }

    /// [`AuditLog::open`] with an explicit rotation size.
    pub fn with_limit(config_dir: &Path, max_bytes: u64) -> Result<AuditLog> {
        fs::create_dir_all(config_dir)
            .map_err(|err| Error::io("create directory", config_dir, err))?;
        let log = AuditLog {
            path: config_dir.join(FILE_NAME),
            max_bytes,
        };
        // Opening now reports a refused or unwritable log at start, not at
        // the first call.
        drop(open_append(&log.path)?);
        Ok(log)
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one JSON line for `entry` (arguments masked), rotating first
    /// when the line would take the log past its size limit.
    pub fn record(&self, entry: &AuditEntry) -> Result<()> {
        let bytes = AuditLine::from_entry(entry).to_bytes();
        loop {
            let file = open_append(&self.path)?;
            // The lock is on the log itself (flock: held per open file, so
            // threads and processes alike wait for each other).
            file.lock()
                .map_err(|err| Error::io("lock", &self.path, err))?;
            // Another writer may have rotated the file away while this one
            // waited: then the lock is on `audit.log.1`, so start again.
            let meta = file
                .metadata()
                .map_err(|err| Error::io("read", &self.path, err))?;
            if !is_current(&self.path, &meta) {
                continue;
            }
            let (file, _rotated) =
                if meta.len() > 0 && meta.len() + bytes.len() as u64 > self.max_bytes {
                    // Every rename happens under the lock of the file being
                    // rotated, before the new `audit.log` exists: two writers
                    // never rotate at once. The rotated file stays open, and
                    // locked, until this line is in the new one, so a writer
                    // that waited on it cannot get in before the line.
                    rotate(&self.path)?;
                    (open_append(&self.path)?, Some(file))
                } else {
                    (file, None)
                };
            // One write: with O_APPEND the kernel places the whole line at
            // the end, so no other writer can split it.
            return write_line(&file, &bytes)
                .map_err(|err| Error::io("append to", &self.path, err));
        }
    }
}

/// Whether the open file `meta` describes is still the one at `path`.
fn is_current(path: &Path, meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path).is_ok_and(|now| now.ino() == meta.ino() && now.dev() == meta.dev())
}

/// Writes `bytes` with a single `write` call when the kernel takes it all
/// (it does for a regular file), finishing a short write only if not.
fn write_line(mut file: &fs::File, bytes: &[u8]) -> std::io::Result<()> {
    let written = file.write(bytes)?;
    file.write_all(&bytes[written..])
}

/// The rotation size from `MCPM_AUDIT_MAX_BYTES`'s value, when set.
fn max_bytes(setting: Option<&str>) -> Result<u64> {
    let Some(text) = setting else {
        return Ok(DEFAULT_MAX_BYTES);
    };
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Error::invalid(format!("{MAX_BYTES_ENV}=`{text}` is not a size in bytes")).hint(format!(
            "set it to a whole number above 0, or unset it for the default ({DEFAULT_MAX_BYTES})"
        ))
        })
}

/// `audit.log.N`, the N-th rotated generation (1 is the newest).
pub fn generation(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Shifts `audit.log.4` → `.5`, …, `audit.log` → `.1`; the oldest falls off.
/// Called under the lock, so two processes never rotate at once.
fn rotate(path: &Path) -> Result<()> {
    for n in (1..GENERATIONS).rev() {
        let from = generation(path, n);
        match fs::rename(&from, generation(path, n + 1)) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(Error::io("rotate", &from, err)),
        }
    }
    fs::rename(path, generation(path, 1)).map_err(|err| Error::io("rotate", path, err))
}

/// Opens the log for appending: created 0600, never through a symlink, only
/// a regular file, tightened to 0600 when found looser.
fn open_append(path: &Path) -> Result<fs::File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    let opened = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(MODE)
        // O_NONBLOCK: a FIFO planted there must not hang the server; it is
        // refused below like any other non-file.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path);
    let file = match opened {
        Ok(file) => file,
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => {
            return Err(refused(path, "a symlink"));
        }
        Err(err) if err.raw_os_error() == Some(libc::ENXIO) => {
            return Err(refused(path, "not a regular file"));
        }
        Err(err) => return Err(Error::io("open", path, err)),
    };
    let meta = file
        .metadata()
        .map_err(|err| Error::io("read", path, err))?;
    if !meta.is_file() {
        return Err(refused(path, "not a regular file"));
    }
    if meta.mode() & 0o777 != MODE {
        file.set_permissions(fs::Permissions::from_mode(MODE))
            .map_err(|err| Error::io("set the permissions of", path, err))?;
    }
    Ok(file)
}

fn refused(path: &Path, what: &str) -> Error {
    Error::runtime(format!(
        "refusing to write the audit log {}: it is {what}",
        path.display()
    ))
    .hint("remove it (mcpm creates a regular file, mode 0600, on the next call)")
}

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
