//! The sync base the compose file carries in a top-level `x-mcpm` block: for
//! each server, the hashes of its profile entry and of its service as they were
//! at the last sync (or generate), with a short hash per service field. It
//! travels with the file, so a fresh checkout syncs like the machine that wrote it.
//!
//! ```yaml
//! x-mcpm:
//!   profile: dev
//!   base:
//!     fetch:
//!       profile: 5e5ea153…      # SHA-256 of the server's profile entry
//!       service: 664aeac0…      # SHA-256 of the service (hash labels excluded)
//!       fields: "cap_drop=1a2b3c4d command=…"
//! ```
use std::collections::BTreeMap;

use serde_yaml_ng::{Mapping, Value};

/// The top-level key of the block (an `x-` extension, ignored by compose).
pub const BASE_KEY: &str = "x-mcpm";

/// The base of one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseEntry {
    pub profile_hash: String,
    pub service_hash: String,
    /// Field name → eight hex digits of its canonical hash.
    pub fields: BTreeMap<String, String>,
}

/// The whole block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncBase {
    pub profile: String,
    pub entries: BTreeMap<String, BaseEntry>,
}

impl SyncBase {
    /// Reads the block from a parsed compose document; `Ok(None)` when absent.
    pub fn from_document(document: &Value) -> Result<Option<Self>, String> {
        let Some(block) = document.get(BASE_KEY) else {
            return Ok(None);
        };
        let block = block
            .as_mapping()
            .ok_or_else(|| format!("`{BASE_KEY}` must be a mapping"))?;
        let profile = block
            .get("profile")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("`{BASE_KEY}.profile` must name the profile"))?
            .to_string();
        let mut entries = BTreeMap::new();
        if let Some(base) = block.get("base") {
            let base = base
                .as_mapping()
                .ok_or_else(|| format!("`{BASE_KEY}.base` must be a mapping"))?;
            for (name, entry) in base {
                let name = name
                    .as_str()
                    .ok_or_else(|| format!("`{BASE_KEY}.base` keys must be server names"))?;
                let text = |key: &str| {
                    entry
                        .get(key)
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| format!("`{BASE_KEY}.base.{name}.{key}` is missing"))
                };
                let fields = parse_fields(&text("fields")?)
                    .map_err(|bad| format!("`{BASE_KEY}.base.{name}.fields`: bad entry `{bad}`"))?;
                entries.insert(
                    name.to_string(),
                    BaseEntry {
                        profile_hash: text("profile")?,
                        service_hash: text("service")?,
                        fields,
                    },
                );
            }
        }
        Ok(Some(Self { profile, entries }))
    }

    /// The block as YAML, entries sorted by server name.
    pub fn to_value(&self) -> Value {
        let mut base = Mapping::new();
        for (name, entry) in &self.entries {
            let mut map = Mapping::new();
            map.insert("profile".into(), entry.profile_hash.clone().into());
            map.insert("service".into(), entry.service_hash.clone().into());
            map.insert("fields".into(), format_fields(&entry.fields).into());
            base.insert(name.clone().into(), Value::Mapping(map));
        }
        let mut block = Mapping::new();
        block.insert("profile".into(), self.profile.clone().into());
        block.insert("base".into(), Value::Mapping(base));
        Value::Mapping(block)
    }
}

fn format_fields(fields: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = fields
        .iter()
        .map(|(field, hash)| format!("{field}={hash}"))
        .collect();
    parts.join(" ")
}

fn parse_fields(text: &str) -> Result<BTreeMap<String, String>, String> {
    text.split_whitespace()
        .map(|part| match part.split_once('=') {
            Some((field, hash)) if !field.is_empty() && !hash.is_empty() => {
                Ok((field.to_string(), hash.to_string()))
            }
            _ => Err(part.to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_yaml() {
        let mut base = SyncBase {
            profile: "dev".into(),
            entries: BTreeMap::new(),
        };
        base.entries.insert(
            "fetch".into(),
            BaseEntry {
                profile_hash: "p".repeat(64),
                service_hash: "s".repeat(64),
                fields: [
                    ("image".to_string(), "1a2b3c4d".to_string()),
                    ("command".to_string(), "00ff00ff".to_string()),
                ]
                .into(),
            },
        );
        let mut document = Mapping::new();
        document.insert(BASE_KEY.into(), base.to_value());
        let text = crate::compose::yaml::to_yaml(&Value::Mapping(document));
        let parsed: Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(SyncBase::from_document(&parsed).unwrap(), Some(base));
    }

    #[test]
    fn absent_and_malformed_blocks() {
        assert_eq!(
            SyncBase::from_document(&serde_yaml_ng::from_str("services: {}").unwrap()),
            Ok(None)
        );
        assert!(SyncBase::from_document(&serde_yaml_ng::from_str("x-mcpm: [1]").unwrap()).is_err());
        assert!(
            SyncBase::from_document(&serde_yaml_ng::from_str("x-mcpm: {base: {}}").unwrap())
                .is_err()
        );
        let bad = "x-mcpm: {profile: a, base: {s: {profile: p, service: s, fields: nonsense}}}";
        assert!(SyncBase::from_document(&serde_yaml_ng::from_str(bad).unwrap()).is_err());
    }
}
