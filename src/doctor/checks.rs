//! The checks themselves: each looks at one server's profile entry and the
//! service rendering made of it, and returns findings with their fixes.
use serde_yaml_ng::{Mapping, Value};

use crate::catalog::Template;
use crate::compose::ServerStatus;
use crate::compose::secrets::{is_secret_key, url_password};
use crate::profile::{NetworkChoice, ServerSpec};
use crate::source::Segment;

use super::scan;
use super::{Check, Edit, Finding, Input, Neighbour, Place, Severity};

/// The name a container reaches its host by (with the `host-gateway` entry
/// on Linux engines ≥ 20.10; Docker Desktop has it built in).
pub const HOST_GATEWAY: &str = "host.docker.internal";
const HOST_GATEWAY_ENTRY: &str = "host.docker.internal:host-gateway";
const MCP_NETWORK: &str = crate::compose::service::MCP_NETWORK;

/// VS Code's variables with no value outside the editor (the importer's
/// list): it keeps them as `${NAME}`; deploy would substitute nothing.
pub(super) use crate::import::EDITOR_VARIABLES;

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
        super::mounts::host_paths(&server, input, &mut findings);
        super::variables::variables(&server, input, &mut findings);
        network(&server, reaches_out, &mut findings);
        image(&server, &mut findings);
    }
    findings.extend(super::variables::editor_inputs(input.loaded));
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
pub(super) struct Server<'a> {
    pub(super) name: &'a str,
    pub(super) spec: &'a ServerSpec,
    pub(super) service: &'a Mapping,
    pub(super) template: Option<&'a Template>,
}

impl Server<'_> {
    pub(super) fn path(&self, keys: &[&str]) -> Vec<Segment> {
        let mut path = Segment::path(["servers", self.name]);
        path.extend(keys.iter().map(|k| Segment::Key(k.to_string())));
        path
    }

    pub(super) fn arg_path(&self, index: usize) -> Vec<Segment> {
        let mut path = self.path(&["args"]);
        path.push(Segment::Index(index));
        path
    }

    /// The profile values a person wrote that reach the container: env
    /// values and arguments (not a `docker run` line's, whose own flags
    /// say what they mount).
    pub(super) fn values(&self) -> Vec<(Target, String)> {
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

    pub(super) fn runs_docker(&self) -> bool {
        self.spec
            .command
            .as_deref()
            .is_some_and(|c| c == "docker" || c.ends_with("/docker"))
    }

    pub(super) fn strings(&self, key: &str) -> Vec<String> {
        match self.service.get(key) {
            Some(Value::Sequence(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }

    pub(super) fn network_none(&self) -> bool {
        self.service.get("network_mode").and_then(Value::as_str) == Some("none")
    }
}

/// Which profile value a finding is about.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Target {
    Env(String),
    Arg(usize),
}

impl Target {
    pub(super) fn path(&self, server: &Server<'_>) -> Vec<Segment> {
        match self {
            Target::Env(key) => server.path(&["env", key]),
            Target::Arg(index) => server.arg_path(*index),
        }
    }

    pub(super) fn edit(&self, old: &str, new: String) -> Edit {
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
pub(super) fn shown(target: &Target, value: &str) -> String {
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
}
