//! What `mcpm mcp serve` may act on: the compose projects of the profiles and
//! compose files named at start, and nothing else. Every tool call picks one
//! of them ([`Scope::pick`]) and checks its server names against that
//! project's compose file; the engine is then only ever asked about that
//! project's objects (by the compose project label mcpm sets).
use std::path::PathBuf;

use crate::config::ConfigDir;
use crate::engine::target::{self, ProjectRef, Target};
use crate::error::{Error, Result};

/// One profile or compose file named at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `--profile`: a name or path.
    pub profile: Option<String>,
    /// `-f`: a compose file.
    pub compose_file: Option<PathBuf>,
}

/// A served project, resolved again at each call (its files may have
/// changed since the start: a sync adds services).
pub struct Resolved {
    pub source: Source,
    pub target: Target,
    pub project: ProjectRef,
}

/// The projects a server acts on, fixed at start.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The sources with their project names at start, in the order given.
    entries: Vec<(Source, String)>,
}

impl Scope {
    /// Resolves every source now: a profile or file that cannot be read
    /// stops the server before it starts. No source: the compose file of
    /// the current directory, as `mcpm docker status` finds it.
    pub fn new(config: &ConfigDir, mut sources: Vec<Source>) -> Result<Scope> {
        if sources.is_empty() {
            sources.push(Source {
                profile: None,
                compose_file: None,
            });
        }
        let mut entries: Vec<(Source, String)> = Vec::new();
        for source in sources {
            let resolved = resolve(config, &source)?;
            let name = resolved.project.project;
            if let Some((other, _)) = entries.iter().find(|(_, n)| *n == name) {
                return Err(Error::invalid(format!(
                    "{} and {} are the same compose project `{name}`",
                    describe(other),
                    describe(&source)
                ))
                .hint("name each project once"));
            }
            entries.push((source, name));
        }
        Ok(Scope { entries })
    }

    /// The project names, in the order given.
    pub fn projects(&self) -> Vec<String> {
        self.entries.iter().map(|(_, name)| name.clone()).collect()
    }

    /// The project a call acts on: the one named, or the only one.
    pub fn pick(&self, config: &ConfigDir, wanted: Option<&str>) -> Result<Resolved> {
        let index = pick_index(&self.projects(), wanted)?;
        let (source, name) = &self.entries[index];
        let resolved = resolve(config, source)?;
        if &resolved.project.project != name {
            return Err(Error::runtime(format!(
                "{} is now project `{}`, not `{name}` as when this server started",
                describe(source),
                resolved.project.project
            ))
            .hint("restart `mcpm mcp serve` to serve the new project"));
        }
        Ok(resolved)
    }
}

/// Which of `projects` a call means. Pure.
pub fn pick_index(projects: &[String], wanted: Option<&str>) -> Result<usize> {
    match wanted {
        Some(name) => projects.iter().position(|p| p == name).ok_or_else(|| {
            Error::invalid(format!("project `{name}` is not served here")).hint(format!(
                "projects served: {} (mcpm mcp serve acts only on the profiles and files named at its start)",
                projects.join(", ")
            ))
        }),
        None if projects.len() == 1 => Ok(0),
        None => Err(
            Error::invalid("several projects are served: say which one").hint(format!(
                "pass \"project\": one of {}",
                projects.join(", ")
            )),
        ),
    }
}

fn resolve(config: &ConfigDir, source: &Source) -> Result<Resolved> {
    let target = target::resolve(
        source.compose_file.as_deref(),
        source.profile.as_deref(),
        None,
        config,
    )?;
    let project = target::project_ref(&target)?;
    Ok(Resolved {
        source: source.clone(),
        target,
        project,
    })
}

fn describe(source: &Source) -> String {
    match (&source.profile, &source.compose_file) {
        (_, Some(file)) => file.display().to_string(),
        (Some(profile), None) => format!("profile `{profile}`"),
        (None, None) => "the compose file here".to_string(),
    }
}

impl Resolved {
    /// Checks that every named server is a service of this project's file
    /// (the error names the ones there).
    pub fn check_servers(&self, named: &[String]) -> Result<()> {
        self.project.check_services(named, &self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_only_project_or_the_named_one() {
        let one = vec!["mcp-dev".to_string()];
        assert_eq!(pick_index(&one, None).unwrap(), 0);
        assert_eq!(pick_index(&one, Some("mcp-dev")).unwrap(), 0);
        let err = pick_index(&one, Some("prod")).unwrap_err();
        assert!(err.message.contains("`prod`"));
        assert!(err.hint.unwrap().contains("mcp-dev"));
        let two = vec!["a".to_string(), "b".to_string()];
        assert_eq!(pick_index(&two, Some("b")).unwrap(), 1);
        let err = pick_index(&two, None).unwrap_err();
        assert!(err.hint.unwrap().contains("a, b"));
    }

    #[test]
    fn a_service_of_another_project_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("ours.yaml");
        let theirs = dir.path().join("theirs.yaml");
        std::fs::write(
            &ours,
            "name: ours\nservices:\n  time:\n    image: busybox\n",
        )
        .unwrap();
        std::fs::write(
            &theirs,
            "name: theirs\nservices:\n  db:\n    image: busybox\n",
        )
        .unwrap();
        let config = ConfigDir::resolve(Some(dir.path().join("config")));
        let scope = Scope::new(
            &config,
            vec![Source {
                profile: None,
                compose_file: Some(ours.clone()),
            }],
        )
        .unwrap();
        assert_eq!(scope.projects(), ["ours"]);
        let resolved = scope.pick(&config, None).unwrap();
        resolved.check_servers(&["time".into()]).unwrap();
        let err = resolved.check_servers(&["db".into()]).unwrap_err();
        assert!(err.message.contains("no service `db`"), "{}", err.message);
        assert!(err.hint.unwrap().contains("time"));
        assert!(scope.pick(&config, Some("theirs")).is_err());

        // The same project twice is refused at start.
        let err = Scope::new(
            &config,
            vec![
                Source {
                    profile: None,
                    compose_file: Some(ours.clone()),
                },
                Source {
                    profile: None,
                    compose_file: Some(ours),
                },
            ],
        )
        .unwrap_err();
        assert!(err.message.contains("same compose project"));
    }
}
