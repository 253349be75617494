//! Bad input to `deploy` is refused before the engine is asked anything: the
//! engine here is unreachable on purpose, so only input errors can answer.
mod common;

use predicates::prelude::*;

fn deploy(dir: &std::path::Path, compose: &str) -> assert_cmd::assert::Assert {
    std::fs::write(dir.join("compose.yaml"), compose).unwrap();
    common::mcpm(dir)
        .args(["docker", "deploy", "--compose-file"])
        .arg(dir.join("compose.yaml"))
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .assert()
}

#[test]
fn a_broken_file_names_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    deploy(
        dir.path(),
        "name: p\nservices:\n  a:\n    image: [unclosed\n",
    )
    .code(2)
    .stderr(predicate::str::contains("not valid YAML"))
    .stderr(predicate::str::contains("compose.yaml:"));
}

#[test]
fn fields_deploy_cannot_apply_are_errors_not_silence() {
    let dir = tempfile::tempdir().unwrap();
    deploy(dir.path(), "name: p\nservices:\n  a:\n    build: .\n")
        .code(2)
        .stderr(predicate::str::contains("build"))
        .stderr(predicate::str::contains("hint:"));
}

#[test]
fn every_missing_variable_is_listed_at_once() {
    let dir = tempfile::tempdir().unwrap();
    deploy(
        dir.path(),
        "name: p\nservices:\n  a:\n    image: busybox\n    environment:\n      X: ${MCPM_TEST_UNSET_ONE:?needed}\n      Y: ${MCPM_TEST_UNSET_TWO:?needed}\n",
    )
    .code(2)
    .stderr(predicate::str::contains("MCPM_TEST_UNSET_ONE"))
    .stderr(predicate::str::contains("MCPM_TEST_UNSET_TWO"));
}
