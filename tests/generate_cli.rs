//! `mcpm docker generate` through the real binary: output, files, errors, exit codes.
mod common;

use std::fs;

use common::{mcpm, root, write_profile};
use predicates::prelude::*;

#[test]
fn readme_first_command_prints_a_compose_file() {
    let config = tempfile::tempdir().unwrap();
    let output = mcpm(config.path())
        .args(["docker", "generate", "profiles-example/dev.toml"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_slice(&output.stdout).expect("stdout is YAML");
    assert_eq!(yaml["name"].as_str(), Some("mcp-dev"));
    assert!(yaml.get("version").is_none(), "no obsolete version key");
    let services = yaml["services"].as_mapping().unwrap();
    assert!(services.contains_key("filesystem") && services.contains_key("github"));
    assert!(
        !services.contains_key("search"),
        "remote servers get no service"
    );
}

#[test]
fn output_is_byte_identical_across_runs() {
    let config = tempfile::tempdir().unwrap();
    for profile in common::all_profiles() {
        let run = || {
            mcpm(config.path())
                .args(["docker", "generate"])
                .arg(&profile)
                .output()
                .unwrap()
                .stdout
        };
        let first = run();
        assert!(!first.is_empty(), "{}", profile.display());
        assert_eq!(
            first,
            run(),
            "{} renders differently twice",
            profile.display()
        );
    }
}

#[test]
fn unknown_key_fails_with_exit_2_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "typo.toml",
        "name = \"typo\"\n\n[servers.fetch]\ncommand = \"uvx\"\nargz = [\"mcp-server-fetch\"]\n",
    );
    mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown key `argz` in server `fetch`",
        ))
        .stderr(predicate::str::contains("typo.toml:5:1"))
        .stderr(predicate::str::contains("hint:"))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn semantic_errors_point_at_their_value() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("name = \"Bad Name\"\n", "invalid profile name", ":1:8"),
        (
            "name = \"x\"\n[servers.a]\ncommand = \"uvx\"\nurl = \"https://x\"\n",
            "both `command` and `url`",
            ":4:1",
        ),
        (
            "name = \"x\"\n[servers.a]\nurl = \"https://x\"\nargs = [\"y\"]\n",
            "cannot have `args`",
            ":4:1",
        ),
        (
            "name = \"x\"\n[servers.a]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\"]\n[servers.a.docker]\nimag = \"x\"\n",
            "did you mean `image`",
            ":6:1",
        ),
        (
            "name = \"x\"\n[servers.a]\ncommand = \"uvx\"\nargs = [\"p\"]\nresources = { memory = \"lots\" }\n",
            "invalid memory size",
            ":5:24",
        ),
        (
            "name = \"x\"\n[servers.a]\ncommand = \"uvx\"\nargs = [\"p\"]\nenv = { T = \"${1PASSWORD_TOKEN}\" }\n",
            "starts with a digit",
            ":5:13",
        ),
        (
            "name = \"x\"\n[servers.a]\ncommand = \"uvx\"\nargs = [\"p\", \"${OPEN\"]\n",
            "never closed",
            ":4:14",
        ),
        (
            "name = \"x\"\n[servers.a]\ncommand = \n",
            "invalid profile",
            ":3:",
        ),
        (
            "name = \"x\"\n[servers.a]\ncommand = \"uvx\"\nargs = [\"p\"]\nunset = [\"read_only\", \"image\"]\n",
            "cannot leave out",
            ":5:23",
        ),
    ];
    for (index, (text, message, location)) in cases.iter().enumerate() {
        let profile = write_profile(dir.path(), &format!("case{index}.toml"), text);
        let output = mcpm(dir.path())
            .args(["docker", "generate"])
            .arg(&profile)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "case {index}: {stderr}");
        assert!(
            stderr.contains(message),
            "case {index}: expected `{message}` in {stderr}"
        );
        assert!(
            stderr.contains(&format!("case{index}.toml{location}")),
            "case {index}: expected {location} in {stderr}"
        );
    }
}

#[test]
fn literal_secrets_go_to_a_private_env_file_never_the_compose_file() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "secrets.toml",
        r#"name = "secrets"
[servers.slack]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-slack"]
env = { SLACK_BOT_TOKEN = "xoxb-literal-token-123", SLACK_TEAM_ID = "T0001" }

[servers.pg]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-postgres", "postgresql://app:hunter2-pw@db:5432/app"]

[servers.api]
command = "uvx"
args = ["some-mcp", "--api-key", "sk-flag-secret-9"]
"#,
    );
    fs::write(dir.path().join(".env"), "# kept\nOTHER=1\n").unwrap();
    let compose = dir.path().join("compose.yaml");
    mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .arg("-o")
        .arg(&compose)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "literal secret at servers.slack.env.SLACK_BOT_TOKEN",
        ));
    let yaml = fs::read_to_string(&compose).unwrap();
    for secret in ["xoxb-literal-token-123", "hunter2-pw", "sk-flag-secret-9"] {
        assert!(
            !yaml.contains(secret),
            "{secret} leaked into the compose file"
        );
    }
    assert!(yaml.contains("SLACK_BOT_TOKEN: \"${SLACK_BOT_TOKEN}\""));
    assert!(
        yaml.contains("SLACK_TEAM_ID: T0001"),
        "non-secrets stay literal"
    );
    let env = fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(
        env.starts_with("# kept\nOTHER=1\n"),
        "existing lines survive: {env}"
    );
    assert!(env.contains("SLACK_BOT_TOKEN='xoxb-literal-token-123'"));
    assert!(env.contains("='hunter2-pw'"));
    assert!(env.contains("='sk-flag-secret-9'"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join(".env"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Printing to stdout never carries the secrets either.
    let stdout = mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .output()
        .unwrap()
        .stdout;
    assert!(!String::from_utf8_lossy(&stdout).contains("xoxb-literal-token-123"));
    common::secrets::SecretScan::new(
        dir.path(),
        &["xoxb-literal-token-123", "hunter2-pw", "sk-flag-secret-9"],
    )
    .user_file(&profile)
    .text("generate (stdout)", &stdout)
    .assert_contained();
}

#[test]
fn check_reports_drift_with_exit_4_and_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "p.toml",
        "name = \"p\"\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n",
    );
    let compose = dir.path().join("docker-compose.yml");
    mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .arg("--check")
        .assert()
        .code(4);
    mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .arg("-o")
        .arg(&compose)
        .assert()
        .success();
    // Without -o, --check looks at the profile's compose file.
    mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .arg("--check")
        .assert()
        .success();
    let before = fs::read(&compose).unwrap();
    let mtime = fs::metadata(&compose).unwrap().modified().unwrap();
    mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .arg("-o")
        .arg(&compose)
        .assert()
        .success();
    assert_eq!(
        fs::metadata(&compose).unwrap().modified().unwrap(),
        mtime,
        "an unchanged file is not rewritten"
    );
    fs::write(&profile, "name = \"p\"\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\", \"--local-timezone=UTC\"]\n").unwrap();
    mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .arg("-o")
        .arg(&compose)
        .arg("--check")
        .assert()
        .code(4)
        .stdout(predicate::str::contains(
            "+      - \"--local-timezone=UTC\"",
        ))
        .stderr(predicate::str::contains("differs"));
    assert_eq!(
        fs::read(&compose).unwrap(),
        before,
        "--check writes nothing"
    );
}

#[test]
fn unparseable_or_foreign_files_are_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "p.toml",
        "name = \"p\"\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n",
    );
    let compose = dir.path().join("compose.yaml");
    let broken = "services:\n  web:\n    image: [unclosed\n";
    fs::write(&compose, broken).unwrap();
    mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .arg("-o")
        .arg(&compose)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not valid YAML"))
        .stderr(predicate::str::contains("compose.yaml:"));
    assert_eq!(fs::read_to_string(&compose).unwrap(), broken);

    let foreign = "services:\n  web:\n    image: nginx\n";
    fs::write(&compose, foreign).unwrap();
    mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .arg("-o")
        .arg(&compose)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not own: web"));
    assert_eq!(fs::read_to_string(&compose).unwrap(), foreign);
    mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .arg("-o")
        .arg(&compose)
        .arg("--force")
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(dir.path().join("compose.yaml.bak")).unwrap(),
        foreign,
        "a backup is kept"
    );
}

#[test]
fn profiles_are_found_by_name_in_the_config_dir() {
    let config = tempfile::tempdir().unwrap();
    fs::create_dir_all(config.path().join("profiles")).unwrap();
    fs::copy(
        root().join("profiles-example/dev.toml"),
        config.path().join("profiles/work.toml"),
    )
    .unwrap();
    mcpm(config.path())
        .args(["docker", "generate", "work"])
        .assert()
        .success()
        .stdout(predicate::str::contains("name: mcp-dev"));
    let elsewhere = tempfile::tempdir().unwrap();
    mcpm(elsewhere.path())
        .args(["docker", "generate", "work", "--config-dir"])
        .arg(config.path())
        .assert()
        .success();
    mcpm(config.path())
        .args(["docker", "generate", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no profile named `nope`"))
        .stderr(predicate::str::contains("profiles in"));
}

#[test]
fn servers_that_cannot_be_containerized_are_reported_or_fatal_with_strict() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        "local.toml",
        "name = \"local\"\n[servers.script]\ncommand = \"node\"\nargs = [\"/home/me/server.js\"]\n\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n",
    );
    mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .assert()
        .success()
        .stdout(predicate::str::contains("time:"))
        .stdout(predicate::str::contains("script:").not())
        .stderr(predicate::str::contains("server `script` skipped"));
    mcpm(dir.path())
        .args(["docker", "generate", "--strict"])
        .arg(&profile)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("local.toml:4:9"));
}

#[test]
fn explain_and_json_report_how_servers_matched() {
    let config = tempfile::tempdir().unwrap();
    mcpm(config.path())
        .args([
            "docker",
            "generate",
            "profiles-example/dev.toml",
            "--explain",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("custom"))
        .stdout(predicate::str::contains("explicit"))
        .stdout(predicate::str::contains("remote"));
    let output = mcpm(config.path())
        .args(["docker", "generate", "profiles-example/dev.toml", "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let servers = report["servers"].as_array().unwrap();
    let rule = |name: &str| {
        servers
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["match"].clone())
    };
    assert_eq!(rule("custom"), Some("explicit".into()));
    assert_eq!(rule("memory"), Some("name".into()));
    assert_eq!(
        servers.iter().find(|s| s["name"] == "search").unwrap()["status"],
        "remote"
    );
    assert!(
        report["compose"]
            .as_str()
            .unwrap()
            .contains("name: mcp-dev")
    );
}

#[test]
fn config_dir_templates_override_the_catalog() {
    let config = tempfile::tempdir().unwrap();
    fs::create_dir_all(config.path().join("templates")).unwrap();
    fs::write(
        config.path().join("templates/fetch.toml"),
        "name = \"fetch\"\npypi = [\"mcp-server-fetch\"]\nneeds_network = true\nread_only = true\n[service]\nimage = \"registry.local/fetch:pinned\"\n",
    )
    .unwrap();
    mcpm(config.path())
        .args(["docker", "generate", "profiles-example/dev.toml"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "image: \"registry.local/fetch:pinned\"",
        ));
    fs::write(
        config.path().join("templates/bad.toml"),
        "name = \"bad\"\nnope = 1\n[service]\nimage = \"x\"\n",
    )
    .unwrap();
    mcpm(config.path())
        .args(["docker", "generate", "profiles-example/dev.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.toml:2:1"));
}

#[test]
fn completions_and_help_work() {
    let config = tempfile::tempdir().unwrap();
    mcpm(config.path())
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("mcpm"));
    mcpm(config.path())
        .args(["docker", "generate", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"));
    mcpm(config.path())
        .args(["docker", "generate"])
        .assert()
        .code(2);
}

/// A profile in `dir` whose server `tools` runs `command args`.
fn script_profile(dir: &std::path::Path, command: &str, args: &[&str]) -> std::path::PathBuf {
    let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    write_profile(
        dir,
        "scripts.toml",
        &format!(
            "name = \"scripts\"\n\n[servers.tools]\ncommand = \"{command}\"\nargs = [{}]\nenv = {{ API_TOKEN = \"tok-123\" }}\n",
            args.join(", ")
        ),
    )
}

#[test]
fn host_scripts_become_services_with_their_directory_mounted_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let tools = dir.path().join("home dev/tools ü");
    fs::create_dir_all(&tools).unwrap();
    let script = tools.join("server.js");
    fs::write(&script, "console.log('mcp')\n").unwrap();
    let (tools, script) = (tools.to_str().unwrap(), script.to_str().unwrap());
    let profile = script_profile(
        dir.path(),
        "node",
        &["--no-warnings", script, "--port", "1"],
    );
    let output = mcpm(dir.path())
        .args(["docker", "generate", "--strict"])
        .arg(&profile)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        !text.contains("tok-123"),
        "the secret went to .env:\n{text}"
    );
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let service = &yaml["services"]["tools"];
    assert_eq!(service["image"].as_str(), Some("node:22-slim"));
    let command: Vec<&str> = service["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(command, ["node", "--no-warnings", script, "--port", "1"]);
    assert_eq!(
        service["volumes"][0].as_str().unwrap(),
        format!("{tools}:{tools}:ro")
    );
    assert_eq!(service["read_only"].as_bool(), Some(true));
    assert_eq!(service["tmpfs"][0].as_str(), Some("/tmp"));
    assert_eq!(service["cap_drop"][0].as_str(), Some("ALL"));
    assert!(service.get("working_dir").is_none());
    assert_eq!(service["labels"]["io.mcpm.match"].as_str(), Some("command"));
    if let Some(validator) = common::compose_validator() {
        let json: serde_json::Value = serde_json::to_value(&yaml).unwrap();
        assert!(validator.is_valid(&json), "valid compose:\n{text}");
    }
    mcpm(dir.path())
        .args(["docker", "generate", "--explain"])
        .arg(&profile)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "script: node {script} → node:22-slim, {tools} mounted read-only"
        )));

    // Once the directory is gone there is nothing to mount: skipped with the
    // path and what to do, and an error under --strict.
    fs::remove_dir_all(dir.path().join("home dev")).unwrap();
    mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .assert()
        .success()
        .stdout(predicate::str::contains("tools:").not())
        .stderr(predicate::str::contains("server `tools` skipped"))
        .stderr(predicate::str::contains(format!(
            "`{script}` does not exist"
        )));
    mcpm(dir.path())
        .args(["docker", "generate", "--strict"])
        .arg(&profile)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("scripts.toml:5:"));
}

#[test]
fn uv_run_in_a_directory_works_there_with_its_caches_on_the_tmpfs() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("weather");
    fs::create_dir_all(&project).unwrap();
    fs::write(project.join("weather.py"), "print('mcp')\n").unwrap();
    fs::write(
        project.join("pyproject.toml"),
        "[project]\nname = \"weather\"\n",
    )
    .unwrap();
    let project_text = project.to_str().unwrap();
    let profile = script_profile(
        dir.path(),
        "uv",
        &["--directory", project_text, "run", "weather.py"],
    );
    // A project without a lock: uv would write one into the read-only mount.
    mcpm(dir.path())
        .args(["docker", "generate", "--strict"])
        .arg(&profile)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("uv lock"));
    fs::write(project.join("uv.lock"), "version = 1\n").unwrap();
    let output = mcpm(dir.path())
        .args(["docker", "generate", "--strict"])
        .arg(&profile)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_slice(&output.stdout).unwrap();
    let service = &yaml["services"]["tools"];
    assert_eq!(
        service["image"].as_str(),
        Some("ghcr.io/astral-sh/uv:python3.12-bookworm-slim")
    );
    assert_eq!(service["working_dir"].as_str(), Some(project_text));
    assert_eq!(
        service["volumes"][0].as_str().unwrap(),
        format!("{project_text}:{project_text}:ro")
    );
    assert_eq!(service["read_only"].as_bool(), Some(true));
    let environment = &service["environment"];
    assert_eq!(environment["UV_FROZEN"].as_str(), Some("1"));
    assert!(
        environment["UV_CACHE_DIR"]
            .as_str()
            .unwrap()
            .starts_with("/tmp/")
    );
    assert_eq!(environment["API_TOKEN"].as_str(), Some("${API_TOKEN}"));
    assert_eq!(service["command"][0].as_str(), Some("uv"));
}

/// The header's sync command reaches the very profile and file it was made
/// from: a profile outside `<config dir>/profiles/` is named by its path (its
/// name alone would not find it), one inside by its name.
#[test]
fn the_headers_sync_command_runs_as_written() {
    let config = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    write_profile(
        work.path(),
        "my team.toml",
        "name = \"team\"\n\n[servers.fetch]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\"]\n",
    );
    let run_in = |args: &[&str]| {
        mcpm(config.path())
            .current_dir(work.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = run_in(&["docker", "generate", "my team.toml", "-o", "compose.yaml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(work.path().join("compose.yaml")).unwrap();
    let command = text
        .lines()
        .nth(1)
        .and_then(|line| line.split('`').nth(1))
        .unwrap_or_else(|| panic!("no command in the header:\n{text}"));
    assert_eq!(command, "mcpm docker sync 'my team.toml' -f compose.yaml");
    let words = shell_words::split(command).unwrap();
    let out = run_in(&words[1..].iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Inside the config dir, the name is enough.
    fs::create_dir_all(config.path().join("profiles")).unwrap();
    fs::copy(
        work.path().join("my team.toml"),
        config.path().join("profiles/team.toml"),
    )
    .unwrap();
    let out = run_in(&["docker", "generate", "team"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .contains("`mcpm docker sync team`"),
        "{text}"
    );
}
