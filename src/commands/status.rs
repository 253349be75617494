//! `mcpm docker status [PROFILE]`: turns the flags into `StatusOptions`, runs
//! `engine::status::run` and renders its report as a table or JSON. Works
//! without an engine (the container column says `unreachable`).

use crate::cli::StatusArgs;
use crate::engine::status::{StatusOptions, StatusReport, run};
use crate::error::{ExitStatus, Result};
use crate::output;

use super::Context;

pub fn exec(context: &Context, args: StatusArgs) -> Result<ExitStatus> {
    let report = run(
        &context.config,
        &StatusOptions {
            profile: args.profile,
            compose_file: args.compose_file,
            project: args.project_name,
            probe: args.probe.then_some(args.probe_timeout),
            stats: args.stats,
        },
    )?;
    for warning in &report.warnings {
        context.warn(warning);
    }
    if args.json {
        output::json(&report)?;
    } else {
        output::stdout(&render(&report, args.stats))?;
    }
    Ok(ExitStatus::Ok)
}

fn render(report: &StatusReport, with_stats: bool) -> String {
    let with_profile = report.profile.is_some();
    let dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
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
    let with_probe = report.servers.iter().any(|s| s.probe.is_some());
    if with_probe {
        header.extend(["TOOLS", "RTT"]);
    }
    if with_stats {
        header.extend(["MEM", "CPU %"]);
    }
    let mut table = output::table(header);
    for server in &report.servers {
        let mut row = vec![server.name.clone()];
        if with_profile {
            row.push(server.profile_state.clone().unwrap_or_default());
        }
        row.push(dash(&server.compose_state));
        if with_sync {
            row.push(dash(&server.sync_state));
        }
        row.push(dash(&server.container_state));
        row.push(dash(&server.image));
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
        if with_probe {
            row.extend(probe_cells(server.probe.as_ref()));
        }
        if with_stats {
            match &server.resources {
                Some(resources) => row.extend([
                    super::stats::memory_cell(&resources.memory),
                    resources
                        .cpu_percent
                        .map_or_else(|| "-".to_string(), |p| format!("{p:.2}%")),
                ]),
                None => row.extend(["-".to_string(), "-".to_string()]),
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
    let file = match &report.compose_file {
        Some(file) => file.clone(),
        None => "no compose file: the engine's containers".to_string(),
    };
    format!("{title} ({file})\n{table}\n")
}

/// TOOLS and RTT: the tool count and the `tools/list` round trip, or (in
/// TOOLS) why the probe failed; `-` for a service that runs no stdio server.
fn probe_cells(probe: Option<&crate::gateway::probe::Probe>) -> [String; 2] {
    match probe {
        None => ["-".into(), "-".into()],
        Some(probe) if probe.ok => [
            probe.tools.map(|n| n.to_string()).unwrap_or_default(),
            probe
                .rtt_ms
                .map(|ms| format!("{ms:.1} ms"))
                .unwrap_or_else(|| "-".into()),
        ],
        Some(probe) => [probe.summary(), "-".into()],
    }
}
