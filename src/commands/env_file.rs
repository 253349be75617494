//! The `.env` beside a compose file, as generate and sync write it: the
//! literal secrets of the profile, mode 0600, other lines kept.
use std::path::{Path, PathBuf};

use crate::compose::{Rendered, dotenv};
use crate::error::Result;
use crate::files::{WriteOptions, read_optional, write_atomic};

use super::Context;

/// `.env` in the compose file's directory.
pub fn env_path(compose: &Path) -> PathBuf {
    compose
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(".env")
}

/// Writes the rendered secrets into `.env`, warning once for each variable
/// whose value is new there. Returns how many variables changed.
pub fn write_secrets(context: &Context, compose: &Path, rendered: &Rendered) -> Result<usize> {
    if rendered.secrets.is_empty() {
        return Ok(0);
    }
    let path = env_path(compose);
    let existing = read_optional(&path)?.unwrap_or_default();
    let vars: Vec<(String, String)> = rendered
        .secrets
        .iter()
        .map(|s| (s.name.clone(), s.value.clone()))
        .collect();
    let changed = dotenv::pending(&existing, &vars);
    for notice in rendered.secret_notices(&changed) {
        context.warn(&notice);
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
