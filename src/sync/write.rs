//! Turns sync decisions into the new texts of both files, edited losslessly,
//! and proves each text says what was intended by parsing it again before
//! anything is written.
use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

use crate::catalog::Catalog;
use crate::compose::Rendered;
use crate::compose::base::{BASE_KEY, BaseEntry, SyncBase};
use crate::compose::splice::Edits;
use crate::error::Error;
use crate::profile::edit::ProfileEdit;
use crate::profile::{Profile, ServerSpec, load_profile_text};

use super::fit::{FitContext, Unwritable, check_owned, fit, skeleton};
use super::plan::{Action, ServerPlan, fit_start};

/// Fits the profile entries that take the compose side's version. A server
/// that cannot be fitted is left unresolved (a service mcpm merely could not
/// import is skipped), with the reason; an owned service a person broke in the
/// file (no image, a field compose does not have) is an error naming the
/// server and field.
pub fn profile_updates(
    plans: &mut [ServerPlan],
    profile: &Profile,
    catalog: &Catalog,
) -> Result<BTreeMap<String, ServerSpec>, (String, Unwritable)> {
    let context = FitContext {
        profile: &profile.name,
        catalog,
    };
    let mut updates = BTreeMap::new();
    for server in plans.iter_mut() {
        let result = match &server.action {
            Action::ToProfile { target } => match fit_start(profile, &server.name) {
                _ if let Err(why) = check_owned(&server.name, target) => {
                    return Err((server.name.clone(), why));
                }
                Some(start) => fit(&context, &server.name, &start, target),
                None => {
                    skeleton(target).and_then(|start| fit(&context, &server.name, &start, target))
                }
            },
            Action::Import { target } => {
                skeleton(target).and_then(|start| fit(&context, &server.name, &start, target))
            }
            Action::Disable => match profile.servers.get(&server.name) {
                Some(current) => Ok(ServerSpec {
                    enabled: Some(false),
                    ..current.clone()
                }),
                None => continue,
            },
            _ => continue,
        };
        // What the profile's own validation would refuse (a service name,
        // an environment name or a field it cannot hold) is not written.
        let result = result
            .and_then(|spec| crate::profile::check_server(&server.name, &spec).map(|()| spec));
        match result {
            Ok(spec) => {
                updates.insert(server.name.clone(), spec);
            }
            Err(reason) => {
                let reason = format!("cannot be written into the profile: {reason}");
                // An edit to a server of the profile must not vanish; a
                // service mcpm merely could not import is left alone.
                server.action = if matches!(server.action, Action::Import { .. }) {
                    Action::Skip { reason }
                } else {
                    Action::Unresolved { reason }
                };
            }
        }
    }
    Ok(updates)
}

/// The error for an owned service that cannot be written into the profile,
/// pointing at the field (or the service, for a missing one) in the file.
pub fn unwritable_error(path: &Path, text: &str, server: &str, why: Unwritable) -> Error {
    let mut keys = vec!["services", server];
    keys.extend(why.field.as_deref());
    Error::invalid(format!("{}: {}", path.display(), why.message))
        .at(crate::compose::locate::locate_key(path, text, &keys))
        .hint(format!("{}; nothing was written", why.hint))
}

/// The profile's new text with `updates` applied, verified by loading it.
pub fn profile_text(
    path: &Path,
    text: &str,
    profile: &Profile,
    updates: &BTreeMap<String, ServerSpec>,
) -> Result<String, String> {
    if updates.is_empty() {
        return Ok(text.to_string());
    }
    let mut edit = ProfileEdit::parse(text)?;
    for (name, spec) in updates {
        edit.set_server(name, profile.servers.get(name), spec)?;
    }
    let new_text = edit.text();
    let reloaded = load_profile_text(path, new_text.clone())
        .map_err(|err| format!("the edited profile does not load: {err}"))?;
    let mut intended = profile.servers.clone();
    intended.extend(
        updates
            .iter()
            .map(|(name, spec)| (name.clone(), spec.clone())),
    );
    let as_json =
        |servers: &BTreeMap<String, ServerSpec>| serde_json::to_value(servers).unwrap_or_default();
    if as_json(&reloaded.profile.servers) != as_json(&intended) {
        return Err("the edited profile does not say what was intended".into());
    }
    Ok(new_text)
}

/// The compose file's new text (`None` when there is no file and none is due).
pub fn compose_text(
    current: Option<(&str, &Value)>,
    plans: &[ServerPlan],
    rendered: &Rendered,
    old_base: Option<&SyncBase>,
) -> Result<Option<String>, String> {
    let no_rendered = Mapping::new();
    let services = rendered
        .document
        .get("services")
        .and_then(Value::as_mapping)
        .unwrap_or(&no_rendered);
    // A file with no content yet (empty, comments, `{}`) is replaced whole.
    let current =
        current.filter(|(_, document)| document.as_mapping().is_none_or(|m| !m.is_empty()));
    let Some((text, document)) = current else {
        // The first sync creates the file: exactly what generate writes.
        let creates = plans
            .iter()
            .any(|p| matches!(p.action, Action::ToCompose | Action::RecordBase));
        return match creates {
            true => rendered
                .verified_yaml()
                .map(Some)
                .map_err(|err| err.message),
            false => Ok(None),
        };
    };
    let edits_services = plans.iter().any(|p| {
        matches!(
            p.action,
            Action::RecordBase
                | Action::ToCompose
                | Action::ToProfile { .. }
                | Action::Import { .. }
                | Action::RemoveService
        )
    });
    if !edits_services && base_unchanged(plans, rendered, old_base) {
        // Nothing to edit: leave the text (and the time parsing it takes) alone.
        return Ok(Some(text.to_string()));
    }
    let new_base = next_base(plans, rendered, old_base);
    let no_services = Mapping::new();
    let old_services = document
        .get("services")
        .and_then(Value::as_mapping)
        .unwrap_or(&no_services);
    // What changes, by service, in plan order: `Some(new)` written, `None` removed.
    let mut service_edits: Vec<(&str, Option<&Value>)> = Vec::new();
    for server in plans {
        let name = server.name.as_str();
        match &server.action {
            Action::RecordBase
            | Action::ToCompose
            | Action::ToProfile { .. }
            | Action::Import { .. } => {
                let new = services
                    .get(name)
                    .ok_or_else(|| format!("the profile renders no service `{name}`"))?;
                service_edits.push((name, Some(new)));
            }
            Action::RemoveService => service_edits.push((name, None)),
            _ => {}
        }
    }
    // The services the file will hold: those it has, changed or removed as
    // planned, and those added.
    let changes: BTreeMap<&str, Option<&Value>> = service_edits.iter().copied().collect();
    let intended = |name: &str| -> Option<&Value> {
        match changes.get(name) {
            Some(change) => *change,
            None => old_services.get(name),
        }
    };
    let intended_names: Vec<&str> = old_services
        .keys()
        .filter_map(Value::as_str)
        .chain(changes.keys().copied())
        .filter(|name| intended(name).is_some())
        .collect();
    // Networks and volumes the written services need, added when missing.
    let mut additions: Vec<(&str, &str, &Value)> = Vec::new();
    for key in ["networks", "volumes"] {
        if let Some(Value::Mapping(needed)) = rendered.document.get(key) {
            for (name, value) in needed {
                let name = name.as_str().unwrap_or_default();
                let used = intended_names
                    .iter()
                    .filter_map(|n| intended(n))
                    .any(|service| uses(service, key, name));
                if document.get(key).and_then(|m| m.get(name)).is_none() && used {
                    additions.push((key, name, value));
                }
            }
        }
    }
    let base_value = new_base.to_value();
    let edits = Edits {
        services: service_edits,
        additions,
        top: (BASE_KEY, &base_value),
    };
    crate::compose::splice::apply(text, document, &edits).map(Some)
}

/// The base after this sync: fresh entries for servers now in step, none for
/// removed ones, the old entry kept for servers left alone.
fn next_base(plans: &[ServerPlan], rendered: &Rendered, old_base: Option<&SyncBase>) -> SyncBase {
    let mut base = SyncBase {
        profile: rendered.base.profile.clone(),
        entries: BTreeMap::new(),
    };
    for server in plans {
        if let Some(entry) = entry_after(server, &rendered.base, old_base) {
            base.entries.insert(server.name.clone(), entry.clone());
        }
    }
    base
}

/// Whether `next_base` would be the old base again, decided without building it.
fn base_unchanged(plans: &[ServerPlan], rendered: &Rendered, old_base: Option<&SyncBase>) -> bool {
    let Some(old) = old_base else { return false };
    let mut kept = 0;
    let same = plans.iter().all(|server| {
        let after = entry_after(server, &rendered.base, old_base);
        kept += usize::from(after.is_some());
        after == old.entries.get(&server.name)
    });
    same && old.profile == rendered.base.profile && kept == old.entries.len()
}

/// A server's base entry after this sync: fresh for servers now in step, none
/// for removed ones, the old one for servers left alone.
fn entry_after<'a>(
    server: &ServerPlan,
    fresh: &'a SyncBase,
    old_base: Option<&'a SyncBase>,
) -> Option<&'a BaseEntry> {
    let old = old_base.and_then(|b| b.entries.get(&server.name));
    match &server.action {
        Action::Nothing
        | Action::RecordBase
        | Action::ToCompose
        | Action::ToProfile { .. }
        | Action::Import { .. } => fresh.entries.get(&server.name).or(old),
        Action::Skip { .. } | Action::Unresolved { .. } | Action::Pending => old,
        Action::RemoveService | Action::Disable | Action::DropBase => None,
    }
}

/// Whether a service refers to network or volume `name`.
fn uses(service: &Value, key: &str, name: &str) -> bool {
    match (key, service.get(key)) {
        ("networks", Some(Value::Sequence(list))) => list.iter().any(|n| n.as_str() == Some(name)),
        ("networks", Some(Value::Mapping(map))) => map.contains_key(name),
        ("volumes", Some(Value::Sequence(list))) => list.iter().any(|v| match v {
            Value::String(short) => short.split(':').next() == Some(name),
            Value::Mapping(long) => long.get("source").and_then(Value::as_str) == Some(name),
            _ => false,
        }),
        _ => false,
    }
}
