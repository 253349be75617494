//! The sync base the compose file carries in a top-level `x-mcpm` block: for
//! each server, the hashes of its profile entry and of its service as they were
//! at the last sync (or generate), with a short hash per service field. It
//! travels with the file, so a fresh checkout syncs like the machine that wrote it.
//!
//! ```yaml
//! x-mcpm:
//!   profile: dev
//!   base:
//!     fetch: "5e5ea1534191694a 664aeac034b53415 cap_drop=fe12c03f command=…"
//! ```
//!
//! One line per server: the first 16 hex digits of the SHA-256 of its profile
//! entry, of its service (hash labels excluded), then `field=hash` pairs. 64
//! bits tell a change apart as surely as 256 here, and a compact block keeps
//! large compose files quick to parse.
use std::collections::BTreeMap;

use serde_yaml_ng::{Mapping, Value};

/// The top-level key of the block (an `x-` extension, ignored by compose).
pub const BASE_KEY: &str = "x-mcpm";

/// How many hex digits of a SHA-256 the base keeps.
pub const BASE_HASH_LEN: usize = 16;

/// The base of one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseEntry {
    /// A prefix of the profile entry's hash (`BASE_HASH_LEN` digits).
    pub profile_hash: String,
    /// A prefix of the service's hash.
    pub service_hash: String,
    /// `field=hash …`, sorted: eight hex digits of each field's canonical
    /// hash. Kept as text; `field_map` parses it when a merge needs it.
    pub fields: String,
}

/// The whole block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncBase {
    pub profile: String,
    pub entries: BTreeMap<String, BaseEntry>,
}

impl BaseEntry {
    /// Builds an entry from full hashes.
    pub fn new(profile_hash: &str, service_hash: &str, fields: BTreeMap<String, String>) -> Self {
        Self {
            profile_hash: short(profile_hash),
            service_hash: short(service_hash),
            fields: format_fields(&fields),
        }
    }

    /// The per-field hashes: field name → hash.
    pub fn field_map(&self) -> BTreeMap<String, String> {
        self.fields
            .split_whitespace()
            .filter_map(|part| part.split_once('='))
            .map(|(field, hash)| (field.to_string(), hash.to_string()))
            .collect()
    }

    /// Whether a full profile hash is the one recorded.
    pub fn profile_is(&self, full: &str) -> bool {
        !self.profile_hash.is_empty() && full.starts_with(&self.profile_hash)
    }

    /// Whether a full service hash is the one recorded.
    pub fn service_is(&self, full: &str) -> bool {
        !self.service_hash.is_empty() && full.starts_with(&self.service_hash)
    }
}

fn short(hash: &str) -> String {
    hash.chars().take(BASE_HASH_LEN).collect()
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
                let line = entry
                    .as_str()
                    .ok_or_else(|| format!("`{BASE_KEY}.base.{name}` must be a string"))?;
                let entry =
                    parse_entry(line).map_err(|why| format!("`{BASE_KEY}.base.{name}`: {why}"))?;
                entries.insert(name.to_string(), entry);
            }
        }
        Ok(Some(Self { profile, entries }))
    }

    /// The block as YAML, entries sorted by server name.
    pub fn to_value(&self) -> Value {
        let mut base = Mapping::new();
        for (name, entry) in &self.entries {
            let line = format!(
                "{} {} {}",
                entry.profile_hash, entry.service_hash, entry.fields
            );
            base.insert(name.clone().into(), line.trim_end().to_string().into());
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

/// `PROFILE SERVICE field=hash …`.
fn parse_entry(line: &str) -> Result<BaseEntry, String> {
    let mut parts = line.split_whitespace();
    let mut hash = |what: &str| {
        parts
            .next()
            .filter(|h| h.len() == BASE_HASH_LEN && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_string)
            .ok_or_else(|| format!("the {what} hash is missing or malformed"))
    };
    let profile_hash = hash("profile")?;
    let service_hash = hash("service")?;
    let mut fields = String::with_capacity(line.len());
    for part in parts {
        match part.split_once('=') {
            Some((field, hash)) if !field.is_empty() && !hash.is_empty() => {
                if !fields.is_empty() {
                    fields.push(' ');
                }
                fields.push_str(part);
            }
            _ => return Err(format!("bad field entry `{part}`")),
        }
    }
    Ok(BaseEntry {
        profile_hash,
        service_hash,
        fields,
    })
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
            BaseEntry::new(
                &"a".repeat(64),
                &"b".repeat(64),
                [
                    ("image".to_string(), "1a2b3c4d".to_string()),
                    ("command".to_string(), "00ff00ff".to_string()),
                ]
                .into(),
            ),
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
        let bad = "x-mcpm: {profile: a, base: {s: \"0123456789abcdef 0123456789abcdef nonsense\"}}";
        assert!(SyncBase::from_document(&serde_yaml_ng::from_str(bad).unwrap()).is_err());
        let short = "x-mcpm: {profile: a, base: {s: \"0123 0123456789abcdef\"}}";
        assert!(SyncBase::from_document(&serde_yaml_ng::from_str(short).unwrap()).is_err());
    }
}
