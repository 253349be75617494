//! Every compose file mcpm generates validates against the Compose
//! Specification's JSON schema (`../shared/compose-spec.json`).
mod common;

use common::{all_profiles, mcpm, shared_dir};

#[test]
fn every_generated_file_matches_the_compose_spec() {
    let Some(shared) = shared_dir() else { return };
    let mut schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(shared.join("compose-spec.json")).unwrap())
            .unwrap();
    // The schema names draft 7 by a URL without the trailing `#`, which the
    // validator would try to fetch; drop it and name the draft outright.
    schema.as_object_mut().unwrap().remove("$schema");
    let validator = jsonschema::draft7::new(&schema).expect("the schema compiles");
    let config = tempfile::tempdir().unwrap();
    let profiles = all_profiles();
    assert!(
        profiles.len() >= 3,
        "example and fixture profiles are found"
    );
    for profile in profiles {
        let output = mcpm(config.path())
            .args(["docker", "generate"])
            .arg(&profile)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: {}",
            profile.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let yaml: serde_json::Value = serde_yaml_ng::from_slice(&output.stdout).expect("YAML");
        let errors: Vec<String> = validator
            .iter_errors(&yaml)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{} does not validate:\n{}",
            profile.display(),
            errors.join("\n")
        );
    }
}

#[test]
fn the_large_profile_renders_at_least_100_servers() {
    let config = tempfile::tempdir().unwrap();
    let output = mcpm(config.path())
        .args([
            "docker",
            "generate",
            "tests/fixtures/profiles/large.toml",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let servers = report["servers"].as_array().unwrap();
    assert!(servers.len() >= 100, "{} servers", servers.len());
    let services = servers.iter().filter(|s| s["status"] == "service").count();
    assert!(services >= 80, "{services} services");
    for rule in ["explicit", "name", "package", "image", "command", "generic"] {
        assert!(
            servers.iter().any(|s| s["match"] == rule),
            "no server matched by rule {rule}"
        );
    }
}
