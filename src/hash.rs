//! The one notion of "changed": SHA-256 over a canonical JSON form (keys sorted,
//! no whitespace), so reformatting or reordering a file never counts as a change.
//! JSON and YAML trees with the same content hash the same.
use sha2::{Digest, Sha256};

use crate::labels;
use crate::profile::{ServerSpec, Strategy};

/// Hex SHA-256 of the canonical form of a JSON value.
pub fn canonical_hash(value: &serde_json::Value) -> String {
    let mut canonical = Vec::with_capacity(512);
    write_json(value, &mut canonical);
    hex_digest(&canonical)
}

/// Hex SHA-256 of the canonical form of a YAML value.
pub fn canonical_yaml_hash(value: &serde_yaml_ng::Value) -> String {
    let mut canonical = Vec::with_capacity(512);
    write_yaml(value, &[], &mut canonical);
    hex_digest(&canonical)
}

/// The hash of a server's profile entry, literal secrets and all: only for
/// comparisons in memory. What the compose file records is taken over the
/// entry with its secrets redacted (`compose::secrets::profile_hash`).
pub fn server_hash(server: &ServerSpec) -> String {
    canonical_hash(&server_value(server))
}

/// A server's profile entry as the hashes see it: writing a default
/// explicitly (`enabled = true`) hashes the same as leaving it out.
pub fn server_value(server: &ServerSpec) -> serde_json::Value {
    let mut normalized = server.clone();
    if normalized.enabled == Some(true) {
        normalized.enabled = None;
    }
    if normalized.strategy == Some(Strategy::AlwaysOn) {
        normalized.strategy = None;
    }
    serde_json::to_value(&normalized).expect("a server spec is always JSON-representable")
}

/// The hash of a compose service, leaving out the hash labels themselves.
pub fn service_hash(service: &serde_yaml_ng::Mapping) -> String {
    let mut canonical = Vec::with_capacity(1024);
    write_yaml_mapping(service, labels::HASH_LABELS, &[], &mut canonical);
    hex_digest(&canonical)
}

/// Short hashes of each top-level field of a service (hash labels left out of
/// `labels`): the per-field base that lets sync merge field by field. Eight hex
/// digits are plenty to tell whether one field changed.
pub fn field_hashes(
    service: &serde_yaml_ng::Mapping,
) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut canonical = Vec::with_capacity(256);
    for (key, value) in service {
        canonical.clear();
        let key = key_text(key);
        match value {
            serde_yaml_ng::Value::Mapping(map) if key == "labels" => {
                write_yaml_mapping(map, &[], labels::HASH_LABELS, &mut canonical)
            }
            other => write_yaml(other, &[], &mut canonical),
        }
        let mut hex = hex_digest(&canonical);
        hex.truncate(8);
        out.insert(key, hex);
    }
    out
}

/// Hex SHA-256 of raw bytes.
pub fn digest(bytes: &[u8]) -> String {
    hex_digest(bytes)
}

fn hex_digest(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push(HEX[usize::from(byte & 0xf)] as char);
    }
    out
}

/// `len` bytes from the OS random source, as hex: the gateway token, HTTP
/// session ids, one-off container names.
pub fn random_hex(len: usize) -> crate::error::Result<String> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(|err| {
        crate::error::Error::runtime(format!("cannot read the OS random source: {err}"))
    })?;
    Ok(to_hex(&bytes))
}

fn write_json(value: &serde_json::Value, out: &mut Vec<u8>) {
    match value {
        serde_json::Value::Null => out.extend_from_slice(b"null"),
        serde_json::Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        serde_json::Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        serde_json::Value::String(s) => write_string(s, out),
        serde_json::Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(item, out);
            }
            out.push(b']');
        }
        serde_json::Value::Object(map) => {
            // Sorted here, whatever map type serde_json was built with.
            let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_json(value, out);
            }
            out.push(b'}');
        }
    }
}

/// Writes a YAML value in the same canonical JSON form; `skip_labels` are
/// left out of a `labels` mapping at the top level.
fn write_yaml(value: &serde_yaml_ng::Value, skip_labels: &[&str], out: &mut Vec<u8>) {
    use serde_yaml_ng::Value;
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(s, out),
        Value::Sequence(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_yaml(item, &[], out);
            }
            out.push(b']');
        }
        Value::Mapping(map) => write_yaml_mapping(map, skip_labels, &[], out),
        Value::Tagged(tagged) => write_yaml(&tagged.value, skip_labels, out),
    }
}

/// `skip_labels`: keys left out of a nested `labels` mapping; `skip_keys`: keys
/// left out of this mapping itself.
fn write_yaml_mapping(
    map: &serde_yaml_ng::Mapping,
    skip_labels: &[&str],
    skip_keys: &[&str],
    out: &mut Vec<u8>,
) {
    let mut entries: Vec<(String, &serde_yaml_ng::Value)> = map
        .iter()
        .map(|(k, v)| (key_text(k), v))
        .filter(|(k, _)| !skip_keys.contains(&k.as_str()))
        .collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    out.push(b'{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(&key, out);
        out.push(b':');
        match value {
            serde_yaml_ng::Value::Mapping(labels) if key == "labels" && !skip_labels.is_empty() => {
                write_yaml_mapping(labels, &[], skip_labels, out);
            }
            other => write_yaml(other, &[], out),
        }
    }
    out.push(b'}');
}

fn key_text(key: &serde_yaml_ng::Value) -> String {
    match key {
        serde_yaml_ng::Value::String(s) => s.clone(),
        serde_yaml_ng::Value::Number(n) => n.to_string(),
        serde_yaml_ng::Value::Bool(b) => b.to_string(),
        serde_yaml_ng::Value::Null => "null".into(),
        other => serde_yaml_ng::to_string(other).unwrap_or_default(),
    }
}

/// A JSON string literal.
fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match byte {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match escape {
            Some(escape) => out.extend_from_slice(escape),
            None => out.extend_from_slice(format!("\\u{byte:04x}").as_bytes()),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_hex_is_hex_of_the_asked_length_and_differs() {
        let a = random_hex(32).unwrap();
        let b = random_hex(32).unwrap();
        assert_eq!(a.len(), 64);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
    }

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a = serde_json::json!({"b": 1, "a": {"y": [1, 2], "x": "s"}});
        let b = serde_json::json!({"a": {"x": "s", "y": [1, 2]}, "b": 1});
        assert_eq!(canonical_hash(&a), canonical_hash(&b));
        assert_ne!(
            canonical_hash(&a),
            canonical_hash(&serde_json::json!({"b": 2, "a": {}}))
        );
    }

    #[test]
    fn json_and_yaml_with_the_same_content_hash_the_same() {
        let json = serde_json::json!({"b": [true, null, "q\"\n\u{1}"], "a": {"x": 1}});
        let yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str("a: {x: 1}\nb: [true, null, \"q\\\"\\n\\x01\"]\n").unwrap();
        assert_eq!(canonical_hash(&json), canonical_yaml_hash(&yaml));
    }

    #[test]
    fn explicit_defaults_hash_like_omitted_ones() {
        let plain = ServerSpec {
            command: Some("uvx".into()),
            ..Default::default()
        };
        let explicit = ServerSpec {
            enabled: Some(true),
            strategy: Some(Strategy::AlwaysOn),
            ..plain.clone()
        };
        assert_eq!(server_hash(&plain), server_hash(&explicit));
        let disabled = ServerSpec {
            enabled: Some(false),
            ..plain.clone()
        };
        assert_ne!(server_hash(&plain), server_hash(&disabled));
    }

    #[test]
    fn field_hashes_track_each_field_and_ignore_hash_labels() {
        let a: serde_yaml_ng::Mapping = serde_yaml_ng::from_str(
            "image: x\ncommand: [a]\nlabels:\n  io.mcpm.server: a\n  io.mcpm.profile-hash: one\n",
        )
        .unwrap();
        let b: serde_yaml_ng::Mapping = serde_yaml_ng::from_str(
            "image: x\ncommand: [b]\nlabels:\n  io.mcpm.server: a\n  io.mcpm.profile-hash: two\n",
        )
        .unwrap();
        let (ha, hb) = (field_hashes(&a), field_hashes(&b));
        assert_eq!(ha["image"], hb["image"]);
        assert_eq!(ha["labels"], hb["labels"]);
        assert_ne!(ha["command"], hb["command"]);
        assert_eq!(ha["image"].len(), 8);
    }

    #[test]
    fn hash_labels_are_left_out_of_the_service_hash() {
        let with: serde_yaml_ng::Mapping = serde_yaml_ng::from_str(
            "image: x\nlabels:\n  io.mcpm.server: a\n  io.mcpm.service-hash: abc\n",
        )
        .unwrap();
        let without: serde_yaml_ng::Mapping =
            serde_yaml_ng::from_str("labels:\n  io.mcpm.server: a\nimage: x\n").unwrap();
        assert_eq!(service_hash(&with), service_hash(&without));
        let other: serde_yaml_ng::Mapping =
            serde_yaml_ng::from_str("labels:\n  io.mcpm.server: b\nimage: x\n").unwrap();
        assert_ne!(service_hash(&with), service_hash(&other));
    }
}
