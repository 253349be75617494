//! `mcpm docker check FILE...`: the pre-commit hooks' and CI's check. Sorts
//! the files into profiles (`ci::hook`), then runs `generate --check` (or
//! `sync --check`) on each, reporting every profile before the exit code.
use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::ci::{self, Format};
use crate::cli::CheckArgs;
use crate::error::{Error, ExitStatus, Result};
use crate::output;
use crate::sync::{Mode, SyncOptions, Unattended};

use super::Context;

pub fn exec(context: &Context, args: CheckArgs) -> Result<ExitStatus> {
    let targets = ci::hook::targets(&args.files, &context.config)?;
    let timeout = Duration::from_secs(args.lock_timeout);
    let mut documents = Vec::new();
    let mut first_error: Option<Error> = None;
    // `reported`: the check's own report already said it (a stale file's
    // diff, annotations or JSON); else the error is the report.
    let mut fail =
        |context: &Context, err: Error, file: &Path, reported: bool, documents: &mut Vec<_>| {
            match args.format {
                _ if reported => {}
                Format::Github => {
                    let note = ci::error_annotation(&err, file);
                    let _ = output::stdout(&ci::annotation::github(&[note]));
                }
                Format::Json => documents.push(json!({
                    "profile": file.display().to_string(),
                    "status": "error",
                    "error": err.message,
                    "hint": err.hint,
                })),
                Format::Text => {}
            }
            // Every failure is told at once; the exit code is the first one's.
            if first_error.is_none() {
                first_error = Some(err);
            } else if !context.quiet {
                eprint!("{}", err.render());
            }
        };
    for profile in &targets.profiles {
        let outcome = if args.sync {
            check_sync(context, profile, timeout, args.format)
        } else {
            check_generate(context, profile, timeout, args.format)
        };
        match outcome {
            Ok((document, None)) => documents.push(document),
            Ok((document, Some(err))) => {
                documents.push(document);
                fail(context, err, profile, true, &mut documents);
            }
            Err(err) => fail(context, err, profile, false, &mut documents),
        }
    }
    if !targets.orphans.is_empty() {
        let err = ci::hook::orphans_error(&targets.orphans);
        let file = targets.orphans[0].clone();
        fail(context, err, &file, false, &mut documents);
    }
    if args.format == Format::Json {
        output::json(&json!({
            "status": if first_error.is_some() { "failed" } else { "ok" },
            "profiles": documents,
        }))?;
    }
    if targets.profiles.is_empty() && targets.orphans.is_empty() {
        context.note("no mcpm profile or compose file among the files: nothing to check");
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(ExitStatus::Ok),
    }
}

/// One profile's `generate --check`: its JSON document, and its error.
fn check_generate(
    context: &Context,
    profile: &Path,
    timeout: Duration,
    format: Format,
) -> Result<(serde_json::Value, Option<Error>)> {
    let checked = ci::check_generate(&context.config, profile, None, false, timeout)?;
    let report = checked.report(profile, format);
    if format != Format::Json {
        super::generate::print_check(context, &report, format)?;
    }
    Ok((report.json, report.error))
}

/// One profile's `sync --check`, settling nothing (conflicts count as work).
fn check_sync(
    context: &Context,
    profile: &Path,
    timeout: Duration,
    format: Format,
) -> Result<(serde_json::Value, Option<Error>)> {
    let options = SyncOptions {
        mode: Mode::Check,
        lock_timeout: timeout,
        deploy: Some(false),
        ..SyncOptions::new(profile)
    };
    let report = crate::sync::run(&context.config, &options, &mut Unattended::default())?;
    match format {
        Format::Github => super::sync::show_annotations(context, &report)?,
        Format::Text => {
            let human = report.human();
            if !human.stdout.is_empty() {
                output::stdout(&human.stdout)?;
            }
            for line in human.notes {
                context.note(&line);
            }
        }
        Format::Json => {}
    }
    Ok((report.json(), report.error()))
}
