//! What a sync tells its user: the summary lines, the `--json` document and
//! the error (with its exit code) an outcome ends with. The command prints
//! these; the words live here, beside the decisions they describe.
use serde_json::json;

use crate::compose::env_file;
use crate::error::{Error, ExitStatus};

use super::merge::{FieldDiff, field_flows};
use super::run::{Mode, Outcome, SyncReport};
use super::{Action, Change, ServerPlan};

/// What a person is told about a server's conflict.
pub fn describe_change(change: Change) -> &'static str {
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

/// Two lines per field: what the profile says, what the file says (secrets
/// masked).
pub fn describe_field(diff: &FieldDiff) -> String {
    let show = |value: &Option<serde_yaml_ng::Value>| match value {
        Some(value) => {
            serde_json::to_string(&crate::compose::secrets::mask_value(value)).unwrap_or_default()
        }
        None => "(absent)".into(),
    };
    format!(
        "  {}:\n    profile: {}\n    docker:  {}\n",
        diff.field,
        show(&diff.profile),
        show(&diff.compose)
    )
}

/// A report as people read it: text for stdout (diffs, conflict lists) and
/// lines for stderr (the summary).
#[derive(Debug, Default)]
pub struct Human {
    pub stdout: String,
    pub notes: Vec<String>,
}

impl SyncReport {
    /// `--json`'s document.
    pub fn json(&self) -> serde_json::Value {
        if self.outcome == Outcome::Conflicts {
            let pending: Vec<&ServerPlan> = self.pending().collect();
            let not_written: Vec<serde_json::Value> = self
                .servers
                .iter()
                .filter(|p| p.changes_anything())
                .map(server_json)
                .collect();
            return json!({
                "status": "conflicts",
                "conflicts": pending,
                "not_written": not_written,
                "written": false,
            });
        }
        let changed: Vec<serde_json::Value> = self.changed().map(server_json).collect();
        let status = match self.outcome {
            Outcome::Unresolved => "unresolved",
            Outcome::Changed => "changed",
            _ => "in-sync",
        };
        json!({
            "status": status,
            "profile": self.profile.display().to_string(),
            "compose_file": self.compose_file.display().to_string(),
            "dry_run": self.mode == Mode::DryRun,
            "servers": changed,
            "env_variables": self.env_variables,
            "skipped": self.skipped,
        })
    }

    /// The report for a terminal.
    pub fn human(&self) -> Human {
        if self.outcome == Outcome::Conflicts {
            return self.conflicts_human();
        }
        let mut out = Human {
            stdout: self.diff.clone(),
            ..Human::default()
        };
        let mut lines: Vec<String> = self
            .servers
            .iter()
            .filter_map(|server| Some(format!("  {}: {}", server.name, summary(server)?)))
            .collect();
        let would = self.mode != Mode::Write;
        let (profile, compose) = (self.profile.display(), self.compose_file.display());
        let env_path = env_file::env_path(&self.compose_file);
        let env = &self.env_variables;
        if lines.is_empty() && !env.is_empty() {
            let verb = if would { "would get" } else { "got" };
            out.notes.push(format!(
                "{profile} and {compose} are in step; {} {verb} the current value of {}",
                env_path.display(),
                env_file::some_names(env)
            ));
            return out;
        }
        if !env.is_empty() {
            lines.push(format!(
                "  {}: {}",
                env_path.display(),
                env_file::some_names(env)
            ));
        }
        if lines.is_empty() {
            out.notes.push(format!("in sync: {profile} and {compose}"));
        } else {
            let verb = if would { "would sync" } else { "synced" };
            out.notes.push(format!("{verb} {profile} and {compose}:"));
            out.notes.extend(lines);
        }
        out
    }

    /// Without a terminal: every conflict, with its fields.
    fn conflicts_human(&self) -> Human {
        let mut stdout = String::new();
        for server in self.pending() {
            stdout.push_str(&format!(
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
                stdout.push_str(&describe_field(diff));
            }
        }
        // The rest waits for the conflicts: say what it is, so nobody
        // thinks it was written.
        let waiting: Vec<String> = self
            .servers
            .iter()
            .filter(|p| p.changes_anything())
            .filter_map(|server| Some(format!("  {}: {}\n", server.name, summary(server)?)))
            .collect();
        if !waiting.is_empty() {
            stdout.push_str("not written until the conflicts are settled:\n");
            stdout.push_str(&waiting.concat());
        }
        Human {
            stdout,
            notes: vec!["nothing was written".into()],
        }
    }

    /// Warnings the outcome deserves besides its error: conflicts held back
    /// (by the direction, say) other than those skipped at the prompt, which
    /// the error names.
    pub fn warnings(&self) -> Vec<String> {
        let held_back = self.servers.iter().any(|p| {
            p.change.is_conflict()
                && matches!(p.action, Action::Skip { .. })
                && !self.skipped.contains(&p.name)
        });
        if self.mode == Mode::Write && held_back {
            vec!["some conflicts were skipped and stay unsynced".into()]
        } else {
            Vec::new()
        }
    }

    /// The error this outcome ends with (SPEC §7), or `None` for success.
    /// The deploy that followed is judged by its own report.
    pub fn error(&self) -> Option<Error> {
        // `--check` ends in 4 for anything a sync would do, conflicts too.
        let status = if self.mode == Mode::Check {
            ExitStatus::Drift
        } else {
            ExitStatus::Conflict
        };
        if self.outcome == Outcome::Conflicts {
            let count = self.pending().count();
            return Some(
                Error::new(status, format!("{} left unresolved", crate::output::count(count, "conflict", "conflicts")))
                .hint(if self.mode == Mode::Check {
                    "run without --check on a terminal to answer them, or pass --strategy profile_wins | docker_wins | merge"
                } else {
                    "run on a terminal to answer them, or pass --strategy profile_wins | docker_wins | merge"
                }),
            );
        }
        if !self.skipped.is_empty() {
            let written = if self.written {
                "the rest was written; "
            } else {
                ""
            };
            return Some(
                Error::new(
                    status,
                    format!(
                        "conflicts skipped at the prompt stay unsynced: {}",
                        self.skipped.join(", ")
                    ),
                )
                .hint(format!("{written}sync again to answer them, or pass --strategy profile_wins | docker_wins | merge")),
            );
        }
        let unresolved: Vec<&str> = self
            .servers
            .iter()
            .filter(|p| matches!(p.action, Action::Unresolved { .. }))
            .map(|p| p.name.as_str())
            .collect();
        if !unresolved.is_empty() {
            // The edit stays in the file: saying "synced" would hide that it is not.
            // Even under `--check`: no sync can bring this edit over.
            return Some(Error::new(
                ExitStatus::Conflict,
                format!(
                    "compose-file edits of {} could not be written into the profile",
                    unresolved.join(", ")
                ),
            )
            .hint("make the same change in the profile (or undo it in the compose file), then sync again"));
        }
        if self.mode != Mode::Check {
            return None;
        }
        if self.drift {
            return Some(
                Error::new(ExitStatus::Drift, "a sync would change the files")
                    .hint("run the same command without --check"),
            );
        }
        (!self.env_variables.is_empty()).then(|| {
            env_file::stale_error(
                &self.compose_file,
                &self.env_variables,
                "run the same command without --check to write it",
            )
        })
    }
}

/// One server's line in the summary, `None` for servers with nothing to say.
pub fn summary(server: &ServerPlan) -> Option<String> {
    Some(match &server.action {
        Action::Nothing | Action::Pending => return None,
        Action::RecordBase => "recorded as in sync".to_string(),
        Action::ToCompose if server.change == Change::Added => "added to the compose file".into(),
        Action::ToCompose => format!("profile → compose{}", names(&all_fields(server))),
        Action::RemoveService => "removed from the compose file".into(),
        Action::ToProfile { target } => {
            // After a merge, fields go both ways: each is named with its way.
            let (to_profile, to_compose) = field_flows(target, &server.fields);
            match (to_profile.is_empty(), to_compose.is_empty()) {
                (false, false) => format!(
                    "compose → profile{}; profile → compose{}",
                    names(&to_profile),
                    names(&to_compose)
                ),
                (true, false) => format!("profile → compose{}", names(&to_compose)),
                _ => format!("compose → profile{}", names(&to_profile)),
            }
        }
        Action::Import { .. } => "imported into the profile".into(),
        Action::Disable => "deleted from the compose file: disabled in the profile".into(),
        Action::DropBase => "gone from both: forgotten".into(),
        Action::Skip { reason } => format!("skipped: {reason}"),
        Action::Unresolved { reason } => format!("unresolved: {reason}"),
    })
}

fn all_fields(server: &ServerPlan) -> Vec<String> {
    server.fields.iter().map(|f| f.field.clone()).collect()
}

/// ` (a, b)`, or nothing for no fields.
fn names(fields: &[String]) -> String {
    if fields.is_empty() {
        return String::new();
    }
    format!(" ({})", fields.join(", "))
}

/// A server in `--json`: its plan, and for a server that is written, which
/// way each field goes (`to_profile`, `to_compose`).
fn server_json(server: &ServerPlan) -> serde_json::Value {
    let mut value = serde_json::to_value(server).unwrap_or_default();
    let flows = match &server.action {
        Action::ToProfile { target } => Some(field_flows(target, &server.fields)),
        Action::ToCompose => Some((Vec::new(), all_fields(server))),
        _ => None,
    };
    if let (Some((to_profile, to_compose)), Some(object)) = (flows, value.as_object_mut()) {
        object.insert(
            "flow".into(),
            json!({ "to_profile": to_profile, "to_compose": to_compose }),
        );
    }
    value
}
