//! Decides what sync does with each server: classify it (three-way), apply the
//! conflict strategy and the direction, and leave true conflicts pending for a
//! resolver (a prompt, or a failure without a terminal). Pure: values in,
//! decisions out.
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_yaml_ng::{Mapping, Value};

use crate::compose::base::{BaseEntry, SyncBase};
use crate::labels;
use crate::profile::{ConflictStrategy, Profile, ServerSpec};

use super::merge::{FieldDiff, field_diffs, merge, set_field};
use super::state::{Change, Sides, classify};

/// Which way changes may flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    Both,
    ToDocker,
    ToProfile,
}

/// What sync does with one server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum Action {
    /// In sync: nothing to write.
    Nothing,
    /// Identical on both sides but no base yet: record one.
    RecordBase,
    /// Write the profile's service into the compose file.
    ToCompose,
    /// Remove the service from the compose file.
    RemoveService,
    /// Make the profile entry render to this service (compose → profile).
    ToProfile {
        #[serde(skip)]
        target: Mapping,
    },
    /// Add a profile entry for a service mcpm did not own.
    Import {
        #[serde(skip)]
        target: Mapping,
    },
    /// The service was deleted: set `enabled = false` on the server.
    Disable,
    /// Gone from both sides: forget the base.
    DropBase,
    /// Left as it is, with the reason.
    Skip { reason: String },
    /// A compose-side edit no profile entry reproduces: nothing of it is
    /// written, and sync exits 3 so the edit is not silently lost.
    Unresolved { reason: String },
    /// A conflict waiting for a resolver.
    Pending,
}

impl Action {
    /// Whether the action writes the profile.
    pub fn writes_profile(&self) -> bool {
        matches!(
            self,
            Action::ToProfile { .. } | Action::Import { .. } | Action::Disable
        )
    }

    /// Whether the action changes what services the compose file holds.
    pub fn writes_compose(&self) -> bool {
        matches!(self, Action::ToCompose | Action::RemoveService)
    }
}

/// One server's decision, and what a person needs to see about it.
#[derive(Debug, Clone, Serialize)]
pub struct ServerPlan {
    pub name: String,
    pub change: Change,
    #[serde(flatten)]
    pub action: Action,
    /// The fields that differ between the profile's service and the file's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldDiff>,
    /// Fields changed on both sides that a merge could not settle.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicting_fields: Vec<FieldDiff>,
}

impl ServerPlan {
    /// Whether this server changes anything on disk.
    pub fn changes_anything(&self) -> bool {
        !matches!(
            self.action,
            Action::Nothing | Action::Skip { .. } | Action::Unresolved { .. } | Action::Pending
        )
    }
}

/// A resolver's answer for one conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    KeepProfile,
    KeepDocker,
    /// Field by field against the base: each side's own changes are kept;
    /// fields changed on both sides are left for a further answer.
    Merge,
    Skip,
}

/// Everything the planner reads.
pub struct PlanInput<'a> {
    pub profile: &'a Profile,
    /// The services the profile renders to now, by server name.
    pub desired: &'a Mapping,
    /// The compose file's services now (empty when the file does not exist).
    pub compose: &'a Mapping,
    pub base: Option<&'a SyncBase>,
    pub strategy: ConflictStrategy,
    pub direction: Direction,
    /// Import services mcpm does not own (`--import` or `[docker]
    /// import_services`; `[docker] ignore_services` still excludes some).
    pub import: bool,
    pub ignore_services: &'a [String],
    /// The base the renderer recorded for `desired`: its hashes are reused.
    pub desired_base: Option<&'a SyncBase>,
}

/// Plans every server, in name order.
pub fn plan(input: &PlanInput<'_>) -> Vec<ServerPlan> {
    let profile_name = input.profile.name.as_str();
    // Hashes the renderer already took are reused; only servers that render
    // nothing (remote, disabled) are hashed here.
    let rendered = |name: &str| input.desired_base.and_then(|base| base.entries.get(name));
    let profile_hashes: BTreeMap<&str, String> = input
        .profile
        .servers
        .iter()
        .map(|(name, spec)| {
            let hash = rendered(name).map_or_else(
                || crate::hash::server_hash(spec),
                |entry| entry.profile_hash.clone(),
            );
            (name.as_str(), hash)
        })
        .collect();
    let mut names: BTreeSet<String> = input.profile.servers.keys().cloned().collect();
    names.extend(
        input
            .compose
            .keys()
            .filter_map(|k| k.as_str().map(str::to_string)),
    );
    if let Some(base) = input.base {
        names.extend(base.entries.keys().cloned());
    }
    names
        .into_iter()
        .map(|name| {
            let (desired, compose) = sides(input, &name);
            let owned = compose.is_some_and(|service| owned_by(service, profile_name));
            let base_entry = input.base.and_then(|base| base.entries.get(&name));
            let change = classify(&Sides {
                base: base_entry,
                profile_hash: profile_hashes.get(name.as_str()).map(String::as_str),
                desired,
                desired_hash: rendered(&name).map(|entry| entry.service_hash.as_str()),
                compose,
                owned,
            });
            // Field-level differences only matter for what is not in step.
            let fields = match (change, desired, compose) {
                (Change::InSync | Change::Idle, _, _) => Vec::new(),
                (_, Some(desired), Some(compose)) => field_diffs(desired, compose),
                _ => Vec::new(),
            };
            let mut server = ServerPlan {
                name: name.clone(),
                change,
                action: Action::Nothing,
                fields,
                conflicting_fields: Vec::new(),
            };
            server.action = decide(input, &mut server, desired, compose, base_entry);
            server.action = allowed(input.direction, server.action.clone());
            server
        })
        .collect()
}

/// A server's service as the profile renders it, and as the file has it.
fn sides<'a>(input: &PlanInput<'a>, name: &str) -> (Option<&'a Mapping>, Option<&'a Mapping>) {
    let desired = input.desired.get(name).and_then(Value::as_mapping);
    let compose = input.compose.get(name).and_then(Value::as_mapping);
    (desired, compose)
}

/// Applies a resolver's choice to a pending server.
pub fn resolve(input: &PlanInput<'_>, server: &mut ServerPlan, choice: Choice) {
    let (desired, compose) = sides(input, &server.name);
    let action = match choice {
        Choice::KeepProfile => keep_profile(desired),
        Choice::KeepDocker => keep_docker(compose),
        Choice::Merge => {
            let base = input.base.and_then(|b| b.entries.get(&server.name));
            merged(server, desired, compose, base)
        }
        Choice::Skip => Action::Skip {
            reason: "skipped at the conflict prompt".into(),
        },
    };
    server.action = allowed(input.direction, action);
}

/// The three-way merge of a server changed on both sides: the merged service
/// into the profile, or `Pending` with the fields both sides changed (also
/// when there is nothing to merge: a deletion against an edit, no base).
fn merged(
    server: &mut ServerPlan,
    desired: Option<&Mapping>,
    compose: Option<&Mapping>,
    base: Option<&BaseEntry>,
) -> Action {
    match (server.change, desired, compose, base) {
        (Change::BothChanged, Some(desired), Some(compose), Some(base)) => {
            let merged = merge(desired, compose, &base.field_map());
            if merged.conflicts.is_empty() {
                Action::ToProfile {
                    target: merged.service,
                }
            } else {
                server.conflicting_fields = merged.conflicts;
                Action::Pending
            }
        }
        _ => Action::Pending,
    }
}

/// Settles field conflicts of a merge one by one; `None` for a field skips the
/// whole server.
pub fn resolve_fields(
    input: &PlanInput<'_>,
    server: &mut ServerPlan,
    choices: &[(String, Choice)],
) {
    let (desired, compose) = sides(input, &server.name);
    let base = input
        .base
        .and_then(|b| b.entries.get(&server.name))
        .map(|b| b.field_map());
    let (Some(desired), Some(compose), Some(base)) = (desired, compose, base) else {
        return;
    };
    let mut merged = merge(desired, compose, &base).service;
    for (field, choice) in choices {
        match choice {
            Choice::KeepProfile => set_field(&mut merged, field, desired.get(field.as_str())),
            // A field both sides changed has no merge of its own: the file's
            // value stays, as in a merge's result.
            Choice::KeepDocker | Choice::Merge => {
                set_field(&mut merged, field, compose.get(field.as_str()))
            }
            Choice::Skip => {
                server.action = Action::Skip {
                    reason: format!("field `{field}` skipped at the conflict prompt"),
                };
                return;
            }
        }
    }
    server.action = allowed(input.direction, Action::ToProfile { target: merged });
}

fn decide(
    input: &PlanInput<'_>,
    server: &mut ServerPlan,
    desired: Option<&Mapping>,
    compose: Option<&Mapping>,
    base_entry: Option<&BaseEntry>,
) -> Action {
    match server.change {
        // Both sides agree, but the file's hash labels may not (the same edit
        // made on both sides, or a sync cut off after writing the profile):
        // record the base and labels, so `generate --check` agrees too.
        Change::InSync if stale_hash_labels(desired, compose) => Action::RecordBase,
        Change::InSync => Action::Nothing,
        Change::Unrecorded { identical: true } => Action::RecordBase,
        Change::ProfileChanged | Change::Added => Action::ToCompose,
        Change::ComposeChanged => keep_docker(compose),
        Change::ProfileRemoved => Action::RemoveService,
        Change::ComposeRemoved => Action::Disable,
        Change::BothRemoved => Action::DropBase,
        Change::Idle => Action::Nothing,
        Change::NameClash => Action::Skip {
            reason: "the profile's server of this name runs no container, yet the file has a service by that name; rename one".into(),
        },
        Change::Foreign if !input.import => Action::Skip {
            reason: "not mcpm's; left alone (import it with --import or `[docker] import_services = true`)".into(),
        },
        Change::Foreign if input.ignore_services.contains(&server.name) => {
            Action::Skip { reason: "listed in [docker] ignore_services".into() }
        }
        Change::Foreign => match compose {
            Some(target) => Action::Import { target: target.clone() },
            None => Action::Nothing,
        },
        Change::BothChanged
        | Change::ProfileRemovedComposeChanged
        | Change::ComposeRemovedProfileChanged
        | Change::Unrecorded { identical: false } => match input.strategy {
            ConflictStrategy::ProfileWins => keep_profile(desired),
            ConflictStrategy::DockerWins => keep_docker(compose),
            ConflictStrategy::Manual => Action::Pending,
            ConflictStrategy::Merge => merged(server, desired, compose, base_entry),
        },
    }
}

/// Whether the file's hash labels differ from the ones the profile renders.
fn stale_hash_labels(desired: Option<&Mapping>, compose: Option<&Mapping>) -> bool {
    let (Some(desired), Some(compose)) = (desired, compose) else {
        return false;
    };
    let label = |service: &Mapping, name: &str| {
        service
            .get("labels")
            .and_then(|labels| labels.get(name))
            .cloned()
    };
    labels::HASH_LABELS
        .iter()
        .any(|name| label(desired, name) != label(compose, name))
}

/// The profile's side wins: write its service, or remove the service when the
/// profile no longer runs one.
fn keep_profile(desired: Option<&Mapping>) -> Action {
    match desired {
        Some(_) => Action::ToCompose,
        None => Action::RemoveService,
    }
}

/// The file's side wins: fit the profile to its service, or disable the server
/// when the service was deleted.
fn keep_docker(compose: Option<&Mapping>) -> Action {
    match compose {
        Some(target) => Action::ToProfile {
            target: target.clone(),
        },
        None => Action::Disable,
    }
}

/// Holds back what the direction forbids.
fn allowed(direction: Direction, action: Action) -> Action {
    let blocked = match direction {
        Direction::Both => false,
        Direction::ToDocker => action.writes_profile(),
        Direction::ToProfile => action.writes_compose(),
    };
    if blocked {
        let way = match direction {
            Direction::ToDocker => "to-docker",
            _ => "to-profile",
        };
        Action::Skip {
            reason: format!("direction {way} does not allow it"),
        }
    } else {
        action
    }
}

/// Whether a service carries this profile's ownership label.
pub fn owned_by(service: &Mapping, profile: &str) -> bool {
    owner(service) == Some(profile)
}

/// The profile a service's ownership label names, if it has one.
pub fn owner(service: &Mapping) -> Option<&str> {
    service
        .get("labels")
        .and_then(|labels| labels.get(labels::PROFILE))
        .and_then(Value::as_str)
}

/// The starting point for fitting a server: its current entry, re-enabled.
pub fn fit_start(profile: &Profile, name: &str) -> Option<ServerSpec> {
    profile.servers.get(name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::base_entry;

    fn service(text: &str) -> Mapping {
        serde_yaml_ng::from_str(text).unwrap()
    }

    fn profile_with(name: &str, spec: ServerSpec) -> Profile {
        let mut profile: Profile = toml::from_str("name = \"dev\"").unwrap();
        profile.servers.insert(name.into(), spec);
        profile
    }

    struct Case {
        profile: Profile,
        desired: Mapping,
        compose: Mapping,
        base: SyncBase,
    }

    /// A server `s` synced once as `image: a`, then edited as the arguments say.
    fn case(profile_image: &str, compose_image: Option<&str>) -> Case {
        let original = ServerSpec {
            command: Some("x".into()),
            ..Default::default()
        };
        let written = service("image: a\nlabels: {io.mcpm.profile: dev}\n");
        let mut base = SyncBase {
            profile: "dev".into(),
            entries: BTreeMap::new(),
        };
        base.entries.insert(
            "s".into(),
            base_entry(&crate::hash::server_hash(&original), &written),
        );
        let current = if profile_image == "a" {
            original
        } else {
            ServerSpec {
                command: Some(profile_image.into()),
                ..Default::default()
            }
        };
        let mut desired = Mapping::new();
        desired.insert(
            "s".into(),
            Value::Mapping(service(&format!(
                "image: {profile_image}\nlabels: {{io.mcpm.profile: dev}}\n"
            ))),
        );
        let mut compose = Mapping::new();
        if let Some(image) = compose_image {
            compose.insert(
                "s".into(),
                Value::Mapping(service(&format!(
                    "image: {image}\nlabels: {{io.mcpm.profile: dev}}\n"
                ))),
            );
        }
        Case {
            profile: profile_with("s", current),
            desired,
            compose,
            base,
        }
    }

    fn run(case: &Case, strategy: ConflictStrategy, direction: Direction) -> ServerPlan {
        let input = PlanInput {
            profile: &case.profile,
            desired: &case.desired,
            compose: &case.compose,
            base: Some(&case.base),
            strategy,
            direction,
            import: true,
            ignore_services: &[],
            desired_base: None,
        };
        plan(&input).into_iter().find(|s| s.name == "s").unwrap()
    }

    /// A service mcpm does not own (the app's redis) is left alone unless
    /// importing is asked for, and `ignore_services` wins even then.
    #[test]
    fn foreign_services_are_imported_only_on_request() {
        let case = case("a", Some("a"));
        let mut compose = case.compose.clone();
        compose.insert("redis".into(), Value::Mapping(service("image: redis:7\n")));
        let decide = |import: bool, ignore: &[String]| {
            let input = PlanInput {
                profile: &case.profile,
                desired: &case.desired,
                compose: &compose,
                base: Some(&case.base),
                strategy: ConflictStrategy::Manual,
                direction: Direction::Both,
                import,
                ignore_services: ignore,
                desired_base: None,
            };
            plan(&input)
                .into_iter()
                .find(|s| s.name == "redis")
                .unwrap()
        };
        let left = decide(false, &[]);
        assert_eq!(left.change, Change::Foreign);
        assert!(
            matches!(&left.action, Action::Skip { reason } if reason.contains("--import")),
            "{:?}",
            left.action
        );
        assert!(matches!(decide(true, &[]).action, Action::Import { .. }));
        assert!(matches!(
            decide(true, &["redis".to_string()]).action,
            Action::Skip { .. }
        ));
    }

    #[test]
    fn one_sided_changes_flow_across() {
        let profile_side = run(
            &case("b", Some("a")),
            ConflictStrategy::Manual,
            Direction::Both,
        );
        assert_eq!(
            (profile_side.change, profile_side.action),
            (Change::ProfileChanged, Action::ToCompose)
        );
        let compose_side = run(
            &case("a", Some("c")),
            ConflictStrategy::Manual,
            Direction::Both,
        );
        assert_eq!(compose_side.change, Change::ComposeChanged);
        assert!(matches!(compose_side.action, Action::ToProfile { .. }));
        assert_eq!(
            run(
                &case("a", Some("a")),
                ConflictStrategy::Manual,
                Direction::Both
            )
            .action,
            Action::Nothing
        );
    }

    #[test]
    fn strategies_settle_conflicts() {
        let conflict = case("b", Some("c"));
        assert_eq!(
            run(&conflict, ConflictStrategy::ProfileWins, Direction::Both).action,
            Action::ToCompose
        );
        assert!(matches!(
            run(&conflict, ConflictStrategy::DockerWins, Direction::Both).action,
            Action::ToProfile { .. }
        ));
        assert_eq!(
            run(&conflict, ConflictStrategy::Manual, Direction::Both).action,
            Action::Pending
        );
        let merged = run(&conflict, ConflictStrategy::Merge, Direction::Both);
        assert_eq!(
            merged.action,
            Action::Pending,
            "the same field changed on both sides"
        );
        assert_eq!(merged.conflicting_fields.len(), 1);
    }

    #[test]
    fn directions_hold_back_the_other_way() {
        let compose_side = run(
            &case("a", Some("c")),
            ConflictStrategy::Manual,
            Direction::ToDocker,
        );
        assert!(matches!(compose_side.action, Action::Skip { .. }));
        let profile_side = run(
            &case("b", Some("a")),
            ConflictStrategy::Manual,
            Direction::ToProfile,
        );
        assert!(matches!(profile_side.action, Action::Skip { .. }));
    }

    #[test]
    fn deletions() {
        let deleted_in_compose = run(&case("a", None), ConflictStrategy::Manual, Direction::Both);
        assert_eq!(
            (deleted_in_compose.change, deleted_in_compose.action),
            (Change::ComposeRemoved, Action::Disable)
        );
        let mut gone = case("a", Some("a"));
        gone.profile.servers.clear();
        gone.desired.clear();
        let removed = run(&gone, ConflictStrategy::Manual, Direction::Both);
        assert_eq!(
            (removed.change, removed.action),
            (Change::ProfileRemoved, Action::RemoveService)
        );
        let mut gone_but_edited = case("a", Some("z"));
        gone_but_edited.profile.servers.clear();
        gone_but_edited.desired.clear();
        assert_eq!(
            run(&gone_but_edited, ConflictStrategy::Manual, Direction::Both).action,
            Action::Pending
        );
        assert_eq!(
            run(
                &gone_but_edited,
                ConflictStrategy::ProfileWins,
                Direction::Both
            )
            .action,
            Action::RemoveService
        );
    }

    #[test]
    fn resolving_a_pending_conflict() {
        let conflict = case("b", Some("c"));
        let input = PlanInput {
            profile: &conflict.profile,
            desired: &conflict.desired,
            compose: &conflict.compose,
            base: Some(&conflict.base),
            strategy: ConflictStrategy::Manual,
            direction: Direction::Both,
            import: true,
            ignore_services: &[],
            desired_base: None,
        };
        let mut server = plan(&input).pop().unwrap();
        resolve(&input, &mut server, Choice::KeepProfile);
        assert_eq!(server.action, Action::ToCompose);
        resolve(&input, &mut server, Choice::Skip);
        assert!(matches!(server.action, Action::Skip { .. }));
    }
}
