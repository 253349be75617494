//! `mcpm client`: writes the servers of a profile into MCP clients' config
//! files (Claude Desktop, Claude Code, Cursor, VS Code, Windsurf), removes
//! them again, and lists what each client has (SPEC §6b).
//!
//! ```text
//! catalogue (which file)  ─┐
//! entries (what is due)    ├─ plan (what changes) ─ document (lossless edit, verified) ─ files::write_atomic
//! gateway::state (port, token) ─┘
//! ```
//!
//! The decisions are pure (`catalogue::config_path`, `entries::desired`,
//! `entries::owner`, `plan::plan_add`/`plan_remove`, `document::apply`); this
//! module reads and writes the files around them.
pub mod catalogue;
pub mod document;
pub mod entries;
mod list;
pub mod plan;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::catalog::{Catalog, Outcome, detect};
use crate::config::ConfigDir;
use crate::error::{Error, ExitStatus, Result};
use crate::files::{WriteOptions, read_optional, write_atomic};
use crate::gateway::state;
use crate::profile::{LoadedProfile, load_profile, resolve_profile_path};

pub use catalogue::{Client, Os, Scope, UserDirs};
pub use entries::{Owner, Skipped, Via};
pub use list::{ClientListing, ListOptions, ListedEntry, list};
pub use plan::{Action, Conflict, EntryResult};

use document::ConfigText;
use entries::{Desired, Identity, Launch, ServerKind};

/// Where the client files are: the user's directories and the project dir.
#[derive(Debug, Clone)]
pub struct Place {
    pub dirs: UserDirs,
    pub os: Os,
    /// The directory of a project-scope file.
    pub project_dir: PathBuf,
}

impl Place {
    /// This process's: its environment, its OS, and `project_dir` or the
    /// current directory.
    pub fn from_process(project_dir: Option<PathBuf>) -> Result<Self> {
        let dirs = UserDirs::from_env(|name| std::env::var(name).ok()).ok_or_else(|| {
            Error::runtime("cannot tell the home directory").hint("set HOME to your home directory")
        })?;
        let project_dir = match project_dir {
            Some(dir) if !dir.is_dir() => {
                return Err(Error::invalid(format!(
                    "--project-dir {} is not a directory",
                    dir.display()
                ))
                .hint("pass the project's root directory (where .vscode/, .cursor/ or .mcp.json live)"));
            }
            Some(dir) => dir,
            None => std::env::current_dir().map_err(|err| {
                Error::runtime(format!("cannot read the current directory: {err}"))
            })?,
        };
        Ok(Self {
            dirs,
            os: Os::current(),
            project_dir,
        })
    }

    /// The config file of `client` for `scope`; a client without a project
    /// file is an input error.
    pub fn config_path(&self, client: Client, scope: Scope) -> Result<PathBuf> {
        catalogue::config_path(
            client,
            scope,
            self.os,
            &self.dirs,
            &self.project_dir,
            &|dir| dir.is_dir(),
        )
        .map_err(|none| {
            Error::invalid(none.to_string()).hint(format!(
                "use --scope user: {} reads its servers from one file per user",
                client.label()
            ))
        })
    }
}

/// Options of `client add`.
#[derive(Debug, Clone)]
pub struct AddOptions {
    pub client: Client,
    pub scope: Scope,
    pub profile: String,
    pub via: Via,
    /// Only these servers (all enabled ones when empty).
    pub servers: Vec<String>,
    pub force: bool,
    pub dry_run: bool,
}

/// Options of `client remove`.
#[derive(Debug, Clone)]
pub struct RemoveOptions {
    pub client: Client,
    pub scope: Scope,
    pub profile: String,
    /// Only these entries (all of the profile's when empty).
    pub servers: Vec<String>,
    pub dry_run: bool,
}

/// What `add` or `remove` did to one client's file.
#[derive(Debug, Clone, Serialize)]
pub struct EditReport {
    pub client: Client,
    pub scope: Scope,
    pub file: String,
    pub profile: String,
    /// The file did not exist before (and was created unless `dry_run`).
    pub created: bool,
    /// Its directory did not exist either: the client may not be installed.
    pub created_dir: bool,
    /// The file was written (false when nothing changed, for a dry run, or
    /// when conflicts stopped it).
    pub written: bool,
    pub dry_run: bool,
    pub entries: Vec<EntryResult>,
    pub skipped: Vec<Skipped>,
    pub conflicts: Vec<Conflict>,
    /// The unified diff (tokens masked) for a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl EditReport {
    /// The exit status the report means: conflicts are exit 2.
    pub fn status(&self) -> ExitStatus {
        match self.conflicts.is_empty() {
            true => ExitStatus::Ok,
            false => ExitStatus::Invalid,
        }
    }
}

/// The profile, with what client entries need from it.
struct ProfileContext {
    loaded: LoadedProfile,
    /// Every server with what it is, in the profile's (sorted) order.
    servers: Vec<(String, ServerKind)>,
    launch: Launch,
    identity: Identity,
}

fn load_context(config: &ConfigDir, profile_arg: &str) -> Result<ProfileContext> {
    let path = resolve_profile_path(profile_arg, config)?;
    let loaded = load_profile(&path)?;
    let catalog = Catalog::load(Some(&config.templates()))?;
    let servers = loaded
        .profile
        .servers
        .iter()
        .map(|(name, spec)| {
            let kind = match detect(name, spec, &catalog) {
                Outcome::Service(_) => ServerKind::Stdio,
                Outcome::Remote => ServerKind::Remote {
                    url: spec.url.clone().unwrap_or_default(),
                    headers: spec.headers.clone(),
                },
                Outcome::Disabled => ServerKind::Disabled,
                Outcome::NotContainerizable { reason, .. } => {
                    ServerKind::NotContainerizable(reason)
                }
            };
            (name.clone(), kind)
        })
        .collect();
    let absolute = std::path::absolute(loaded.path())
        .map_err(|err| Error::io("find the absolute path of", loaded.path(), err))?;
    let mut profiles = vec![absolute.display().to_string()];
    if let Ok(canonical) = absolute.canonicalize() {
        profiles.push(canonical.display().to_string());
    }
    profiles.push(profile_arg.to_string());
    let exe = std::env::current_exe()
        .map_err(|err| Error::runtime(format!("cannot tell where this mcpm is: {err}")))?;
    let program = program_path(
        &exe,
        std::env::args_os().next().as_deref(),
        std::env::var_os("PATH").as_deref(),
        &|path| path.canonicalize().ok(),
    );
    let default_config = ConfigDir::resolve(None);
    let config_dir = (default_config.path() != config.path())
        .then(|| std::path::absolute(config.path()).map(|p| p.display().to_string()))
        .transpose()
        .map_err(|err| Error::io("find the absolute path of", config.path(), err))?;
    let project = loaded.project();
    let gateway_url =
        state::sticky_port(config, &project).map(|port| format!("http://127.0.0.1:{port}"));
    let token = state::existing_token(config)?;
    Ok(ProfileContext {
        loaded,
        servers,
        launch: Launch {
            program: program.display().to_string(),
            profile: absolute.display().to_string(),
            config_dir,
            engine_args: crate::engine::endpoint::child_args(),
        },
        identity: Identity {
            profiles,
            gateway_url,
            token,
        },
    })
}

/// The path a client should start mcpm by: the one the user ran it as
/// (`argv[0]`, or where `PATH` found it) when that is this same executable,
/// else the executable itself. A package manager's stable link (Homebrew's
/// `/opt/homebrew/bin/mcpm`, pointing into a versioned directory) keeps
/// working after an upgrade; the versioned target would not.
fn program_path(
    exe: &Path,
    argv0: Option<&std::ffi::OsStr>,
    path_var: Option<&std::ffi::OsStr>,
    canonical: &dyn Fn(&Path) -> Option<PathBuf>,
) -> PathBuf {
    let target = canonical(exe);
    let same = |candidate: &Path| target.is_some() && canonical(candidate) == target;
    let Some(argv0) = argv0.map(Path::new) else {
        return exe.to_path_buf();
    };
    let found = if argv0.components().count() > 1 {
        std::path::absolute(argv0).ok().filter(|path| same(path))
    } else {
        path_var
            .into_iter()
            .flat_map(std::env::split_paths)
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join(argv0))
            .find(|path| same(path))
    };
    found.unwrap_or_else(|| exe.to_path_buf())
}

/// Serializes mcpm runs editing the same client file (two profiles added
/// at once must not lose one's entries). The lock lives in mcpm's config
/// dir, keyed by the file's real path, not beside the client's file: the
/// clients' directories get no lock files. A dry run shares it.
fn lock(config: &ConfigDir, path: &Path, dry_run: bool) -> Result<Vec<crate::files::FileLock>> {
    let target = crate::files::resolve_target(path)?;
    let target = std::path::absolute(&target).unwrap_or(target);
    let key = crate::hash::canonical_hash(&Value::String(target.display().to_string()));
    let name: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(32)
        .collect();
    let stand_in = config.path().join("clients").join(name);
    let mode = match dry_run {
        true => crate::files::LockMode::Shared,
        false => crate::files::LockMode::Exclusive,
    };
    crate::files::lock_files(&[&stand_in], mode, std::time::Duration::from_secs(30))
}

/// Reads a config file: `None` when it does not exist (a symlink is
/// followed, so a linked file is read and later written through).
fn read_config(path: &Path) -> Result<Option<ConfigText>> {
    match read_optional(path)? {
        None => Ok(None),
        Some(text) => document::parse(path, &text).map(Some),
    }
}

/// Checks `--server` names against the profile.
fn check_named(named: &[String], servers: &[(String, ServerKind)], profile: &str) -> Result<()> {
    let unknown: Vec<&String> = named
        .iter()
        .filter(|name| !servers.iter().any(|(server, _)| server == *name))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let known: Vec<&str> = servers.iter().map(|(name, _)| name.as_str()).collect();
    Err(Error::invalid(format!(
        "no server named {} in profile `{profile}`",
        unknown
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .hint(match known.is_empty() {
        true => "the profile has no servers".to_string(),
        false => format!("its servers: {}", known.join(", ")),
    }))
}

/// `client add`: writes an entry per enabled server of the profile into the
/// client's config, replacing only mcpm's own entries.
pub fn add(config: &ConfigDir, place: &Place, options: &AddOptions) -> Result<EditReport> {
    let client = options.client;
    if options.via == Via::Http && !client.takes_http() {
        return Err(Error::invalid(format!(
            "{} cannot take HTTP entries: its config file only starts stdio commands",
            client.label()
        ))
        .hint(format!(
            "use --via stdio (the default): mcpm client add {} --profile {}",
            client.name(),
            options.profile
        )));
    }
    let path = place.config_path(client, options.scope)?;
    let context = load_context(config, &options.profile)?;
    check_named(&options.servers, &context.servers, &options.profile)?;
    let servers: Vec<(String, ServerKind)> = context
        .servers
        .iter()
        .filter(|(name, _)| options.servers.is_empty() || options.servers.contains(name))
        .cloned()
        .collect();
    let needs_gateway =
        options.via == Via::Http && servers.iter().any(|(_, kind)| *kind == ServerKind::Stdio);
    let mut secrets = Vec::new();
    let gateway = if needs_gateway {
        let project = context.loaded.project();
        let Some(base_url) = context.identity.gateway_url.clone() else {
            return Err(Error::runtime(format!(
                "the gateway of project `{project}` has no port yet ({} is missing)",
                state::port_path(config, &project).display()
            ))
            .hint(format!(
                "start the gateway first: mcpm docker gateway --profile {} --detach",
                options.profile
            )));
        };
        // A dry run writes nothing, not even a first token: the diff shows
        // a stand-in, masked like the real one.
        let token = match options.dry_run {
            true => context
                .identity
                .token
                .clone()
                .unwrap_or_else(|| "0".repeat(64)),
            false => state::token(config)?,
        };
        secrets.push(token.clone());
        Some(entries::Gateway { base_url, token })
    } else {
        None
    };
    let Desired {
        entries: due,
        skipped,
    } = entries::desired(
        client,
        options.via,
        &servers,
        &context.launch,
        gateway.as_ref(),
    );
    let mut identity = context.identity.clone();
    if let Some(gateway) = &gateway {
        identity.token = Some(gateway.token.clone());
    }
    let _lock = lock(config, &path, options.dry_run)?;
    let current = read_config(&path)?;
    let existing = match &current {
        Some(config_text) => document::entries(&path, config_text, client.servers_key())?,
        None => Vec::new(),
    };
    let plan = plan::plan_add(
        client,
        &existing,
        &due,
        &identity,
        options.force,
        options.servers.is_empty(),
    );
    let mut report = EditReport {
        client,
        scope: options.scope,
        file: path.display().to_string(),
        profile: context.loaded.profile.name.clone(),
        created: current.is_none(),
        created_dir: current.is_none() && path.parent().is_some_and(|dir| !dir.is_dir()),
        written: false,
        dry_run: options.dry_run,
        entries: plan.results,
        skipped,
        conflicts: plan.conflicts,
        diff: None,
    };
    if !report.conflicts.is_empty() {
        return Ok(report);
    }
    let holds_token = gateway.is_some();
    finish(
        &path,
        current,
        client,
        &plan.changes,
        holds_token,
        &secrets,
        &mut report,
    )?;
    Ok(report)
}

/// `client remove`: removes the profile's entries mcpm wrote.
pub fn remove(config: &ConfigDir, place: &Place, options: &RemoveOptions) -> Result<EditReport> {
    let client = options.client;
    let path = place.config_path(client, options.scope)?;
    let context = load_context(config, &options.profile)?;
    let _lock = lock(config, &path, options.dry_run)?;
    let current = read_config(&path)?;
    let mut report = EditReport {
        client,
        scope: options.scope,
        file: path.display().to_string(),
        profile: context.loaded.profile.name.clone(),
        created: false,
        created_dir: false,
        written: false,
        dry_run: options.dry_run,
        entries: Vec::new(),
        skipped: Vec::new(),
        conflicts: Vec::new(),
        diff: None,
    };
    let Some(current) = current else {
        return Ok(report);
    };
    let existing = document::entries(&path, &current, client.servers_key())?;
    // The remote servers' entries are recognised by being exactly what add writes.
    let remote = entries::desired(client, Via::Stdio, &context.servers, &context.launch, None)
        .entries
        .into_iter()
        .filter(|(name, _)| {
            context
                .servers
                .iter()
                .any(|(server, kind)| server == name && matches!(kind, ServerKind::Remote { .. }))
        })
        .collect::<Vec<_>>();
    let plan = plan::plan_remove(
        client,
        &existing,
        &remote,
        &context.identity,
        &options.servers,
    );
    report.entries = plan.results;
    report.conflicts = plan.conflicts;
    for name in &options.servers {
        if !existing.iter().any(|(key, _)| key == name) {
            report.skipped.push(Skipped {
                server: name.clone(),
                reason: "no entry of that name in the file".into(),
            });
        }
    }
    if !report.conflicts.is_empty() {
        return Ok(report);
    }
    let secrets: Vec<String> = context.identity.token.iter().cloned().collect();
    finish(
        &path,
        Some(current),
        client,
        &plan.changes,
        false,
        &secrets,
        &mut report,
    )?;
    Ok(report)
}

/// Applies `changes` to the file (or to a new one), then writes it, or
/// puts the diff in the report for a dry run. Nothing is written when the
/// text does not change.
fn finish(
    path: &Path,
    current: Option<ConfigText>,
    client: Client,
    changes: &[document::Change],
    holds_token: bool,
    secrets: &[String],
    report: &mut EditReport,
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let current = current.unwrap_or(ConfigText {
        text: String::new(),
        value: Value::Object(Default::default()),
    });
    let text = document::apply(path, &current, client.servers_key(), changes)?;
    if text == current.text {
        return Ok(());
    }
    if report.dry_run {
        let hidden: Vec<&str> = secrets.iter().map(String::as_str).collect();
        report.diff = Some(crate::output::unified_diff_hiding(
            &report.file,
            &current.text,
            &text,
            &hidden,
        ));
        return Ok(());
    }
    // A file holding the gateway token is for its owner's eyes only.
    let mode = holds_token.then_some(0o600);
    write_atomic(path, text.as_bytes(), WriteOptions { mode, backup: true })?;
    report.written = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    /// `/opt/homebrew/bin/mcpm` links to the versioned executable.
    fn canonical(path: &Path) -> Option<PathBuf> {
        let real = Path::new("/opt/homebrew/Cellar/mcpm/0.1.0/bin/mcpm");
        match path.to_str()? {
            "/opt/homebrew/bin/mcpm" => Some(real.into()),
            "/opt/homebrew/Cellar/mcpm/0.1.0/bin/mcpm" => Some(real.into()),
            "/usr/bin/mcpm" => Some("/usr/bin/mcpm".into()),
            _ => None,
        }
    }

    #[test]
    fn the_program_is_the_stable_path_the_user_ran() {
        let exe = Path::new("/opt/homebrew/Cellar/mcpm/0.1.0/bin/mcpm");
        let path = OsStr::new("/usr/bin:relative/dir:/opt/homebrew/bin");
        let stable = PathBuf::from("/opt/homebrew/bin/mcpm");
        // Found through PATH (the first dir holding the same executable).
        assert_eq!(
            program_path(exe, Some(OsStr::new("mcpm")), Some(path), &canonical),
            stable
        );
        // Run by its path.
        let argv0 = OsStr::new("/opt/homebrew/bin/mcpm");
        assert_eq!(program_path(exe, Some(argv0), None, &canonical), stable);
        // A different mcpm on PATH, or none: the executable itself.
        let other = OsStr::new("/usr/bin");
        assert_eq!(
            program_path(exe, Some(OsStr::new("mcpm")), Some(other), &canonical),
            exe
        );
        assert_eq!(program_path(exe, None, Some(path), &canonical), exe);
    }
}
