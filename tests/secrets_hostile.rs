//! Hostile tests for SPEC §4's "secrets never land in the compose file": URL
//! passwords, values that only look like paths or references, secrets typed
//! into the compose file, and every place mcpm prints (stdout, warnings,
//! `--json`, `--explain`, diffs, error snippets). Each test ends with the
//! secrets scanner (tests/common/secrets.rs).
mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::secrets::SecretScan;
use common::{mcpm, write_profile};

fn run(dir: &Path, args: &[&str]) -> Output {
    mcpm(dir).args(args).output().expect("mcpm runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const URL_PROFILE: &str = r#"name = "urls"
[servers.postgres]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-postgres", "postgresql://readonly:hunter2-url@warehouse:5432/analytics"]

[servers.my]
command = "uvx"
args = ["some-mcp", "--db=mysql://root:s3cretpass-flag@db/x", "mysql://u:second-pw-9@db/y", "mysql://v:third-pw-9@db/z"]

[servers.remote]
url = "https://user:remote-pw-7@example.com/mcp"

[servers.deno]
command = "deno"
args = ["run", "https://u:deno-pw-8@example.com/mod.ts"]
"#;

const URL_SECRETS: &[&str] = &[
    "hunter2-url",
    "s3cretpass-flag",
    "second-pw-9",
    "third-pw-9",
    "remote-pw-7",
    "deno-pw-8",
    // Parts of the old value-derived names: never a variable name either.
    "HUNTER2",
    "S3CRETPASS",
];

#[test]
fn url_passwords_are_named_by_server_and_flag_never_by_value() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(dir.path(), "urls.toml", URL_PROFILE);
    let compose = dir.path().join("compose.yaml");
    let (p, c) = (profile.to_str().unwrap(), compose.to_str().unwrap());
    let mut scan = SecretScan::new(dir.path(), URL_SECRETS).user_file(&profile);

    let written = run(dir.path(), &["docker", "generate", p, "-o", c]);
    assert!(written.status.success(), "{}", text(&written.stderr));
    scan.output("generate -o", &written);
    let yaml = fs::read_to_string(&compose).unwrap();
    assert!(
        yaml.contains("postgresql://readonly:${POSTGRES_URL_PASSWORD}@warehouse:5432/analytics"),
        "{yaml}"
    );
    assert!(
        yaml.contains("--db=mysql://root:${MY_DB_PASSWORD}@db/x"),
        "{yaml}"
    );
    // A second and third URL in the same server: distinct, numbered names.
    assert!(yaml.contains("mysql://u:${MY_URL_PASSWORD}@db/y"), "{yaml}");
    assert!(
        yaml.contains("mysql://v:${MY_URL_PASSWORD_2}@db/z"),
        "{yaml}"
    );
    let env = fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(env.contains("POSTGRES_URL_PASSWORD='hunter2-url'"), "{env}");
    assert!(env.contains("MY_DB_PASSWORD='s3cretpass-flag'"), "{env}");
    assert!(env.contains("MY_URL_PASSWORD_2='third-pw-9'"), "{env}");

    for args in [
        &["docker", "generate", p][..],
        &["docker", "generate", p, "--json"],
        &["docker", "generate", p, "--explain"],
        &["docker", "generate", p, "-o", c, "--check"],
    ] {
        let out = run(dir.path(), args);
        scan.output(&args.join(" "), &out);
    }
    let json = text(&run(dir.path(), &["docker", "generate", p, "--json"]).stdout);
    assert!(json.contains("https://user:****@example.com/mcp"), "{json}");
    // The same names on a second run (deterministic).
    run(dir.path(), &["docker", "generate", p, "-o", c]);
    assert_eq!(fs::read_to_string(&compose).unwrap(), yaml);
    scan.assert_contained();
}

#[test]
fn a_literal_typed_into_the_compose_file_is_masked_in_check_diffs() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "p.toml",
        "name = \"p\"\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n",
    );
    let compose = dir.path().join("docker-compose.yml");
    let (p, c) = (profile.to_str().unwrap(), compose.to_str().unwrap());
    run(dir.path(), &["docker", "generate", p, "-o", c]);
    let yaml = fs::read_to_string(&compose).unwrap();
    let edited = yaml.replacen(
        "    image: mcp/time\n",
        "    image: mcp/time\n    environment:\n      OPENAI_API_KEY: sk-proj-typed-1\n      DATABASE_URL: \"postgres://app:typed-pw-2@db/app\"\n",
        1,
    );
    assert_ne!(edited, yaml, "the edit applies");
    fs::write(&compose, edited).unwrap();
    let out = run(dir.path(), &["docker", "generate", p, "-o", c, "--check"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let diff = text(&out.stdout);
    assert!(diff.contains("OPENAI_API_KEY: ****"), "{diff}");
    assert!(diff.contains("postgres://app:****@db/app"), "{diff}");
    SecretScan::new(dir.path(), &["sk-proj-typed-1", "typed-pw-2"])
        .user_file(&compose)
        .output("generate --check", &out)
        .assert_contained();
}

#[test]
fn sync_dry_run_masks_the_profiles_literals_in_its_diff() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "p.toml",
        r#"name = "p"
[servers.slack]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-slack"]
env = { SLACK_BOT_TOKEN = "xoxb-dry-run-secret", SLACK_TEAM_ID = "T0001" }

[servers.api]
command = "uvx"
args = ["some-mcp",
  "--api-key",
  "sk-multi-line-secret",
  "--team", "T0001"]
"#,
    );
    let p = profile.to_str().unwrap();
    let first = run(dir.path(), &["docker", "sync", p, "--yes"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    // Edits in the compose file go into the profile, next to its literals:
    // the profile's side of the diff shows those lines.
    let compose = dir.path().join("docker-compose.yml");
    let edited = fs::read_to_string(&compose)
        .unwrap()
        .replace("T0001", "T0002");
    fs::write(&compose, edited).unwrap();
    let dry = run(dir.path(), &["docker", "sync", p, "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let diff = text(&dry.stdout);
    assert!(
        diff.contains("+env = { SLACK_BOT_TOKEN = \"****\", SLACK_TEAM_ID = \"T0002\" }"),
        "{diff}"
    );
    assert!(diff.contains("  \"****\","), "{diff}");
    let json = run(dir.path(), &["docker", "sync", p, "--dry-run", "--json"]);
    SecretScan::new(dir.path(), &["xoxb-dry-run-secret", "sk-multi-line-secret"])
        .user_file(&profile)
        .output("sync --yes", &first)
        .output("sync --dry-run", &dry)
        .output("sync --dry-run --json", &json)
        .assert_contained();
}

#[test]
fn sync_dry_run_masks_a_profile_edit_that_reaches_the_compose_file() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "p.toml",
        "name = \"p\"\n[servers.slack]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-slack\"]\nenv = { SLACK_TEAM_ID = \"T1\" }\n",
    );
    let p = profile.to_str().unwrap();
    run(dir.path(), &["docker", "sync", p, "--yes"]);
    fs::write(
        &profile,
        "name = \"p\"\n[servers.slack]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-slack\"]\nenv = { SLACK_TEAM_ID = \"T1\" }\n[servers.pg]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-postgres\", \"postgresql://a:pg-pw-in-diff@db/x\"]\n",
    )
    .unwrap();
    let dry = run(dir.path(), &["docker", "sync", p, "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(text(&dry.stdout).contains("${PG_URL_PASSWORD}"));
    SecretScan::new(dir.path(), &["pg-pw-in-diff"])
        .user_file(&profile)
        .output("sync --dry-run", &dry)
        .assert_contained();
}

#[test]
fn parse_error_snippets_never_echo_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    // TOML: the syntax error is on the line holding the token.
    let profile = write_profile(
        dir.path(),
        "p.toml",
        "name = \"p\"\n[servers.a]\ncommand = \"uvx\"\nargs = [\"x\"]\nenv = { API_KEY = \"sk-snippet-secret-1\", DEBUG = }\n",
    );
    let out = run(
        dir.path(),
        &["docker", "generate", profile.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("API_KEY = \"****\""), "{err}");
    assert!(err.contains('^'), "the caret is still there: {err}");
    // An args line: a flag and its value.
    let args = write_profile(
        dir.path(),
        "q.toml",
        "name = \"q\"\n[servers.a]\ncommand = \"uvx\"\nargs = [\"x\", \"--api-key\", \"sk-snippet-secret-2\" 1]\n",
    );
    let out_args = run(dir.path(), &["docker", "generate", args.to_str().unwrap()]);
    assert_eq!(out_args.status.code(), Some(2));

    // YAML: a broken compose file line with a password in a URL and a token.
    let synced = write_profile(
        dir.path(),
        "r.toml",
        "name = \"r\"\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n",
    );
    let r = synced.to_str().unwrap();
    run(dir.path(), &["docker", "sync", r, "--yes"]);
    let compose = dir.path().join("docker-compose.yml");
    let broken = fs::read_to_string(&compose).unwrap().replacen(
        "    image: mcp/time\n",
        "    image: mcp/time\n    environment: { DB: \"postgres://u:yaml-pw-3@db/x\", GITHUB_TOKEN: ghp_yamlsecret4 ]\n",
        1,
    );
    fs::write(&compose, broken).unwrap();
    let out_yaml = run(dir.path(), &["docker", "sync", r]);
    assert_eq!(
        out_yaml.status.code(),
        Some(2),
        "{}",
        text(&out_yaml.stderr)
    );
    SecretScan::new(
        dir.path(),
        &[
            "sk-snippet-secret-1",
            "sk-snippet-secret-2",
            "yaml-pw-3",
            "ghp_yamlsecret4",
        ],
    )
    .user_file(&profile)
    .user_file(&args)
    .user_file(&compose)
    .output("toml error", &out)
    .output("args error", &out_args)
    .output("yaml error", &out_yaml)
    .assert_contained();
}

#[test]
fn a_secret_value_starting_with_a_slash_is_still_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "p.toml",
        r#"name = "p"
[servers.a]
command = "uvx"
args = ["some-mcp"]
env = { API_KEY = "/9j4AAQSkZJRgABAQ+base64==", GOOGLE_APPLICATION_CREDENTIALS = "/run/secrets/sa.json", AUTHORIZATION = "Bearer ${TOKEN}", OTHER_TOKEN = "${OTHER:-x}" }
"#,
    );
    let compose = dir.path().join("compose.yaml");
    let out = run(
        dir.path(),
        &[
            "docker",
            "generate",
            profile.to_str().unwrap(),
            "-o",
            compose.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let yaml = fs::read_to_string(&compose).unwrap();
    assert!(yaml.contains("API_KEY: \"${API_KEY}\""), "{yaml}");
    // A path for a key that holds a path, and whole references, stay.
    assert!(
        yaml.contains("GOOGLE_APPLICATION_CREDENTIALS: /run/secrets/sa.json"),
        "{yaml}"
    );
    assert!(
        yaml.contains("AUTHORIZATION: \"Bearer ${TOKEN}\""),
        "{yaml}"
    );
    assert!(yaml.contains("OTHER_TOKEN: \"${OTHER:-x}\""), "{yaml}");
    SecretScan::new(dir.path(), &["/9j4AAQSkZJRgABAQ+base64=="])
        .user_file(&profile)
        .output("generate", &out)
        .assert_contained();
}

#[test]
fn a_literal_with_an_embedded_reference_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "p.toml",
        "name = \"p\"\n[servers.a]\ncommand = \"uvx\"\nargs = [\"some-mcp\"]\nenv = { STRIPE_API_KEY = \"sk_live_abc${SUFFIX}\" }\n",
    );
    let compose = dir.path().join("compose.yaml");
    let out = run(
        dir.path(),
        &[
            "docker",
            "generate",
            profile.to_str().unwrap(),
            "-o",
            compose.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("mixes literal text with a `$` reference"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    assert!(!compose.exists(), "nothing is written");
    SecretScan::new(dir.path(), &["sk_live_abc"])
        .user_file(&profile)
        .output("generate", &out)
        .assert_contained();
}

#[test]
fn list_form_docker_environment_keeps_pass_through_entries() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "p.toml",
        "name = \"p\"\n[servers.fetch]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\"]\n[servers.fetch.docker]\nenvironment = [\"DEBUG\", \"A=1\", \"API_TOKEN=tok-in-list-5\"]\n",
    );
    let p = profile.to_str().unwrap();
    let first = run(dir.path(), &["docker", "sync", p, "--yes"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let compose = dir.path().join("docker-compose.yml");
    let yaml = fs::read_to_string(&compose).unwrap();
    let document: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).unwrap();
    let environment = &document["services"]["fetch"]["environment"];
    assert!(
        environment
            .as_mapping()
            .is_some_and(|m| m.contains_key("DEBUG")),
        "{yaml}"
    );
    assert!(environment["DEBUG"].is_null(), "passed through: {yaml}");
    assert_eq!(environment["A"].as_str(), Some("1"));
    assert_eq!(environment["API_TOKEN"].as_str(), Some("${API_TOKEN}"));
    // Stable: a second sync and both checks find nothing to do.
    let again = run(dir.path(), &["docker", "sync", p]);
    assert!(again.status.success());
    assert_eq!(fs::read_to_string(&compose).unwrap(), yaml);
    let check = run(dir.path(), &["docker", "sync", p, "--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    let generate_check = run(
        dir.path(),
        &[
            "docker",
            "generate",
            p,
            "-o",
            compose.to_str().unwrap(),
            "--check",
        ],
    );
    assert_eq!(generate_check.status.code(), Some(0));
    SecretScan::new(dir.path(), &["tok-in-list-5"])
        .user_file(&profile)
        .output("sync", &first)
        .output("sync again", &again)
        .assert_contained();
}

/// Syncs `profile` once, then types `lines` into `server`'s environment in the
/// compose file (after its `image:` line).
fn synced_then_typed(dir: &Path, profile: &Path, image: &str, lines: &str) -> std::path::PathBuf {
    let first = run(dir, &["docker", "sync", profile.to_str().unwrap(), "--yes"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let compose = dir.join("docker-compose.yml");
    let yaml = fs::read_to_string(&compose).unwrap();
    let anchor = format!("    image: {image}\n    environment:\n");
    let edited = if yaml.contains(&anchor) {
        yaml.replacen(&anchor, &format!("{anchor}{lines}"), 1)
    } else {
        let image_line = format!("    image: {image}\n");
        yaml.replacen(
            &image_line,
            &format!("{image_line}    environment:\n{lines}"),
            1,
        )
    };
    assert_ne!(edited, yaml, "the edit applies");
    fs::write(&compose, edited).unwrap();
    compose
}

#[test]
fn a_secret_typed_into_the_compose_file_moves_to_env_and_the_profile_gets_a_reference() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "p.toml",
        r#"name = "p"
[servers.slack]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-slack"]
env = { SLACK_BOT_TOKEN = "xoxb-profile-literal-1", SLACK_TEAM_ID = "T0001" }
"#,
    );
    let p = profile.to_str().unwrap();
    let compose = synced_then_typed(
        dir.path(),
        &profile,
        "mcp/slack",
        "      OPENAI_API_KEY: sk-proj-typed-secret-2\n      DATABASE_URL: \"postgres://app:typed-db-pw-3@db/app\"\n",
    );
    let status = run(dir.path(), &["docker", "status", p, "--json"]);
    assert!(
        text(&status.stdout).contains("compose-changed"),
        "{}",
        text(&status.stdout)
    );
    // The checks agree with status: there is something to sync.
    let check = run(dir.path(), &["docker", "sync", p, "--check"]);
    assert_eq!(check.status.code(), Some(4), "{}", text(&check.stderr));
    let json = run(dir.path(), &["docker", "sync", p, "--dry-run", "--json"]);
    assert!(text(&json.stdout).contains("\"status\": \"changed\""));
    let dry = run(dir.path(), &["docker", "sync", p, "--dry-run"]);
    assert!(dry.status.success());

    let synced = run(dir.path(), &["docker", "sync", p]);
    assert!(synced.status.success(), "{}", text(&synced.stderr));
    let yaml = fs::read_to_string(&compose).unwrap();
    assert!(
        yaml.contains("OPENAI_API_KEY: \"${OPENAI_API_KEY}\""),
        "{yaml}"
    );
    assert!(
        yaml.contains("postgres://app:${DATABASE_URL_PASSWORD}@db/app"),
        "{yaml}"
    );
    let toml = fs::read_to_string(&profile).unwrap();
    assert!(
        toml.contains("OPENAI_API_KEY = \"${OPENAI_API_KEY}\""),
        "{toml}"
    );
    let env = fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(
        env.contains("OPENAI_API_KEY='sk-proj-typed-secret-2'"),
        "{env}"
    );
    assert!(
        env.contains("DATABASE_URL_PASSWORD='typed-db-pw-3'"),
        "{env}"
    );
    assert!(
        text(&synced.stderr).contains("services.slack.environment.OPENAI_API_KEY"),
        "a warning says where the literal went: {}",
        text(&synced.stderr)
    );
    // Then everything is in step, by every account.
    let again = run(dir.path(), &["docker", "sync", p, "--check"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let status = run(dir.path(), &["docker", "status", p, "--json"]);
    assert!(!text(&status.stdout).contains("compose-changed"));
    let gen_check = run(
        dir.path(),
        &[
            "docker",
            "generate",
            p,
            "-o",
            compose.to_str().unwrap(),
            "--check",
        ],
    );
    assert_eq!(
        gen_check.status.code(),
        Some(0),
        "{}",
        text(&gen_check.stdout)
    );
    // The compose file's backup holds the user's own edit, as they typed it.
    let compose_backup = dir.path().join("docker-compose.yml.bak");
    SecretScan::new(
        dir.path(),
        &[
            "xoxb-profile-literal-1",
            "sk-proj-typed-secret-2",
            "typed-db-pw-3",
        ],
    )
    .user_file(&profile)
    .user_file(&compose)
    .output("status", &status)
    .output("sync --check", &check)
    .output("sync --dry-run --json", &json)
    .output("sync --dry-run", &dry)
    .output("sync", &synced)
    .output("sync --check again", &again)
    .output("generate --check", &gen_check)
    .assert_contained();
    let profile_now = fs::read_to_string(&profile).unwrap();
    assert!(!profile_now.contains("sk-proj-typed-secret-2"));
    assert!(!profile_now.contains("typed-db-pw-3"));
    assert!(compose_backup.exists());
}

#[test]
fn a_compose_edit_that_cannot_reach_the_profile_is_unresolved_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "p.toml",
        "name = \"p\"\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n",
    );
    let p = profile.to_str().unwrap();
    // A literal around a reference can be neither kept nor moved.
    let compose = synced_then_typed(
        dir.path(),
        &profile,
        "mcp/time",
        "      STRIPE_API_KEY: \"sk_live_mixed4${SUFFIX}\"\n",
    );
    let before = fs::read_to_string(&profile).unwrap();
    let check = run(dir.path(), &["docker", "sync", p, "--check"]);
    assert_eq!(check.status.code(), Some(3), "{}", text(&check.stderr));
    let json = run(dir.path(), &["docker", "sync", p, "--json"]);
    assert_eq!(json.status.code(), Some(3));
    assert!(
        text(&json.stdout).contains("\"status\": \"unresolved\""),
        "{}",
        text(&json.stdout)
    );
    let synced = run(dir.path(), &["docker", "sync", p]);
    assert_eq!(synced.status.code(), Some(3), "{}", text(&synced.stderr));
    assert!(
        text(&synced.stderr).contains("unresolved"),
        "{}",
        text(&synced.stderr)
    );
    assert_eq!(fs::read_to_string(&profile).unwrap(), before);
    assert!(
        fs::read_to_string(&compose)
            .unwrap()
            .contains("sk_live_mixed4")
    );
    let status = run(dir.path(), &["docker", "status", p]);
    assert!(text(&status.stdout).contains("compose-changed"));
    SecretScan::new(dir.path(), &["sk_live_mixed4"])
        .user_file(&compose)
        .output("sync --check", &check)
        .output("sync --json", &json)
        .output("sync", &synced)
        .assert_contained();
}

#[test]
fn conflict_listings_and_strategies_never_show_or_keep_a_typed_literal() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "p.toml",
        "name = \"p\"\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n",
    );
    let p = profile.to_str().unwrap();
    let compose = synced_then_typed(
        dir.path(),
        &profile,
        "mcp/time",
        "      OPENAI_API_KEY: sk-conflict-secret-5\n",
    );
    // Both sides changed: the profile too.
    fs::write(
        &profile,
        "name = \"p\"\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\nenv = { LOG_LEVEL = \"debug\" }\n",
    )
    .unwrap();
    let listed = run(dir.path(), &["docker", "sync", p]);
    assert_eq!(listed.status.code(), Some(3), "{}", text(&listed.stderr));
    assert!(
        text(&listed.stdout).contains("****"),
        "{}",
        text(&listed.stdout)
    );
    let json = run(dir.path(), &["docker", "sync", p, "--json"]);
    assert_eq!(json.status.code(), Some(3));
    // The compose side wins: its literal still goes to .env, not the profile.
    let won = run(
        dir.path(),
        &["docker", "sync", p, "--strategy", "docker_wins"],
    );
    assert!(won.status.success(), "{}", text(&won.stderr));
    let toml = fs::read_to_string(&profile).unwrap();
    assert!(
        toml.contains("OPENAI_API_KEY = \"${OPENAI_API_KEY}\""),
        "{toml}"
    );
    let env = fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(
        env.contains("OPENAI_API_KEY='sk-conflict-secret-5'"),
        "{env}"
    );
    SecretScan::new(dir.path(), &["sk-conflict-secret-5"])
        .user_file(&compose)
        .output("sync (conflicts)", &listed)
        .output("sync --json (conflicts)", &json)
        .output("sync --strategy docker_wins", &won)
        .assert_contained();
}

#[test]
fn a_secret_typed_into_the_compose_command_reaches_the_profile_as_a_reference() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "p.toml",
        "name = \"p\"\n[servers.api]\ncommand = \"uvx\"\nargs = [\"some-mcp\"]\n",
    );
    let p = profile.to_str().unwrap();
    let first = run(dir.path(), &["docker", "sync", p, "--yes"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let compose = dir.path().join("docker-compose.yml");
    let yaml = fs::read_to_string(&compose).unwrap();
    let edited = yaml.replacen(
        "      - some-mcp\n",
        "      - some-mcp\n      - \"--api-key\"\n      - sk-cmd-secret-6\n      - \"--conn=postgres://u:cmd-pw-7@db/x\"\n",
        1,
    );
    assert_ne!(edited, yaml);
    fs::write(&compose, edited).unwrap();
    let synced = run(dir.path(), &["docker", "sync", p]);
    assert!(synced.status.success(), "{}", text(&synced.stderr));
    let toml = fs::read_to_string(&profile).unwrap();
    assert!(
        toml.contains(
            "\"--api-key\", \"${API_KEY}\", \"--conn=postgres://u:${API_CONN_PASSWORD}@db/x\""
        ),
        "{toml}"
    );
    let env = fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(env.contains("API_KEY='sk-cmd-secret-6'"), "{env}");
    assert!(env.contains("API_CONN_PASSWORD='cmd-pw-7'"), "{env}");
    let again = run(dir.path(), &["docker", "sync", p, "--check"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    SecretScan::new(dir.path(), &["sk-cmd-secret-6", "cmd-pw-7"])
        .user_file(&compose)
        .output("sync", &synced)
        .output("sync --check", &again)
        .assert_contained();
}

#[test]
fn an_imported_foreign_service_brings_its_literal_to_env_not_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "p.toml",
        "name = \"p\"\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n",
    );
    let p = profile.to_str().unwrap();
    let first = run(dir.path(), &["docker", "sync", p, "--yes"]);
    assert!(first.status.success());
    let compose = dir.path().join("docker-compose.yml");
    let yaml = fs::read_to_string(&compose).unwrap().replacen(
        "services:\n",
        "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: foreign-pw-9\n",
        1,
    );
    fs::write(&compose, yaml).unwrap();
    // Left alone by default: nothing of it reaches the profile or `.env`.
    let left = run(dir.path(), &["docker", "sync", p]);
    assert!(left.status.success(), "{}", text(&left.stderr));
    assert!(!fs::read_to_string(&profile).unwrap().contains("POSTGRES"));
    let synced = run(dir.path(), &["docker", "sync", p, "--import"]);
    assert!(synced.status.success(), "{}", text(&synced.stderr));
    let toml = fs::read_to_string(&profile).unwrap();
    assert!(
        toml.contains("POSTGRES_PASSWORD = \"${POSTGRES_PASSWORD}\""),
        "{toml}"
    );
    let env = fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(env.contains("POSTGRES_PASSWORD='foreign-pw-9'"), "{env}");
    SecretScan::new(dir.path(), &["foreign-pw-9"])
        .user_file(&compose)
        .output("sync (left alone)", &left)
        .output("sync", &synced)
        .assert_contained();
}

#[test]
fn profile_import_counts_every_literal_and_quotes_none() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("claude_desktop_config.json");
    fs::write(
        &config,
        r#"{"mcpServers": {
  "a": {"command": "uvx", "args": ["some-mcp"], "env": {"API_KEY": "/slash-secret+b64=="}},
  "b": {"command": "uvx", "args": ["other-mcp"], "env": {"OTHER_TOKEN": "sk_live_mixed${SUFFIX}"}}
}}"#,
    )
    .unwrap();
    let profile = dir.path().join("p.toml");
    let out = run(
        dir.path(),
        &[
            "profile",
            "import",
            config.to_str().unwrap(),
            "-o",
            profile.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("2 literal secret(s) (servers.a.env.API_KEY, servers.b.env.OTHER_TOKEN)"),
        "{err}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&profile).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a profile holding a literal is private");
    }
    SecretScan::new(dir.path(), &["/slash-secret+b64==", "sk_live_mixed"])
        .user_file(&config)
        .private_file(&profile)
        .output("profile import", &out)
        .assert_contained();
}
