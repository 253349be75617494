//! The one notion of "changed": SHA-256 over a canonical JSON form (keys sorted,
//! no whitespace), so reformatting or reordering a file never counts as a change.
use sha2::{Digest, Sha256};

use crate::labels;
use crate::profile::{ServerSpec, Strategy};

/// Hex SHA-256 of the canonical form of `value`.
pub fn canonical_hash(value: &serde_json::Value) -> String {
    let mut canonical = String::new();
    write_canonical(value, &mut canonical);
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Serialises with sorted keys whatever map type serde_json was built with.
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The hash of a server's profile entry; writing a default explicitly
/// (`enabled = true`) hashes the same as leaving it out.
pub fn server_hash(server: &ServerSpec) -> String {
    let mut normalized = server.clone();
    if normalized.enabled == Some(true) {
        normalized.enabled = None;
    }
    if normalized.strategy == Some(Strategy::AlwaysOn) {
        normalized.strategy = None;
    }
    let value =
        serde_json::to_value(&normalized).expect("a server spec is always JSON-representable");
    canonical_hash(&value)
}

/// The hash of a compose service, leaving out the hash labels themselves.
pub fn service_hash(service: &serde_yaml_ng::Value) -> String {
    let mut value = serde_json::to_value(service).unwrap_or(serde_json::Value::Null);
    if let Some(labels) = value
        .get_mut("labels")
        .and_then(|labels| labels.as_object_mut())
    {
        for label in labels::HASH_LABELS {
            labels.remove(*label);
        }
    }
    canonical_hash(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn hash_labels_are_left_out_of_the_service_hash() {
        let with: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            "image: x\nlabels:\n  io.mcpm.server: a\n  io.mcpm.service-hash: abc\n",
        )
        .unwrap();
        let without: serde_yaml_ng::Value =
            serde_yaml_ng::from_str("labels:\n  io.mcpm.server: a\nimage: x\n").unwrap();
        assert_eq!(service_hash(&with), service_hash(&without));
    }
}
