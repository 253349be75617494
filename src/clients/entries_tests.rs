use indexmap::IndexMap;
use serde_json::json;

use super::*;

fn launch() -> Launch {
    Launch {
        program: "/usr/local/bin/mcpm".into(),
        profile: "/home/ada/dev.toml".into(),
        config_dir: None,
        engine_args: Vec::new(),
    }
}

fn gateway() -> Gateway {
    Gateway {
        base_url: "http://127.0.0.1:41234".into(),
        token: "ab".repeat(32),
    }
}

fn servers() -> Vec<(String, ServerKind)> {
    vec![
        (
            "docs".into(),
            ServerKind::Remote {
                url: "https://docs.example.com/mcp".into(),
                headers: IndexMap::from([("X-Key".to_string(), "${KEY}".to_string())]),
            },
        ),
        ("fetch".into(), ServerKind::Disabled),
        (
            "script".into(),
            ServerKind::NotContainerizable("a local script".into()),
        ),
        ("time".into(), ServerKind::Stdio),
    ]
}

fn identity() -> Identity {
    Identity {
        profiles: vec!["/home/ada/dev.toml".into()],
        gateway_url: Some("http://127.0.0.1:41234".into()),
        token: Some("ab".repeat(32)),
    }
}

#[test]
fn stdio_entries_run_docker_connect_with_the_profile() {
    let out = desired(Client::Cursor, Via::Stdio, &servers(), &launch(), None);
    let time = &out.entries.iter().find(|(n, _)| n == "time").unwrap().1;
    assert_eq!(
        time,
        &json!({"command": "/usr/local/bin/mcpm", "args": ["docker", "connect", "time", "--profile", "/home/ada/dev.toml"]})
    );
    // VS Code wants the type on stdio entries too.
    let out = desired(Client::Vscode, Via::Stdio, &servers(), &launch(), None);
    let time = &out.entries.iter().find(|(n, _)| n == "time").unwrap().1;
    assert_eq!(time["type"], "stdio");
    // A non-default config dir travels with the entry.
    let with_dir = Launch {
        config_dir: Some("/cfg".into()),
        ..launch()
    };
    let entry = stdio_entry(Client::Cursor, "time", &with_dir);
    assert_eq!(entry["args"][5], "--config-dir");
    assert_eq!(entry["args"][6], "/cfg");
    // So do the engine flags `client add` was given.
    let with_context = Launch {
        engine_args: vec!["--context".into(), "dind".into()],
        ..launch()
    };
    let entry = stdio_entry(Client::Cursor, "time", &with_context);
    assert_eq!(
        entry["args"],
        json!([
            "docker",
            "connect",
            "time",
            "--profile",
            "/home/ada/dev.toml",
            "--context",
            "dind"
        ])
    );
}

#[test]
fn skipped_servers_say_why_and_remote_ones_are_written_as_themselves() {
    let out = desired(Client::ClaudeCode, Via::Stdio, &servers(), &launch(), None);
    let names: Vec<&str> = out.entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["docs", "time"]);
    assert_eq!(
        out.entries[0].1,
        json!({"type": "http", "url": "https://docs.example.com/mcp", "headers": {"X-Key": "${KEY}"}})
    );
    let skipped: Vec<(&str, &str)> = out
        .skipped
        .iter()
        .map(|s| (s.server.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("fetch", "disabled in the profile"),
            ("script", "not containerized: a local script")
        ]
    );
    // Claude Desktop's file cannot hold the remote one.
    let out = desired(
        Client::ClaudeDesktop,
        Via::Stdio,
        &servers(),
        &launch(),
        None,
    );
    assert_eq!(out.entries.len(), 1);
    assert!(
        out.skipped[0]
            .reason
            .contains("Claude Desktop takes remote servers only in its settings")
    );
    // Windsurf reads `serverUrl` and no type.
    let out = desired(Client::Windsurf, Via::Stdio, &servers(), &launch(), None);
    assert_eq!(
        out.entries[0].1,
        json!({"serverUrl": "https://docs.example.com/mcp", "headers": {"X-Key": "${KEY}"}})
    );
}

#[test]
fn http_entries_point_at_the_gateway_with_the_token() {
    let out = desired(
        Client::Vscode,
        Via::Http,
        &servers(),
        &launch(),
        Some(&gateway()),
    );
    let time = &out.entries.iter().find(|(n, _)| n == "time").unwrap().1;
    assert_eq!(
        time,
        &json!({"type": "http", "url": "http://127.0.0.1:41234/servers/time/mcp",
                "headers": {"Authorization": format!("Bearer {}", "ab".repeat(32))}})
    );
    let out = desired(
        Client::Cursor,
        Via::Http,
        &servers(),
        &launch(),
        Some(&gateway()),
    );
    let time = &out.entries.iter().find(|(n, _)| n == "time").unwrap().1;
    assert!(time.get("type").is_none());
    // Without a gateway nothing is pointed nowhere.
    let out = desired(Client::Cursor, Via::Http, &servers(), &launch(), None);
    assert!(out.entries.iter().all(|(n, _)| n != "time"));
}

#[test]
fn owners_are_told_by_content() {
    let id = identity();
    let ours = stdio_entry(Client::Cursor, "time", &launch());
    assert_eq!(
        owner(Client::Cursor, "time", &ours, &id),
        Owner::This { via: Via::Stdio }
    );
    // Under another key it is not this server's entry.
    assert!(matches!(
        owner(Client::Cursor, "clock", &ours, &id),
        Owner::OtherProfile { .. }
    ));
    // Another profile's.
    let other = json!({"command": "mcpm", "args": ["docker", "connect", "time", "--profile=/p/other.toml"]});
    assert_eq!(
        owner(Client::Cursor, "time", &other, &id),
        Owner::OtherProfile {
            via: Via::Stdio,
            profile: Some("/p/other.toml".into())
        }
    );
    // The user's.
    for entry in [
        json!({"command": "uvx", "args": ["mcp-server-time"]}),
        json!({"command": "docker", "args": ["run", "-i", "mcp/time"]}),
        json!({"url": "https://example.com/mcp"}),
        json!("not an object"),
        json!({"args": ["docker", "connect", "time"]}),
    ] {
        assert_eq!(
            owner(Client::Cursor, "time", &entry, &id),
            Owner::User,
            "{entry}"
        );
    }
    // HTTP: this gateway's URL, under the client's URL key.
    let http = http_entry(
        Client::Windsurf,
        "http://127.0.0.1:41234/servers/time/mcp",
        &IndexMap::new(),
    );
    assert_eq!(
        owner(Client::Windsurf, "time", &http, &id),
        Owner::This { via: Via::Http }
    );
    // Another gateway's, known by the token.
    let bearer = format!("Bearer {}", "ab".repeat(32));
    let elsewhere = json!({"url": "http://127.0.0.1:5000/servers/time/mcp", "headers": {"Authorization": bearer}});
    assert_eq!(
        owner(Client::Cursor, "time", &elsewhere, &id),
        Owner::OtherProfile {
            via: Via::Http,
            profile: None
        }
    );
    // The same URL shape without the token is someone else's.
    let foreign = json!({"url": "http://127.0.0.1:5000/servers/time/mcp"});
    assert_eq!(owner(Client::Cursor, "time", &foreign, &id), Owner::User);
    assert!(!is_gateway_server_url("http://127.0.0.1:5000/servers//mcp"));
    assert!(!is_gateway_server_url("http://127.0.0.1:x/servers/a/mcp"));
    assert!(!is_gateway_server_url(
        "http://localhost:5000/servers/a/mcp"
    ));
}
