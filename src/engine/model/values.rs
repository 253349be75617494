//! Reading YAML values the way compose does: scalars where strings are
//! wanted, strings where booleans and numbers are wanted (interpolation makes
//! text of everything), and maps or `KEY=VALUE` lists interchangeably.
use std::collections::BTreeMap;

use serde_yaml_ng::{Mapping, Value};

use super::PullPolicy;
use super::parse::{Parsed, error};
use super::syntax::{parse_duration, parse_size, split_shell_words};

/// A scalar as text: compose accepts numbers and booleans where it wants strings.
pub(super) fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn string(field: &str, value: &Value) -> Parsed<String> {
    scalar(value).ok_or_else(|| error(field, "must be a string"))
}

pub(super) fn boolean(field: &str, value: &Value) -> Parsed<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        // Interpolated values arrive as text.
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "on" | "1" => Ok(true),
            "false" | "no" | "n" | "off" | "0" | "" => Ok(false),
            _ => Err(error(field, format!("`{s}` is not true or false"))),
        },
        _ => Err(error(field, "must be true or false")),
    }
}

pub(super) fn integer(field: &str, value: &Value) -> Parsed<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| error(field, "must be a whole number"))
}

pub(super) fn float(field: &str, value: &Value) -> Parsed<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| error(field, "must be a number"))
}

pub(super) fn size(field: &str, value: &Value) -> Parsed<i64> {
    match value {
        Value::Number(n) => n.as_i64().ok_or_else(|| error(field, "must be a size")),
        _ => parse_size(&string(field, value)?).map_err(|message| error(field, message)),
    }
}

pub(super) fn duration(field: &str, value: &Value) -> Parsed<i64> {
    parse_duration(&string(field, value)?).map_err(|message| error(field, message))
}

pub(super) fn restart(field: &str, value: &Value) -> Parsed<String> {
    if value == &Value::Bool(false) {
        return Ok("no".into());
    }
    let text = string(field, value)?;
    let valid = matches!(
        text.as_str(),
        "no" | "always" | "unless-stopped" | "on-failure"
    ) || text
        .strip_prefix("on-failure:")
        .is_some_and(|n| n.parse::<u32>().is_ok());
    if !valid {
        return Err(error(
            field,
            format!(
                "`{text}` is not a restart policy (no, always, on-failure[:N], unless-stopped)"
            ),
        ));
    }
    Ok(text)
}

pub(super) fn pull_policy(field: &str, value: &Value) -> Parsed<PullPolicy> {
    match string(field, value)?.as_str() {
        "always" => Ok(PullPolicy::Always),
        "missing" | "if_not_present" => Ok(PullPolicy::Missing),
        "never" => Ok(PullPolicy::Never),
        other => Err(error(
            field,
            format!("`{other}` is not a pull policy (always, missing, never)"),
        )),
    }
}

pub(super) fn mapping_or_null<'a>(field: &str, value: &'a Value) -> Parsed<Option<&'a Mapping>> {
    match value {
        Value::Null => Ok(None),
        Value::Mapping(map) => Ok(Some(map)),
        _ => Err(error(field, "must be a mapping")),
    }
}

pub(super) fn sequence<'a>(field: &str, value: &'a Value) -> Parsed<&'a Vec<Value>> {
    value
        .as_sequence()
        .ok_or_else(|| error(field, "must be a list"))
}

/// A list of strings, or one string for a one-item list.
pub(super) fn strings(field: &str, value: &Value) -> Parsed<Vec<String>> {
    match value {
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| string(&format!("{field}[{i}]"), item))
            .collect(),
        Value::Null => Ok(Vec::new()),
        other => Ok(vec![string(field, other)?]),
    }
}

/// `command:`/`entrypoint:`: a list, or a string split like a shell would.
pub(super) fn command(field: &str, value: &Value) -> Parsed<Option<Vec<String>>> {
    match value {
        Value::Null => Ok(None),
        Value::Sequence(_) => strings(field, value).map(Some),
        other => split_shell_words(&string(field, other)?)
            .map(Some)
            .map_err(|message| error(field, message)),
    }
}

/// A map of strings, or a list of `KEY=VALUE` (labels, driver options).
pub(super) fn string_map(field: &str, value: &Value) -> Parsed<BTreeMap<String, String>> {
    Ok(key_values(field, value)?
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// A map, or a list of `KEY=VALUE` / `KEY`; a missing value is `None`.
pub(super) fn key_values(field: &str, value: &Value) -> Parsed<BTreeMap<String, Option<String>>> {
    let mut out = BTreeMap::new();
    match value {
        Value::Null => {}
        Value::Mapping(map) => {
            for (key, value) in map {
                let key = scalar(key).ok_or_else(|| error(field, "keys must be strings"))?;
                let value = match value {
                    Value::Null => None,
                    other => Some(string(&format!("{field}.{key}"), other)?),
                };
                out.insert(key, value);
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                let text = string(&format!("{field}[{i}]"), item)?;
                match text.split_once('=') {
                    Some((key, value)) => out.insert(key.to_string(), Some(value.to_string())),
                    None => out.insert(text, None),
                };
            }
        }
        _ => return Err(error(field, "must be a mapping or a list of KEY=VALUE")),
    }
    Ok(out)
}

pub(super) fn environment(field: &str, value: &Value) -> Parsed<BTreeMap<String, Option<String>>> {
    key_values(field, value)
}
