//! `generate` as a library operation (SPEC §4): render a profile, run the
//! doctor's checks on the result, and write the compose file with its `.env`
//! beside it. `commands/generate.rs` turns flags into [`GenerateOptions`] and
//! prints what comes back; `--check` lives in `ci::check_generate`.
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::catalog::Catalog;
use crate::compose::{self, RenderOptions, Rendered, ServerStatus, env_file};
use crate::config::ConfigDir;
use crate::doctor;
use crate::error::{Error, Result};
use crate::files::{LockMode, WriteOptions, WriteOutcome, lock_files, read_optional, write_atomic};
use crate::profile::{LoadedProfile, load_profile};

/// What one generate run is asked to do.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// The profile's path (already resolved from a name).
    pub profile: PathBuf,
    /// `-o FILE`: write the compose file there (and its `.env` beside it);
    /// `None`: only render.
    pub output: Option<PathBuf>,
    /// `--strict`: a server that cannot be containerized, or a finding that
    /// would keep a service from working, stops the run before any write.
    pub strict: bool,
    /// `--force`: replace a file that holds services of someone else.
    pub force: bool,
    /// How long to wait for another run's locks.
    pub lock_timeout: Duration,
    /// Whether the doctor's checks run. Under `--strict` they always do;
    /// otherwise they only produce warnings, which `-q` would not show.
    pub checks: bool,
}

/// What generate rendered, and wrote.
pub struct Generated {
    pub loaded: LoadedProfile,
    pub rendered: Rendered,
    /// `Some` when `output` was given.
    pub written: Option<Written>,
}

/// The files one generate wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub outcome: WriteOutcome,
    /// How many servers became services, of how many.
    pub services: usize,
    pub servers: usize,
    /// `.env` variables written.
    pub env_variables: usize,
    pub env_path: PathBuf,
}

/// Renders the profile and, with an output, writes it. Warnings (the
/// renderer's, the doctor's, `.env` notices) go to `warn` as they arise, so a
/// refusal still shows what led to it.
pub fn generate(
    config: &ConfigDir,
    options: &GenerateOptions,
    warn: &dyn Fn(&str),
) -> Result<Generated> {
    let target = options.output.as_deref();
    // A file that is not a compose document is refused before a lock file is
    // put beside it: nothing is written there (SPEC §5).
    if let Some(target) = target
        && let Some(text) = read_optional(target)?
    {
        compose::ensure_compose_text(target, &text)?;
    }
    // Writing takes the same locks as sync (profile, compose file, .env),
    // and reads the profile under them.
    let _locks = match target {
        Some(target) => {
            let env = env_file::env_path(target);
            Some(lock_files(
                &[&options.profile, target, &env],
                LockMode::Exclusive,
                options.lock_timeout,
            )?)
        }
        None => None,
    };
    let loaded = load_profile(&options.profile)?;
    let catalog = Catalog::load(Some(&config.templates()))?;
    let mut rendered = compose::render(
        &loaded,
        &catalog,
        RenderOptions {
            strict: options.strict,
        },
    )?;
    rendered.profile_arg = loaded.profile_arg(config);
    if let Some(target) = target {
        rendered.compose_arg = loaded.compose_arg(config, target);
    }
    for warning in &rendered.warnings {
        warn(warning);
    }
    if options.checks || options.strict {
        preflight(&loaded, &rendered, &catalog, target, options.strict, warn)?;
    }
    let written = match target {
        Some(target) => Some(write(&loaded, target, &rendered, options.force, warn)?),
        None => None,
    };
    Ok(Generated {
        loaded,
        rendered,
        written,
    })
}

/// The doctor's profile-side checks on what was just rendered, as warnings;
/// with `strict` any finding but an unpinned image stops the run before
/// anything is written (exit 2).
fn preflight(
    loaded: &LoadedProfile,
    rendered: &Rendered,
    catalog: &Catalog,
    target: Option<&Path>,
    strict: bool,
    warn: &dyn Fn(&str),
) -> Result<()> {
    let env_path = target.map(env_file::env_path);
    let env_text = match &env_path {
        Some(path) => read_optional(path)?,
        None => None,
    };
    let env = env_path.as_deref().zip(env_text.as_deref());
    let findings = doctor::quick_check(loaded, rendered, catalog, env);
    for line in doctor::warning_lines(loaded, &findings) {
        warn(&line);
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

/// Writes the compose file (refusing to clobber what it cannot read or does
/// not own) and the `.env` with the profile's literal secrets.
fn write(
    loaded: &LoadedProfile,
    target: &Path,
    rendered: &Rendered,
    force: bool,
    warn: &dyn Fn(&str),
) -> Result<Written> {
    guard_existing(target, &loaded.profile.name, force)?;
    let outcome = write_atomic(
        target,
        rendered.verified_yaml()?.as_bytes(),
        WriteOptions {
            backup: true,
            mode: None,
        },
    )?;
    let env_variables = env_file::write_secrets(target, rendered, warn)?;
    Ok(Written {
        path: target.to_path_buf(),
        outcome,
        services: rendered
            .servers
            .iter()
            .filter(|s| s.status == ServerStatus::Service)
            .count(),
        servers: rendered.servers.len(),
        env_variables,
        env_path: env_file::env_path(target),
    })
}

/// An existing file must parse, and must not hold services of someone else
/// unless `force`: generate replaces the whole file, sync edits it in place.
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
                    service.as_mapping().and_then(crate::sync::plan::owner) != Some(profile)
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
