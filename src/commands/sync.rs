//! `mcpm docker sync PROFILE`: brings profile and compose file into step (SPEC
//! §5). Both files are parsed before anything is decided and never written if
//! either fails; conflicts are settled by the strategy or a prompt; both new
//! texts are verified, then written atomically with backups, under a lock.
use std::path::Path;

use serde_json::json;
use serde_yaml_ng::{Mapping, Value};

use crate::catalog::Catalog;
use crate::cli::SyncArgs;
use crate::compose::base::SyncBase;
use crate::compose::{self, RenderOptions, dotenv};
use crate::error::{Error, ExitStatus, Result};
use crate::files::{
    FileLock, Interrupted, LockMode, debug_point, finish_interrupted, lock_files, read_optional,
    sweep_temps, write_pair,
};
use crate::output;
use crate::profile::{ConflictStrategy, LoadedProfile, load_profile_text, resolve_profile_path};
use crate::sync::seal::{adopt, seal_targets};
use crate::sync::write::{
    compose_text, profile_text, profile_updates, render_updated, unwritable_error,
};
use crate::sync::{Action, Change, Choice, PlanInput, ServerPlan, plan, resolve, resolve_fields};
use crate::ui;

use super::{Context, env_file};

pub fn exec(context: &Context, args: SyncArgs) -> Result<ExitStatus> {
    let profile_path = resolve_profile_path(&args.profile, &context.config)?;
    let (loaded, compose_path, mut locks) = lock_and_load(context, &args, &profile_path)?;
    let lock = &mut locks[1];
    // A sync killed between its two files is finished first (read-only
    // runs plan from the text it owes, and report the difference).
    let read_only = args.dry_run || args.check;
    if !read_only {
        for path in [
            &profile_path,
            &compose_path,
            &env_file::env_path(&compose_path),
        ] {
            sweep_temps(path);
        }
    }
    let interrupted = finish_interrupted(&profile_path, &compose_path, read_only)?;
    if interrupted == Interrupted::Finished {
        context.note(&format!(
            "finished an interrupted sync: wrote {}",
            compose_path.display()
        ));
    }
    let mut compose_now = read_optional(&compose_path)?;
    let owed = match interrupted {
        Interrupted::Pending(text) => Some(compose_now.replace(text)),
        _ => None,
    };
    // The compose file as it is on disk, which is what `--check` compares.
    let compose_on_disk = owed.as_ref().map_or(compose_now.as_ref(), Option::as_ref);
    if owed.is_some() {
        context.note(&format!(
            "an interrupted sync left {} behind its profile; a sync finishes it",
            compose_path.display()
        ));
    }
    let key = cache_key(
        context,
        &args,
        (&profile_path, &loaded.source.text),
        (&compose_path, compose_now.as_deref()),
    )?;
    let deploy_after = !args.no_deploy
        && (args.deploy || loaded.profile.docker.auto_deploy)
        && !args.dry_run
        && !args.check;
    if owed.is_none() && lock.note() == key {
        // Nothing changed since a sync that left both files in step.
        report(
            context,
            &args,
            (&[], &[]),
            &profile_path,
            &compose_path,
            String::new(),
        )?;
        drop(locks);
        return hand_over(context, &args, deploy_after, &profile_path, &compose_path);
    }
    // Parsing the file and rendering the profile are independent and both
    // cost: they run side by side.
    let catalog = Catalog::load(Some(&context.config.templates()))?;
    let (compose_document, rendered) = std::thread::scope(|scope| {
        let parse = scope.spawn(|| {
            compose_now
                .as_deref()
                .map(|text| parse_compose(&compose_path, text))
                .transpose()
        });
        let rendered = compose::render(&loaded, &catalog, RenderOptions::default());
        let parsed = parse
            .join()
            .unwrap_or_else(|_| Err(Error::runtime("the compose parser stopped unexpectedly")));
        (parsed, rendered)
    });
    let (compose_document, rendered) = (compose_document?, rendered?);
    let base = match &compose_document {
        Some(document) => SyncBase::from_document(document).map_err(|why| {
            Error::invalid(format!("{}: the `x-mcpm` sync block is damaged: {why}", compose_path.display()))
                .hint("restore it from the .bak or from version control; without it sync cannot tell who changed what")
        })?,
        None => None,
    };
    if let Some(base) = &base
        && base.profile != loaded.profile.name
    {
        return Err(Error::invalid(format!(
            "{} is synced with profile `{}`, not `{}`",
            compose_path.display(),
            base.profile,
            loaded.profile.name
        ))
        .hint("pass the right profile, or point -f at this profile's own compose file"));
    }

    let no_services = Mapping::new();
    let desired = services(Some(&rendered.document)).unwrap_or(&no_services);
    let current = services(compose_document.as_ref()).unwrap_or(&no_services);
    let strategy = args
        .strategy
        .or(loaded.profile.docker.conflict_resolution)
        .unwrap_or(ConflictStrategy::Manual);
    let input = PlanInput {
        profile: &loaded.profile,
        desired,
        compose: current,
        base: base.as_ref(),
        strategy,
        direction: args.direction,
        import: !args.no_import,
        ignore_services: &loaded.profile.docker.ignore_services,
        desired_base: Some(&rendered.base),
    };
    let mut plans = plan(&input);

    let pending = plans.iter().filter(|p| p.action == Action::Pending).count();
    if pending > 0 {
        if !ui::interactive(args.yes) || args.check {
            return unresolved(context, &args, &plans);
        }
        for server in plans.iter_mut().filter(|p| p.action == Action::Pending) {
            ask(&input, server)?;
        }
    }

    let profile_secrets = rendered.secrets.clone();
    // Literals typed into the compose file go to `.env`, never the profile.
    let env_now = read_optional(&env_file::env_path(&compose_path))?.unwrap_or_default();
    let adopted = seal_targets(&mut plans, &|name, value| {
        profile_secrets
            .iter()
            .any(|s| s.name == name && s.value != value)
            || dotenv::holds_other(&env_now, name, value)
    });
    let updates =
        profile_updates(&mut plans, &loaded.profile, &catalog).map_err(|(server, why)| {
            unwritable_error(
                &compose_path,
                compose_now.as_deref().unwrap_or(""),
                &server,
                why,
            )
        })?;
    let new_profile_text = profile_text(
        &profile_path,
        &loaded.source.text,
        &loaded.profile,
        &updates,
    )
    .map_err(|why| internal(&profile_path, &why))?;
    // An unchanged profile renders as it did a moment ago; a changed one
    // renders only its changed servers again.
    let mut final_rendered = render_updated(
        &profile_path,
        &new_profile_text,
        rendered,
        &updates,
        &catalog,
    )?;
    adopt(&mut final_rendered.secrets, adopted, &plans);
    let current_compose = compose_now.as_deref().zip(compose_document.as_ref());
    let new_compose_text = compose_text(current_compose, &plans, &final_rendered, base.as_ref())
        .map_err(|why| internal(&compose_path, &why))?;

    // `.env` variables this sync writes: the only change a rotated literal
    // secret makes (the compose file holds its reference).
    let stale_env = env_file::stale_secrets(&compose_path, &final_rendered)?;
    let profile_changes = new_profile_text != loaded.source.text;
    let compose_changes = new_compose_text
        .as_ref()
        .is_some_and(|text| Some(text) != compose_on_disk);
    let skipped = plans
        .iter()
        .filter(|p| matches!(p.action, Action::Skip { .. }))
        .count();

    if args.dry_run {
        // The profile's literal secrets are masked wherever they show.
        let secrets: Vec<&str> = final_rendered
            .secrets
            .iter()
            .chain(&profile_secrets)
            .map(|s| s.value.as_str())
            .collect();
        let mut diff = String::new();
        if profile_changes {
            diff.push_str(&output::unified_diff_hiding(
                &profile_path.display().to_string(),
                &loaded.source.text,
                &new_profile_text,
                &secrets,
            ));
        }
        if let Some(text) = new_compose_text.as_ref().filter(|_| compose_changes) {
            diff.push_str(&output::unified_diff_hiding(
                &compose_path.display().to_string(),
                compose_on_disk.map_or("", String::as_str),
                text,
                &secrets,
            ));
        }
        report(
            context,
            &args,
            (&plans, &stale_env),
            &profile_path,
            &compose_path,
            diff,
        )?;
        return left_unresolved(&plans);
    }
    if args.check {
        report(
            context,
            &args,
            (&plans, &stale_env),
            &profile_path,
            &compose_path,
            String::new(),
        )?;
        left_unresolved(&plans)?;
        if profile_changes || compose_changes {
            return Err(
                Error::new(ExitStatus::Drift, "a sync would change the files")
                    .hint("run the same command without --check"),
            );
        }
        if !stale_env.is_empty() {
            return Err(env_file::stale_error(
                &compose_path,
                &stale_env,
                "run the same command without --check to write it",
            ));
        }
        return Ok(ExitStatus::Ok);
    }

    if profile_changes || compose_changes {
        for warning in &final_rendered.warnings {
            context.warn(warning);
        }
    }
    // `.env` first (extra variables harm nobody), then the profile and the
    // compose file as a pair: a kill between the two is finished by the next
    // run (files::write_pair).
    debug_point("sync-writes");
    env_file::write_secrets(context, &compose_path, &final_rendered)?;
    debug_point("sync-after-env");
    write_pair(
        (
            &profile_path,
            Some(new_profile_text.as_str()).filter(|_| profile_changes),
        ),
        (
            &compose_path,
            compose_on_disk.map(String::as_str),
            new_compose_text.as_deref().filter(|_| compose_changes),
        ),
    )?;
    debug_point("sync-after-compose");
    if plans.iter().all(|p| {
        !matches!(
            p.action,
            Action::Skip { .. } | Action::Unresolved { .. } | Action::Pending
        )
    }) {
        // What is on disk now: the new texts where they were written.
        let compose_written = if compose_changes {
            new_compose_text.as_deref()
        } else {
            compose_now.as_deref()
        };
        lock.set_note(&cache_key(
            context,
            &args,
            (&profile_path, &new_profile_text),
            (&compose_path, compose_written),
        )?);
    }
    report(
        context,
        &args,
        (&plans, &stale_env),
        &profile_path,
        &compose_path,
        String::new(),
    )?;
    if skipped > 0
        && plans
            .iter()
            .any(|p| p.change.is_conflict() && matches!(p.action, Action::Skip { .. }))
    {
        context.warn("some conflicts were skipped and stay unsynced");
    }
    drop(locks);
    left_unresolved(&plans)?;
    hand_over(context, &args, deploy_after, &profile_path, &compose_path)
}

/// Reads the profile, locks it and its compose file (both: two syncs of one
/// profile with different compose files must not lose each other's profile
/// edits), and reads the profile again under the lock, so what is decided is
/// what is on disk. A read-only run (`--check`, `--dry-run`) shares the locks
/// and creates nothing. Returns the profile, the compose file's path and the
/// locks (profile's, compose file's, `.env`'s).
fn lock_and_load(
    context: &Context,
    args: &SyncArgs,
    profile_path: &Path,
) -> Result<(LoadedProfile, std::path::PathBuf, Vec<FileLock>)> {
    let mode = if args.dry_run || args.check {
        LockMode::Shared
    } else {
        LockMode::Exclusive
    };
    let timeout = std::time::Duration::from_secs(args.lock_timeout);
    let read = || {
        read_optional(profile_path)?.ok_or_else(|| {
            Error::invalid(format!("profile {} does not exist", profile_path.display()))
        })
    };
    let mut text = read()?;
    let mut loaded = load_profile_text(profile_path, text.clone())?;
    loop {
        // The profile names its compose file, so it is read once before locking.
        let compose_path = args
            .compose_file
            .clone()
            .unwrap_or_else(|| loaded.compose_file(&context.config));
        // `.env` too: compose files of other profiles may share its directory.
        let env_path = env_file::env_path(&compose_path);
        // A file that is not a compose document is refused before a lock
        // file is put beside it: nothing is written there (SPEC §5).
        if let Some(text) = read_optional(&compose_path)? {
            compose::ensure_compose_text(&compose_path, &text)?;
        }
        let locks = lock_files(&[profile_path, &compose_path, &env_path], mode, timeout)?;
        let now = read()?;
        if now == text {
            return Ok((loaded, compose_path, locks));
        }
        loaded = load_profile_text(profile_path, now.clone())?;
        text = now;
        let same_file =
            args.compose_file.is_some() || loaded.compose_file(&context.config) == compose_path;
        if same_file {
            return Ok((loaded, compose_path, locks));
        }
        // Another run pointed the profile at another compose file meanwhile:
        // lock that one instead.
    }
}

/// Exit 3 when a compose-side edit could not be brought into the profile: it
/// stays in the file, and saying "synced" would hide that it is not.
fn left_unresolved(plans: &[ServerPlan]) -> Result<ExitStatus> {
    let names: Vec<&str> = plans
        .iter()
        .filter(|p| matches!(p.action, Action::Unresolved { .. }))
        .map(|p| p.name.as_str())
        .collect();
    if names.is_empty() {
        return Ok(ExitStatus::Ok);
    }
    Err(Error::new(
        ExitStatus::Conflict,
        format!(
            "compose-file edits of {} could not be written into the profile",
            names.join(", ")
        ),
    )
    .hint("make the same change in the profile (or undo it in the compose file), then sync again"))
}

/// `--deploy` / `auto_deploy`: after a successful sync, deploy the file just
/// synced, as `mcpm docker deploy` would.
fn hand_over(
    context: &Context,
    args: &SyncArgs,
    deploy: bool,
    profile: &Path,
    compose: &Path,
) -> Result<ExitStatus> {
    if !deploy {
        return Ok(ExitStatus::Ok);
    }
    context.note("deploying…");
    super::deploy::exec(
        context,
        crate::cli::DeployArgs {
            services: Vec::new(),
            target: crate::cli::ComposeTarget {
                compose_file: Some(compose.to_path_buf()),
                profile: Some(profile.display().to_string()),
                project_name: None,
            },
            dry_run: false,
            pull: None,
            wait: false,
            timeout: 60,
            remove_orphans: false,
            json: args.json,
        },
    )
}

/// A digest of everything a sync's outcome depends on: this build of mcpm,
/// the catalog, both files, the `.env` and the flags. Equal to the key stored
/// after a sync that left everything in step, it means there is nothing to do.
/// Only a shortcut: without it, sync reaches the same answer the long way.
fn cache_key(
    context: &Context,
    args: &SyncArgs,
    (profile, profile_text): (&Path, &str),
    (compose, compose_text): (&Path, Option<&str>),
) -> Result<String> {
    let build = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|meta| format!("{}:{:?}", meta.len(), meta.modified().ok()))
        .unwrap_or_default();
    let mut material = format!(
        "mcpm-sync-cache 1\n{}\n{build}\n{}\n{:?} {:?} {}\n",
        env!("CARGO_PKG_VERSION"),
        Catalog::fingerprint(Some(&context.config.templates())),
        args.direction,
        args.strategy,
        args.no_import,
    )
    .into_bytes();
    // Both files as sync read (or wrote) them; only `.env` is read here.
    let env_path = env_file::env_path(compose);
    let env_text = read_optional(&env_path)?;
    for (path, text) in [
        (profile, Some(profile_text)),
        (compose, compose_text),
        (env_path.as_path(), env_text.as_deref()),
    ] {
        material.extend_from_slice(path.to_string_lossy().as_bytes());
        material.push(0);
        material.extend_from_slice(text.unwrap_or_default().as_bytes());
        material.push(0);
    }
    Ok(format!(
        "mcpm-sync-cache {}\n",
        crate::hash::digest(&material)
    ))
}

/// Parses the compose file; a file that does not parse, or is not a compose
/// document, stops everything.
fn parse_compose(path: &Path, text: &str) -> Result<Value> {
    let document = compose::parse_document(path, text).map_err(|err| {
        err.hint("nothing was changed; fix the file (its .bak may help), then sync again")
    })?;
    compose::ensure_compose_document(path, &document)?;
    Ok(document)
}

fn services(document: Option<&Value>) -> Option<&Mapping> {
    document
        .and_then(|d| d.get("services"))
        .and_then(Value::as_mapping)
}

fn internal(path: &Path, why: &str) -> Error {
    Error::runtime(format!(
        "refusing to write {}: {why}; nothing was written",
        path.display()
    ))
    .hint("this is a bug in mcpm; please report it with both files")
}

/// Asks about one pending conflict on the terminal.
fn ask(input: &PlanInput<'_>, server: &mut ServerPlan) -> Result<()> {
    if server.conflicting_fields.is_empty() {
        let what = describe_change(server.change);
        let choice = ui::prompt::server_conflict(&server.name, what, &server.fields)?;
        resolve(input, server, choice);
        return Ok(());
    }
    let mut choices = Vec::new();
    for diff in server.conflicting_fields.clone() {
        let choice = ui::prompt::field_conflict(&server.name, &diff)?;
        choices.push((diff.field.clone(), choice));
        if choice == Choice::Skip {
            break;
        }
    }
    resolve_fields(input, server, &choices);
    Ok(())
}

fn describe_change(change: Change) -> &'static str {
    match change {
        Change::BothChanged => "changed in the profile and in the compose file",
        Change::ProfileRemovedComposeChanged => {
            "removed from the profile but edited in the compose file"
        }
        Change::ComposeRemovedProfileChanged => {
            "deleted from the compose file but changed in the profile"
        }
        Change::Unrecorded { .. } => {
            "differs between profile and compose file, with no sync recorded yet"
        }
        _ => "changed on both sides",
    }
}

/// Without a terminal: list every conflict, write nothing, exit 3.
fn unresolved(context: &Context, args: &SyncArgs, plans: &[ServerPlan]) -> Result<ExitStatus> {
    let pending: Vec<&ServerPlan> = plans
        .iter()
        .filter(|p| p.action == Action::Pending)
        .collect();
    if args.json {
        let report = json!({ "status": "conflicts", "conflicts": pending, "written": false });
        output::stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ))?;
    } else {
        let mut text = String::new();
        for server in &pending {
            text.push_str(&format!(
                "conflict: {} ({})\n",
                server.name,
                describe_change(server.change)
            ));
            let fields = if server.conflicting_fields.is_empty() {
                &server.fields
            } else {
                &server.conflicting_fields
            };
            for diff in fields {
                text.push_str(&ui::prompt::describe(diff));
            }
        }
        output::stdout(&text)?;
    }
    context.note("nothing was written");
    Err(Error::new(
        ExitStatus::Conflict,
        format!("{} conflict(s) left unresolved", pending.len()),
    )
    .hint(
        "run on a terminal to answer them, or pass --strategy profile_wins | docker_wins | merge",
    ))
}

/// Reports the plan; `env` names the `.env` variables written (or, read-only,
/// that would be).
fn report(
    context: &Context,
    args: &SyncArgs,
    (plans, env): (&[ServerPlan], &[String]),
    profile_path: &Path,
    compose_path: &Path,
    diff: String,
) -> Result<()> {
    if args.json {
        let changed: Vec<&ServerPlan> = plans
            .iter()
            .filter(|p| p.change != Change::InSync && p.change != Change::Idle)
            .collect();
        let report = json!({
            "status": if changed.iter().any(|p| matches!(p.action, Action::Unresolved { .. })) {
                "unresolved"
            } else if changed.iter().any(|p| p.changes_anything()) || !env.is_empty() {
                "changed"
            } else {
                "in-sync"
            },
            "profile": profile_path.display().to_string(),
            "compose_file": compose_path.display().to_string(),
            "dry_run": args.dry_run,
            "servers": changed,
            "env_variables": env,
        });
        output::stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ))?;
        return Ok(());
    }
    if !diff.is_empty() {
        output::stdout(&diff)?;
    }
    let mut lines = Vec::new();
    for server in plans {
        let line = match &server.action {
            Action::Nothing | Action::Pending => continue,
            Action::RecordBase => "recorded as in sync".to_string(),
            Action::ToCompose if server.change == Change::Added => {
                "added to the compose file".into()
            }
            Action::ToCompose => format!("profile → compose{}", fields(server)),
            Action::RemoveService => "removed from the compose file".into(),
            Action::ToProfile { .. } => format!("compose → profile{}", fields(server)),
            Action::Import { .. } => "imported into the profile".into(),
            Action::Disable => "deleted from the compose file: disabled in the profile".into(),
            Action::DropBase => "gone from both: forgotten".into(),
            Action::Skip { reason } => format!("skipped: {reason}"),
            Action::Unresolved { reason } => format!("unresolved: {reason}"),
        };
        lines.push(format!("  {}: {line}", server.name));
    }
    let verb = if args.dry_run || args.check {
        "would sync"
    } else {
        "synced"
    };
    let env_path = env_file::env_path(compose_path);
    if lines.is_empty() && !env.is_empty() {
        let verb = if args.dry_run || args.check {
            "would get"
        } else {
            "got"
        };
        context.note(&format!(
            "{} and {} are in step; {} {verb} the current value of {}",
            profile_path.display(),
            compose_path.display(),
            env_path.display(),
            env_file::some_names(env)
        ));
        return Ok(());
    }
    if !env.is_empty() {
        lines.push(format!(
            "  {}: {}",
            env_path.display(),
            env_file::some_names(env)
        ));
    }
    if lines.is_empty() {
        context.note(&format!(
            "in sync: {} and {}",
            profile_path.display(),
            compose_path.display()
        ));
    } else {
        context.note(&format!(
            "{verb} {} and {}:",
            profile_path.display(),
            compose_path.display()
        ));
        for line in lines {
            context.note(&line);
        }
    }
    Ok(())
}

fn fields(server: &ServerPlan) -> String {
    if server.fields.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = server.fields.iter().map(|f| f.field.as_str()).collect();
    format!(" ({})", names.join(", "))
}
