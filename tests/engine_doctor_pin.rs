//! `mcpm docker doctor --pin` against the real Docker Engine and the local
//! test registry (`scripts/test-engine.sh`; skipped without them, failing
//! under `CI`): unpinned images are resolved and written to the profile.
#[path = "engine/support.rs"]
#[allow(dead_code)] // the helpers other engine tests use
mod support;

use std::path::Path;

use serde_json::Value;
use support::{docker, docker_ok, engine, stderr, stdout, test_var};

/// `mcpm` with a private config dir (`common::mcpm` does the same; that
/// module cannot be loaded beside `support`, which loads its `peers`).
fn mcpm(config_dir: &Path) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("mcpm").expect("binary builds");
    command.env("MCPM_CONFIG_DIR", config_dir).env_remove("CI");
    command
}

/// Removes the image tags it holds on drop.
struct Tags(Vec<String>);

impl Drop for Tags {
    fn drop(&mut self) {
        for tag in &self.0 {
            docker(&["rmi", "-f", tag]);
        }
    }
}

fn profile_text(servers: &[(&str, &str)]) -> String {
    let mut text = String::from("# pinned by doctor\nname = \"pin\"\n");
    for (name, image) in servers {
        text.push_str(&format!(
            "\n[servers.{name}]  # {name}'s own comment\ncommand = \"sleep\"\nargs = [\"3600\"]\n[servers.{name}.docker]\nimage = \"{image}\"\n"
        ));
    }
    text
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}\n{}", stdout(out), stderr(out)))
}

fn generate(config: &Path, profile: &Path) -> Value {
    let out = mcpm(config)
        .args(["docker", "generate"])
        .arg(profile)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_yaml_ng::from_slice(&out.stdout).expect("YAML")
}

#[test]
fn pin_writes_the_registry_digest_and_reports_what_it_cannot_pin() {
    let Some(env) = engine() else { return };
    let registry = test_var("MCPM_TEST_REGISTRY").unwrap_or_else(|| "127.0.0.1:5000".into());
    let id = std::process::id();
    let pushed = format!("{registry}/mcpm-test/doctor-pin-{id}:latest");
    let never = format!("{registry}/mcpm-test/doctor-never-pushed-{id}");
    let _tags = Tags(vec![pushed.clone(), format!("{never}:latest")]);
    docker_ok(&["tag", &env.image, &pushed]);
    docker_ok(&["push", &pushed]);
    let repo_digests = docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .RepoDigests}}",
        &pushed,
    ]);
    let repo_digests: Vec<String> = serde_json::from_str(repo_digests.trim()).unwrap();
    let repository = pushed.trim_end_matches(":latest");
    let digest = repo_digests
        .iter()
        .find_map(|d| d.strip_prefix(&format!("{repository}@")))
        .unwrap_or_else(|| panic!("no digest for {repository} in {repo_digests:?}"))
        .to_string();
    // An image that exists only on this engine: nothing to pin it to.
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("hello"), "hi\n").unwrap();
    let imported = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -c -C '{}' . | docker import - '{never}'",
            empty.path().display()
        ))
        .output()
        .unwrap();
    assert!(imported.status.success(), "{}", stderr(&imported));

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir(&config).unwrap();
    let profile = dir.path().join("pin.toml");
    // Two servers on the same image (asked once), one never pushed.
    let original = profile_text(&[("first", &pushed), ("second", &pushed), ("local", &never)]);
    std::fs::write(&profile, &original).unwrap();

    let out = mcpm(&config)
        .args(["docker", "doctor", "--pin", "--json"])
        .arg(&profile)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    let pinned = format!("{pushed}@{digest}");
    let fixed = report["fixed"].as_array().unwrap();
    let mut fixed_servers: Vec<&str> = fixed
        .iter()
        .map(|f| {
            assert_eq!(f["check"], "unpinned-image", "{f:#}");
            assert!(f["fix"].as_str().unwrap().contains(&pinned), "{f:#}");
            f["server"].as_str().unwrap()
        })
        .collect();
    fixed_servers.sort_unstable();
    assert_eq!(fixed_servers, ["first", "second"], "{report:#}");
    // The unpinned finding left is the image that cannot be pinned, saying why.
    let left: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "unpinned-image")
        .collect();
    assert_eq!(left.len(), 1, "{report:#}");
    assert_eq!(left[0]["server"], "local");
    assert!(
        left[0]["message"]
            .as_str()
            .unwrap()
            .contains("never pushed to or pulled from"),
        "{:#}",
        left[0]
    );
    assert!(left[0]["fix"].as_str().unwrap().contains("docker push"));

    // The profile names the digest, losslessly; the original is the .bak.
    let text = std::fs::read_to_string(&profile).unwrap();
    assert_eq!(
        text.matches(&format!("image = \"{pinned}\"")).count(),
        2,
        "{text}"
    );
    assert!(text.contains(&format!("image = \"{never}\"")), "{text}");
    for kept in [
        "# pinned by doctor",
        "# first's own comment",
        "# local's own comment",
    ] {
        assert!(text.contains(kept), "{kept} in:\n{text}");
    }
    let backup = dir.path().join("pin.toml.bak");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), original);

    let yaml = generate(&config, &profile);
    assert_eq!(yaml["services"]["first"]["image"].as_str(), Some(&*pinned));
    assert_eq!(yaml["services"]["second"]["image"].as_str(), Some(&*pinned));
    assert_eq!(yaml["services"]["local"]["image"].as_str(), Some(&*never));

    // Nothing left to pin for the first two: a second run writes nothing.
    let out = mcpm(&config)
        .args(["docker", "doctor", "--pin", "--json"])
        .arg(&profile)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["fixed"], serde_json::json!([]));
    assert_eq!(std::fs::read_to_string(&profile).unwrap(), text);

    // The registry answers when the image is no longer on this engine.
    std::fs::write(&profile, &original).unwrap();
    docker_ok(&["rmi", &pushed]);
    let out = mcpm(&config)
        .args(["docker", "doctor", "--pin"])
        .arg(&profile)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("digest from the registry"),
        "{}",
        stdout(&out)
    );
    assert_eq!(std::fs::read_to_string(&profile).unwrap(), text);
}

#[test]
fn pin_without_an_engine_fails_and_writes_nothing() {
    // No engine needed: the test points mcpm at a socket nobody serves.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir(&config).unwrap();
    let profile = dir.path().join("pin.toml");
    let original = profile_text(&[("first", "127.0.0.1:5000/mcpm-test/none:latest")]);
    std::fs::write(&profile, &original).unwrap();
    let socket = dir.path().join("no-engine.sock");
    let out = mcpm(&config)
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .args(["docker", "doctor", "--pin", "--fix"])
        .arg(&profile)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--pin needs the Docker Engine"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&profile).unwrap(), original);
    assert!(!dir.path().join("pin.toml.bak").exists());

    // Without --pin the same profile is only reported, engine or not.
    let out = mcpm(&config)
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .args(["docker", "doctor"])
        .arg(&profile)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("[unpinned-image] server `first`"));
}
