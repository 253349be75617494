//! The checks themselves: each looks at one server's profile entry and the
//! service rendering made of it, and returns findings with their fixes.
use std::collections::BTreeSet;
use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

use crate::catalog::Template;
use crate::compose::ServerStatus;
use crate::compose::interpolation::variable_name_for;
use crate::compose::secrets::{is_secret_key, url_password};
use crate::profile::{NetworkChoice, ServerSpec};
use crate::source::Segment;

use super::scan::{self, Reference};
use super::{Check, Edit, Finding, Input, Neighbour, Place, Severity};

/// The name a container reaches its host by (with the `host-gateway` entry
/// on Linux engines ≥ 20.10; Docker Desktop has it built in).
pub const HOST_GATEWAY: &str = "host.docker.internal";
const HOST_GATEWAY_ENTRY: &str = "host.docker.internal:host-gateway";
const MCP_NETWORK: &str = crate::compose::service::MCP_NETWORK;

/// VS Code's variables with no value outside the editor: the importer
/// keeps them as `${NAME}` and says so; deploy would substitute nothing.
const EDITOR_VARIABLES: &[&str] = &[
    "workspaceFolder",
    "workspaceFolderBasename",
    "workspaceRoot",
    "cwd",
    "file",
    "fileDirname",
    "pathSeparator",
];

/// Runs every check on every server. Remote (`url`) and disabled servers
/// run no container, so nothing here applies to them.
pub fn check(input: &Input<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let services = input
        .rendered
        .document
        .get("services")
        .and_then(Value::as_mapping);
    // The profile's own services are neighbours too: one MCP server may
    // publish a port another points at.
    let mut neighbours: Vec<Neighbour> = input.neighbours.to_vec();
    neighbours.extend(super::neighbours(&input.rendered.document, &[]));
    for report in &input.rendered.servers {
        if report.status == ServerStatus::NotContainerizable {
            findings.push(skipped(report));
        }
        if report.status != ServerStatus::Service {
            continue;
        }
        let (Some(spec), Some(service)) = (
            input.loaded.profile.servers.get(&report.name),
            services
                .and_then(|s| s.get(report.name.as_str()))
                .and_then(Value::as_mapping),
        ) else {
            continue;
        };
        let server = Server {
            name: &report.name,
            spec,
            service,
            template: report
                .template
                .as_deref()
                .and_then(|t| input.catalog.by_name(t)),
        };
        let before = findings.len();
        localhost(&server, &neighbours, &mut findings);
        let reaches_out = findings.len() > before;
        host_paths(&server, input, &mut findings);
        variables(&server, input, &mut findings);
        network(&server, reaches_out, &mut findings);
        image(&server, &mut findings);
    }
    findings.extend(editor_inputs(input.loaded));
    super::sort(&mut findings);
    findings
}

/// A server rendering skipped: deploy will not run it at all.
fn skipped(report: &crate::compose::ServerReport) -> Finding {
    Finding {
        check: Check::NotContainerized,
        severity: Severity::Warning,
        server: report.name.clone(),
        value: String::new(),
        place: Place::Profile(Segment::path(["servers", report.name.as_str()])),
        message: format!("gets no service, so deploy will not run it: {}", report.reason),
        fix: "give it an image (`[servers.NAME.docker] image`), or disable it (`enabled = false`); `generate --strict` refuses it".replace("NAME", &report.name),
        edits: Vec::new(),
    }
}

/// One server as the checks see it.
struct Server<'a> {
    name: &'a str,
    spec: &'a ServerSpec,
    service: &'a Mapping,
    template: Option<&'a Template>,
}

impl Server<'_> {
    fn path(&self, keys: &[&str]) -> Vec<Segment> {
        let mut path = Segment::path(["servers", self.name]);
        path.extend(keys.iter().map(|k| Segment::Key(k.to_string())));
        path
    }

    fn arg_path(&self, index: usize) -> Vec<Segment> {
        let mut path = self.path(&["args"]);
        path.push(Segment::Index(index));
        path
    }

    /// The profile values a person wrote that reach the container: env
    /// values and arguments (not a `docker run` line's, whose own flags
    /// say what they mount).
    fn values(&self) -> Vec<(Target, String)> {
        let mut values: Vec<(Target, String)> = self
            .spec
            .env
            .iter()
            .map(|(key, value)| (Target::Env(key.clone()), value.to_text()))
            .collect();
        if !self.runs_docker() {
            values.extend(
                self.spec
                    .args
                    .iter()
                    .enumerate()
                    .map(|(index, arg)| (Target::Arg(index), arg.clone())),
            );
        }
        values
    }

    fn runs_docker(&self) -> bool {
        self.spec
            .command
            .as_deref()
            .is_some_and(|c| c == "docker" || c.ends_with("/docker"))
    }

    fn strings(&self, key: &str) -> Vec<String> {
        match self.service.get(key) {
            Some(Value::Sequence(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn network_none(&self) -> bool {
        self.service.get("network_mode").and_then(Value::as_str) == Some("none")
    }
}

/// Which profile value a finding is about.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    Env(String),
    Arg(usize),
}

impl Target {
    fn path(&self, server: &Server<'_>) -> Vec<Segment> {
        match self {
            Target::Env(key) => server.path(&["env", key]),
            Target::Arg(index) => server.arg_path(*index),
        }
    }

    fn edit(&self, old: &str, new: String) -> Edit {
        match self {
            Target::Env(key) => Edit::Env {
                key: key.clone(),
                old: old.to_string(),
                new,
            },
            Target::Arg(index) => Edit::Arg {
                index: *index,
                old: old.to_string(),
                new,
            },
        }
    }

    fn is_secret(&self) -> bool {
        matches!(self, Target::Env(key) if is_secret_key(key))
    }
}

/// A value as a finding may show it: a URL's password and a secret key's
/// value are masked.
fn shown(target: &Target, value: &str) -> String {
    if target.is_secret() && !value.starts_with('$') {
        return "***".into();
    }
    match url_password(value) {
        Some(range) => format!("{}***{}", &value[..range.start], &value[range.end..]),
        None => value.to_string(),
    }
}

/// `localhost`, `127.0.0.1`, `[::1]` (and `0.0.0.0` in a URL) name the
/// container itself: the host is `host.docker.internal`, a service in the
/// same compose file is its name.
fn localhost(server: &Server<'_>, neighbours: &[Neighbour], findings: &mut Vec<Finding>) {
    let mut wants_gateway = false;
    let mut networks: Vec<String> = Vec::new();
    let mut found: Vec<Finding> = Vec::new();
    for (target, value) in server.values() {
        let hits = scan::loopback_hosts(&value);
        if hits.is_empty() {
            continue;
        }
        let mut unreachable: Option<&str> = None;
        let mut names: Vec<String> = Vec::new();
        let new = scan::replace_hosts(&value, &hits, |hit| {
            let neighbour = hit.port.and_then(|port| {
                neighbours
                    .iter()
                    .find(|n| n.name != server.name && n.ports.contains(&port))
            });
            let name = match neighbour {
                Some(n) if n.networks.is_some() => {
                    let theirs = n.networks.clone().unwrap_or_default();
                    if !theirs.iter().any(|net| net == MCP_NETWORK)
                        && let Some(first) = theirs.first()
                        && !networks.contains(first)
                    {
                        networks.push(first.clone());
                    }
                    n.name.clone()
                }
                Some(n) => {
                    unreachable.get_or_insert(n.name.as_str());
                    HOST_GATEWAY.to_string()
                }
                None => HOST_GATEWAY.to_string(),
            };
            if name == HOST_GATEWAY {
                wants_gateway = true;
            }
            if !names.contains(&name) {
                names.push(name.clone());
            }
            name
        });
        let host = &value[hits[0].range.clone()];
        let mut fix = format!(
            "write {} instead of `{host}`",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(" / ")
        );
        if names.iter().any(|n| n == HOST_GATEWAY) {
            fix.push_str(&format!(
                " and give the service `extra_hosts = [\"{HOST_GATEWAY_ENTRY}\"]` in `[servers.{}.docker]` (Linux engines >= 20.10; Docker Desktop has the name built in); the host's service must listen on an address containers reach, not only 127.0.0.1",
                server.name
            ));
        }
        if let Some(name) = unreachable {
            fix.push_str(&format!(
                "; service `{name}` uses `network_mode`, so no name reaches it"
            ));
        }
        found.push(Finding {
            check: Check::Localhost,
            severity: Severity::Error,
            server: server.name.to_string(),
            value: shown(&target, &value),
            place: Place::Profile(target.path(server)),
            message: format!(
                "`{host}` inside the container is the container itself, not your machine"
            ),
            fix,
            edits: vec![target.edit(&value, new)],
        });
    }
    if found.is_empty() {
        return;
    }
    // The service-wide edits ride on the first finding: `--fix` applies
    // every finding of a server together.
    let extra = &mut found[0].edits;
    if wants_gateway {
        let base = server.strings("extra_hosts");
        if !base.iter().any(|h| h == HOST_GATEWAY_ENTRY) {
            extra.push(Edit::DockerList {
                key: "extra_hosts".into(),
                base,
                add: vec![HOST_GATEWAY_ENTRY.into()],
            });
        }
    }
    if server.network_none() {
        extra.push(Edit::Network(NetworkChoice::Bridge));
    }
    if !networks.is_empty() {
        let mut base = server.strings("networks");
        if base.is_empty() {
            base.push(MCP_NETWORK.into());
        }
        extra.push(Edit::DockerList {
            key: "networks".into(),
            base,
            add: networks.clone(),
        });
        found[0].fix.push_str(&format!(
            "; the service also joins {} to reach it",
            networks.join(", ")
        ));
    }
    findings.extend(found);
}

/// Absolute host paths in values that no volume of the service brings in:
/// the server sees an empty place, and what it writes there is lost on the
/// next recreate.
fn host_paths(server: &Server<'_>, input: &Input<'_>, findings: &mut Vec<Finding>) {
    let mounts = Mounts::of(server.service);
    // Listing `volumes` turns off the catalog's automatic mounts of host
    // paths in the arguments, so a fix must not add one to such a server.
    let auto_mounts = server
        .template
        .is_some_and(|t| !t.mount_host_paths.is_empty())
        && server.spec.volumes.is_empty()
        && !mounts.binds.is_empty();
    let mut taken: BTreeSet<String> = mounts.named.clone();
    for (target, value) in server.values() {
        let Some((path, raw)) = resolved_path(&value, input.variable) else {
            continue;
        };
        if mounts.covers(&path) {
            continue;
        }
        let kind = (input.host)(Path::new(&path));
        let exists = kind.is_some();
        let dir = mount_dir(&path, &raw, kind);
        let (volume, what) = if (input.host)(Path::new(&dir.0)).is_some() {
            (
                format!("{}:{}", dir.1, dir.1),
                format!("bind-mount {} (it exists on this machine)", dir.1),
            )
        } else {
            let name = volume_name(server.name, &mut taken);
            (
                format!("{name}:{}", dir.1),
                format!(
                    "mount a named volume `{name}` at {} (nothing exists there on this machine, so it holds what the server writes and survives recreates)",
                    dir.1
                ),
            )
        };
        let edits = if auto_mounts {
            Vec::new()
        } else {
            vec![Edit::Volume(volume.clone())]
        };
        let mut fix = format!("{what}: add `\"{volume}\"` to `volumes`");
        if auto_mounts {
            fix.push_str(" and list the mounts mcpm makes for the other paths too (a server with `volumes` gets no automatic mounts)");
        }
        findings.push(Finding {
            check: Check::HostPath,
            severity: if exists {
                Severity::Error
            } else {
                Severity::Warning
            },
            server: server.name.to_string(),
            value: shown(&target, &value),
            place: Place::Profile(target.path(server)),
            message: format!(
                "{path} is a path on the host, and no volume of the service covers it{}",
                if exists {
                    ": the server will not see it"
                } else {
                    ": what the server writes there is lost when the container is recreated"
                }
            ),
            fix,
            edits,
        });
    }
}

/// The host path a value names, and the same path as the profile writes
/// it: `${VAR}/rest` counts when VAR holds an absolute path (compose
/// substitutes it before the container starts).
fn resolved_path(
    value: &str,
    variable: &dyn Fn(&str) -> Option<String>,
) -> Option<(String, String)> {
    if let Some(path) = scan::host_path(value) {
        return Some((path.to_string(), path.to_string()));
    }
    let rest = match value.split_once('=') {
        Some((flag, rest)) if flag.starts_with('-') => rest,
        _ => value,
    };
    let first = scan::references(rest).into_iter().next()?;
    if first.range.start != 0 || first.has_fallback() || !first.operator.is_empty() {
        return None;
    }
    let head = variable(&first.name)?;
    let tail = &rest[first.range.end..];
    let path = scan::host_path(&format!("{head}{tail}"))?.to_string();
    Some((path, rest.to_string()))
}

/// What to mount for `path` (as resolved, and as the profile writes it):
/// the directory itself, or a file's directory. `kind` is what the host
/// has there: `Some(true)` a directory, `Some(false)` a file.
fn mount_dir(path: &str, raw: &str, kind: Option<bool>) -> (String, String) {
    let exists = kind.is_some();
    let is_dir = kind == Some(true);
    let looks_like_file = Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains('.') && !n.starts_with('.'));
    if is_dir || (!exists && !looks_like_file) {
        return (path.to_string(), raw.trim_end_matches('/').to_string());
    }
    let parent = |p: &str| match p.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(at) => p[..at].to_string(),
    };
    (parent(path), parent(raw))
}

fn volume_name(server: &str, taken: &mut BTreeSet<String>) -> String {
    let mut name = format!("{server}-data");
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{server}-data-{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// What a service mounts: every target (volumes and tmpfs), the sources of
/// its bind mounts, and the named volumes it uses.
struct Mounts {
    targets: Vec<String>,
    binds: Vec<String>,
    named: BTreeSet<String>,
}

impl Mounts {
    fn of(service: &Mapping) -> Self {
        let mut mounts = Mounts {
            targets: Vec::new(),
            binds: Vec::new(),
            named: BTreeSet::new(),
        };
        for volume in service
            .get("volumes")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            match volume {
                Value::String(short) => {
                    let mut parts = short.splitn(3, ':');
                    let first = parts.next().unwrap_or_default();
                    match parts.next() {
                        Some(target) => {
                            mounts.targets.push(target.to_string());
                            match crate::compose::host::named_volume(short) {
                                Some(name) => {
                                    mounts.named.insert(name);
                                }
                                None => mounts.binds.push(first.to_string()),
                            }
                        }
                        // `/data`: an anonymous volume at that path.
                        None => mounts.targets.push(first.to_string()),
                    }
                }
                Value::Mapping(long) => {
                    if let Some(target) = long.get("target").and_then(Value::as_str) {
                        mounts.targets.push(target.to_string());
                    }
                    let source = long.get("source").and_then(Value::as_str);
                    match (long.get("type").and_then(Value::as_str), source) {
                        (Some("bind"), Some(source)) => mounts.binds.push(source.to_string()),
                        (Some("volume"), Some(source)) => {
                            mounts.named.insert(source.to_string());
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        for tmpfs in service
            .get("tmpfs")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            mounts
                .targets
                .push(tmpfs.split(':').next().unwrap_or_default().to_string());
        }
        mounts
    }

    /// Whether the container sees `path`: a mount's target holds it, or it
    /// was mounted by its own name and rewritten in the command.
    fn covers(&self, path: &str) -> bool {
        self.targets.iter().any(|t| scan::is_within(path, t))
            || self.binds.iter().any(|b| b == path)
    }
}

/// Every `${VAR}` the service reads without a value where deploy looks:
/// compose would substitute an empty string.
fn variables(server: &Server<'_>, input: &Input<'_>, findings: &mut Vec<Finding>) {
    let mut texts: Vec<(Option<String>, String)> = Vec::new();
    collect_strings(server.service, None, &mut texts);
    let required = server
        .template
        .map(|t| t.required_env.as_slice())
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    for (key, text) in &texts {
        for reference in scan::references(text) {
            if reference.has_fallback()
                || !crate::compose::interpolation::is_variable_name(&reference.name)
                || EDITOR_VARIABLES.contains(&reference.name.as_str())
                || !seen.insert(reference.name.clone())
            {
                continue;
            }
            let secret = input
                .rendered
                .secrets
                .iter()
                .any(|s| s.name == reference.name);
            let value = (input.variable)(&reference.name);
            if secret || value.as_deref().is_some_and(|v| !v.is_empty()) {
                continue;
            }
            let is_required = required.contains(&reference.name)
                || key.as_ref().is_some_and(|k| required.contains(k))
                || reference.operator.starts_with(":?")
                || reference.operator.starts_with('?');
            let set = value.is_some();
            let place = place_of(server, &reference);
            let where_ = match input.env_file {
                Some(env) => format!(
                    "`export {}=…` before deploying, or add `{}=…` to {}",
                    reference.name,
                    reference.name,
                    env.display()
                ),
                None => format!("`export {}=…` before deploying", reference.name),
            };
            findings.push(Finding {
                check: Check::UnsetVariable,
                severity: if is_required {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                server: server.name.to_string(),
                value: format!("${{{}}}", reference.name),
                place,
                message: format!(
                    "`{}` is {} in the environment and in .env{}",
                    reference.name,
                    if set { "empty" } else { "not set" },
                    if is_required {
                        format!(
                            ": {} requires it, and the server fails without it",
                            server.template.map_or("the catalog", |t| t.name.as_str())
                        )
                    } else {
                        ": deploy would pass an empty string".to_string()
                    }
                ),
                fix: where_,
                edits: Vec::new(),
            });
        }
    }
}

/// Every string of a service that compose interpolates, with the
/// environment key it sits under (labels are mcpm's own).
fn collect_strings(value: &Mapping, key: Option<&str>, out: &mut Vec<(Option<String>, String)>) {
    for (k, v) in value {
        let k = k.as_str().unwrap_or_default();
        if key.is_none() && k == "labels" {
            continue;
        }
        let under = key.map(str::to_string).or_else(|| Some(k.to_string()));
        collect_value(v, under.as_deref(), k, out);
    }
}

fn collect_value(
    value: &Value,
    parent: Option<&str>,
    key: &str,
    out: &mut Vec<(Option<String>, String)>,
) {
    match value {
        Value::String(text) => {
            // Under `environment`, the variable's own name is the key.
            let owner = if parent == Some("environment") {
                Some(key.to_string())
            } else {
                None
            };
            out.push((owner, text.clone()));
        }
        Value::Sequence(items) => {
            for item in items {
                collect_value(item, parent, key, out);
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map {
                collect_value(v, Some(key), k.as_str().unwrap_or_default(), out);
            }
        }
        _ => {}
    }
}

/// Where a variable comes from in the profile: the first env value or
/// argument that mentions it, else the server's table (a catalog default).
fn place_of(server: &Server<'_>, reference: &Reference) -> Place {
    let mentions = |text: &str| {
        scan::references(text)
            .iter()
            .any(|r| r.name == reference.name)
    };
    for (key, value) in &server.spec.env {
        if mentions(&value.to_text()) {
            return Place::Profile(server.path(&["env", key]));
        }
    }
    for (index, arg) in server.spec.args.iter().enumerate() {
        if mentions(arg) {
            return Place::Profile(server.arg_path(index));
        }
    }
    Place::Profile(server.path(&[]))
}

/// `${input:id}` (VS Code prompts) and editor variables such as
/// `${workspaceFolder}` have no value outside the editor. An input becomes
/// a variable the way `profile import` names it; an editor variable needs
/// the path it stood for.
pub(super) fn editor_inputs(loaded: &crate::profile::LoadedProfile) -> Vec<Finding> {
    let mut findings = Vec::new();
    let empty = Mapping::new();
    for (name, spec) in &loaded.profile.servers {
        if !spec.is_enabled() || spec.is_remote() {
            continue;
        }
        let server = Server {
            name,
            spec,
            service: &empty,
            template: None,
        };
        for (target, value) in server.values() {
            let references = scan::references(&value);
            for reference in &references {
                if reference.name == "input" && reference.operator.starts_with(':') {
                    let id = &reference.operator[1..];
                    let variable = variable_name_for(id).to_ascii_uppercase();
                    let new = value.replacen(
                        &value[reference.range.clone()],
                        &format!("${{{variable}}}"),
                        1,
                    );
                    findings.push(Finding {
                        check: Check::VscodeInput,
                        severity: Severity::Error,
                        server: name.clone(),
                        value: format!("${{input:{id}}}"),
                        place: Place::Profile(target.path(&server)),
                        message: format!(
                            "`${{input:{id}}}` is a VS Code prompt: nothing answers it outside the editor, and compose cannot read it"
                        ),
                        fix: format!(
                            "write `${{{variable}}}` instead, then `export {variable}=…` or put it in the .env beside the compose file"
                        ),
                        edits: vec![target.edit(&value, new)],
                    });
                } else if EDITOR_VARIABLES.contains(&reference.name.as_str())
                    && reference.operator.is_empty()
                {
                    findings.push(Finding {
                        check: Check::VscodeInput,
                        severity: Severity::Warning,
                        server: name.clone(),
                        value: format!("${{{}}}", reference.name),
                        place: Place::Profile(target.path(&server)),
                        message: format!(
                            "`${{{}}}` is a VS Code variable with no value outside the editor: deploy would substitute an empty string",
                            reference.name
                        ),
                        fix: format!(
                            "replace `${{{}}}` with the path it stands for (the folder holding .vscode), or export {}",
                            reference.name, reference.name
                        ),
                        edits: Vec::new(),
                    });
                }
            }
        }
    }
    findings
}

/// A server whose catalog entry needs the network but runs without one,
/// and one that does not but was given one: the first cannot work, the
/// second is less isolated than it could be.
fn network(server: &Server<'_>, reaches_out: bool, findings: &mut Vec<Finding>) {
    let Some(template) = server.template else {
        return;
    };
    let path = if server.spec.network.is_some() {
        server.path(&["network"])
    } else if server
        .spec
        .docker
        .as_ref()
        .is_some_and(|d| d.contains_key("network_mode") || d.contains_key("networks"))
    {
        server.path(&["docker"])
    } else {
        server.path(&[])
    };
    if template.needs_network && server.network_none() {
        findings.push(Finding {
            check: Check::NetworkMode,
            severity: Severity::Warning,
            server: server.name.to_string(),
            value: "network_mode: none".into(),
            place: Place::Profile(path),
            message: format!(
                "{} needs the network, and this service has none",
                template.name
            ),
            fix: format!(
                "remove `network = \"none\"` (or `network_mode`) from server `{}`, or set `network = \"bridge\"`",
                server.name
            ),
            edits: Vec::new(),
        });
        return;
    }
    let given = server.spec.network == Some(NetworkChoice::Bridge)
        || server
            .spec
            .docker
            .as_ref()
            .is_some_and(|d| d.contains_key("networks"));
    let joins = server.service.contains_key("networks") && !server.network_none();
    let publishes = server.service.contains_key("ports");
    if !template.needs_network && given && joins && !publishes && !reaches_out {
        findings.push(Finding {
            check: Check::NetworkMode,
            severity: Severity::Warning,
            server: server.name.to_string(),
            value: MCP_NETWORK.into(),
            place: Place::Profile(path),
            message: format!(
                "{} works without a network, and this server was given one",
                template.name
            ),
            fix: format!(
                "remove `network = \"bridge\"` (or `networks`) from server `{}` unless it reaches something the catalog does not know of",
                server.name
            ),
            edits: Vec::new(),
        });
    }
}

/// An image by a moving name (`:latest`, or no tag) may change under a
/// deploy that changed nothing.
fn image(server: &Server<'_>, findings: &mut Vec<Finding>) {
    let Some(image) = server.service.get("image").and_then(Value::as_str) else {
        return;
    };
    if is_pinned(image) {
        return;
    }
    let place = if server
        .spec
        .docker
        .as_ref()
        .is_some_and(|d| d.contains_key("image"))
    {
        server.path(&["docker", "image"])
    } else if let Some(index) = server
        .runs_docker()
        .then(|| server.spec.args.iter().position(|a| a == image))
        .flatten()
    {
        server.arg_path(index)
    } else {
        server.path(&[])
    };
    findings.push(Finding {
        check: Check::UnpinnedImage,
        severity: Severity::Warning,
        server: server.name.to_string(),
        value: image.to_string(),
        place: Place::Profile(place),
        message: format!(
            "image `{image}` is not pinned: a pull can change what runs without any change to the profile"
        ),
        fix: format!(
            "pin it to a digest: `[servers.{}.docker] image = \"{}@sha256:…\"` (`docker image inspect --format '{{{{index .RepoDigests 0}}}}' {image}` prints it)",
            server.name,
            repository(image)
        ),
        edits: Vec::new(),
    });
}

/// Whether an image reference names one image for good: a digest, or a
/// tag other than `latest`.
pub fn is_pinned(image: &str) -> bool {
    if image.contains("@sha256:") {
        return true;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) => tag != "latest" && !tag.is_empty() && !tag.contains('$'),
        None => false,
    }
}

fn repository(image: &str) -> &str {
    let slash = image.rfind('/').map_or(0, |at| at + 1);
    match image[slash..].find(':') {
        Some(at) => &image[..slash + at],
        None => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_images_have_a_digest_or_a_real_tag() {
        assert!(is_pinned("mcp/fetch@sha256:abc"));
        assert!(is_pinned("postgres:16.2"));
        assert!(is_pinned("registry:5000/team/img:1.0"));
        assert!(!is_pinned("registry:5000/team/img"));
        assert!(!is_pinned("mcp/fetch"));
        assert!(!is_pinned("mcp/fetch:latest"));
        assert!(!is_pinned("mcp/fetch:${TAG}"));
        assert_eq!(
            repository("registry:5000/team/img:1.0"),
            "registry:5000/team/img"
        );
        assert_eq!(repository("mcp/fetch"), "mcp/fetch");
    }

    #[test]
    fn mounts_cover_paths_inside_their_targets() {
        let service: Mapping = serde_yaml_ng::from_str(
            "volumes:\n  - memory-data:/home/dev/.mcp\n  - /Users/x/Documents:/projects/Documents:ro\n  - {type: bind, source: /srv/a, target: /a}\n  - /anon\ntmpfs: ['/run/cache:size=1m']\n",
        )
        .unwrap();
        let mounts = Mounts::of(&service);
        assert!(mounts.covers("/home/dev/.mcp/memory.json"));
        assert!(
            mounts.covers("/Users/x/Documents"),
            "auto-mounted and rewritten"
        );
        assert!(mounts.covers("/a/b"));
        assert!(mounts.covers("/anon/x"));
        assert!(mounts.covers("/run/cache/x"));
        assert!(!mounts.covers("/home/dev/.mcpx"));
        assert!(
            !mounts.covers("/srv/a/b"),
            "only the target is inside the container"
        );
        assert_eq!(mounts.named.iter().collect::<Vec<_>>(), ["memory-data"]);
    }

    #[test]
    fn a_file_is_mounted_by_its_directory() {
        assert_eq!(
            mount_dir(
                "/home/dev/.mcp/memory.json",
                "/home/dev/.mcp/memory.json",
                None
            ),
            ("/home/dev/.mcp".into(), "/home/dev/.mcp".into())
        );
        assert_eq!(
            mount_dir("/w/data/app.db", "${W}/data/app.db", None),
            ("/w/data".into(), "${W}/data".into())
        );
        assert_eq!(
            mount_dir("/home/dev/Makefile", "/home/dev/Makefile", Some(false)),
            ("/home/dev".into(), "/home/dev".into()),
            "an existing file, whatever its name"
        );
        assert_eq!(
            mount_dir("/home/dev/.mcp", "/home/dev/.mcp/", Some(true)),
            ("/home/dev/.mcp".into(), "/home/dev/.mcp".into())
        );
    }
}
