//! Two files that must change together (a profile and its compose file): a
//! kill between the two renames must not leave a state the next run reads
//! differently. Before the first file is replaced, the second one's new text
//! is recorded beside it (`.NAME.mcpm-pending`, with digests of the first
//! file's new text and the second file's old one); once both are written the
//! record goes. A run that finds a record whose first file is new and whose
//! second file is still old finishes the write; any other record is stale
//! (the run never got to the first file, or someone edited since) and goes.
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::hash::digest;

use super::{
    Staged, WriteOptions, debug_point, file_name, flush, parent_dir, read_optional, resolve_target,
    stage, sweep_temps, write_atomic,
};

const MAGIC: &str = "mcpm-pending 1\n";

/// What a run found of an interrupted pair write.
#[derive(Debug, PartialEq, Eq)]
pub enum Interrupted {
    /// Nothing to finish.
    None,
    /// The second file was written now, finishing the interrupted write.
    Finished,
    /// A read-only run: the second file's text the interrupted write owes.
    Pending(String),
}

/// Writes `first` then `second` (each `None` when unchanged), both with
/// backups, so that a kill at any point is finished by [`finish_interrupted`].
pub fn write_pair(
    (first, first_new): (&Path, Option<&str>),
    (second, second_old, second_new): (&Path, Option<&str>, Option<&str>),
) -> Result<()> {
    let backup = WriteOptions {
        backup: true,
        mode: None,
    };
    let record = record_path(second)?;
    let record_text = match (first_new, second_new) {
        (Some(first_new), Some(second_new)) => Some(format!(
            "{MAGIC}{}\n{}\n{second_new}",
            digest(first_new.as_bytes()),
            old_digest(second_old)
        )),
        _ => None,
    };
    let record_options = WriteOptions {
        backup: false,
        mode: Some(0o600),
    };
    // All three texts are staged and flushed together (one wait for the disk
    // instead of three), then renamed into place in the order that keeps a
    // kill repairable: the record, the first file, the second.
    let stage_text = |path: &Path, text: Option<&str>, options| match text {
        Some(text) => stage(path, text.as_bytes(), options),
        None => Ok(None),
    };
    let record_staged = stage_text(&record, record_text.as_deref(), record_options)?;
    let first_staged = stage_text(first, first_new, backup)?;
    let second_staged = stage_text(second, second_new, backup)?;
    let all: Vec<&Staged> = [&record_staged, &first_staged, &second_staged]
        .into_iter()
        .flatten()
        .collect();
    flush(&all)?;
    if let Some(staged) = record_staged {
        staged.install()?;
    }
    if let Some(staged) = first_staged {
        staged.install()?;
    }
    debug_point("sync-after-profile");
    if let Some(staged) = second_staged {
        staged.install()?;
    }
    remove(&record)
}

/// Finishes (or, read-only, reports) a pair write a kill cut off, and drops
/// a stale record; a writing run (`read_only` false, holding the lock) also
/// removes the temp files of a record a kill left unrenamed.
pub fn finish_interrupted(first: &Path, second: &Path, read_only: bool) -> Result<Interrupted> {
    let record = record_path(second)?;
    if !read_only {
        // A kill before the record was renamed into place leaves its temp.
        sweep_temps(&record);
    }
    let Some(text) = read_optional(&record)? else {
        return Ok(Interrupted::None);
    };
    let owed = parse(&text).and_then(|(first_new, second_old, second_new)| {
        let first_now = read_optional(first).ok()??;
        let second_now = read_optional(second).ok()?;
        (digest(first_now.as_bytes()) == first_new
            && old_digest(second_now.as_deref()) == second_old)
            .then_some(second_new)
    });
    match owed {
        Some(second_new) if read_only => Ok(Interrupted::Pending(second_new.to_string())),
        Some(second_new) => {
            let backup = WriteOptions {
                backup: true,
                mode: None,
            };
            write_atomic(second, second_new.as_bytes(), backup)?;
            remove(&record)?;
            Ok(Interrupted::Finished)
        }
        None if read_only => Ok(Interrupted::None),
        None => {
            remove(&record)?;
            Ok(Interrupted::None)
        }
    }
}

/// `(first file's new digest, second file's old digest, second file's new text)`.
fn parse(text: &str) -> Option<(&str, &str, &str)> {
    let rest = text.strip_prefix(MAGIC)?;
    let (first_new, rest) = rest.split_once('\n')?;
    let (second_old, second_new) = rest.split_once('\n')?;
    Some((first_new, second_old, second_new))
}

fn old_digest(text: Option<&str>) -> String {
    text.map_or_else(|| "-".to_string(), |text| digest(text.as_bytes()))
}

fn record_path(second: &Path) -> Result<PathBuf> {
    let target = resolve_target(second)?;
    Ok(parent_dir(&target).join(format!(".{}.mcpm-pending", file_name(&target))))
}

fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io("remove", path, err))
        }
        _ => Ok(()),
    }
}
