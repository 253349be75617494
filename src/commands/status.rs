//! `mcpm docker status [PROFILE]`: one row per server with its profile,
//! compose, sync and container state. Reads the engine with one listing; works
//! without an engine (the container column says `unreachable`).
use std::io::IsTerminal;

use comfy_table::{Table, presets};

use crate::cli::StatusArgs;
use crate::engine::connect::{block_on, connect, docker_host};
use crate::engine::status::{
    EngineState, GatewayRef, StatusInput, StatusReport, add_gateway, raw_services, rows,
};
use crate::engine::{desired, observe, target};
use crate::error::{Error, ExitStatus, Result};
use crate::output;

use super::Context;

pub fn exec(context: &Context, args: StatusArgs) -> Result<ExitStatus> {
    let target = target::resolve(
        args.compose_file.as_deref(),
        args.profile.as_deref(),
        args.project_name.as_deref(),
        &context.config,
    )?;
    // Without its compose file a profile still has a status: every server is
    // only in the profile.
    let text = match crate::files::read_optional(&target.file)? {
        Some(text) => text,
        None if target.profile.is_some() => {
            context.warn(&format!(
                "{} does not exist yet; `mcpm docker generate` or `sync` writes it",
                target.file.display()
            ));
            String::new()
        }
        None => {
            return Err(Error::invalid(format!(
                "cannot read {}: no such file or directory",
                target.file.display()
            )));
        }
    };
    let raw = raw_services(&text);
    let sync = sync_column(context, target.profile.as_ref(), &text);
    let resolved = if text.is_empty() {
        None
    } else {
        let file = std::path::absolute(&target.file).unwrap_or_else(|_| target.file.clone());
        match desired::load_text(&file, &text, &target.options, &|n| std::env::var(n).ok()) {
            Ok(desired) => Some(desired),
            Err(err) => {
                context.warn(&format!(
                    "cannot resolve {} ({}), so outdated containers are not detected",
                    target.file.display(),
                    err.message
                ));
                None
            }
        }
    };
    let project = match &resolved {
        Some(desired) => desired.project.clone(),
        None if text.is_empty() => target
            .options
            .project
            .clone()
            .or(target.options.fallback_project.clone())
            .unwrap_or_default(),
        None => target::project_ref(&target)?.project,
    };

    let observed = block_on(async {
        let engine = match connect().await {
            Ok(engine) => engine,
            Err(err) => return Ok(Err(err)),
        };
        Ok(observe::containers(&engine, &project).await)
    })?;
    let (containers, engine_error) = match observed {
        Ok(containers) => (Some(containers), None),
        Err(err) => {
            context.warn(&err.message);
            (None, Some(err.message))
        }
    };
    let mut report = StatusReport {
        profile: target.profile.as_ref().map(|p| p.profile.name.clone()),
        project: project.clone(),
        compose_file: target.file.display().to_string(),
        engine: EngineState {
            host: docker_host(),
            reachable: containers.is_some(),
            error: engine_error,
        },
        servers: rows(&StatusInput {
            profile: target.profile.as_ref().map(|p| &p.profile),
            raw_services: &raw,
            desired: resolved.as_ref(),
            sync: &sync,
            containers: containers.as_ref(),
        }),
        gateway: None,
    };
    add_gateway_view(context, &mut report, &raw);
    if args.json {
        let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
        text.push('\n');
        output::stdout(&text)?;
    } else {
        output::stdout(&render(&report))?;
    }
    Ok(ExitStatus::Ok)
}

/// The gateway's columns, when a gateway runs for the project. A gateway
/// that does not answer costs the columns, not the command.
fn add_gateway_view(
    context: &Context,
    report: &mut StatusReport,
    raw: &std::collections::BTreeMap<String, serde_yaml_ng::Value>,
) {
    let Some(state) = crate::gateway::state::running(&context.config, &report.project) else {
        return;
    };
    match crate::gateway::connect::status(&state.socket) {
        Ok(view) => {
            add_gateway(&mut report.servers, raw, &view);
            report.gateway = Some(GatewayRef {
                pid: state.pid,
                url: state.url,
            });
        }
        Err(err) => context.warn(&format!("the gateway columns are empty: {}", err.message)),
    }
}

/// The sync column: the same classification `sync` makes. A problem here
/// (an invalid template, a damaged file) costs the column, not the command.
fn sync_column(
    context: &Context,
    profile: Option<&crate::profile::LoadedProfile>,
    text: &str,
) -> std::collections::BTreeMap<String, &'static str> {
    let document: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).unwrap_or(serde_yaml_ng::Value::Null);
    let words = crate::catalog::Catalog::load(Some(&context.config.templates()))
        .and_then(|catalog| crate::sync::status_words(profile, &document, &catalog));
    words.unwrap_or_else(|err| {
        context.warn(&format!("the sync column is empty: {}", err.message));
        Default::default()
    })
}

fn render(report: &StatusReport) -> String {
    let mut table = Table::new();
    table.load_preset(if std::io::stdout().is_terminal() {
        presets::UTF8_FULL_CONDENSED
    } else {
        presets::NOTHING
    });
    let with_profile = report.profile.is_some();
    let with_sync = report.servers.iter().any(|s| s.sync_state.is_some());
    let mut header = vec!["SERVER"];
    if with_profile {
        header.push("PROFILE");
    }
    header.push("COMPOSE");
    if with_sync {
        header.push("SYNC");
    }
    header.extend(["CONTAINER", "IMAGE", "PORTS"]);
    let with_gateway = report.gateway.is_some();
    if with_gateway {
        header.extend(["SESSIONS", "ATTACHED", "IDLE"]);
    }
    table.set_header(header);
    for server in &report.servers {
        let mut row = vec![server.name.clone()];
        if with_profile {
            row.push(server.profile_state.clone().unwrap_or_default());
        }
        row.push(server.compose_state.clone());
        if with_sync {
            row.push(server.sync_state.clone().unwrap_or_else(|| "-".into()));
        }
        row.push(server.container_state.clone());
        row.push(server.image.clone().unwrap_or_else(|| "-".into()));
        row.push(if server.ports.is_empty() {
            "-".into()
        } else {
            server.ports.join(", ")
        });
        if with_gateway {
            match &server.gateway {
                Some(gateway) => row.extend([
                    gateway.sessions.to_string(),
                    super::gateway::yes_no(gateway.attached).to_string(),
                    gateway
                        .idle_seconds
                        .map(super::gateway::seconds)
                        .unwrap_or_else(|| "-".into()),
                ]),
                None => row.extend(["-".to_string(), "-".to_string(), "-".to_string()]),
            }
        }
        table.add_row(row);
    }
    let mut title = match &report.profile {
        Some(profile) => format!("profile {profile}, project {}", report.project),
        None => format!("project {}", report.project),
    };
    if let Some(gateway) = &report.gateway {
        title.push_str(&format!(", gateway {} (pid {})", gateway.url, gateway.pid));
    }
    format!("{title} ({})\n{table}\n", report.compose_file)
}
