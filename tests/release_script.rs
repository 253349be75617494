//! `scripts/release.sh --dry-run` on a copy of the repository's Cargo.toml
//! and a CHANGELOG.md written for each case: the version and CHANGELOG checks,
//! and that a dry run changes nothing.
mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::root;

/// A scratch copy of what the script reads, with `changelog` as CHANGELOG.md.
fn scratch(changelog: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("scripts")).unwrap();
    fs::copy(
        root().join("scripts/release.sh"),
        dir.path().join("scripts/release.sh"),
    )
    .unwrap();
    fs::copy(root().join("Cargo.toml"), dir.path().join("Cargo.toml")).unwrap();
    fs::write(dir.path().join("CHANGELOG.md"), changelog).unwrap();
    dir
}

fn release(dir: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(dir.join("scripts/release.sh"))
        .args(args)
        .output()
        .unwrap()
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const NEXT: &str = "99.0.0";

#[test]
fn a_dry_run_with_the_changelog_section_shows_the_plan_and_changes_nothing() {
    let changelog = format!(
        "# Changelog\n\n## [Unreleased]\n\n## [{NEXT}] - 2026-11-30\n\n### Added\n- CI annotations.\n\n## [0.1.0] - 2026-01-01\n- First.\n"
    );
    let dir = scratch(&changelog);
    let before = fs::read(dir.path().join("Cargo.toml")).unwrap();
    let out = release(dir.path(), &[NEXT, "--dry-run"]);
    assert!(out.status.success(), "{}", said(&out));
    let text = said(&out);
    assert!(text.contains(&format!("-> {NEXT}")), "{text}");
    assert!(
        text.contains(&format!("## [{NEXT}] - 2026-11-30 (line 5)")),
        "{text}"
    );
    assert!(text.contains("dry run: nothing changed"), "{text}");
    assert!(text.contains(&format!("mcpm_{NEXT}-1_")), "{text}");
    assert_eq!(fs::read(dir.path().join("Cargo.toml")).unwrap(), before);
    assert_eq!(
        fs::read_to_string(dir.path().join("CHANGELOG.md")).unwrap(),
        changelog
    );
}

#[test]
fn a_missing_or_empty_section_is_refused_with_a_hint() {
    let dir = scratch("# Changelog\n\n## [Unreleased]\n- CI annotations.\n");
    let out = release(dir.path(), &[NEXT, "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    let text = said(&out);
    assert!(
        text.contains(&format!("no `## [{NEXT}] - YYYY-MM-DD` section")),
        "{text}"
    );
    assert!(text.contains("hint: rename `## [Unreleased]`"), "{text}");

    let dir = scratch(&format!(
        "# Changelog\n\n## [{NEXT}] - 2026-11-30\n\n## [0.1.0] - 2026-01-01\n- First.\n"
    ));
    let out = release(dir.path(), &[NEXT, "--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(said(&out).contains("is empty"), "{}", said(&out));

    // A heading without the date is not Keep a Changelog's.
    let dir = scratch(&format!("# Changelog\n\n## [{NEXT}]\n- x\n"));
    assert_eq!(
        release(dir.path(), &[NEXT, "--dry-run"]).status.code(),
        Some(2)
    );
}

#[test]
fn bad_and_old_versions_are_refused() {
    let dir =
        scratch("# Changelog\n\n## [0.0.1] - 2020-01-01\n- old\n## [0.1.0] - 2020-01-01\n- now\n");
    for (args, expected) in [
        (vec!["v1.0", "--dry-run"], "must be X.Y.Z"),
        (vec!["0.0.1", "--dry-run"], "not newer"),
        (vec![env!("CARGO_PKG_VERSION"), "--dry-run"], "not newer"),
        (vec!["--dry-run"], "usage:"),
        (vec!["1.0.0", "--bogus"], "usage:"),
    ] {
        let out = release(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", said(&out));
        assert!(said(&out).contains(expected), "{args:?}: {}", said(&out));
    }
}
