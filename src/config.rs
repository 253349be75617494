//! Where mcpm keeps its own files: the config directory with `profiles/` and
//! `templates/`, chosen by `--config-dir`, `MCPM_CONFIG_DIR`, or the platform default.
use std::path::{Path, PathBuf};

/// The environment variable that names the config directory.
pub const ENV: &str = "MCPM_CONFIG_DIR";

/// The resolved config directory (it need not exist).
#[derive(Debug, Clone)]
pub struct ConfigDir(PathBuf);

impl ConfigDir {
    /// `explicit` comes from `--config-dir` or `MCPM_CONFIG_DIR` (clap reads both);
    /// otherwise the platform's config dir for `mcpm` (`~/.config/mcpm` on Linux,
    /// the same directory MCPM itself uses).
    pub fn resolve(explicit: Option<PathBuf>) -> Self {
        let dir = explicit.unwrap_or_else(|| {
            directories::ProjectDirs::from("", "", "mcpm")
                .map(|dirs| dirs.config_dir().to_path_buf())
                .unwrap_or_else(|| PathBuf::from(".mcpm"))
        });
        Self(dir)
    }

    /// `MCPM_CONFIG_DIR`, when set and not empty. Read here rather than by
    /// clap's `env`: clap counts an env-supplied option as given on the line
    /// and prints it in every usage line (`mcpm docker sync --config-dir <DIR>
    /// <PROFILE>`), as if it were required.
    pub fn from_env() -> Option<PathBuf> {
        std::env::var_os(ENV)
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn profiles(&self) -> PathBuf {
        self.0.join("profiles")
    }

    pub fn templates(&self) -> PathBuf {
        self.0.join("templates")
    }
}
