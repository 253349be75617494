use serde_json::json;

use super::*;
use crate::clients::entries::{Identity, Launch, stdio_entry};

fn identity() -> Identity {
    Identity {
        profiles: vec!["/p/dev.toml".into()],
        ..Identity::default()
    }
}

fn ours(server: &str, program: &str) -> Value {
    let launch = Launch {
        program: program.into(),
        profile: "/p/dev.toml".into(),
        config_dir: None,
        engine_args: Vec::new(),
    };
    stdio_entry(Client::Cursor, server, &launch)
}

fn actions(plan: &Plan) -> Vec<(&str, Action)> {
    plan.results
        .iter()
        .map(|r| (r.server.as_str(), r.action))
        .collect()
}

#[test]
fn add_sets_free_names_updates_its_own_and_leaves_equal_ones() {
    let existing = vec![
        ("mine".to_string(), json!({"command": "uvx"})),
        ("time".to_string(), ours("time", "/old/mcpm")),
        ("fetch".to_string(), ours("fetch", "/bin/mcpm")),
    ];
    let desired = vec![
        ("fetch".to_string(), ours("fetch", "/bin/mcpm")),
        ("time".to_string(), ours("time", "/bin/mcpm")),
        ("new".to_string(), ours("new", "/bin/mcpm")),
    ];
    let plan = plan_add(
        Client::Cursor,
        &existing,
        &desired,
        &identity(),
        false,
        true,
    );
    assert_eq!(
        actions(&plan),
        [
            ("fetch", Action::Unchanged),
            ("time", Action::Updated),
            ("new", Action::Added)
        ]
    );
    assert_eq!(
        plan.changes,
        [
            Change::Set("time".into(), ours("time", "/bin/mcpm")),
            Change::Set("new".into(), ours("new", "/bin/mcpm")),
        ]
    );
    assert!(plan.conflicts.is_empty());
    // Again with the result: nothing to do.
    let again = plan_add(Client::Cursor, &desired, &desired, &identity(), false, true);
    assert!(again.changes.is_empty());
}

#[test]
fn add_refuses_names_it_does_not_own_unless_forced() {
    let existing = vec![
        (
            "time".to_string(),
            json!({"command": "uvx", "args": ["mcp-server-time"]}),
        ),
        (
            "fetch".to_string(),
            json!({"command": "mcpm", "args": ["docker", "connect", "fetch", "--profile", "/p/other.toml"]}),
        ),
    ];
    let desired = vec![
        ("time".to_string(), ours("time", "/bin/mcpm")),
        ("fetch".to_string(), ours("fetch", "/bin/mcpm")),
        ("new".to_string(), ours("new", "/bin/mcpm")),
    ];
    let plan = plan_add(
        Client::Cursor,
        &existing,
        &desired,
        &identity(),
        false,
        true,
    );
    let held: Vec<(&str, &str)> = plan
        .conflicts
        .iter()
        .map(|c| (c.server.as_str(), c.held_by.as_str()))
        .collect();
    assert_eq!(
        held,
        [
            ("time", "an entry mcpm did not write"),
            ("fetch", "mcpm's entry for another profile (/p/other.toml)")
        ]
    );
    let forced = plan_add(Client::Cursor, &existing, &desired, &identity(), true, true);
    assert!(forced.conflicts.is_empty());
    assert_eq!(
        actions(&forced),
        [
            ("time", Action::Replaced),
            ("fetch", Action::Replaced),
            ("new", Action::Added)
        ]
    );
}

#[test]
fn add_prunes_its_stale_entries_only_when_asked() {
    let existing = vec![
        ("gone".to_string(), ours("gone", "/bin/mcpm")),
        ("mine".to_string(), json!({"command": "uvx"})),
    ];
    let desired = vec![("time".to_string(), ours("time", "/bin/mcpm"))];
    let plan = plan_add(
        Client::Cursor,
        &existing,
        &desired,
        &identity(),
        false,
        true,
    );
    assert_eq!(
        actions(&plan),
        [("time", Action::Added), ("gone", Action::Removed)]
    );
    let plan = plan_add(
        Client::Cursor,
        &existing,
        &desired,
        &identity(),
        false,
        false,
    );
    assert_eq!(actions(&plan), [("time", Action::Added)]);
}

#[test]
fn remove_takes_only_its_own_and_exact_remote_entries() {
    let remote = json!({"url": "https://docs.example.com/mcp"});
    let existing = vec![
        ("time".to_string(), ours("time", "/bin/mcpm")),
        ("mine".to_string(), json!({"command": "uvx"})),
        ("docs".to_string(), remote.clone()),
        (
            "other".to_string(),
            json!({"command": "mcpm", "args": ["docker", "connect", "other", "--profile", "/p/other.toml"]}),
        ),
    ];
    let remotes = vec![("docs".to_string(), remote)];
    let plan = plan_remove(Client::Cursor, &existing, &remotes, &identity(), &[]);
    assert_eq!(
        actions(&plan),
        [("time", Action::Removed), ("docs", Action::Removed)]
    );
    assert!(plan.conflicts.is_empty());
    // Named: only those; a named entry that is not mcpm's is refused.
    let only = ["time".to_string(), "mine".to_string()];
    let plan = plan_remove(Client::Cursor, &existing, &remotes, &identity(), &only);
    assert_eq!(actions(&plan), [("time", Action::Removed)]);
    assert_eq!(plan.conflicts.len(), 1);
    assert_eq!(plan.conflicts[0].server, "mine");
}
