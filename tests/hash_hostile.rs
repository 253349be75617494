//! Hostile tests for "no literal secret outside `.env`" as it touches the
//! hashes mcpm writes into the compose file (the `io.mcpm.profile-hash`
//! label and the `x-mcpm` sync base): an unsalted hash over a profile entry
//! that holds a literal secret would let anyone with the compose file confirm
//! a guessed password offline. The compose file must not depend on a
//! literal's value at all; only `.env` does.
mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::{mcpm, write_profile};

fn run(dir: &Path, args: &[&str]) -> Output {
    mcpm(dir).args(args).output().expect("mcpm runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A profile with a literal secret in every place the renderer moves one to
/// `.env`: a secret-keyed env value (text and number), a secret flag's value
/// (`--api-key VALUE` and `--token=VALUE`), a URL password (bare argument,
/// `--db=URL`, env URL), a `docker run -e KEY=VALUE`, and
/// `[servers.X.docker] environment` in map and list form.
fn profile(secret: &str, number: u32) -> String {
    format!(
        r#"name = "hashes"
[docker]
compose_file = "compose.yaml"

[servers.github]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-github"]
env = {{ GITHUB_PERSONAL_ACCESS_TOKEN = "{secret}-env", PIN_SECRET = {number}, LOG_LEVEL = "info" }}

[servers.tool]
command = "uvx"
args = ["some-mcp", "--api-key", "{secret}-flag", "--token={secret}-eq", "--db=mysql://root:{secret}-db@db/x", "postgresql://ro:{secret}-url@wh:5432/a"]
env = {{ DATABASE_URL = "postgres://app:{secret}-envurl@db/app" }}

[servers.runner]
command = "docker"
args = ["run", "-i", "--rm", "-e", "SERVICE_TOKEN={secret}-run", "--env=OTHER_SECRET={secret}-run2", "ghcr.io/acme/mcp:1"]

[servers.over]
command = "uvx"
args = ["over-mcp"]
[servers.over.docker]
environment = {{ OVER_API_KEY = "{secret}-over", PLAIN = "x" }}

[servers.listed]
command = "uvx"
args = ["listed-mcp"]
[servers.listed.docker]
environment = ["LISTED_PASSWORD={secret}-list", "DEBUG"]
"#
    )
}

/// Generates the profile built from `secret` into a fresh directory and
/// returns (compose file text, `.env` text).
fn generate(secret: &str, number: u32) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    write_profile(dir.path(), "hashes.toml", &profile(secret, number));
    let compose = dir.path().join("compose.yaml");
    // Run in that directory with relative paths, so the header (whose sync
    // command names the profile's path) is the same for both directories.
    let out = mcpm(dir.path())
        .current_dir(dir.path())
        .args(["docker", "generate", "hashes.toml", "-o", "compose.yaml"])
        .output()
        .expect("mcpm runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    (
        fs::read_to_string(&compose).unwrap(),
        fs::read_to_string(dir.path().join(".env")).unwrap(),
    )
}

/// The same profile with two different literal values renders to the same
/// compose file, byte for byte: no hash in it (label or base) is a function
/// of a literal secret. Only `.env` differs.
#[test]
fn compose_file_does_not_depend_on_literal_secret_values() {
    let (compose_a, env_a) = generate("hunter2-aaaa", 1111);
    let (compose_b, env_b) = generate("correcthorse-bbbb", 2222);
    assert!(compose_a.contains("io.mcpm.profile-hash"), "{compose_a}");
    assert!(compose_a.contains("x-mcpm"), "{compose_a}");
    for (literal, compose) in [("hunter2-aaaa", &compose_a), ("1111", &compose_a)] {
        assert!(!compose.contains(literal), "{literal} in {compose}");
    }
    assert_eq!(
        compose_a, compose_b,
        "the compose file changes with the value of a literal secret"
    );
    assert_ne!(env_a, env_b);
    for secret in [
        "hunter2-aaaa-env",
        "hunter2-aaaa-flag",
        "hunter2-aaaa-eq",
        "hunter2-aaaa-db",
        "hunter2-aaaa-url",
        "hunter2-aaaa-envurl",
        "hunter2-aaaa-run",
        "hunter2-aaaa-run2",
        "hunter2-aaaa-over",
        "hunter2-aaaa-list",
        "1111",
    ] {
        assert!(env_a.contains(secret), "{secret} not in .env:\n{env_a}");
    }
}

/// The same through sync, and a rotated literal: a `.env`-only change that
/// sync writes (leaving both files alone), that both checks report until
/// then, and after which both are quiet.
#[test]
fn a_rotated_literal_is_a_dotenv_only_change_both_checks_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_profile(dir.path(), "hashes.toml", &profile("hunter2-old", 1));
    let p = path.to_str().unwrap();
    let compose = dir.path().join("compose.yaml");
    let env = dir.path().join(".env");
    let sync = |extra: &[&str]| {
        let mut args = vec!["docker", "sync", p, "--yes"];
        args.extend_from_slice(extra);
        run(dir.path(), &args)
    };
    let check = |what: &str| {
        let sync_check = run(dir.path(), &["docker", "sync", p, "--check"]);
        let generate_check = run(dir.path(), &["docker", "generate", p, "--check"]);
        assert_eq!(
            sync_check.status.code(),
            generate_check.status.code(),
            "{what}: sync --check and generate --check disagree\n{}\n{}",
            text(&sync_check.stderr),
            text(&generate_check.stderr)
        );
        (sync_check, generate_check)
    };
    let first = sync(&[]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let (c, g) = check("after the first sync");
    assert_eq!(c.status.code(), Some(0), "{}", text(&c.stderr));
    assert_eq!(g.status.code(), Some(0), "{}", text(&g.stderr));
    let compose_before = fs::read_to_string(&compose).unwrap();
    let env_before = fs::read_to_string(&env).unwrap();
    assert!(env_before.contains("hunter2-old-env"), "{env_before}");

    fs::write(&path, profile("hunter2-new", 2)).unwrap();
    let profile_text = fs::read_to_string(&path).unwrap();
    let (c, g) = check("after the rotation");
    assert_eq!(c.status.code(), Some(4), "{}", text(&c.stderr));
    assert_eq!(g.status.code(), Some(4), "{}", text(&g.stderr));
    for out in [&c, &g] {
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(all.contains(".env"), "the check names .env: {all}");
        assert!(!all.contains("hunter2"), "a check printed a secret: {all}");
    }

    let second = sync(&[]);
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert!(
        !text(&second.stdout).contains("hunter2") && !text(&second.stderr).contains("hunter2"),
        "{}{}",
        text(&second.stdout),
        text(&second.stderr)
    );
    assert_eq!(fs::read_to_string(&compose).unwrap(), compose_before);
    assert_eq!(fs::read_to_string(&path).unwrap(), profile_text);
    let env_after = fs::read_to_string(&env).unwrap();
    assert!(env_after.contains("hunter2-new-env"), "{env_after}");
    assert!(!env_after.contains("hunter2-old"), "{env_after}");
    let (c, g) = check("after the sync");
    assert_eq!(c.status.code(), Some(0), "{}", text(&c.stderr));
    assert_eq!(g.status.code(), Some(0), "{}", text(&g.stderr));
}
