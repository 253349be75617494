//! `mcpm docker generate PROFILE`: renders the compose file for a profile to
//! stdout or `-o FILE` (with secrets in a 0600 `.env` beside it), or checks
//! that FILE is up to date.
use std::path::Path;

use serde_json::json;

use crate::ci::{self, Format};
use crate::cli::GenerateArgs;
use crate::compose::{Rendered, ServerStatus};
use crate::error::{Error, ExitStatus, Result};
use crate::files::WriteOutcome;
use crate::generate::{GenerateOptions, Generated, Written, generate};
use crate::output;
use crate::profile::{LoadedProfile, resolve_profile_path};

use super::Context;

pub fn exec(context: &Context, args: GenerateArgs) -> Result<ExitStatus> {
    let format = Format::choose(args.format, args.json);
    if format == Format::Github && !args.check {
        return Err(Error::invalid(
            "--format github reports what --check finds; without --check there is nothing to annotate",
        )
        .hint("add --check, or use --format json for a report of the generated servers"));
    }
    let path = resolve_profile_path(&args.profile, &context.config)?;
    let timeout = std::time::Duration::from_secs(args.lock_timeout);
    if args.check {
        let checked = ci::check_generate(
            &context.config,
            &path,
            args.output.as_deref(),
            args.strict,
            timeout,
        )?;
        return check(context, &path, &checked, format);
    }
    let options = GenerateOptions {
        profile: path,
        output: args.output.clone(),
        strict: args.strict,
        force: args.force,
        lock_timeout: timeout,
        // Warnings nobody sees (`-q`) are not worth the checks' time.
        checks: !context.quiet,
    };
    let Generated {
        loaded,
        rendered,
        written,
    } = generate(&context.config, &options, &|warning| context.warn(warning))?;
    if let Some(written) = &written {
        note_written(context, written);
    }
    if format == Format::Json {
        output::stdout(&json_report(
            &loaded,
            &rendered,
            written.as_ref().map(|w| w.path.as_path()),
        ))?;
    } else if args.explain {
        output::stdout(&explain(&rendered))?;
    } else if written.is_none() {
        if !rendered.secrets.is_empty() {
            let names: Vec<String> = rendered.secrets.iter().map(|s| s.name.clone()).collect();
            for notice in rendered.secret_notices(&names) {
                context.warn(&notice);
            }
            context.warn("secrets were replaced by ${VAR} references; use -o FILE to also write their values to a .env file");
        }
        // Printing skips the parse-back that every file mcpm writes gets
        // (`-o`, sync): it would double the time of a 1000-server generate,
        // and the emitter's read-back is what its property tests and the
        // fuzz targets assert on every document they generate.
        output::stdout(&rendered.yaml())?;
    }
    Ok(ExitStatus::Ok)
}

/// What `-o` wrote, on stderr.
fn note_written(context: &Context, written: &Written) {
    let verb = match written.outcome {
        WriteOutcome::Created => "wrote",
        WriteOutcome::Updated => "updated",
        WriteOutcome::Unchanged => "unchanged:",
    };
    context.note(&format!(
        "{verb} {} ({} from {})",
        written.path.display(),
        output::count(written.services, "service", "services"),
        output::count(written.servers, "server", "servers")
    ));
    if written.env_variables > 0 {
        context.note(&format!(
            "secrets: {} written to {} (mode 0600)",
            output::count(written.env_variables, "variable", "variables"),
            written.env_path.display()
        ));
    }
}

/// `--check`: exit 4 when the compose file is stale, with a diff (text), a
/// report of what drifted (json) or an annotation per drifted service (github).
fn check(
    context: &Context,
    profile: &Path,
    checked: &ci::GenerateCheck,
    format: Format,
) -> Result<ExitStatus> {
    let report = checked.report(profile, format);
    print_check(context, &report, format)?;
    match report.error {
        Some(err) => Err(err),
        None => Ok(ExitStatus::Ok),
    }
}

/// Prints one check's report as `format` wants it.
pub(crate) fn print_check(
    context: &Context,
    report: &ci::report::Report,
    format: Format,
) -> Result<()> {
    if format == Format::Json {
        output::json(&report.json)?;
    } else if !report.stdout.is_empty() {
        output::stdout(&report.stdout)?;
    }
    if let Some(note) = &report.note {
        context.note(note);
    }
    Ok(())
}

fn explain(rendered: &Rendered) -> String {
    let mut out = String::new();
    let width = rendered
        .servers
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0);
    for server in &rendered.servers {
        let status = match server.status {
            ServerStatus::Service => server.rule.clone().unwrap_or_default(),
            ServerStatus::Remote => "remote".into(),
            ServerStatus::Disabled => "disabled".into(),
            ServerStatus::NotContainerizable => "skipped".into(),
        };
        out.push_str(&format!("{:<width$}  {:<8}  ", server.name, status));
        if let Some(image) = &server.image {
            out.push_str(image);
            if let Some(template) = &server.template {
                out.push_str(&format!(" [{template}]"));
            }
            out.push_str("  ");
        }
        out.push_str(&server.reason);
        out.push('\n');
        for note in &server.notes {
            out.push_str(&format!("{:<width$}  note: {note}\n", ""));
        }
    }
    out
}

fn json_report(loaded: &LoadedProfile, rendered: &Rendered, written: Option<&Path>) -> String {
    let mut report = json!({
        "profile": loaded.profile.name,
        "project": loaded.project(),
        "servers": rendered.servers,
        "secrets": rendered.secrets.iter().map(|s| json!({"variable": s.name, "origin": s.origin})).collect::<Vec<_>>(),
        "warnings": rendered.warnings,
    });
    match written {
        Some(path) => report["compose_file"] = json!(path.display().to_string()),
        None => report["compose"] = json!(rendered.yaml()),
    }
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}
