use std::fs;
use std::path::PathBuf;

use super::*;

const PROFILE: &str = "name = \"dev\"\n[docker]\ncompose_file = \"COMPOSE\"\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n";
const COMPOSE: &str = "name: mcp-dev\nservices: {}\nx-mcpm:\n  profile: dev\n  base: {}\n";

fn config(dir: &Path) -> ConfigDir {
    ConfigDir::resolve(Some(dir.join("config")))
}

#[test]
fn profiles_are_kept_and_other_files_passed_over() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("dev.toml");
    fs::write(&profile, PROFILE.replace("COMPOSE", "compose.yaml")).unwrap();
    let cargo = dir.path().join("Cargo.toml");
    fs::write(&cargo, "[package]\nname = \"x\"\n").unwrap();
    let workflow = dir.path().join("ci.yml");
    fs::write(&workflow, "on: push\n").unwrap();
    let readme = dir.path().join("README.md");
    fs::write(&readme, "[servers.x]\n").unwrap();
    let gone = dir.path().join("deleted.toml");
    let files = vec![
        cargo,
        profile.clone(),
        workflow,
        readme,
        gone,
        profile.clone(),
    ];
    let found = targets(&files, &config(dir.path())).unwrap();
    assert_eq!(found.profiles, vec![profile]);
    assert!(found.orphans.is_empty());
}

#[test]
fn a_broken_profile_is_still_a_profile() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("bad.toml");
    fs::write(&profile, "name = \"bad\"\n[servers.x\ncommand = 1\n").unwrap();
    let found = targets(std::slice::from_ref(&profile), &config(dir.path())).unwrap();
    assert_eq!(found.profiles, vec![profile]);
}

#[test]
fn a_compose_file_stands_for_its_profile() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("profiles")).unwrap();
    let profile = dir.path().join("profiles/dev.toml");
    fs::write(&profile, PROFILE.replace("COMPOSE", "../compose.yaml")).unwrap();
    // Another profile beside it, with another compose file.
    fs::write(
        dir.path().join("profiles/other.toml"),
        PROFILE.replace("COMPOSE", "other.yaml"),
    )
    .unwrap();
    let compose = dir.path().join("compose.yaml");
    fs::write(&compose, COMPOSE).unwrap();
    let found = targets(&[compose, profile.clone()], &config(dir.path())).unwrap();
    assert_eq!(found.profiles.len(), 1, "{found:?}");
    assert!(same_file(&found.profiles[0], &profile));
}

#[test]
fn a_compose_file_without_its_profile_is_an_orphan() {
    let dir = tempfile::tempdir().unwrap();
    let compose = dir.path().join("compose.yaml");
    fs::write(&compose, COMPOSE).unwrap();
    let plain = dir.path().join("docker-compose.yml");
    fs::write(&plain, "services:\n  web:\n    image: nginx\n").unwrap();
    let found = targets(&[compose.clone(), plain], &config(dir.path())).unwrap();
    assert!(found.profiles.is_empty());
    assert_eq!(found.orphans, vec![compose.clone()]);
    let err = orphans_error(&found.orphans);
    assert!(err.message.contains(&compose.display().to_string()));
    assert!(err.hint.is_some());
}

#[test]
fn files_that_are_not_utf8_or_unreadable_are_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("odd.toml");
    fs::write(&odd, [0xff, 0xfe, 0x00]).unwrap();
    let odd: PathBuf = odd;
    // Either skipped or reported as an error: never a panic.
    let _ = targets(&[odd], &config(dir.path()));
}
