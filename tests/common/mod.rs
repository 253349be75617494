//! Helpers shared by the integration tests.
#![allow(dead_code)]
use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub mod peers;
pub mod secrets;

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `mcpm` with a private, empty config dir so the user's own never leaks in.
pub fn mcpm(config_dir: &Path) -> Command {
    let mut command = Command::cargo_bin("mcpm").expect("binary builds");
    command
        .env("MCPM_CONFIG_DIR", config_dir)
        .env_remove("CI")
        .current_dir(root());
    command
}

/// The shared folder beside the repository (SPEC, schema, corpus), if present.
/// Outside CI its absence skips a test with a message; in CI it is a failure.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = root().join("../shared");
    if dir.join("compose-spec.json").is_file() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!("../shared is missing in CI: the schema and corpus tests cannot run");
    }
    eprintln!("skipped: ../shared/compose-spec.json is not beside this clone");
    None
}

/// Every example profile and test fixture profile.
pub fn all_profiles() -> Vec<PathBuf> {
    let mut profiles = Vec::new();
    for dir in ["profiles-example", "tests/fixtures/profiles"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .expect("profile dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        found.sort();
        profiles.extend(found);
    }
    profiles
}

/// Writes `text` as a profile file in `dir` and returns its path.
pub fn write_profile(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write profile");
    path
}

/// A validator for the Compose Specification's JSON schema, when `../shared`
/// is beside this clone (see [`shared_dir`]).
pub fn compose_validator() -> Option<jsonschema::Validator> {
    let shared = shared_dir()?;
    let text = std::fs::read_to_string(shared.join("compose-spec.json")).expect("read the schema");
    let mut schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    // The schema names draft 7 by a URL without the trailing `#`, which the
    // validator would try to fetch; drop it and name the draft outright.
    schema.as_object_mut().unwrap().remove("$schema");
    Some(jsonschema::draft7::new(&schema).expect("the schema compiles"))
}
