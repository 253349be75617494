//! The manual conflict prompt, answered in a real pseudo-terminal.
#![cfg(unix)]
mod common;

use std::fs;
use std::process::Command;

use rexpect::session::spawn_command;

const PROFILE: &str = "name = \"team\"\n[docker]\ncompose_file = \"compose.yaml\"\nconflict_resolution = \"manual\"\n\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\", \"--local-timezone=UTC\"]\n";

const UP: &str = "\x1b[A";
const DOWN: &str = "\x1b[B";

/// A synced pair of files whose `time` server then changed on both sides.
fn conflicted() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("team.toml"), PROFILE).unwrap();
    let status = common::mcpm(dir.path())
        .args(["docker", "sync", "team.toml", "-q"])
        .current_dir(dir.path())
        .output()
        .unwrap()
        .status;
    assert!(status.success());
    let profile = PROFILE.replace("--local-timezone=UTC", "--local-timezone=Asia/Tokyo");
    fs::write(dir.path().join("team.toml"), profile).unwrap();
    let compose = fs::read_to_string(dir.path().join("compose.yaml"))
        .unwrap()
        .replace("    image: mcp/time\n", "    image: mcp/time:pinned\n");
    fs::write(dir.path().join("compose.yaml"), compose).unwrap();
    dir
}

/// Runs sync on a terminal, answers the prompt with `keys`, returns the
/// output and the exit code.
fn answer(dir: &tempfile::TempDir, keys: &str) -> (String, Option<i32>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcpm"));
    command
        .args(["docker", "sync", "team.toml"])
        .current_dir(dir.path())
        .env("MCPM_CONFIG_DIR", dir.path())
        .env("TERM", "xterm")
        .env_remove("CI");
    let mut session = spawn_command(command, Some(20_000)).expect("spawn in a pty");
    session
        .exp_string("conflict in `time`")
        .expect("the conflict is shown");
    session
        .exp_string("image")
        .expect("the field-level difference is shown");
    session.exp_string("which side wins?").expect("the prompt");
    session
        .exp_string("> skip")
        .expect("the menu, skip highlighted by default");
    // The menu reads keys in raw mode; give it a moment to switch, and send
    // one key at a time as a person would.
    for key in keys
        .split_inclusive('A')
        .flat_map(|part| part.split_inclusive('B'))
        .chain(["\r"])
    {
        std::thread::sleep(std::time::Duration::from_millis(150));
        session.send(key).unwrap();
        session.flush().unwrap();
    }
    let output = session.exp_eof().expect("sync finishes");
    // `WaitStatus::Exited(pid, code)`, read without depending on nix.
    let status = format!("{:?}", session.process().wait().expect("the exit status"));
    let code = status
        .strip_prefix("Exited(")
        .and_then(|rest| rest.rsplit(", ").next())
        .and_then(|code| code.trim_end_matches(')').parse().ok());
    (output, code)
}

#[test]
fn keep_profile_at_the_prompt() {
    let dir = conflicted();
    let (_, code) = answer(&dir, &format!("{UP}{UP}{UP}"));
    assert_eq!(code, Some(0));
    let compose = fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    assert!(compose.contains("--local-timezone=Asia/Tokyo"));
    assert!(
        compose.contains("image: mcp/time\n"),
        "the profile's image again: {compose}"
    );
}

#[test]
fn keep_docker_at_the_prompt() {
    let dir = conflicted();
    answer(&dir, &format!("{UP}{UP}"));
    let profile = fs::read_to_string(dir.path().join("team.toml")).unwrap();
    assert!(profile.contains("mcp/time:pinned"), "{profile}");
    assert!(
        profile.contains("--local-timezone=UTC"),
        "the file's command wins too: {profile}"
    );
}

#[test]
fn skip_at_the_prompt_leaves_both_files() {
    let dir = conflicted();
    let profile = fs::read_to_string(dir.path().join("team.toml")).unwrap();
    let compose = fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    let (output, code) = answer(&dir, &format!("{UP}{DOWN}"));
    assert_eq!(code, Some(3), "a skipped conflict is unresolved: {output}");
    assert!(
        output.contains("skipped at the prompt stay unsynced: time"),
        "{output}"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("team.toml")).unwrap(),
        profile
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("compose.yaml")).unwrap(),
        compose
    );
}

#[test]
fn merge_at_the_prompt_takes_each_sides_change() {
    let dir = conflicted();
    let (output, code) = answer(&dir, UP);
    assert_eq!(code, Some(0), "{output}");
    let compose = fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    assert!(
        compose.contains("--local-timezone=Asia/Tokyo"),
        "the profile's command: {compose}"
    );
    assert!(
        compose.contains("image: mcp/time:pinned"),
        "the file's image: {compose}"
    );
    let profile = fs::read_to_string(dir.path().join("team.toml")).unwrap();
    assert!(profile.contains("mcp/time:pinned"), "{profile}");
    // The pty hands the arrows back byte by byte; the words are enough.
    assert!(
        output.contains(" profile (image); profile ") && output.contains(" compose (command)"),
        "each field with its way: {output}"
    );
}

#[test]
fn a_field_both_sides_changed_is_asked_after_a_merge() {
    let dir = conflicted();
    // The file changes the command too: the merge leaves it to a question.
    let compose = fs::read_to_string(dir.path().join("compose.yaml"))
        .unwrap()
        .replace("--local-timezone=UTC", "--local-timezone=America/Lima");
    fs::write(dir.path().join("compose.yaml"), compose).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcpm"));
    command
        .args(["docker", "sync", "team.toml"])
        .current_dir(dir.path())
        .env("MCPM_CONFIG_DIR", dir.path())
        .env("TERM", "xterm")
        .env_remove("CI");
    let mut session = spawn_command(command, Some(20_000)).expect("spawn in a pty");
    session
        .exp_string("which side wins?")
        .expect("the server prompt");
    session.exp_string("> skip").expect("the menu");
    for key in [UP, "\r"] {
        std::thread::sleep(std::time::Duration::from_millis(150));
        session.send(key).unwrap();
        session.flush().unwrap();
    }
    session
        .exp_string("field `command` changed on both sides")
        .expect("the field is asked");
    session.exp_string("> skip").expect("the field menu");
    // Keep the profile's command.
    for key in [UP, UP, "\r"] {
        std::thread::sleep(std::time::Duration::from_millis(150));
        session.send(key).unwrap();
        session.flush().unwrap();
    }
    session.exp_eof().expect("sync finishes");
    let compose = fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    assert!(compose.contains("--local-timezone=Asia/Tokyo"), "{compose}");
    assert!(compose.contains("image: mcp/time:pinned"), "{compose}");
}
