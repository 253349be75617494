//! The compose side: building services from servers, assembling the document,
//! writing it as YAML, and the `.env` file that holds literal secrets.
pub mod base;
pub mod block;
mod depth;
mod document;
pub mod dotenv;
pub mod edit;
pub mod env_file;
pub mod fields;
pub mod host;
pub mod interpolation;
pub mod locate;
pub mod secrets;
pub mod service;
pub mod splice;
pub mod yaml;

pub use depth::{MAX_DEPTH, check_depth};
pub use document::{
    RenderOptions, Rendered, ServerReport, ServerStatus, base_entry, render, render_server,
    rerender,
};

use std::path::Path;

use crate::error::{Error, Result};
use crate::source::SourceFile;

/// Parses a compose file's text; a syntax error names the file, line and
/// column. The one place that turns YAML errors into located errors. Text
/// nested deeper than [`MAX_DEPTH`] is refused before the parser sees it.
pub fn parse_yaml(path: &Path, text: &str) -> Result<serde_yaml_ng::Value> {
    check_depth(path, text)?;
    // Most compose files (and all of mcpm's) are plain block YAML, which the
    // fast reader reads to the same value; the rest, and every error, goes
    // through the general parser.
    if let Some(value) = block::parse(text) {
        return Ok(value);
    }
    serde_yaml_ng::from_str(text).map_err(|err| {
        let location = err
            .location()
            .map(|loc| SourceFile::plain(path, text.to_string()).locate(loc.index()..loc.index()));
        Error::invalid(format!("{} is not valid YAML: {err}", path.display())).at(location)
    })
}

/// Parses the compose file sync and generate write to: a mapping (or nothing
/// at all, read as an empty mapping) whose `services`, `networks` and
/// `volumes` are mappings or empty; anything else is refused with its line.
pub fn parse_document(path: &Path, text: &str) -> Result<serde_yaml_ng::Value> {
    use serde_yaml_ng::{Mapping, Value};
    let document = parse_yaml(path, text)?;
    let root = match document {
        Value::Mapping(root) => root,
        Value::Null => Mapping::new(),
        _ => {
            return Err(Error::invalid(format!(
                "{} is not a compose file: its top level is not a mapping",
                path.display()
            )));
        }
    };
    for key in ["services", "networks", "volumes"] {
        if let Some(value) = root.get(key)
            && !matches!(value, Value::Mapping(_) | Value::Null)
        {
            return Err(Error::invalid(format!(
                "{}: `{key}` must be a mapping of names to definitions",
                path.display()
            ))
            .at(locate::locate_key(path, text, &[key]))
            .hint(format!(
                "write `{key}:` with one `name:` entry per item, or remove the key"
            )));
        }
    }
    Ok(Value::Mapping(root))
}

/// mcpm writes a YAML file only when it already is a compose document (SPEC
/// §5): it has a `services` or `x-mcpm` key, or no content at all. Any other
/// YAML (settings, JSON, a CI config) merely parses; it is never rewritten.
pub fn ensure_compose_document(path: &Path, document: &serde_yaml_ng::Value) -> Result<()> {
    let is_compose = match document {
        serde_yaml_ng::Value::Null => true,
        serde_yaml_ng::Value::Mapping(root) => {
            root.is_empty() || root.contains_key("services") || root.contains_key(base::BASE_KEY)
        }
        _ => false,
    };
    if is_compose {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "{} is not a compose file (it has no `services` or `{}` key); mcpm does not write into it",
        path.display(),
        base::BASE_KEY
    ))
    .hint("point `[docker] compose_file` or -f at a compose file (or a path where none exists yet); nothing was written"))
}

/// [`ensure_compose_document`] for a file not parsed yet, cheap for the usual
/// case: a top-level `services:` or `x-mcpm:` line is enough; anything else
/// (no such line, flow style, JSON) is parsed and checked in full. Lets sync
/// refuse a file before it takes a lock beside it (and so writes nothing
/// there).
pub fn ensure_compose_text(path: &Path, text: &str) -> Result<()> {
    let top_level_key = text.lines().any(|line| {
        let line = line.trim_start_matches(['"', '\'']);
        [base::BASE_KEY, "services"].iter().any(|key| {
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start_matches(['"', '\'', ' ']).starts_with(':'))
        })
    });
    if top_level_key {
        return Ok(());
    }
    ensure_compose_document(path, &parse_document(path, text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_compose_documents_may_be_written() {
        let path = Path::new("c.yml");
        for text in [
            "",
            "# nothing yet\n",
            "{}\n",
            "services:\n  a: {image: x}\n",
            "\"services\": {}\n",
            "x-mcpm:\n  profile: p\n",
            "{\"services\": {}}\n",
            "---\n{services: {}}\n",
        ] {
            assert!(ensure_compose_text(path, text).is_ok(), "{text:?}");
        }
        for text in [
            "theme: dark\n",
            "{\"editor\": {\"services\": 1}}\n",
            "volumes:\n",
            "settings:\n  services: 1\n",
        ] {
            let err = ensure_compose_text(path, text).unwrap_err();
            assert!(err.message.contains("not a compose file"), "{text:?}");
        }
    }

    /// Plain block files the fast reader declines because they are wrong
    /// still get the general parser's located error, on the right line.
    #[test]
    fn broken_block_files_are_located_errors() {
        let path = Path::new("c.yml");
        for (text, line) in [
            ("services:\n  a:\n    image: x\n    image: y\n", 4),
            ("services:\n  a:\n      image: x\n    command: y\n", 4),
            // libyaml finds an unclosed quote at the end of the file.
            ("services:\n  a:\n    image: \"x\n", 4),
            ("services:\n  a:\n    image: x: y\n", 3),
        ] {
            assert!(block::parse(text).is_none(), "{text:?}");
            let err = parse_yaml(path, text).unwrap_err();
            assert_eq!(err.status, crate::error::ExitStatus::Invalid, "{text:?}");
            let at = err.location.as_ref().expect("located");
            assert!(
                at.line >= line - 1 && at.line <= line,
                "{text:?}: line {}",
                at.line
            );
        }
    }

    /// A mistake at any position of a compose file full of multibyte text,
    /// tabs and CRLF is a located error or a document, never a panic.
    #[test]
    fn mistakes_anywhere_in_multibyte_yaml_never_panic() {
        let text = "services:\r\n  caf\u{e9}:\n    image: \"\u{1f600}\"\n    command: [\"\u{20ac}\", '\u{85}']\n    labels: {\u{e9}: x}\n    x-t: |\n      \u{2028}[[\n";
        let path = Path::new("c.yml");
        for (at, c) in text.char_indices() {
            for stray in ["\u{e9}", "\u{1f600}", "\t", "[", "\"", ":", "\n", "{", "- "] {
                let broken = format!("{}{stray}{}", &text[..at], &text[at + c.len_utf8()..]);
                if let Err(err) = parse_document(path, &broken) {
                    assert_eq!(err.status, crate::error::ExitStatus::Invalid);
                    let _ = ensure_compose_text(path, &broken);
                }
            }
            let _ = parse_document(path, &text[..at]);
        }
    }
}
