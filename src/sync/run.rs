//! `sync::run`: one whole sync as a library operation (SPEC §5). Everything a
//! sync decides and writes happens here; `commands/sync.rs` only turns flags
//! into [`SyncOptions`], supplies an [`Interaction`] (prompts, notes) and
//! renders the [`SyncReport`]. The gateway, the MCP server and `profile add
//! --sync-docker` call this same function.
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::ConfigDir;
use crate::error::{Error, ExitStatus, Result};
use crate::profile::ConflictStrategy;

use super::merge::FieldDiff;
use super::{Choice, Direction, ServerPlan};

/// Whether a sync writes, or only tells what it would write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Write,
    /// `--dry-run`: the report carries unified diffs; nothing is written.
    DryRun,
    /// `--check`: nothing is written; the report says whether a sync would
    /// change anything (exit 4).
    Check,
}

/// Everything one sync run depends on besides the files themselves.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The profile's path (already resolved from a name).
    pub profile: PathBuf,
    /// `-f`: overrides the profile's compose file.
    pub compose_file: Option<PathBuf>,
    pub direction: Direction,
    /// `--strategy`; `None`: the profile's `conflict_resolution`, else manual.
    pub strategy: Option<ConflictStrategy>,
    /// Import services mcpm does not own: `Some` from `--import`/`--no-import`,
    /// `None`: the profile's `[docker] import_services` (default: no).
    pub import: Option<bool>,
    /// Only these servers are synced (`profile add --sync-docker`); `None`: all.
    pub only: Option<BTreeSet<String>>,
    pub mode: Mode,
    /// How long to wait for another run's lock.
    pub lock_timeout: Duration,
    /// Deploy after a successful sync: `Some` from `--deploy`/`--no-deploy`,
    /// `None`: the profile's `auto_deploy`. Never in dry-run or check mode.
    pub deploy: Option<bool>,
}

impl SyncOptions {
    /// A writing sync of `profile` in both directions, with the profile's own
    /// settings for everything else.
    pub fn new(profile: impl Into<PathBuf>) -> Self {
        Self {
            profile: profile.into(),
            compose_file: None,
            direction: Direction::Both,
            strategy: None,
            import: None,
            only: None,
            mode: Mode::Write,
            lock_timeout: Duration::from_secs(30),
            deploy: None,
        }
    }
}

/// What a sync needs from whoever runs it: a terminal's prompts (or none),
/// and somewhere to say what happens while it happens.
pub trait Interaction {
    /// Whether conflicts may be asked about (a terminal, no `--yes`, no CI).
    fn interactive(&self) -> bool;
    /// A progress or summary line (stderr for the CLI).
    fn note(&self, message: &str);
    fn warn(&self, message: &str);
    /// How to settle a whole server's conflict.
    fn server_conflict(&mut self, server: &ServerPlan, what: &str) -> Result<Choice>;
    /// How to settle one field both sides changed.
    fn field_conflict(&mut self, server: &str, diff: &FieldDiff) -> Result<Choice>;
}

/// For callers without a terminal (the MCP server, the gateway, tests):
/// nothing is asked, notes are dropped, warnings kept in order.
#[derive(Debug, Default)]
pub struct Unattended {
    pub warnings: std::cell::RefCell<Vec<String>>,
}

impl Interaction for Unattended {
    fn interactive(&self) -> bool {
        false
    }
    fn note(&self, _message: &str) {}
    fn warn(&self, message: &str) {
        self.warnings.borrow_mut().push(message.to_string());
    }
    fn server_conflict(&mut self, _server: &ServerPlan, _what: &str) -> Result<Choice> {
        Ok(Choice::Skip)
    }
    fn field_conflict(&mut self, _server: &str, _diff: &FieldDiff) -> Result<Choice> {
        Ok(Choice::Skip)
    }
}

/// How a sync ended, as `--json`'s `status` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    InSync,
    Changed,
    /// Conflicts left open (no terminal, or skipped): nothing written.
    Conflicts,
    /// Compose-side edits that could not be written into the profile.
    Unresolved,
}

/// What one sync run did (or, in dry-run/check mode, would do).
#[derive(Debug, Clone)]
pub struct SyncReport {
    pub profile: PathBuf,
    pub compose_file: PathBuf,
    pub outcome: Outcome,
    /// Every server's plan, including the ones in sync.
    pub servers: Vec<ServerPlan>,
    /// `.env` variables written (or that would be).
    pub env_variables: Vec<String>,
    /// Whether any file was written.
    pub written: bool,
    /// `Mode::DryRun`: the unified diffs of both files, secrets masked.
    pub diff: String,
    /// `Mode::Check`: whether a sync would change anything.
    pub drift: bool,
}

impl SyncReport {
    /// The process exit status SPEC §7 gives this outcome: 3 for conflicts
    /// left open, 4 for `--check` drift (conflicts included), else 0.
    pub fn exit_status(&self, mode: Mode) -> ExitStatus {
        match (mode, self.outcome) {
            (Mode::Check, Outcome::InSync) if !self.drift => ExitStatus::Ok,
            (Mode::Check, _) => ExitStatus::Drift,
            (_, Outcome::Conflicts | Outcome::Unresolved) => ExitStatus::Conflict,
            _ => ExitStatus::Ok,
        }
    }
}

/// Runs one sync: lock, read and parse each file once, plan, settle conflicts
/// (through `ui`), verify and write, then deploy when asked.
pub fn run(
    config: &ConfigDir,
    options: &SyncOptions,
    ui: &mut dyn Interaction,
) -> Result<SyncReport> {
    let _ = (config, options, ui);
    Err(Error::runtime(
        "sync::run is being moved out of commands/sync.rs",
    ))
}
