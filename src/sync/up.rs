//! `mcpm docker up PROFILE`: the profile brought to the engine in one step:
//! sync (both ways, the profile's strategy), deploy, then the project's
//! gateway, which reads its compose file once at start, restarted when the
//! file changed under it.
use std::path::Path;
use std::time::UNIX_EPOCH;

use crate::config::ConfigDir;
use crate::error::{Error, Result};
use crate::gateway::run::{self as gateway, TargetArgs};
use crate::gateway::state::{self, GatewayState};

use super::run::{Interaction, Mode, SyncOptions, SyncReport, run};

/// What `up` did with the project's gateway.
#[derive(Debug, Clone)]
pub enum GatewayAfter {
    /// No gateway runs for the project: nothing to do.
    NotRunning,
    /// One runs and started after the file was last written: it serves it.
    Current(GatewayState),
    /// One ran on an older file and was restarted on the same address.
    Restarted { old_pid: u32, state: GatewayState },
    /// One ran on an older file and could not be restarted.
    Failed { pid: u32, error: Error },
}

/// The sync (with its deploy) and what became of the gateway.
#[derive(Debug, Clone)]
pub struct UpReport {
    pub sync: SyncReport,
    /// `None` when no deploy ran (dry run, conflicts, a failed sync).
    pub gateway: Option<GatewayAfter>,
}

/// Syncs with a deploy after it (never in a dry run), then checks the
/// project's gateway. `options.deploy` is forced on.
pub fn up(config: &ConfigDir, options: &SyncOptions, ui: &mut dyn Interaction) -> Result<UpReport> {
    let options = SyncOptions {
        deploy: Some(options.mode == Mode::Write),
        ..options.clone()
    };
    let sync = run(config, &options, ui)?;
    let gateway = match &sync.deploy {
        Some(Ok(deployed)) if deployed.ok => Some(gateway_after(
            config,
            &deployed.project,
            &sync.compose_file,
            &options.profile,
        )),
        _ => None,
    };
    Ok(UpReport { sync, gateway })
}

fn gateway_after(config: &ConfigDir, project: &str, file: &Path, profile: &Path) -> GatewayAfter {
    let Some(running) = state::running(config, project) else {
        return GatewayAfter::NotRunning;
    };
    let written = std::fs::metadata(file)
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(u64::MAX, |since| since.as_secs());
    // `started_at` has whole seconds: a file written in the second the
    // gateway started counts as newer, so the doubt restarts it.
    if written < running.started_at {
        return GatewayAfter::Current(running);
    }
    let target = TargetArgs {
        compose_file: Some(file.to_path_buf()),
        profile: Some(profile.display().to_string()),
        project: None,
    };
    match gateway::restart(config, project, &target, &running.listen) {
        Ok(started) => GatewayAfter::Restarted {
            old_pid: running.pid,
            state: started.state,
        },
        Err(error) => GatewayAfter::Failed {
            pid: running.pid,
            error,
        },
    }
}
