//! Dynamic shell completion (`COMPLETE=bash mcpm`, clap_complete's
//! `CompleteEnv`): the shell asks mcpm itself for candidates, so profile names
//! come from `<config dir>/profiles/*.toml`, and server and service names from
//! the profile or compose file named on the line being completed. `mcpm
//! completions SHELL` still prints the static script (commands and flags).
use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::engine::{CompletionCandidate, PathCompleter, ValueCompleter};
use serde_yaml_ng::Value;

use crate::config::ConfigDir;

/// What the line being completed says about where names come from.
#[derive(Debug, Clone)]
pub struct Line {
    pub config: ConfigDir,
    /// The profile named on the line (`sync PROFILE`, `--profile PROFILE`).
    pub profile: Option<String>,
    /// `-f FILE`.
    pub compose_file: Option<PathBuf>,
}

impl Line {
    /// Reads `words` (the command line, program name first) with the word
    /// under the cursor, `cursor`, left out: it is what is being typed.
    /// Parsing is lenient — an unfinished line still names what it names.
    pub fn from_words(words: &[OsString], cursor: Option<usize>) -> Self {
        let words: Vec<OsString> = words
            .iter()
            .enumerate()
            .filter(|(at, _)| Some(*at) != cursor)
            .map(|(_, word)| word.clone())
            .collect();
        let matches = crate::cli::Cli::command()
            .ignore_errors(true)
            .try_get_matches_from(words)
            .ok();
        let mut profile = None;
        let mut compose_file = None;
        let mut config_dir = None;
        let mut at = matches.as_ref();
        while let Some(level) = at {
            let text = |id: &str| level.try_get_one::<String>(id).ok().flatten().cloned();
            let path = |id: &str| level.try_get_one::<PathBuf>(id).ok().flatten().cloned();
            profile = text("profile").or(profile);
            compose_file = path("compose_file").or(compose_file);
            config_dir = path("config_dir").or(config_dir);
            at = level.subcommand().map(|(_, sub)| sub);
        }
        Self {
            config: ConfigDir::resolve(config_dir.or_else(ConfigDir::from_env)),
            profile,
            compose_file,
        }
    }

    /// The line the shell is completing now: the words after `--` of
    /// `COMPLETE=bash mcpm -- mcpm docker …`, the cursor from
    /// `_CLAP_COMPLETE_INDEX` (bash, zsh) or, without it, the last word.
    pub fn current() -> Self {
        let mut words: Vec<OsString> = std::env::args_os()
            .skip_while(|word| word != "--")
            .skip(1)
            .collect();
        if words.is_empty() {
            words = std::env::args_os().collect();
        }
        let cursor = std::env::var("_CLAP_COMPLETE_INDEX")
            .ok()
            .and_then(|index| index.parse().ok())
            .or(words.len().checked_sub(1));
        Self::from_words(&words, cursor)
    }

    /// The names of the profiles in `<config dir>/profiles/`, sorted.
    pub fn profiles(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.config.profiles()) else {
            return Vec::new();
        };
        let names: BTreeSet<String> = entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.path().is_file())
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let stem = name.strip_suffix(".toml")?;
                (!stem.is_empty() && !stem.starts_with('.')).then(|| stem.to_string())
            })
            .collect();
        names.into_iter().collect()
    }

    /// The servers of the line's profile and the services of its compose
    /// file (`-f`, else the profile's, else one in the current directory),
    /// sorted. Anything unreadable gives no names rather than an error.
    pub fn servers(&self) -> Vec<String> {
        let mut names = BTreeSet::new();
        let target = crate::engine::target::resolve(
            self.compose_file.as_deref(),
            self.profile.as_deref(),
            None,
            &self.config,
        );
        let (file, profile) = match target {
            Ok(target) => (Some(target.file), target.profile),
            // An invalid profile still has a compose file worth reading.
            Err(_) => (self.compose_file.clone(), None),
        };
        if let Some(loaded) = profile {
            names.extend(loaded.profile.servers.into_keys());
        }
        if let Some(text) = file.and_then(|file| std::fs::read_to_string(file).ok())
            && let Ok(document) = serde_yaml_ng::from_str::<Value>(&text)
            && let Some(services) = document.get("services").and_then(Value::as_mapping)
        {
            names.extend(
                services
                    .keys()
                    .filter_map(Value::as_str)
                    .map(str::to_string),
            );
        }
        names.into_iter().collect()
    }
}

/// Candidates for a profile argument (a name or a path): the profile names
/// that start with `current`; a path (`./`, `dir/`) or no matching name
/// completes `.toml` files and directories instead.
pub fn complete_profile(current: &OsStr) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy();
    let names: Vec<String> = if typed.contains('/') {
        Vec::new()
    } else {
        let mut names = Line::current().profiles();
        names.retain(|name| name.starts_with(typed.as_ref()));
        names
    };
    if !names.is_empty() {
        return candidates(names);
    }
    PathCompleter::any()
        .filter(|path| path.is_dir() || path.extension().is_some_and(|e| e == "toml"))
        .complete(current)
}

/// Candidates for a server or service argument.
pub fn server_candidates() -> Vec<CompletionCandidate> {
    candidates(Line::current().servers())
}

fn candidates(names: Vec<String>) -> Vec<CompletionCandidate> {
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// The static completion script of `shell` (commands and flags) for
/// `command`: what `mcpm completions SHELL` prints and packages install.
pub fn script(shell: clap_complete::Shell, mut command: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "mcpm", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<OsString> {
        line.split(' ').map(OsString::from).collect()
    }

    fn config(dir: &std::path::Path) -> String {
        dir.display().to_string()
    }

    #[test]
    fn profiles_are_the_toml_files_of_the_config_dir() {
        let dir = tempfile::tempdir().unwrap();
        let profiles = dir.path().join("profiles");
        std::fs::create_dir_all(profiles.join("nested.toml")).unwrap();
        for name in [
            "work.toml",
            "caf\u{e9}.toml",
            "notes.txt",
            ".hidden.toml",
            "a b.toml",
        ] {
            std::fs::write(profiles.join(name), "").unwrap();
        }
        let line = Line::from_words(
            &words(&format!(
                "mcpm --config-dir {} docker sync w",
                config(dir.path())
            )),
            Some(5),
        );
        assert_eq!(line.profiles(), ["a b", "caf\u{e9}", "work"]);
        // No config dir at all: no names, no error.
        let missing = dir.path().join("missing");
        let line = Line::from_words(
            &words(&format!(
                "mcpm --config-dir {} docker sync ",
                config(&missing)
            )),
            Some(5),
        );
        assert!(line.profiles().is_empty());
    }

    #[test]
    fn servers_come_from_the_profile_and_the_file_on_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let profiles = dir.path().join("profiles");
        std::fs::create_dir_all(&profiles).unwrap();
        std::fs::write(
            profiles.join("work.toml"),
            "name = \"work\"\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n[servers.search]\nurl = \"https://example.com/mcp\"\n",
        )
        .unwrap();
        let compose = dir.path().join("compose").join("work");
        std::fs::create_dir_all(&compose).unwrap();
        std::fs::write(
            compose.join("compose.yaml"),
            "services:\n  time: {image: t}\n  redis: {image: redis}\n",
        )
        .unwrap();
        let cfg = config(dir.path());
        // `--profile` before the cursor, and the positional profile of status.
        for (line, cursor) in [
            (
                format!("mcpm --config-dir {cfg} docker logs --profile work "),
                7,
            ),
            (
                format!("mcpm docker stop --profile work --config-dir {cfg} t"),
                7,
            ),
            (format!("mcpm --config-dir {cfg} docker status work"), 99),
        ] {
            let line = Line::from_words(&words(&line), Some(cursor));
            assert_eq!(line.profile.as_deref(), Some("work"));
            assert_eq!(line.servers(), ["redis", "search", "time"]);
        }
        // `-f FILE` alone: the file's services.
        let file = compose.join("compose.yaml");
        let line = Line::from_words(
            &words(&format!("mcpm docker stop -f {} ", file.display())),
            Some(5),
        );
        assert_eq!(line.servers(), ["redis", "time"]);
        // A file that is not YAML, or a profile that does not exist: nothing.
        std::fs::write(&file, "services: [\u{0}").unwrap();
        let line = Line::from_words(
            &words(&format!(
                "mcpm --config-dir {cfg} docker logs --profile nope -f {} x",
                file.display()
            )),
            Some(9),
        );
        assert!(line.servers().is_empty());
    }
}
