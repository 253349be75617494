//! `mcpm profile add|rm|ls|show` (and MCPM's spellings `mcpm add|rm`): turn
//! the arguments into a [`crate::profile::ops`] edit, run the one-server sync
//! after it when asked, and print what happened.
use std::collections::BTreeSet;
use std::time::Duration;

use crate::cli::{
    ProfileAddArgs, ProfileLsArgs, ProfileRmArgs, ProfileServerArgs, ProfileShowArgs,
    SyncDockerArgs,
};
use crate::error::{Error, ExitStatus, Result};
use crate::output;
use crate::profile::ops::{self, AddServer, EditReport};
use crate::profile::{self, ServerSpec, load_profile, resolve_profile_path};
use crate::sync::{self, Direction, SyncOptions};

use super::Context;

/// `mcpm profile add` / `mcpm add`.
pub fn add(context: &Context, args: ProfileAddArgs) -> Result<ExitStatus> {
    let (profile_arg, may_create, server) = profile_and_server(&args.which)?;
    let target = ops::locate_for_edit(&profile_arg, &context.config, may_create)?;
    let (spec, notes) = server_spec(&args, &server)?;
    for note in &notes {
        context.warn(note);
    }
    let request = AddServer {
        name: server,
        spec,
        force: args.force,
    };
    let edit = ops::add_server(&target, &request, lock_timeout(&args.sync))?;
    finish(context, edit, &args.sync, args.json)
}

/// `mcpm profile rm` / `mcpm rm`.
pub fn rm(context: &Context, args: ProfileRmArgs) -> Result<ExitStatus> {
    let (profile_arg, _, server) = profile_and_server(&args.which)?;
    let path = resolve_profile_path(&profile_arg, &context.config)?;
    let edit = ops::remove_server(&path, &server, lock_timeout(&args.sync))?;
    finish(context, edit, &args.sync, args.json)
}

/// `mcpm profile ls [PROFILE]`.
pub fn ls(context: &Context, args: ProfileLsArgs) -> Result<ExitStatus> {
    let Some(profile_arg) = args.profile else {
        let entries = profile::list_profiles(&context.config);
        if args.json {
            output::json(&serde_json::json!({
                "profiles_dir": context.config.profiles(),
                "profiles": entries,
            }))?;
        } else if entries.is_empty() {
            context.note(&format!(
                "no profiles in {}; create one with `mcpm profile add NAME SERVER --command …` or `mcpm profile import`",
                context.config.profiles().display()
            ));
        } else {
            let rows = entries
                .iter()
                .map(|entry| {
                    let servers = match (entry.servers, entry.enabled) {
                        (Some(n), Some(on)) if on == n => n.to_string(),
                        (Some(n), Some(on)) => format!("{n} ({on} enabled)"),
                        _ => "-".to_string(),
                    };
                    let note = entry
                        .error
                        .as_deref()
                        .map(|e| format!("does not load: {e}"))
                        .unwrap_or_else(|| entry.path.display().to_string());
                    vec![entry.name.clone(), servers, note]
                })
                .collect();
            output::stdout(&table(&["PROFILE", "SERVERS", "FILE"], rows))?;
        }
        return Ok(ExitStatus::Ok);
    };
    let path = resolve_profile_path(&profile_arg, &context.config)?;
    let loaded = load_profile(&path)?;
    let lines = profile::server_lines(&loaded)?;
    if args.json {
        output::json(&serde_json::json!({
            "profile": loaded.profile.name,
            "path": path,
            "servers": lines,
        }))?;
        return Ok(ExitStatus::Ok);
    }
    if lines.is_empty() {
        context.note(&format!("{} has no servers", path.display()));
        return Ok(ExitStatus::Ok);
    }
    let rows = lines
        .iter()
        .map(|line| {
            vec![
                line.name.clone(),
                line.kind.to_string(),
                if line.enabled { "yes" } else { "no" }.to_string(),
                line.target(),
            ]
        })
        .collect();
    output::stdout(&table(
        &["SERVER", "KIND", "ENABLED", "COMMAND / URL"],
        rows,
    ))?;
    Ok(ExitStatus::Ok)
}

/// `mcpm profile show PROFILE SERVER`.
pub fn show(context: &Context, args: ProfileShowArgs) -> Result<ExitStatus> {
    let path = resolve_profile_path(&args.profile, &context.config)?;
    let loaded = load_profile(&path)?;
    let Some(spec) = loaded.profile.servers.get(&args.server) else {
        let names: Vec<String> = loaded
            .profile
            .servers
            .keys()
            .map(|n| format!("`{n}`"))
            .collect();
        return Err(
            Error::invalid(format!("no server `{}` in {}", args.server, path.display())).hint(
                if names.is_empty() {
                    "the profile has no servers".to_string()
                } else {
                    format!("servers in it: {}", names.join(", "))
                },
            ),
        );
    };
    let masked = profile::masked_server(spec)?;
    if args.json {
        output::json(&serde_json::json!({
            "profile": loaded.profile.name,
            "path": path,
            "name": args.server,
            "kind": profile::kind(spec),
            "enabled": spec.is_enabled(),
            "server": masked,
        }))?;
        return Ok(ExitStatus::Ok);
    }
    let text = ops::server_toml(&args.server, &masked)?;
    output::stdout(&format!(
        "# {} ({}, {})\n{}",
        path.display(),
        profile::kind(spec),
        if spec.is_enabled() {
            "enabled"
        } else {
            "disabled"
        },
        text
    ))?;
    Ok(ExitStatus::Ok)
}

/// `PROFILE SERVER`, or `SERVER --target %PROFILE`: the profile argument,
/// whether it may be created, and the server.
fn profile_and_server(which: &ProfileServerArgs) -> Result<(String, bool, String)> {
    match (&which.target, which.names.as_slice()) {
        (None, [profile, server]) => Ok((profile.clone(), true, server.clone())),
        (None, [server]) => Err(Error::invalid(format!(
            "which profile should `{server}` go into?"
        ))
        .hint(format!(
            "write `PROFILE {server}`, or `{server} --target %PROFILE`"
        ))),
        (Some(target), [server]) => match target.strip_prefix('%') {
            Some(name) if !name.is_empty() => Ok((name.to_string(), true, server.clone())),
            Some(_) => Err(Error::invalid("`--target %` names no profile")
                .hint("write --target %NAME, e.g. --target %work")),
            // In MCPM a bare target is a client: only an existing profile
            // is taken, never created.
            None => Ok((target.clone(), false, server.clone())),
        },
        (Some(target), names) => Err(Error::invalid(format!(
            "--target {target} names the profile; give only the server ({} given: {})",
            names.len(),
            names.join(" ")
        ))
        .hint("write `mcpm profile add SERVER --target %PROFILE …` or `mcpm profile add PROFILE SERVER …`")),
        (None, _) => Err(Error::invalid("give PROFILE and SERVER")),
    }
}

/// The server the flags describe, and warnings about it.
fn server_spec(args: &ProfileAddArgs, server: &str) -> Result<(ServerSpec, Vec<String>)> {
    match (&args.command, &args.url, &args.from_client) {
        (Some(_), None, None) | (None, Some(_), None) => Ok((
            ops::server_from_flags(
                args.command.as_deref(),
                &args.args,
                &args.env,
                args.url.as_deref(),
                &args.headers,
            )?,
            Vec::new(),
        )),
        (None, None, Some(file)) => {
            if !(args.args.is_empty() && args.env.is_empty() && args.headers.is_empty()) {
                return Err(Error::invalid(
                    "--from-client takes the whole entry; --arg, --env and --header cannot change it",
                )
                .hint("add the server first, then edit the profile, or give --command/--url instead"));
            }
            let name = args.client_server.as_deref().unwrap_or(server);
            let bytes = std::fs::read(file).map_err(|err| Error::io("read", file, err))?;
            let text = crate::source::decode(file, bytes)?;
            let taken = crate::import::client_server(file, &text, name)?;
            let mut notes = taken.warnings;
            if let Some(transport) = taken.transport {
                notes.push(format!(
                    "server `{name}` uses the {transport} transport, which a profile does not record"
                ));
            }
            Ok((taken.spec, notes))
        }
        _ => Err(Error::invalid(format!("what should server `{server}` run?"))
            .hint("give --command C (with --arg, --env), --url U (with --header), or --from-client FILE")),
    }
}

fn lock_timeout(sync: &SyncDockerArgs) -> Duration {
    Duration::from_secs(sync.lock_timeout)
}

/// Reports the edit, then runs the one-server sync when asked (on this
/// terminal: a conflict is asked about as `mcpm docker sync` asks), and the
/// deploy after it.
fn finish(
    context: &Context,
    edit: EditReport,
    sync_args: &SyncDockerArgs,
    json: bool,
) -> Result<ExitStatus> {
    if !json {
        note_edit(context, &edit);
    }
    if !sync_args.sync_docker {
        if json {
            let mut document = serde_json::to_value(&edit)
                .map_err(|err| Error::runtime(format!("cannot write the JSON report: {err}")))?;
            document["sync"] = serde_json::Value::Null;
            output::json(&document)?;
        }
        return Ok(ExitStatus::Ok);
    }
    let options = SyncOptions {
        only: Some(BTreeSet::from([edit.server.clone()])),
        direction: Direction::ToDocker,
        deploy: Some(sync_args.deploy),
        lock_timeout: lock_timeout(sync_args),
        ..SyncOptions::new(&edit.profile)
    };
    // The follow-up sync talks to this terminal as `mcpm docker sync` does
    // (a conflict is asked about); with --json the edit and the sync are one
    // document.
    let mut ui = super::sync::Terminal::new(context, json, false);
    if json {
        ui.envelope = Some(
            serde_json::to_value(&edit)
                .map_err(|err| Error::runtime(format!("cannot write the JSON report: {err}")))?,
        );
    }
    // Whatever stops the sync (a compose file that does not parse, a lock,
    // a conflict), the profile edit before it stands: say so, not the
    // sync's own "nothing was changed".
    let written = |err: Error| {
        err.hint(format!(
            "the profile was written, the compose file was not; run `mcpm docker sync {}` once the problem above is settled",
            edit.profile.display()
        ))
    };
    let report = sync::run(&context.config, &options, &mut ui).map_err(written)?;
    ui.show(&report)?;
    if let Some(err) = report.error() {
        return Err(written(err));
    }
    match report.deploy {
        None => Ok(ExitStatus::Ok),
        Some(deployed) => super::deploy::finish(context, json, &deployed?),
    }
}

fn note_edit(context: &Context, edit: &EditReport) {
    for warning in &edit.warnings {
        context.warn(warning);
    }
    if !edit.literal_secrets.is_empty() {
        context.warn(&crate::import::literal_secrets_warning(
            &edit.literal_secrets,
        ));
    }
    let path = edit.profile.display();
    if edit.created {
        context.note(&format!(
            "created profile `{}` at {path}",
            edit.profile_name
        ));
    }
    let what = match edit.action {
        ops::EditAction::Added => "added server",
        ops::EditAction::Replaced => "replaced server",
        ops::EditAction::Removed => "removed server",
    };
    let preposition = if edit.action == ops::EditAction::Removed {
        "from"
    } else {
        "in"
    };
    context.note(&format!(
        "{what} `{}` {preposition} {path} (previous version kept as .bak)",
        edit.server
    ));
}

fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = output::table(header);
    for row in rows {
        table.add_row(row);
    }
    let mut text = table.trim_fmt();
    text.push('\n');
    text
}
