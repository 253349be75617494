//! `--fix`: the findings' edits applied to the profile's text as one
//! lossless edit (through [`ProfileEdit`], so comments and every other
//! server keep their bytes).
use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::profile::edit::ProfileEdit;
use crate::profile::{EnvValue, Profile, ServerSpec};

use super::{Edit, Finding};

/// The profile text with every fixable finding's edits applied, and the
/// findings that changed it; `None` when nothing changes (edits whose
/// value is no longer what they expect are left for the next run).
pub fn apply(
    path: &Path,
    text: &str,
    profile: &Profile,
    findings: &[Finding],
) -> Result<Option<(String, Vec<Finding>)>> {
    let mut servers: BTreeMap<&str, (ServerSpec, Vec<&Finding>)> = BTreeMap::new();
    for finding in findings.iter().filter(|f| f.fixable()) {
        let Some(old) = profile.servers.get(&finding.server) else {
            continue;
        };
        let (spec, applied) = servers
            .entry(finding.server.as_str())
            .or_insert_with(|| (old.clone(), Vec::new()));
        let mut changed = false;
        for edit in &finding.edits {
            changed |= apply_edit(spec, edit);
        }
        if changed {
            applied.push(finding);
        }
    }
    servers.retain(|_, (_, applied)| !applied.is_empty());
    if servers.is_empty() {
        return Ok(None);
    }
    let mut document = ProfileEdit::parse(text).map_err(|err| {
        Error::invalid(format!("{} cannot be edited: {err}", path.display()))
            .hint("nothing was written; fix the profile's syntax first")
    })?;
    let mut fixed = Vec::new();
    for (name, (spec, applied)) in &servers {
        document
            .set_server(name, profile.servers.get(*name), spec)
            .map_err(|err| {
                Error::invalid(format!(
                    "cannot fix server `{name}` in {}: {err}",
                    path.display()
                ))
                .hint("nothing was written")
            })?;
        fixed.extend(applied.iter().map(|f| (*f).clone()));
    }
    let new = document.text();
    Ok((new != text).then_some((new, fixed)))
}

/// Applies one edit to a server; whether it changed anything.
fn apply_edit(spec: &mut ServerSpec, edit: &Edit) -> bool {
    match edit {
        Edit::Env { key, old, new } => match spec.env.get_mut(key) {
            Some(value) if value.to_text() == *old && old != new => {
                *value = EnvValue::Text(new.clone());
                true
            }
            _ => false,
        },
        Edit::Arg { index, old, new } => match spec.args.get_mut(*index) {
            Some(arg) if arg == old && old != new => {
                *arg = new.clone();
                true
            }
            _ => false,
        },
        Edit::Volume(volume) => {
            if spec.volumes.contains(volume) {
                return false;
            }
            spec.volumes.push(volume.clone());
            true
        }
        Edit::DockerList { key, base, add } => {
            let docker = spec.docker.get_or_insert_with(toml::Table::new);
            let mut list: Vec<String> = match docker.get(key.as_str()) {
                Some(toml::Value::Array(items)) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                // A table's value replaces what mcpm generates: it starts
                // from what the service has now.
                _ => base.clone(),
            };
            let before = docker.get(key.as_str()).cloned();
            for entry in add {
                if !list.contains(entry) {
                    list.push(entry.clone());
                }
            }
            let value = toml::Value::Array(list.into_iter().map(toml::Value::String).collect());
            if before.as_ref() == Some(&value) {
                return false;
            }
            docker.insert(key.clone(), value);
            true
        }
        Edit::Network(choice) => {
            if spec.network == Some(*choice) {
                return false;
            }
            spec.network = Some(*choice);
            true
        }
        Edit::DockerImage { old, new } => {
            // Compared as TOML values: a non-string `image` someone wrote is
            // never what a pin expects, so it is left alone.
            let current = spec.docker.as_ref().and_then(|d| d.get("image")).cloned();
            if current != old.clone().map(toml::Value::String) || old.as_ref() == Some(new) {
                return false;
            }
            spec.docker
                .get_or_insert_with(toml::Table::new)
                .insert("image".into(), toml::Value::String(new.clone()));
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::{Check, Place, Severity};
    use crate::profile::NetworkChoice;

    fn finding(server: &str, edits: Vec<Edit>) -> Finding {
        Finding {
            check: Check::Localhost,
            severity: Severity::Error,
            server: server.into(),
            value: String::new(),
            place: Place::Profile(Vec::new()),
            message: String::new(),
            fix: String::new(),
            edits,
        }
    }

    const TEXT: &str = "# my profile\nname = \"p\"\n\n[servers.db]  # the database tool\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-postgres\", \"postgresql://localhost:5432/app\"] # url\n\n[servers.memory]\ncommand = \"npx\"\nenv = { MEMORY_FILE_PATH = \"/home/dev/.mcp/memory.json\" }\n";

    #[test]
    fn edits_keep_comments_and_apply_once() {
        let path = Path::new("p.toml");
        let loaded = crate::profile::load_profile_text(path, TEXT.into()).unwrap();
        let findings = vec![
            finding(
                "db",
                vec![
                    Edit::Arg {
                        index: 2,
                        old: "postgresql://localhost:5432/app".into(),
                        new: "postgresql://host.docker.internal:5432/app".into(),
                    },
                    Edit::DockerList {
                        key: "extra_hosts".into(),
                        base: vec![],
                        add: vec!["host.docker.internal:host-gateway".into()],
                    },
                ],
            ),
            finding(
                "memory",
                vec![
                    Edit::Volume("memory-data:/home/dev/.mcp".into()),
                    Edit::Network(NetworkChoice::Bridge),
                ],
            ),
        ];
        let (text, fixed) = apply(path, TEXT, &loaded.profile, &findings)
            .unwrap()
            .unwrap();
        assert_eq!(fixed.len(), 2);
        for kept in ["# my profile", "# the database tool", "# url"] {
            assert!(text.contains(kept), "{kept} in:\n{text}");
        }
        let again = crate::profile::load_profile_text(path, text.clone()).unwrap();
        let db = &again.profile.servers["db"];
        assert_eq!(db.args[2], "postgresql://host.docker.internal:5432/app");
        assert_eq!(
            db.docker.as_ref().unwrap()["extra_hosts"],
            toml::Value::Array(vec!["host.docker.internal:host-gateway".into()])
        );
        assert_eq!(
            again.profile.servers["memory"].volumes,
            ["memory-data:/home/dev/.mcp"]
        );
        // The same findings against the fixed text change nothing.
        assert!(
            apply(path, &text, &again.profile, &findings)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_stale_edit_is_skipped() {
        let path = Path::new("p.toml");
        let loaded = crate::profile::load_profile_text(path, TEXT.into()).unwrap();
        let stale = finding(
            "db",
            vec![Edit::Arg {
                index: 2,
                old: "something else".into(),
                new: "x".into(),
            }],
        );
        assert!(
            apply(path, TEXT, &loaded.profile, &[stale])
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_pin_writes_the_docker_image_once_and_keeps_comments() {
        let path = Path::new("p.toml");
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let text = "# pins\nname = \"p\"\n\n[servers.own]  # own image\ncommand = \"sleep\"\n[servers.own.docker]\nimage = \"r/own:v1\" # moving\nread_only = false\n\n[servers.db]\ncommand = \"npx\"\nargs = [\"-y\", \"x\"] # keep\n";
        let loaded = crate::profile::load_profile_text(path, text.into()).unwrap();
        let findings = vec![
            finding(
                "own",
                vec![Edit::DockerImage {
                    old: Some("r/own:v1".into()),
                    new: format!("r/own:v1@{digest}"),
                }],
            ),
            finding(
                "db",
                vec![Edit::DockerImage {
                    old: None,
                    new: format!("mcp/db@{digest}"),
                }],
            ),
        ];
        let (new, fixed) = apply(path, text, &loaded.profile, &findings)
            .unwrap()
            .unwrap();
        assert_eq!(fixed.len(), 2);
        for kept in [
            "# pins",
            "# own image",
            "# moving",
            "# keep",
            "read_only = false",
        ] {
            assert!(new.contains(kept), "{kept} in:\n{new}");
        }
        let again = crate::profile::load_profile_text(path, new.clone()).unwrap();
        let docker = |name: &str| again.profile.servers[name].docker.clone().unwrap();
        assert_eq!(
            docker("own")["image"].as_str(),
            Some(format!("r/own:v1@{digest}").as_str())
        );
        assert_eq!(docker("own")["read_only"].as_bool(), Some(false));
        assert_eq!(
            docker("db")["image"].as_str(),
            Some(format!("mcp/db@{digest}").as_str())
        );
        // A second run changes nothing: the images are no longer the old ones.
        assert!(
            apply(path, &new, &again.profile, &findings)
                .unwrap()
                .is_none()
        );
        // An image changed by hand since the digest was resolved is left alone.
        let edited = text.replace("r/own:v1\"", "r/own:v2\"");
        let loaded = crate::profile::load_profile_text(path, edited.clone()).unwrap();
        let (new, fixed) = apply(path, &edited, &loaded.profile, &findings)
            .unwrap()
            .unwrap();
        assert_eq!(fixed.len(), 1);
        assert!(new.contains("image = \"r/own:v2\""), "{new}");
    }
}
