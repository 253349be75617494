//! Replays every input the fuzzers found (fuzz/regressions/TARGET/NAME)
//! through the same property checks the fuzz targets assert, so a crash once
//! found stays fixed under a plain `cargo test`.
//!
//! Inputs under fuzz/regressions/known/TARGET/ are crashes in areas whose fix
//! lands separately: they are replayed, their outcome printed, and they do not
//! fail the test; once one passes, move it up to fuzz/regressions/TARGET/.
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../fuzz/src/props.rs"]
mod props;

fn regressions() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions")
}

/// (target, file) for every regression input under `dir`.
fn inputs(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let Ok(targets) = std::fs::read_dir(dir) else {
        return found;
    };
    for target in targets.flatten() {
        let name = target.file_name().to_string_lossy().into_owned();
        if name == "known" || !target.path().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(target.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if file.path().is_file() {
                found.push((name.clone(), file.path()));
            }
        }
    }
    found.sort();
    found
}

/// The outcome of one replay: `Ok` or what went wrong (a violation or panic).
fn replay(target: &str, path: &Path) -> Result<(), String> {
    let data = std::fs::read(path).expect("regression input reads");
    match catch_unwind(AssertUnwindSafe(|| props::replay(target, &data))) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(violation)) => Err(format!("{:?}: {}", violation.kind, violation.message)),
        Err(panic) => Err(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("?")
        )),
    }
}

#[test]
fn every_fixed_regression_still_holds() {
    let inputs = inputs(&regressions());
    let failures: Vec<String> = inputs
        .iter()
        .filter_map(|(target, path)| {
            replay(target, path)
                .err()
                .map(|why| format!("{}: {why}", path.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} regression inputs fail:\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n\n")
    );
}

#[test]
fn known_regressions_are_reported() {
    for (target, path) in inputs(&regressions().join("known")) {
        match replay(&target, &path) {
            Ok(()) => println!(
                "note: {} passes now: move it to fuzz/regressions/{target}/",
                path.display()
            ),
            Err(why) => println!(
                "note: known failure {} (fixed elsewhere): {}",
                path.display(),
                why.lines().next().unwrap_or_default()
            ),
        }
    }
}

#[test]
fn the_seed_corpora_hold_the_properties() {
    // The seeds are real profiles, compose files and configs: each must pass.
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let inputs = inputs(&corpus);
    assert!(
        !inputs.is_empty(),
        "no seed corpus under {}",
        corpus.display()
    );
    let failures: Vec<String> = inputs
        .iter()
        .filter_map(|(target, path)| {
            replay(target, path)
                .err()
                .map(|why| format!("{}: {why}", path.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
