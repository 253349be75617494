//! The pre-commit hooks of `.pre-commit-hooks.yaml`, run by the real
//! pre-commit (from PyPI, pinned, in a venv under target/) against a
//! temporary git repository that points at this repository by path and
//! commit: a stale compose file fails `pre-commit run`, and passes once
//! `mcpm docker generate -o` rewrote it.
//!
//! The hooks are `language: system`: the mcpm first on PATH is this build's.
mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{mcpm, root, write_profile};

/// The pre-commit release the test installs.
const PRE_COMMIT: &str = "4.2.0";

const PROFILE: &str = "name = \"hooked\"\n[docker]\ncompose_file = \"deploy/compose.yaml\"\n\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n";

/// `pre-commit` from a venv in target/ (made once, reused), or `None` after
/// saying why it cannot be made; in CI that fails the test.
fn pre_commit() -> Option<PathBuf> {
    let venv = root().join("target/pre-commit-venv");
    let bin = venv.join("bin/pre-commit");
    let installed = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(PRE_COMMIT));
    if installed {
        return Some(bin);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|status| status.success())
        && Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", &format!("pre-commit=={PRE_COMMIT}")])
            .status()
            .is_ok_and(|status| status.success());
    if made {
        return Some(bin);
    }
    let why = format!(
        "cannot install pre-commit {PRE_COMMIT} from PyPI into {}",
        venv.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
    None
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `mcpm docker generate hooked.toml -o deploy/compose.yaml` in `repo`.
fn generate(repo: &Path, config: &Path) {
    let out = mcpm(config)
        .current_dir(repo)
        .args([
            "docker",
            "generate",
            "hooked.toml",
            "-o",
            "deploy/compose.yaml",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_stale_compose_file_fails_the_hooks_until_regenerated() {
    let Some(pre_commit) = pre_commit() else {
        return;
    };
    let this_repo = root();
    let rev = git(&this_repo, &["rev-parse", "HEAD"]);
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    let config = work.path().join("config");
    std::fs::create_dir_all(repo.join("deploy")).unwrap();
    git(&repo, &["init", "--quiet", "--initial-branch=main"]);
    git(&repo, &["config", "user.email", "test@example.org"]);
    git(&repo, &["config", "user.name", "test"]);

    // A profile with its compose file, then the profile gains a server the
    // file lacks: the file is stale.
    let profile = write_profile(&repo, "hooked.toml", PROFILE);
    generate(&repo, &config);
    std::fs::write(
        &profile,
        format!("{PROFILE}\n[servers.fetch]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\"]\n"),
    )
    .unwrap();
    // Files the hooks must pass over.
    std::fs::write(repo.join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
    std::fs::write(
        repo.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: mcpm-generate-check\n      - id: mcpm-sync-check\n",
            this_repo.display()
        ),
    )
    .unwrap();
    git(&repo, &["add", "-A"]);

    // This build's mcpm first on PATH, then the venv (pre-commit's own git
    // and python come from PATH too).
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_mcpm"));
    let mut path = vec![binary.parent().unwrap().to_path_buf()];
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let path: OsString = std::env::join_paths(path).unwrap();
    let run = || {
        Command::new(&pre_commit)
            .args(["run", "--all-files", "--color", "never"])
            .current_dir(&repo)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", work.path().join("pre-commit-cache"))
            .env("MCPM_CONFIG_DIR", &config)
            .env_remove("CI")
            .output()
            .unwrap()
    };

    let stale = run();
    let said = text(&stale);
    assert_eq!(stale.status.code(), Some(1), "{said}");
    assert!(
        said.contains("mcpm compose files are current") && said.contains("Failed"),
        "{said}"
    );
    assert!(
        said.contains("mcpm profiles and compose files in step"),
        "{said}"
    );
    assert!(
        said.contains("deploy/compose.yaml differs from what the profile generates"),
        "{said}"
    );
    assert!(said.contains("exit code: 4"), "{said}");

    generate(&repo, &config);
    git(&repo, &["add", "-A"]);
    let fresh = run();
    assert!(fresh.status.success(), "{}", text(&fresh));
    assert_eq!(
        text(&fresh).matches("Passed").count(),
        2,
        "{}",
        text(&fresh)
    );
}
