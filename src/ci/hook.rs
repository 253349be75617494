//! Which profiles a list of changed files stands for: what `mcpm docker
//! check FILE...` (and the pre-commit hooks that call it with the files of a
//! commit) checks. A `.toml` file is a profile when it has a `[servers]`
//! table; a YAML file is an mcpm compose file when it has an `x-mcpm` block,
//! and stands for the profile whose compose file it is. Anything else
//! (Cargo.toml, a workflow file, a README) is not mcpm's and is passed over.
use std::path::{Path, PathBuf};

use crate::compose::base::BASE_KEY;
use crate::config::ConfigDir;
use crate::error::{Error, Result};
use crate::files::read_optional;
use crate::profile::{load_profile, same_file};

/// What the files named, in order, each profile once.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Targets {
    /// Profiles to check (a changed compose file adds its profile).
    pub profiles: Vec<PathBuf>,
    /// Compose files of mcpm whose profile was not found: reported, since a
    /// file nobody can check is not "in step".
    pub orphans: Vec<PathBuf>,
}

/// Sorts `files` into profiles to check; files of other tools are skipped.
pub fn targets(files: &[PathBuf], config: &ConfigDir) -> Result<Targets> {
    let mut targets = Targets::default();
    let add = |targets: &mut Targets, profile: PathBuf| {
        if !targets
            .profiles
            .iter()
            .any(|known| same_file(known, &profile))
        {
            targets.profiles.push(profile);
        }
    };
    for file in files {
        match kind_of(file)? {
            Kind::Profile => add(&mut targets, file.clone()),
            Kind::Compose => match profile_of_compose(file, config) {
                Some(profile) => add(&mut targets, profile),
                None => targets.orphans.push(file.clone()),
            },
            Kind::Other => {}
        }
    }
    Ok(targets)
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Profile,
    Compose,
    Other,
}

fn kind_of(file: &Path) -> Result<Kind> {
    let extension = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(extension, "toml" | "yml" | "yaml") {
        return Ok(Kind::Other);
    }
    let Some(text) = read_optional(file)? else {
        // Deleted in the commit: nothing left to check.
        return Ok(Kind::Other);
    };
    Ok(match extension {
        "toml" if is_profile_text(&text) => Kind::Profile,
        "yml" | "yaml" if is_compose_text(&text) => Kind::Compose,
        _ => Kind::Other,
    })
}

/// A profile has a `[servers]` table. A file that does not parse counts when
/// it still names one, so its error is shown rather than the file skipped.
fn is_profile_text(text: &str) -> bool {
    match text.parse::<toml::Table>() {
        Ok(table) => table.contains_key("servers"),
        Err(_) => text.lines().any(|line| {
            let line = line.trim_start();
            line.starts_with("[servers.") || line.starts_with("[servers]")
        }),
    }
}

/// A compose file mcpm wrote or synced carries its `x-mcpm` block.
fn is_compose_text(text: &str) -> bool {
    serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text)
        .ok()
        .is_some_and(|document| document.get(BASE_KEY).is_some())
}

/// The profile whose compose file `compose` is: looked for among the `.toml`
/// files of the compose file's directory and each directory above it up to
/// the current one (the repository root, under pre-commit), and their
/// `profiles/` folders.
fn profile_of_compose(compose: &Path, config: &ConfigDir) -> Option<PathBuf> {
    let root = std::path::absolute(".").ok()?;
    let mut dir = std::path::absolute(compose).ok()?.parent()?.to_path_buf();
    loop {
        for folder in [dir.clone(), dir.join("profiles")] {
            if let Some(found) = profile_in(&folder, compose, config) {
                return Some(found);
            }
        }
        if dir == root || !dir.starts_with(&root) || !dir.pop() {
            return None;
        }
    }
}

fn profile_in(folder: &Path, compose: &Path, config: &ConfigDir) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    entries.sort();
    entries.into_iter().find(|path| {
        read_optional(path)
            .ok()
            .flatten()
            .is_some_and(|text| is_profile_text(&text))
            && load_profile(path)
                .is_ok_and(|loaded| same_file(&loaded.compose_file(config), compose))
    })
}

/// The error for compose files whose profile was not found.
pub fn orphans_error(orphans: &[PathBuf]) -> Error {
    let names: Vec<String> = orphans.iter().map(|p| p.display().to_string()).collect();
    Error::invalid(format!(
        "no profile found for the compose file{} {}",
        if names.len() == 1 { "" } else { "s" },
        names.join(", ")
    ))
    .hint("a profile is looked for beside the file, in the folders above it up to the current directory, and in their profiles/ folders; name the profile itself instead (mcpm docker check PROFILE.toml)")
}

#[cfg(test)]
#[path = "hook_tests.rs"]
mod tests;
