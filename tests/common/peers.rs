//! Where the tests find the real peers `scripts/test-engine.sh` prepares: the
//! process environment first, then `target/test-engine.env` (so `cargo test`
//! works without the env loaded). One lookup for every test binary.
#![allow(dead_code)] // each test binary uses part of it
use std::path::Path;

/// A variable of the test environment (`MCPM_TEST_*`).
pub fn test_var(name: &str) -> Option<String> {
    if let Ok(value) = std::env::var(name) {
        return Some(value).filter(|value| !value.is_empty());
    }
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-engine.env");
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|value| !value.is_empty())
}

/// The Python of the venv with the official MCP SDK and `mcp-server-time`
/// (`MCPM_TEST_PYTHON`), or `None` after saying why; under `CI` its absence
/// fails the test instead of skipping it.
pub fn mcp_python() -> Option<String> {
    let python = test_var("MCPM_TEST_PYTHON");
    if python.is_none() {
        let why = "MCPM_TEST_PYTHON is not set (run scripts/test-engine.sh, or point it at a venv's python with `mcp` and `mcp-server-time`)";
        if std::env::var_os("CI").is_some() {
            panic!("real-peer test cannot run in CI: {why}");
        }
        eprintln!("skipped: {why}");
    }
    python
}
