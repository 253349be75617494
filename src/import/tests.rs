//! Whole imports, input text to verified TOML, for each format: the
//! configs here look like what users really have.
use std::path::Path;

use super::*;
use crate::profile::is_server_name;

const CLAUDE_DESKTOP: &str = r#"{
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop", "/Users/me/Downloads"]
    },
    "GitHub": {
      "command": "docker",
      "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
      "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_live_literal_token_123"}
    },
    "fetch": {"command": "uvx", "args": ["mcp-server-fetch"]},
    "My Notes @home": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-memory"],
      "env": {"MEMORY_FILE_PATH": "${HOME}/notes.json", "PRICE": "5$"}
    },
    "time": {"command": "uvx", "args": ["mcp-server-time"], "disabled": true}
  },
  "globalShortcut": "Ctrl+Space"
}"#;

const CURSOR: &str = r#"{
  "mcpServers": {
    "context7": {"url": "https://mcp.context7.com/mcp", "headers": {"CONTEXT7_API_KEY": "${env:CONTEXT7_API_KEY}"}},
    "postgres": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-postgres", "postgresql://app:s3cret@localhost/app"],
      "envFile": "${workspaceFolder}/.env"
    }
  }
}"#;

const VSCODE: &str = r#"{
  // VS Code's mcp.json is JSONC
  "inputs": [{"type": "promptString", "id": "perplexity-key", "description": "Perplexity API Key", "password": true}],
  "servers": {
    "perplexity": {
      "type": "stdio",
      "command": "npx",
      "args": ["-y", "server-perplexity-ask"],
      "env": {"PERPLEXITY_API_KEY": "${input:perplexity-key}"},
    },
    "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/"},
    "legacy": {"type": "sse", "url": "http://localhost:3001/sse"},
  },
}"#;

fn client(path: &str, text: &str) -> Import {
    from_client_config(Path::new(path), text, &ImportOptions::default()).unwrap()
}

fn server<'a>(import: &'a Import, name: &str) -> &'a ServerSpec {
    &import.profile.servers[name]
}

#[test]
fn claude_desktop_config() {
    let import = client(
        "/home/me/.config/Claude/claude_desktop_config.json",
        CLAUDE_DESKTOP,
    );
    assert_eq!(import.profile.name, "claude_desktop_config");
    let names: Vec<&str> = import.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["filesystem", "github", "fetch", "my-notes-home", "time"]
    );
    assert_eq!(import.renamed.len(), 2);
    assert_eq!(import.renamed[0].from, "GitHub");
    assert_eq!(import.renamed[1].to, "my-notes-home");
    assert_eq!(server(&import, "time").enabled, Some(false));
    assert_eq!(server(&import, "github").args[0], "run");
    let notes = &server(&import, "my-notes-home").env;
    assert_eq!(
        notes["MEMORY_FILE_PATH"],
        EnvValue::Text("${HOME}/notes.json".into())
    );
    assert_eq!(
        notes["PRICE"],
        EnvValue::Text("5$$".into()),
        "a literal $ stays literal"
    );
    assert_eq!(
        import.literal_secrets,
        ["servers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN"]
    );
    assert!(
        import
            .warnings
            .iter()
            .any(|w| w.contains("1 literal secret(s)"))
    );
    // Top-level client settings (`globalShortcut`) are not servers: no warning.
    assert!(!import.warnings.iter().any(|w| w.contains("globalShortcut")));
    let toml = &import.toml;
    assert!(toml.starts_with("# Imported by `mcpm profile import` from the Claude Desktop config (mcpServers) in\n# /home/me/.config/Claude/claude_desktop_config.json.\n"), "{toml}");
    assert!(
        toml.contains("\n# named \"GitHub\" in the source\n[servers.github]\n"),
        "{toml}"
    );
    assert!(
        toml.contains("[servers.time]\nenabled = false\ncommand = \"uvx\""),
        "{toml}"
    );
    assert!(
        toml.contains("env = { GITHUB_PERSONAL_ACCESS_TOKEN = \"ghp_live_literal_token_123\" }"),
        "{toml}"
    );
    assert!(
        !toml.contains("[servers]\n"),
        "no bare [servers] table: {toml}"
    );
}

#[test]
fn claude_desktop_output_is_stable() {
    let import = client("claude_desktop_config.json", CLAUDE_DESKTOP);
    let expected = r#"# Imported by `mcpm profile import` from the Claude Desktop config (mcpServers) in
# claude_desktop_config.json.
# Review it, then run: mcpm docker generate <this file>
name = "claude_desktop_config"
description = "Imported from Claude Desktop config claude_desktop_config.json"

[servers.filesystem]
command = "npx"
args = [
  "-y",
  "@modelcontextprotocol/server-filesystem",
  "/Users/me/Desktop",
  "/Users/me/Downloads",
]

# named "GitHub" in the source
[servers.github]
command = "docker"
args = [
  "run",
  "-i",
  "--rm",
  "-e",
  "GITHUB_PERSONAL_ACCESS_TOKEN",
  "ghcr.io/github/github-mcp-server",
]
env = { GITHUB_PERSONAL_ACCESS_TOKEN = "ghp_live_literal_token_123" }

[servers.fetch]
command = "uvx"
args = ["mcp-server-fetch"]

# named "My Notes @home" in the source
[servers.my-notes-home]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-memory"]
env = { MEMORY_FILE_PATH = "${HOME}/notes.json", PRICE = "5$$" }

[servers.time]
enabled = false
command = "uvx"
args = ["mcp-server-time"]
"#;
    assert_eq!(import.toml, expected);
    assert_eq!(
        client("claude_desktop_config.json", CLAUDE_DESKTOP).toml,
        expected
    );
}

#[test]
fn cursor_config_with_a_url_entry() {
    let import = client("/work/app/.cursor/mcp.json", CURSOR);
    assert_eq!(import.profile.name, "cursor");
    let context7 = server(&import, "context7");
    assert_eq!(
        context7.url.as_deref(),
        Some("https://mcp.context7.com/mcp")
    );
    assert_eq!(context7.headers["CONTEXT7_API_KEY"], "${CONTEXT7_API_KEY}");
    assert!(context7.command.is_none());
    let warnings = import.warnings.join("\n");
    assert!(
        warnings.contains("server `postgres`: `envFile` was dropped"),
        "{warnings}"
    );
    // The password in the connection string is a literal secret.
    assert_eq!(import.literal_secrets, ["servers.postgres.args[2]"]);
    assert!(import.toml.contains("the Cursor config (mcpServers)"));
}

#[test]
fn vscode_servers_with_type() {
    let import = client("/p/.vscode/mcp.json", VSCODE);
    assert_eq!(import.profile.name, "vscode");
    let perplexity = server(&import, "perplexity");
    assert_eq!(
        perplexity.env["PERPLEXITY_API_KEY"],
        EnvValue::Text("${PERPLEXITY_KEY}".into())
    );
    assert!(
        import
            .warnings
            .iter()
            .any(|w| w.contains("export PERPLEXITY_KEY"))
    );
    assert_eq!(
        server(&import, "github").url.as_deref(),
        Some("https://api.githubcopilot.com/mcp/")
    );
    let legacy = import.servers.iter().find(|s| s.name == "legacy").unwrap();
    assert_eq!(legacy.transport.as_deref(), Some("sse"));
    assert!(
        import
            .toml
            .contains("# remote transport: sse (the profile does not record it)\n[servers.legacy]")
    );
    assert!(import.literal_secrets.is_empty());
}

#[test]
fn mcpm_servers_json_by_tag() {
    let servers = r#"{
      "Brave Search": {"name": "Brave Search", "profile_tags": ["research"], "command": "npx",
        "args": ["-y", "@modelcontextprotocol/server-brave-search"], "env": {"BRAVE_API_KEY": "${BRAVE_API_KEY}"}},
      "fetch": {"name": "fetch", "profile_tags": ["research", "web"], "command": "uvx", "args": ["mcp-server-fetch"], "env": {}},
      "docs": {"name": "docs", "profile_tags": ["research"], "url": "https://docs.example.com/mcp", "headers": {}},
      "memory": {"name": "memory", "profile_tags": ["personal"], "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"], "env": {}}
    }"#;
    let metadata =
        r#"{"research": {"name": "research", "api_key": null, "description": "Reading the web"}}"#;
    let import = from_mcpm(
        Path::new("/home/me/.config/mcpm/servers.json"),
        servers,
        "research",
        Some(metadata),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(import.profile.name, "research");
    assert_eq!(
        import.profile.description.as_deref(),
        Some("Reading the web")
    );
    let names: Vec<&str> = import.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["brave-search", "fetch", "docs"]);
    assert!(import.toml.contains(
        "from the MCPM profile tag `research` in\n# /home/me/.config/mcpm/servers.json."
    ));
    let named = from_mcpm(
        Path::new("servers.json"),
        servers,
        "web",
        Some("not json"),
        &ImportOptions {
            name: Some("web-tools".into()),
            ..ImportOptions::default()
        },
    )
    .unwrap();
    assert_eq!(named.profile.name, "web-tools");
    assert_eq!(
        named.profile.description.as_deref(),
        Some("Imported from MCPM profile \"web\"")
    );
    assert!(named.warnings[0].contains("profiles_metadata.json could not be read"));
}

#[test]
fn every_imported_name_is_valid_and_the_toml_loads() {
    for (path, text) in [
        ("claude_desktop_config.json", CLAUDE_DESKTOP),
        (".cursor/mcp.json", CURSOR),
        (".vscode/mcp.json", VSCODE),
    ] {
        let import = client(path, text);
        for name in import.profile.servers.keys() {
            assert!(is_server_name(name), "{name}");
        }
        let loaded = load_profile_text(Path::new(path), import.toml.clone()).unwrap();
        assert_eq!(loaded.profile.servers.len(), import.servers.len());
    }
}

#[test]
fn awkward_strings_survive_the_round_trip() {
    let text = r#"{"mcpServers": {"Tricky \"one\"\nline": {
        "command": "C:\\Program Files\\node\\npx.cmd",
        "args": ["--query=it's \"quoted\"", "tab\there", "multi\nline", "unicode ü ☃", "'single'"],
        "env": {"weird.key-name": "v", "QUOTE\"KEY": "x"}
    }}}"#;
    let import = client("c.json", text);
    let spec = &import.servers[0].spec;
    assert_eq!(import.servers[0].name, "tricky-one-line");
    assert_eq!(spec.args[2], "multi\nline");
    // verify() inside the import compared the reloaded profile already; the
    // comment naming the original server must not have broken the file.
    assert!(
        import
            .toml
            .contains("# named \"Tricky \"one\"?line\" in the source")
    );
}

#[test]
fn malformed_json_points_at_the_spot() {
    let text = "{\n  \"mcpServers\": {\n    \"fetch\": {\"command\": \"uvx\",}\n    \"time\": {}\n  }\n}\n";
    let err =
        from_client_config(Path::new("bad.json"), text, &ImportOptions::default()).unwrap_err();
    assert_eq!(err.status, crate::error::ExitStatus::Invalid);
    let location = err.location.as_ref().unwrap();
    assert_eq!((location.line, location.column), (4, 5));
    assert!(err.render().contains("--> bad.json:4:5"));
    assert!(err.hint.is_some());
}

#[test]
fn nothing_to_import_is_an_error() {
    let empty = from_client_config(
        Path::new("c.json"),
        r#"{"mcpServers": {}}"#,
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(
        empty.message.contains("holds no servers"),
        "{}",
        empty.message
    );
    let skipped = from_client_config(
        Path::new("c.json"),
        r#"{"mcpServers": {"a": {"url": "ws://x"}, "b": {}}}"#,
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(
        skipped.message.contains("none of the 2 servers"),
        "{}",
        skipped.message
    );
    assert!(
        skipped.message.contains("`b`: it has neither"),
        "{}",
        skipped.message
    );
}

#[test]
fn an_invalid_name_option_is_refused() {
    let err = from_client_config(
        Path::new("c.json"),
        CLAUDE_DESKTOP,
        &ImportOptions {
            name: Some("My Profile".into()),
            ..ImportOptions::default()
        },
    )
    .unwrap_err();
    assert!(err.message.contains("invalid profile name `My Profile`"));
    assert!(err.hint.unwrap().contains("`my-profile`"));
}

#[test]
fn values_generate_will_reject_are_warned_about() {
    let text = r#"{"mcpServers": {"op": {"command": "npx", "args": ["x"], "env": {"TOKEN": "${1PASSWORD_TOKEN}"}}}}"#;
    let import = client("c.json", text);
    assert!(
        import
            .warnings
            .iter()
            .any(|w| w.contains("server `op`: `env.TOKEN`") && w.contains("starts with a digit")),
        "{:?}",
        import.warnings
    );
}

#[test]
fn the_report_lists_what_happened() {
    let import = client("claude_desktop_config.json", CLAUDE_DESKTOP);
    let report = serde_json::to_value(import.report(None)).unwrap();
    assert!(report["toml"].as_str().unwrap().starts_with("# Imported"));
    let written = serde_json::to_value(import.report(Some(Path::new("p.toml")))).unwrap();
    assert_eq!(written["profile_file"], "p.toml");
    assert!(written.get("toml").is_none());
    assert_eq!(report["profile"], "claude_desktop_config");
    assert_eq!(report["source"]["kind"], "client_config");
    assert_eq!(report["source"]["client"], "Claude Desktop");
    assert_eq!(report["servers"][1]["from"], "GitHub");
    assert_eq!(report["servers"][4]["enabled"], false);
    assert_eq!(report["servers"][0]["kind"], "stdio");
    assert_eq!(report["renamed"][0]["to"], "github");
    assert_eq!(report["skipped"].as_array().unwrap().len(), 0);
}

#[test]
fn verify_catches_a_profile_that_does_not_match() {
    let import = client("claude_desktop_config.json", CLAUDE_DESKTOP);
    let mut other = import.profile.clone();
    other.servers.remove("fetch");
    let err = verify(&import.toml, &other).unwrap_err();
    assert_eq!(err.status, crate::error::ExitStatus::Runtime);
    assert!(err.message.starts_with("internal error"));
    let err = verify("name = \"Bad Name\"\n", &other).unwrap_err();
    assert!(err.message.contains("does not load"));
}
