//! `mcpm client add|remove|list` through the real binary, against client
//! config files in a private home (HOME and friends point into a temp dir;
//! the real home is never read or written).
mod common;

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};

const PROFILE: &str = r#"name = "dev"

[servers.time]
command = "uvx"
args = ["mcp-server-time"]

[servers.fetch]
command = "uvx"
args = ["mcp-server-fetch"]

[servers.docs]
url = "https://docs.example.com/mcp"
headers = { Authorization = "Bearer ${DOCS_TOKEN}" }

[servers.old]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-memory"]
enabled = false
"#;

/// A private home, config dir and project dir with the `dev` profile.
struct Setup {
    _dir: tempfile::TempDir,
    home: PathBuf,
    config: PathBuf,
    project: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (home, config, project) = (root.join("home"), root.join("cfg"), root.join("app"));
        fs::create_dir_all(config.join("profiles")).unwrap();
        fs::create_dir_all(&home).unwrap();
        fs::create_dir_all(&project).unwrap();
        fs::write(config.join("profiles/dev.toml"), PROFILE).unwrap();
        Self {
            _dir: dir,
            home,
            config,
            project,
        }
    }

    fn mcpm(&self) -> Command {
        let mut command = common::mcpm(&self.config);
        command
            .env("HOME", &self.home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("APPDATA")
            .env_remove("LOCALAPPDATA")
            .current_dir(&self.project);
        command
    }

    fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.mcpm().args(args).assert()
    }

    fn desktop(&self) -> PathBuf {
        self.home.join(".config/Claude/claude_desktop_config.json")
    }

    fn vscode(&self) -> PathBuf {
        self.home.join(".config/Code/User/mcp.json")
    }

    fn profile_path(&self) -> String {
        self.config.join("profiles/dev.toml").display().to_string()
    }

    fn port_file(&self, port: u16) {
        let dir = self.config.join("gateway/mcp-dev");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("port"), format!("{port}\n")).unwrap();
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn add_creates_a_missing_file_with_one_entry_per_enabled_server() {
    let s = Setup::new();
    s.run(&["client", "add", "claude-desktop", "--profile", "dev"])
        .success()
        .stderr(predicate::str::contains(
            "skipped `old`: disabled in the profile",
        ))
        .stderr(predicate::str::contains("skipped `docs`: remote server"))
        .stderr(predicate::str::contains("added fetch, time"))
        .stderr(predicate::str::contains(
            "did not exist (created it): is Claude Desktop installed",
        ));
    let config = read_json(&s.desktop());
    let exe = common::root().join("target/debug/mcpm");
    let servers = config["mcpServers"].as_object().unwrap();
    assert_eq!(servers.keys().collect::<Vec<_>>(), ["fetch", "time"]);
    let time = &servers["time"];
    assert_eq!(
        time["args"],
        json!([
            "docker",
            "connect",
            "time",
            "--profile",
            s.profile_path(),
            "--config-dir",
            s.config.display().to_string()
        ])
    );
    assert_eq!(
        fs::canonicalize(time["command"].as_str().unwrap()).unwrap(),
        fs::canonicalize(exe).unwrap()
    );
    #[cfg(unix)]
    assert_eq!(mode(&s.desktop()), 0o644);
    assert!(!s.desktop().with_extension("json.bak").exists());
}

#[test]
fn jsonc_files_keep_comments_and_trailing_commas_byte_for_byte() {
    let s = Setup::new();
    let before = "{\n    // my own servers\n    \"servers\": {\n        \"mine\": {\"command\": \"node\", \"args\": [\"x.js\",],}, /* keep */\n    },\n    \"inputs\": [\n        {\"id\": \"key\", \"type\": \"promptString\",},\n    ],\n}\n";
    let file = s.project.join(".vscode/mcp.json");
    write(&file, before);
    s.run(&[
        "client",
        "add",
        "vscode",
        "--profile",
        "dev",
        "--scope",
        "project",
    ])
    .success();
    let after = fs::read_to_string(&file).unwrap();
    // Everything before the new entries and after them is the old text.
    let insert_at = before.find("    },\n    \"inputs\"").unwrap();
    assert!(after.starts_with(&before[..insert_at]), "{after}");
    assert!(after.ends_with(&before[insert_at..]), "{after}");
    // The new entries follow the file's style: 4 spaces, trailing commas.
    assert!(
        after.contains("        \"time\": {\n            \"type\": \"stdio\",\n"),
        "{after}"
    );
    assert!(
        after.contains("\"--config-dir\", \"") && after.contains("\"],\n        },\n"),
        "{after}"
    );
    assert_eq!(
        fs::read_to_string(s.project.join(".vscode/mcp.json.bak")).unwrap(),
        before
    );
    // Removing them gives back the file as it was.
    s.run(&[
        "client",
        "remove",
        "vscode",
        "--profile",
        "dev",
        "--scope",
        "project",
    ])
    .success()
    .stderr(predicate::str::contains("removed docs, fetch, time"));
    assert_eq!(fs::read_to_string(&file).unwrap(), before);
}

#[test]
fn claude_code_touches_only_its_entries_in_claude_json() {
    let s = Setup::new();
    let before = r#"{
  "numStartups": 12,
  "autoUpdates": false,
  "projects": {
    "/src/app": {
      "allowedTools": [],
      "mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}},
      "history": [{"display": "fix the bug", "pastedContents": {}}]
    }
  },
  "mcpServers": {
    "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/"}
  },
  "userID": "abc"
}
"#;
    let file = s.home.join(".claude.json");
    write(&file, before);
    s.run(&["client", "add", "claude-code", "--profile", "dev"])
        .success();
    let after = fs::read_to_string(&file).unwrap();
    let (head, _) = before
        .split_once("  \"mcpServers\": {\n    \"github\"")
        .unwrap();
    assert!(after.starts_with(head), "{after}");
    assert!(
        after.ends_with("  },\n  \"userID\": \"abc\"\n}\n"),
        "{after}"
    );
    let old = read_json(&file.with_extension("json.bak"));
    let new = read_json(&file);
    for key in ["numStartups", "autoUpdates", "projects", "userID"] {
        assert_eq!(old[key], new[key], "{key}");
    }
    let servers = new["mcpServers"].as_object().unwrap();
    assert_eq!(servers["github"], old["mcpServers"]["github"]);
    assert_eq!(
        servers["docs"],
        json!({"type": "http", "url": "https://docs.example.com/mcp", "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"}})
    );
    // CLAUDE_CONFIG_DIR moves the file.
    let moved = s.home.join("claude-dir");
    s.mcpm()
        .env("CLAUDE_CONFIG_DIR", &moved)
        .args(["client", "add", "claude-code", "--profile", "dev"])
        .assert()
        .success();
    assert!(read_json(&moved.join(".claude.json"))["mcpServers"]["time"].is_object());
}

#[test]
fn adding_again_changes_nothing_and_does_not_rewrite_the_file() {
    use std::os::unix::fs::MetadataExt;
    let s = Setup::new();
    let file = s.home.join(".cursor/mcp.json");
    s.run(&["client", "add", "cursor", "--profile", "dev"])
        .success();
    let first = fs::metadata(&file).unwrap();
    let bytes = fs::read(&file).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    s.run(&["client", "add", "cursor", "--profile", "dev"])
        .success()
        .stderr(predicate::str::contains(
            "unchanged docs, fetch, time (unchanged)",
        ));
    let second = fs::metadata(&file).unwrap();
    assert_eq!(
        (first.ino(), first.mtime_nsec(), first.mtime()),
        (second.ino(), second.mtime_nsec(), second.mtime())
    );
    assert_eq!(fs::read(&file).unwrap(), bytes);
    assert!(!s.home.join(".cursor/mcp.json.bak").exists());
    // A dry run of an unchanged file prints no diff.
    s.run(&["client", "add", "cursor", "--profile", "dev", "--dry-run"])
        .success()
        .stdout("");
}

#[test]
fn remove_leaves_entries_mcpm_did_not_write() {
    let s = Setup::new();
    let file = s.home.join(".codeium/windsurf/mcp_config.json");
    write(
        &file,
        r#"{"mcpServers": {"mine": {"command": "uvx", "args": ["x"]}, "other": {"command": "/bin/mcpm", "args": ["docker", "connect", "other", "--profile", "/elsewhere/p.toml"]}}}"#,
    );
    s.run(&["client", "add", "windsurf", "--profile", "dev"])
        .success();
    let added = read_json(&file);
    assert_eq!(
        added["mcpServers"]["docs"]["serverUrl"],
        "https://docs.example.com/mcp"
    );
    s.run(&["client", "remove", "windsurf", "--profile", "dev"])
        .success();
    let left = read_json(&file);
    assert_eq!(
        left["mcpServers"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["mine", "other"]
    );
    // Naming an entry mcpm did not write is refused and changes nothing.
    let bytes = fs::read(&file).unwrap();
    s.run(&[
        "client",
        "remove",
        "windsurf",
        "--profile",
        "dev",
        "--server",
        "mine",
    ])
    .code(2)
    .stderr(predicate::str::contains(
        "`mine` (an entry mcpm did not write)",
    ));
    assert_eq!(fs::read(&file).unwrap(), bytes);
}

#[test]
fn a_users_entry_of_the_same_name_is_a_conflict_unless_forced() {
    let s = Setup::new();
    let before = "{\n  \"mcpServers\": {\n    \"time\": {\"command\": \"uvx\", \"args\": [\"mcp-server-time\"]}\n  }\n}\n";
    write(&s.desktop(), before);
    s.run(&["client", "add", "claude-desktop", "--profile", "dev"])
        .code(2)
        .stderr(predicate::str::contains("nothing was written"))
        .stderr(predicate::str::contains(
            "`time` (an entry mcpm did not write)",
        ))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(fs::read_to_string(s.desktop()).unwrap(), before);
    let report = s
        .mcpm()
        .args([
            "client",
            "add",
            "claude-desktop",
            "--profile",
            "dev",
            "--json",
        ])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let report: Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(report["conflicts"][0]["server"], "time");
    assert_eq!(report["written"], false);
    // --force replaces it (the old file is kept).
    s.run(&[
        "client",
        "add",
        "claude-desktop",
        "--profile",
        "dev",
        "--force",
    ])
    .success()
    .stderr(predicate::str::contains("replaced (--force) time"));
    assert_eq!(
        read_json(&s.desktop())["mcpServers"]["time"]["args"][1],
        "connect"
    );
    assert_eq!(
        fs::read_to_string(s.desktop().with_extension("json.bak")).unwrap(),
        before
    );
    // Named servers only: the rest is not touched.
    write(&s.desktop(), before);
    s.run(&[
        "client",
        "add",
        "claude-desktop",
        "--profile",
        "dev",
        "--server",
        "fetch",
    ])
    .success();
    let config = read_json(&s.desktop());
    assert_eq!(config["mcpServers"]["time"]["command"], "uvx");
    assert!(config["mcpServers"]["fetch"].is_object());
}

#[test]
fn an_unparsable_file_is_never_overwritten() {
    let s = Setup::new();
    let broken = "{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\"},,\n  }\n}\n";
    write(&s.desktop(), broken);
    s.run(&["client", "add", "claude-desktop", "--profile", "dev"])
        .code(2)
        .stderr(predicate::str::contains("is not valid JSON"))
        .stderr(predicate::str::contains("claude_desktop_config.json:3:"))
        .stderr(predicate::str::contains("never overwrites"));
    assert_eq!(fs::read_to_string(s.desktop()).unwrap(), broken);
    assert!(!s.desktop().with_extension("json.bak").exists());
    // `list` reports it and exits 2, the other clients still listed.
    s.run(&["client", "list"])
        .code(2)
        .stdout(predicate::str::contains("error:"))
        .stdout(predicate::str::contains("windsurf"));
}

#[cfg(unix)]
#[test]
fn a_symlinked_config_is_written_through() {
    let s = Setup::new();
    let target = s.home.join("dotfiles/cursor-mcp.json");
    write(&target, "{\"mcpServers\": {}}\n");
    fs::create_dir_all(s.home.join(".cursor")).unwrap();
    let link = s.home.join(".cursor/mcp.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    s.run(&["client", "add", "cursor", "--profile", "dev"])
        .success();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(read_json(&target)["mcpServers"]["time"].is_object());
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let s = Setup::new();
    s.port_file(45678);
    s.run(&[
        "client",
        "add",
        "vscode",
        "--profile",
        "dev",
        "--via",
        "http",
        "--dry-run",
    ])
    .success()
    .stdout(predicate::str::contains("+++ "))
    .stdout(predicate::str::contains("+    \"time\": {"))
    .stdout(predicate::str::contains(
        "http://127.0.0.1:45678/servers/time/mcp",
    ))
    .stdout(predicate::str::contains("\"Authorization\": \"****\""));
    assert!(!s.vscode().exists());
    assert!(
        !s.config.join("gateway/token").exists(),
        "a dry run made a token"
    );
    let file = s.home.join(".cursor/mcp.json");
    write(&file, "{}");
    s.run(&[
        "client",
        "add",
        "cursor",
        "--profile",
        "dev",
        "--dry-run",
        "--json",
    ])
    .success()
    .stdout(predicate::str::contains("\"dry_run\": true"));
    assert_eq!(fs::read_to_string(&file).unwrap(), "{}");
}

#[test]
fn http_entries_need_the_gateway_and_carry_its_token() {
    let s = Setup::new();
    s.run(&[
        "client",
        "add",
        "vscode",
        "--profile",
        "dev",
        "--via",
        "http",
    ])
    .code(1)
    .stderr(predicate::str::contains(
        "start the gateway first: mcpm docker gateway --profile dev --detach",
    ));
    assert!(!s.vscode().exists());
    s.port_file(45678);
    let out = s
        .mcpm()
        .args([
            "client",
            "add",
            "vscode",
            "--profile",
            "dev",
            "--via",
            "http",
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let token = fs::read_to_string(s.config.join("gateway/token")).unwrap();
    let token = token.trim();
    assert_eq!(token.len(), 64);
    assert!(
        !String::from_utf8_lossy(&out).contains(token),
        "token in --json output"
    );
    let time = &read_json(&s.vscode())["servers"]["time"];
    assert_eq!(
        time,
        &json!({"type": "http", "url": "http://127.0.0.1:45678/servers/time/mcp",
                "headers": {"Authorization": format!("Bearer {token}")}})
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&s.vscode()), 0o600, "a file holding the token");
        assert_eq!(mode(&s.config.join("gateway/token")), 0o600);
    }
    // Switching back to stdio replaces mcpm's HTTP entries.
    s.run(&["client", "add", "vscode", "--profile", "dev"])
        .success()
        .stderr(predicate::str::contains("updated fetch, time"));
    // Claude Desktop cannot take them.
    s.run(&[
        "client",
        "add",
        "claude-desktop",
        "--profile",
        "dev",
        "--via",
        "http",
    ])
    .code(2)
    .stderr(predicate::str::contains(
        "Claude Desktop cannot take HTTP entries",
    ))
    .stderr(predicate::str::contains("--via stdio"));
}

#[test]
fn bad_input_is_exit_2_with_a_hint() {
    let s = Setup::new();
    s.run(&[
        "client",
        "add",
        "windsurf",
        "--profile",
        "dev",
        "--scope",
        "project",
    ])
    .code(2)
    .stderr(predicate::str::contains(
        "Windsurf has no project config file",
    ));
    s.run(&[
        "client",
        "add",
        "cursor",
        "--profile",
        "dev",
        "--server",
        "nope",
    ])
    .code(2)
    .stderr(predicate::str::contains("no server named `nope`"))
    .stderr(predicate::str::contains("docs, fetch, old, time"));
    s.run(&["client", "add", "cursor", "--profile", "nope"])
        .code(2)
        .stderr(predicate::str::contains("no profile named `nope`"));
    s.run(&["client", "add", "emacs", "--profile", "dev"])
        .code(2);
    // A config whose servers key is not an object.
    write(&s.home.join(".cursor/mcp.json"), "{\"mcpServers\": []}");
    s.run(&["client", "add", "cursor", "--profile", "dev"])
        .code(2)
        .stderr(predicate::str::contains("not an object of servers"));
}

#[test]
fn list_shows_files_servers_and_owners() {
    let s = Setup::new();
    write(
        &s.home.join(".cursor/mcp.json"),
        r#"{"mcpServers": {"mine": {"command": "uvx", "args": ["x"]}}}"#,
    );
    s.run(&[
        "client",
        "add",
        "cursor",
        "--profile",
        "dev",
        "--server",
        "time",
    ])
    .success();
    let out = s
        .mcpm()
        .args(["client", "list", "--json", "--profile", "dev"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: Value = serde_json::from_slice(&out).unwrap();
    let clients = report["clients"].as_array().unwrap();
    let names: Vec<&str> = clients
        .iter()
        .map(|c| c["client"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "claude-desktop",
            "claude-code",
            "cursor",
            "vscode",
            "windsurf"
        ]
    );
    let cursor = &clients[2];
    assert_eq!(cursor["exists"], true);
    assert_eq!(
        cursor["entries"],
        json!([
            {"name": "mine", "mcpm": false, "this_profile": false},
            {"name": "time", "mcpm": true, "this_profile": true, "via": "stdio"}
        ])
    );
    assert_eq!(cursor["missing"], json!(["docs", "fetch"]));
    assert_eq!(clients[0]["exists"], false);
    // Without a profile mcpm's entries name theirs.
    s.run(&["client", "list", "cursor"])
        .success()
        .stdout(predicate::str::contains("mine"))
        .stdout(predicate::str::contains(format!(
            "yes, {} (stdio)",
            s.profile_path()
        )));
    // Project scope lists only clients with a project file.
    let out = s
        .mcpm()
        .args(["client", "list", "--scope", "project", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: Value = serde_json::from_slice(&out).unwrap();
    let names: Vec<&str> = report["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["claude-code", "cursor", "vscode"]);
}

/// The written stdio entry launches this mcpm with arguments it parses:
/// `docker connect --help` when this build has `connect`, else the
/// documented shape and a profile that loads.
#[test]
fn the_written_stdio_entry_is_runnable() {
    let s = Setup::new();
    s.run(&["client", "add", "cursor", "--profile", "dev"])
        .success();
    let entry = read_json(&s.home.join(".cursor/mcp.json"))["mcpServers"]["time"].clone();
    let command = PathBuf::from(entry["command"].as_str().unwrap());
    assert!(command.is_absolute());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(&command).unwrap();
        assert!(meta.is_file() && meta.permissions().mode() & 0o111 != 0);
    }
    let args: Vec<String> = entry["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(&args[..4], ["docker", "connect", "time", "--profile"]);
    let docker_help = std::process::Command::new(&command)
        .args(["docker", "--help"])
        .output()
        .unwrap();
    let has_connect = String::from_utf8_lossy(&docker_help.stdout).contains("\n  connect ");
    if has_connect {
        let status = std::process::Command::new(&command)
            .args(&args)
            .arg("--help")
            .env_clear()
            .status()
            .unwrap();
        assert!(status.success(), "{command:?} {args:?} --help");
    } else {
        eprintln!("note: this build has no `docker connect` yet; checked the entry's shape only");
        assert_eq!(args.len(), 7);
        assert_eq!(args[5], "--config-dir");
        // The profile it names loads with the same binary, from any directory.
        std::process::Command::new(&command)
            .args(["docker", "generate", &args[4], "--config-dir", &args[6]])
            .current_dir("/")
            .env_clear()
            .output()
            .map(|out| {
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .unwrap();
    }
}

/// Several profiles added to one file at once: every entry arrives (the
/// edits are serialized by a lock in mcpm's config dir, none beside the file).
#[test]
fn concurrent_adds_to_one_file_lose_nothing() {
    let s = Setup::new();
    let count = 8;
    for i in 0..count {
        let profile = format!(
            "name = \"p{i}\"\n\n[servers.s{i}]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n"
        );
        fs::write(s.config.join(format!("profiles/p{i}.toml")), profile).unwrap();
    }
    let children: Vec<std::process::Child> = (0..count)
        .map(|i| {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mcpm"));
            command
                .args(["client", "add", "cursor", "--profile", &format!("p{i}")])
                .env("MCPM_CONFIG_DIR", &s.config)
                .env("HOME", &s.home)
                .env_remove("CI")
                .current_dir(&s.project)
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let file = s.home.join(".cursor/mcp.json");
    let servers = read_json(&file)["mcpServers"].as_object().unwrap().clone();
    assert_eq!(servers.len(), count, "{servers:?}");
    let beside: Vec<_> = fs::read_dir(s.home.join(".cursor"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        beside
            .iter()
            .all(|name| name == "mcp.json" || name == "mcp.json.bak"),
        "{beside:?}"
    );
}
