//! `mcpm::sync::run` called as a library, as `profile add --sync-docker`, the
//! gateway and the MCP server call it: no terminal, options instead of flags.
use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use mcpm::config::ConfigDir;
use mcpm::sync::{Action, Direction, Mode, Outcome, SyncOptions, Unattended, run};
use serde_yaml_ng::Value;

const PROFILE: &str = r#"name = "team"

[docker]
compose_file = "compose.yaml"

[servers.fetch]
command = "uvx"
args = ["mcp-server-fetch"]

[servers.time]
command = "uvx" # the clock
args = ["mcp-server-time", "--local-timezone=UTC"]
"#;

struct Dir {
    dir: tempfile::TempDir,
    config: ConfigDir,
}

impl Dir {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("team.toml"), PROFILE).unwrap();
        let config = ConfigDir::resolve(Some(dir.path().join("config")));
        Self { dir, config }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap()
    }

    fn edit(&self, name: &str, from: &str, to: &str) {
        let text = self.read(name);
        assert!(text.contains(from), "{name} lacks {from:?}:\n{text}");
        fs::write(self.path(name), text.replacen(from, to, 1)).unwrap();
    }

    fn options(&self) -> SyncOptions {
        SyncOptions::new(self.path("team.toml"))
    }

    fn sync(&self, options: &SyncOptions) -> mcpm::sync::SyncReport {
        run(&self.config, options, &mut Unattended::default()).unwrap()
    }

    fn compose(&self) -> Value {
        serde_yaml_ng::from_str(&self.read("compose.yaml")).unwrap()
    }
}

fn only(names: &[&str]) -> Option<BTreeSet<String>> {
    Some(names.iter().map(|n| n.to_string()).collect())
}

fn base_entry(compose: &Value, server: &str) -> Value {
    compose["x-mcpm"]["base"][server].clone()
}

fn service_command(compose: &Value, server: &str) -> Value {
    compose["services"][server]["command"].clone()
}

#[test]
fn a_sync_of_some_servers_leaves_the_others_exactly_as_they_are() {
    let dir = Dir::new();
    let first = dir.sync(&dir.options());
    assert_eq!(first.outcome, Outcome::Changed);
    assert!(first.written);
    let before = dir.compose();
    // Both servers change in the profile; only `time` is synced.
    dir.edit(
        "team.toml",
        "--local-timezone=UTC",
        "--local-timezone=Asia/Tokyo",
    );
    dir.edit(
        "team.toml",
        "args = [\"mcp-server-fetch\"]",
        "args = [\"mcp-server-fetch\", \"--ignore-robots-txt\"]",
    );
    let options = SyncOptions {
        only: only(&["time"]),
        direction: Direction::ToDocker,
        ..dir.options()
    };
    let report = dir.sync(&options);
    assert_eq!(report.outcome, Outcome::Changed);
    let names: Vec<&str> = report.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["time"], "the report covers the servers asked for");
    assert_eq!(report.servers[0].action, Action::ToCompose);
    let after = dir.compose();
    assert!(
        dir.read("compose.yaml")
            .contains("--local-timezone=Asia/Tokyo"),
        "time was synced"
    );
    assert_eq!(
        service_command(&after, "fetch"),
        service_command(&before, "fetch"),
        "fetch's service is untouched"
    );
    assert_eq!(
        base_entry(&after, "fetch"),
        base_entry(&before, "fetch"),
        "fetch's base entry is kept, so its profile change is still seen"
    );
    assert_ne!(base_entry(&after, "time"), base_entry(&before, "time"));
    // A whole sync then finds fetch's change, and only that.
    let check = dir.sync(&SyncOptions {
        mode: Mode::Check,
        ..dir.options()
    });
    assert!(check.drift);
    let changed: Vec<&str> = check
        .servers
        .iter()
        .filter(|s| s.changes_anything())
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(changed, ["fetch"]);
}

#[test]
fn a_sync_of_a_new_server_adds_it_and_leaves_a_compose_edit_alone() {
    let dir = Dir::new();
    dir.sync(&dir.options());
    // A compose-side edit of fetch, and a new server in the profile.
    dir.edit(
        "compose.yaml",
        "    image: mcp/fetch\n",
        "    image: mcp/fetch:pinned # by Bob\n",
    );
    let profile_before = dir.read("team.toml");
    fs::write(
        dir.path("team.toml"),
        format!("{profile_before}\n[servers.memory]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-memory\"]\n"),
    )
    .unwrap();
    let profile_with_memory = dir.read("team.toml");
    let report = dir.sync(&SyncOptions {
        only: only(&["memory"]),
        direction: Direction::ToDocker,
        ..dir.options()
    });
    assert_eq!(report.outcome, Outcome::Changed);
    assert_eq!(
        dir.read("team.toml"),
        profile_with_memory,
        "the profile is not written"
    );
    let compose = dir.read("compose.yaml");
    assert!(compose.contains("  memory:"), "{compose}");
    assert!(
        compose.contains("image: mcp/fetch:pinned # by Bob"),
        "fetch's edit stays as written"
    );
    // The edit is still there for the next whole sync to bring over.
    let check = dir.sync(&SyncOptions {
        mode: Mode::Check,
        ..dir.options()
    });
    let fetch = check.servers.iter().find(|s| s.name == "fetch").unwrap();
    assert!(matches!(fetch.action, Action::ToProfile { .. }));
}

#[test]
fn an_unknown_server_in_only_changes_nothing() {
    let dir = Dir::new();
    dir.sync(&dir.options());
    let before = (dir.read("team.toml"), dir.read("compose.yaml"));
    dir.edit(
        "team.toml",
        "--local-timezone=UTC",
        "--local-timezone=Asia/Tokyo",
    );
    let edited = dir.read("team.toml");
    let report = dir.sync(&SyncOptions {
        only: only(&["nonexistent"]),
        ..dir.options()
    });
    assert!(report.servers.is_empty());
    assert_eq!(report.outcome, Outcome::InSync);
    assert_eq!(dir.read("team.toml"), edited);
    assert_eq!(dir.read("compose.yaml"), before.1);
}

#[test]
fn conflicts_without_a_terminal_write_nothing() {
    let dir = Dir::new();
    dir.sync(&dir.options());
    dir.edit(
        "team.toml",
        "args = [\"mcp-server-fetch\"]",
        "args = [\"mcp-server-fetch\", \"--ignore-robots-txt\"]",
    );
    dir.edit(
        "compose.yaml",
        "    image: mcp/fetch\n",
        "    image: mcp/fetch:pinned\n",
    );
    let before = (dir.read("team.toml"), dir.read("compose.yaml"));
    let report = dir.sync(&dir.options());
    assert_eq!(report.outcome, Outcome::Conflicts);
    assert!(!report.written);
    assert_eq!((dir.read("team.toml"), dir.read("compose.yaml")), before);
    assert_eq!(report.exit_status(), mcpm::error::ExitStatus::Conflict);
}

#[test]
fn a_sync_of_some_servers_imports_and_disables_nothing_else() {
    let dir = Dir::new();
    dir.sync(&dir.options());
    let base_before = dir.compose()["x-mcpm"].clone();
    // A hand-added service, fetch deleted by hand, and time changed in the
    // profile: only time is synced.
    let compose = dir.read("compose.yaml");
    let start = compose.find("  fetch:\n").unwrap();
    let end = start + 2 + compose[start + 2..].find("\n  time:\n").unwrap();
    let edited = format!("{}{}", &compose[..start], &compose[end + 1..]).replacen(
        "services:\n",
        "services:\n  rédis-ü:\n    image: redis:7 # the app's own\n",
        1,
    );
    fs::write(dir.path("compose.yaml"), &edited).unwrap();
    dir.edit(
        "team.toml",
        "--local-timezone=UTC",
        "--local-timezone=Asia/Tokyo",
    );
    let profile = dir.read("team.toml");
    let report = dir.sync(&SyncOptions {
        only: only(&["time"]),
        ..dir.options()
    });
    assert_eq!(report.outcome, Outcome::Changed);
    assert_eq!(
        dir.read("team.toml"),
        profile,
        "nothing imported, nothing disabled"
    );
    let after = dir.read("compose.yaml");
    assert!(
        after.contains("  rédis-ü:\n    image: redis:7 # the app's own\n"),
        "{after}"
    );
    assert_eq!(
        dir.compose()["services"]["fetch"],
        Value::Null,
        "fetch stays deleted"
    );
    assert!(after.contains("--local-timezone=Asia/Tokyo"));
    assert_eq!(
        dir.compose()["x-mcpm"]["base"]["fetch"],
        base_before["base"]["fetch"],
        "fetch's base entry is kept: its deletion is still seen"
    );
}
