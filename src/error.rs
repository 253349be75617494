//! The one error type of the tool: what went wrong, where (file:line:col), what to
//! do next, and which exit code it maps to (SPEC §7).
use std::fmt;
use std::path::{Path, PathBuf};

/// Exit codes, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success.
    Ok = 0,
    /// 1: a runtime or engine failure (I/O, Docker unreachable).
    Runtime = 1,
    /// 2: a usage error or invalid input (bad profile, bad flag).
    Invalid = 2,
    /// 3: conflicts were left unresolved.
    Conflict = 3,
    /// 4: `--check` found drift.
    Drift = 4,
    /// 5: a monitoring threshold was crossed (`stats --alert`).
    Threshold = 5,
}

/// A place in a source file, 1-based, with the text of its line for the snippet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    /// The whole source line, without its newline.
    pub line_text: String,
    /// How many characters of the line to underline (at least 1).
    pub width: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// An error the user can act on.
#[derive(Debug, Clone)]
pub struct Error {
    pub status: ExitStatus,
    pub message: String,
    /// Boxed: errors travel in every `Result`, so they are kept small.
    pub location: Option<Box<Location>>,
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Invalid input or usage: exit code 2.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::Invalid, message)
    }

    /// A runtime failure: exit code 1.
    pub fn runtime(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::Runtime, message)
    }

    pub fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            location: None,
            hint: None,
        }
    }

    pub fn at(mut self, location: Option<Location>) -> Self {
        if self.location.is_none() {
            self.location = location.map(Box::new);
        }
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// An I/O failure on `path`, phrased for a person.
    pub fn io(action: &str, path: &Path, err: std::io::Error) -> Self {
        let status = ExitStatus::Runtime;
        let mut error = Self::new(status, format!("cannot {action} {}: {err}", path.display()));
        if err.kind() == std::io::ErrorKind::NotFound {
            error.status = ExitStatus::Invalid;
            error.message = format!(
                "cannot {action} {}: no such file or directory",
                path.display()
            );
        }
        error
    }

    /// Renders the error as the multi-line report printed on stderr.
    pub fn render(&self) -> String {
        let mut out = format!("error: {}\n", self.message);
        if let Some(location) = &self.location {
            let number = location.line.to_string();
            let pad = " ".repeat(number.len());
            out.push_str(&format!("{pad}--> {location}\n"));
            let (line_text, column, width) = masked_snippet(location);
            out.push_str(&format!("{pad} |\n{number} | {line_text}\n"));
            let indent: String = line_text
                .chars()
                .take(column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!("{pad} | {indent}{}\n", "^".repeat(width.max(1))));
        }
        if let Some(hint) = &self.hint {
            out.push_str(&format!("hint: {hint}\n"));
        }
        out
    }
}

/// The snippet line with secrets masked (a parse error on a line holding a
/// token must not print it), and the caret's column and width moved to match.
fn masked_snippet(location: &Location) -> (String, usize, usize) {
    let line = &location.line_text;
    let ranges = crate::compose::secrets::secret_ranges(line, &[]);
    if ranges.is_empty() {
        return (line.clone(), location.column, location.width);
    }
    let mask = crate::compose::secrets::MASK;
    // Columns count characters; ranges are bytes.
    let start_byte = line
        .char_indices()
        .nth(location.column.saturating_sub(1))
        .map_or(line.len(), |(i, _)| i);
    let mut text = String::new();
    let (mut column, mut width) = (location.column, location.width);
    let mut last = 0;
    for range in &ranges {
        text.push_str(&line[last..range.start]);
        let hidden = line[range.clone()].chars().count();
        let shown = mask.chars().count();
        if range.end <= start_byte {
            column = column + shown - hidden;
        } else if range.start <= start_byte {
            // The caret pointed into the secret: point at the mask instead.
            column = text.chars().count() + 1;
            width = shown;
        }
        text.push_str(mask);
        last = range.end;
    }
    text.push_str(&line[last..]);
    (text, column, width)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(location) = &self.location {
            write!(f, " at {location}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: &str, column: usize, width: usize) -> Error {
        Error::invalid("bad").at(Some(Location {
            path: PathBuf::from("p.toml"),
            line: 3,
            column,
            line_text: line.into(),
            width,
        }))
    }

    #[test]
    fn snippets_mask_secrets_and_keep_the_caret_on_its_spot() {
        // The caret after the secret moves left with the shorter text.
        let line = "é = 1, API_KEY = \"sk-long-secret\", BAD = ";
        let column = line.chars().count() + 1;
        let out = at(line, column, 1).render();
        assert!(
            out.contains("3 | é = 1, API_KEY = \"****\", BAD = \n"),
            "{out}"
        );
        assert!(
            out.contains(&format!("  | {}^\n", " ".repeat(column - 1 - 10))),
            "{out}"
        );
        // A caret inside the secret points at the mask.
        let out = at("TOKEN = \"ghp_x\"", 10, 5).render();
        assert!(out.contains("3 | TOKEN = \"****\"\n"), "{out}");
        assert!(out.contains("  |          ^^^^\n"), "{out}");
        assert!(!out.contains("ghp_x"));
    }

    #[test]
    fn masking_never_panics_on_odd_lines() {
        let pieces = [
            "KEY",
            "=",
            ":",
            " ",
            "\"",
            "'",
            "é",
            "://",
            "@",
            "--api-key",
            ",",
            "${",
            "}",
            "\\",
            "#",
            "a:b",
            "\t",
            "🦀",
        ];
        let mut seed = 7u64;
        for _ in 0..5000 {
            let mut line = String::new();
            for _ in 0..8 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                line.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            let width = line.chars().count();
            let _ = at(&line, (seed as usize % (width + 2)) + 1, 2).render();
            let _ = crate::compose::secrets::mask(&line, &["a:b", "é"]);
        }
    }
}
