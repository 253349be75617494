//! `mcpm docker doctor PROFILE`: runs `doctor::run` (checks, and fixes with
//! `--fix`) and renders its report as lines or JSON; the exit code says
//! whether errors remain.
use crate::cli::DoctorArgs;
use crate::doctor::{self, Options, Report, Severity};
use crate::error::{ExitStatus, Result};
use crate::output;

use super::Context;

pub fn exec(context: &Context, args: DoctorArgs) -> Result<ExitStatus> {
    let report = doctor::run(
        &context.config,
        &Options {
            profile: args.profile,
            compose_file: args.compose_file,
            fix: args.fix,
            pin: args.pin,
            lock_timeout: std::time::Duration::from_secs(args.lock_timeout),
        },
        Vec::new(),
    )?;
    for note in &report.notes {
        context.warn(note);
    }
    if args.json {
        output::json(&report)?;
    } else {
        output::stdout(&render(&report, args.fix))?;
    }
    Ok(exit_status(&report, args.strict))
}

/// 0 when clean or only warnings are left; 2 when errors are (any finding,
/// with `--strict`): the profile would deploy services that cannot work.
fn exit_status(report: &Report, strict: bool) -> ExitStatus {
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    if errors > 0 || (strict && warnings > 0) {
        ExitStatus::Invalid
    } else {
        ExitStatus::Ok
    }
}

fn render(report: &Report, fix: bool) -> String {
    let mut out = String::new();
    for fixed in &report.fixed {
        out.push_str(&format!(
            "fixed: [{}] server `{}`: {}\n",
            fixed.check, fixed.server, fixed.fix
        ));
    }
    for (line, finding) in report.lines.iter().zip(&report.findings) {
        let severity = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        out.push_str(&format!("{severity}: {line}\n"));
    }
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let fixable = report.findings.iter().filter(|f| f.fixable).count();
    out.push_str(&format!(
        "{}: {}, {}",
        report.profile,
        output::count(errors, "error", "errors"),
        output::count(warnings, "warning", "warnings")
    ));
    if !report.fixed.is_empty() {
        out.push_str(&format!(", {} fixed", report.fixed.len()));
    }
    if fixable > 0 && !fix {
        out.push_str(&format!(" ({fixable} fixable with --fix)"));
    }
    out.push('\n');
    out
}
