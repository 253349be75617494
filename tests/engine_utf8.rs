//! The engine commands' own readers (the compose file, the project `.env`, a
//! service's `env_file:`) refuse bytes that are not UTF-8 as bad input: exit
//! 2, naming the file, its line:col and the byte offset, like every other
//! reader of mcpm. The engine is unreachable on purpose: only the input can
//! answer.
mod common;

use std::path::Path;

use predicates::prelude::*;

const GOOD: &str = "name: p\nservices:\n  a:\n    image: busybox\n";

fn mcpm(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    common::mcpm(dir)
        .args(args)
        .arg("-f")
        .arg(dir.join("compose.yaml"))
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .assert()
}

/// `text` with an invalid byte (0xff) after `before`.
fn broken(before: &str, after: &str) -> Vec<u8> {
    let mut bytes = before.as_bytes().to_vec();
    bytes.push(0xff);
    bytes.extend_from_slice(after.as_bytes());
    bytes
}

fn refused(assert: assert_cmd::assert::Assert, file: &str, place: &str) {
    assert
        .code(2)
        .stderr(predicate::str::contains(file))
        .stderr(predicate::str::contains("not UTF-8"))
        .stderr(predicate::str::contains(place))
        .stderr(predicate::str::contains("byte offset"));
}

#[test]
fn a_compose_file_that_is_not_utf8_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        broken("name: p\nservices:\n  a:\n    image: bu", "sybox\n"),
    )
    .unwrap();
    for args in [
        &["docker", "deploy", "--dry-run"][..],
        &["docker", "status"],
        &["docker", "down"],
    ] {
        refused(mcpm(dir.path(), args), "compose.yaml:4:14", "offset 36");
    }
}

#[test]
fn a_dotenv_that_is_not_utf8_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), GOOD).unwrap();
    std::fs::write(dir.path().join(".env"), broken("A=1\nB=x", "\n")).unwrap();
    refused(
        mcpm(dir.path(), &["docker", "deploy", "--dry-run"]),
        ".env:2:4",
        "offset 7",
    );
}

#[test]
fn a_service_env_file_that_is_not_utf8_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!("{GOOD}    env_file: [vars.env]\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("vars.env"), broken("", "=1\n")).unwrap();
    refused(
        mcpm(dir.path(), &["docker", "deploy", "--dry-run"]),
        "vars.env:1:1",
        "offset 0",
    );
}
