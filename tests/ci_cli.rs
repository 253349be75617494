//! mcpm in CI: `--format github|json` of `generate --check` and `sync
//! --check`, `mcpm docker check FILE...` (the pre-commit hooks' command) and
//! `mcpm --version`, through the real binary.
mod common;

use std::fs;
use std::path::Path;

use common::{mcpm, write_profile};

const PROFILE: &str = "name = \"ci\"\n[docker]\ncompose_file = \"compose.yaml\"\n\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n\n[servers.fetch]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\"]\n";

/// One `::error` workflow command read back: its properties unescaped.
#[derive(Debug)]
struct Parsed {
    file: String,
    line: Option<usize>,
    col: Option<usize>,
    title: String,
    message: String,
}

fn unescape(text: &str) -> String {
    text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

/// Parses every line of `stdout` as a workflow command, as the runner does.
fn parse_commands(stdout: &[u8]) -> Vec<Parsed> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| {
            let rest = line
                .strip_prefix("::error ")
                .unwrap_or_else(|| panic!("not an ::error command: {line}"));
            let (properties, message) = rest.split_once("::").expect("`::` before the message");
            let mut parsed = Parsed {
                file: String::new(),
                line: None,
                col: None,
                title: String::new(),
                message: unescape(message),
            };
            for property in properties.split(',') {
                let (key, value) = property.split_once('=').expect("key=value");
                let value = unescape(value);
                match key {
                    "file" => parsed.file = value,
                    "line" => parsed.line = Some(value.parse().unwrap()),
                    "col" => parsed.col = Some(value.parse().unwrap()),
                    "title" => parsed.title = value,
                    other => panic!("unknown property {other}"),
                }
            }
            parsed
        })
        .collect()
}

/// A profile and its freshly generated compose file in `dir`.
fn project(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let profile = write_profile(dir, "ci.toml", PROFILE);
    let compose = dir.join("compose.yaml");
    let out = mcpm(dir)
        .args(["docker", "generate"])
        .arg(&profile)
        .arg("-o")
        .arg(&compose)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (profile, compose)
}

/// The 1-based line of `  NAME:` in `text`.
fn service_line(text: &str, name: &str) -> usize {
    text.lines()
        .position(|line| line == format!("  {name}:"))
        .expect("service in the file")
        + 1
}

/// Edits the `fetch` service's image in the file (a hand edit, or a stale file).
fn drift_fetch(compose: &Path) -> String {
    let text = fs::read_to_string(compose).unwrap();
    let at = service_line(&text, "fetch");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let image = (at..lines.len())
        .find(|i| lines[*i].trim_start().starts_with("image:"))
        .unwrap();
    lines[image] = "    image: example.org/fetch:drifted".into();
    let edited = lines.join("\n") + "\n";
    fs::write(compose, &edited).unwrap();
    edited
}

/// `mcpm docker COMMAND PROFILE --check --format github`, which must exit 4:
/// its workflow commands, parsed.
fn check_github(dir: &Path, command: &str, profile: &Path) -> Vec<Parsed> {
    let out = mcpm(dir)
        .args(["docker", command])
        .arg(profile)
        .args(["--check", "--format", "github"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    // The error still says what happened, on stderr.
    assert!(stderr.contains("error: "), "{stderr}");
    parse_commands(&out.stdout)
}

#[test]
fn generate_check_github_annotates_the_drifted_service_line() {
    let dir = tempfile::tempdir().unwrap();
    let (profile, compose) = project(dir.path());
    let text = drift_fetch(&compose);
    let commands = check_github(dir.path(), "generate", &profile);
    assert_eq!(commands.len(), 1, "{commands:?}");
    let error = &commands[0];
    assert_eq!(Path::new(&error.file), compose);
    assert_eq!(error.line, Some(service_line(&text, "fetch")));
    assert_eq!(error.col, Some(3));
    assert_eq!(error.title, "mcpm: stale compose file");
    assert!(
        error
            .message
            .starts_with("service `fetch` differs from what profile"),
        "{}",
        error.message
    );
    assert!(error.message.contains("(image)"), "{}", error.message);
    assert!(
        error
            .message
            .contains("\nregenerate it: mcpm docker generate")
    );
}

#[test]
fn generate_check_json_and_the_old_json_flag_agree() {
    let dir = tempfile::tempdir().unwrap();
    let (profile, compose) = project(dir.path());
    let text = drift_fetch(&compose);
    let run = |flags: &[&str]| {
        let out = mcpm(dir.path())
            .args(["docker", "generate"])
            .arg(&profile)
            .arg("--check")
            .args(flags)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(4));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("one JSON document")
    };
    let report = run(&["--format", "json"]);
    assert_eq!(report, run(&["--json"]));
    assert_eq!(report["status"], "stale");
    assert_eq!(report["drift"][0]["service"], "fetch");
    assert_eq!(report["drift"][0]["line"], service_line(&text, "fetch"));
    assert_eq!(report["drift"][0]["fields"], serde_json::json!(["image"]));
}

#[test]
fn format_github_without_check_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (profile, _) = project(dir.path());
    for command in ["generate", "sync"] {
        let out = mcpm(dir.path())
            .args(["docker", command])
            .arg(&profile)
            .args(["--format", "github"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--check") && stderr.contains("hint:"),
            "{stderr}"
        );
    }
    let out = mcpm(dir.path())
        .args(["docker", "generate"])
        .arg(&profile)
        .args(["--check", "--json", "--format", "text"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--json and --format conflict");
}

#[test]
fn sync_check_github_annotates_the_edited_service() {
    let dir = tempfile::tempdir().unwrap();
    let (profile, compose) = project(dir.path());
    // Record a base, so the edit below reads as a compose-side change.
    let out = mcpm(dir.path())
        .args(["docker", "sync"])
        .arg(&profile)
        .arg("--yes")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(&compose).unwrap();
    let (head, time) = text.split_at(text.find("  time:\n").unwrap());
    let text = format!(
        "{head}{}",
        time.replacen("mem_limit: \"512m\"", "mem_limit: \"256m\"", 1)
    );
    fs::write(&compose, &text).unwrap();
    let before = fs::read(&compose).unwrap();
    let commands = check_github(dir.path(), "sync", &profile);
    assert_eq!(
        fs::read(&compose).unwrap(),
        before,
        "a check writes nothing"
    );
    assert_eq!(commands.len(), 1, "{commands:?}");
    assert_eq!(Path::new(&commands[0].file), compose);
    assert_eq!(commands[0].line, Some(service_line(&text, "time")));
    assert!(
        commands[0].message.contains("server `time`")
            && commands[0].message.contains("compose → profile"),
        "{}",
        commands[0].message
    );
}

#[test]
fn docker_check_takes_a_commits_files() {
    let dir = tempfile::tempdir().unwrap();
    let (profile, compose) = project(dir.path());
    let cargo = dir.path().join("Cargo.toml");
    fs::write(&cargo, "[package]\nname = \"other\"\n").unwrap();
    let check = |files: &[&Path], extra: &[&str]| {
        mcpm(dir.path())
            .args(["docker", "check"])
            .args(extra)
            .args(files)
            .output()
            .unwrap()
    };
    let ok = check(&[&cargo, &profile, &compose], &[]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stderr).contains("is up to date"));
    let ok = check(&[&cargo, &profile], &["--sync"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let text = drift_fetch(&compose);
    // The compose file alone stands for its profile.
    let stale = check(&[&compose], &["--format", "github"]);
    assert_eq!(stale.status.code(), Some(4));
    let commands = parse_commands(&stale.stdout);
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0].line, Some(service_line(&text, "fetch")));
    let stale = check(&[&profile, &compose], &["--format", "json"]);
    assert_eq!(stale.status.code(), Some(4));
    let report: serde_json::Value = serde_json::from_slice(&stale.stdout).unwrap();
    assert_eq!(report["status"], "failed");
    assert_eq!(
        report["profiles"].as_array().unwrap().len(),
        1,
        "one profile, once"
    );
    // Nothing of mcpm's: nothing to check.
    let none = check(&[&cargo], &[]);
    assert!(none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("nothing to check"));
}

#[test]
fn docker_check_reports_a_broken_profile_on_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write_profile(
        dir.path(),
        "bad.toml",
        "name = \"bad\"\n[servers.time]\ncommand = \"uvx\"\nbogus = 1\n",
    );
    let out = mcpm(dir.path())
        .args(["docker", "check", "--format", "github"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let commands = parse_commands(&out.stdout);
    assert_eq!(commands.len(), 1);
    assert_eq!(Path::new(&commands[0].file), bad);
    assert_eq!(commands[0].line, Some(4));
    assert!(
        commands[0].message.contains("bogus"),
        "{}",
        commands[0].message
    );
}

#[test]
fn version_names_the_commit() {
    let out = mcpm(Path::new("/nonexistent"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("mcpm {} (", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(common::root())
        .output()
        .ok()
        .filter(|out| out.status.success());
    match head {
        Some(head) => {
            let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
            assert!(
                text.contains(&format!("(commit {head})")),
                "{text} vs {head}"
            );
        }
        None => assert!(text.contains("not built from a git checkout"), "{text}"),
    }
}
