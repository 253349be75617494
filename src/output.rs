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

/// `1 server`, `2 servers`: a count with its noun in the right number.
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A unified diff of `old` and `new`, labelled with `path`, secrets masked.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    unified_diff_hiding(path, old, new, &[])
}

/// A unified diff with the literal `secrets` (and anything else that looks
/// like one: a secret-looking key's value, a URL's password) shown as `****`:
/// the files diffed may hold literals that must not reach a terminal or a log.
pub fn unified_diff_hiding(path: &str, old: &str, new: &str, secrets: &[&str]) -> String {
    let diff = similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{path} (current)"), &format!("{path} (generated)"))
        .to_string();
    crate::compose::secrets::mask(&diff, secrets)
}
