use std::path::Path;

use super::*;
use crate::ci::drift::{Drift, DriftKind};

const CURRENT: &str = "name: p\nservices:\n  fetch:\n    image: f:2\n";
const EXPECTED: &str = "name: p\nservices:\n  fetch:\n    image: f:1\n";

fn stale() -> Verdict {
    Verdict::Stale {
        current: CURRENT.into(),
        drift: vec![Drift {
            path: vec!["services".into(), "fetch".into()],
            kind: DriftKind::Changed,
            fields: vec!["image".into()],
        }],
    }
}

#[test]
fn text_shows_the_diff_and_ends_in_drift() {
    let report = generate_check(
        Path::new("dev.toml"),
        Path::new("c.yml"),
        &stale(),
        EXPECTED,
        Format::Text,
    );
    assert!(report.stdout.contains("-    image: f:2\n+    image: f:1"));
    assert_eq!(report.error.unwrap().status, ExitStatus::Drift);
}

#[test]
fn github_annotates_the_service_line() {
    let report = generate_check(
        Path::new("dev.toml"),
        Path::new("c.yml"),
        &stale(),
        EXPECTED,
        Format::Github,
    );
    assert!(
        report.stdout.starts_with("::error file=c.yml,line=3,col=3,title=mcpm%3A stale compose file::service `fetch` differs from what profile dev.toml generates (image)%0Aregenerate it: "),
        "{}",
        report.stdout
    );
    assert_eq!(report.stdout.lines().count(), 1);
    assert!(report.error.is_some());
}

#[test]
fn json_lists_the_drift_with_lines() {
    let report = generate_check(
        Path::new("dev.toml"),
        Path::new("c.yml"),
        &stale(),
        EXPECTED,
        Format::Json,
    );
    assert!(report.stdout.is_empty());
    assert_eq!(report.json["status"], "stale");
    assert_eq!(report.json["drift"][0]["service"], "fetch");
    assert_eq!(report.json["drift"][0]["line"], 3);
    assert_eq!(report.json["drift"][0]["kind"], "changed");
    assert_eq!(report.json["drift"][0]["fields"][0], "image");
}

#[test]
fn up_to_date_and_missing() {
    let ok = generate_check(
        Path::new("dev.toml"),
        Path::new("c.yml"),
        &Verdict::UpToDate {
            formatting_differs: true,
        },
        EXPECTED,
        Format::Github,
    );
    assert!(ok.error.is_none() && ok.stdout.is_empty());
    assert!(ok.note.unwrap().contains("formatting differs"));
    let missing = generate_check(
        Path::new("dev.toml"),
        Path::new("c.yml"),
        &Verdict::Missing,
        EXPECTED,
        Format::Github,
    );
    assert!(
        missing.stdout.starts_with("::error file=dev.toml,title="),
        "{}",
        missing.stdout
    );
    assert_eq!(missing.json["status"], "missing");
    assert_eq!(missing.error.unwrap().status, ExitStatus::Drift);
}
