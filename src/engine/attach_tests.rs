//! Unit tests of the pure parts of `attach`: names, labels, which container
//! is attached, orphan decisions and the splitting of stderr into lines.
use std::collections::BTreeSet;

use super::stdio::split_lines;
use super::*;

fn container(number: u32, state: ContainerState) -> ObservedContainer {
    ObservedContainer {
        id: format!("id{number}"),
        name: format!("p-s-{number}"),
        service: "s".into(),
        server: "s".into(),
        number,
        state,
        health: None,
        image: "img".into(),
        image_id: None,
        config_hash: None,
        mcpm_hash: None,
        inherited_volumes: Vec::new(),
        networks: BTreeSet::new(),
        ports: Vec::new(),
    }
}

#[test]
fn a_running_container_is_attached_before_a_stopped_one() {
    let picked = pick_container(vec![
        container(1, ContainerState::Exited),
        container(2, ContainerState::Running),
    ]);
    assert_eq!(picked.unwrap().number, 2);
    let picked = pick_container(vec![
        container(2, ContainerState::Created),
        container(1, ContainerState::Created),
    ]);
    assert_eq!(picked.unwrap().number, 1);
    assert!(pick_container(Vec::new()).is_none());
}

#[test]
fn session_containers_are_named_and_labelled_like_compose_run() {
    let slug = "0123456789abcdef".repeat(4);
    assert_eq!(
        session_name("dev", "time", &slug),
        "dev-time-run-0123456789ab"
    );
    let labels: HashMap<&str, String> = session_labels(&slug, 4242).into_iter().collect();
    assert_eq!(labels["com.docker.compose.oneoff"], "True");
    assert_eq!(labels["com.docker.compose.slug"], slug);
    assert_eq!(labels["io.mcpm.gateway-session"], "4242");
}

#[test]
fn the_instance_changes_with_the_start_time() {
    let first = instance_id("abc", "2026-11-29T06:00:00.1Z");
    assert_eq!(first, instance_id("abc", "2026-11-29T06:00:00.1Z"));
    assert_ne!(first, instance_id("abc", "2026-11-29T06:05:00.2Z"));
    assert_ne!(first, instance_id("abd", "2026-11-29T06:00:00.1Z"));
}

#[test]
fn orphans_are_the_containers_of_gateways_that_are_gone() {
    let alive = |pid: u32| pid == 100;
    // another gateway that runs: kept
    assert!(!is_orphan("100", 7, false, alive));
    // a gateway that is gone: reaped
    assert!(is_orphan("101", 7, false, alive));
    // our own pid: kept when we made it, reaped when an earlier gateway with
    // the same pid did
    assert!(!is_orphan("7", 7, true, alive));
    assert!(is_orphan("7", 7, false, alive));
    // not a pid at all
    assert!(is_orphan("", 7, false, alive));
    assert!(is_orphan("x12", 7, false, alive));
    assert!(!is_orphan(" 100 ", 7, false, alive));
}

#[test]
fn a_live_process_of_another_program_is_not_a_gateway() {
    assert!(gateway_alive(std::process::id()));
    let mut other = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("sleep runs");
    let pid = other.id();
    let alive_while_running = gateway_alive(pid);
    other.kill().unwrap();
    other.wait().unwrap();
    assert!(!alive_while_running, "a `sleep` is not a gateway");
    assert!(
        !gateway_alive(pid),
        "a process that exited is not a gateway"
    );
    // a pid that cannot exist (above Linux's largest pid_max)
    assert!(!gateway_alive(4_194_305));
}

#[test]
fn a_rebuilt_binary_is_still_the_same_executable() {
    assert!(same_executable("/x/mcpm (deleted)", "/x/mcpm"));
    assert!(same_executable("/x/mcpm", "/x/mcpm"));
    assert!(!same_executable("/x/other", "/x/mcpm"));
}

#[test]
fn stderr_is_split_into_lines_across_frames() {
    let mut partial = Vec::new();
    assert!(split_lines(&mut partial, b"Starting ", 100).is_empty());
    assert_eq!(
        split_lines(&mut partial, b"server\r\nready\nwai", 100),
        ["Starting server", "ready"]
    );
    assert_eq!(partial, b"wai");
    assert_eq!(split_lines(&mut partial, b"ting\n\n", 100), ["waiting", ""]);
    assert!(partial.is_empty());
    // a line without end is logged in pieces rather than kept growing
    assert_eq!(
        split_lines(&mut partial, b"abcdefghij", 4),
        ["abcd", "efgh"]
    );
    assert_eq!(partial, b"ij");
    // invalid UTF-8 is logged, not dropped
    assert_eq!(split_lines(&mut partial, b"\xff\n", 100), ["ij\u{fffd}"]);
}
