//! What mcpm tells CI systems and commit hooks: the `--format` of the checks
//! (`generate --check`, `sync --check`, `docker check`), GitHub workflow
//! annotations on the drifted line, and which profiles a list of changed
//! files stands for.
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::catalog::Catalog;
use crate::compose::{self, RenderOptions, env_file};
use crate::config::ConfigDir;
use crate::error::Result;
use crate::files::{LockMode, lock_files};
use crate::profile::load_profile;
use crate::sync::report::{describe_change, summary};
use crate::sync::{Action, SyncReport};

pub mod annotation;
pub mod drift;
pub mod hook;
pub mod report;

pub use annotation::{Annotation, Level};

/// How a check reports what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// For people: a diff or summary on stdout, notes on stderr.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`) on
    /// stdout, so drift shows on the offending line of a pull request.
    Github,
}

impl Format {
    /// `--format`, with the older `--json` flag as its alias.
    pub fn choose(format: Option<Format>, json: bool) -> Format {
        match (format, json) {
            (Some(format), _) => format,
            (None, true) => Format::Json,
            (None, false) => Format::Text,
        }
    }
}

/// A profile's compose file compared with what the profile generates.
#[derive(Debug)]
pub struct GenerateCheck {
    /// The compose file checked.
    pub target: PathBuf,
    pub verdict: drift::Verdict,
    /// The text generate would write.
    pub expected: String,
}

impl GenerateCheck {
    /// The check's report for `profile` in `format`.
    pub fn report(&self, profile: &Path, format: Format) -> report::Report {
        report::generate_check(profile, &self.target, &self.verdict, &self.expected, format)
    }
}

/// `generate --check`: renders `profile` and compares it with `output` (else
/// the profile's compose file), under shared locks (profile, compose file,
/// `.env`): a writer is waited for, and nothing is created or written.
pub fn check_generate(
    config: &ConfigDir,
    profile: &Path,
    output: Option<&Path>,
    strict: bool,
    lock_timeout: Duration,
) -> Result<GenerateCheck> {
    let target = match output {
        Some(target) => target.to_path_buf(),
        None => load_profile(profile)?.compose_file(config),
    };
    let env = env_file::env_path(&target);
    let _locks = lock_files(&[profile, &target, &env], LockMode::Shared, lock_timeout)?;
    let loaded = load_profile(profile)?;
    let catalog = Catalog::load(Some(&config.templates()))?;
    let mut rendered = compose::render(&loaded, &catalog, RenderOptions { strict })?;
    rendered.profile_arg = loaded.profile_arg(config);
    rendered.compose_arg = loaded.compose_arg(config, &target);
    let verdict = drift::check_generated(&target, &rendered)?;
    Ok(GenerateCheck {
        target,
        expected: rendered.yaml(),
        verdict,
    })
}

/// The annotations of a `sync --check`: one per server a sync would change
/// (or that waits for a conflict to be settled), on its service's line in
/// the compose file `compose_text` (the `services:` line for a server the
/// file lacks); and one on the file for `.env` values it lacks.
pub fn sync_annotations(report: &SyncReport, compose_text: Option<&str>) -> Vec<Annotation> {
    let file = &report.compose_file;
    let profile = report.profile.display();
    let hint = format!(
        "bring them in step: mcpm docker sync {} -f {}",
        shell_words::quote(&profile.to_string()),
        shell_words::quote(&file.display().to_string())
    );
    let mut out: Vec<Annotation> = report
        .servers
        .iter()
        .filter_map(|server| {
            let what = match &server.action {
                Action::Pending => format!("conflict: {}", describe_change(server.change)),
                _ if server.changes_anything()
                    || matches!(server.action, Action::Unresolved { .. }) =>
                {
                    summary(server)?
                }
                _ => return None,
            };
            let at = compose_text.and_then(|text| {
                crate::compose::locate::locate_key(file, text, &["services", &server.name])
            });
            Some(Annotation {
                level: Level::Error,
                file: file.clone(),
                line: at.as_ref().map(|at| at.line),
                column: at.as_ref().map(|at| at.column),
                title: "mcpm: profile and compose file out of step".into(),
                message: format!(
                    "server `{}` of profile {profile}: {what}\n{hint}",
                    server.name
                ),
            })
        })
        .collect();
    if out.is_empty() && !report.env_variables.is_empty() {
        let env = env_file::env_path(file);
        out.push(Annotation {
            level: Level::Error,
            file: file.clone(),
            line: None,
            column: None,
            title: "mcpm: stale .env".into(),
            message: format!(
                "{} lacks the current value of {}\n{hint}",
                env.display(),
                env_file::some_names(&report.env_variables)
            ),
        });
    }
    out
}

/// An error as an annotation: on its location when it has one, else on
/// `file`.
pub fn error_annotation(err: &crate::error::Error, file: &Path) -> Annotation {
    let location = err.location.as_deref();
    let mut message = err.message.clone();
    if let Some(hint) = &err.hint {
        message.push_str("\nhint: ");
        message.push_str(hint);
    }
    Annotation {
        level: Level::Error,
        file: location.map_or_else(|| file.to_path_buf(), |at| at.path.clone()),
        line: location.map(|at| at.line),
        column: location.map(|at| at.column),
        title: "mcpm".into(),
        message,
    }
}
