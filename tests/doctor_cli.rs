//! `mcpm docker doctor` through the real binary, on a Claude Desktop config
//! as a new user has one: imported, checked, fixed, and generated.
mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{compose_validator, mcpm, root};
use serde_json::Value;

/// Variables the fixture refers to: a developer's shell may have them set.
const FIXTURE_VARIABLES: &[&str] = &["GITHUB_TOKEN", "PERPLEXITY_KEY", "workspaceFolder"];

fn doctor(config: &Path) -> assert_cmd::Command {
    let mut command = mcpm(config);
    for name in FIXTURE_VARIABLES {
        command.env_remove(name);
    }
    command.args(["docker", "doctor"]);
    command
}

/// A project folder outside /tmp: the checks take paths under /tmp for the
/// image's own scratch space, so a workspace there would hide its paths from
/// the host-path check this fixture exercises.
fn workspace() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// Imports the fixture into `dir/app.toml`, run in `dir` as a person runs
/// it in their project: a Claude Desktop config's `${workspaceFolder}` is
/// that directory. Its `data` folder (sqlite's database) exists.
fn imported(dir: &Path) -> PathBuf {
    let profile = dir.join("app.toml");
    fs::create_dir_all(dir.join("data")).unwrap();
    let output = mcpm(dir)
        .current_dir(dir)
        .args(["profile", "import"])
        .arg(root().join("tests/fixtures/doctor/claude_desktop_config.json"))
        .args(["--name", "app", "-o"])
        .arg(&profile)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("`${workspaceFolder}` became"),
        "{}",
        stderr(&output)
    );
    profile
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&output.stdout)))
}

/// The (check, server) pairs of a report's `findings` or `fixed`.
fn pairs(report: &Value, key: &str) -> Vec<(String, String)> {
    report[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["server"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has(pairs: &[(String, String)], check: &str, server: &str) -> bool {
    pairs.iter().any(|(c, s)| c == check && s == server)
}

/// Generates the profile to stdout and checks it against the compose schema
/// (said, not silently passed, when the schema is not beside this clone).
fn generate_validates(config: &Path, profile: &Path) -> Value {
    let output = mcpm(config)
        .env("GITHUB_TOKEN", "ghp_test")
        .args(["docker", "generate"])
        .arg(profile)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let yaml: Value = serde_yaml_ng::from_slice(&output.stdout).expect("YAML");
    match compose_validator() {
        Some(validator) => {
            let errors: Vec<String> = validator
                .iter_errors(&yaml)
                .map(|e| format!("{e} at {}", e.instance_path))
                .collect();
            assert!(errors.is_empty(), "{errors:#?}");
        }
        None => eprintln!("skipped: schema validation of the fixed profile's compose file"),
    }
    yaml
}

#[test]
fn a_realistic_claude_config_is_checked_fixed_and_generates() {
    let dir = workspace();
    let profile = imported(dir.path());
    // A person's note in the profile survives the fix.
    let text = fs::read_to_string(&profile).unwrap();
    let text = text.replace("[servers.memory]", "# keep the graph\n[servers.memory]");
    fs::write(&profile, &text).unwrap();

    let output = doctor(dir.path())
        .arg(&profile)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "errors remain: {}",
        stderr(&output)
    );
    let report = json(&output);
    let found = pairs(&report, "findings");
    for (check, server) in [
        ("localhost", "postgres"),
        // `${input:perplexity-key}` became `${PERPLEXITY_KEY}` at import.
        ("unset-variable", "perplexity"),
        ("unset-variable", "github"),
        ("bind-source-missing", "filesystem"),
        ("not-containerized", "tools"),
        ("unpinned-image", "fetch"),
    ] {
        assert!(has(&found, check, server), "{check} {server} in {found:#?}");
    }
    // What generate now takes care of is not reported: memory's file gets
    // the `memory-data` volume, sqlite's `${workspaceFolder}` was resolved
    // at import and its folder is bind-mounted, filesystem's directory is
    // mounted (and missing, said once, above).
    for (check, server) in [
        ("host-path", "memory"),
        ("vscode-input", "sqlite"),
        ("host-path", "sqlite"),
        ("bind-source-missing", "sqlite"),
        ("host-path", "filesystem"),
        ("required-secret-empty", "github"),
    ] {
        assert!(
            !has(&found, check, server),
            "{check} {server} in {found:#?}"
        );
    }
    let sqlite_arg = format!("{}/data/app.db", dir.path().display());
    assert!(text.contains(&sqlite_arg), "{text}");
    assert!(report["fixed"].as_array().unwrap().is_empty());
    let finding = |check: &str, server: &str| -> Value {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == check && f["server"] == server)
            .unwrap()
            .clone()
    };
    let line_of = |f: &Value| {
        text.lines()
            .nth(f["line"].as_u64().unwrap() as usize - 1)
            .unwrap()
    };
    let missing = finding("bind-source-missing", "filesystem");
    assert_eq!(missing["severity"], "error");
    assert_eq!(missing["value"], "/home/dev/Documents");
    assert_eq!(missing["file"], profile.display().to_string());
    assert!(
        line_of(&missing).contains("/home/dev/Documents"),
        "{missing:#}"
    );
    assert!(
        missing["fix"]
            .as_str()
            .unwrap()
            .contains("mkdir -p /home/dev/Documents"),
        "{missing:#}"
    );
    let tools = finding("not-containerized", "tools");
    assert!(
        tools["message"]
            .as_str()
            .unwrap()
            .contains("`/home/dev/tools/server.js` does not exist on this host"),
        "{tools:#}"
    );
    let localhost = finding("localhost", "postgres");
    assert_eq!(localhost["value"], "postgresql://localhost:5432/app");
    assert_eq!(localhost["file"], profile.display().to_string());
    let line = localhost["line"].as_u64().unwrap() as usize;
    assert!(
        text.lines()
            .nth(line - 1)
            .unwrap()
            .contains("localhost:5432"),
        "line {line} of:\n{text}"
    );
    assert_eq!(localhost["fixable"], true);
    let github = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "unset-variable" && f["server"] == "github")
        .unwrap();
    assert_eq!(github["severity"], "error", "the catalog requires it");
    assert!(github["fix"].as_str().unwrap().contains(".env"));
    assert_eq!(
        fs::read_to_string(&profile).unwrap(),
        text,
        "no --fix, no write"
    );

    let output = doctor(dir.path())
        .arg(&profile)
        .args(["--fix", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "GITHUB_TOKEN is still unset");
    let report = json(&output);
    let fixed = pairs(&report, "fixed");
    assert_eq!(fixed, [("localhost".into(), "postgres".into())]);
    let left = pairs(&report, "findings");
    assert!(!has(&left, "localhost", "postgres"), "{left:?}");
    assert!(
        has(&left, "unset-variable", "github"),
        "a person must set it"
    );
    assert!(
        has(&left, "bind-source-missing", "filesystem"),
        "a person must create it or correct the path"
    );

    let fixed_text = fs::read_to_string(&profile).unwrap();
    assert!(fixed_text.contains("# keep the graph"), "{fixed_text}");
    assert!(fixed_text.starts_with("# Imported by `mcpm profile import`"));
    assert_eq!(
        fs::read_to_string(profile.with_extension("toml.bak")).unwrap(),
        text,
        "the profile before the fix is kept"
    );
    let loaded = mcpm::profile::load_profile_text(&profile, fixed_text.clone()).expect("loads");
    let postgres = &loaded.profile.servers["postgres"];
    assert!(
        postgres
            .args
            .contains(&"postgresql://host.docker.internal:5432/app".to_string())
    );
    assert!(
        loaded.profile.servers["memory"].volumes.is_empty(),
        "generate mounts the state volume; the profile needs none"
    );

    let yaml = generate_validates(dir.path(), &profile);
    let services = &yaml["services"];
    assert_eq!(
        services["postgres"]["extra_hosts"],
        serde_json::json!(["host.docker.internal:host-gateway"])
    );
    assert_eq!(
        services["memory"]["volumes"],
        serde_json::json!(["memory-data:/home/dev/.mcp"])
    );
    assert_eq!(
        services["memory"]["environment"]["MEMORY_FILE_PATH"],
        "/home/dev/.mcp/memory.json"
    );
    assert!(yaml["volumes"]["memory-data"].is_object(), "{yaml:#}");
    assert_eq!(
        services["sqlite"]["volumes"],
        serde_json::json!([format!("{}/data:/projects/data", dir.path().display())])
    );
    assert_eq!(
        services["sqlite"]["command"],
        serde_json::json!(["--db-path", "/projects/data/app.db"])
    );
    assert!(services["tools"].is_null(), "skipped, and said so above");

    // A second --fix finds nothing to fix and writes nothing.
    let before = fs::metadata(&profile).unwrap().modified().unwrap();
    let output = doctor(dir.path())
        .arg(&profile)
        .args(["--fix", "--json"])
        .output()
        .unwrap();
    assert!(json(&output)["fixed"].as_array().unwrap().is_empty());
    assert_eq!(fs::read_to_string(&profile).unwrap(), fixed_text);
    assert_eq!(fs::metadata(&profile).unwrap().modified().unwrap(), before);
}

#[test]
fn variables_in_the_env_file_count_and_strict_counts_warnings() {
    let dir = workspace();
    let profile = imported(dir.path());
    // The documents folder is one this machine has: no error is left.
    let documents = dir.path().join("Documents");
    fs::create_dir(&documents).unwrap();
    let text = fs::read_to_string(&profile).unwrap();
    fs::write(
        &profile,
        text.replace("/home/dev/Documents", documents.to_str().unwrap()),
    )
    .unwrap();
    fs::write(dir.path().join(".env"), "GITHUB_TOKEN=ghp_from_env_file\n").unwrap();
    let output = doctor(dir.path())
        .arg(&profile)
        .args(["--fix"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "warnings only:\n{stdout}");
    assert!(!stdout.contains("GITHUB_TOKEN"), "{stdout}");
    assert!(stdout.contains("PERPLEXITY_KEY"), "{stdout}");
    assert!(stdout.contains("warning: "), "{stdout}");
    assert!(
        stdout.contains("fixed: [localhost] server `postgres`"),
        "{stdout}"
    );
    let output = doctor(dir.path())
        .arg(&profile)
        .arg("--strict")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_port_of_a_service_in_the_compose_file_is_reached_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("app.toml");
    fs::write(
        &profile,
        "name = \"app\"\n\n[servers.pg]  # reads the app's database\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-postgres\", \"postgresql://localhost:5432/app\"]\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("docker-compose.yml"),
        "services:\n  db:\n    image: postgres:16\n    expose: ['5432']\n",
    )
    .unwrap();
    let output = doctor(dir.path())
        .arg(&profile)
        .args(["--fix", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let text = fs::read_to_string(&profile).unwrap();
    assert!(text.contains("postgresql://db:5432/app"), "{text}");
    assert!(text.contains("# reads the app's database"), "{text}");
    assert!(!text.contains("host.docker.internal"), "{text}");
    let yaml = generate_validates(dir.path(), &profile);
    assert_eq!(
        yaml["services"]["pg"]["networks"],
        serde_json::json!(["mcp-network", "default"])
    );
}

#[test]
fn fix_writes_nothing_to_a_profile_it_cannot_parse() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("broken.toml");
    let text = "name = \"app\"\n[servers.pg\ncommand = \"npx\"\n";
    fs::write(&profile, text).unwrap();
    let output = doctor(dir.path())
        .arg(&profile)
        .arg("--fix")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("broken.toml:2"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read_to_string(&profile).unwrap(), text);
    assert!(!profile.with_extension("toml.bak").exists());
}

#[test]
fn a_vscode_input_is_fixed_into_a_variable() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("app.toml");
    fs::write(
        &profile,
        "name = \"app\"\n[servers.ask]\ncommand = \"npx\"\nargs = [\"-y\", \"server-perplexity-ask\"]\nenv = { PERPLEXITY_API_KEY = \"${input:perplexity-key}\" }\n",
    )
    .unwrap();
    let output = doctor(dir.path()).arg(&profile).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("[vscode-input]"), "{stdout}");
    let output = doctor(dir.path())
        .arg(&profile)
        .args(["--fix"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        fs::read_to_string(&profile)
            .unwrap()
            .contains("PERPLEXITY_API_KEY = \"${PERPLEXITY_KEY}\""),
        "{stdout}"
    );
    // What is left is the variable, which a person sets.
    assert!(stdout.contains("PERPLEXITY_KEY"), "{stdout}");
}

#[test]
fn generate_warns_and_strict_refuses_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("app.toml");
    let memory = "name = \"app\"\n[servers.memory]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-memory\"]\nenv = { MEMORY_FILE_PATH = \"/home/dev/.mcp/memory.json\" }\n";
    fs::write(&profile, memory).unwrap();
    let out = dir.path().join("compose.yaml");
    let generate = |strict: bool| {
        let mut command = mcpm(dir.path());
        command.args(["docker", "generate"]);
        if strict {
            command.arg("--strict");
        }
        command.arg(&profile).arg("-o").arg(&out).output().unwrap()
    };
    // Memory's file outside any volume is no longer a finding: generate
    // puts the `memory-data` volume on its folder and says so, and
    // --strict has nothing to refuse.
    let output = generate(true);
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(!err.contains("[host-path]"), "{err}");
    assert!(
        err.contains("the named volume `memory-data` is mounted at /home/dev/.mcp"),
        "{err}"
    );
    let yaml = fs::read_to_string(&out).unwrap();
    assert!(yaml.contains("memory-data:/home/dev/.mcp"), "{yaml}");
    fs::remove_file(&out).unwrap();

    // A server that reaches the host by `localhost` is a finding.
    fs::write(
        &profile,
        format!("{memory}\n[servers.fetch]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\", \"--proxy-url=http://127.0.0.1:3128\"]\n"),
    )
    .unwrap();
    let output = generate(false);
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("[localhost] server `fetch`"), "{err}");
    assert!(err.contains("app.toml:9:"), "{err}");
    fs::remove_file(&out).unwrap();
    let output = generate(true);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn sync_warns_with_the_doctors_findings() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("app.toml");
    fs::write(
        &profile,
        "name = \"app\"\n[servers.fetch]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\", \"--proxy-url=http://127.0.0.1:3128\"]\n",
    )
    .unwrap();
    let output = mcpm(dir.path())
        .args(["docker", "sync", "--yes"])
        .arg(&profile)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("[localhost] server `fetch`"), "{err}");
    assert!(err.contains("app.toml:4:"), "{err}");
    assert!(err.contains("1 image is not pinned"), "{err}");
    // A sync with nothing to do stays quiet, as before.
    let output = mcpm(dir.path())
        .args(["docker", "sync", "--yes"])
        .arg(&profile)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        !stderr(&output).contains("[localhost]"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_compose_file_that_does_not_parse_is_noted_once_and_the_checks_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("t.toml");
    fs::write(
        &profile,
        "name = \"t\"\n[docker]\ncompose_file = \"compose.yaml\"\n[servers.fs]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-filesystem\", \"/nowhere/docs\"]\n",
    )
    .unwrap();
    let compose = dir.path().join("compose.yaml");
    fs::write(&compose, "services:\n  a: [unclosed\n").unwrap();
    let output = doctor(dir.path())
        .arg(&profile)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let found = pairs(&json(&output), "findings");
    assert!(
        has(&found, "bind-source-missing", "fs"),
        "the pre-flight runs on what generate would write: {found:?}"
    );
    let err = stderr(&output);
    assert_eq!(err.matches("is not valid YAML").count(), 1, "{err}");
    assert_eq!(
        fs::read_to_string(&compose).unwrap(),
        "services:\n  a: [unclosed\n",
        "doctor never writes the compose file"
    );
}
