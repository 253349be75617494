//! Writes a YAML tree as a block-style document, byte for byte the same for the
//! same tree. Strings are quoted whenever a YAML 1.1 reader (PyYAML, and so
//! docker-compose v1) could take them for anything but a string: `no`, `on`,
//! `22:22` (base 60), `0755`, `1e3`. The serde YAML emitters leave those plain.
use serde_yaml_ng::Value;

/// Renders `value` (normally a mapping) as a YAML document ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Mapping(map) if !map.is_empty() => write_mapping(map, 0, &mut out),
        Value::Sequence(items) if !items.is_empty() => write_sequence(items, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn write_mapping(map: &serde_yaml_ng::Mapping, indent: usize, out: &mut String) {
    for (key, value) in map {
        push_indent(indent, out);
        push_scalar(key, out);
        out.push(':');
        write_child(value, indent, out);
    }
}

fn write_sequence(items: &[Value], indent: usize, out: &mut String) {
    for item in items {
        push_indent(indent, out);
        out.push('-');
        match item {
            Value::Mapping(map) if !map.is_empty() => {
                // The first key shares the dash's line; the rest align under it.
                let mut first = true;
                for (key, value) in map {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        push_indent(indent + 2, out);
                    }
                    push_scalar(key, out);
                    out.push(':');
                    write_child(value, indent + 2, out);
                }
            }
            Value::Sequence(inner) if !inner.is_empty() => {
                out.push('\n');
                write_sequence(inner, indent + 2, out);
            }
            other => {
                out.push(' ');
                push_scalar(other, out);
                out.push('\n');
            }
        }
    }
}

/// Writes the value after `key:` — inline for scalars and empty collections.
fn write_child(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Mapping(map) if !map.is_empty() => {
            out.push('\n');
            write_mapping(map, indent + 2, out);
        }
        Value::Sequence(items) if !items.is_empty() => {
            out.push('\n');
            write_sequence(items, indent + 2, out);
        }
        Value::Null => out.push('\n'),
        other => {
            out.push(' ');
            push_scalar(other, out);
            out.push('\n');
        }
    }
}

fn push_indent(indent: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn scalar(value: &Value) -> String {
    let mut out = String::new();
    push_scalar(value, &mut out);
    out
}

/// Appends a scalar (or an empty collection) without temporary strings.
fn push_scalar(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let text = n.to_string();
            let float_without_point = n.is_f64() && !text.contains(['.', 'e', 'E', 'n', 'N']);
            out.push_str(&text);
            if float_without_point {
                out.push_str(".0");
            }
        }
        Value::String(s) => push_string(s, out),
        Value::Sequence(items) if items.is_empty() => out.push_str("[]"),
        Value::Mapping(map) if map.is_empty() => out.push_str("{}"),
        Value::Tagged(tagged) => push_scalar(&tagged.value, out),
        // Non-empty collections never reach here (write_child handles them).
        Value::Sequence(_) | Value::Mapping(_) => out.push_str("[]"),
    }
}

/// A string, plain when no reader could mistake it, else double-quoted.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_string(s, &mut out);
    out
}

fn push_string(s: &str, out: &mut String) {
    if is_plain_safe(s) {
        out.push_str(s);
        return;
    }
    // A JSON string literal is a valid YAML double-quoted scalar.
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Plain only for a conservative alphabet that starts with a letter, `/` or `_`,
/// and that is not one of YAML 1.1's booleans or nulls.
fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.bytes().next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'/' || first == b'_') {
        return false;
    }
    if !s
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'/' | b'@' | b'+'))
    {
        return false;
    }
    const RESERVED: &[&str] = &[
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf",
    ];
    s.len() > 5 || !RESERVED.iter().any(|word| word.eq_ignore_ascii_case(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "no", "On", "y", "22:22", "0755", "1e3", "", "${VAR}", "- x", "#c", "a: b", "true",
            "1.0", "@x/y",
        ] {
            assert!(string(s).starts_with('"'), "{s} should be quoted");
        }
        for s in [
            "mcp/fetch",
            "node",
            "GITHUB_TOKEN",
            "io.mcpm.server",
            "/projects",
            "no-new-privileges",
        ] {
            assert_eq!(string(s), s);
        }
    }

    #[test]
    fn round_trips_through_a_yaml_parser() {
        let text = "name: x\nservices:\n  a:\n    command:\n      - \"--port\"\n      - \"22:22\"\n    environment:\n      MODE: \"no\"\n    labels: {}\n    tmpfs: []\n    volumes:\n      - type: bind\n        source: /a\n        target: /b\n";
        let value: Value = serde_yaml_ng::from_str(text).unwrap();
        let written = to_yaml(&value);
        let reparsed: Value = serde_yaml_ng::from_str(&written).unwrap();
        assert_eq!(value, reparsed);
        assert_eq!(written, text);
    }

    #[test]
    fn special_characters_escape() {
        let value = Value::String("line1\nline2 \"q\" \\".into());
        let reparsed: Value = serde_yaml_ng::from_str(&to_yaml(&value)).unwrap();
        assert_eq!(reparsed, value);
    }
}
