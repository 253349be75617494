//! `mcpm docker up PROFILE`: [`crate::sync::up::up`] on a terminal, and its
//! report printed (one JSON document with `--json`).
use std::time::Duration;

use serde_json::json;

use crate::cli::UpArgs;
use crate::engine::wait::WaitOptions;
use crate::error::{ExitStatus, Result};
use crate::output;
use crate::profile::resolve_profile_path;
use crate::sync::up::{GatewayAfter, up};
use crate::sync::{Mode, SyncOptions};

use super::Context;
use super::sync::Terminal;

pub fn exec(context: &Context, args: UpArgs) -> Result<ExitStatus> {
    let mut options = SyncOptions {
        strategy: args.strategy,
        mode: if args.dry_run {
            Mode::DryRun
        } else {
            Mode::Write
        },
        ..SyncOptions::new(resolve_profile_path(&args.profile, &context.config)?)
    };
    let timeout = Duration::from_secs(args.timeout);
    options.deploy_options.wait = args.wait.then_some(WaitOptions {
        timeout,
        grace: args.wait_grace,
        probe: args.probe.then_some(args.probe_timeout),
    });
    options.deploy_options.dependency_timeout = timeout;
    let mut terminal = Terminal::new(context, args.json, args.yes);
    // `--json` prints one document at the end, not the sync's on its own.
    terminal.shown = args.json;
    let report = up(&context.config, &options, &mut terminal)?;
    terminal.show(&report.sync)?;
    let gateway = report.gateway.as_ref().map(describe);
    if args.json {
        let deploy = match &report.sync.deploy {
            Some(Ok(deployed)) => serde_json::to_value(deployed).unwrap_or_default(),
            Some(Err(err)) => json!({ "error": err.message }),
            None => serde_json::Value::Null,
        };
        let document = json!({
            "sync": report.sync.json(),
            "deploy": deploy,
            "gateway": gateway,
        });
        let text = serde_json::to_string_pretty(&document).unwrap_or_default();
        output::stdout(&format!("{text}\n"))?;
    }
    if let Some(err) = report.sync.error() {
        return Err(err);
    }
    let status = match report.sync.deploy {
        None => {
            context.note("dry run: nothing was written or deployed");
            return Ok(ExitStatus::Ok);
        }
        Some(Err(err)) => return Err(err),
        Some(Ok(deployed)) if args.json => match deployed.ok {
            true => ExitStatus::Ok,
            false => return Err(super::deploy::failure(&deployed)),
        },
        Some(Ok(deployed)) => super::deploy::finish(context, false, &deployed)?,
    };
    if let (Some(line), false) = (&gateway, args.json) {
        context.note(line["message"].as_str().unwrap_or_default());
    }
    match &report.gateway {
        Some(GatewayAfter::Failed { error, .. }) => Err(error.clone()),
        _ => Ok(status),
    }
}

/// What became of the gateway, for people (`message`) and scripts.
fn describe(after: &GatewayAfter) -> serde_json::Value {
    match after {
        GatewayAfter::NotRunning => json!({
            "running": false,
            "message": "no gateway runs for this project (start one with `mcpm docker gateway --profile PROFILE --detach`)",
        }),
        GatewayAfter::Current(state) => json!({
            "running": true,
            "restarted": false,
            "pid": state.pid,
            "url": state.url,
            "message": format!("the gateway (pid {}, {}) already serves this file", state.pid, state.url),
        }),
        GatewayAfter::Restarted { old_pid, state } => json!({
            "running": true,
            "restarted": true,
            "pid": state.pid,
            "url": state.url,
            "message": format!(
                "restarted the gateway on the new file: pid {old_pid} → {} at {} (clients reconnect on their next request)",
                state.pid, state.url
            ),
        }),
        GatewayAfter::Failed { pid, error } => json!({
            "running": false,
            "restarted": false,
            "error": error.message,
            "message": format!("the gateway (pid {pid}) serves the old file and could not be restarted: {}", error.message),
        }),
    }
}
