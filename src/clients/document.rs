//! Lossless editing of a client's JSON (or JSONC) config: the text is parsed
//! into a concrete syntax tree (jsonc-parser's CST), only the server entries
//! mcpm changes are touched, and everything else (comments, trailing commas,
//! key order, indentation, line endings, unrelated keys) comes out byte for
//! byte. The edited text is parsed again and must equal the intended value
//! before anyone writes it.
use std::path::Path;

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstRootNode};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// One change to the server entries.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Insert the entry (at the end), or replace its value in place.
    Set(String, Value),
    /// Remove the entry.
    Remove(String),
}

/// A parsed config file.
#[derive(Debug, Clone)]
pub struct ConfigText {
    /// The file's text (`""` for a file that does not exist yet).
    pub text: String,
    /// Its value (`{}` for an empty file).
    pub value: Value,
}

/// What clients read: JSON with comments and trailing commas (VS Code's
/// JSONC), and nothing looser, so a file mcpm accepts is one the client reads.
fn options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        ..ParseOptions::default()
    }
}

/// Parses `text` from `path`; an error points at file:line:col.
pub fn parse(path: &Path, text: &str) -> Result<ConfigText> {
    let root = parse_root(path, text)?;
    let value = root
        .to_serde_value()
        .unwrap_or_else(|| Value::Object(Map::new()));
    if !value.is_object() {
        return Err(Error::invalid(format!(
            "{} holds {}, not a JSON object of settings",
            path.display(),
            kind(&value)
        ))
        .hint("an MCP client config is an object like {\"mcpServers\": {…}}; fix or move the file, mcpm does not overwrite it"));
    }
    Ok(ConfigText {
        text: text.to_string(),
        value,
    })
}

/// A byte order mark, as Windows editors may write at the start: not JSON,
/// so it is set aside for parsing and put back on output.
const BOM: &str = "\u{feff}";

fn parse_root(path: &Path, text: &str) -> Result<CstRootNode> {
    let body = text.strip_prefix(BOM).unwrap_or(text);
    let skipped = text.len() - body.len();
    CstRootNode::parse(body, &options()).map_err(|err| {
        let range = err.range();
        let span = skipped + range.start..skipped + range.end.max(range.start + 1);
        let location = crate::source::location_in(path, text, span);
        Error::invalid(format!(
            "{} is not valid JSON: {}",
            path.display(),
            err.kind()
        ))
        .at(Some(location))
        .hint("fix the file (its client cannot read it either); mcpm never overwrites a file it cannot parse")
    })
}

/// The server entries under `key`, in file order. A missing or `null` key
/// is no entries; anything but an object there, or a name written twice, is
/// an error (an edit could not say which one it meant).
pub fn entries(path: &Path, config: &ConfigText, key: &str) -> Result<Vec<(String, Value)>> {
    let root = parse_root(path, &config.text)?;
    let Some(object) = root.object_value() else {
        return Ok(Vec::new());
    };
    let named = |p: &jsonc_parser::cst::CstObjectProp| {
        p.name().and_then(|n| n.decoded_value().ok()).as_deref() == Some(key)
    };
    if object.properties().iter().filter(|p| named(p)).count() > 1 {
        return Err(Error::invalid(format!(
            "`{key}` is written twice in {}",
            path.display()
        ))
        .hint("merge the two into one; the client uses only one and mcpm cannot tell which you meant"));
    }
    let Some(prop) = object.get(key) else {
        return Ok(Vec::new());
    };
    let value = prop.value().and_then(|v| v.to_serde_value());
    let servers = match (&value, prop.object_value()) {
        (Some(Value::Null), _) => return Ok(Vec::new()),
        (_, Some(servers)) => servers,
        _ => {
            return Err(Error::invalid(format!(
                "`{key}` in {} is {}, not an object of servers",
                path.display(),
                value.as_ref().map_or("empty", kind)
            ))
            .hint(format!(
                "make `{key}` an object (`\"{key}\": {{}}`) or remove it"
            )));
        }
    };
    let mut out: Vec<(String, Value)> = Vec::new();
    for prop in servers.properties() {
        let Some(name) = prop.name().and_then(|n| n.decoded_value().ok()) else {
            continue;
        };
        if out.iter().any(|(seen, _)| *seen == name) {
            return Err(Error::invalid(format!(
                "server `{name}` is written twice in `{key}` of {}",
                path.display()
            ))
            .hint(
                "remove one of them; the client uses only one and mcpm cannot tell which you meant",
            ));
        }
        let value = prop
            .value()
            .and_then(|v| v.to_serde_value())
            .unwrap_or(Value::Null);
        out.push((name, value));
    }
    Ok(out)
}

/// The text of `config` with `changes` applied to the entries under `key`,
/// verified: it parses, and its value is the old value with exactly these
/// changes. Returns the text unchanged when there are no changes.
pub fn apply(path: &Path, config: &ConfigText, key: &str, changes: &[Change]) -> Result<String> {
    if changes.is_empty() {
        return Ok(config.text.clone());
    }
    match config.value.get(key) {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(other) => {
            return Err(Error::invalid(format!(
                "`{key}` in {} is {}, not an object of servers",
                path.display(),
                kind(other)
            ))
            .hint(format!(
                "make `{key}` an object (`\"{key}\": {{}}`) or remove it"
            )));
        }
    }
    let (bom, body) = match config.text.strip_prefix(BOM) {
        Some(body) => (BOM, body),
        None => ("", config.text.as_str()),
    };
    // A file of only whitespace is laid out as a new one.
    let base = match body.trim().is_empty() {
        true => "",
        false => body,
    };
    let root = parse_root(path, base)?;
    let top = root.object_value_or_set();
    let servers = match top.get(key) {
        Some(prop) => match prop.object_value() {
            Some(servers) => servers,
            // `null` (checked by `entries`): becomes an object.
            None => prop.object_value_or_set(),
        },
        None => top
            .append(key, CstInputValue::Object(Vec::new()))
            .object_value_or_set(),
    };
    for change in changes {
        match change {
            Change::Set(name, value) => match servers.get(name) {
                Some(prop) => prop.set_value(to_input(value)),
                None => {
                    servers.append(name, to_input(value));
                }
            },
            Change::Remove(name) => {
                if let Some(prop) = servers.get(name) {
                    prop.remove();
                }
            }
        }
    }
    let mut text = format!("{bom}{root}");
    if base.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    verify(path, config, key, changes, &text)?;
    Ok(text)
}

/// Checks that `text` parses to the old value with `changes` applied.
fn verify(
    path: &Path,
    config: &ConfigText,
    key: &str,
    changes: &[Change],
    text: &str,
) -> Result<()> {
    let mut intended = config.value.clone();
    // `parse` made sure the top is an object and `apply` that the servers
    // are an object or absent; a caller that skipped them gets an error.
    let servers = intended.as_object_mut().and_then(|top| {
        let servers = top
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if servers.is_null() {
            *servers = Value::Object(Map::new());
        }
        servers.as_object_mut()
    });
    let Some(servers) = servers else {
        return Err(Error::runtime(format!(
            "{}: `{key}` is not an object of servers; nothing was written",
            path.display()
        )));
    };
    for change in changes {
        match change {
            Change::Set(name, value) => {
                servers.insert(name.clone(), value.clone());
            }
            Change::Remove(name) => {
                servers.remove(name);
            }
        }
    }
    let reparsed = parse_root(path, text)
        .ok()
        .and_then(|root| root.to_serde_value());
    if reparsed.as_ref() != Some(&intended) {
        return Err(Error::runtime(format!(
            "editing {} did not give the intended content; nothing was written",
            path.display()
        ))
        .hint("this is a bug in mcpm; please report it with a copy of the file (tokens removed)"));
    }
    Ok(())
}

/// A JSON value as the CST's input (the CST lays it out in the file's style).
fn to_input(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(to_input).collect()),
        Value::Object(map) => {
            let mut fields: Vec<(&String, &Value)> = map.iter().collect();
            // serde_json's map is sorted; entries read better in the order
            // clients document them (`type`, `command`, `args`, … `headers`).
            fields.sort_by_key(|(key, _)| {
                let rank = KEY_ORDER.iter().position(|k| k == key);
                (rank.unwrap_or(KEY_ORDER.len()), key.as_str())
            });
            CstInputValue::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| (k.clone(), to_input(v)))
                    .collect(),
            )
        }
    }
}

/// The order of an entry's keys in the text mcpm writes.
const KEY_ORDER: [&str; 7] = [
    "type",
    "command",
    "args",
    "env",
    "url",
    "serverUrl",
    "headers",
];

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
#[path = "document_tests.rs"]
mod tests;
