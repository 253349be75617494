//! Which compose file and project an engine command works on: `-f FILE`, else
//! the profile's compose file (`--profile`), else `compose.yaml` (or one of
//! compose's other default names) in the current directory.
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

use crate::config::ConfigDir;
use crate::error::{Error, Result};
use crate::profile::{LoadedProfile, load_profile, resolve_profile_path};

use super::desired::{LoadOptions, project_name};
use super::interpolate::{Problems, interpolate};

/// The names compose looks for, in its order.
const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// A compose file and how to name its project.
pub struct Target {
    pub file: PathBuf,
    pub options: LoadOptions,
    pub profile: Option<LoadedProfile>,
}

/// Resolves the compose file from `-f`, `--profile`, or the current directory.
pub fn resolve(
    file: Option<&Path>,
    profile: Option<&str>,
    project: Option<&str>,
    config: &ConfigDir,
) -> Result<Target> {
    let loaded = match profile {
        Some(arg) => Some(load_profile(&resolve_profile_path(arg, config)?)?),
        None => None,
    };
    let file = match (file, &loaded) {
        (Some(file), _) => file.to_path_buf(),
        (None, Some(loaded)) => loaded.compose_file(config),
        (None, None) => match DEFAULT_FILES
            .iter()
            .map(PathBuf::from)
            .find(|candidate| candidate.is_file())
        {
            Some(found) => found,
            // `-p NAME` alone is enough for commands that act by label.
            None if project.is_some() => PathBuf::from(DEFAULT_FILES[0]),
            None => return Err(
                Error::invalid("no compose file given and none found here (compose.yaml, docker-compose.yml, …)")
                    .hint("pass -f FILE or --profile PROFILE (status, logs, stop, restart and down also work on -p PROJECT alone); `mcpm docker generate PROFILE -o docker-compose.yml` writes one"),
            ),
        },
    };
    Ok(Target {
        file,
        options: LoadOptions {
            project: project.map(str::to_string),
            fallback_project: loaded.as_ref().map(LoadedProfile::project),
        },
        profile: loaded,
    })
}

/// The project name and service names of a compose file, read without
/// resolving the services (so `down` and `logs` work even when a variable
/// the services need is unset).
#[derive(Debug, Clone)]
pub struct ProjectRef {
    pub project: String,
    pub services: Vec<String>,
    /// Whether the file was found (lifecycle commands can run on `-p` alone).
    pub file_found: bool,
    /// The profile the file's `x-mcpm` block says it is synced with.
    pub synced_profile: Option<String>,
}

/// Reads the project of `target`; a missing file is fine when `-p` names the project.
pub fn project_ref(target: &Target) -> Result<ProjectRef> {
    let text = match crate::memory::read_input(&target.file) {
        Ok(bytes) => crate::source::decode(&target.file, bytes)?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            if let Some(project) = &target.options.project {
                return Ok(ProjectRef {
                    project: project.clone(),
                    services: Vec::new(),
                    file_found: false,
                    synced_profile: None,
                });
            }
            return Err(Error::io("read", &target.file, err)
                .hint("pass -f FILE, or -p PROJECT to act on a project without its file"));
        }
        Err(err) => return Err(Error::io("read", &target.file, err)),
    };
    let document = crate::compose::parse_yaml(&target.file, &text)?;
    let project = project_of(target, &document)?;
    let services = document
        .get("services")
        .and_then(Value::as_mapping)
        .map(|map| {
            map.keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let synced_profile = crate::compose::base::SyncBase::from_document(&document)
        .ok()
        .flatten()
        .map(|base| base.profile);
    Ok(ProjectRef {
        project,
        services,
        file_found: true,
        synced_profile,
    })
}

/// The project of `target` whose file parsed to `document`, without
/// resolving its services: `-p`, `COMPOSE_PROJECT_NAME`, `name:`, the
/// profile's project, the directory's name.
pub fn project_of(target: &Target, document: &Value) -> Result<String> {
    let env = |name: &str| std::env::var(name).ok();
    let from_file = document.get("name").and_then(Value::as_str).map(|name| {
        let mut problems = Problems::default();
        interpolate(name, &env, "name", &mut problems)
    });
    let dir = std::path::absolute(&target.file)
        .ok()
        .and_then(|f| f.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    project_name(from_file, &target.options, &env, &dir)
}

impl ProjectRef {
    /// Checks that every named service is in the target's file. A remote
    /// server of the target's profile is named as such: it has no container.
    pub fn check_services(&self, named: &[String], target: &Target) -> Result<()> {
        for name in named {
            if let Some(url) = remote_url(target, name) {
                return Err(Error::invalid(format!(
                    "`{name}` is a remote server: it runs no container (its URL is {})",
                    crate::compose::secrets::mask(url, &[])
                ))
                .hint("clients reach it at that URL directly; `mcpm docker logs`, `stop` and `restart` act on containers"));
            }
            if self.file_found && !self.services.contains(name) {
                let mut hint = format!("services there: {}", self.services.join(", "));
                // Without the profile, a remote server cannot be told from a typo.
                if let (None, Some(profile)) = (&target.profile, &self.synced_profile) {
                    hint.push_str(&format!(
                        "; remote and disabled servers of profile `{profile}` run no container (pass --profile to tell which)"
                    ));
                }
                return Err(Error::invalid(format!(
                    "no service `{name}` in {}",
                    target.file.display()
                ))
                .hint(hint));
            }
        }
        Ok(())
    }
}

/// The URL of `name` when it is a remote server of the target's profile.
fn remote_url<'a>(target: &'a Target, name: &str) -> Option<&'a str> {
    let server = target.profile.as_ref()?.profile.servers.get(name)?;
    server.url.as_deref()
}
