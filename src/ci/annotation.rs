//! GitHub Actions workflow commands (`::error file=…,line=…::message`): the
//! lines a job prints so a problem shows on the offending line of a pull
//! request. Escaping follows GitHub's rules for workflow commands: `%`, CR and
//! LF in the message; those and `:` and `,` in a property value.
use std::fmt::Write as _;
use std::path::PathBuf;

/// How loud an annotation is; GitHub shows each with its own colour and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
        }
    }
}

/// One problem pinned to a place in a file (line and column 1-based; `None`
/// pins it to the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub level: Level,
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub title: String,
    pub message: String,
}

impl Annotation {
    /// The workflow command, one line with its newline.
    pub fn github(&self) -> String {
        let mut properties = vec![format!(
            "file={}",
            escape_property(&self.file.display().to_string())
        )];
        if let Some(line) = self.line {
            properties.push(format!("line={line}"));
        }
        if let Some(column) = self.column {
            properties.push(format!("col={column}"));
        }
        if !self.title.is_empty() {
            properties.push(format!("title={}", escape_property(&self.title)));
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "::{} {}::{}",
            self.level.command(),
            properties.join(","),
            escape_data(&self.message)
        );
        out
    }
}

/// All annotations as workflow commands, in order.
pub fn github(annotations: &[Annotation]) -> String {
    annotations.iter().map(Annotation::github).collect()
}

/// A message (the part after `::`): `%`, CR and LF escaped, so a multi-line
/// message stays one command and a literal `%0A` is not read as a newline.
pub fn escape_data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// A property value (`file=`, `title=`): as [`escape_data`], and `:` and `,`,
/// which would otherwise end the value or the property list.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
#[path = "annotation_tests.rs"]
mod tests;
