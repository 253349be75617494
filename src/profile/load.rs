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
            return config
                .path()
                .join("compose")
                .join(stem)
                .join("compose.yaml");
        }
        self.dir().join("docker-compose.yml")
    }

    /// The profile's file stem when it lives in `<config dir>/profiles/`.
    fn in_config_dir(&self, config: &ConfigDir) -> Option<String> {
        let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => a == b,
        };
        let dir = self.dir();
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        if !same(&dir, &config.profiles()) {
            return None;
        }
        let stem = self.source.path.file_stem()?.to_str()?;
        Some(stem.to_string())
    }
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
    let bytes = std::fs::read(path).map_err(|err| Error::io("read profile", path, err))?;
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
