//! Writes a YAML tree as a block-style document, byte for byte the same for the
//! same tree. Strings are quoted whenever a YAML 1.1 reader (PyYAML, and so
//! docker-compose v1) could take them for anything but a string: `no`, `on`,
//! `22:22` (base 60), `0755`, `1e3`. The serde YAML emitters leave those plain.
//! Characters YAML cannot carry raw (C0 and C1 controls, NEL, the line and
//! paragraph separators, BOM, the non-characters U+FFFE/U+FFFF) are escaped in
//! a double-quoted scalar, and a key too long to be a YAML simple key (1024
//! characters) is written in the explicit `? key` form.
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
        push_entry(key, value, indent, out);
    }
}

/// Appends one `key: value` entry of a block mapping whose keys sit at
/// `indent` columns: the same bytes `to_yaml` writes for that entry at that
/// depth (its lines shifted right by `indent`). The splice path of sync
/// (`compose::splice`) writes services and base entries with it.
pub fn push_entry(key: &Value, value: &Value, indent: usize, out: &mut String) {
    push_indent(indent, out);
    push_key(key, indent, out);
    write_child(value, indent, out);
}

/// YAML readers give up on a simple (implicit) key longer than this many
/// characters; longer keys are written as `? key` / `: value`.
const SIMPLE_KEY_LIMIT: usize = 1024;

/// The dotted path of the first mapping key in `value` too long to be a YAML
/// simple key. Such keys are written in the explicit form by this emitter,
/// but the lossless editor sync uses cannot splice them, so the compose side
/// refuses them outright.
pub fn overlong_key(value: &Value) -> Option<String> {
    match value {
        Value::Mapping(map) => map.iter().find_map(|(key, child)| {
            let name = key.as_str().map_or_else(|| scalar(key), str::to_string);
            // libyaml measures a simple key in bytes, not characters.
            if string(&name).len() + 2 >= SIMPLE_KEY_LIMIT {
                let shown: String = name.chars().take(24).collect();
                return Some(format!("{shown}… ({} bytes)", name.len()));
            }
            overlong_key(child).map(|inner| format!("{name}.{inner}"))
        }),
        Value::Sequence(items) => items.iter().find_map(overlong_key),
        Value::Tagged(tagged) => overlong_key(&tagged.value),
        _ => None,
    }
}

/// Writes `key:`, or `? key` and `:` on the next line (at `indent`) when the
/// key is too long for a simple key.
fn push_key(key: &Value, indent: usize, out: &mut String) {
    let start = out.len();
    push_scalar(key, out);
    // Leave room for the quotes and the colon.
    // libyaml measures a simple key in bytes, not characters.
    if out[start..].len() + 2 >= SIMPLE_KEY_LIMIT {
        out.insert_str(start, "? ");
        out.push('\n');
        push_indent(indent, out);
    }
    out.push(':');
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
                    push_key(key, indent + 2, out);
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
            c if needs_escape(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Characters a YAML reader would not read back as themselves inside a
/// double-quoted scalar: everything outside YAML's printable set, plus the
/// characters YAML 1.1 treats as line breaks (NEL, LS, PS) and the BOM.
fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
        | '\u{fffe}' | '\u{ffff}')
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
pub(crate) mod tests {
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

    /// Strings that have broken YAML writers: every C0 and C1 control, the
    /// YAML 1.1 line breaks, BOM, non-characters, indicators, booleans and
    /// numbers of YAML 1.1, spaces at either end, and keys past 1024 chars.
    pub(crate) fn odd_strings() -> Vec<String> {
        let mut odd: Vec<String> = (0u32..0x20)
            .chain(0x7f..0xa1)
            .filter_map(char::from_u32)
            .map(|c| format!("a{c}b"))
            .collect();
        odd.extend(
            (0u32..0x20)
                .chain(0x7f..0xa1)
                .filter_map(char::from_u32)
                .map(String::from),
        );
        for c in [
            '\u{2028}',
            '\u{2029}',
            '\u{feff}',
            '\u{fffe}',
            '\u{ffff}',
            '\u{fffd}',
            '\u{10ffff}',
            '\u{1fffe}',
            '\u{e000}',
        ] {
            odd.push(c.to_string());
            odd.push(format!("x{c}y"));
        }
        for s in [
            "",
            " ",
            "  lead",
            "trail  ",
            "a: b",
            "a:b",
            "#x",
            "x #y",
            "- x",
            "-",
            "?",
            "? x",
            ":",
            "[a]",
            "{a}",
            "*a",
            "&a",
            "!a",
            "|",
            ">",
            "%x",
            "@x",
            "`x",
            "'",
            "\"",
            "\\",
            "on",
            "No",
            "y",
            "Y",
            "n",
            "yes",
            "off",
            "~",
            "null",
            "Null",
            "true",
            "0x1f",
            "0o7",
            "0755",
            "1e3",
            "1_000",
            "22:22",
            ".inf",
            "-.inf",
            ".NaN",
            "1.0",
            "+1",
            "2001-12-14",
            "=",
            "<<",
            "${VAR}",
            "$$x",
            "\u{e9}t\u{e9}",
            "\u{1f600}",
            "\r\n",
            "a\n\nb\n",
            "---",
            "...",
            "a\u{85}\u{2028}\u{2029}b",
        ] {
            odd.push(s.to_string());
        }
        odd.push("k".repeat(1023));
        odd.push("k".repeat(1100));
        // Under 1024 characters but over 1024 bytes: libyaml counts bytes
        // (found by the profile_gen fuzz target).
        odd.push("日本".repeat(300));
        odd.push("日本".repeat(170));
        odd.push(format!("{}\u{85}", "\u{2028}".repeat(600)));
        odd
    }

    /// Every odd string, as a value and as a key at each nesting the compose
    /// file uses (environment and labels mappings, argument lists, mappings in
    /// lists), is read back as itself.
    #[test]
    fn odd_strings_round_trip_as_values_and_keys() {
        for odd in odd_strings() {
            let text = Value::String(odd.clone());
            let mut labels = serde_yaml_ng::Mapping::new();
            labels.insert(text.clone(), text.clone());
            labels.insert("plain".into(), text.clone());
            let mut volume = serde_yaml_ng::Mapping::new();
            volume.insert(text.clone(), text.clone());
            volume.insert("target".into(), text.clone());
            let mut service = serde_yaml_ng::Mapping::new();
            service.insert(text.clone(), Value::Mapping(labels.clone()));
            service.insert("labels".into(), Value::Mapping(labels));
            service.insert(
                "command".into(),
                Value::Sequence(vec![text.clone(), Value::Sequence(vec![text.clone()])]),
            );
            service.insert(
                "volumes".into(),
                Value::Sequence(vec![Value::Mapping(volume)]),
            );
            let mut document = serde_yaml_ng::Mapping::new();
            document.insert("services".into(), Value::Mapping(service));
            let document = Value::Mapping(document);
            let written = to_yaml(&document);
            let reparsed: Value = serde_yaml_ng::from_str(&written)
                .unwrap_or_else(|err| panic!("{odd:?} wrote invalid YAML ({err}):\n{written}"));
            assert_eq!(reparsed, document, "{odd:?} changed:\n{written}");
            assert_eq!(to_yaml(&text).trim_end_matches('\n'), string(&odd));
        }
    }
}
