use std::path::Path;
use std::time::Duration;

use super::*;
use crate::engine::desired::{LoadOptions, load_text};

fn desired(text: &str) -> Desired {
    load_text(
        Path::new("/srv/compose.yaml"),
        text,
        &LoadOptions::default(),
        &|_| None,
    )
    .unwrap()
}

const FILE: &str = r#"
name: mcp-dev
services:
  time:
    image: mcp/time
    stdin_open: true
    profiles: [on-demand]
    labels:
      io.mcpm.server: time
      io.mcpm.strategy: on-demand
      io.mcpm.sharing: session
      io.mcpm.idle-timeout: "1h30m"
  fetch-svc:
    image: mcp/fetch
    stdin_open: true
    labels:
      io.mcpm.server: fetch
      io.mcpm.strategy: pre-warmed
  handmade:
    image: example/handmade
    stdin_open: true
    profiles: [on-demand]
  db:
    image: postgres
"#;

#[test]
fn stdio_services_become_servers_with_their_labels() {
    let servers = servers(&desired(FILE)).unwrap();
    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["fetch", "handmade", "time"],
        "db keeps no stdin open"
    );
    let fetch = &servers[0];
    assert_eq!(fetch.service, "fetch-svc", "the name is the label's");
    assert_eq!(fetch.strategy, Strategy::PreWarmed);
    assert_eq!(fetch.sharing, Sharing::Shared);
    assert_eq!(fetch.idle_timeout, DEFAULT_IDLE_TIMEOUT);
    let handmade = &servers[1];
    assert_eq!(handmade.service, "handmade");
    assert_eq!(
        handmade.strategy,
        Strategy::OnDemand,
        "without the label, the on-demand compose profile decides"
    );
    let time = &servers[2];
    assert_eq!(time.strategy, Strategy::OnDemand);
    assert_eq!(time.sharing, Sharing::Session);
    assert_eq!(time.idle_timeout, Duration::from_secs(5400));
}

#[test]
fn a_plain_service_is_always_on_and_shared() {
    let servers = servers(&desired(
        "services:\n  echo:\n    image: e\n    stdin_open: true\n",
    ))
    .unwrap();
    assert_eq!(
        servers,
        [GatewayServer {
            name: "echo".into(),
            service: "echo".into(),
            strategy: Strategy::AlwaysOn,
            sharing: Sharing::Shared,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }]
    );
}

#[test]
fn unreadable_labels_and_duplicate_names_are_errors() {
    for (label, expect) in [
        ("io.mcpm.sharing: sometimes", "not shared or session"),
        ("io.mcpm.strategy: lazy", "not always-on"),
        ("io.mcpm.idle-timeout: soon", "not a duration"),
        ("io.mcpm.idle-timeout: \"-5\"", "not a duration"),
    ] {
        let text = format!(
            "services:\n  echo:\n    image: e\n    stdin_open: true\n    labels:\n      {label}\n"
        );
        let err = servers(&desired(&text)).unwrap_err();
        assert_eq!(err.status, crate::error::ExitStatus::Invalid);
        assert!(err.message.contains("service `echo`"), "{}", err.message);
        assert!(err.message.contains(expect), "{}", err.message);
    }
    let text = "services:\n  a:\n    image: e\n    stdin_open: true\n    labels: {io.mcpm.server: x}\n  b:\n    image: e\n    stdin_open: true\n    labels: {io.mcpm.server: x}\n";
    let err = servers(&desired(text)).unwrap_err();
    assert!(
        err.message.contains("`a` and `b`") && err.message.contains("`x`"),
        "{}",
        err.message
    );
}

fn profile(text: &str) -> Profile {
    toml::from_str(text).unwrap()
}

const PROFILE: &str = r#"
name = "dev"
[servers.time]
command = "uvx"
[servers.fetch]
command = "uvx"
[servers.remote]
url = "https://example.com/mcp"
[servers.off]
command = "uvx"
enabled = false
[servers.fresh]
command = "uvx"
[servers.db]
command = "uvx"
"#;

#[test]
fn find_explains_every_server_it_cannot_serve() {
    let desired = desired(FILE);
    let servers = servers(&desired).unwrap();
    let profile = profile(PROFILE);
    let found = |name: &str| find(&servers, name, Some(&profile), &desired);

    assert_eq!(found("fetch").unwrap().service, "fetch-svc");

    let err = found("nope").unwrap_err();
    assert_eq!(err.status, crate::error::ExitStatus::Invalid);
    assert_eq!(err.message, "no server `nope` in /srv/compose.yaml");
    assert_eq!(
        err.hint.as_deref(),
        Some("servers there: fetch, handmade, time")
    );

    let err = found("remote").unwrap_err();
    assert_eq!(
        err.message,
        "remote is a remote server (https://example.com/mcp): clients reach it directly, not through connect"
    );
    assert_eq!(err.status, crate::error::ExitStatus::Invalid);

    let err = found("off").unwrap_err();
    assert!(
        err.message.contains("disabled in profile `dev`"),
        "{}",
        err.message
    );

    let err = found("fresh").unwrap_err();
    assert!(
        err.message
            .contains("is in profile `dev` but not in /srv/compose.yaml"),
        "{}",
        err.message
    );
    assert!(err.hint.unwrap().contains("mcpm docker sync dev"));

    let err = found("db").unwrap_err();
    assert!(
        err.message.contains("does not keep its stdin open"),
        "{}",
        err.message
    );

    // The service name of a labelled service is not a server name.
    let err = find(&servers, "fetch-svc", None, &desired).unwrap_err();
    assert!(err.message.starts_with("no server"), "{}", err.message);
}

#[test]
fn a_file_without_stdio_servers_says_so() {
    let desired = desired("services:\n  db:\n    image: postgres\n");
    let err = find(&[], "time", None, &desired).unwrap_err();
    assert!(err.hint.unwrap().contains("has no stdio servers"));
}
