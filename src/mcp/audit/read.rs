//! Reading the audit log back for `mcpm mcp audit`: the current file and its
//! rotated generations, filtered by tool and caller, the last N lines. A line
//! that does not parse is reported with its file:line and skipped, so one
//! torn or hand-edited line never hides the rest of the log.
use std::fs;
use std::path::{Path, PathBuf};

use super::{AuditLine, GENERATIONS, generation};
use crate::error::{Error, Result};

/// Which lines to show.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only the last N matching lines; all when `None`.
    pub tail: Option<usize>,
    /// Only calls of this tool.
    pub tool: Option<String>,
    /// Only calls by this caller (a token name, or `stdio`).
    pub caller: Option<String>,
}

impl Query {
    fn matches(&self, line: &AuditLine) -> bool {
        self.tool.as_ref().is_none_or(|tool| &line.tool == tool)
            && self
                .caller
                .as_ref()
                .is_none_or(|caller| &line.caller == caller)
    }
}

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct BadLine {
    pub path: PathBuf,
    /// 1-based.
    pub line: usize,
    pub message: String,
}

/// What a read found: matching lines, oldest first, and the lines skipped.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub lines: Vec<AuditLine>,
    pub bad: Vec<BadLine>,
    /// Whether any log file existed at all.
    pub found: bool,
}

/// Reads the log at `path` (and, as far as needed, its generations).
/// Generations are read newest first and reading stops once `query.tail`
/// lines are in hand; without `tail` every generation is read.
pub fn read(path: &Path, query: &Query) -> Result<Reading> {
    let mut reading = Reading::default();
    // Newest file first; lines within a file are oldest first.
    let mut chunks: Vec<Vec<AuditLine>> = Vec::new();
    let mut count = 0;
    for file in
        std::iter::once(path.to_path_buf()).chain((1..=GENERATIONS).map(|n| generation(path, n)))
    {
        if query.tail.is_some_and(|tail| count >= tail) {
            break;
        }
        let bytes = match fs::read(&file) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(Error::io("read", &file, err)),
        };
        reading.found = true;
        let (lines, bad) = parse(&file, &bytes, query);
        count += lines.len();
        reading.bad.extend(bad);
        chunks.push(lines);
    }
    reading.lines = chunks.into_iter().rev().flatten().collect();
    if let Some(tail) = query.tail {
        let skip = reading.lines.len().saturating_sub(tail);
        reading.lines.drain(..skip);
    }
    Ok(reading)
}

/// The matching lines of one file's `bytes`, and the lines that are not
/// audit records. Pure, for the tests.
pub fn parse(path: &Path, bytes: &[u8], query: &Query) -> (Vec<AuditLine>, Vec<BadLine>) {
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    for (index, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<AuditLine>(raw) {
            Ok(line) if query.matches(&line) => lines.push(line),
            Ok(_) => {}
            Err(err) => bad.push(BadLine {
                path: path.to_path_buf(),
                line: index + 1,
                message: err.to_string(),
            }),
        }
    }
    (lines, bad)
}
