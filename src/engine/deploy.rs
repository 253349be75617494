//! `deploy` end to end: observe → plan → execute (→ wait), returning a report
//! of every step. The command prints it; this module never prints.
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::config::ConfigDir;
use crate::error::{Error, Result};
use crate::gateway::probe::Prober;
use crate::profile::LoadedProfile;

use super::connect::{Engine, block_on, connect};
use super::desired::{self, Desired};
use super::execute::{Executor, StepResult, StepStatus};
use super::observe;
use super::plan::{self, Action, Plan, PlanOptions};
use super::progress::Progress;
use super::wait::{WaitOptions, WaitOutcome, wait_ready};

/// What the user asked deploy to do.
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    pub plan: PlanOptions,
    /// Stop after planning.
    pub dry_run: bool,
    /// `--wait`: wait for the started services to be ready.
    pub wait: Option<WaitOptions>,
    /// How long a service waits for a dependency's condition.
    pub dependency_timeout: Duration,
}

/// Which compose file a deploy converges to: `-f`, else the profile's file,
/// else compose's default names here (see [`super::target::resolve`]).
#[derive(Debug, Clone, Default)]
pub struct DeployTarget {
    pub compose_file: Option<PathBuf>,
    /// A profile name or path.
    pub profile: Option<String>,
    pub project_name: Option<String>,
}

/// `mcpm docker deploy` as a library operation: resolves the target, loads
/// the file, connects to the engine and converges it. `on_plan` sees the plan
/// (and the file it came from) before anything is executed.
pub fn run(
    config: &ConfigDir,
    request: &DeployTarget,
    options: &DeployOptions,
    progress: &Progress,
    on_plan: &dyn Fn(&Plan, &Path) -> Result<()>,
) -> Result<DeployReport> {
    let target = super::target::resolve(
        request.compose_file.as_deref(),
        request.profile.as_deref(),
        request.project_name.as_deref(),
        config,
    )?;
    let desired = desired::load(&target.file, &target.options)?;
    preflight(config, &desired, &options.plan.services)?;
    let unsynced = match (&target.profile, &request.profile) {
        (Some(loaded), Some(name)) => unsynced(config, loaded, &target.file)
            .filter(|servers| !servers.is_empty())
            .map(|servers| Unsynced {
                profile: name.clone(),
                servers,
            }),
        _ => None,
    };
    let show_plan = |plan: &Plan| on_plan(plan, &desired.file);
    let mut report = block_on(async {
        let engine = connect().await?;
        let prober = match options.wait.and_then(|w| w.probe) {
            Some(timeout) => Some(Prober::new(config, engine.clone(), &desired, timeout)?),
            None => None,
        };
        deploy(
            &engine,
            &desired,
            options,
            prober.as_ref(),
            progress,
            &show_plan,
        )
        .await
    })?;
    report.unsynced = unsynced;
    Ok(report)
}

/// Refuses a file that would deploy services that cannot work (see
/// [`super::preflight`]), before the engine is touched; a dry run too. Only
/// the services this deploy would create count (`named` and what they need,
/// or every active service).
fn preflight(config: &ConfigDir, desired: &Desired, named: &[String]) -> Result<()> {
    let scope = plan::scope(desired, named)?;
    let bytes =
        std::fs::read(&desired.file).map_err(|err| Error::io("read", &desired.file, err))?;
    let text = crate::source::decode(&desired.file, bytes)?;
    // A broken user template is the catalog's error to report elsewhere;
    // the built-in entries still say which variables are required.
    // Only generated services name a template; a hand-written file needs no catalog.
    let catalog = if desired
        .services
        .values()
        .any(|s| s.config.labels.contains_key(crate::labels::TEMPLATE))
    {
        Some(Catalog::load(Some(&config.templates())).or_else(|_| Catalog::load(None))?)
    } else {
        None
    };
    let problems: Vec<_> = super::preflight::check(desired, &text, catalog.as_ref())
        .into_iter()
        .filter(|p| scope.contains_key(&p.service))
        .collect();
    match super::preflight::refusal(&problems, &desired.dir.join(".env")) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// A profile whose changes the compose file does not have yet: deploying the
/// file deploys without them, which the user must be told.
#[derive(Debug, Clone, Serialize)]
pub struct Unsynced {
    /// The profile as the user named it.
    pub profile: String,
    /// `server (state)`, as `status` shows the state.
    pub servers: Vec<String>,
}

/// The servers where profile and file are not in step (the same three-way
/// judgement as `status`), or `None` when that cannot be told (a file that
/// does not parse is deploy's own error to report).
fn unsynced(config: &ConfigDir, loaded: &LoadedProfile, file: &Path) -> Option<Vec<String>> {
    let text = crate::files::read_optional(file).ok()??;
    let document = crate::compose::parse_yaml(file, &text).ok()?;
    let catalog = Catalog::load(Some(&config.templates())).ok()?;
    let words = crate::sync::status_words(Some(loaded), &document, &catalog).ok()?;
    Some(
        words
            .into_iter()
            .filter(|(_, word)| matches!(*word, "profile-changed" | "only-profile" | "conflict"))
            .map(|(server, word)| format!("{server} ({word})"))
            .collect(),
    )
}

/// Everything a deploy did (or, with `--dry-run`, would do).
#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    pub project: String,
    pub compose_file: String,
    pub dry_run: bool,
    pub plan: Plan,
    /// One entry per step, in execution order (empty for a dry run).
    pub results: Vec<StepResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<WaitOutcome>,
    pub warnings: Vec<String>,
    /// No step failed and every awaited service is ready.
    pub ok: bool,
    /// `--profile`: the profile's changes the file does not have yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsynced: Option<Unsynced>,
}

impl DeployReport {
    /// The steps that failed or were skipped.
    pub fn failures(&self) -> impl Iterator<Item = &StepResult> {
        self.results.iter().filter(|r| r.is_failure())
    }
}

/// Converges the engine to `desired`. `on_plan` sees the plan before anything
/// is executed (the command prints it there).
pub async fn deploy(
    engine: &Engine,
    desired: &Desired,
    options: &DeployOptions,
    prober: Option<&Prober>,
    progress: &Progress,
    on_plan: &dyn Fn(&Plan) -> Result<()>,
) -> Result<DeployReport> {
    // Restarts of containers created from here on happened in this deploy.
    let since = std::time::SystemTime::now();
    let images: Vec<String> = desired
        .services
        .values()
        .filter_map(|s| s.config.image.clone())
        .collect();
    let mut observed = observe::observe(engine, &desired.project, &images).await?;
    let plan = plan::plan(desired, &observed, &options.plan)?;
    let mut warnings = desired.warnings.clone();
    let orphans: Vec<&str> = plan
        .orphans
        .iter()
        .filter(|o| !o.remove)
        .map(|o| o.container.as_str())
        .collect();
    if !orphans.is_empty() {
        warnings.push(format!(
            "containers of services no longer in the file: {} (remove them with --remove-orphans)",
            orphans.join(", ")
        ));
    }
    let mut report = DeployReport {
        project: desired.project.clone(),
        compose_file: desired.file.display().to_string(),
        dry_run: options.dry_run,
        plan: plan.clone(),
        results: Vec::new(),
        wait: None,
        warnings,
        ok: true,
        unsynced: None,
    };
    on_plan(&plan)?;
    if options.dry_run {
        report.ok = !plan
            .steps()
            .any(|s| matches!(s.action, Action::Blocked { .. }));
        return Ok(report);
    }

    let executor = Executor {
        engine,
        desired,
        progress,
        dependency_timeout: options.dependency_timeout,
    };
    let mut levels = plan.levels.clone();
    if !plan.is_noop() {
        let (results, failed_images) = executor.prepare(&plan).await;
        report.results = results;
        if !plan.pulls.is_empty() {
            // A pull may bring a new image id, which makes containers outdated.
            observed.images = observe::image_ids(engine, &images).await;
            levels = plan::plan(desired, &observed, &options.plan)?.levels;
        }
        let results = executor.converge(&levels, &failed_images).await;
        report.results.extend(results);
    } else {
        report.results = plan
            .steps()
            .map(|step| StepResult {
                kind: "container",
                name: step.container.clone(),
                service: Some(step.service.clone()),
                action: step.action.verb().to_string(),
                status: StepStatus::Unchanged,
                error: None,
                id: match &step.action {
                    Action::Keep { id } => Some(id.clone()),
                    _ => None,
                },
                started: false,
            })
            .collect();
    }

    if let Some(wait) = options.wait {
        let started: Vec<String> = levels
            .iter()
            .flatten()
            .filter(|s| s.start)
            .map(|s| s.service.clone())
            .filter(|s| {
                !report
                    .failures()
                    .any(|r| r.service.as_deref() == Some(s.as_str()))
            })
            .collect();
        report.wait =
            Some(wait_ready(engine, &desired.project, &started, wait, since, prober).await?);
    }
    report.ok = report.failures().next().is_none()
        && report.wait.as_ref().is_none_or(|w| w.not_ready.is_empty());
    Ok(report)
}
