//! Concurrent syncs: many `mcpm docker sync` runs on one profile, each with
//! its own compose file and its own edit, started at once. Every run locks
//! the profile and its compose file, so none loses another's profile edit:
//! at the end the profile holds every edit, and after a final sync so does
//! every compose file.
mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

const RUNS: usize = 12;

fn profile() -> String {
    let mut out = String::from("name = \"many\"\n");
    for i in 0..RUNS {
        out.push_str(&format!(
            "\n[servers.s{i}]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\"]\nenv = {{ LOG_LEVEL = \"info\" }}\n"
        ));
    }
    out
}

fn sync(dir: &Path, compose: &str) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("mcpm"));
    command
        .args(["docker", "sync", "many.toml", "--yes", "-f", compose])
        .env("MCPM_CONFIG_DIR", dir)
        .env_remove("CI")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn compose_name(i: usize) -> String {
    format!("c{i}.yml")
}

/// Sets server `s{server}`'s LOG_LEVEL in compose file `c{file}.yml`.
fn edit_level(dir: &Path, file: usize, server: usize, level: &str) {
    let path = dir.join(compose_name(file));
    let text = fs::read_to_string(&path).unwrap();
    let at = text.find(&format!("\n  s{server}:\n")).unwrap();
    let level_at = at + text[at..].find("LOG_LEVEL: info").unwrap();
    let edited = format!(
        "{}LOG_LEVEL: {level}{}",
        &text[..level_at],
        &text[level_at + 15..]
    );
    fs::write(&path, edited).unwrap();
}

#[test]
fn parallel_syncs_with_different_compose_files_lose_no_edit() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    fs::write(dir.join("many.toml"), profile()).unwrap();
    for i in 0..RUNS {
        let out = sync(dir, &compose_name(i)).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Each compose file carries one edit of its own server.
    for i in 0..RUNS {
        edit_level(dir, i, i, &format!("edit{i}"));
    }
    let children: Vec<_> = (0..RUNS)
        .map(|i| sync(dir, &compose_name(i)).spawn().unwrap())
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let profile = fs::read_to_string(dir.join("many.toml")).unwrap();
    let lost: Vec<usize> = (0..RUNS)
        .filter(|i| !profile.contains(&format!("\"edit{i}\"")))
        .collect();
    assert!(
        lost.is_empty(),
        "edits of runs {lost:?} were lost:\n{profile}"
    );
    // A final sync brings every edit into every compose file.
    for i in 0..RUNS {
        let out = sync(dir, &compose_name(i)).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = fs::read_to_string(dir.join(compose_name(i))).unwrap();
        for j in 0..RUNS {
            assert!(
                text.contains(&format!("LOG_LEVEL: edit{j}")),
                "{} lacks edit{j}",
                compose_name(i)
            );
        }
    }
}
