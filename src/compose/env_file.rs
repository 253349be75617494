//! The `.env` beside a compose file, as generate and sync write it: the
//! literal secrets of the profile, mode 0600, other lines kept.
use std::path::{Path, PathBuf};

use crate::compose::{Rendered, dotenv};
use crate::error::{Error, ExitStatus, Result};
use crate::files::{WriteOptions, read_optional, write_atomic};

/// `.env` in the compose file's directory.
pub fn env_path(compose: &Path) -> PathBuf {
    compose
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(".env")
}

/// The variables whose value `.env` lacks (missing, or another value): what
/// `write_secrets` would change. A rotated literal secret in the profile
/// changes only `.env` (the compose file holds its reference and hashes of
/// the profile with the reference in its place), so `--check` asks this too.
pub fn stale_secrets(compose: &Path, rendered: &Rendered) -> Result<Vec<String>> {
    if rendered.secrets.is_empty() {
        return Ok(Vec::new());
    }
    let existing = read_optional(&env_path(compose))?.unwrap_or_default();
    Ok(stale_in(&existing, rendered))
}

/// [`stale_secrets`] against a `.env` text already read.
pub fn stale_in(existing: &str, rendered: &Rendered) -> Vec<String> {
    if rendered.secrets.is_empty() {
        return Vec::new();
    }
    dotenv::pending(existing, &secret_vars(rendered))
}

/// `--check`'s answer when `.env` is all that is stale: exit 4 naming the
/// variables (never their values).
pub fn stale_error(compose: &Path, names: &[String], hint: &str) -> Error {
    Error::new(
        ExitStatus::Drift,
        format!(
            "{} lacks the current value of {}",
            env_path(compose).display(),
            some_names(names)
        ),
    )
    .hint(hint.to_string())
}

/// Up to five variable names, else a count: a first sync of a large profile
/// may move hundreds of secrets.
pub fn some_names(names: &[String]) -> String {
    match names.len() {
        0..=5 => names.join(", "),
        n => crate::output::count(n, "variable", "variables"),
    }
}

fn secret_vars(rendered: &Rendered) -> Vec<(String, String)> {
    rendered
        .secrets
        .iter()
        .map(|s| (s.name.clone(), s.value.clone()))
        .collect()
}

/// Writes the rendered secrets into `.env`, passing `warn` one notice for
/// each variable whose value is new there. Returns how many variables changed.
pub fn write_secrets(compose: &Path, rendered: &Rendered, warn: &dyn Fn(&str)) -> Result<usize> {
    if rendered.secrets.is_empty() {
        return Ok(0);
    }
    let path = env_path(compose);
    let existing = read_optional(&path)?.unwrap_or_default();
    let vars = secret_vars(rendered);
    let changed = dotenv::pending(&existing, &vars);
    for notice in rendered.secret_notices(&changed) {
        warn(&notice);
    }
    let text = dotenv::update(&existing, &vars).unwrap_or(existing);
    // Written even when unchanged, so a .env left world-readable becomes 0600.
    write_atomic(
        &path,
        text.as_bytes(),
        WriteOptions {
            backup: true,
            mode: Some(0o600),
        },
    )?;
    Ok(changed.len())
}
