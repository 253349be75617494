//! `status::run`: reads what a status report is made of — the profile, the
//! compose file (parsed ONCE and shared by every column), one container
//! listing and the gateway's view — and builds the report. `commands/status.rs`
//! only turns flags into [`StatusOptions`] and renders the report.
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_yaml_ng::Value;

use crate::config::ConfigDir;
use crate::engine::connect::{block_on, connect, docker_host};
use crate::engine::{desired, observe, stats, target};
use crate::error::{Error, Result};

use super::{
    EngineState, GatewayRef, StatusInput, StatusReport, add_gateway, add_resources, raw_services,
    rows,
};

/// What `status` looks at.
#[derive(Debug, Clone, Default)]
pub struct StatusOptions {
    /// The profile to compare (a path or a name in `<config dir>/profiles/`).
    pub profile: Option<String>,
    /// `-f`: the compose file [default: the profile's, else one found here].
    pub compose_file: Option<PathBuf>,
    /// `-p`: the project; enough alone, without a compose file (the rows
    /// then come from the engine's labels).
    pub project: Option<String>,
    /// `--probe`: speak MCP to each running stdio server, with this timeout
    /// per probe.
    pub probe: Option<std::time::Duration>,
    /// `--stats`: read the CPU and memory of the running containers too
    /// (one concurrent stats read each).
    pub stats: bool,
}

/// Builds the status report. Problems that cost a column (engine
/// unreachable, an unresolvable file, a damaged template) land in
/// `report.warnings`; only a missing or unreadable input is an error.
pub fn run(config: &ConfigDir, options: &StatusOptions) -> Result<StatusReport> {
    let target = target::resolve(
        options.compose_file.as_deref(),
        options.profile.as_deref(),
        options.project.as_deref(),
        config,
    )?;
    let mut warnings = Vec::new();
    if options.compose_file.is_none()
        && let Some(note) = target.profile.as_ref().and_then(|p| p.legacy_note(config))
    {
        warnings.push(note);
    }
    let compose = read_compose(&target, options, &mut warnings)?;
    let raw = compose.as_ref().map(|(_, document)| raw_services(document));
    let sync = match &compose {
        Some((_, document)) => {
            sync_column(config, target.profile.as_ref(), document, &mut warnings)
        }
        None => BTreeMap::new(),
    };
    let resolved = compose
        .as_ref()
        .filter(|(text, _)| !text.is_empty())
        .and_then(|(text, document)| {
            let file = std::path::absolute(&target.file).unwrap_or_else(|_| target.file.clone());
            let env = |n: &str| std::env::var(n).ok();
            match desired::load_document(&file, text, document.clone(), &target.options, &env) {
                Ok(desired) => Some(desired),
                Err(err) => {
                    warnings.push(format!(
                        "cannot resolve {} ({}), so outdated containers are not detected",
                        target.file.display(),
                        err.message
                    ));
                    None
                }
            }
        });
    let project = match (&resolved, &compose) {
        (Some(desired), _) => desired.project.clone(),
        (None, Some((text, document))) if !text.is_empty() => {
            target::project_of(&target, document)?
        }
        _ => target
            .options
            .project
            .clone()
            .or(target.options.fallback_project.clone())
            .unwrap_or_default(),
    };

    let mut measurements = None;
    let mut probed = None;
    let observed = block_on(async {
        let engine = match connect().await {
            Ok(engine) => engine,
            Err(err) => return Ok(Err(err)),
        };
        let containers = match observe::containers(&engine, &project).await {
            Ok(containers) => containers,
            Err(err) => return Ok(Err(err)),
        };
        // `--stats` and `--probe` both read the engine once per container:
        // on the same connection, at the same time.
        let measured = async {
            if !options.stats {
                return None;
            }
            // The container each row shows: the first of its service.
            let shown: Vec<_> = containers
                .values()
                .filter_map(|l| l.first().cloned())
                .collect();
            Some(stats::read_all(&engine, &shown).await)
        };
        let probes = async {
            match (options.probe, resolved.as_ref()) {
                (Some(timeout), Some(desired)) => {
                    Some(probe_all(config, &engine, desired, &containers, timeout).await)
                }
                _ => None,
            }
        };
        let (measured, probes) = tokio::join!(measured, probes);
        Ok(Ok((containers, measured, probes)))
    })?;
    let (containers, engine_error) = match observed {
        Ok((containers, measured, probes)) => {
            measurements = match measured {
                Some(Ok(measured)) => Some(measured),
                Some(Err(err)) => {
                    warnings.push(format!(
                        "the MEM and CPU columns are empty: {}",
                        err.message
                    ));
                    None
                }
                None => None,
            };
            probed = probes;
            (Some(containers), None)
        }
        Err(err) => {
            warnings.push(err.message.clone());
            (None, Some(err.message))
        }
    };
    let mut servers = rows(&StatusInput {
        profile: target.profile.as_ref().map(|p| &p.profile),
        raw_services: raw.as_ref(),
        desired: resolved.as_ref(),
        sync: &sync,
        containers: containers.as_ref(),
    });
    if let Some(measured) = &measurements {
        add_resources(&mut servers, measured);
    }
    let mut report = StatusReport {
        profile: target.profile.as_ref().map(|p| p.profile.name.clone()),
        project,
        compose_file: compose.as_ref().map(|_| target.file.display().to_string()),
        engine: EngineState {
            host: docker_host(),
            reachable: containers.is_some(),
            error: engine_error,
        },
        servers,
        gateway: None,
        warnings,
    };
    add_gateway_view(config, &mut report, raw.as_ref());
    if options.probe.is_some() {
        add_probes(
            &mut report,
            resolved.is_some(),
            containers.is_some(),
            probed,
        );
    }
    Ok(report)
}

/// The compose file's text and document, parsed once. `None`: status reads
/// the engine alone (`-p NAME` without a file). A profile without its file
/// yet reads as an empty file: every server is only in the profile.
fn read_compose(
    target: &target::Target,
    options: &StatusOptions,
    warnings: &mut Vec<String>,
) -> Result<Option<(String, Value)>> {
    let text = match crate::files::read_optional(&target.file)? {
        Some(text) => text,
        None if target.profile.is_some() => {
            warnings.push(format!(
                "{} does not exist yet; `mcpm docker generate` or `sync` writes it",
                target.file.display()
            ));
            return Ok(Some((String::new(), Value::Null)));
        }
        None if options.project.is_some() => {
            if options.compose_file.is_some() {
                warnings.push(format!(
                    "{} does not exist; showing project `{}` as the engine has it",
                    target.file.display(),
                    options.project.as_deref().unwrap_or_default()
                ));
            }
            return Ok(None);
        }
        None => {
            return Err(Error::invalid(format!(
                "cannot read {}: no such file or directory",
                target.file.display()
            ))
            .hint(
                "pass -f FILE, a profile, or -p PROJECT to read a project from the engine alone",
            ));
        }
    };
    let document = crate::compose::parse_yaml(&target.file, &text)?;
    Ok(Some((text, document)))
}

/// The sync column: the same classification `sync` makes. A problem here
/// (an invalid template, a damaged file) costs the column, not the command.
fn sync_column(
    config: &ConfigDir,
    profile: Option<&crate::profile::LoadedProfile>,
    document: &Value,
    warnings: &mut Vec<String>,
) -> BTreeMap<String, &'static str> {
    let words = crate::catalog::Catalog::load(Some(&config.templates()))
        .and_then(|catalog| crate::sync::status_words(profile, document, &catalog));
    words.unwrap_or_else(|err| {
        warnings.push(format!("the sync column is empty: {}", err.message));
        BTreeMap::new()
    })
}

/// The gateway's columns, when a gateway runs for the project. A gateway
/// that does not answer costs the columns, not the command.
fn add_gateway_view(
    config: &ConfigDir,
    report: &mut StatusReport,
    raw: Option<&BTreeMap<String, Value>>,
) {
    let Some(state) = crate::gateway::state::running(config, &report.project) else {
        return;
    };
    match crate::gateway::connect::status(&state.socket) {
        Ok(view) => {
            add_gateway(&mut report.servers, raw.unwrap_or(&BTreeMap::new()), &view);
            report.gateway = Some(GatewayRef {
                pid: state.pid,
                url: state.url,
            });
        }
        Err(err) => report
            .warnings
            .push(format!("the gateway columns are empty: {}", err.message)),
    }
}

/// `--probe`: the MCP health of each stdio server of `desired` (see
/// [`crate::gateway::probe`]), concurrently, on the engine status reads.
async fn probe_all(
    config: &ConfigDir,
    engine: &crate::engine::connect::Engine,
    desired: &desired::Desired,
    containers: &BTreeMap<String, Vec<observe::ObservedContainer>>,
    timeout: std::time::Duration,
) -> Result<BTreeMap<String, crate::gateway::probe::Probe>> {
    let services: Vec<(String, bool)> = desired
        .services
        .keys()
        .map(|name| {
            let running = containers.get(name).is_some_and(|list| {
                list.iter()
                    .any(|c| c.state == observe::ContainerState::Running)
            });
            (name.clone(), running)
        })
        .collect();
    let prober = crate::gateway::probe::Prober::new(config, engine.clone(), desired, timeout)?;
    Ok(prober.probe_services(&services).await)
}

/// Puts the probes on the rows. What kept probes from being made (no
/// resolved compose file, no engine) is a warning, not an error.
fn add_probes(
    report: &mut StatusReport,
    resolved: bool,
    reachable: bool,
    probed: Option<Result<BTreeMap<String, crate::gateway::probe::Probe>>>,
) {
    use crate::gateway::probe::Probe;
    for server in &mut report.servers {
        if server.profile_state.as_deref() == Some("remote") {
            server.probe = Some(Probe::failed("not-probed", "not probed (remote)"));
        }
    }
    if !resolved {
        report.warnings.push(
            "--probe needs the compose file (resolved) to know the stdio servers: pass -f FILE or a profile"
                .into(),
        );
        return;
    }
    if !reachable {
        report
            .warnings
            .push("--probe made no probes: the engine is unreachable".into());
        return;
    }
    match probed {
        Some(Ok(mut probes)) => {
            for server in &mut report.servers {
                if let Some(probe) = probes.remove(&server.name) {
                    server.probe = Some(probe);
                }
            }
        }
        Some(Err(err)) => report
            .warnings
            .push(format!("--probe made no probes: {}", err.message)),
        None => {}
    }
}
