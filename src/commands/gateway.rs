//! `mcpm docker gateway [status|stop]`: runs (or starts detached), shows and
//! stops the project's gateway; the work is in `gateway::run`.
use std::ffi::OsString;

use serde_json::json;

use crate::cli::{ComposeTarget, GatewayArgs, GatewayCommand, GatewayStatusArgs};
use crate::engine::connect::block_on;
use crate::error::{ExitStatus, Result};
use crate::gateway::run::{self, RunOptions, Stopped, TargetArgs};
use crate::gateway::{GatewayView, connect, state};
use crate::output;

use super::Context;

/// The command's target as the gateway's.
pub fn target_args(target: &ComposeTarget) -> TargetArgs {
    TargetArgs {
        compose_file: target.compose_file.clone(),
        profile: target.profile.clone(),
        project: target.project_name.clone(),
    }
}

pub fn exec(context: &Context, args: GatewayArgs) -> Result<ExitStatus> {
    match args.command {
        Some(GatewayCommand::Status(status)) => show(context, status),
        Some(GatewayCommand::Stop(stop)) => {
            let project = run::project(&context.config, &target_args(&stop.target))?;
            let message = match run::stop(&context.config, &project)? {
                Stopped::NotRunning => format!("no gateway runs for project {project}"),
                Stopped::Stopped { pid } => {
                    format!("stopped the gateway for project {project} (pid {pid})")
                }
                Stopped::Killed { pid } => format!(
                    "killed the gateway for project {project} (pid {pid}): it did not exit within {} s of SIGTERM",
                    run::STOP_TIMEOUT.as_secs()
                ),
            };
            context.note(&message);
            Ok(ExitStatus::Ok)
        }
        None if args.detach => detach(context, &args.target),
        None => {
            let report: fn(&str) = if context.quiet {
                |_| {}
            } else {
                |line| eprintln!("{line}")
            };
            block_on(run::run(RunOptions {
                config: context.config.clone(),
                target: target_args(&args.target),
                listen: args.listen,
                report,
            }))?;
            Ok(ExitStatus::Ok)
        }
    }
}

/// `--detach`: checks the servers here (so a bad file is reported to this
/// terminal, not the log), then runs the same command line without
/// `--detach` in the background.
fn detach(context: &Context, target: &ComposeTarget) -> Result<ExitStatus> {
    let loaded = run::load(&context.config, &target_args(target))?;
    loaded.check_servable()?;
    let args: Vec<OsString> = std::env::args_os()
        .skip(1)
        .filter(|arg| arg != "--detach")
        .collect();
    let started = run::start_detached(&context.config, &loaded.project, &args)?;
    let state = &started.state;
    let lead = if started.already_running {
        format!(
            "a gateway for project {} already runs (pid {})",
            state.project, state.pid
        )
    } else {
        format!(
            "started the gateway for project {} (pid {})",
            state.project, state.pid
        )
    };
    output::stdout(&format!(
        "{lead}\n  url:    {}\n  token:  {}\n  socket: {}\n  log:    {}\n",
        state.url,
        state.token_file.display(),
        state.socket.display(),
        state::log_path(&context.config, &state.project).display()
    ))?;
    Ok(ExitStatus::Ok)
}

fn show(context: &Context, args: GatewayStatusArgs) -> Result<ExitStatus> {
    let project = run::project(&context.config, &target_args(&args.target))?;
    let Some(state) = state::running(&context.config, &project) else {
        if args.json {
            output::stdout("{\"running\":false}\n")?;
        } else {
            output::stdout(&format!("no gateway runs for project {project}\n"))?;
            if let Some(stale) = state::read(&context.config, &project) {
                context.note(&format!(
                    "(the state of an earlier gateway, pid {}, was left behind; the next start replaces it)",
                    stale.pid
                ));
            }
        }
        return Ok(ExitStatus::Ok);
    };
    let view = connect::status(&state.socket)?;
    if args.json {
        let mut value = serde_json::to_value(&state).unwrap_or_default();
        value["running"] = json!(true);
        value["servers"] = serde_json::to_value(&view.servers).unwrap_or_default();
        output::json(&value)?;
        return Ok(ExitStatus::Ok);
    }
    let up = state::now_unix().saturating_sub(state.started_at);
    output::stdout(&format!(
        "gateway for project {} runs (pid {}, up {})\n  url:    {}\n  token:  {}\n  socket: {}\n{}",
        state.project,
        state.pid,
        seconds(up),
        state.url,
        state.token_file.display(),
        state.socket.display(),
        render(&view)
    ))?;
    Ok(ExitStatus::Ok)
}

fn render(view: &GatewayView) -> String {
    let mut table = output::table([
        "SERVER", "STRATEGY", "SHARING", "SESSIONS", "ATTACHED", "IDLE",
    ]);
    for server in &view.servers {
        table.add_row([
            server.name.clone(),
            server.strategy.clone(),
            server.sharing.clone(),
            server.sessions.to_string(),
            yes_no(server.attached).to_string(),
            server
                .idle_seconds
                .map(seconds)
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    format!("{table}\n")
}

/// `yes` / `no`, as the ATTACHED column says it.
pub fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// A number of seconds as `45s`, `12m3s`, `2h5m`.
pub fn seconds(total: u64) -> String {
    let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60);
    match (hours, minutes) {
        (0, 0) => format!("{secs}s"),
        (0, _) => format!("{minutes}m{secs}s"),
        _ => format!("{hours}h{minutes}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(seconds(0), "0s");
        assert_eq!(seconds(45), "45s");
        assert_eq!(seconds(723), "12m3s");
        assert_eq!(seconds(7500), "2h5m");
    }
}
