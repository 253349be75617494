//! What the engine commands share: finding the compose file and project, and
//! printing per-step results as text or JSON.
use serde_json::json;

use crate::cli::ComposeTarget;
use crate::engine::execute::{StepResult, StepStatus};
use crate::engine::target::{self, ProjectRef, Target};
use crate::error::{Error, Result};
use crate::output;

use super::Context;

/// Resolves `-f` / `--profile` / `-p` to a compose file and project.
pub fn resolve(context: &Context, target: &ComposeTarget) -> Result<(Target, ProjectRef)> {
    let target = target::resolve(
        target.compose_file.as_deref(),
        target.profile.as_deref(),
        target.project_name.as_deref(),
        &context.config,
    )?;
    let project = target::project_ref(&target)?;
    Ok((target, project))
}

/// One line per result: `kind  name  what happened`.
pub fn render_results(results: &[StepResult]) -> String {
    let width = results.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for result in results {
        out.push_str(&format!(
            "  {:<9} {:<width$}  {}\n",
            result.kind,
            result.name,
            outcome_text(result)
        ));
    }
    out
}

/// `created, started`, `unchanged`, `FAILED: why`.
pub fn outcome_text(result: &StepResult) -> String {
    match result.status {
        StepStatus::Done => {
            let done = match result.action.as_str() {
                "create" => "created",
                "recreate" => "recreated",
                "start" => "started",
                "pull" => "pulled",
                "remove" => "removed",
                "stop" => "stopped",
                "restart" => "restarted",
                "unchanged" => "unchanged",
                other => other,
            };
            if result.started && !matches!(done, "started" | "restarted") {
                format!("{done}, started")
            } else {
                done.to_string()
            }
        }
        StepStatus::Unchanged => match result.action.as_str() {
            "stop" => "not running".into(),
            "restart" => "not started (never was; name it to start it)".into(),
            _ => "unchanged".into(),
        },
        StepStatus::Failed => format!(
            "FAILED: {}",
            result.error.as_deref().unwrap_or("unknown error")
        ),
        StepStatus::Skipped => format!("skipped: {}", result.error.as_deref().unwrap_or("")),
    }
}

/// Prints the results of a lifecycle command and turns failures into exit 1.
pub fn finish(
    context: &Context,
    verb: &str,
    project: &str,
    results: &[StepResult],
    json: bool,
) -> Result<crate::error::ExitStatus> {
    let failed = results.iter().filter(|r| r.is_failure()).count();
    if json {
        let report = json!({
            "project": project,
            "action": verb,
            "results": results,
            "ok": failed == 0,
        });
        output::json(&report)?;
    } else if results.is_empty() {
        context.note(&format!("{verb}: nothing to do in project `{project}`"));
    } else if !context.quiet || failed > 0 {
        output::stdout(&format!(
            "{verb} (project {project}):\n{}",
            render_results(results)
        ))?;
    }
    if failed > 0 {
        return Err(Error::runtime(format!(
            "{verb}: {failed} of {} failed",
            crate::output::count(results.len(), "step", "steps")
        ))
        .hint("see the FAILED lines above; running the command again retries them"));
    }
    Ok(crate::error::ExitStatus::Ok)
}
