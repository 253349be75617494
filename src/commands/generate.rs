//! `mcpm docker generate PROFILE`: renders the compose file for a profile to
//! stdout or `-o FILE` (with secrets in a 0600 `.env` beside it), or checks
//! that FILE is up to date.
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::catalog::Catalog;
use crate::ci::{self, Format};
use crate::cli::GenerateArgs;
use crate::compose::{self, RenderOptions, Rendered, ServerStatus};
use crate::doctor;
use crate::error::{Error, ExitStatus, Result};
use crate::files::{LockMode, WriteOptions, WriteOutcome, lock_files, read_optional, write_atomic};
use crate::labels;
use crate::output;
use crate::profile::{LoadedProfile, load_profile, resolve_profile_path};

use super::Context;
use crate::compose::env_file;

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
    // Writing takes the same locks as sync (profile, compose file, .env), and
    // reads the profile under them.
    let target = args.output.clone();
    // A file that is not a compose document is refused before a lock file is
    // put beside it: nothing is written there (SPEC §5).
    if let Some(target) = target.as_deref()
        && let Some(text) = read_optional(target)?
    {
        compose::ensure_compose_text(target, &text)?;
    }
    let _locks = match &target {
        Some(target) => {
            let env = env_file::env_path(target);
            Some(lock_files(
                &[&path, target, &env],
                LockMode::Exclusive,
                timeout,
            )?)
        }
        None => None,
    };
    let loaded = load_profile(&path)?;
    let catalog = Catalog::load(Some(&context.config.templates()))?;
    let mut rendered = compose::render(
        &loaded,
        &catalog,
        RenderOptions {
            strict: args.strict,
        },
    )?;
    rendered.profile_arg = loaded.profile_arg(&context.config);
    if let Some(target) = &target {
        rendered.compose_arg = loaded.compose_arg(&context.config, target);
    }

    for warning in &rendered.warnings {
        context.warn(warning);
    }
    preflight(
        context,
        &loaded,
        &rendered,
        &catalog,
        target.as_deref(),
        args.strict,
    )?;
    let written = match &args.output {
        Some(target) => Some(write(context, &loaded, target, &rendered, args.force)?),
        None => None,
    };
    if format == Format::Json {
        output::stdout(&json_report(&loaded, &rendered, written.as_deref()))?;
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

/// The doctor's profile-side checks on what was just rendered, as warnings;
/// with `--strict` any finding but an unpinned image stops the run before
/// anything is written (exit 2).
fn preflight(
    context: &Context,
    loaded: &LoadedProfile,
    rendered: &Rendered,
    catalog: &Catalog,
    target: Option<&Path>,
    strict: bool,
) -> Result<()> {
    // Nothing to print (`-q`) and nothing to refuse: the checks (and
    // locating each finding in the profile) would be time for no one.
    if context.quiet && !strict {
        return Ok(());
    }
    let env_path = target.map(env_file::env_path);
    let env_text = match &env_path {
        Some(path) => read_optional(path)?,
        None => None,
    };
    let env = env_path.as_deref().zip(env_text.as_deref());
    let findings = doctor::quick_check(loaded, rendered, catalog, env);
    for line in doctor::warning_lines(loaded, &findings) {
        context.warn(&line);
    }
    let blocking = doctor::blocking_under_strict(&findings);
    if strict && blocking > 0 {
        return Err(Error::invalid(format!(
            "--strict: {} in profile `{}`; nothing was written",
            crate::output::count(
                blocking,
                "problem would keep a service from working",
                "problems would keep services from working"
            ),
            loaded.profile.name
        ))
        .hint(format!(
            "see the warnings above; `mcpm docker doctor {} --fix` fixes what it can",
            loaded.path().display()
        )));
    }
    Ok(())
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

/// Writes the compose file (refusing to clobber what it cannot read or does not
/// own) and the `.env` with the profile's literal secrets.
fn write(
    context: &Context,
    loaded: &LoadedProfile,
    target: &Path,
    rendered: &Rendered,
    force: bool,
) -> Result<PathBuf> {
    guard_existing(target, &loaded.profile.name, force)?;
    let outcome = write_atomic(
        target,
        rendered.verified_yaml()?.as_bytes(),
        WriteOptions {
            backup: true,
            mode: None,
        },
    )?;
    let services = rendered
        .servers
        .iter()
        .filter(|s| s.status == ServerStatus::Service)
        .count();
    let verb = match outcome {
        WriteOutcome::Created => "wrote",
        WriteOutcome::Updated => "updated",
        WriteOutcome::Unchanged => "unchanged:",
    };
    context.note(&format!(
        "{verb} {} ({} from {})",
        target.display(),
        crate::output::count(services, "service", "services"),
        crate::output::count(rendered.servers.len(), "server", "servers")
    ));
    let changed = env_file::write_secrets(target, rendered, &|notice| context.warn(notice))?;
    if changed > 0 {
        let env = env_file::env_path(target);
        context.note(&format!(
            "secrets: {} written to {} (mode 0600)",
            crate::output::count(changed, "variable", "variables"),
            env.display()
        ));
    }
    Ok(target.to_path_buf())
}

/// An existing file must parse, and must not hold services of someone else
/// unless `--force`: generate replaces the whole file, sync edits it in place.
fn guard_existing(target: &Path, profile: &str, force: bool) -> Result<()> {
    let Some(text) = read_optional(target)? else {
        return Ok(());
    };
    let document = compose::parse_yaml(target, &text).map_err(|err| {
        err.hint("the file was left untouched; fix it or move it away, then run generate again")
    })?;
    compose::ensure_compose_document(target, &document)?;
    if force {
        return Ok(());
    }
    let foreign: Vec<String> = document
        .get("services")
        .and_then(|services| services.as_mapping())
        .map(|services| {
            services
                .iter()
                .filter(|(_, service)| {
                    service
                        .get("labels")
                        .and_then(|l| l.get(labels::PROFILE))
                        .and_then(|p| p.as_str())
                        != Some(profile)
                })
                .filter_map(|(name, _)| name.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if !foreign.is_empty() {
        return Err(Error::invalid(format!(
            "{} has services that profile `{profile}` does not own: {}",
            target.display(),
            foreign.join(", ")
        ))
        .hint("`mcpm docker sync` edits the file in place and keeps them; or pass --force to replace the whole file (a .bak is kept)"));
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
