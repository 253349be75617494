//! The files mcpm writes, against a hostile directory: private profiles and
//! `.env` keep private backups, links planted at backup names are replaced
//! and never followed, symlinked files are written through to their targets,
//! read-only runs create nothing, a held lock times out naming its holder,
//! and a sync cut off between its two files is repaired by the next one.
#![cfg(unix)]
mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use common::mcpm;

const SECRET: &str = "sk-live-4f9a8b7c6d5e4f3a2b1c";

fn profile(secret: &str) -> String {
    format!(
        r#"name = "team"

[docker]
compose_file = "compose.yaml"

[servers.fetch]
command = "uvx"
args = ["mcp-server-fetch"]
env = {{ LOG_LEVEL = "info", API_KEY = "{secret}" }}

[servers.time]
command = "uvx"
args = ["mcp-server-time"]
"#
    )
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn is_link(path: &Path) -> bool {
    fs::symlink_metadata(path).unwrap().file_type().is_symlink()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(
        text.contains(from),
        "{} lacks {from:?}:\n{text}",
        path.display()
    );
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn sync(config: &Path, profile: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    mcpm(config)
        .args(["docker", "sync"])
        .arg(profile)
        .args(["--yes", "--strategy", "merge"])
        .args(extra)
        .assert()
}

fn generate_check(config: &Path, profile: &Path) -> assert_cmd::assert::Assert {
    mcpm(config)
        .args(["docker", "generate"])
        .arg(profile)
        .arg("--check")
        .assert()
}

/// Every path under `dir` (links not followed) with its kind and bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let what = if meta.is_dir() {
                stack.push(path.clone());
                "dir".to_string()
            } else if meta.file_type().is_symlink() {
                format!("link {}", fs::read_link(&path).unwrap().display())
            } else {
                format!(
                    "{:o} {}",
                    meta.permissions().mode(),
                    fs::read_to_string(&path).unwrap_or_default()
                )
            };
            out.push((path, what));
        }
    }
    out.sort();
    out
}

/// A synced profile (0600, with a literal secret) and its compose file.
fn synced() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("team.toml");
    fs::write(&path, profile(SECRET)).unwrap();
    chmod(&path, 0o600);
    sync(dir.path(), &path, &[]).success();
    assert_eq!(mode(&dir.path().join(".env")), 0o600);
    (dir, path)
}

#[test]
fn a_private_profile_and_env_keep_private_backups() {
    let (dir, path) = synced();
    // A change on each side: the profile's secret, the file's log level.
    edit(&path, SECRET, "sk-live-0000rotated0000");
    edit(
        &dir.path().join("compose.yaml"),
        "LOG_LEVEL: info",
        "LOG_LEVEL: debug",
    );
    sync(dir.path(), &path, &[]).success();
    assert!(fs::read_to_string(&path).unwrap().contains("debug"));
    for name in ["team.toml", "team.toml.bak", ".env", ".env.bak"] {
        assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
    }
    assert!(
        fs::read_to_string(dir.path().join(".env.bak"))
            .unwrap()
            .contains(SECRET)
    );
}

#[test]
fn links_planted_at_backup_names_are_replaced_not_followed() {
    let (dir, path) = synced();
    let outside = tempfile::tempdir().unwrap();
    for name in ["team.toml", "compose.yaml", ".env"] {
        let victim = outside.path().join(name);
        fs::write(&victim, "victim").unwrap();
        symlink(&victim, dir.path().join(format!("{name}.bak"))).unwrap();
    }
    edit(&path, SECRET, "sk-live-0000rotated0000");
    edit(
        &dir.path().join("compose.yaml"),
        "LOG_LEVEL: info",
        "LOG_LEVEL: debug",
    );
    let old_profile = fs::read_to_string(&path).unwrap();
    let old_compose = fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    sync(dir.path(), &path, &[]).success();
    for name in ["team.toml", "compose.yaml", ".env"] {
        assert_eq!(
            fs::read_to_string(outside.path().join(name)).unwrap(),
            "victim",
            "the link at {name}.bak was followed"
        );
        assert!(
            !is_link(&dir.path().join(format!("{name}.bak"))),
            "{name}.bak"
        );
    }
    assert_eq!(
        fs::read_to_string(dir.path().join("team.toml.bak")).unwrap(),
        old_profile
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("compose.yaml.bak")).unwrap(),
        old_compose
    );
    assert_eq!(mode(&dir.path().join(".env.bak")), 0o600);
}

#[test]
fn symlinked_profile_compose_file_and_env_are_written_through() {
    let (real, real_profile) = synced();
    chmod(&real.path().join("compose.yaml"), 0o640);
    let work = tempfile::tempdir().unwrap();
    for name in ["team.toml", "compose.yaml", ".env"] {
        symlink(real.path().join(name), work.path().join(name)).unwrap();
    }
    edit(&real_profile, SECRET, "sk-live-0000rotated0000");
    edit(
        &real.path().join("compose.yaml"),
        "LOG_LEVEL: info",
        "LOG_LEVEL: debug",
    );
    sync(work.path(), &work.path().join("team.toml"), &[]).success();
    for name in ["team.toml", "compose.yaml", ".env"] {
        assert!(
            is_link(&work.path().join(name)),
            "{name} is no longer a link"
        );
    }
    let profile = fs::read_to_string(&real_profile).unwrap();
    assert!(profile.contains("debug"), "{profile}");
    let compose = fs::read_to_string(real.path().join("compose.yaml")).unwrap();
    assert!(compose.contains("LOG_LEVEL: debug"));
    assert!(
        fs::read_to_string(real.path().join(".env"))
            .unwrap()
            .contains("sk-live-0000rotated0000")
    );
    assert_eq!(mode(&real_profile), 0o600);
    assert_eq!(mode(&real.path().join("compose.yaml")), 0o640);
    assert_eq!(mode(&real.path().join(".env")), 0o600);
    // In step through the links: nothing more to do.
    sync(work.path(), &work.path().join("team.toml"), &["--check"]).success();
}

#[test]
fn setuid_and_sticky_bits_never_carry_over() {
    let (dir, path) = synced();
    let compose = dir.path().join("compose.yaml");
    chmod(&compose, 0o6755);
    edit(
        &path,
        "mcp-server-time\"",
        "mcp-server-time\", \"--local-timezone=UTC\"",
    );
    sync(dir.path(), &path, &[]).success();
    assert_eq!(mode(&compose), 0o755);
}

#[test]
fn dry_run_and_check_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("team.toml");
    fs::write(
        &path,
        profile(SECRET).replace("compose.yaml", "out/deep/compose.yaml"),
    )
    .unwrap();
    let before = tree(dir.path());
    sync(dir.path(), &path, &["--dry-run"]).success();
    sync(dir.path(), &path, &["--check"]).code(4);
    generate_check(dir.path(), &path).code(4);
    assert_eq!(tree(dir.path()), before, "a read-only run wrote something");
    // With files in place and a change pending, and no lock files left.
    sync(dir.path(), &path, &[]).success();
    edit(&path, "LOG_LEVEL = \"info\"", "LOG_LEVEL = \"warn\"");
    for entry in tree(dir.path()) {
        if entry.0.to_string_lossy().ends_with(".mcpm-lock") {
            fs::remove_file(&entry.0).unwrap();
        }
    }
    let before = tree(dir.path());
    sync(dir.path(), &path, &["--dry-run"]).success();
    sync(dir.path(), &path, &["--check"]).code(4);
    generate_check(dir.path(), &path).code(4);
    assert_eq!(tree(dir.path()), before, "a read-only run wrote something");
}

/// Debug builds stop at named points (`files::debug_point`); release builds
/// have no such hooks, and the tests that need them say so.
fn hooks() -> bool {
    if cfg!(debug_assertions) {
        return true;
    }
    eprintln!("skipped: the test hooks exist in debug builds only");
    false
}

#[test]
fn a_held_lock_times_out_naming_the_holders_pid() {
    if !hooks() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("team.toml");
    fs::write(&path, profile(SECRET)).unwrap();
    let mut holder = std::process::Command::new(assert_cmd::cargo::cargo_bin("mcpm"))
        .args(["docker", "sync", "--yes"])
        .arg(&path)
        .env("MCPM_CONFIG_DIR", dir.path())
        .env("MCPM_TEST_PAUSE_AT", "sync-after-env:4000")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = dir.path().join(".team.toml.mcpm-lock");
    let wanted = format!("pid={}", holder.id());
    let start = std::time::Instant::now();
    while !fs::read_to_string(&lock).is_ok_and(|t| t.contains(&wanted)) {
        assert!(
            start.elapsed().as_secs() < 20,
            "the first sync never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let waited = std::time::Instant::now();
    let out = sync(dir.path(), &path, &["--lock-timeout", "1"]).code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(waited.elapsed().as_millis() >= 900);
    assert!(stderr.contains(&format!("pid {}", holder.id())), "{stderr}");
    assert!(stderr.contains(".mcpm-lock"), "{stderr}");
    assert!(holder.wait().unwrap().success());
    // Free again: the same command goes through.
    sync(dir.path(), &path, &["--lock-timeout", "1"]).success();
}

#[test]
fn both_sides_changed_alike_records_fresh_labels_and_the_checks_agree() {
    let (dir, path) = synced();
    let compose = dir.path().join("compose.yaml");
    // The same edit made on both sides by hand: nothing to merge, but the
    // file's hash labels and base are stale until a sync records them.
    edit(&path, "LOG_LEVEL = \"info\"", "LOG_LEVEL = \"debug\"");
    edit(&compose, "LOG_LEVEL: info", "LOG_LEVEL: debug");
    sync(dir.path(), &path, &["--check"]).code(4);
    generate_check(dir.path(), &path).code(4);
    sync(dir.path(), &path, &[]).success();
    sync(dir.path(), &path, &["--check"]).success();
    generate_check(dir.path(), &path).success();
}

#[test]
fn a_sync_killed_between_profile_and_compose_file_is_repaired() {
    if !hooks() {
        return;
    }
    let (dir, path) = synced();
    let compose = dir.path().join("compose.yaml");
    edit(&compose, "LOG_LEVEL: info", "LOG_LEVEL: debug");
    let old_compose = fs::read_to_string(&compose).unwrap();
    let killed = mcpm(dir.path())
        .args(["docker", "sync", "--yes"])
        .arg(&path)
        .env("MCPM_TEST_CRASH_AT", "sync-after-profile")
        .output()
        .unwrap();
    assert!(!killed.status.success(), "the sync was not cut off");
    assert!(
        fs::read_to_string(&path)
            .unwrap()
            .contains("LOG_LEVEL = \"debug\"")
    );
    assert_eq!(fs::read_to_string(&compose).unwrap(), old_compose);
    // Both checks see the unfinished sync.
    sync(dir.path(), &path, &["--check"]).code(4);
    generate_check(dir.path(), &path).code(4);
    sync(dir.path(), &path, &[]).success();
    sync(dir.path(), &path, &["--check"]).success();
    generate_check(dir.path(), &path).success();
    let again = (fs::read(&path).unwrap(), fs::read(&compose).unwrap());
    sync(dir.path(), &path, &[]).success();
    assert_eq!(
        (fs::read(&path).unwrap(), fs::read(&compose).unwrap()),
        again
    );
}

#[test]
fn a_sync_killed_after_importing_into_the_profile_is_finished_by_the_next() {
    if !hooks() {
        return;
    }
    let (dir, path) = synced();
    let compose = dir.path().join("compose.yaml");
    // Importing is asked for by the profile (it is off by default).
    edit(
        &path,
        "compose_file = \"compose.yaml\"\n",
        "compose_file = \"compose.yaml\"\nimport_services = true\n",
    );
    // A service mcpm does not own: the sync imports it into the profile and
    // labels it in the file. Cut off between the two, the file's service is
    // unlabelled while the profile already has the server.
    edit(
        &compose,
        "services:\n",
        "services:\n  redis:\n    image: redis:7\n",
    );
    let killed = mcpm(dir.path())
        .args(["docker", "sync", "--yes"])
        .arg(&path)
        .env("MCPM_TEST_CRASH_AT", "sync-after-profile")
        .output()
        .unwrap();
    assert!(!killed.status.success(), "the sync was not cut off");
    assert!(
        fs::read_to_string(&path)
            .unwrap()
            .contains("[servers.redis]")
    );
    sync(dir.path(), &path, &["--check"]).code(4);
    generate_check(dir.path(), &path).code(4);
    let before = tree(dir.path());
    sync(dir.path(), &path, &["--dry-run"]).success();
    assert_eq!(tree(dir.path()), before, "--dry-run finished the sync");
    mcpm(dir.path())
        .args(["docker", "sync"])
        .arg(&path)
        .assert()
        .success()
        .stderr(predicates::str::contains("finished an interrupted sync"));
    sync(dir.path(), &path, &["--check"]).success();
    generate_check(dir.path(), &path).success();
    let leftovers: Vec<_> = tree(dir.path())
        .into_iter()
        .filter(|(p, _)| p.to_string_lossy().ends_with(".mcpm-pending"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
