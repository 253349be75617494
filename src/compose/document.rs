//! Assembles the compose document for a whole profile (SPEC §4): one service per
//! enabled, containerizable server, sorted by name, plus the networks and
//! volumes they use, and a report of what became of every server.
use std::collections::BTreeSet;

use serde::Serialize;
use serde_yaml_ng::{Mapping, Value};

use crate::catalog::{Catalog, Outcome, detect};
use crate::error::{Error, Result};
use crate::profile::LoadedProfile;
use crate::source::Segment;

use super::base::{BASE_KEY, BaseEntry, SyncBase};
use super::secrets::{SecretRegistry, SecretVar};
use super::service::{MCP_NETWORK, ServiceInput, build_service};
use super::yaml::to_yaml;

/// Switches that change how a profile renders.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// A server that cannot be containerized is an error, not a report line.
    pub strict: bool,
}

/// What became of one server.
#[derive(Debug, Clone, Serialize)]
pub struct ServerReport {
    pub name: String,
    pub status: ServerStatus,
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub reason: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The four fates of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerStatus {
    Service,
    Remote,
    Disabled,
    NotContainerizable,
}

/// A rendered compose file and everything the caller must act on.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The compose document (`yaml()` writes it as text).
    pub document: Value,
    /// The sync base the document carries.
    pub base: SyncBase,
    /// Literal secrets to write to `.env`, sorted by variable name.
    pub secrets: Vec<SecretVar>,
    pub servers: Vec<ServerReport>,
    pub warnings: Vec<String>,
    /// The `-f FILE` the header's sync command needs, when the file is not
    /// the profile's own compose file (`generate -o ./docker-compose.yml`).
    pub compose_arg: Option<String>,
}

/// Renders `loaded` with `catalog`.
pub fn render(
    loaded: &LoadedProfile,
    catalog: &Catalog,
    options: RenderOptions,
) -> Result<Rendered> {
    let profile = &loaded.profile;
    let mut services = Mapping::new();
    let mut secrets = SecretRegistry::default();
    let mut reports = Vec::with_capacity(profile.servers.len());
    let mut warnings = Vec::new();
    let mut named_volumes = BTreeSet::new();
    let mut uses_network = false;
    let mut base = SyncBase {
        profile: profile.name.clone(),
        entries: Default::default(),
    };

    for (name, server) in &profile.servers {
        let report = |status, reason: String| ServerReport {
            name: name.clone(),
            status,
            rule: None,
            template: None,
            image: None,
            reason,
            notes: Vec::new(),
        };
        match detect(name, server, catalog) {
            Outcome::Remote => {
                let url = server.url.clone().unwrap_or_default();
                reports.push(report(
                    ServerStatus::Remote,
                    format!("remote server at {url}: nothing to run"),
                ));
            }
            Outcome::Disabled => {
                reports.push(report(ServerStatus::Disabled, "enabled = false".into()))
            }
            Outcome::NotContainerizable { reason, arg_index } => {
                if options.strict {
                    let mut path = Segment::path(["servers", name.as_str(), "args"]);
                    match arg_index {
                        Some(index) => path.push(Segment::Index(index)),
                        None => path = Segment::path(["servers", name.as_str(), "command"]),
                    }
                    return Err(Error::invalid(format!(
                        "server `{name}` cannot be containerized: {reason}"
                    ))
                    .at(loaded.source.locate_value_nearest(&path))
                    .hint("fix the server or drop --strict to generate the others"));
                }
                warnings.push(format!("server `{name}` skipped: {reason}"));
                reports.push(report(ServerStatus::NotContainerizable, reason));
            }
            Outcome::Service(detection) => {
                let input = ServiceInput {
                    profile: &profile.name,
                    name,
                    server,
                    detection: &detection,
                };
                let built = build_service(&input, &mut secrets).map_err(|err| {
                    Error::invalid(err.message)
                        .at(loaded.source.locate_value_nearest(&err.path))
                        .hint(err.hint)
                })?;
                if let Some(key) = super::yaml::overlong_key(&built.value) {
                    return Err(Error::invalid(format!(
                        "server `{name}`: the key `{key}` is too long for a compose file (YAML keys stop at 1024 bytes)"
                    ))
                    .at(loaded.source.locate_nearest(&Segment::path(["servers", name.as_str()])))
                    .hint("shorten the key (a label or environment name) to under 1000 bytes"));
                }
                uses_network |= built.uses_network;
                if let Value::Mapping(service) = &built.value {
                    base.entries
                        .insert(name.clone(), base_entry(&built.profile_hash, service));
                }
                named_volumes.extend(built.named_volumes);
                warnings.extend(built.warnings);
                services.insert(name.clone().into(), built.value);
                reports.push(ServerReport {
                    name: name.clone(),
                    status: ServerStatus::Service,
                    rule: Some(detection.rule.as_str().to_string()),
                    template: detection.template.map(|t| t.name.clone()),
                    image: Some(detection.image.clone()),
                    reason: detection.reason.clone(),
                    notes: detection.notes.clone(),
                });
            }
        }
    }

    let secrets = secrets.into_vars();
    // Reasons and notes quote the user's arguments (a script, a URL): they are
    // printed, so each server's literals are masked in them.
    for report in &mut reports {
        let prefix = format!("servers.{}.", report.name);
        let own: Vec<&str> = secrets
            .iter()
            .filter(|s| s.origin.starts_with(&prefix))
            .map(|s| s.value.as_str())
            .collect();
        report.reason = super::secrets::mask(&report.reason, &own);
        report.notes = report
            .notes
            .iter()
            .map(|note| super::secrets::mask(note, &own))
            .collect();
    }
    // Warnings name their server but not always where: every literal counts.
    let all: Vec<&str> = secrets.iter().map(|s| s.value.as_str()).collect();
    let warnings: Vec<String> = warnings
        .iter()
        .map(|w| super::secrets::mask(w, &all))
        .collect();

    let mut document = Mapping::new();
    document.insert("name".into(), loaded.project().into());
    document.insert("services".into(), Value::Mapping(services));
    if uses_network {
        let mut network = Mapping::new();
        network.insert("driver".into(), "bridge".into());
        if let Some(subnet) = &profile.docker.subnet {
            let mut pool = Mapping::new();
            pool.insert("subnet".into(), subnet.clone().into());
            let mut ipam = Mapping::new();
            ipam.insert("config".into(), Value::Sequence(vec![Value::Mapping(pool)]));
            network.insert("ipam".into(), Value::Mapping(ipam));
        }
        let mut networks = Mapping::new();
        networks.insert(MCP_NETWORK.into(), Value::Mapping(network));
        document.insert("networks".into(), Value::Mapping(networks));
    }
    if !named_volumes.is_empty() {
        let volumes: Mapping = named_volumes
            .into_iter()
            .map(|name| (Value::from(name), Value::Mapping(Mapping::new())))
            .collect();
        document.insert("volumes".into(), Value::Mapping(volumes));
    }
    document.insert(BASE_KEY.into(), base.to_value());
    let document = Value::Mapping(document);
    Ok(Rendered {
        document,
        base,
        secrets,
        servers: reports,
        warnings,
        compose_arg: None,
    })
}

impl Rendered {
    /// The compose file's text: a header comment and the document.
    pub fn yaml(&self) -> String {
        format!(
            "{}{}",
            header(&self.base.profile, self.compose_arg.as_deref()),
            to_yaml(&self.document)
        )
    }

    /// The compose file's text, proven by parsing it back: every writer of a
    /// whole new compose file (generate `-o`, the first sync) uses this.
    pub fn verified_yaml(&self) -> Result<String> {
        let text = self.yaml();
        let reparsed: Value = serde_yaml_ng::from_str(&text).map_err(|err| {
            Error::runtime(format!("the generated compose file does not parse ({err})"))
                .hint("this is a bug in mcpm; please report it with the profile")
        })?;
        if reparsed != self.document {
            return Err(Error::runtime(
                "the generated compose file does not read back as generated",
            )
            .hint("this is a bug in mcpm; please report it with the profile"));
        }
        Ok(text)
    }

    /// Warnings for literal secrets moved to `.env`, one per variable in `names`.
    pub fn secret_notices<'a>(&'a self, names: &'a [String]) -> impl Iterator<Item = String> + 'a {
        self.secrets
            .iter()
            .filter(move |s| names.contains(&s.name))
            .map(|secret| {
                format!(
                    "literal secret at {} is written as ${{{}}} and kept in .env",
                    secret.origin, secret.name
                )
            })
    }
}

/// Renders one server on its own, as sync does for candidate profile entries:
/// its service, or `None` when it runs no container (remote, disabled, or not
/// containerizable). Literal secrets are registered in `secrets`.
pub fn render_server(
    profile: &str,
    name: &str,
    server: &crate::profile::ServerSpec,
    catalog: &Catalog,
    secrets: &mut SecretRegistry,
) -> std::result::Result<Option<Mapping>, String> {
    match detect(name, server, catalog) {
        Outcome::Service(detection) => {
            let input = ServiceInput {
                profile,
                name,
                server,
                detection: &detection,
            };
            match build_service(&input, secrets) {
                Ok(built) => Ok(built.value.as_mapping().cloned()),
                Err(err) => Err(err.message),
            }
        }
        _ => Ok(None),
    }
}

/// The base recorded for a service as written: in sync by construction.
/// `profile_hash` is the one the renderer stamped (`BuiltService`), over the
/// profile entry with its literal secrets redacted.
pub fn base_entry(profile_hash: &str, service: &Mapping) -> BaseEntry {
    BaseEntry::new(
        profile_hash,
        &crate::hash::service_hash(service),
        crate::hash::field_hashes(service),
    )
}

/// The comment at the top of a generated file. Its sync command must reach
/// this very file: `-f FILE` when it is not the profile's default.
fn header(profile: &str, compose_arg: Option<&str>) -> String {
    let file = compose_arg
        .map(|file| format!(" -f {}", shell_words::quote(file)))
        .unwrap_or_default();
    format!(
        "# Generated by mcpm from profile `{profile}`.\n# Edit the profile or this file, then run `mcpm docker sync {profile}{file}` to bring both in step.\n"
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::profile::load_profile_text;

    /// Every odd string, as an env value, an argument, a label key and a
    /// label value of a real server, renders to a file that reads back as the
    /// document (or, for keys YAML cannot hold, to a clear error).
    #[test]
    fn odd_strings_in_a_profile_render_to_yaml_that_reads_back() {
        let catalog = Catalog::load(None).unwrap();
        // A TOML basic string with every non-ASCII or control character escaped.
        let quote = |s: &str| {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' | '\\' => {
                        out.push('\\');
                        out.push(c);
                    }
                    ' '..='~' => out.push(c),
                    c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04X}", c as u32)),
                    c => out.push_str(&format!("\\U{:08X}", c as u32)),
                }
            }
            out.push('"');
            out
        };
        for odd in crate::compose::yaml::tests::odd_strings() {
            let text = format!(
                "name = \"p\"\n[servers.fetch]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\", {q}]\nenv = {{ MODE = {q} }}\n[servers.fetch.docker]\nlabels = {{ {q} = {q}, plain = {q} }}\n",
                q = quote(&odd)
            );
            let loaded = load_profile_text(Path::new("p.toml"), text)
                .unwrap_or_else(|err| panic!("{odd:?}: {}", err.message));
            match render(&loaded, &catalog, RenderOptions::default()) {
                Ok(rendered) => {
                    let yaml = rendered
                        .verified_yaml()
                        .unwrap_or_else(|err| panic!("{odd:?}: {}", err.message));
                    let service = &rendered.document["services"]["fetch"];
                    assert_eq!(service["labels"]["plain"], Value::from(odd.as_str()));
                    assert!(!yaml.contains('\u{85}') && !yaml.contains('\u{2028}'));
                }
                Err(err) => {
                    assert!(err.message.contains("too long"), "{odd:?}: {}", err.message);
                    assert!(super::super::yaml::string(&odd).len() > 1000);
                }
            }
        }
    }
}
