//! Writing to stdout: a closed pipe (`mcpm … | head`) ends the program quietly
//! instead of as an error.
use std::io::Write;

use crate::error::{Error, Result};

/// Writes `text` to stdout.
pub fn stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(err) => Err(Error::runtime(format!("cannot write to stdout: {err}"))),
    }
}

/// A unified diff of `old` and `new`, labelled with `path`.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{path} (current)"), &format!("{path} (generated)"))
        .to_string()
}
