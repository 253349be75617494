//! `mcpm profile import` through the real binary: client configs and MCPM's
//! server list in, profiles out, and the round trip into `docker generate`.
mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{compose_validator, mcpm};
use predicates::prelude::*;

/// A Claude Desktop config as people have them: npx, uvx and docker entries,
/// a literal token, a name with capitals and a space, a disabled server.
const CLAUDE_DESKTOP: &str = r#"{
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/projects"]
    },
    "GitHub": {
      "command": "docker",
      "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
      "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_0123456789abcdef"}
    },
    "fetch": {"command": "uvx", "args": ["mcp-server-fetch"]},
    "Brave Search": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-brave-search"],
      "env": {"BRAVE_API_KEY": "${BRAVE_API_KEY}"}
    },
    "time": {"command": "uvx", "args": ["mcp-server-time", "--local-timezone=Europe/Paris"], "disabled": true}
  }
}
"#;

/// MCPM 2.x's servers.json (`json.dump(indent=2)` of its pydantic models).
const MCPM_SERVERS: &str = r#"{
  "fetch": {
    "name": "fetch",
    "profile_tags": ["work", "web"],
    "command": "uvx",
    "args": ["mcp-server-fetch"],
    "env": {}
  },
  "memory": {
    "name": "memory",
    "profile_tags": ["personal"],
    "command": "npx",
    "args": ["-y", "@modelcontextprotocol/server-memory"],
    "env": {}
  },
  "docs": {
    "name": "docs",
    "profile_tags": ["work"],
    "url": "https://docs.example.com/mcp",
    "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"}
  }
}
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&path, text).unwrap();
    path
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn claude_config_round_trips_into_a_valid_compose_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "claude_desktop_config.json", CLAUDE_DESKTOP);
    let profile = dir.path().join("work.toml");
    let output = mcpm(dir.path())
        .args(["profile", "import"])
        .arg(&config)
        .args(["--name", "work", "-o"])
        .arg(&profile)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "with -o nothing goes to stdout");
    let err = stderr(&output);
    assert!(
        err.contains("server `GitHub` was renamed `github`"),
        "{err}"
    );
    assert!(
        err.contains("server `Brave Search` was renamed `brave-search`"),
        "{err}"
    );
    assert!(
        err.contains("imported 5 servers into profile `work` (2 renamed, 0 skipped)"),
        "{err}"
    );
    assert!(err.contains("next: mcpm docker generate"), "{err}");

    let text = fs::read_to_string(&profile).unwrap();
    let loaded = mcpm::profile::load_profile_text(&profile, text).expect("the profile loads");
    assert_eq!(loaded.profile.name, "work");
    assert_eq!(loaded.profile.servers["time"].enabled, Some(false));

    let generated = mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .output()
        .unwrap();
    assert!(generated.status.success(), "{}", stderr(&generated));
    let yaml: serde_json::Value = serde_yaml_ng::from_slice(&generated.stdout).expect("YAML");
    let services = yaml["services"].as_object().unwrap();
    let names: Vec<&str> = services.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["brave-search", "fetch", "filesystem", "github"],
        "time is disabled"
    );
    assert_eq!(
        services["github"]["image"],
        "ghcr.io/github/github-mcp-server"
    );
    assert_eq!(
        services["github"]["environment"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
        "${GITHUB_PERSONAL_ACCESS_TOKEN}",
        "the literal token never reaches the compose file"
    );
    common::secrets::SecretScan::new(dir.path(), &["ghp_0123456789abcdef"])
        .user_file(&config)
        .private_file(&profile)
        .output("profile import", &output)
        .output("generate", &generated)
        .assert_contained();
    if let Some(validator) = compose_validator() {
        let errors: Vec<String> = validator
            .iter_errors(&yaml)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }
}

#[test]
fn stdout_gets_the_toml_and_stderr_the_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "claude_desktop_config.json", CLAUDE_DESKTOP);
    let output = mcpm(dir.path())
        .args(["profile", "import"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let toml = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(toml.starts_with("# Imported by `mcpm profile import` from the Claude Desktop config"));
    assert!(toml.contains("name = \"claude_desktop_config\"\n"));
    assert!(toml.contains("[servers.brave-search]"));
    mcpm::profile::load_profile_text(Path::new("stdout.toml"), toml).expect("loads");
    assert!(stderr(&output).contains("1 literal secret(s)"));

    // -q keeps stderr quiet; the profile is the same.
    mcpm(dir.path())
        .args(["-q", "profile", "import"])
        .arg(&config)
        .assert()
        .success()
        .stderr("")
        .stdout(predicate::str::contains("[servers.github]"));
}

#[test]
fn an_existing_file_is_replaced_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "claude_desktop_config.json", CLAUDE_DESKTOP);
    let profile = write(dir.path(), "mine.toml", "name = \"mine\"\n");
    mcpm(dir.path())
        .args(["profile", "import"])
        .arg(&config)
        .arg("-o")
        .arg(&profile)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(fs::read_to_string(&profile).unwrap(), "name = \"mine\"\n");

    mcpm(dir.path())
        .args(["profile", "import"])
        .arg(&config)
        .arg("-o")
        .arg(&profile)
        .arg("--force")
        .assert()
        .success();
    assert!(
        fs::read_to_string(&profile)
            .unwrap()
            .contains("[servers.github]")
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("mine.toml.bak")).unwrap(),
        "name = \"mine\"\n"
    );
}

#[cfg(unix)]
#[test]
fn a_profile_with_literal_secrets_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "claude_desktop_config.json", CLAUDE_DESKTOP);
    let profile = dir.path().join("p.toml");
    mcpm(dir.path())
        .args(["profile", "import"])
        .arg(&config)
        .arg("-o")
        .arg(&profile)
        .assert()
        .success()
        .stderr(predicate::str::contains("mode 0600"));
    let mode = fs::metadata(&profile).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    common::secrets::SecretScan::new(dir.path(), &["ghp_0123456789abcdef"])
        .user_file(&config)
        .private_file(&profile)
        .assert_contained();
}

#[test]
fn malformed_json_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "claude_desktop_config.json",
        "{\n  \"mcpServers\": {\n    \"fetch\": {\"command\": \"uvx\" \"args\": []}\n  }\n}\n",
    );
    mcpm(dir.path())
        .args(["profile", "import"])
        .arg(&config)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "is not valid JSON: expected `,` or `}`",
        ))
        .stderr(predicate::str::contains("claude_desktop_config.json:3:32"))
        .stderr(predicate::str::contains("hint:"))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn input_mistakes_exit_2_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "claude_desktop_config.json", CLAUDE_DESKTOP);
    mcpm(dir.path())
        .args(["profile", "import", "no-such-file.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such file"));
    mcpm(dir.path())
        .args(["profile", "import"])
        .arg(&config)
        .args(["--name", "Work Stuff"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid profile name `Work Stuff`",
        ))
        .stderr(predicate::str::contains("`work-stuff`"));
    let settings = write(dir.path(), "settings.json", r#"{"editor.tabSize": 2}"#);
    mcpm(dir.path())
        .args(["profile", "import"])
        .arg(&settings)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no `mcpServers`"))
        .stderr(predicate::str::contains("hint:"));
    let servers = write(dir.path(), "servers.json", MCPM_SERVERS);
    mcpm(dir.path())
        .args(["profile", "import"])
        .arg(&servers)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--from-mcpm TAG --mcpm-config"));
    mcpm(dir.path())
        .args(["profile", "import"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("<FILE|--from-mcpm <TAG>>"));
}

#[test]
fn json_report_lists_imported_renamed_skipped_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "app/.cursor/mcp.json",
        r#"{"mcpServers": {
            "Context7": {"url": "https://mcp.context7.com/mcp", "headers": {"CONTEXT7_API_KEY": "${env:CONTEXT7_API_KEY}"}},
            "sqlite": {"command": "uvx", "args": ["mcp-server-sqlite", "--db-path", "/tmp/app.db"], "alwaysAllow": ["read_query"]},
            "broken": {"url": "ws://localhost:1234"}
        }}"#,
    );
    let output = mcpm(dir.path())
        .args(["profile", "import", "--json"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["profile"], "cursor");
    assert_eq!(report["source"]["client"], "Cursor");
    assert_eq!(report["servers"].as_array().unwrap().len(), 2);
    assert_eq!(report["servers"][0]["name"], "context7");
    assert_eq!(report["servers"][0]["kind"], "remote");
    assert_eq!(report["renamed"][0]["from"], "Context7");
    assert_eq!(report["skipped"][0]["name"], "broken");
    assert!(
        report["warnings"][0]
            .as_str()
            .unwrap()
            .contains("alwaysAllow")
    );
    let toml = report["toml"].as_str().unwrap();
    assert!(
        toml.contains("headers = { CONTEXT7_API_KEY = \"${CONTEXT7_API_KEY}\" }"),
        "{toml}"
    );

    let profile = dir.path().join("cursor.toml");
    let written = mcpm(dir.path())
        .args(["profile", "import", "--json", "-o"])
        .arg(&profile)
        .arg(&config)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&written.stdout).unwrap();
    assert_eq!(report["profile_file"], profile.display().to_string());
    assert!(report.get("toml").is_none());
    assert!(profile.is_file());
}

#[test]
fn vscode_jsonc_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let jsonc = r#"{
  // inputs are prompted for by VS Code
  "inputs": [{"type": "promptString", "id": "github_token", "password": true}],
  "servers": {
    "github": {
      "type": "stdio",
      "command": "docker",
      "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
      "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${input:github_token}"}, // trailing comma next
    },
  },
}"#;
    let output = mcpm(dir.path())
        .args(["profile", "import", "-"])
        .write_stdin(jsonc)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let toml = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(toml.contains("name = \"imported\""), "{toml}");
    assert!(
        toml.contains("GITHUB_PERSONAL_ACCESS_TOKEN = \"${GITHUB_TOKEN}\""),
        "{toml}"
    );
    assert!(stderr(&output).contains("export GITHUB_TOKEN"));
}

#[test]
fn mcpm_tag_from_an_explicit_file() {
    let dir = tempfile::tempdir().unwrap();
    let servers = write(dir.path(), "backup/servers.json", MCPM_SERVERS);
    write(
        dir.path(),
        "backup/profiles_metadata.json",
        r#"{"work": {"name": "work", "api_key": null, "description": "Servers for work"}}"#,
    );
    let output = mcpm(dir.path())
        .args(["profile", "import", "--from-mcpm", "work", "--mcpm-config"])
        .arg(&servers)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let toml = String::from_utf8(output.stdout.clone()).unwrap();
    let loaded = mcpm::profile::load_profile_text(Path::new("work.toml"), toml.clone()).unwrap();
    assert_eq!(loaded.profile.name, "work");
    assert_eq!(
        loaded.profile.description.as_deref(),
        Some("Servers for work")
    );
    let names: Vec<&String> = loaded.profile.servers.keys().collect();
    assert_eq!(names, ["docs", "fetch"]);
    assert!(toml.contains("headers = { Authorization = \"Bearer ${DOCS_TOKEN}\" }"));

    mcpm(dir.path())
        .args(["profile", "import", "--from-mcpm", "home", "--mcpm-config"])
        .arg(&servers)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no MCPM profile `home`"))
        .stderr(predicate::str::contains(
            "hint: profiles there: personal, web, work",
        ));
}

#[test]
fn mcpm_default_location_is_under_home() {
    let home = tempfile::tempdir().unwrap();
    let missing = mcpm(home.path())
        .env("HOME", home.path())
        .args(["profile", "import", "--from-mcpm", "work"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains(".config/mcpm/servers.json does not exist"));

    write(home.path(), ".config/mcpm/servers.json", MCPM_SERVERS);
    let profile = home.path().join("web.toml");
    mcpm(home.path())
        .env("HOME", home.path())
        .args(["profile", "import", "--from-mcpm", "web", "-o"])
        .arg(&profile)
        .assert()
        .success();
    let text = fs::read_to_string(&profile).unwrap();
    assert!(text.contains("name = \"web\""));
    assert!(text.contains("[servers.fetch]"));
    mcpm(home.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .assert()
        .success()
        .stdout(predicate::str::contains("image: mcp/fetch"));
}

#[test]
fn mcpm_version_1_profiles_are_read_when_servers_json_is_absent() {
    let home = tempfile::tempdir().unwrap();
    write(
        home.path(),
        ".config/mcpm/profiles.json",
        r#"{"work": [{"name": "time", "command": "uvx", "args": ["mcp-server-time"], "env": {}}]}"#,
    );
    mcpm(home.path())
        .env("HOME", home.path())
        .args(["profile", "import", "--from-mcpm", "work"])
        .assert()
        .success()
        .stdout(predicate::str::contains("[servers.time]"))
        .stderr(predicate::str::contains("reading MCPM 1.x profiles"));
}

#[test]
fn vscode_workspace_and_home_variables_become_paths() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let project = dir.path().join("my proj");
    fs::create_dir_all(&home).unwrap();
    let config = write(
        &project,
        ".vscode/mcp.json",
        r#"{
  "servers": {
    "sqlite": {"command": "uvx", "args": ["mcp-server-sqlite", "--db-path", "${workspaceFolder}/data/app.db"]},
    "memory": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-memory"],
      "env": {"MEMORY_FILE_PATH": "${userHome}/.mcp/memory.json", "TAG": "${workspaceFolderBasename}"}
    }
  }
}"#,
    );
    let profile = dir.path().join("work.toml");
    let output = mcpm(dir.path())
        .env("HOME", &home)
        .args(["profile", "import", "-o"])
        .arg(&profile)
        .arg(&config)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        !stderr(&output).contains("editor variable"),
        "{}",
        stderr(&output)
    );
    let loaded =
        mcpm::profile::load_profile_text(&profile, fs::read_to_string(&profile).unwrap()).unwrap();
    let servers = &loaded.profile.servers;
    let db = format!("{}/data/app.db", project.display());
    assert_eq!(
        servers["sqlite"].args,
        ["mcp-server-sqlite", "--db-path", &db]
    );
    let env = &servers["memory"].env;
    assert_eq!(
        env["MEMORY_FILE_PATH"].to_text(),
        format!("{}/.mcp/memory.json", home.display())
    );
    assert_eq!(env["TAG"].to_text(), "my proj");

    // Generated, the memory file's directory gets the state volume.
    let output = mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let yaml = String::from_utf8(output.stdout).unwrap();
    assert!(
        yaml.contains(&format!("memory-data:{}/.mcp", home.display())),
        "{yaml}"
    );
}

#[test]
fn outside_a_vscode_folder_the_workspace_is_where_the_import_ran() {
    let dir = tempfile::tempdir().unwrap();
    let run_in = dir.path().join("checkout");
    fs::create_dir_all(&run_in).unwrap();
    let config = write(
        dir.path(),
        "claude_desktop_config.json",
        r#"{"mcpServers": {"git": {"command": "uvx", "args": ["mcp-server-git", "--repository", "${workspaceFolder}"]}}}"#,
    );
    let output = mcpm(dir.path())
        .current_dir(&run_in)
        .args(["profile", "import"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let toml = String::from_utf8(output.stdout.clone()).unwrap();
    let here = run_in.canonicalize().unwrap();
    assert!(
        toml.contains(&format!("\"--repository\", \"{}\"", here.display())),
        "{toml}"
    );
    assert!(
        stderr(&output).contains("the directory the import ran in"),
        "{}",
        stderr(&output)
    );
}
