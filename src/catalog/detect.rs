//! Matches a server to the way it will run in a container, in SPEC §3's order:
//! explicit image → server name → npm/PyPI package → docker image → command →
//! generic runtime. Each result records the rule that matched and why.
use std::fmt;

use crate::profile::ServerSpec;

use super::docker_run::DockerRun;
use super::host_script::{self, HostScript};
use super::invocation::{self, Invocation, PackageRun};
use super::{Catalog, Template, normalize_pypi};

/// Which detection rule produced a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchRule {
    Explicit,
    Name,
    Package,
    Image,
    Command,
    Generic,
}

impl MatchRule {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchRule::Explicit => "explicit",
            MatchRule::Name => "name",
            MatchRule::Package => "package",
            MatchRule::Image => "image",
            MatchRule::Command => "command",
            MatchRule::Generic => "generic",
        }
    }
}

impl fmt::Display for MatchRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a containerizable server runs.
#[derive(Debug, Clone)]
pub struct Detection<'c> {
    pub rule: MatchRule,
    /// The catalog entry (a known server or a generic runtime), if any.
    pub template: Option<&'c Template>,
    pub image: String,
    /// The container command; `None` keeps the image's default.
    pub command: Option<Vec<String>>,
    /// `docker run` flags to carry into the service.
    pub docker_run: Option<DockerRun>,
    /// Why this rule matched, for `--explain`.
    pub reason: String,
    /// Things the user should know (dropped flags, ignored arguments).
    pub notes: Vec<String>,
    /// A script from the host, run in its runtime's image: the directories to
    /// mount read-only at the same path, and what the runtime needs.
    pub host_script: Option<HostScript>,
}

/// What becomes of a server.
#[derive(Debug, Clone)]
pub enum Outcome<'c> {
    Service(Box<Detection<'c>>),
    /// A `url` server: it runs elsewhere, nothing to containerize.
    Remote,
    /// `enabled = false`.
    Disabled,
    /// Cannot run in a container; `arg_index` points into `args` when one is to blame.
    NotContainerizable {
        reason: String,
        arg_index: Option<usize>,
    },
}

/// Decides how `server` (named `name`) runs.
pub fn detect<'c>(name: &str, server: &ServerSpec, catalog: &'c Catalog) -> Outcome<'c> {
    if !server.is_enabled() {
        return Outcome::Disabled;
    }
    let Some(command) = &server.command else {
        return Outcome::Remote;
    };
    let invocation = invocation::parse(command, &server.args);
    let explicit_image = server
        .docker
        .as_ref()
        .and_then(|docker| docker.get("image"))
        .and_then(|v| v.as_str());
    if let Some(image) = explicit_image {
        // An image of the catalog entry the server matches anyway is a pin
        // (`mcp/fetch:2025.06`), not a different server: keep the match.
        let implicit = detect_without_image(name, server, catalog, &invocation);
        if let Outcome::Service(mut detection) = implicit
            && detection.template.is_some_and(|t| {
                !t.is_runtime()
                    && t.images.iter().any(|known| {
                        super::image_repository(known) == super::image_repository(image)
                    })
            })
        {
            detection.image = image.to_string();
            detection.reason = format!(
                "{}, pinned to `{image}` by `[docker] image`",
                detection.reason
            );
            return Outcome::Service(detection);
        }
        return Outcome::Service(Box::new(explicit(image, command, server, invocation)));
    }
    detect_without_image(name, server, catalog, &invocation)
}

/// The rules after `explicit`: name, package, image, command, generic.
fn detect_without_image<'c>(
    name: &str,
    server: &ServerSpec,
    catalog: &'c Catalog,
    invocation: &Invocation,
) -> Outcome<'c> {
    if let Some(template) = catalog.by_name(name)
        && names_nothing_else(invocation, template, catalog)
    {
        return Outcome::Service(Box::new(from_template(
            MatchRule::Name,
            template,
            invocation,
            format!("server name `{name}` is a catalog entry"),
        )));
    }
    match &invocation {
        Invocation::Npm(run) => match catalog.by_npm(&run.package) {
            Some(template) => service(
                MatchRule::Package,
                template,
                invocation,
                format!("npm package `{}`", run.package),
            ),
            None => generic_npm(run, catalog),
        },
        Invocation::Pypi(run) => match catalog.by_pypi(&run.package) {
            Some(template) => service(
                MatchRule::Package,
                template,
                invocation,
                format!("PyPI package `{}`", run.package),
            ),
            None => generic_pypi(run, catalog),
        },
        Invocation::DockerRun(run) => {
            let template = catalog.by_image(&run.image);
            let reason = match template {
                Some(template) => format!(
                    "`docker run` of image `{}` (catalog entry `{}`)",
                    run.image, template.name
                ),
                None => format!("`docker run` of image `{}`", run.image),
            };
            let mut detection = Detection {
                rule: MatchRule::Image,
                template,
                image: run.image.clone(),
                command: (!run.command.is_empty()).then(|| run.command.clone()),
                docker_run: Some((**run).clone()),
                reason,
                notes: Vec::new(),
                host_script: None,
            };
            note_dropped_flags(&mut detection);
            Outcome::Service(Box::new(detection))
        }
        Invocation::Binary { name: binary, tail } => {
            let template = catalog
                .by_binary(binary)
                .or_else(|| catalog.by_pypi(binary));
            match template {
                Some(template) => service(
                    MatchRule::Command,
                    template,
                    invocation,
                    format!("executable `{binary}`"),
                ),
                None => not_containerizable(
                    format!(
                        "`{binary}` is an executable on this host that no catalog entry knows; run it from a package (npx/uvx) or set `[servers.{name}.docker] image`"
                    ),
                    None,
                    tail,
                ),
            }
        }
        Invocation::PythonModule {
            interpreter,
            module,
            ..
        } => match catalog.by_pypi(&normalize_pypi(module)) {
            Some(template) => service(
                MatchRule::Command,
                template,
                invocation,
                format!("Python module `{module}`"),
            ),
            None => not_containerizable(
                format!(
                    "`{interpreter} -m {module}` runs a module installed on this host; set `[servers.{name}.docker] image` to an image that has it, or run a PyPI package with `uvx`"
                ),
                Some(0),
                &[],
            ),
        },
        Invocation::Deno { args, target } if host_script::remote_module(target) => {
            match catalog.runtime("deno") {
                Some(template) => {
                    let mut command = vec!["deno".to_string()];
                    command.extend(args.iter().cloned());
                    Outcome::Service(Box::new(Detection {
                        rule: MatchRule::Command,
                        template: Some(template),
                        image: template.service.image.clone(),
                        command: Some(command),
                        docker_run: None,
                        reason: format!("`deno run` of remote module `{target}`"),
                        notes: Vec::new(),
                        host_script: None,
                    }))
                }
                None => no_runtime("deno", args.iter().position(|a| a == target)),
            }
        }
        Invocation::Script { .. } | Invocation::Deno { .. } | Invocation::UvRun(_) => {
            host_script_service(name, server, catalog, invocation)
        }
        Invocation::LocalExecutable { path, .. } => not_containerizable(
            format!(
                "`{path}` is a program on this host; build an image for it and set `[servers.{name}.docker] image`"
            ),
            None,
            &[],
        ),
        Invocation::Unsupported { reason, arg_index } => {
            not_containerizable(reason.clone(), *arg_index, &[])
        }
    }
}

/// A script from the host in its runtime's image, or why it cannot be.
fn host_script_service<'c>(
    name: &str,
    server: &ServerSpec,
    catalog: &'c Catalog,
    invocation: &Invocation,
) -> Outcome<'c> {
    let command = server.command.as_deref().unwrap_or_default();
    let Some(planned) = host_script::plan(name, command, &server.args, invocation) else {
        return not_containerizable(
            format!("`{}` cannot be containerized", describe(invocation)),
            None,
            &[],
        );
    };
    let plan = match planned {
        Ok(plan) => plan,
        Err(refusal) => {
            return not_containerizable(
                format!(
                    "{}; or build an image for it and set `[servers.{name}.docker] image`",
                    refusal.reason
                ),
                refusal.arg_index,
                &[],
            );
        }
    };
    let Some(template) = catalog.runtime(plan.runtime) else {
        return no_runtime(plan.runtime, None);
    };
    let image = template.service.image.clone();
    let mut reason = format!(
        "script: {} → {image}, {} mounted read-only",
        plan.shown,
        plan.host.mounts.join(" and ")
    );
    if let Some(dir) = &plan.host.working_dir {
        reason.push_str(&format!(", working directory {dir}"));
    }
    Outcome::Service(Box::new(Detection {
        rule: MatchRule::Command,
        template: Some(template),
        image,
        command: Some(plan.command),
        docker_run: None,
        reason,
        notes: plan.notes,
        host_script: Some(plan.host),
    }))
}

fn no_runtime<'c>(runtime: &str, arg_index: Option<usize>) -> Outcome<'c> {
    not_containerizable(
        format!(
            "no `{runtime}` runtime in the catalog (a template in the config dir's templates/ replaced it?); restore templates/{runtime}.toml"
        ),
        arg_index,
        &[],
    )
}

fn service<'c>(
    rule: MatchRule,
    template: &'c Template,
    invocation: &Invocation,
    why: String,
) -> Outcome<'c> {
    Outcome::Service(Box::new(from_template(
        rule,
        template,
        invocation,
        format!("{why} is catalog entry `{}`", template.name),
    )))
}

fn not_containerizable<'c>(
    reason: String,
    arg_index: Option<usize>,
    _tail: &[String],
) -> Outcome<'c> {
    Outcome::NotContainerizable { reason, arg_index }
}

/// Whether a name match may stand: the command must not name a package or image
/// that belongs elsewhere (a server called `memory` running some other package
/// is that package, not the catalog's memory server).
fn names_nothing_else(invocation: &Invocation, template: &Template, catalog: &Catalog) -> bool {
    let same = |found: Option<&Template>| found.is_some_and(|found| found.name == template.name);
    match invocation {
        Invocation::Npm(run) => same(catalog.by_npm(&run.package)),
        Invocation::Pypi(run) => same(catalog.by_pypi(&run.package)),
        Invocation::DockerRun(run) => same(catalog.by_image(&run.image)),
        _ => true,
    }
}

/// A service from a catalog entry; the server's own arguments follow the entry's command.
fn from_template<'c>(
    rule: MatchRule,
    template: &'c Template,
    invocation: &Invocation,
    reason: String,
) -> Detection<'c> {
    let mut notes = Vec::new();
    let (image, command, docker_run) = match invocation {
        // The user's image reference (with its tag) and their command win.
        Invocation::DockerRun(run) => {
            let command = if run.command.is_empty() {
                template_command(template, &[])
            } else {
                Some(run.command.clone())
            };
            (run.image.clone(), command, Some((**run).clone()))
        }
        Invocation::Npm(run) | Invocation::Pypi(run) => (
            template.service.image.clone(),
            template_command(template, &run.tail),
            None,
        ),
        Invocation::Binary { tail, .. } | Invocation::PythonModule { tail, .. } => (
            template.service.image.clone(),
            template_command(template, tail),
            None,
        ),
        other => {
            notes.push(format!(
                "the command line ({}) is not passed on: the catalog image runs the server",
                describe(other)
            ));
            (
                template.service.image.clone(),
                template_command(template, &[]),
                None,
            )
        }
    };
    let mut detection = Detection {
        rule,
        template: Some(template),
        image,
        command,
        docker_run,
        reason,
        notes,
        host_script: None,
    };
    note_dropped_flags(&mut detection);
    detection
}

fn template_command(template: &Template, tail: &[String]) -> Option<Vec<String>> {
    let mut command = template.service.command.clone();
    command.extend(tail.iter().cloned());
    (!command.is_empty()).then_some(command)
}

fn explicit<'c>(
    image: &str,
    command: &str,
    server: &ServerSpec,
    invocation: Invocation,
) -> Detection<'c> {
    let (container_command, docker_run) = match invocation {
        Invocation::DockerRun(run) => (
            (!run.command.is_empty()).then(|| run.command.clone()),
            Some(*run),
        ),
        _ => {
            let mut line = vec![command.to_string()];
            line.extend(server.args.iter().cloned());
            (Some(line), None)
        }
    };
    let mut detection = Detection {
        rule: MatchRule::Explicit,
        template: None,
        image: image.to_string(),
        command: container_command,
        docker_run,
        reason: format!("`[docker] image = \"{image}\"` in the profile"),
        notes: Vec::new(),
        host_script: None,
    };
    note_dropped_flags(&mut detection);
    detection
}

fn generic_npm<'c>(run: &PackageRun, catalog: &'c Catalog) -> Outcome<'c> {
    let Some(template) = catalog.node_runtime() else {
        return not_containerizable(
            "no node runtime in the catalog".into(),
            Some(run.package_index),
            &[],
        );
    };
    let mut command = vec!["npx".to_string(), "-y".to_string()];
    match &run.command {
        Some(bin) => command.extend(["-p".to_string(), run.spec.clone(), bin.clone()]),
        None => command.push(run.spec.clone()),
    }
    command.extend(run.tail.iter().cloned());
    let mut notes = Vec::new();
    if run.runner != "npx" {
        notes.push(format!(
            "`{}` is run as `npx` in the node image",
            run.runner
        ));
    }
    Outcome::Service(Box::new(Detection {
        rule: MatchRule::Generic,
        template: Some(template),
        image: template.service.image.clone(),
        command: Some(command),
        docker_run: None,
        reason: format!(
            "npm package `{}` is not in the catalog: runs with npx in the node runtime",
            run.package
        ),
        notes,
        host_script: None,
    }))
}

fn generic_pypi<'c>(run: &PackageRun, catalog: &'c Catalog) -> Outcome<'c> {
    let Some(template) = catalog.uv_runtime() else {
        return not_containerizable(
            "no uv runtime in the catalog".into(),
            Some(run.package_index),
            &[],
        );
    };
    let mut command = vec!["uvx".to_string()];
    command.extend(run.runner_options.iter().cloned());
    let direct = run.command.is_none()
        && (run.spec == run.package || run.spec.starts_with(&format!("{}@", run.package)));
    if direct {
        command.push(run.spec.clone());
    } else {
        let executable = run.command.clone().unwrap_or_else(|| run.package.clone());
        command.extend(["--from".to_string(), run.spec.clone(), executable]);
    }
    command.extend(run.tail.iter().cloned());
    let mut notes = Vec::new();
    if run.runner != "uvx" {
        notes.push(format!("`{}` is run as `uvx` in the uv image", run.runner));
    }
    Outcome::Service(Box::new(Detection {
        rule: MatchRule::Generic,
        template: Some(template),
        image: template.service.image.clone(),
        command: Some(command),
        docker_run: None,
        reason: format!(
            "PyPI package `{}` is not in the catalog: runs with uvx in the uv runtime",
            run.package
        ),
        notes,
        host_script: None,
    }))
}

fn note_dropped_flags(detection: &mut Detection<'_>) {
    if let Some(run) = &detection.docker_run
        && !run.dropped.is_empty()
    {
        detection.notes.push(format!(
            "docker run flags with no compose meaning were dropped: {}",
            run.dropped.join(", ")
        ));
    }
}

fn describe(invocation: &Invocation) -> String {
    match invocation {
        Invocation::Script {
            interpreter,
            script,
            ..
        } => format!("{interpreter} {script}"),
        Invocation::LocalExecutable { path, .. } => path.clone(),
        Invocation::Deno { target, .. } => format!("deno run {target}"),
        Invocation::UvRun(run) => format!("uv run {}", run.target),
        Invocation::Unsupported { reason, .. } => reason.clone(),
        _ => "its command".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ServerSpec;

    fn catalog() -> Catalog {
        Catalog::load(None).expect("built-in catalog")
    }

    fn server(command: &str, args: &[&str]) -> ServerSpec {
        ServerSpec {
            command: Some(command.into()),
            args: args.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn detected<'c>(name: &str, spec: &ServerSpec, catalog: &'c Catalog) -> Detection<'c> {
        match detect(name, spec, catalog) {
            Outcome::Service(detection) => *detection,
            other => panic!("{name}: expected a service, got {other:?}"),
        }
    }

    fn rule_and_template(name: &str, spec: &ServerSpec) -> (MatchRule, Option<String>) {
        let catalog = catalog();
        let detection = detected(name, spec, &catalog);
        (detection.rule, detection.template.map(|t| t.name.clone()))
    }

    #[test]
    fn explicit_image_runs_the_servers_command() {
        let mut spec = server("python", &["-m", "my_mcp_server"]);
        let mut docker = toml::Table::new();
        docker.insert("image".into(), "ghcr.io/me/my-mcp:1.2".into());
        spec.docker = Some(docker);
        let catalog = catalog();
        let detection = detected("custom", &spec, &catalog);
        assert_eq!(detection.rule, MatchRule::Explicit);
        assert_eq!(detection.image, "ghcr.io/me/my-mcp:1.2");
        assert_eq!(
            detection.command,
            Some(vec!["python".into(), "-m".into(), "my_mcp_server".into()])
        );
    }

    #[test]
    fn name_and_alias_match_unless_the_command_says_otherwise() {
        assert_eq!(
            rule_and_template("postgres", &server("node", &["/opt/pg/index.js"])),
            (MatchRule::Name, Some("postgres".into()))
        );
        assert_eq!(
            rule_and_template(
                "memory",
                &server("npx", &["-y", "@modelcontextprotocol/server-memory"])
            ),
            (MatchRule::Name, Some("memory".into()))
        );
        // A server called `memory` running another package is that package.
        assert_eq!(
            rule_and_template("memory", &server("npx", &["-y", "@acme/other-memory"])),
            (MatchRule::Generic, Some("node".into()))
        );
    }

    #[test]
    fn npm_and_pypi_packages_match_with_versions_stripped() {
        let catalog = catalog();
        let detection = detected(
            "fs",
            &server(
                "npx",
                &[
                    "-y",
                    "@modelcontextprotocol/server-filesystem@0.6.2",
                    "/data",
                ],
            ),
            &catalog,
        );
        assert_eq!(detection.rule, MatchRule::Package);
        assert_eq!(detection.image, "mcp/filesystem");
        assert_eq!(detection.command, Some(vec!["/data".to_string()]));
        for (command, args) in [
            ("uvx", vec!["mcp-server-fetch@2025.1.1"]),
            ("pipx", vec!["run", "mcp-server-fetch"]),
            (
                "uvx",
                vec!["--from", "mcp_server_fetch==1", "mcp-server-fetch"],
            ),
        ] {
            assert_eq!(
                rule_and_template("web", &server(command, &args)),
                (MatchRule::Package, Some("fetch".into())),
                "{command} {args:?}"
            );
        }
    }

    #[test]
    fn docker_run_keeps_the_users_image_and_knows_catalog_images() {
        let catalog = catalog();
        let spec = server(
            "docker",
            &[
                "run",
                "-i",
                "--rm",
                "-e",
                "GITHUB_PERSONAL_ACCESS_TOKEN",
                "ghcr.io/github/github-mcp-server:v0.5",
            ],
        );
        let detection = detected("gh", &spec, &catalog);
        assert_eq!(detection.rule, MatchRule::Image);
        assert_eq!(detection.image, "ghcr.io/github/github-mcp-server:v0.5");
        assert_eq!(detection.template.map(|t| t.name.as_str()), Some("github"));
        assert_eq!(detection.command, None, "no command keeps the image's own");
        let unknown = detected(
            "x",
            &server("docker", &["run", "-i", "example.com/x:1", "serve"]),
            &catalog,
        );
        assert_eq!(
            (unknown.rule, unknown.template.is_none()),
            (MatchRule::Image, true)
        );
        assert_eq!(unknown.command, Some(vec!["serve".to_string()]));
    }

    #[test]
    fn commands_binaries_modules_and_deno() {
        assert_eq!(
            rule_and_template("t", &server("mcp-server-time", &["--local-timezone=UTC"])),
            (MatchRule::Command, Some("time".into()))
        );
        assert_eq!(
            rule_and_template(
                "g",
                &server("python3", &["-m", "mcp_server_git", "--repository", "/r"])
            ),
            (MatchRule::Command, Some("git".into()))
        );
        let catalog = catalog();
        let deno = detected(
            "d",
            &server("deno", &["run", "-A", "jsr:@x/weather"]),
            &catalog,
        );
        assert_eq!(deno.rule, MatchRule::Command);
        assert_eq!(
            deno.command,
            Some(vec![
                "deno".into(),
                "run".into(),
                "-A".into(),
                "jsr:@x/weather".into()
            ])
        );
    }

    #[test]
    fn unknown_packages_run_in_the_generic_runtimes() {
        let catalog = catalog();
        let node = detected(
            "j",
            &server("pnpm", &["dlx", "@acme/mcp-jira@2", "--site", "x"]),
            &catalog,
        );
        assert_eq!(
            (node.rule, node.image.as_str()),
            (MatchRule::Generic, "node:22-slim")
        );
        assert_eq!(
            node.command,
            Some(vec![
                "npx".into(),
                "-y".into(),
                "@acme/mcp-jira@2".into(),
                "--site".into(),
                "x".into()
            ])
        );
        let uv = detected(
            "w",
            &server(
                "uvx",
                &["--python", "3.12", "--from", "weather-mcp==1.0", "weather"],
            ),
            &catalog,
        );
        assert_eq!(uv.rule, MatchRule::Generic);
        assert_eq!(
            uv.command,
            Some(vec![
                "uvx".into(),
                "--python".into(),
                "3.12".into(),
                "--from".into(),
                "weather-mcp==1.0".into(),
                "weather".into()
            ])
        );
    }

    #[test]
    fn host_scripts_run_in_their_runtime_with_the_directory_mounted() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tools");
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("server.js");
        std::fs::write(&script, "").unwrap();
        let (dir, script) = (dir.to_str().unwrap(), script.to_str().unwrap());
        let catalog = catalog();
        let detection = detected("tools", &server("node", &[script]), &catalog);
        assert_eq!(detection.rule, MatchRule::Command);
        assert_eq!(detection.template.map(|t| t.name.as_str()), Some("node"));
        assert_eq!(detection.image, "node:22-slim");
        assert_eq!(
            detection.reason,
            format!("script: node {script} → node:22-slim, {dir} mounted read-only")
        );
        assert_eq!(
            detection.host_script.map(|h| h.mounts),
            Some(vec![dir.to_string()])
        );
        let python = detected("py", &server("python3", &["-u", script]), &catalog);
        assert_eq!(python.image, "python:3.12-slim");
        // An explicit image still wins: the user's image has the script.
        let mut spec = server("node", &[script]);
        let mut docker = toml::Table::new();
        docker.insert("image".into(), "ghcr.io/me/tools:1".into());
        spec.docker = Some(docker);
        let explicit = detected("tools", &spec, &catalog);
        assert_eq!(
            (explicit.rule, explicit.host_script),
            (MatchRule::Explicit, None)
        );
        // A missing script is reported with the path and a way out.
        match detect("tools", &server("node", &["/no/such/server.js"]), &catalog) {
            Outcome::NotContainerizable { reason, arg_index } => {
                assert!(reason.contains("/no/such/server.js"), "{reason}");
                assert!(reason.contains("[servers.tools.docker] image"), "{reason}");
                assert_eq!(arg_index, Some(0));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_cannot_be_containerized_says_why() {
        let catalog = catalog();
        for (command, args) in [
            ("node", vec!["/home/me/server.js"]),
            ("python", vec!["-m", "my_local_module"]),
            ("./bin/server", vec![]),
            ("docker", vec!["mcp", "gateway", "run"]),
            ("docker", vec!["run", "--frobnicate", "img"]),
            ("deno", vec!["run", "./local.ts"]),
            ("my-binary", vec![]),
        ] {
            match detect("x", &server(command, &args), &catalog) {
                Outcome::NotContainerizable { reason, .. } => assert!(!reason.is_empty()),
                other => panic!("{command} {args:?}: {other:?}"),
            }
        }
        let remote = ServerSpec {
            url: Some("https://x/mcp".into()),
            ..Default::default()
        };
        assert!(matches!(detect("r", &remote, &catalog), Outcome::Remote));
        let off = ServerSpec {
            enabled: Some(false),
            ..server("uvx", &["mcp-server-time"])
        };
        assert!(matches!(detect("o", &off, &catalog), Outcome::Disabled));
    }
}
