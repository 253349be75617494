//! `sync::run`: one whole sync as a library operation (SPEC §5). Everything a
//! sync decides and writes happens here; `commands/sync.rs` only turns flags
//! into [`SyncOptions`], supplies an [`Interaction`] (prompts, notes) and
//! renders the [`SyncReport`]. The gateway, the MCP server and `profile add
//! --sync-docker` call this same function.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::catalog::Catalog;
use crate::compose::env_file;
use crate::config::ConfigDir;
use crate::engine::deploy::{DeployOptions, DeployReport, DeployTarget};
use crate::engine::plan::Plan;
use crate::engine::progress::Progress;
use crate::error::{Error, ExitStatus, Result};
use crate::files::{
    FileLock, Interrupted, LockMode, debug_point, finish_interrupted, lock_files, read_optional,
    sweep_temps, write_pair,
};
use crate::output;
use crate::profile::{ConflictStrategy, LoadedProfile, load_profile_text};

use super::compute::{self, Rules, Texts};
use super::merge::FieldDiff;
use super::report::describe_change;
use super::{Action, Choice, Direction, PlanInput, ServerPlan, resolve, resolve_fields};

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
    /// How that deploy runs (`--wait`, timeouts); its `dry_run` is ignored.
    pub deploy_options: DeployOptions,
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
            deploy_options: DeployOptions {
                dependency_timeout: Duration::from_secs(60),
                ..DeployOptions::default()
            },
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
    /// Whether warnings reach anyone (`-q` drops them): the doctor's checks
    /// after a sync only produce warnings, and are skipped when not.
    fn shows_warnings(&self) -> bool {
        true
    }
    /// How to settle a whole server's conflict.
    fn server_conflict(&mut self, server: &ServerPlan, what: &str) -> Result<Choice>;
    /// How to settle one field both sides changed.
    fn field_conflict(&mut self, server: &str, diff: &FieldDiff) -> Result<Choice>;
    /// The sync is written and a deploy follows: the moment to show the sync's
    /// report, before the deploy's own output.
    fn before_deploy(&mut self, _report: &SyncReport) -> Result<()> {
        Ok(())
    }
    /// Where the deploy's pull progress goes.
    fn deploy_progress(&self) -> Progress {
        Progress::quiet()
    }
    /// The deploy's plan, before it runs.
    fn deploy_plan(&self, _plan: &Plan, _file: &Path) -> Result<()> {
        Ok(())
    }
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
    /// Conflicts left open for want of a terminal (or under `--check`):
    /// nothing written. (Conflicts skipped at the prompt: `skipped`.)
    Conflicts,
    /// Compose-side edits that could not be written into the profile.
    Unresolved,
}

/// What one sync run did (or, in dry-run/check mode, would do).
#[derive(Debug, Clone)]
pub struct SyncReport {
    pub profile: PathBuf,
    pub compose_file: PathBuf,
    pub mode: Mode,
    pub outcome: Outcome,
    /// Every server's plan, including the ones in sync (with `only`, just
    /// those servers).
    pub servers: Vec<ServerPlan>,
    /// `.env` variables written (or that would be).
    pub env_variables: Vec<String>,
    /// Conflicts skipped at the prompt: left as they are while the rest is
    /// written; the sync ends with exit 3 naming them.
    pub skipped: Vec<String>,
    /// Whether any file was written.
    pub written: bool,
    /// `Mode::DryRun`: the unified diffs of both files, secrets masked.
    pub diff: String,
    /// Whether a sync would change the profile or the compose file (`.env`
    /// alone: see `env_variables`).
    pub drift: bool,
    /// The deploy that followed (`--deploy`, `auto_deploy`): its report, or
    /// why it could not run. `None` when no deploy was due.
    pub deploy: Option<Result<DeployReport, Error>>,
}

impl SyncReport {
    /// The process exit status SPEC §7 gives this outcome: 3 for conflicts
    /// left open (and compose edits no sync can bring over), 4 for `--check`
    /// drift (conflicts included), else 0: the status of [`Self::error`].
    pub fn exit_status(&self) -> ExitStatus {
        self.error().map_or(ExitStatus::Ok, |err| err.status)
    }

    /// The servers a sync changes (or would): the ones not in step.
    pub fn changed(&self) -> impl Iterator<Item = &ServerPlan> {
        self.servers
            .iter()
            .filter(|p| !matches!(p.change, super::Change::InSync | super::Change::Idle))
    }

    /// The conflicts left waiting for an answer.
    pub fn pending(&self) -> impl Iterator<Item = &ServerPlan> {
        self.servers.iter().filter(|p| p.action == Action::Pending)
    }
}

/// Runs one sync: lock, read and parse each file once, plan, settle conflicts
/// (through `ui`), verify and write, then deploy when asked.
pub fn run(
    config: &ConfigDir,
    options: &SyncOptions,
    ui: &mut dyn Interaction,
) -> Result<SyncReport> {
    let profile_path = options.profile.as_path();
    let (loaded, compose_path, mut locks) = lock_and_load(config, options)?;
    if options.compose_file.is_none()
        && let Some(note) = loaded.legacy_note(config)
    {
        ui.warn(&note);
    }
    let lock = &mut locks[1];
    let env_path = env_file::env_path(&compose_path);
    // A sync killed between its two files is finished first (read-only
    // runs plan from the text it owes, and report the difference).
    let read_only = options.mode != Mode::Write;
    if !read_only {
        for path in [profile_path, &compose_path, &env_path] {
            sweep_temps(path);
        }
    }
    let interrupted = finish_interrupted(profile_path, &compose_path, read_only)?;
    if interrupted == Interrupted::Finished {
        ui.note(&format!(
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
        ui.note(&format!(
            "an interrupted sync left {} behind its profile; a sync finishes it",
            compose_path.display()
        ));
    }
    let env_now = read_optional(&env_path)?;
    let host = crate::catalog::host_fingerprint(&loaded.profile.servers);
    let key = cache_key(
        config,
        options,
        (profile_path, &loaded.source.text),
        (&compose_path, compose_now.as_deref()),
        (env_now.as_deref(), &host),
    );
    let deploy_after =
        options.deploy.unwrap_or(loaded.profile.docker.auto_deploy) && options.mode == Mode::Write;
    let mut report = SyncReport {
        profile: profile_path.to_path_buf(),
        compose_file: compose_path.clone(),
        mode: options.mode,
        outcome: Outcome::InSync,
        servers: Vec::new(),
        env_variables: Vec::new(),
        skipped: Vec::new(),
        written: false,
        diff: String::new(),
        drift: false,
        deploy: None,
    };
    if owed.is_none() && options.only.is_none() && lock.note() == key {
        // Nothing changed since a sync that left both files in step.
        drop(locks);
        return hand_over(config, options, ui, report, deploy_after);
    }

    let catalog = Catalog::load(Some(&config.templates()))?;
    let mut parsed = compute::parse(&loaded, &catalog, &compose_path, compose_now.as_deref())?;
    // The header's command names this file when it is not the profile's own.
    parsed.rendered.compose_arg = loaded.compose_arg(config, &compose_path);
    parsed.rendered.profile_arg = loaded.profile_arg(config);
    let strategy = options
        .strategy
        .or(loaded.profile.docker.conflict_resolution)
        .unwrap_or(ConflictStrategy::Manual);
    let rules = Rules {
        strategy,
        direction: options.direction,
        import: options
            .import
            .unwrap_or(loaded.profile.docker.import_services),
    };
    let input = parsed.input(&loaded, rules);
    let mut plans = compute::plan_servers(&input, options.only.as_ref());

    if plans.iter().any(|p| p.action == Action::Pending) {
        if !ui.interactive() || options.mode == Mode::Check {
            report.outcome = Outcome::Conflicts;
            report.servers = in_scope(plans, options);
            return Ok(report);
        }
        for server in plans.iter_mut().filter(|p| p.action == Action::Pending) {
            ask(ui, &input, server)?;
            if matches!(server.action, Action::Skip { .. }) {
                report.skipped.push(server.name.clone());
            }
        }
    }

    let texts = Texts {
        profile_path,
        profile: &loaded.source.text,
        compose_path: &compose_path,
        compose: compose_now.as_deref(),
        env: env_now.as_deref().unwrap_or_default(),
    };
    let mut outputs = compute::outputs(parsed, &loaded, &catalog, &texts, &mut plans)?;
    // `.env` variables this sync writes: the only change a rotated literal
    // secret makes (the compose file holds its reference).
    report.env_variables = env_file::stale_in(texts.env, &outputs.rendered);
    let profile_changes = outputs.profile_text != loaded.source.text;
    let compose_changes = outputs
        .compose_text
        .as_ref()
        .is_some_and(|text| Some(text) != compose_on_disk);
    report.drift = profile_changes || compose_changes;
    report.outcome = outcome(&plans, &report.env_variables);

    match options.mode {
        Mode::DryRun => {
            // The profile's literal secrets are masked wherever they show.
            let secrets: Vec<&str> = outputs
                .rendered
                .secrets
                .iter()
                .map(|s| s.value.as_str())
                .chain(outputs.read_secrets.iter().map(String::as_str))
                .collect();
            if profile_changes {
                report.diff.push_str(&output::unified_diff_hiding(
                    &profile_path.display().to_string(),
                    &loaded.source.text,
                    &outputs.profile_text,
                    &secrets,
                ));
            }
            if let Some(text) = outputs.compose_text.as_ref().filter(|_| compose_changes) {
                report.diff.push_str(&output::unified_diff_hiding(
                    &compose_path.display().to_string(),
                    compose_on_disk.map_or("", String::as_str),
                    text,
                    &secrets,
                ));
            }
            report.servers = in_scope(plans, options);
            return Ok(report);
        }
        Mode::Check => {
            report.servers = in_scope(plans, options);
            return Ok(report);
        }
        Mode::Write => {}
    }

    if profile_changes || compose_changes {
        for warning in &outputs.rendered.warnings {
            ui.warn(warning);
        }
        // The doctor's checks need the profile the rendering came from:
        // when sync changed it, they wait for the next run (or `doctor`).
        if !profile_changes && ui.shows_warnings() {
            let env = Some((env_path.as_path(), texts.env));
            let findings = crate::doctor::quick_check(&loaded, &outputs.rendered, &catalog, env);
            for line in crate::doctor::warning_lines(&loaded, &findings) {
                ui.warn(&line);
            }
        }
    }
    // `.env` first (extra variables harm nobody), then the profile and the
    // compose file as a pair: a kill between the two is finished by the next
    // run (files::write_pair).
    debug_point("sync-writes");
    env_file::write_secrets(&compose_path, &outputs.rendered, &|notice| ui.warn(notice))?;
    debug_point("sync-after-env");
    write_pair(
        (
            profile_path,
            Some(outputs.profile_text.as_str()).filter(|_| profile_changes),
        ),
        (
            &compose_path,
            compose_on_disk.map(String::as_str),
            outputs.compose_text.as_deref().filter(|_| compose_changes),
        ),
    )?;
    debug_point("sync-after-compose");
    report.written = profile_changes || compose_changes || !report.env_variables.is_empty();
    if plans.iter().all(|p| {
        !matches!(
            p.action,
            Action::Skip { .. } | Action::Unresolved { .. } | Action::Pending
        )
    }) {
        // What is on disk now: the new texts where they were written.
        let compose_written = if compose_changes {
            outputs.compose_text.as_deref()
        } else {
            compose_now.as_deref()
        };
        let env_written = read_optional(&env_path)?;
        // `host` is the profile's as read; if the sync changed the profile's
        // servers and their host state differs, the next key just misses.
        lock.set_note(&cache_key(
            config,
            options,
            (profile_path, &outputs.profile_text),
            (&compose_path, compose_written),
            (env_written.as_deref(), &host),
        ));
    }
    drop(locks);
    compute::drop_aside(Some(std::mem::take(&mut outputs.rendered.document)));
    report.servers = in_scope(plans, options);
    if report.outcome == Outcome::Unresolved || !report.skipped.is_empty() {
        // Not in step: no deploy of a half-synced file.
        return Ok(report);
    }
    hand_over(config, options, ui, report, deploy_after)
}

/// The report's outcome from the settled plans.
fn outcome(plans: &[ServerPlan], env: &[String]) -> Outcome {
    if plans.iter().any(|p| p.action == Action::Pending) {
        Outcome::Conflicts
    } else if plans
        .iter()
        .any(|p| matches!(p.action, Action::Unresolved { .. }))
    {
        Outcome::Unresolved
    } else if plans.iter().any(ServerPlan::changes_anything) || !env.is_empty() {
        Outcome::Changed
    } else {
        Outcome::InSync
    }
}

/// The plans a report shows: all of them, or with `only` just those servers.
fn in_scope(plans: Vec<ServerPlan>, options: &SyncOptions) -> Vec<ServerPlan> {
    match &options.only {
        None => plans,
        Some(only) => plans
            .into_iter()
            .filter(|p| only.contains(&p.name))
            .collect(),
    }
}

/// Reads the profile, locks it and its compose file (both: two syncs of one
/// profile with different compose files must not lose each other's profile
/// edits), and reads the profile again under the lock, so what is decided is
/// what is on disk. A read-only run (`--check`, `--dry-run`) shares the locks
/// and creates nothing. Returns the profile, the compose file's path and the
/// locks (profile's, compose file's, `.env`'s).
fn lock_and_load(
    config: &ConfigDir,
    options: &SyncOptions,
) -> Result<(LoadedProfile, PathBuf, Vec<FileLock>)> {
    let profile_path = options.profile.as_path();
    let mode = match options.mode {
        Mode::Write => LockMode::Exclusive,
        Mode::DryRun | Mode::Check => LockMode::Shared,
    };
    let read = || {
        read_optional(profile_path)?.ok_or_else(|| {
            Error::invalid(format!("profile {} does not exist", profile_path.display()))
        })
    };
    let mut text = read()?;
    let mut loaded = load_profile_text(profile_path, text.clone())?;
    loop {
        // The profile names its compose file, so it is read once before locking.
        let compose_path = options
            .compose_file
            .clone()
            .unwrap_or_else(|| loaded.compose_file(config));
        // `.env` too: compose files of other profiles may share its directory.
        let env_path = env_file::env_path(&compose_path);
        // A file that is not a compose document is refused before a lock
        // file is put beside it: nothing is written there (SPEC §5).
        if let Some(text) = read_optional(&compose_path)? {
            crate::compose::ensure_compose_text(&compose_path, &text)?;
        }
        let locks = lock_files(
            &[profile_path, &compose_path, &env_path],
            mode,
            options.lock_timeout,
        )?;
        let now = read()?;
        if now == text {
            return Ok((loaded, compose_path, locks));
        }
        loaded = load_profile_text(profile_path, now.clone())?;
        text = now;
        let same_file =
            options.compose_file.is_some() || loaded.compose_file(config) == compose_path;
        if same_file {
            return Ok((loaded, compose_path, locks));
        }
        // Another run pointed the profile at another compose file meanwhile:
        // lock that one instead.
    }
}

/// `--deploy` / `auto_deploy`: after a successful sync, deploy the file just
/// synced, as `mcpm docker deploy` would; its outcome joins the report.
fn hand_over(
    config: &ConfigDir,
    options: &SyncOptions,
    ui: &mut dyn Interaction,
    mut report: SyncReport,
    deploy: bool,
) -> Result<SyncReport> {
    if !deploy {
        return Ok(report);
    }
    ui.before_deploy(&report)?;
    ui.note("deploying…");
    let target = DeployTarget {
        compose_file: Some(report.compose_file.clone()),
        profile: Some(options.profile.display().to_string()),
        project_name: None,
    };
    let deploy_options = DeployOptions {
        dry_run: false,
        ..options.deploy_options.clone()
    };
    let progress = ui.deploy_progress();
    let on_plan = |plan: &Plan, file: &Path| ui.deploy_plan(plan, file);
    report.deploy = Some(crate::engine::deploy::run(
        config,
        &target,
        &deploy_options,
        &progress,
        &on_plan,
    ));
    Ok(report)
}

/// A digest of everything a sync's outcome depends on: this build of mcpm,
/// the catalog, both files, the `.env`, the host directories host-script
/// servers mount (`host_fingerprint`) and the options. Equal to the key
/// stored after a sync that left everything in step, it means there is
/// nothing to do. Only a shortcut: without it, sync reaches the same answer
/// the long way.
fn cache_key(
    config: &ConfigDir,
    options: &SyncOptions,
    (profile, profile_text): (&Path, &str),
    (compose, compose_text): (&Path, Option<&str>),
    (env_text, host): (Option<&str>, &str),
) -> String {
    let build = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|meta| format!("{}:{:?}", meta.len(), meta.modified().ok()))
        .unwrap_or_default();
    let mut material = format!(
        "mcpm-sync-cache 1\n{}\n{build}\n{}\n{:?} {:?} {:?}\n",
        env!("CARGO_PKG_VERSION"),
        Catalog::fingerprint(Some(&config.templates())),
        options.direction,
        options.strategy,
        options.import,
    )
    .into_bytes();
    let env_path = env_file::env_path(compose);
    for (path, text) in [
        (profile, Some(profile_text)),
        (compose, compose_text),
        (env_path.as_path(), env_text),
    ] {
        material.extend_from_slice(path.to_string_lossy().as_bytes());
        material.push(0);
        material.extend_from_slice(text.unwrap_or_default().as_bytes());
        material.push(0);
    }
    material.extend_from_slice(host.as_bytes());
    format!("mcpm-sync-cache {}\n", crate::hash::digest(&material))
}

/// Asks about one pending conflict through `ui`: the whole server, then
/// (after a merge, or under `--strategy merge`) each field both sides changed.
fn ask(ui: &mut dyn Interaction, input: &PlanInput<'_>, server: &mut ServerPlan) -> Result<()> {
    if server.conflicting_fields.is_empty() {
        let choice = ui.server_conflict(server, describe_change(server.change))?;
        resolve(input, server, choice);
        if server.action != Action::Pending {
            return Ok(());
        }
        if server.conflicting_fields.is_empty() {
            // A merge asked of a deletion against an edit: nothing to merge.
            resolve(input, server, Choice::Skip);
            return Ok(());
        }
    }
    let mut choices = Vec::new();
    for diff in server.conflicting_fields.clone() {
        let choice = ui.field_conflict(&server.name, &diff)?;
        choices.push((diff.field.clone(), choice));
        if choice == Choice::Skip {
            break;
        }
    }
    resolve_fields(input, server, &choices);
    Ok(())
}
