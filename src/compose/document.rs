//! Assembles the compose document for a whole profile (SPEC §4): one service per
//! enabled, containerizable server, sorted by name, plus the networks and
//! volumes they use, and a report of what became of every server.
use std::collections::{BTreeMap, BTreeSet};

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
    /// How the header's sync command names the profile, when its name
    /// alone would not find it (a profile outside `<config dir>/profiles/`).
    pub profile_arg: Option<String>,
    /// What each server added besides its service, kept so [`rerender`] can
    /// put the document together again after rendering only some servers.
    parts: BTreeMap<String, Part>,
    /// The document's settings beyond its servers.
    project: String,
    subnet: Option<String>,
}

/// One server's contribution to the document besides its service and report.
#[derive(Debug, Clone, Default, PartialEq)]
struct Part {
    named_volumes: BTreeSet<String>,
    uses_network: bool,
    /// As built, unmasked: masked with every literal secret when assembled.
    warnings: Vec<String>,
    /// Whether rendering asked the registry for a literal secret's name. Names
    /// depend on every server rendered before, so such a server is never
    /// rendered alone.
    secrets: bool,
}

/// One server rendered: its report, its service (with its base entry) when it
/// runs one, and its part.
struct One {
    report: ServerReport,
    service: Option<(Value, BaseEntry)>,
    part: Part,
}

/// Why one server could not be rendered; `render` locates it in the profile.
enum Refusal {
    NotContainerizable {
        reason: String,
        arg_index: Option<usize>,
    },
    Build(super::service::BuildError),
    OverlongKey(String),
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
    let mut parts = BTreeMap::new();
    let mut base = SyncBase {
        profile: profile.name.clone(),
        entries: Default::default(),
    };

    for (name, server) in &profile.servers {
        let one = match render_one(&profile.name, name, server, catalog, options, &mut secrets) {
            Ok(one) => one,
            Err(refusal) => return Err(located(loaded, name, refusal)),
        };
        if let Some((service, entry)) = one.service {
            base.entries.insert(name.clone(), entry);
            services.insert(name.clone().into(), service);
        }
        reports.push(one.report);
        parts.insert(name.clone(), one.part);
    }

    let secrets = secrets.into_vars();
    // Reasons and notes quote the user's arguments (a script, a URL): they are
    // printed, so each server's literals are masked in them.
    for report in &mut reports {
        mask_report(report, &secrets);
    }
    let mut rendered = Rendered {
        document: Value::Null,
        base,
        secrets,
        servers: reports,
        warnings: Vec::new(),
        compose_arg: None,
        profile_arg: None,
        parts,
        project: loaded.project(),
        subnet: profile.docker.subnet.clone(),
    };
    rendered.assemble(services);
    Ok(rendered)
}

/// Renders `rendered` again after the servers in `changed` became what it
/// maps them to, rendering only those: the result is what [`render`] gives
/// for the whole new profile. Returns false, leaving `rendered` as it was,
/// where that cannot be promised without rendering everything (a changed
/// server with literal secrets, whose `.env` names depend on the others, or
/// one that does not render, whose error needs the profile's text).
pub fn rerender(
    rendered: &mut Rendered,
    changed: &BTreeMap<String, crate::profile::ServerSpec>,
    catalog: &Catalog,
) -> bool {
    let profile = rendered.base.profile.clone();
    let mut fresh = Vec::with_capacity(changed.len());
    for (name, server) in changed {
        let mut scratch = SecretRegistry::default();
        let Ok(one) = render_one(
            &profile,
            name,
            server,
            catalog,
            RenderOptions::default(),
            &mut scratch,
        ) else {
            return false;
        };
        if one.part.secrets || rendered.parts.get(name).is_some_and(|p| p.secrets) {
            return false;
        }
        fresh.push((name, one));
    }
    let Value::Mapping(mut document) = std::mem::take(&mut rendered.document) else {
        return false;
    };
    let mut services = match document.remove("services") {
        Some(Value::Mapping(services)) => services,
        _ => Mapping::new(),
    };
    let mut added = false;
    for (name, mut one) in fresh {
        mask_report(&mut one.report, &rendered.secrets);
        match rendered
            .servers
            .binary_search_by(|r| r.name.as_str().cmp(name))
        {
            Ok(at) => rendered.servers[at] = one.report,
            Err(at) => rendered.servers.insert(at, one.report),
        }
        rendered.parts.insert(name.clone(), one.part);
        match one.service {
            Some((service, entry)) => {
                rendered.base.entries.insert(name.clone(), entry);
                match services.get_mut(name.as_str()) {
                    Some(slot) => *slot = service,
                    None => {
                        services.insert(name.clone().into(), service);
                        added = true;
                    }
                }
            }
            None => {
                rendered.base.entries.remove(name);
                services.shift_remove(name.as_str());
            }
        }
    }
    if added {
        // Services are sorted by name, as `render` adds them.
        let mut entries: Vec<(Value, Value)> = services.into_iter().collect();
        entries.sort_by(|(a, _), (b, _)| a.as_str().cmp(&b.as_str()));
        services = entries.into_iter().collect();
    }
    rendered.assemble(services);
    true
}

/// Renders one server into its service, report and part.
fn render_one(
    profile: &str,
    name: &str,
    server: &crate::profile::ServerSpec,
    catalog: &Catalog,
    options: RenderOptions,
    secrets: &mut SecretRegistry,
) -> std::result::Result<One, Refusal> {
    let report = |status, reason: String| ServerReport {
        name: name.to_string(),
        status,
        rule: None,
        template: None,
        image: None,
        reason,
        notes: Vec::new(),
    };
    let mut part = Part::default();
    let (report, service) = match detect(name, server, catalog) {
        Outcome::Remote => {
            let url = server.url.clone().unwrap_or_default();
            let reason = format!("remote server at {url}: nothing to run");
            (report(ServerStatus::Remote, reason), None)
        }
        Outcome::Disabled => (
            report(ServerStatus::Disabled, "enabled = false".into()),
            None,
        ),
        Outcome::NotContainerizable { reason, arg_index } => {
            if options.strict {
                return Err(Refusal::NotContainerizable { reason, arg_index });
            }
            part.warnings
                .push(format!("server `{name}` skipped: {reason}"));
            (report(ServerStatus::NotContainerizable, reason), None)
        }
        Outcome::Service(detection) => {
            let input = ServiceInput {
                profile,
                name,
                server,
                detection: &detection,
            };
            let before = secrets.registrations();
            let built = build_service(&input, secrets).map_err(Refusal::Build)?;
            part.secrets = secrets.registrations() != before;
            if let Some(key) = super::yaml::overlong_key(&built.value) {
                return Err(Refusal::OverlongKey(key));
            }
            part.uses_network = built.uses_network;
            part.named_volumes = built.named_volumes;
            part.warnings = built.warnings;
            let entry = match &built.value {
                Value::Mapping(service) => Some(base_entry(&built.profile_hash, service)),
                _ => None,
            };
            let report = ServerReport {
                name: name.to_string(),
                status: ServerStatus::Service,
                rule: Some(detection.rule.as_str().to_string()),
                template: detection.template.map(|t| t.name.clone()),
                image: Some(detection.image.clone()),
                reason: detection.reason.clone(),
                notes: detection.notes.clone(),
            };
            (report, entry.map(|entry| (built.value, entry)))
        }
    };
    Ok(One {
        report,
        service,
        part,
    })
}

/// The located error for a server `render` could not render.
fn located(loaded: &LoadedProfile, name: &str, refusal: Refusal) -> Error {
    match refusal {
        Refusal::NotContainerizable { reason, arg_index } => {
            let mut path = Segment::path(["servers", name, "args"]);
            match arg_index {
                Some(index) => path.push(Segment::Index(index)),
                None => path = Segment::path(["servers", name, "command"]),
            }
            Error::invalid(format!("server `{name}` cannot be containerized: {reason}"))
                .at(loaded.source.locate_value_nearest(&path))
                .hint("fix the server or drop --strict to generate the others")
        }
        Refusal::Build(err) => Error::invalid(err.message)
            .at(loaded.source.locate_value_nearest(&err.path))
            .hint(err.hint),
        Refusal::OverlongKey(key) => Error::invalid(format!(
            "server `{name}`: the key `{key}` is too long for a compose file (YAML keys stop at 1024 bytes)"
        ))
        .at(loaded.source.locate_nearest(&Segment::path(["servers", name])))
        .hint("shorten the key (a label or environment name) to under 1000 bytes"),
    }
}

/// Masks a server's own literal secrets in its report's reason and notes.
fn mask_report(report: &mut ServerReport, secrets: &[SecretVar]) {
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

impl Rendered {
    /// Puts the document together from `services` and the parts, and the
    /// warnings from the parts. Warnings name their server but not always
    /// where: every literal counts.
    fn assemble(&mut self, services: Mapping) {
        let all: Vec<&str> = self.secrets.iter().map(|s| s.value.as_str()).collect();
        self.warnings = self
            .parts
            .values()
            .flat_map(|part| &part.warnings)
            .map(|w| super::secrets::mask(w, &all))
            .collect();
        let uses_network = self.parts.values().any(|part| part.uses_network);
        let named_volumes: BTreeSet<&String> = self
            .parts
            .values()
            .flat_map(|part| &part.named_volumes)
            .collect();
        let mut document = Mapping::new();
        document.insert("name".into(), self.project.clone().into());
        document.insert("services".into(), Value::Mapping(services));
        if uses_network {
            let mut network = Mapping::new();
            network.insert("driver".into(), "bridge".into());
            if let Some(subnet) = &self.subnet {
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
                .map(|name| (Value::from(name.as_str()), Value::Mapping(Mapping::new())))
                .collect();
            document.insert("volumes".into(), Value::Mapping(volumes));
        }
        document.insert(BASE_KEY.into(), self.base.to_value());
        self.document = Value::Mapping(document);
    }

    /// The compose file's text: a header comment and the document.
    pub fn yaml(&self) -> String {
        format!(
            "{}{}",
            header(
                &self.base.profile,
                self.profile_arg.as_deref(),
                self.compose_arg.as_deref()
            ),
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
/// this very profile and file: the profile's path when its name would not
/// find it, and `-f FILE` when the file is not the profile's default.
fn header(profile: &str, profile_arg: Option<&str>, compose_arg: Option<&str>) -> String {
    let which = profile_arg.map_or_else(|| profile.into(), shell_words::quote);
    let file = compose_arg
        .map(|file| format!(" -f {}", shell_words::quote(file)))
        .unwrap_or_default();
    format!(
        "# Generated by mcpm from profile `{profile}`.\n# Edit the profile or this file, then run `mcpm docker sync {which}{file}` to bring both in step.\n"
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
