//! PLACEHOLDER until h-ops's audit log is merged (h-ops's version wins at the
//! merge): the agreed API, appending one JSON line per call to
//! `<config dir>/audit.log` (0600), without masking or rotation.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

/// One tool call, as the audit log records it.
pub struct AuditEntry {
    pub time: SystemTime,
    /// Token name, or "stdio".
    pub caller: String,
    pub role: String,
    pub transport: String,
    pub tool: String,
    pub arguments: serde_json::Value,
    /// "ok" | "error" | "denied" | "invalid"
    pub outcome: String,
    pub detail: Option<String>,
    pub duration: Duration,
}

/// The audit log file.
pub struct AuditLog {
    path: PathBuf,
    lock: Mutex<()>,
}

impl AuditLog {
    /// `<config_dir>/audit.log`, created 0600.
    pub fn open(config_dir: &Path) -> Result<AuditLog> {
        std::fs::create_dir_all(config_dir).map_err(|err| Error::io("create", config_dir, err))?;
        let path = config_dir.join("audit.log");
        Ok(AuditLog {
            path,
            lock: Mutex::new(()),
        })
    }

    /// Appends one JSON line.
    pub fn record(&self, entry: &AuditEntry) -> Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let line = serde_json::json!({
            "time": humantime::format_rfc3339_millis(entry.time).to_string(),
            "caller": entry.caller,
            "role": entry.role,
            "transport": entry.transport,
            "tool": entry.tool,
            "arguments": entry.arguments,
            "outcome": entry.outcome,
            "detail": entry.detail,
            "duration_ms": entry.duration.as_secs_f64() * 1000.0,
        });
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|err| Error::io("open", &self.path, err))?;
        writeln!(file, "{line}").map_err(|err| Error::io("write", &self.path, err))
    }
}
