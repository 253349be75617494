//! Field-level differences and the three-way merge of one service: a field
//! changed on one side since the base takes that side's value; a field changed
//! on both sides to different values is a conflict.
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_yaml_ng::{Mapping, Value};

use crate::hash;
use crate::labels;

/// A field whose value differs between the profile's service and the file's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDiff {
    pub field: String,
    /// The value the profile renders (`None`: the profile leaves it out).
    /// Printed with its secrets masked, like every value shown.
    #[serde(serialize_with = "crate::compose::secrets::serialize_masked")]
    pub profile: Option<Value>,
    /// The value in the compose file (`None`: absent there).
    #[serde(serialize_with = "crate::compose::secrets::serialize_masked")]
    pub compose: Option<Value>,
}

/// The fields that differ between two services, hash labels ignored.
pub fn field_diffs(profile: &Mapping, compose: &Mapping) -> Vec<FieldDiff> {
    let profile_hashes = hash::field_hashes(profile);
    let compose_hashes = hash::field_hashes(compose);
    let fields: BTreeSet<&String> = profile_hashes.keys().chain(compose_hashes.keys()).collect();
    fields
        .into_iter()
        .filter(|field| profile_hashes.get(*field) != compose_hashes.get(*field))
        .map(|field| FieldDiff {
            field: field.clone(),
            profile: profile.get(field.as_str()).map(without_hash_labels),
            compose: compose.get(field.as_str()).map(without_hash_labels),
        })
        .collect()
}

/// The outcome of a merge.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The merged service; conflicting fields keep the compose file's value
    /// until they are resolved.
    pub service: Mapping,
    pub conflicts: Vec<FieldDiff>,
}

/// Merges the profile's service and the file's against the base field hashes.
pub fn merge(
    profile: &Mapping,
    compose: &Mapping,
    base_fields: &BTreeMap<String, String>,
) -> Merged {
    let profile_hashes = hash::field_hashes(profile);
    let compose_hashes = hash::field_hashes(compose);
    let fields: BTreeSet<&String> = profile_hashes.keys().chain(compose_hashes.keys()).collect();
    let mut service = Mapping::new();
    let mut conflicts = Vec::new();
    for field in fields {
        let base = base_fields.get(field);
        let from_profile = profile_hashes.get(field);
        let from_compose = compose_hashes.get(field);
        let profile_changed = from_profile != base;
        let compose_changed = from_compose != base;
        let take_profile = match (profile_changed, compose_changed) {
            (true, false) => true,
            (_, true) if from_profile == from_compose => true,
            (true, true) => {
                conflicts.push(FieldDiff {
                    field: field.clone(),
                    profile: profile.get(field.as_str()).map(without_hash_labels),
                    compose: compose.get(field.as_str()).map(without_hash_labels),
                });
                false
            }
            _ => false,
        };
        let chosen = if take_profile {
            profile.get(field.as_str())
        } else {
            compose.get(field.as_str())
        };
        if let Some(value) = chosen {
            service.insert(field.clone().into(), value.clone());
        }
    }
    Merged { service, conflicts }
}

/// Sets (or removes, with `None`) one field of a service.
pub fn set_field(service: &mut Mapping, field: &str, value: Option<&Value>) {
    match value {
        Some(value) => {
            service.insert(field.into(), value.clone());
        }
        None => {
            service.remove(field);
        }
    }
}

/// Which way each differing field goes when `target` is written into the
/// profile: fields that take the file's value flow compose → profile, fields
/// that keep the profile's flow profile → compose (the service is rendered
/// again from the profile). Returns (to the profile, to the compose file).
pub fn field_flows(target: &Mapping, diffs: &[FieldDiff]) -> (Vec<String>, Vec<String>) {
    let mut to_profile = Vec::new();
    let mut to_compose = Vec::new();
    for diff in diffs {
        let value = target.get(diff.field.as_str()).map(without_hash_labels);
        if value == diff.profile && value != diff.compose {
            to_compose.push(diff.field.clone());
        } else {
            to_profile.push(diff.field.clone());
        }
    }
    (to_profile, to_compose)
}

fn without_hash_labels(value: &Value) -> Value {
    match value {
        Value::Mapping(map)
            if map
                .keys()
                .any(|k| k.as_str().is_some_and(|k| labels::HASH_LABELS.contains(&k))) =>
        {
            Value::Mapping(
                map.iter()
                    .filter(|(k, _)| k.as_str().is_none_or(|k| !labels::HASH_LABELS.contains(&k)))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(text: &str) -> Mapping {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn one_sided_changes_merge_and_two_sided_ones_conflict() {
        let base = service("image: a\ncommand: [x]\nmem_limit: 512m\ncpus: 1.0\n");
        let base_fields = hash::field_hashes(&base);
        let profile = service("image: b\ncommand: [x]\nmem_limit: 256m\ncpus: 1.0\n");
        let compose = service("image: a\ncommand: [y]\nmem_limit: 128m\ncpus: 1.0\ntty: true\n");
        let merged = merge(&profile, &compose, &base_fields);
        assert_eq!(
            merged.service.get("image"),
            Some(&Value::from("b")),
            "profile-only change"
        );
        assert_eq!(
            merged.service.get("command"),
            compose.get("command"),
            "compose-only change"
        );
        assert_eq!(
            merged.service.get("tty"),
            Some(&Value::from(true)),
            "compose-only addition"
        );
        assert_eq!(merged.conflicts.len(), 1);
        assert_eq!(merged.conflicts[0].field, "mem_limit");
    }

    #[test]
    fn removals_and_identical_changes() {
        let base = service("image: a\nread_only: true\ntty: true\n");
        let base_fields = hash::field_hashes(&base);
        let profile = service("image: z\nread_only: true\n");
        let compose = service("image: z\ntty: true\n");
        let merged = merge(&profile, &compose, &base_fields);
        assert!(merged.conflicts.is_empty());
        assert_eq!(merged.service, service("image: z\n"));
    }

    #[test]
    fn flows_say_which_side_each_field_came_from() {
        let base = service("image: a\ncommand: [x]\n");
        let profile = service("image: a\ncommand: [y]\n");
        let compose = service("image: b\ncommand: [x]\n");
        let merged = merge(&profile, &compose, &hash::field_hashes(&base));
        let diffs = field_diffs(&profile, &compose);
        let (to_profile, to_compose) = field_flows(&merged.service, &diffs);
        assert_eq!(to_profile, ["image"]);
        assert_eq!(to_compose, ["command"]);
        // The file's whole service: every field goes to the profile.
        let (to_profile, to_compose) = field_flows(&compose, &diffs);
        assert_eq!((to_profile.len(), to_compose.len()), (2, 0));
    }

    #[test]
    fn diffs_ignore_hash_labels() {
        let a = service("image: a\nlabels: {io.mcpm.server: s, io.mcpm.profile-hash: one}\n");
        let b = service("image: b\nlabels: {io.mcpm.server: s, io.mcpm.profile-hash: two}\n");
        let diffs = field_diffs(&a, &b);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].field, "image");
    }
}
