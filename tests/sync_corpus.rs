//! Lossless sync over real compose files (`../shared/corpus/awesome-compose/`):
//! two servers are synced into each, and every comment, anchor and foreign
//! service must still be there, parsing the same; a second sync writes nothing.
mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{mcpm, shared_dir};
use serde_yaml_ng::Value;

const PROFILE: &str = "name = \"corpus\"\n[docker]\ncompose_file = \"compose.yaml\"\n\n[servers.fetch]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\"]\n\n[servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n";

fn corpus() -> Option<Vec<PathBuf>> {
    let dir = shared_dir()?.join("corpus/awesome-compose");
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    Some(files)
}

fn comments(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.find('#').map(|at| line[at..].trim().to_string()))
        .filter(|c| c.len() > 1)
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|word| word.starts_with('&') || word.starts_with('*'))
        .map(str::to_string)
        .collect()
}

/// `NAME='value'` lines of a `.env` file mcpm wrote.
fn dotenv(path: &Path) -> Vec<(String, String)> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_string(), value.trim_matches('\'').to_string()))
        .collect()
}

fn reveal(value: Value, secrets: &[(String, String)]) -> Value {
    match value {
        Value::String(mut text) => {
            for (name, secret) in secrets {
                text = text.replace(&format!("${{{name}}}"), secret);
            }
            Value::String(text)
        }
        Value::Sequence(items) => {
            Value::Sequence(items.into_iter().map(|v| reveal(v, secrets)).collect())
        }
        Value::Mapping(map) => Value::Mapping(
            map.into_iter()
                .map(|(k, v)| (k, reveal(v, secrets)))
                .collect(),
        ),
        other => other,
    }
}

fn sync(dir: &Path, extra: &[&str]) -> std::process::Output {
    mcpm(dir)
        .args(["docker", "sync"])
        .arg(dir.join("corpus.toml"))
        .args(extra)
        .output()
        .unwrap()
}

fn check_file(original_path: &Path, direction: &[&str]) -> Result<(), String> {
    let name = original_path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let original = fs::read_to_string(original_path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("corpus.toml"), PROFILE).unwrap();
    fs::write(dir.path().join("compose.yaml"), &original).unwrap();
    let output = sync(dir.path(), direction);
    if !output.status.success() {
        return Err(format!(
            "{name}: sync failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let synced = fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    let before: Value = serde_yaml_ng::from_str(&original).unwrap();
    let after: Value = serde_yaml_ng::from_str(&synced)
        .map_err(|e| format!("{name}: result does not parse: {e}"))?;
    // Importing moves literal secrets to .env as ${VAR}: read them back.
    let after = reveal(after, &dotenv(&dir.path().join(".env")));
    for comment in comments(&original) {
        if !synced.contains(&comment) {
            return Err(format!("{name}: lost comment {comment:?}"));
        }
    }
    for anchor in anchors(&original) {
        if !synced.contains(&anchor) {
            return Err(format!("{name}: lost anchor or alias {anchor}"));
        }
    }
    let importing = direction.contains(&"--import");
    for (key, value) in before.as_mapping().unwrap() {
        if key.as_str() == Some("services") {
            for (service, definition) in value.as_mapping().unwrap() {
                let now = &after["services"][service];
                // An imported service gains mcpm's labels and nothing else.
                let mut stripped = now.clone();
                if importing
                    && let Some(labels) = stripped.get_mut("labels").and_then(Value::as_mapping_mut)
                {
                    labels.retain(|k, _| !k.as_str().is_some_and(|k| k.starts_with("io.mcpm.")));
                    if labels.is_empty() && definition.get("labels").is_none() {
                        stripped.as_mapping_mut().unwrap().remove("labels");
                    }
                }
                if &stripped != definition {
                    return Err(format!("{name}: service {service:?} changed"));
                }
            }
        } else if key.as_str() != Some("networks")
            && key.as_str() != Some("volumes")
            && after.get(key) != Some(value)
        {
            return Err(format!("{name}: top-level {key:?} changed"));
        } else if let Some(map) = value.as_mapping() {
            for (entry, definition) in map {
                if after[key].get(entry) != Some(definition) {
                    return Err(format!("{name}: {key:?}.{entry:?} changed"));
                }
            }
        }
    }
    for server in ["fetch", "time"] {
        if !after["services"][server].is_mapping() {
            return Err(format!("{name}: {server} was not added"));
        }
    }
    let output = sync(dir.path(), direction);
    let again = fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    if !output.status.success() || again != synced {
        return Err(format!(
            "{name}: the second sync changed the file: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

#[test]
fn syncing_into_real_compose_files_loses_nothing() {
    let Some(files) = corpus() else { return };
    assert!(files.len() >= 30, "the corpus is there");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|file| check_file(file, &["--direction", "to-docker"]).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn importing_real_compose_files_is_stable() {
    let Some(files) = corpus() else { return };
    let failures: Vec<String> = files
        .iter()
        .filter_map(|file| check_file(file, &["--import"]).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
