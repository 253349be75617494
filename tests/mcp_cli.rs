//! `mcpm mcp token create|ls|revoke` and the refusals of `mcpm mcp serve`
//! that need no engine: the token file (0600, hashed, never overwritten when
//! invalid), duplicate names, `--http` without tokens, an unknown project
//! file, a bad listen address.
use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use assert_cmd::Command;

fn mcpm(config: &std::path::Path, args: &[&str]) -> Output {
    Command::cargo_bin("mcpm")
        .unwrap()
        .env("MCPM_CONFIG_DIR", config)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn tokens_are_created_listed_and_revoked_by_name() {
    let config = tempfile::tempdir().unwrap();
    let dir = config.path();
    let out = mcpm(
        dir,
        &[
            "mcp", "token", "create", "--name", "ci", "--role", "operate",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let secret = text(&out.stdout).trim().to_string();
    assert!(
        secret.starts_with("mcpm_") && secret.len() == 69,
        "{secret}"
    );
    assert!(text(&out.stderr).contains("shown once"));

    let file = dir.join("mcp-tokens.toml");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(!stored.contains(&secret[5..]), "only the hash is stored");

    let again = mcpm(
        dir,
        &["mcp", "token", "create", "--name", "ci", "--role", "read"],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("--force"));
    let forced = mcpm(
        dir,
        &[
            "mcp", "token", "create", "--name", "ci", "--role", "read", "--force",
        ],
    );
    assert!(forced.status.success());
    assert_ne!(text(&forced.stdout).trim(), secret);

    let ls = mcpm(dir, &["mcp", "token", "ls", "--json"]);
    assert!(ls.status.success());
    let listed: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
    assert_eq!(listed[0]["name"], "ci");
    assert_eq!(listed[0]["role"], "read");
    assert!(!text(&ls.stdout).contains("mcpm_"));
    let table = mcpm(dir, &["mcp", "token", "ls"]);
    assert!(text(&table.stdout).contains("NAME"));

    let revoke = mcpm(dir, &["mcp", "token", "revoke", "ci"]);
    assert!(revoke.status.success());
    let missing = mcpm(dir, &["mcp", "token", "revoke", "ci"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("no token named `ci`"));

    let bad_role = mcpm(
        dir,
        &["mcp", "token", "create", "--name", "x", "--role", "root"],
    );
    assert_eq!(bad_role.status.code(), Some(2));
}

#[test]
fn an_invalid_token_file_is_reported_and_left_alone() {
    let config = tempfile::tempdir().unwrap();
    let file = config.path().join("mcp-tokens.toml");
    let broken = "[tokens.ci]\nrole = \"operate\"\ncreated = 1\nsha256 = \n";
    std::fs::write(&file, broken).unwrap();
    let out = mcpm(
        config.path(),
        &["mcp", "token", "create", "--name", "bot", "--role", "read"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("mcp-tokens.toml:4:"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), broken);
}

#[test]
fn serve_refuses_what_it_cannot_serve_safely() {
    let config = tempfile::tempdir().unwrap();
    let compose = config.path().join("compose.yaml");
    std::fs::write(
        &compose,
        "name: demo\nservices:\n  time:\n    image: busybox\n",
    )
    .unwrap();
    let compose = compose.display().to_string();

    for addr in ["127.0.0.1:0", "0.0.0.0:0"] {
        let out = mcpm(
            config.path(),
            &["mcp", "serve", "-f", &compose, "--http", addr],
        );
        assert_eq!(out.status.code(), Some(2), "{addr}");
        let err = text(&out.stderr);
        assert!(err.contains("mcpm mcp token create"), "{err}");
        if addr.starts_with("0.0.0.0") {
            assert!(err.contains("other hosts"), "{err}");
        }
    }

    let out = mcpm(
        config.path(),
        &["mcp", "serve", "-f", "/nonexistent/compose.yaml"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("/nonexistent/compose.yaml"));

    let out = mcpm(
        config.path(),
        &["mcp", "serve", "-f", &compose, "--http", "nowhere"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("ADDR:PORT"));

    let out = mcpm(config.path(), &["mcp", "serve", "--profile", "absent"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// A compose file that does not parse stops `serve` before it answers
/// anything (exit 2, at the file's line and column).
#[test]
fn a_compose_file_that_does_not_parse_is_named_at_its_place() {
    let config = tempfile::tempdir().unwrap();
    let compose = config.path().join("compose.yaml");
    std::fs::write(&compose, "services:\n  time: [\n").unwrap();
    let compose = compose.display().to_string();
    let out = mcpm(config.path(), &["mcp", "serve", "-f", &compose]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{compose}:3:1")), "{err}");
}

/// Without an engine (`DOCKER_HOST` at a socket that is not there) the
/// server keeps answering: `list_servers` says the engine is unreachable and
/// why, and a tool that needs the engine is an `isError` result naming it.
#[test]
fn without_an_engine_tools_say_so_and_the_server_goes_on() {
    use std::io::Write;
    use std::process::Stdio;
    let config = tempfile::tempdir().unwrap();
    let compose = config.path().join("compose.yaml");
    std::fs::write(
        &compose,
        "name: no-engine\nservices:\n  idle:\n    image: busybox\n",
    )
    .unwrap();
    let dead = format!("unix://{}/no.sock", config.path().display());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mcpm"))
        .env("MCPM_CONFIG_DIR", config.path())
        .env("DOCKER_HOST", &dead)
        .args(["mcp", "serve", "--role", "operate", "-f"])
        .arg(&compose)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for message in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_servers","arguments":{}}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"restart","arguments":{"servers":["idle"]}}}"#,
    ] {
        writeln!(stdin, "{message}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answers: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let answer = |id: u64| {
        answers
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("no answer to {id}: {answers:?}"))
    };
    let listed = &answer(2)["result"];
    assert_ne!(listed["isError"], true, "{listed}");
    let engine = &listed["structuredContent"]["projects"][0]["engine"];
    assert_eq!(engine["reachable"], false, "{listed}");
    assert!(
        engine["error"].as_str().unwrap_or("").contains(&dead),
        "{listed}"
    );
    let restarted = &answer(3)["result"];
    assert_eq!(restarted["isError"], true, "{restarted}");
    let message = restarted["content"][0]["text"].as_str().unwrap();
    assert!(
        message.contains("cannot reach the Docker Engine"),
        "{message}"
    );
    assert!(message.contains(&dead), "{message}");
}

/// Token commands run at once (two terminals, a script creating several)
/// each keep their change: none is lost to another's read-modify-write, and
/// a revoked token never comes back.
#[test]
fn concurrent_token_commands_lose_nothing() {
    let config = tempfile::tempdir().unwrap();
    let dir = config.path();
    let out = mcpm(
        dir,
        &["mcp", "token", "create", "--name", "old", "--role", "read"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut children = Vec::new();
    for n in 0..12 {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mcpm"));
        cmd.env("MCPM_CONFIG_DIR", dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        if n == 0 {
            cmd.args(["mcp", "token", "revoke", "old"]);
        } else {
            cmd.args([
                "mcp",
                "token",
                "create",
                "--role",
                "read",
                "--name",
                &format!("t{n}"),
            ]);
        }
        children.push(cmd.spawn().unwrap());
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let out = mcpm(dir, &["mcp", "token", "ls", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    let mut expected: Vec<String> = (1..12).map(|n| format!("t{n}")).collect();
    expected.sort();
    assert_eq!(names, expected);
}
