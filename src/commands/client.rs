//! `mcpm client add|remove|list`: turns the arguments into options for
//! `crate::clients` and prints its reports (text or `--json`).

use crate::cli::{ClientAddArgs, ClientCommand, ClientListArgs, ClientRemoveArgs};
use crate::clients::{
    self, Action, AddOptions, ClientListing, EditReport, ListOptions, Place, RemoveOptions,
};
use crate::error::{Error, ExitStatus, Result};
use crate::output;

use super::Context;

/// Runs one `client` subcommand.
pub fn exec(context: &Context, command: ClientCommand) -> Result<ExitStatus> {
    match command {
        ClientCommand::Add(args) => add(context, args),
        ClientCommand::Remove(args) => remove(context, args),
        ClientCommand::List(args) => list(context, args),
    }
}

fn add(context: &Context, args: ClientAddArgs) -> Result<ExitStatus> {
    let place = Place::from_process(args.file.project_dir)?;
    let options = AddOptions {
        client: args.client,
        scope: args.file.scope,
        profile: args.profile,
        via: args.via,
        servers: args.servers,
        force: args.force,
        dry_run: args.dry_run,
    };
    let report = clients::add(&context.config, &place, &options)?;
    render(context, &report, args.json)?;
    conflicts(&report, "add")
}

fn remove(context: &Context, args: ClientRemoveArgs) -> Result<ExitStatus> {
    let place = Place::from_process(args.file.project_dir)?;
    let options = RemoveOptions {
        client: args.client,
        scope: args.file.scope,
        profile: args.profile,
        servers: args.servers,
        dry_run: args.dry_run,
    };
    let report = clients::remove(&context.config, &place, &options)?;
    render(context, &report, args.json)?;
    conflicts(&report, "remove")
}

/// Conflicts are an error (exit 2) after the report was printed.
fn conflicts(report: &EditReport, verb: &str) -> Result<ExitStatus> {
    if report.conflicts.is_empty() {
        return Ok(report.status());
    }
    let names: Vec<String> = report
        .conflicts
        .iter()
        .map(|c| format!("`{}` ({})", c.server, c.held_by))
        .collect();
    let hint = match verb {
        "add" => {
            "rename or remove those entries, add the others with --server NAME, or replace them with --force"
        }
        _ => "mcpm removes only the entries it wrote; edit the file to remove the others",
    };
    Err(Error::invalid(format!(
        "nothing was written to {}: {} already there: {}",
        report.file,
        if report.conflicts.len() == 1 {
            "this name is"
        } else {
            "these names are"
        },
        names.join(", ")
    ))
    .hint(hint))
}

fn render(context: &Context, report: &EditReport, json: bool) -> Result<()> {
    if json {
        return output::json(report);
    }
    if let Some(diff) = &report.diff {
        output::stdout(diff)?;
    }
    if report.created_dir {
        let dir = std::path::Path::new(&report.file)
            .parent()
            .map(|dir| dir.display().to_string())
            .unwrap_or_default();
        let verb = if report.dry_run {
            "would create"
        } else {
            "created"
        };
        context.warn(&format!(
            "{dir} did not exist ({verb} it): is {} installed for this user?",
            report.client.label()
        ));
    }
    for skipped in &report.skipped {
        context.note(&format!("skipped `{}`: {}", skipped.server, skipped.reason));
    }
    let mut lines = Vec::new();
    for action in [
        Action::Added,
        Action::Updated,
        Action::Replaced,
        Action::Removed,
        Action::Unchanged,
    ] {
        let names: Vec<&str> = report
            .entries
            .iter()
            .filter(|e| e.action == action)
            .map(|e| e.server.as_str())
            .collect();
        if !names.is_empty() {
            lines.push(format!("{} {}", action_word(action), names.join(", ")));
        }
    }
    let what = if lines.is_empty() {
        "no entries".to_string()
    } else {
        lines.join("; ")
    };
    if !report.conflicts.is_empty() {
        // The error that follows says what stopped it.
        return Ok(());
    }
    let status = if report.dry_run {
        "dry run, nothing written"
    } else if report.written && report.created {
        "created"
    } else if report.written {
        "written, previous kept as .bak"
    } else {
        "unchanged"
    };
    context.note(&format!(
        "{} ({}): {}: {what} ({status})",
        report.client.label(),
        report.file,
        report.profile
    ));
    Ok(())
}

fn action_word(action: Action) -> &'static str {
    match action {
        Action::Added => "added",
        Action::Updated => "updated",
        Action::Unchanged => "unchanged",
        Action::Replaced => "replaced (--force)",
        Action::Removed => "removed",
    }
}

fn list(context: &Context, args: ClientListArgs) -> Result<ExitStatus> {
    let place = Place::from_process(args.file.project_dir)?;
    let options = ListOptions {
        client: args.client,
        scope: args.file.scope,
        profile: args.profile,
    };
    let listings = clients::list(&context.config, &place, &options)?;
    if args.json {
        output::json(&serde_json::json!({ "clients": listings }))?;
    } else {
        output::stdout(&table(&listings))?;
    }
    let broken = listings.iter().any(|l| l.error.is_some());
    Ok(if broken {
        ExitStatus::Invalid
    } else {
        ExitStatus::Ok
    })
}

fn table(listings: &[ClientListing]) -> String {
    let mut table = output::table(["CLIENT", "FILE", "SERVER", "MCPM"]);
    for listing in listings {
        let client = listing.client.name();
        if let Some(error) = &listing.error {
            table.add_row([client, &listing.file, "-", &format!("error: {error}")]);
            continue;
        }
        if !listing.exists || listing.entries.is_empty() {
            let note = if listing.exists {
                "(no servers)"
            } else {
                "(no file)"
            };
            table.add_row([client, &listing.file, "-", note]);
        }
        for entry in &listing.entries {
            let owner = match (entry.mcpm, entry.this_profile, &entry.profile, entry.via) {
                (false, ..) => "-".to_string(),
                (true, true, _, via) => format!("yes, this profile ({})", via_word(via)),
                (true, false, Some(profile), via) => format!("yes, {profile} ({})", via_word(via)),
                (true, false, None, via) => format!("yes ({})", via_word(via)),
            };
            table.add_row([client, &listing.file, &entry.name, &owner]);
        }
        for missing in &listing.missing {
            table.add_row([client, &listing.file, missing, "missing"]);
        }
    }
    format!("{table}\n")
}

fn via_word(via: Option<clients::Via>) -> &'static str {
    match via {
        Some(clients::Via::Http) => "http",
        Some(clients::Via::Stdio) => "stdio",
        None => "remote",
    }
}
