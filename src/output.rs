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

/// Prints a `--json` document on stdout: pretty, with a final newline, the
/// same way for every command.
pub fn json(value: &impl serde::Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|err| Error::runtime(format!("cannot write the JSON report: {err}")))?;
    text.push('\n');
    stdout(&text)
}

/// A table as every listing draws one: lines on a terminal, plain padded
/// columns in a pipe (easy to `grep`/`awk`).
pub fn table<T: std::fmt::Display>(header: impl IntoIterator<Item = T>) -> comfy_table::Table {
    use std::io::IsTerminal as _;
    let mut table = comfy_table::Table::new();
    table
        .load_preset(if std::io::stdout().is_terminal() {
            comfy_table::presets::UTF8_FULL_CONDENSED
        } else {
            comfy_table::presets::NOTHING
        })
        .set_header(
            header
                .into_iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>(),
        );
    table
}
