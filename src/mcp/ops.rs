//! Runs a checked tool call on the project it names: each tool calls the
//! library operation its CLI command calls (`engine::status::run`,
//! `engine::logs`, `engine::stats::snapshot`, `sync::run`,
//! `compose::render`, `engine::deploy::run`, `engine::lifecycle`), with the
//! options that never ask anything. Blocking (the library's engine calls run
//! their own runtime): the server runs it on a thread of its own.
use std::time::Duration;

use serde_json::{Value, json};

use super::scope::{Resolved, Scope};
use super::tools::{Args, Call};
use crate::catalog::Catalog;
use crate::compose::secrets::{self, SecretRegistry, SecretValue};
use crate::config::ConfigDir;
use crate::engine::connect::{block_on, connect};
use crate::engine::deploy::{self, DeployOptions, DeployTarget};
use crate::engine::execute::{StepResult, StepStatus};
use crate::engine::plan::PlanOptions;
use crate::engine::progress::Progress;
use crate::engine::status::{StatusOptions, raw_services};
use crate::engine::{desired, lifecycle, logs, observe, stats, status};
use crate::error::{Error, Result};
use crate::profile::{ConflictStrategy, LoadedProfile, resolve_profile_path};
use crate::sync::{self, Mode, SyncOptions, Unattended};

/// What a tool returns: its structured result, whether it is an error
/// result (a step failed: the agent should read `structuredContent`), and
/// the text copy for clients that read only `content`.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    pub value: Value,
    pub is_error: bool,
    pub text: String,
}

impl ToolOutput {
    fn ok(value: Value) -> Self {
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        ToolOutput {
            value,
            is_error: false,
            text,
        }
    }
}

/// How long `sync` waits for another sync's lock.
const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `call`. `Err` is a tool error (the message says what and what to do).
pub fn run(config: &ConfigDir, scope: &Scope, call: &Call) -> Result<ToolOutput> {
    if let Args::ListServers = call.args
        && call.project.is_none()
    {
        let mut reports = Vec::new();
        for project in scope.projects() {
            let resolved = scope.pick(config, Some(&project))?;
            reports.push(status_of(config, &resolved)?);
        }
        return Ok(ToolOutput::ok(json!({ "projects": reports })));
    }
    let resolved = scope.pick(config, call.project.as_deref())?;
    let project = resolved.project.project.clone();
    match &call.args {
        Args::ListServers => Ok(ToolOutput::ok(
            json!({ "projects": [status_of(config, &resolved)?] }),
        )),
        Args::Logs {
            server,
            tail,
            since,
        } => logs_of(&resolved, server, *tail, since.as_deref()),
        Args::Stats { servers } => {
            resolved.check_servers(servers)?;
            let known = resolved.project.services.clone();
            let report = block_on(async {
                let engine = connect().await?;
                stats::snapshot(
                    &engine,
                    stats::Selection {
                        project: &project,
                        services: servers,
                        known: Some(&known),
                        thresholds: &stats::Thresholds::default(),
                    },
                )
                .await
            })?;
            Ok(ToolOutput::ok(to_json(&report)))
        }
        Args::SyncCheck => sync_with(config, &resolved, Mode::DryRun, None),
        Args::Sync { strategy } => {
            let strategy = match strategy.as_str() {
                "profile_wins" => ConflictStrategy::ProfileWins,
                "docker_wins" => ConflictStrategy::DockerWins,
                _ => ConflictStrategy::Merge,
            };
            sync_with(config, &resolved, Mode::Write, Some(strategy))
        }
        Args::GeneratePreview => {
            let loaded = profile_of(&resolved, "generate_preview")?;
            let rendered = render(config, loaded)?;
            let text = rendered.yaml();
            Ok(ToolOutput {
                value: json!({
                    "profile": loaded.profile.name,
                    "compose": text,
                    "warnings": rendered.warnings,
                }),
                is_error: false,
                text,
            })
        }
        Args::ListNetworks => {
            let networks = block_on(async {
                let engine = connect().await?;
                observe::networks(&engine, &project).await
            })?;
            let list: Vec<Value> = networks
                .values()
                .map(|n| {
                    json!({
                        "name": n.name,
                        "driver": n.driver,
                        "internal": n.internal,
                        "subnets": n.subnets,
                    })
                })
                .collect();
            Ok(ToolOutput::ok(
                json!({ "project": project, "networks": list }),
            ))
        }
        Args::InspectServer { server } => inspect(&resolved, server),
        Args::Servers { servers } => {
            resolved.check_servers(servers)?;
            let results = match call.tool.as_str() {
                "pull" => {
                    let desired = desired::load(&resolved.target.file, &resolved.target.options)?;
                    let images = lifecycle::images_to_pull(&desired, servers)?;
                    block_on(async {
                        let engine = connect().await?;
                        Ok(lifecycle::pull_images(&engine, &images, &Progress::quiet()).await)
                    })?
                }
                verb => block_on(async {
                    let engine = connect().await?;
                    let containers = lifecycle::containers(&engine, &project, servers).await?;
                    Ok(match verb {
                        "start" => lifecycle::start(&engine, &containers).await,
                        "stop" => lifecycle::stop(&engine, &containers, None).await,
                        _ => {
                            lifecycle::restart(&engine, &containers, None, !servers.is_empty())
                                .await
                        }
                    })
                })?,
            };
            Ok(steps(&project, results))
        }
        Args::Deploy { servers, dry_run } => {
            resolved.check_servers(servers)?;
            let report = deploy::run(
                config,
                &DeployTarget {
                    compose_file: resolved.source.compose_file.clone(),
                    profile: resolved.source.profile.clone(),
                    project_name: None,
                },
                &DeployOptions {
                    plan: PlanOptions {
                        services: servers.clone(),
                        ..PlanOptions::default()
                    },
                    dry_run: *dry_run,
                    wait: None,
                    dependency_timeout: Duration::from_secs(60),
                },
                &Progress::quiet(),
                &|_, _| Ok(()),
            )?;
            let mut output = ToolOutput::ok(to_json(&report));
            output.is_error = !report.ok;
            Ok(output)
        }
        Args::Down { volumes } => {
            let results = block_on(async {
                let engine = connect().await?;
                lifecycle::down(&engine, &project, *volumes, None).await
            })?;
            Ok(steps(&project, results))
        }
    }
}

fn to_json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A lifecycle result: an error result when any step failed.
fn steps(project: &str, results: Vec<StepResult>) -> ToolOutput {
    let ok = results.iter().all(|r| r.status != StepStatus::Failed);
    let mut output = ToolOutput::ok(json!({"project": project, "ok": ok, "results": results}));
    output.is_error = !ok;
    output
}

fn status_of(config: &ConfigDir, resolved: &Resolved) -> Result<Value> {
    let report = status::run(
        config,
        &StatusOptions {
            profile: resolved.source.profile.clone(),
            compose_file: resolved.source.compose_file.clone(),
            ..StatusOptions::default()
        },
    )?;
    let mut value = to_json(&report);
    value["warnings"] = json!(report.warnings);
    Ok(value)
}

fn logs_of(
    resolved: &Resolved,
    server: &str,
    tail: u64,
    since: Option<&str>,
) -> Result<ToolOutput> {
    resolved.check_servers(&[server.to_string()])?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let since = match since {
        Some(text) => Some(logs::parse_since(text, now).map_err(Error::invalid)?),
        None => None,
    };
    let request = logs::LogsRequest {
        tail: Some(tail),
        since,
        ..logs::LogsRequest::default()
    };
    let project = &resolved.project.project;
    let read = block_on(async {
        let engine = connect().await?;
        let containers = lifecycle::containers(&engine, project, &[server.to_string()]).await?;
        let mut read = Vec::new();
        for container in containers {
            let lines = logs::collect(&engine, &container.id, &request).await?;
            read.push((container.name, lines));
        }
        Ok(read)
    })?;
    if read.is_empty() {
        return Err(Error::invalid(format!(
            "`{server}` has no container in project `{project}`"
        ))
        .hint("deploy it first (the `deploy` tool)"));
    }
    let text = read
        .iter()
        .map(|(name, lines)| format!("== {name} ==\n{}\n", lines.join("\n")))
        .collect::<String>();
    let containers: Vec<Value> = read
        .into_iter()
        .map(|(name, lines)| json!({"container": name, "lines": lines}))
        .collect();
    Ok(ToolOutput {
        value: json!({"server": server, "containers": containers}),
        is_error: false,
        text,
    })
}

/// The profile a tool that needs one works on.
fn profile_of<'a>(resolved: &'a Resolved, tool: &str) -> Result<&'a LoadedProfile> {
    resolved.target.profile.as_ref().ok_or_else(|| {
        Error::invalid(format!(
            "`{tool}` needs a profile, and project `{}` was served from a compose file alone",
            resolved.project.project
        ))
        .hint("start the server with --profile PROFILE")
    })
}

fn render(config: &ConfigDir, loaded: &LoadedProfile) -> Result<crate::compose::Rendered> {
    let catalog = Catalog::load(Some(&config.templates()))?;
    let mut rendered = crate::compose::render(
        loaded,
        &catalog,
        crate::compose::RenderOptions { strict: false },
    )?;
    rendered.profile_arg = loaded.profile_arg(config);
    Ok(rendered)
}

fn sync_with(
    config: &ConfigDir,
    resolved: &Resolved,
    mode: Mode,
    strategy: Option<ConflictStrategy>,
) -> Result<ToolOutput> {
    let tool = if mode == Mode::Write {
        "sync"
    } else {
        "sync_check"
    };
    profile_of(resolved, tool)?;
    let Some(profile) = &resolved.source.profile else {
        return Err(Error::invalid(format!("`{tool}` needs --profile at start")));
    };
    let options = SyncOptions {
        compose_file: resolved.source.compose_file.clone(),
        strategy,
        mode,
        lock_timeout: LOCK_TIMEOUT,
        // Deploying is the `deploy` tool's business, and needs its role.
        deploy: Some(false),
        ..SyncOptions::new(resolve_profile_path(profile, config)?)
    };
    let mut ui = Unattended::default();
    let report = sync::run(config, &options, &mut ui)?;
    let mut value = report.json();
    value["warnings"] = json!(ui.warnings.into_inner());
    value["profile"] = json!(report.profile.display().to_string());
    let mut output = ToolOutput::ok(value);
    output.is_error = mode == Mode::Write && report.exit_status() != crate::error::ExitStatus::Ok;
    Ok(output)
}

fn inspect(resolved: &Resolved, server: &str) -> Result<ToolOutput> {
    resolved.check_servers(&[server.to_string()])?;
    let project = &resolved.project.project;
    let file = &resolved.target.file;
    let service = match crate::files::read_optional(file)? {
        Some(text) => {
            let document = crate::compose::parse_yaml(file, &text)?;
            raw_services(&document)
                .get(server)
                .map(|value| to_json(&secrets::mask_value(value)))
        }
        None => None,
    };
    let containers = block_on(async {
        let engine = connect().await?;
        let containers = lifecycle::containers(&engine, project, &[server.to_string()]).await?;
        let mut out = Vec::new();
        for c in containers {
            let run = observe::inspect_run(&engine, &c.id).await?;
            out.push(json!({
                "name": c.name,
                "id": c.id,
                "state": c.state.as_str(),
                "health": c.health.map(|h| h.as_str()),
                "image": c.image,
                "ports": c.ports,
                "networks": c.networks,
                "started_at": run.as_ref().and_then(|r| r.started_at.clone()),
                "restart_count": run.as_ref().map(|r| r.restart_count),
                "exit_code": run.as_ref().and_then(|r| r.exit_code),
            }));
        }
        Ok(out)
    })?;
    let profile_entry = resolved
        .target
        .profile
        .as_ref()
        .and_then(|loaded| loaded.profile.servers.get(server))
        .map(|spec| profile_entry(server, spec))
        .transpose()?;
    Ok(ToolOutput::ok(json!({
        "server": server,
        "project": project,
        "compose_file": file.display().to_string(),
        "service": service,
        "containers": containers,
        "profile_entry": profile_entry,
    })))
}

/// A profile entry as JSON with each literal secret of its env and headers
/// shown as the `${VAR}` reference generate writes for it, and what else
/// looks secret (an argument after a secret flag, a URL password) masked as
/// `mcpm profile show` masks it.
pub fn profile_entry(server: &str, spec: &crate::profile::ServerSpec) -> Result<Value> {
    let mut spec = spec.clone();
    let mut registry = SecretRegistry::default();
    let mut reference = |key: &str, text: &mut String| {
        if secrets::is_secret_key(key) && secrets::secret_value(key, text) != SecretValue::Kept {
            let name = registry.register(server, key, text, String::new());
            *text = format!("${{{name}}}");
        }
    };
    for (key, value) in spec.env.iter_mut() {
        if let crate::profile::EnvValue::Text(text) = value {
            reference(key, text);
        }
    }
    for (key, text) in spec.headers.iter_mut() {
        reference(key, text);
    }
    Ok(to_json(&crate::profile::masked_server(&spec)?))
}
