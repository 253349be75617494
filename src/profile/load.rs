//! Finding a profile (by path or by name) and parsing it with positions.
use std::path::{Path, PathBuf};

use crate::config::ConfigDir;
use crate::error::{Error, Result};
use crate::source::SourceFile;

use super::model::Profile;
use super::validate::validate;

/// A parsed, validated profile with the source it came from (for locations).
pub struct LoadedProfile {
    pub profile: Profile,
    pub source: SourceFile,
}

impl LoadedProfile {
    /// The profile file's path.
    pub fn path(&self) -> &Path {
        &self.source.path
    }

    /// The directory the profile lives in; relative paths in `[docker]` start here.
    pub fn dir(&self) -> PathBuf {
        self.source
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// The compose project name: `[docker] project`, else `mcp-<name>`.
    pub fn project(&self) -> String {
        self.profile
            .docker
            .project
            .clone()
            .unwrap_or_else(|| format!("mcp-{}", self.profile.name))
    }

    /// The compose file this profile syncs with (SPEC §5): `[docker]
    /// compose_file` relative to the profile, else `docker-compose.yml` beside
    /// it, except for a profile kept in the config dir
    /// (`<config dir>/profiles/NAME.toml`), whose file is
    /// `<config dir>/compose/NAME/compose.yaml` so two profiles never share one.
    pub fn compose_file(&self, config: &ConfigDir) -> PathBuf {
        if let Some(name) = &self.profile.docker.compose_file {
            return self.dir().join(name);
        }
        if let Some(stem) = self.in_config_dir(config) {
            let own = config
                .path()
                .join("compose")
                .join(stem)
                .join("compose.yaml");
            return self.legacy_compose_file(config, &own).unwrap_or(own);
        }
        self.dir().join("docker-compose.yml")
    }

    /// The one `<config dir>/profiles/docker-compose.yml` that all profiles
    /// kept in the config dir defaulted to before each got its own file, when
    /// it is still this profile's: its `x-mcpm` block names this profile and
    /// the profile's own file does not exist yet. Such a file is kept, not
    /// moved: deployed containers, `docker compose -f` scripts and the `.env`
    /// beside it all point there; [`LoadedProfile::legacy_note`] says how to
    /// move it. Other profiles get their own file at once.
    fn legacy_compose_file(&self, config: &ConfigDir, own: &Path) -> Option<PathBuf> {
        let legacy = config.profiles().join(LEGACY_COMPOSE_FILE);
        if own.exists() || !legacy.is_file() {
            return None;
        }
        let text = std::fs::read_to_string(&legacy).ok()?;
        (synced_profile(&text)? == self.profile.name).then_some(legacy)
    }

    /// A note for a profile that still syncs with the shared
    /// `<config dir>/profiles/docker-compose.yml`: how to give it its own file.
    pub fn legacy_note(&self, config: &ConfigDir) -> Option<String> {
        let stem = self.in_config_dir(config)?;
        let own = config
            .path()
            .join("compose")
            .join(&stem)
            .join("compose.yaml");
        let legacy = self.legacy_compose_file(config, &own)?;
        let dir = own.parent().unwrap_or(config.path());
        let quote = |path: &Path| shell_words::quote(&path.display().to_string()).into_owned();
        let env = legacy.with_file_name(".env");
        let move_env = if env.exists() {
            format!(" && mv {} {}", quote(&env), quote(&dir.join(".env")))
        } else {
            String::new()
        };
        Some(format!(
            "profile `{}` still syncs with {}, the file all profiles in {} shared before each got its own; \
             to move it: mkdir -p {} && mv {} {}{move_env} (or keep it with `[docker] compose_file = \"{LEGACY_COMPOSE_FILE}\"`)",
            self.profile.name,
            legacy.display(),
            config.profiles().display(),
            quote(dir),
            quote(&legacy),
            quote(&own),
        ))
    }

    /// What `-f` must say for `mcpm docker sync` to reach `file`: `None`
    /// when `file` is this profile's own compose file, else `file` as given.
    pub fn compose_arg(&self, config: &ConfigDir, file: &Path) -> Option<String> {
        (!same_file(&self.compose_file(config), file)).then(|| file.display().to_string())
    }

    /// How `mcpm docker sync` must name this profile: `None` when its name
    /// finds it (`<config dir>/profiles/NAME.toml`), else its path as given.
    pub fn profile_arg(&self, config: &ConfigDir) -> Option<String> {
        match self.in_config_dir(config) {
            Some(stem) if stem == self.profile.name => None,
            _ => Some(self.source.path.display().to_string()),
        }
    }

    /// The profile's file stem when it lives in `<config dir>/profiles/`.
    fn in_config_dir(&self, config: &ConfigDir) -> Option<String> {
        let dir = self.dir();
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        if !same_file(&dir, &config.profiles()) {
            return None;
        }
        let stem = self.source.path.file_stem()?.to_str()?;
        Some(stem.to_string())
    }
}

/// The compose file every profile kept in the config dir shared by default
/// before SPEC §5 gave each its own (`<config dir>/compose/NAME/compose.yaml`).
const LEGACY_COMPOSE_FILE: &str = "docker-compose.yml";

/// The profile a compose file's `x-mcpm` block names. The block (a top-level
/// key mcpm writes last) is parsed alone, so that finding a large file's
/// owner does not cost a parse of the whole file; whatever that fragment
/// cannot tell, the whole document does.
fn synced_profile(text: &str) -> Option<String> {
    let owner = |document: &serde_yaml_ng::Value| {
        crate::compose::base::SyncBase::from_document(document)
            .ok()
            .flatten()
            .map(|base| base.profile)
    };
    let start = text
        .match_indices("x-mcpm:")
        .map(|(at, _)| at)
        .find(|&at| at == 0 || text[..at].ends_with('\n'));
    if let Some(start) = start {
        let block = &text[start..];
        // The block ends at the next line that starts a top-level key.
        let mut end = block.len();
        let mut offset = 0;
        for (n, line) in block.split_inclusive('\n').enumerate() {
            let top_level = !line.starts_with([' ', '\t', '#', '\r', '\n']);
            if n > 0 && top_level {
                end = offset;
                break;
            }
            offset += line.len();
        }
        if let Ok(fragment) = serde_yaml_ng::from_str(&block[..end])
            && let Some(profile) = owner(&fragment)
        {
            return Some(profile);
        }
    }
    owner(&serde_yaml_ng::from_str(text).ok()?)
}

/// Whether two paths name the same file, which need not exist yet: each
/// step that exists is resolved (symlinks), the steps that do not are taken
/// as written (`..` going up).
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    fn resolved(path: &Path) -> PathBuf {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut at = PathBuf::new();
        for part in absolute.components() {
            let next = at.join(part);
            match next.canonicalize() {
                Ok(real) => at = real,
                Err(_) => match part {
                    std::path::Component::ParentDir => {
                        at.pop();
                    }
                    std::path::Component::CurDir => {}
                    _ => at = next,
                },
            }
        }
        at
    }
    a == b || resolved(a) == resolved(b)
}

/// Turns the `PROFILE` argument into a file path: an existing file, anything that
/// looks like a path, or a name looked up as `<config dir>/profiles/NAME.toml`.
pub fn resolve_profile_path(arg: &str, config: &ConfigDir) -> Result<PathBuf> {
    let as_path = Path::new(arg);
    let looks_like_path =
        arg.contains(std::path::MAIN_SEPARATOR) || arg.contains('/') || arg.ends_with(".toml");
    if as_path.is_file() || looks_like_path {
        return Ok(as_path.to_path_buf());
    }
    let by_name = config.profiles().join(format!("{arg}.toml"));
    if by_name.is_file() {
        return Ok(by_name);
    }
    let known = known_profiles(config);
    let hint = if known.is_empty() {
        format!(
            "create {} or pass a path to a profile file (e.g. profiles-example/dev.toml)",
            by_name.display()
        )
    } else {
        format!(
            "profiles in {}: {}",
            config.profiles().display(),
            known.join(", ")
        )
    };
    Err(Error::invalid(format!(
        "no profile named `{arg}` (looked for {})",
        by_name.display()
    ))
    .hint(hint))
}

pub(crate) fn known_profiles(config: &ConfigDir) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(config.profiles()) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            entry
                .file_name()
                .to_str()?
                .strip_suffix(".toml")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// Reads and validates the profile at `path`.
pub fn load_profile(path: &Path) -> Result<LoadedProfile> {
    let bytes =
        crate::memory::read_input(path).map_err(|err| Error::io("read profile", path, err))?;
    let text = crate::source::decode(path, bytes)?;
    load_profile_text(path, text)
}

/// Parses and validates profile text that came from `path`.
pub fn load_profile_text(path: &Path, text: String) -> Result<LoadedProfile> {
    let source = SourceFile::new(path, text);
    let profile: Profile =
        toml::from_str(&source.text).map_err(|err| parse_error(&source, &err))?;
    validate(&profile, &source)?;
    Ok(LoadedProfile { profile, source })
}

/// Rephrases a TOML/serde error: names the server it happened in and the key.
fn parse_error(source: &SourceFile, err: &toml::de::Error) -> Error {
    let message = err.message().trim().to_string();
    let location = err.span().map(|span| source.locate(span));
    let server = location
        .as_ref()
        .and_then(|loc| server_at_line(&source.text, loc.line));
    let (message, hint) = match message.strip_prefix("unknown field ") {
        Some(rest) => {
            let (field, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
            let what = match &server {
                Some(server) => format!("unknown key {field} in server `{server}`"),
                None => format!("unknown key {field}"),
            };
            let hint = if expected.is_empty() {
                "remove the key".to_string()
            } else {
                format!("valid keys here: {}", expected.replace("one of ", ""))
            };
            (what, Some(hint))
        }
        None if message.starts_with("missing field ") => {
            let key = message.trim_start_matches("missing field ");
            let what = match &server {
                Some(server) => format!("server `{server}` is missing the key {key}"),
                None => format!("the profile is missing the key {key}"),
            };
            let hint = if key == "`name`" {
                "start the profile with `name = \"my-profile\"` (lowercase letters, digits, `_`, `-`)".to_string()
            } else {
                format!("add {key}")
            };
            (what, Some(hint))
        }
        None => {
            let what = match &server {
                Some(server) => format!("invalid profile: {message} (in server `{server}`)"),
                None => format!("invalid profile: {message}"),
            };
            (what, None)
        }
    };
    let mut error = Error::invalid(message).at(location);
    if let Some(hint) = hint {
        error = error.hint(hint);
    }
    error
}

/// The server whose table a line belongs to: the last `[servers.NAME…]` header at
/// or above it (or an inline `NAME = {` under `[servers]`).
fn server_at_line(text: &str, line: usize) -> Option<String> {
    let mut current = None;
    for raw in text.lines().take(line) {
        let trimmed = raw.trim();
        if let Some(header) = trimmed.strip_prefix('[') {
            let header = header
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim();
            current = header.strip_prefix("servers.").map(first_key);
        }
    }
    current
}

/// The first dotted-key component, unquoted: `"a.b".docker` → `a.b`.
fn first_key(dotted: &str) -> String {
    let dotted = dotted.trim();
    for quote in ['"', '\''] {
        if let Some(rest) = dotted.strip_prefix(quote) {
            return rest.split(quote).next().unwrap_or("").to_string();
        }
    }
    dotted.split('.').next().unwrap_or("").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_of_a_compose_file_is_read_from_its_block() {
        let mcpm = "name: p\nservices:\n  a:\n    image: x # x-mcpm: no\nx-mcpm:\n  profile: caf\u{e9}\n  base: {}\n";
        assert_eq!(synced_profile(mcpm).as_deref(), Some("caf\u{e9}"));
        // Not last, flow style, CRLF, comments inside: still found.
        let moved = "x-mcpm: {profile: claude}\r\nservices:\r\n  a: {image: x}\r\n";
        assert_eq!(synced_profile(moved).as_deref(), Some("claude"));
        let commented = "services: {}\nx-mcpm:\n# note\n  profile: vscode\nx-other: 1\n";
        assert_eq!(synced_profile(commented).as_deref(), Some("vscode"));
        // Only a top-level key counts; none at all, or a damaged block: no owner.
        assert_eq!(
            synced_profile("services:\n  x-mcpm:\n    profile: a\n"),
            None
        );
        assert_eq!(synced_profile("services: {}\n"), None);
        assert_eq!(synced_profile("x-mcpm: [\n"), None);
        assert_eq!(synced_profile("x-mcpm:\n  profile: [a]\n"), None);
    }

    fn config_profile(config: &Path, name: &str) -> LoadedProfile {
        let path = config.join("profiles").join(format!("{name}.toml"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("name = \"{name}\"\n")).unwrap();
        load_profile(&path).unwrap()
    }

    /// The shared file of earlier versions stays with the profile its block
    /// names, only until that profile's own file exists.
    #[test]
    fn the_legacy_file_belongs_to_the_profile_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let config = ConfigDir::resolve(Some(dir.path().to_path_buf()));
        let claude = config_profile(dir.path(), "claude");
        let vscode = config_profile(dir.path(), "vscode");
        let own = |name: &str| dir.path().join("compose").join(name).join("compose.yaml");
        assert_eq!(claude.compose_file(&config), own("claude"));
        assert_eq!(claude.legacy_note(&config), None);
        let legacy = dir.path().join("profiles/docker-compose.yml");
        std::fs::write(&legacy, "services: {}\nx-mcpm:\n  profile: claude\n").unwrap();
        assert_eq!(claude.compose_file(&config), legacy);
        assert_eq!(vscode.compose_file(&config), own("vscode"));
        let note = claude.legacy_note(&config).unwrap();
        assert!(
            note.contains("mkdir -p") && note.contains("compose.yaml"),
            "{note}"
        );
        assert!(!note.contains(".env"), "no .env to move: {note}");
        std::fs::write(legacy.with_file_name(".env"), "A=1\n").unwrap();
        assert!(claude.legacy_note(&config).unwrap().contains(".env"));
        assert_eq!(vscode.legacy_note(&config), None);
        std::fs::create_dir_all(own("claude").parent().unwrap()).unwrap();
        std::fs::write(own("claude"), "").unwrap();
        assert_eq!(claude.compose_file(&config), own("claude"));
        assert_eq!(claude.legacy_note(&config), None);
    }

    /// `-f` is needed only for a file that is not the profile's own, however
    /// the path is spelled (relative, through a symlink, not yet existing).
    #[cfg(unix)]
    #[test]
    fn the_compose_arg_is_needed_only_for_another_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("r\u{e9}al");
        let config = ConfigDir::resolve(Some(real.clone()));
        let profile = config_profile(&real, "claude");
        let own = real.join("compose/claude/compose.yaml");
        assert_eq!(profile.compose_arg(&config, &own), None);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(
            profile.compose_arg(&config, &link.join("compose/claude/../claude/compose.yaml")),
            None
        );
        let other = dir.path().join("docker-compose.yml");
        assert_eq!(
            profile.compose_arg(&config, &other).as_deref(),
            Some(other.to_str().unwrap())
        );
        // Through a symlinked config dir the profile is still a config-dir one.
        let linked = ConfigDir::resolve(Some(link.clone()));
        let by_link = load_profile(&link.join("profiles/claude.toml")).unwrap();
        assert_eq!(by_link.compose_arg(&linked, &own), None);
    }

    /// A mistake at any position of a profile full of multibyte text, tabs
    /// and CRLF is an error with a location, never a panic.
    #[test]
    fn mistakes_anywhere_in_multibyte_text_never_panic() {
        let text = "name = \"caf\u{e9}\"\r\n[docker]\ncompose_file = \"\u{1f600}.yaml\"\n\n[servers.\"s\u{e9}\"]\tcommand = \"uvx\"\nargs = [\"\u{20ac}\", \"\u{85}\"]\nenv = { \u{e9} = \"x\" }\n";
        let path = Path::new("p.toml");
        for (at, c) in text.char_indices() {
            for stray in ["\u{e9}", "\u{1f600}", "\t", "[", "\"", "=", "\n"] {
                let broken = format!("{}{stray}{}", &text[..at], &text[at + c.len_utf8()..]);
                if let Err(err) = load_profile_text(path, broken) {
                    assert_eq!(err.status, crate::error::ExitStatus::Invalid);
                }
            }
            let _ = load_profile_text(path, text[..at].to_string());
        }
    }
}
