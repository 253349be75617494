//! `mcpm docker deploy [SERVICES...]`: converges the engine to the compose
//! file and reports every step (or, with `--dry-run`, the plan).
use std::path::Path;
use std::time::Duration;

use crate::cli::{DeployArgs, PullPolicyArg};
use crate::engine::deploy::{self, DeployOptions, DeployReport, DeployTarget};
use crate::engine::execute::StepStatus;
use crate::engine::plan::{Action, Plan, PlanOptions, PullMode};
use crate::engine::progress::Progress;
use crate::engine::wait::{WaitOptions, WaitOutcome};
use crate::error::{Error, ExitStatus, Result};
use crate::output;

use super::Context;
use super::lifecycle::render_results;

pub fn exec(context: &Context, args: DeployArgs) -> Result<ExitStatus> {
    let target = DeployTarget {
        compose_file: args.target.compose_file.clone(),
        profile: args.target.profile.clone(),
        project_name: args.target.project_name.clone(),
    };
    let timeout = Duration::from_secs(args.timeout);
    let options = DeployOptions {
        plan: PlanOptions {
            services: args.services.clone(),
            pull: args.pull.map(|p| match p {
                PullPolicyArg::Missing => PullMode::Missing,
                PullPolicyArg::Always => PullMode::Always,
                PullPolicyArg::Never => PullMode::Never,
            }),
            remove_orphans: args.remove_orphans,
        },
        dry_run: args.dry_run,
        wait: args.wait.then_some(WaitOptions {
            timeout,
            grace: args.wait_grace,
            probe: args.probe.then_some(args.probe_timeout),
        }),
        dependency_timeout: timeout,
    };
    let progress = if args.json {
        Progress::quiet()
    } else {
        Progress::new(context.quiet)
    };
    let on_plan =
        |plan: &Plan, file: &Path| show_plan(context, args.json, args.dry_run, plan, file);
    let report = deploy::run(&context.config, &target, &options, &progress, &on_plan)?;
    finish(context, args.json, &report)
}

/// Prints the plan before it runs (it is all a dry run shows).
pub fn show_plan(
    context: &Context,
    json: bool,
    dry_run: bool,
    plan: &Plan,
    file: &Path,
) -> Result<()> {
    if !json && (dry_run || (!context.quiet && !plan.is_noop())) {
        output::stdout(&render_plan(plan, &file.display().to_string()))?;
    }
    Ok(())
}

/// Prints a deploy's report and turns it into the exit status.
pub fn finish(context: &Context, json: bool, report: &DeployReport) -> Result<ExitStatus> {
    for warning in &report.warnings {
        context.warn(warning);
    }
    if let Some(unsynced) = &report.unsynced {
        context.warn(&format!(
            "profile `{}` has changes not yet in the compose file ({}); deploy uses the file as it is. Bring them over with `mcpm docker up {}` (sync, then deploy)",
            unsynced.profile,
            unsynced.servers.join(", "),
            unsynced.profile
        ));
    }
    if json {
        output::json(report)?;
    } else if !report.dry_run && (!context.quiet || !report.ok) {
        output::stdout(&render_report(report))?;
    }
    if report.ok {
        return Ok(ExitStatus::Ok);
    }
    Err(failure(report))
}

/// The error for a deploy that did not fully succeed.
pub fn failure(report: &DeployReport) -> Error {
    if report.dry_run {
        return Error::runtime(
            "the plan has services that cannot be deployed (see `blocked` above)",
        )
        .hint("pull the images (`mcpm docker pull`) or drop --pull never");
    }
    let mut failed: Vec<String> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    for result in report.failures() {
        let what = match (&result.service, result.kind) {
            (Some(service), "container") => format!("service {service}"),
            (_, kind) => format!("{kind} {}", result.name),
        };
        if result.status == StepStatus::Skipped {
            skipped.push(what);
        } else {
            failed.push(what);
        }
    }
    if !failed.is_empty() || !skipped.is_empty() {
        let done = report
            .results
            .iter()
            .filter(|r| r.status == StepStatus::Done)
            .count();
        let skipped = if skipped.is_empty() {
            String::new()
        } else {
            format!("; skipped: {}", skipped.join(", "))
        };
        return Error::runtime(format!(
            "deploy of project `{}` failed: {}{skipped} ({} succeeded and {} kept)",
            report.project,
            failed.join(", "),
            output::count(done, "other step", "other steps"),
            if done == 1 { "is" } else { "are" }
        ))
        .hint(
            "fix the cause shown above and run deploy again: it picks up where this one stopped",
        );
    }
    let not_ready = report
        .wait
        .as_ref()
        .map(|w| {
            w.not_ready
                .iter()
                .map(|s| match w.problems.get(s) {
                    Some(problem) => format!("{s} ({})", problem.reason),
                    None => format!(
                        "{s} ({})",
                        w.services.get(s).map(String::as_str).unwrap_or("?")
                    ),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    Error::runtime(format!("deployed, but not ready: {not_ready}"))
        .hint("the last log lines are above (all of them: `mcpm docker logs SERVER`); fix the server's command, image or variables and deploy again, or wait longer with --timeout / --wait-grace")
}

/// The plan, one line per operation.
fn render_plan(plan: &Plan, file: &str) -> String {
    let mut out = format!("Plan for project {} ({file}):\n", plan.project);
    for orphan in &plan.orphans {
        let verb = if orphan.remove { "remove" } else { "orphan" };
        out.push_str(&format!(
            "  {verb:<9} {} (service `{}` is not in the file)\n",
            orphan.container, orphan.service
        ));
    }
    for network in &plan.networks {
        match &network.recreate {
            None => out.push_str(&format!("  {:<9} network {}\n", "create", network.name)),
            Some(reason) => out.push_str(&format!(
                "  {:<9} network {}: {reason} (its containers are stopped, reconnected and started again)\n",
                "recreate", network.name
            )),
        }
    }
    for volume in &plan.volumes {
        out.push_str(&format!("  {:<9} volume {}\n", "create", volume.name));
    }
    for pull in &plan.pulls {
        let again = if pull.present {
            " (present; --pull always)"
        } else {
            ""
        };
        out.push_str(&format!("  {:<9} {}{again}\n", "pull", pull.image));
    }
    for (level, steps) in plan.levels.iter().enumerate() {
        for step in steps {
            let detail = match &step.action {
                Action::Recreate { reason, .. } => format!(": {reason}"),
                Action::Blocked { reason } => format!(": {reason}"),
                _ => String::new(),
            };
            let start = match (&step.action, step.start) {
                (Action::Create | Action::Recreate { .. }, true) => " and start",
                (Action::Create | Action::Recreate { .. }, false) => " (not started)",
                _ => "",
            };
            let level = if plan.levels.len() > 1 {
                format!(" [level {level}]")
            } else {
                String::new()
            };
            out.push_str(&format!(
                "  {:<9} {}{start}{detail}{level}\n",
                step.action.verb(),
                step.container
            ));
            for extra in &step.extra_containers {
                out.push_str(&format!(
                    "  {:<9} {} (extra replica)\n",
                    "remove",
                    &extra[..extra.len().min(12)]
                ));
            }
        }
    }
    if plan.is_noop() {
        out.push_str("Nothing to do: every container is up to date.\n");
    }
    out
}

/// What the deploy did.
fn render_report(report: &DeployReport) -> String {
    let changed = report
        .results
        .iter()
        .filter(|r| r.status == StepStatus::Done)
        .count();
    let unchanged = report
        .results
        .iter()
        .filter(|r| r.status == StepStatus::Unchanged)
        .count();
    let failed = report.failures().count();
    let mut out = if changed == 0 && failed == 0 {
        format!(
            "Project {} is up to date ({} unchanged).\n",
            report.project,
            output::count(unchanged, "container", "containers")
        )
    } else {
        let mut out = format!(
            "Deployed project {} ({}):\n",
            report.project, report.compose_file
        );
        out.push_str(&render_results(&report.results));
        out.push_str(&format!(
            "{changed} changed, {unchanged} unchanged, {failed} failed\n"
        ));
        out
    };
    if let Some(wait) = &report.wait {
        out.push_str(&render_wait(wait));
    }
    out
}

/// `--wait`'s verdict: one line per service, and for each one not ready why,
/// with its exit code, restart count and last log lines.
fn render_wait(wait: &WaitOutcome) -> String {
    let states: Vec<String> = wait
        .services
        .iter()
        .map(|(s, state)| match wait.probes.get(s) {
            // `--probe`: what the server answered.
            Some(probe) if probe.ok => format!(
                "{s}: {state}, answers MCP ({} tools, {:.1} ms)",
                probe.tools.unwrap_or_default(),
                probe.rtt_ms.unwrap_or_default()
            ),
            _ => format!("{s}: {state}"),
        })
        .collect();
    let mut out = format!(
        "Ready check (running {} s without a restart): {}\n",
        wait.grace_seconds,
        states.join(", ")
    );
    for service in &wait.not_ready {
        let Some(problem) = wait.problems.get(service) else {
            continue;
        };
        let exit = problem
            .exit_code
            .map(|code| format!("exit code {code}, "))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {service} is not ready: {} ({exit}restart count {})\n",
            problem.reason, problem.restart_count
        ));
        if problem.logs.is_empty() {
            out.push_str("    (no log output)\n");
        } else {
            out.push_str(&format!("    last {} log lines:\n", problem.logs.len()));
            for line in &problem.logs {
                out.push_str(&format!("    | {line}\n"));
            }
        }
    }
    out
}
