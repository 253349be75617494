//! The profile's gateway fields (`sharing`, `idle_timeout`, SPEC §6b) through
//! the real binary: how they reach the compose file, how sync brings them
//! back, and the errors for bad values.
mod common;

use std::fs;

use common::mcpm;
use predicates::prelude::*;
use serde_yaml_ng::Value;

const PROFILE: &str = r#"name = "team"

[docker]
compose_file = "compose.yaml"

[servers.time]
command = "uvx"
args = ["mcp-server-time"]
strategy = "on-demand"
sharing = "session"
idle_timeout = "1h30m"

[servers.fetch]
command = "uvx"
args = ["mcp-server-fetch"]
"#;

#[test]
fn generate_writes_labels_only_for_values_that_are_not_the_default() {
    let dir = tempfile::tempdir().unwrap();
    // In the config dir's profiles/, so the header's sync command names it
    // by name (a profile elsewhere is named by its path).
    fs::create_dir_all(dir.path().join("profiles")).unwrap();
    let profile = common::write_profile(&dir.path().join("profiles"), "team.toml", PROFILE);
    let output = mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    insta::assert_snapshot!("gateway_fields_generate", text);
    let compose: Value = serde_yaml_ng::from_str(&text).unwrap();
    let time = &compose["services"]["time"]["labels"];
    assert_eq!(time["io.mcpm.sharing"], Value::from("session"));
    assert_eq!(time["io.mcpm.idle-timeout"], Value::from("1h30m"));
    let fetch = compose["services"]["fetch"]["labels"].as_mapping().unwrap();
    assert!(
        fetch
            .keys()
            .all(|k| !k.as_str().unwrap().starts_with("io.mcpm.sharing")
                && !k.as_str().unwrap().starts_with("io.mcpm.idle")),
        "defaults write no label: {fetch:?}"
    );

    // Spelling the defaults out changes nothing in the compose file.
    let explicit = PROFILE.replace(
        "args = [\"mcp-server-fetch\"]\n",
        "args = [\"mcp-server-fetch\"]\nsharing = \"shared\"\nidle_timeout = \"10m\"\n",
    );
    let profile = common::write_profile(dir.path(), "explicit.toml", &explicit);
    let again = mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .output()
        .unwrap();
    assert!(again.status.success());
    let again: Value = serde_yaml_ng::from_slice(&again.stdout).unwrap();
    assert_eq!(
        again["services"]["fetch"]["labels"]["io.mcpm.sharing"],
        Value::Null
    );
    assert_eq!(
        again["services"]["fetch"]["labels"]["io.mcpm.idle-timeout"],
        Value::Null
    );
}

#[test]
fn sync_brings_label_edits_back_into_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let profile = common::write_profile(dir.path(), "team.toml", PROFILE);
    let sync = || {
        mcpm(dir.path())
            .args(["docker", "sync"])
            .arg(&profile)
            .assert()
    };
    sync().success();
    let compose_path = dir.path().join("compose.yaml");
    let text = fs::read_to_string(&compose_path).unwrap();
    // Edit the file the way a person would: fetch becomes a session server
    // with a short timeout, time goes back to the defaults.
    let edited = text
        .replacen(
            "      io.mcpm.sharing: session\n",
            "",
            1,
        )
        .replacen("      io.mcpm.idle-timeout: \"1h30m\"\n", "", 1)
        .replacen(
            "      io.mcpm.server: fetch\n",
            "      io.mcpm.server: fetch\n      io.mcpm.sharing: session\n      io.mcpm.idle-timeout: 90s\n",
            1,
        );
    assert_ne!(edited, text, "the edits applied");
    fs::write(&compose_path, &edited).unwrap();
    sync().success();
    let written = fs::read_to_string(&profile).unwrap();
    let parsed: toml::Table = written.parse().unwrap();
    let fetch = &parsed["servers"]["fetch"];
    assert_eq!(
        fetch.get("sharing").and_then(|v| v.as_str()),
        Some("session")
    );
    assert_eq!(
        fetch.get("idle_timeout").and_then(|v| v.as_str()),
        Some("90s")
    );
    let time = &parsed["servers"]["time"];
    assert!(time.get("sharing").is_none(), "{written}");
    assert!(time.get("idle_timeout").is_none(), "{written}");
    // And the round trip is stable: the next sync writes nothing, and the
    // file is what generate makes of the updated profile.
    let before = (
        fs::read_to_string(&profile).unwrap(),
        fs::read_to_string(&compose_path).unwrap(),
    );
    sync().success().stderr(predicate::str::contains("in sync"));
    let after = (
        fs::read_to_string(&profile).unwrap(),
        fs::read_to_string(&compose_path).unwrap(),
    );
    assert_eq!(before, after);
    mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .arg("--check")
        .assert()
        .success();

    // And the other way: the profile's edit reaches the labels.
    let text = fs::read_to_string(&profile).unwrap();
    fs::write(
        &profile,
        text.replacen("idle_timeout = \"90s\"", "idle_timeout = \"2m\"", 1),
    )
    .unwrap();
    sync().success();
    let compose: Value =
        serde_yaml_ng::from_str(&fs::read_to_string(&compose_path).unwrap()).unwrap();
    assert_eq!(
        compose["services"]["fetch"]["labels"]["io.mcpm.idle-timeout"],
        Value::from("2m")
    );
    assert_eq!(
        compose["services"]["fetch"]["labels"]["io.mcpm.sharing"],
        Value::from("session")
    );
}

#[test]
fn a_bad_label_value_in_the_compose_file_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let profile = common::write_profile(dir.path(), "team.toml", PROFILE);
    mcpm(dir.path())
        .args(["docker", "sync"])
        .arg(&profile)
        .assert()
        .success();
    let compose_path = dir.path().join("compose.yaml");
    let text = fs::read_to_string(&compose_path).unwrap();
    fs::write(
        &compose_path,
        text.replacen("io.mcpm.sharing: session", "io.mcpm.sharing: sometimes", 1),
    )
    .unwrap();
    let before = fs::read_to_string(&profile).unwrap();
    mcpm(dir.path())
        .args(["docker", "sync"])
        .arg(&profile)
        .args(["--strategy", "docker_wins", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("io.mcpm.sharing"))
        .stderr(predicate::str::contains("sometimes"));
    assert_eq!(fs::read_to_string(&profile).unwrap(), before);
}

/// Runs `generate` on a profile and returns its stderr, asserting exit 2.
fn refused(profile_text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let profile = common::write_profile(dir.path(), "bad.toml", profile_text);
    let output = mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn bad_values_are_errors_at_their_place_in_the_file() {
    let stderr = refused("name = \"x\"\n\n[servers.time]\ncommand = \"uvx\"\nsharing = \"x\"\n");
    assert!(stderr.contains("bad.toml:5:"), "{stderr}");
    assert!(
        stderr.contains("`shared`") && stderr.contains("`session`"),
        "{stderr}"
    );

    let stderr = refused(
        "name = \"x\"\n\n[servers.time]\ncommand = \"uvx\"\nidle_timeout = \"ten minutes\"\n",
    );
    assert!(stderr.contains("bad.toml:5:16"), "{stderr}");
    assert!(stderr.contains("ten minutes"), "{stderr}");
    assert!(
        stderr.contains("1h30m"),
        "the hint shows the syntax: {stderr}"
    );

    for bad in ["\"-5\"", "\"nan\"", "\"10 parsecs\"", "\"\""] {
        let stderr = refused(&format!(
            "name = \"x\"\n\n[servers.time]\ncommand = \"uvx\"\nidle_timeout = {bad}\n"
        ));
        assert!(stderr.contains("idle_timeout"), "{bad}: {stderr}");
    }

    for key in ["idle_timeout = \"5m\"", "sharing = \"session\""] {
        let stderr = refused(&format!(
            "name = \"x\"\n\n[servers.remote]\nurl = \"https://example.com/mcp\"\n{key}\n"
        ));
        let field = key.split(' ').next().unwrap();
        assert!(stderr.contains("bad.toml:5:1"), "{stderr}");
        assert!(
            stderr.contains(&format!("remote server `remote` cannot have `{field}`")),
            "{stderr}"
        );
    }
}
