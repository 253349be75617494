//! Matches a server to the way it will run in a container, in SPEC §3's order:
//! explicit image → server name → npm/PyPI package → docker image → command →
//! generic runtime. Each result records the rule that matched and why.
use std::fmt;

use crate::profile::ServerSpec;

use super::docker_run::DockerRun;
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
        return Outcome::Service(Box::new(explicit(image, command, server, invocation)));
    }
    if let Some(template) = catalog.by_name(name)
        && names_nothing_else(&invocation, template, catalog)
    {
        return Outcome::Service(Box::new(from_template(
            MatchRule::Name,
            template,
            &invocation,
            format!("server name `{name}` is a catalog entry"),
        )));
    }
    match &invocation {
        Invocation::Npm(run) => match catalog.by_npm(&run.package) {
            Some(template) => service(
                MatchRule::Package,
                template,
                &invocation,
                format!("npm package `{}`", run.package),
            ),
            None => generic_npm(run, catalog),
        },
        Invocation::Pypi(run) => match catalog.by_pypi(&run.package) {
            Some(template) => service(
                MatchRule::Package,
                template,
                &invocation,
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
                    &invocation,
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
                &invocation,
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
        Invocation::Deno { args, target } => match (remote_module(target), catalog.runtime("deno"))
        {
            (true, Some(template)) => {
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
                }))
            }
            _ => not_containerizable(
                format!(
                    "`deno run {target}` runs a file on this host; publish it (jsr:, npm:, https:) or set `[servers.{name}.docker] image`"
                ),
                args.iter().position(|a| a == target),
                &[],
            ),
        },
        Invocation::Script {
            interpreter,
            script,
            ..
        } => not_containerizable(
            format!(
                "`{interpreter} {script}` runs a script that exists only on this host; build an image for it and set `[servers.{name}.docker] image`, or run it from a package"
            ),
            server.args.iter().position(|a| a == script),
            &[],
        ),
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

fn remote_module(target: &str) -> bool {
    ["jsr:", "npm:", "https://", "http://"]
        .iter()
        .any(|prefix| target.starts_with(prefix))
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
        Invocation::Unsupported { reason, .. } => reason.clone(),
        _ => "its command".into(),
    }
}
