//! Turns sync decisions into the new texts of both files, edited losslessly,
//! and proves each text says what was intended by parsing it again before
//! anything is written.
use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

use crate::catalog::Catalog;
use crate::compose::base::{BASE_KEY, BaseEntry, SyncBase};
use crate::compose::splice::Edits;
use crate::compose::{RenderOptions, Rendered, rerender};
use crate::error::Error;
use crate::profile::edit::{ProfileEdit, Spliced, splice_servers, with_line_endings_of};
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

/// The profile's new text with `updates` applied, verified before anything
/// is written. The changed servers' tables are edited and checked on their
/// own where the layout allows it ([`splice_servers`], [`spliced_as_intended`]);
/// otherwise, or when that check fails, the whole document is edited and the
/// whole new profile loaded and compared. Both give the same text.
pub fn profile_text(
    path: &Path,
    text: &str,
    profile: &Profile,
    updates: &BTreeMap<String, ServerSpec>,
) -> Result<String, String> {
    if updates.is_empty() {
        return Ok(text.to_string());
    }
    let new_text = match splice_servers(text, &profile.servers, updates)? {
        Some(spliced) if spliced_as_intended(&spliced, profile, updates) => spliced.text,
        _ => full_profile_text(path, text, profile, updates)?,
    };
    if !text.contains("\r\n") {
        return Ok(new_text);
    }
    // A profile written with `\r\n` keeps them (toml_edit writes `\n`), and
    // the text with them back is proven like any other edit.
    let new_text = with_line_endings_of(text, new_text);
    says_what_was_intended(path, &new_text, profile, updates)?;
    Ok(new_text)
}

/// The whole-document edit, proven by loading the whole new profile and
/// comparing every server.
pub fn full_profile_text(
    path: &Path,
    text: &str,
    profile: &Profile,
    updates: &BTreeMap<String, ServerSpec>,
) -> Result<String, String> {
    let mut edit = ProfileEdit::parse(text)?;
    for (name, spec) in updates {
        edit.set_server(name, profile.servers.get(name), spec)?;
    }
    let new_text = edit.text();
    says_what_was_intended(path, &new_text, profile, updates)?;
    Ok(new_text)
}

/// Loads the whole edited profile and compares every server with `profile`
/// after `updates`.
fn says_what_was_intended(
    path: &Path,
    new_text: &str,
    profile: &Profile,
    updates: &BTreeMap<String, ServerSpec>,
) -> Result<(), String> {
    let reloaded = load_profile_text(path, new_text.to_string())
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
    Ok(())
}

/// Whether a spliced profile says what was intended, proven from the pieces
/// alone: each piece is nothing but `[servers.NAME…]` tables of the servers
/// it should hold, ends its last line, is followed by a header (or the end),
/// and reads back as exactly those servers, each as intended and valid. The
/// bytes around the pieces are the old profile's, whose other servers the
/// scan found only under their own headers: they cannot have moved.
fn spliced_as_intended(
    spliced: &Spliced,
    profile: &Profile,
    updates: &BTreeMap<String, ServerSpec>,
) -> bool {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Piece {
        servers: BTreeMap<String, ServerSpec>,
    }
    let text = spliced.text.as_str();
    spliced.pieces.iter().all(|(range, names)| {
        let piece = &text[range.clone()];
        let rest = &text[range.end..];
        let headers_only = crate::profile::tables::scan(piece).is_some_and(|headers| {
            headers.first().is_some_and(|h| h.start == 0)
                && headers.iter().all(|h| match h.path.as_slice() {
                    [servers, name, ..] => servers == "servers" && names.contains(name),
                    _ => false,
                })
        });
        let ends_line = piece.ends_with('\n') || rest.is_empty();
        let header_next = rest.is_empty()
            || crate::profile::tables::scan(first_line(rest))
                .is_some_and(|headers| headers.first().is_some_and(|h| h.start == 0));
        let Ok(read) = toml::from_str::<Piece>(piece) else {
            return false;
        };
        headers_only
            && ends_line
            && header_next
            && read.servers.len() == names.len()
            && names.iter().all(|name| {
                let intended = updates.get(name).or_else(|| profile.servers.get(name));
                let as_json = |spec: &ServerSpec| serde_json::to_value(spec).ok();
                read.servers.get(name).and_then(as_json) == intended.and_then(as_json)
                    && crate::profile::check_server(name, &read.servers[name]).is_ok()
            })
    })
}

/// The first line of `text`, its newline included.
fn first_line(text: &str) -> &str {
    text.find('\n').map_or(text, |at| &text[..=at])
}

/// The render after `updates` were written into the profile: `rendered` (the
/// render before them) with only the updated servers rendered again, or,
/// where that cannot be promised (see [`rerender`]), the new profile text
/// loaded and rendered whole. The same result either way.
pub fn render_updated(
    path: &Path,
    new_text: &str,
    mut rendered: Rendered,
    updates: &BTreeMap<String, ServerSpec>,
    catalog: &Catalog,
) -> crate::error::Result<Rendered> {
    if updates.is_empty() || rerender(&mut rendered, updates, catalog) {
        return Ok(rendered);
    }
    let loaded = load_profile_text(path, new_text.to_string())?;
    crate::compose::render(&loaded, catalog, RenderOptions::default())
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
    // Built only when the file lacks a network or volume the profile renders.
    let intended_names = std::cell::OnceCell::new();
    let intended_names = || -> &Vec<&str> {
        intended_names.get_or_init(|| {
            old_services
                .keys()
                .filter_map(Value::as_str)
                .chain(changes.keys().copied())
                .filter(|name| intended(name).is_some())
                .collect()
        })
    };
    // Networks and volumes the written services need, added when missing.
    let mut additions: Vec<(&str, &str, &Value)> = Vec::new();
    for key in ["networks", "volumes"] {
        if let Some(Value::Mapping(needed)) = rendered.document.get(key) {
            for (name, value) in needed {
                let name = name.as_str().unwrap_or_default();
                // The file's own entry is looked up first: most syncs find it
                // there and need not look through every service for a user.
                let missing = document.get(key).and_then(|m| m.get(name)).is_none();
                if missing
                    && intended_names()
                        .iter()
                        .filter_map(|n| intended(n))
                        .any(|service| uses(service, key, name))
                {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::EnvValue;

    use crate::test_rng::Rng;

    const ODD: [&str; 6] = [
        "caf\u{e9}",
        "\u{1f600} x",
        "a\\u2028b",
        "tab\\there",
        "q\\\"uote",
        "[not] # a header",
    ];

    /// One server table in one of many shapes a person writes.
    fn server(rng: &mut Rng, i: usize) -> String {
        let name = match i % 5 {
            0 => format!("\"s{i}.dotted\""),
            1 => format!("'s{i}'"),
            _ => format!("s{i}"),
        };
        let odd = ODD[rng.below(ODD.len())];
        let mut out = String::new();
        if rng.below(3) == 0 {
            out.push_str(&format!("# server {i} \u{2014} {odd}\n"));
        }
        out.push_str(&format!("[servers.{name}]\n"));
        match rng.below(4) {
            0 => out.push_str(&format!(
                "command = \"uvx\" # runner\nargs = [\"mcp-server-fetch\", \"{odd}\"]\nenv = {{ A = \"x\", B = \"{odd}\" }} # env\n"
            )),
            1 => out.push_str(&format!(
                "command = 'npx'\nargs = [\n  \"-y\", # flag\n  \"@acme/tool-{i}\",\n]\nresources.memory = \"128m\"\nresources.pids = 64\n"
            )),
            2 => out.push_str(&format!(
                "command = \"python\"\nargs = [\"-m\", \"srv{i}\"]\ndescription = \"\"\"\n[servers.fake]\n{odd}\"\"\"\n[servers.{name}.docker]\nimage = \"r.example/{i}:1\"\n[[servers.{name}.docker.x-items]]\nk = 1\n"
            )),
            _ => out.push_str(&format!(
                "url = \"https://m{i}.example/mcp\"\nheaders = {{ Authorization = \"Bearer ${{T_{i}}}\" }}\n"
            )),
        }
        out
    }

    fn profile(rng: &mut Rng, count: usize) -> String {
        let mut out =
            "# odd profile\nname = \"p\"\ndescription = 'servers: [many]'\n\n".to_string();
        for i in 0..count {
            if i == count / 2 {
                out.push_str("[docker]\nauto_deploy = false # later\n\n");
            }
            out.push_str(&server(rng, i));
            out.push('\n');
        }
        out.push_str("# the end\n");
        out
    }

    /// A random edit of a server, as sync's updates make them.
    fn edited(rng: &mut Rng, old: &ServerSpec) -> ServerSpec {
        let mut new = old.clone();
        match rng.below(6) {
            0 => new.args.push(ODD[rng.below(ODD.len())].replace('\\', "")),
            1 => {
                new.env.shift_remove("A");
                new.env
                    .insert("NEW".into(), EnvValue::Text("\u{e9}t\u{e9}".into()));
            }
            2 => {
                let docker = new.docker.get_or_insert_with(toml::Table::new);
                docker.insert("mem_limit".into(), "1g".into());
            }
            3 => new.enabled = Some(false),
            4 => new.description = Some("now \"quoted\"\nand two lines".into()),
            _ => {
                new.args.clear();
                new.unset = vec!["read_only".into()];
            }
        }
        new
    }

    fn load(text: &str) -> Profile {
        load_profile_text(Path::new("p.toml"), text.to_string())
            .unwrap_or_else(|err| panic!("{}\n{text}", err.message))
            .profile
    }

    /// Random edits of random servers (and new servers) of large, odd
    /// profiles: the spliced text is byte for byte the whole-document edit's.
    #[test]
    fn splicing_gives_the_whole_document_edit_byte_for_byte() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let path = Path::new("p.toml");
        for round in 0..40 {
            // One huge profile, then many mid-sized ones.
            let text = profile(&mut rng, if round == 0 { 1500 } else { 60 + round });
            let loaded = load(&text);
            let names: Vec<&String> = loaded.servers.keys().collect();
            let mut updates = BTreeMap::new();
            for _ in 0..1 + rng.below(4) {
                let name = names[rng.below(names.len())];
                let new = edited(&mut rng, &loaded.servers[name]);
                // Sync writes only what the profile's validation accepts.
                if crate::profile::check_server(name, &new).is_ok() {
                    updates.insert(name.clone(), new);
                }
            }
            if rng.below(3) == 0 {
                let new = ServerSpec {
                    command: Some("uvx".into()),
                    args: vec!["new-\u{1f600}".into()],
                    ..Default::default()
                };
                updates.insert(format!("zz-new{round}"), new.clone());
                updates.insert(format!("a-new{round}"), new);
            }
            let spliced = splice_servers(&text, &loaded.servers, &updates)
                .unwrap()
                .expect("this layout splices");
            assert!(
                spliced_as_intended(&spliced, &loaded, &updates),
                "round {round}"
            );
            let full = full_profile_text(path, &text, &loaded, &updates).unwrap();
            assert_eq!(spliced.text, full, "round {round}");
            assert_eq!(profile_text(path, &text, &loaded, &updates).unwrap(), full);
        }
    }

    /// New servers land where the whole-document edit puts them: after the
    /// last server's tables, before a table that follows them, with the
    /// comments in between left before that table.
    #[test]
    fn new_servers_go_after_the_last_servers_tables() {
        let path = Path::new("p.toml");
        let text = "name = \"p\"\n[servers.\"s\\u0031\"] # escaped name\ncommand = \"uvx\"\n\n# docker settings\n[docker]\nauto_deploy = false\n";
        let loaded = load(text);
        assert!(loaded.servers.contains_key("s1"));
        let new = ServerSpec {
            command: Some("npx".into()),
            env: [("K".to_string(), EnvValue::Text("v".into()))].into(),
            ..Default::default()
        };
        let updates = BTreeMap::from([("s0".to_string(), new.clone()), ("s2".to_string(), new)]);
        let spliced = splice_servers(text, &loaded.servers, &updates)
            .unwrap()
            .unwrap();
        assert!(spliced_as_intended(&spliced, &loaded, &updates));
        let full = full_profile_text(path, text, &loaded, &updates).unwrap();
        assert_eq!(spliced.text, full);
        assert!(
            full.ends_with("# docker settings\n[docker]\nauto_deploy = false\n"),
            "{full}"
        );
    }

    /// Layouts the scan does not vouch for take the whole-document path, and
    /// still give its text.
    #[test]
    fn other_layouts_fall_back_to_the_whole_document() {
        let path = Path::new("p.toml");
        for text in [
            // A server written inline under `[servers]`.
            "name = \"p\"\n[servers]\na = { command = \"uvx\", args = [\"x\"] }\n[servers.b]\ncommand = \"uvx\"\n",
            // Dotted keys from the root table.
            "name = \"p\"\nservers.a.command = \"uvx\"\n[servers.b]\ncommand = \"uvx\"\n",
            // A server's tables apart.
            "name = \"p\"\n[servers.a]\ncommand = \"uvx\"\n[servers.b]\ncommand = \"uvx\"\n[servers.a.docker]\nimage = \"x\"\n",
            // Windows line ends.
            "name = \"p\"\r\n[servers.a]\r\ncommand = \"uvx\"\r\n",
        ] {
            let loaded = load(text);
            let mut updates = BTreeMap::new();
            let mut spec = loaded.servers["a"].clone();
            spec.args = vec!["changed".into()];
            updates.insert("a".to_string(), spec);
            assert!(
                splice_servers(text, &loaded.servers, &updates)
                    .unwrap()
                    .is_none(),
                "{text:?}"
            );
            // The same text, a CRLF profile's line endings given back.
            assert_eq!(
                profile_text(path, text, &loaded, &updates).unwrap(),
                with_line_endings_of(
                    text,
                    full_profile_text(path, text, &loaded, &updates).unwrap()
                )
            );
        }
    }

    /// A splice that would define anything but its own servers, or say
    /// something else, is not taken as proven.
    #[test]
    fn the_splice_check_refuses_what_it_cannot_prove() {
        let text = "name = \"p\"\n[servers.a]\ncommand = \"uvx\"\n[servers.b]\ncommand = \"npx\"\n";
        let loaded = load(text);
        let mut spec = loaded.servers["a"].clone();
        spec.args = vec!["x".into()];
        let updates = BTreeMap::from([("a".to_string(), spec)]);
        let good = splice_servers(text, &loaded.servers, &updates)
            .unwrap()
            .unwrap();
        assert!(spliced_as_intended(&good, &loaded, &updates));
        let piece = good.pieces[0].0.clone();
        for bad in [
            "[servers.a]\ncommand = \"uvx\"\nargs = [\"y\"]\n",
            "[servers.a]\ncommand = \"uvx\"\nargs = [\"x\"]\n[servers.c]\ncommand = \"uvx\"\n",
            "[servers.a]\ncommand = \"uvx\"\nargs = [\"x\"]\n[other]\n",
            "x = 1\n[servers.a]\ncommand = \"uvx\"\nargs = [\"x\"]\n",
            "[servers.a]\ncommand = \"uvx\"\nargs = [\"x\"]\ndescription = \"\"\"\n",
            "[servers.a]\ncommand = \"uvx\"\nargs = [\"x\"]",
        ] {
            let mut spliced = Spliced {
                text: format!(
                    "{}{bad}{}",
                    &good.text[..piece.start],
                    &good.text[piece.end..]
                ),
                pieces: good.pieces.clone(),
            };
            spliced.pieces[0].0 = piece.start..piece.start + bad.len();
            assert!(!spliced_as_intended(&spliced, &loaded, &updates), "{bad:?}");
        }
    }

    /// Rendering only the updated servers gives what rendering the whole new
    /// profile gives; a server with literal secrets is rendered with all.
    #[test]
    fn rendering_the_updated_servers_gives_the_whole_render() {
        let catalog = Catalog::load(None).unwrap();
        let path = Path::new("p.toml");
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let summary = |r: &Rendered| {
            (
                serde_json::to_string(&r.document).unwrap(),
                serde_json::to_string(&r.servers).unwrap(),
                r.base.to_value(),
                r.secrets.clone(),
                r.warnings.clone(),
            )
        };
        let mut partial = 0;
        for round in 0..30 {
            let mut text = profile(&mut rng, 30 + round);
            // Literal secrets on some servers: those are rendered with all.
            text.push_str("[servers.secretive]\ncommand = \"uvx\"\nargs = [\"x\"]\nenv = { API_KEY = \"sk-literal\" }\n");
            let loaded = load_profile_text(path, text.clone()).unwrap();
            let before =
                crate::compose::render(&loaded, &catalog, RenderOptions::default()).unwrap();
            let names: Vec<&String> = loaded.profile.servers.keys().collect();
            let mut updates = BTreeMap::new();
            for _ in 0..1 + rng.below(3) {
                let name = names[rng.below(names.len())];
                let new = edited(&mut rng, &loaded.profile.servers[name]);
                if crate::profile::check_server(name, &new).is_ok() {
                    updates.insert(name.clone(), new);
                }
            }
            if rng.below(3) == 0 {
                let new = ServerSpec {
                    command: Some("npx".into()),
                    args: vec!["-y".into(), "@acme/new".into()],
                    ..Default::default()
                };
                updates.insert(format!("n{round}"), new);
            }
            let new_text = profile_text(path, &text, &loaded.profile, &updates).unwrap();
            let whole = crate::compose::render(
                &load_profile_text(path, new_text.clone()).unwrap(),
                &catalog,
                RenderOptions::default(),
            )
            .unwrap();
            let mut alone = before.clone();
            let rendered_alone = rerender(&mut alone, &updates, &catalog);
            assert_eq!(
                rendered_alone,
                !updates.contains_key("secretive"),
                "round {round}"
            );
            if rendered_alone {
                partial += 1;
                assert!(summary(&alone) == summary(&whole), "round {round}");
            } else {
                assert!(
                    summary(&alone) == summary(&before),
                    "round {round}: left as it was"
                );
            }
            let updated = render_updated(path, &new_text, before, &updates, &catalog).unwrap();
            assert!(summary(&updated) == summary(&whole), "round {round}");
        }
        assert!(partial > 20, "{partial}");
    }
}
