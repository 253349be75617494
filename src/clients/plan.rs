//! Deciding what `client add` and `client remove` change in a config, from
//! the entries there, the entries due and who wrote each: pure, so every rule
//! (replace only mcpm's own, leave the user's, `--force`, stale entries) is
//! tested without a file.
use serde::Serialize;
use serde_json::Value;

use super::catalogue::Client;
use super::document::Change;
use super::entries::{Identity, Owner, owner};

/// What happened (or would happen) to one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A new entry.
    Added,
    /// mcpm's entry, rewritten with new content.
    Updated,
    /// Already as it should be: not touched.
    Unchanged,
    /// Someone else's entry under the same name, replaced (`--force`).
    Replaced,
    /// mcpm's entry removed (by `remove`, or by `add` when the server left
    /// the profile or was disabled).
    Removed,
}

/// The fate of one server's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryResult {
    pub server: String,
    pub action: Action,
}

/// An entry mcpm will not touch without `--force`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub server: String,
    /// Who holds the name: `user`, or `another profile` (with its path).
    pub held_by: String,
}

/// The changes to make, what they mean, and what was refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub results: Vec<EntryResult>,
    pub conflicts: Vec<Conflict>,
}

/// `add`: set every desired entry whose name is free, equal already, or
/// held by this profile's own entry; a name held by anything else is a
/// conflict unless `force`. With `prune`, this profile's entries that are no
/// longer desired are removed: a server that left the profile, or was
/// disabled, loses its entry (callers turn `prune` off when `--server` names
/// only some servers).
pub fn plan_add(
    client: Client,
    existing: &[(String, Value)],
    desired: &[(String, Value)],
    identity: &Identity,
    force: bool,
    prune: bool,
) -> Plan {
    let mut plan = Plan::default();
    for (name, entry) in desired {
        let current = existing.iter().find(|(key, _)| key == name).map(|(_, v)| v);
        let action = match current {
            None => Action::Added,
            Some(current) if current == entry => Action::Unchanged,
            Some(current) => match owner(client, name, current, identity) {
                Owner::This { .. } => Action::Updated,
                _ if force => Action::Replaced,
                other => {
                    plan.conflicts.push(Conflict {
                        server: name.clone(),
                        held_by: held_by(&other),
                    });
                    continue;
                }
            },
        };
        if action != Action::Unchanged {
            plan.changes.push(Change::Set(name.clone(), entry.clone()));
        }
        plan.results.push(EntryResult {
            server: name.clone(),
            action,
        });
    }
    if prune {
        for (name, entry) in existing {
            let wanted = desired.iter().any(|(key, _)| key == name);
            if !wanted && matches!(owner(client, name, entry, identity), Owner::This { .. }) {
                plan.changes.push(Change::Remove(name.clone()));
                plan.results.push(EntryResult {
                    server: name.clone(),
                    action: Action::Removed,
                });
            }
        }
    }
    plan
}

/// `remove`: this profile's entries (only the `only` names when given), and
/// the profile's remote servers' entries where they are exactly what `add`
/// writes. A named entry that is not mcpm's is a conflict (left alone).
pub fn plan_remove(
    client: Client,
    existing: &[(String, Value)],
    remote: &[(String, Value)],
    identity: &Identity,
    only: &[String],
) -> Plan {
    let mut plan = Plan::default();
    for (name, entry) in existing {
        if !only.is_empty() && !only.contains(name) {
            continue;
        }
        let same_remote = remote
            .iter()
            .any(|(key, value)| key == name && value == entry);
        match owner(client, name, entry, identity) {
            Owner::This { .. } => {}
            _ if same_remote => {}
            other => {
                if !only.is_empty() {
                    plan.conflicts.push(Conflict {
                        server: name.clone(),
                        held_by: held_by(&other),
                    });
                }
                continue;
            }
        }
        plan.changes.push(Change::Remove(name.clone()));
        plan.results.push(EntryResult {
            server: name.clone(),
            action: Action::Removed,
        });
    }
    plan
}

fn held_by(owner: &Owner) -> String {
    match owner {
        Owner::User => "an entry mcpm did not write".into(),
        Owner::OtherProfile {
            profile: Some(profile),
            ..
        } => format!("mcpm's entry for another profile ({profile})"),
        Owner::OtherProfile { profile: None, .. } => {
            "mcpm's entry for another project's gateway".into()
        }
        Owner::This { .. } => "this profile".into(),
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
