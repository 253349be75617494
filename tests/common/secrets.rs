//! The secrets scanner: after a CLI test that used literal secrets, every
//! literal must be found only where SPEC §4 allows it — the `.env` beside the
//! compose file (mode 0600, and its backup), the files the test itself wrote
//! the literal into (and their backups, never more readable than the
//! original) — and in no output mcpm printed.
use std::path::{Path, PathBuf};

/// What a test saw: the directory it ran in, the literals it used, the files
/// it wrote them into, and everything mcpm printed.
pub struct SecretScan {
    dir: PathBuf,
    secrets: Vec<String>,
    user_files: Vec<PathBuf>,
    private_files: Vec<PathBuf>,
    outputs: Vec<(String, Vec<u8>)>,
}

impl SecretScan {
    pub fn new(dir: &Path, secrets: &[&str]) -> Self {
        Self {
            dir: dir.to_path_buf(),
            secrets: secrets.iter().map(|s| s.to_string()).collect(),
            user_files: Vec::new(),
            private_files: Vec::new(),
            outputs: Vec::new(),
        }
    }

    /// A file the test wrote a literal into itself (a profile, a hand-edited
    /// compose file): it and its backups may keep holding it.
    pub fn user_file(mut self, path: &Path) -> Self {
        self.user_files.push(path.to_path_buf());
        self
    }

    /// A file mcpm wrote a literal into on purpose (a profile `profile import`
    /// wrote): allowed only with mode 0600, and so are its backups.
    pub fn private_file(mut self, path: &Path) -> Self {
        self.private_files.push(path.to_path_buf());
        self
    }

    /// Records stdout and stderr of one run.
    pub fn output(&mut self, what: &str, output: &std::process::Output) -> &mut Self {
        self.outputs
            .push((format!("{what} (stdout)"), output.stdout.clone()));
        self.outputs
            .push((format!("{what} (stderr)"), output.stderr.clone()));
        self
    }

    /// Records one stream of text.
    pub fn text(&mut self, what: &str, text: &[u8]) -> &mut Self {
        self.outputs.push((what.to_string(), text.to_vec()));
        self
    }

    /// Panics naming the first place a literal is found where it must not be.
    pub fn assert_contained(&self) {
        for (what, bytes) in &self.outputs {
            let text = String::from_utf8_lossy(bytes);
            for secret in &self.secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "secret {secret:?} printed in {what}:\n{text}"
                );
            }
        }
        let mut files = Vec::new();
        walk(&self.dir, &mut files);
        for path in files {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            for secret in &self.secrets {
                if text.contains(secret.as_str()) {
                    self.check_allowed(&path, secret);
                }
            }
        }
    }

    fn check_allowed(&self, path: &Path, secret: &str) {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let backup_of = |file: &PathBuf| PathBuf::from(format!("{}.bak", file.display()));
        let private = self
            .private_files
            .iter()
            .any(|file| path == file || path == backup_of(file));
        if name == ".env" || name == ".env.bak" || private {
            assert_eq!(
                mode(path),
                0o600,
                "{} holds secret {secret:?} but is not mode 0600",
                path.display()
            );
            return;
        }
        for user in &self.user_files {
            let backup = PathBuf::from(format!("{}.bak", user.display()));
            if path == user {
                return;
            }
            if path == backup {
                let (kept, original) = (mode(path), mode(user));
                assert_eq!(
                    kept & !original,
                    0,
                    "{} holds secret {secret:?} and is more readable ({kept:o}) than {} ({original:o})",
                    path.display(),
                    user.display()
                );
                return;
            }
        }
        panic!(
            "secret {secret:?} leaked into {}:\n{}",
            path.display(),
            std::fs::read_to_string(path).unwrap_or_default()
        );
    }
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&path, files);
        } else if kind.is_file() {
            files.push(path);
        }
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0)
}

#[cfg(not(unix))]
fn mode(_: &Path) -> u32 {
    0o600
}
