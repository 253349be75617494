//! Hostile input through the real binary: text YAML cannot carry raw, compose
//! files a person broke by hand, compose files in the wrong place, non-UTF-8
//! bytes and absurd nesting. Every case ends in a written file mcpm can read
//! back, or a clear error (exit 2) that names the file; never "a bug in mcpm",
//! never a panic.
mod common;

use std::fs;
use std::path::PathBuf;

use common::mcpm;
use serde_yaml_ng::Value;

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new(profile: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("team.toml"), profile).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        mcpm(&self.path("config")).args(args).assert()
    }

    fn sync(&self, extra: &[&str]) -> assert_cmd::assert::Assert {
        mcpm(&self.path("config"))
            .args(["docker", "sync"])
            .arg(self.path("team.toml"))
            .args(extra)
            .assert()
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap()
    }

    fn write(&self, name: &str, text: &str) {
        fs::write(self.path(name), text).unwrap();
    }
}

fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// A user error: exit 2, no "bug" hint, no panic.
fn refused(assert: assert_cmd::assert::Assert) -> String {
    let assert = assert.code(2);
    let text = stderr(&assert);
    assert!(!text.contains("bug in mcpm"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    text
}

const PROFILE: &str = r#"name = "team"

[docker]
compose_file = "compose.yaml"

[servers.fetch]
command = "uvx"
args = ["mcp-server-fetch"]
"#;

// ---- item 6: every written compose file reads back as written ----

/// A profile whose values hold every character YAML cannot carry raw: C0 and
/// C1 controls, NEL, the line and paragraph separators, the non-characters,
/// a BOM, and label keys with NEL and the separators in them.
fn odd_profile() -> String {
    r#"name = "team"

[docker]
compose_file = "compose.yaml"

[servers.fetch]
command = "uvx"
args = ["mcp-server-fetch", "--a=\u0085", "--b=\u2028\u2029", "--c=\uFFFE\uFFFF", "--d=\u0080\u009F\u001B"]
env = { MODE = "a\u0085b", BOM = "\uFEFFx", ON = "on", SEP = "x\u2028y" }

[servers.fetch.docker]
labels = { "odd\u0085key" = "v\u0085", "sep\u2028key" = "\u2029" }
"#
    .to_string()
}

#[test]
fn generate_writes_a_file_that_reads_back_as_the_profile_says() {
    let dir = Dir::new(&odd_profile());
    let out = dir.path("out.yaml");
    mcpm(&dir.path("config"))
        .args(["docker", "generate"])
        .arg(dir.path("team.toml"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let text = fs::read_to_string(&out).unwrap();
    let document: Value = serde_yaml_ng::from_str(&text).expect("the written file parses");
    let service = &document["services"]["fetch"];
    assert_eq!(service["environment"]["MODE"], Value::from("a\u{85}b"));
    assert_eq!(service["environment"]["SEP"], Value::from("x\u{2028}y"));
    assert_eq!(service["labels"]["odd\u{85}key"], Value::from("v\u{85}"));
    assert_eq!(service["labels"]["sep\u{2028}key"], Value::from("\u{2029}"));
    for raw in [
        '\u{85}', '\u{2028}', '\u{2029}', '\u{fffe}', '\u{ffff}', '\u{80}', '\u{9f}',
    ] {
        assert!(!text.contains(raw), "{raw:?} is written raw");
    }
}

#[test]
fn a_key_too_long_for_yaml_is_refused_naming_the_server() {
    let dir = Dir::new(&format!(
        "{PROFILE}\n[servers.fetch.docker]\nlabels = {{ \"k{}\" = \"v\" }}\n",
        "x".repeat(1100)
    ));
    let text = refused(
        mcpm(&dir.path("config"))
            .args(["docker", "generate"])
            .arg(dir.path("team.toml"))
            .arg("-o")
            .arg(dir.path("out.yaml"))
            .assert(),
    );
    assert!(text.contains("server `fetch`"), "{text}");
    assert!(text.contains("1024"), "{text}");
    assert!(!dir.path("out.yaml").exists());
    refused(dir.sync(&[]));
    assert!(!dir.path("compose.yaml").exists());
}

#[test]
fn odd_text_survives_two_syncs_unchanged() {
    let dir = Dir::new(&odd_profile());
    dir.sync(&[]).success();
    let profile = dir.read("team.toml");
    let compose = dir.read("compose.yaml");
    serde_yaml_ng::from_str::<Value>(&compose).expect("the first sync writes YAML");
    let second = dir.sync(&[]).success();
    assert!(stderr(&second).is_empty() || !stderr(&second).contains("error"));
    assert_eq!(dir.read("team.toml"), profile, "the profile was rewritten");
    assert_eq!(
        dir.read("compose.yaml"),
        compose,
        "the compose file was rewritten"
    );
}

// ---- item 10: hand-edited compose files are user input, not bugs ----

fn synced() -> (Dir, String) {
    let dir = Dir::new(PROFILE);
    dir.sync(&[]).success();
    let compose = dir.read("compose.yaml");
    (dir, compose)
}

#[test]
fn a_file_with_only_a_null_volumes_key_is_not_a_compose_document() {
    let (dir, _) = synced();
    dir.write("compose.yaml", "volumes:\n");
    let text = refused(dir.sync(&[]));
    assert!(text.contains("not a compose file"), "{text}");
    assert_eq!(dir.read("compose.yaml"), "volumes:\n");
}

#[test]
fn null_volumes_and_networks_beside_services_get_the_services() {
    let (dir, _) = synced();
    dir.write("compose.yaml", "services:\nvolumes:\nnetworks:\n");
    dir.sync(&[]).success();
    let document: Value = serde_yaml_ng::from_str(&dir.read("compose.yaml")).unwrap();
    assert!(document["services"]["fetch"].is_mapping());
    dir.sync(&["--check"]).success();
}

#[test]
fn an_empty_services_key_with_direction_to_profile() {
    let (dir, _) = synced();
    dir.write("compose.yaml", "services:\n");
    let assert = dir.sync(&["--direction", "to-profile"]);
    let text = stderr(&assert);
    assert!(!text.contains("bug in mcpm"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    // With no base in the file, the profile's server is simply not in the
    // file yet: to-profile has nothing to bring across and leaves it alone.
    assert.success();
    assert_eq!(dir.read("team.toml"), PROFILE);
}

#[test]
fn services_that_is_not_a_mapping_is_refused_with_its_line() {
    let (dir, _) = synced();
    dir.write("compose.yaml", "name: x\nservices:\n  - fetch\n");
    let text = refused(dir.sync(&[]));
    assert!(text.contains("compose.yaml:2:"), "{text}");
    assert!(text.contains("`services`"), "{text}");
}

#[test]
fn restart_policy_at_service_level_is_refused_with_its_line() {
    let (dir, compose) = synced();
    let edited = compose.replacen(
        "    image: mcp/fetch\n",
        "    image: mcp/fetch\n    restart_policy: always\n",
        1,
    );
    dir.write("compose.yaml", &edited);
    let text = refused(dir.sync(&[]));
    assert!(text.contains("restart_policy"), "{text}");
    assert!(text.contains("compose.yaml:7:5"), "{text}");
    assert!(text.contains("hint:"), "{text}");
    assert_eq!(dir.read("team.toml"), PROFILE);
    assert_eq!(dir.read("compose.yaml"), edited);
}

#[test]
fn restart_policy_under_deploy_is_brought_into_the_profile() {
    let (dir, compose) = synced();
    dir.write(
        "compose.yaml",
        &compose.replacen(
            "    image: mcp/fetch\n",
            "    image: mcp/fetch\n    deploy:\n      restart_policy:\n        condition: on-failure\n",
            1,
        ),
    );
    dir.sync(&[]).success();
    assert!(dir.read("team.toml").contains("restart_policy"));
    dir.sync(&["--check"]).success();
}

#[test]
fn a_deleted_image_in_an_owned_service_is_refused_with_its_line() {
    let (dir, compose) = synced();
    let edited = compose.replacen("    image: mcp/fetch\n", "", 1);
    dir.write("compose.yaml", &edited);
    let text = refused(dir.sync(&[]));
    assert!(text.contains("image"), "{text}");
    assert!(text.contains("compose.yaml:5:3"), "{text}");
    assert_eq!(dir.read("team.toml"), PROFILE);
    assert_eq!(dir.read("compose.yaml"), edited);
}

// ---- item 11: no input makes the importer panic ----

#[test]
fn a_json_error_on_a_multibyte_character_is_located() {
    let dir = Dir::new(PROFILE);
    dir.write(
        "claude.json",
        "{\"mcpServers\": {\"caf\u{e9}\": {\"command\": \"uvx\" \u{e9}\u{e9}}}}\n",
    );
    let text = refused(
        mcpm(&dir.path("config"))
            .args(["profile", "import"])
            .arg(dir.path("claude.json"))
            .assert(),
    );
    assert!(text.contains("claude.json:1:"), "{text}");
}

// ---- item 12: the compose file's location and content ----

fn with_compose_file(value: &str) -> Dir {
    Dir::new(&PROFILE.replace("\"compose.yaml\"", value))
}

#[test]
fn compose_file_must_end_in_yml_or_yaml() {
    let dir = with_compose_file("\"settings.json\"");
    dir.write("settings.json", "{\"a\": 1}\n");
    let text = refused(dir.sync(&[]));
    assert!(text.contains("team.toml:4:"), "{text}");
    assert!(text.contains(".yml"), "{text}");
    assert_eq!(dir.read("settings.json"), "{\"a\": 1}\n");
}

#[test]
fn a_yaml_file_that_is_not_a_compose_document_is_never_written() {
    let dir = Dir::new("");
    fs::create_dir(dir.path("repo")).unwrap();
    fs::create_dir(dir.path("victim")).unwrap();
    let profile = dir.path("repo/team.toml");
    fs::write(
        &profile,
        PROFILE.replace("\"compose.yaml\"", "\"../victim/settings.yml\""),
    )
    .unwrap();
    let victim = dir.path("victim/settings.yml");
    for content in ["theme: dark\nfont: 12\n", "{\"editor\": {\"tabs\": 4}}\n"] {
        fs::write(&victim, content).unwrap();
        let text = refused(
            mcpm(&dir.path("config"))
                .args(["docker", "sync"])
                .arg(&profile)
                .assert(),
        );
        assert!(text.contains("settings.yml"), "{text}");
        assert!(text.contains("not a compose"), "{text}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), content);
        let written: Vec<_> = fs::read_dir(dir.path("victim"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(written, ["settings.yml"], "mcpm wrote beside the file");
    }
}

#[test]
fn compose_documents_and_empty_files_are_written() {
    for content in [
        "",
        "# just a comment\n",
        "x-mcpm:\n  profile: team\n  base: {}\n",
        "services: {}\n",
    ] {
        let dir = Dir::new(PROFILE);
        dir.write("compose.yaml", content);
        dir.sync(&[]).success();
        let document: Value = serde_yaml_ng::from_str(&dir.read("compose.yaml")).unwrap();
        assert!(document["services"]["fetch"].is_mapping(), "{content:?}");
    }
}

#[test]
fn the_content_rule_holds_for_an_explicit_compose_file() {
    let dir = Dir::new(PROFILE);
    dir.write("other.yml", "theme: dark\n");
    let text = refused(dir.sync(&["-f", dir.path("other.yml").to_str().unwrap()]));
    assert!(text.contains("other.yml"), "{text}");
    assert_eq!(dir.read("other.yml"), "theme: dark\n");
}

#[test]
fn a_profile_in_the_config_dir_syncs_with_its_own_compose_file() {
    let dir = Dir::new(PROFILE);
    let profiles = dir.path("config/profiles");
    fs::create_dir_all(&profiles).unwrap();
    let text = PROFILE.replace("[docker]\ncompose_file = \"compose.yaml\"\n", "");
    fs::write(profiles.join("team.toml"), &text).unwrap();
    dir.run(&["docker", "sync", "team"]).success();
    let expected = dir.path("config/compose/team/compose.yaml");
    assert!(expected.is_file(), "no file at {}", expected.display());
    assert!(!profiles.join("docker-compose.yml").exists());
    dir.run(&["docker", "generate", "team", "--check"])
        .success();
}

// ---- item 13: non-UTF-8 input and absurd nesting ----

#[test]
fn a_non_utf8_compose_file_is_refused_with_its_line() {
    let (dir, _) = synced();
    fs::write(
        dir.path("compose.yaml"),
        b"name: x\nservices:\n  a: \"\xff\"\n",
    )
    .unwrap();
    let text = refused(dir.sync(&[]));
    assert!(text.contains("compose.yaml"), "{text}");
    assert!(text.contains("UTF-8"), "{text}");
    assert!(text.contains(":3:"), "{text}");
}

#[test]
fn a_non_utf8_profile_is_refused_with_its_line() {
    let dir = Dir::new(PROFILE);
    fs::write(dir.path("team.toml"), b"name = \"team\"\n# caf\xe9\n").unwrap();
    let text = refused(dir.sync(&[]));
    assert!(text.contains("team.toml"), "{text}");
    assert!(text.contains("UTF-8"), "{text}");
    assert!(text.contains(":2:"), "{text}");
}

#[test]
fn deep_nesting_is_refused_at_once() {
    let (dir, _) = synced();
    for text in [
        format!("services: {}", "[".repeat(200_000)),
        format!("services: {}", "{a: ".repeat(100)),
        {
            let mut block = String::from("services:\n");
            for depth in 1..100 {
                block.push_str(&" ".repeat(depth * 2));
                block.push_str("- \n");
            }
            block
        },
    ] {
        dir.write("compose.yaml", &text);
        let started = std::time::Instant::now();
        let text = refused(dir.sync(&[]));
        assert!(
            started.elapsed().as_secs() < 5,
            "took {:?}",
            started.elapsed()
        );
        assert!(text.contains("nest"), "{text}");
        assert!(
            text.contains("compose.yaml:1:") || text.contains("compose.yaml:"),
            "{text}"
        );
    }
}

#[test]
fn non_utf8_files_read_by_status_and_generate_check_are_refused() {
    let (dir, compose) = synced();
    fs::write(dir.path("compose.yaml"), b"name: x\n\xc3\x28\n").unwrap();
    let status = refused(
        mcpm(&dir.path("config"))
            .args(["docker", "status", "-f"])
            .arg(dir.path("compose.yaml"))
            .assert(),
    );
    assert!(
        status.contains("UTF-8") && status.contains(":2:"),
        "{status}"
    );
    let check = refused(
        mcpm(&dir.path("config"))
            .args(["docker", "generate", "--check"])
            .arg(dir.path("team.toml"))
            .assert(),
    );
    assert!(
        check.contains("UTF-8") && check.contains("byte offset 8"),
        "{check}"
    );
    dir.write("compose.yaml", &compose);
    let templates = dir.path("config/templates");
    fs::create_dir_all(&templates).unwrap();
    fs::write(templates.join("odd.toml"), b"name = \"\xff\"\n").unwrap();
    let template = refused(dir.sync(&[]));
    assert!(
        template.contains("odd.toml") && template.contains("UTF-8"),
        "{template}"
    );
}

/// `generate -o` (with `--force` too) refuses a file that is not a compose
/// document before it takes its locks: nothing appears beside the file.
#[test]
fn generate_output_onto_a_non_compose_file_writes_nothing_beside_it() {
    let dir = Dir::new(PROFILE);
    fs::create_dir(dir.path("victim")).unwrap();
    let victim = dir.path("victim/settings.yml");
    for force in [false, true] {
        fs::write(&victim, "theme: dark\n").unwrap();
        let mut command = mcpm(&dir.path("config"));
        command
            .args(["docker", "generate"])
            .arg(dir.path("team.toml"))
            .arg("-o")
            .arg(&victim);
        if force {
            command.arg("--force");
        }
        let text = refused(command.assert());
        assert!(text.contains("not a compose"), "{text}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "theme: dark\n");
        let beside: Vec<_> = fs::read_dir(dir.path("victim"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(beside, ["settings.yml"], "mcpm wrote beside the file");
    }
}
