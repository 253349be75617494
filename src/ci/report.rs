//! What `generate --check` (and `docker check`) says about one compose file
//! in each `--format`: the text for stdout, a note for stderr, the JSON
//! document, and the error its exit code comes from. Pure: the command prints.
use std::path::Path;

use serde_json::json;

use crate::compose::env_file;
use crate::error::{Error, ExitStatus};
use crate::output;

use super::Format;
use super::annotation::{self, Annotation, Level};
use super::drift::{self, Verdict};

/// One check's report, ready to print.
#[derive(Debug)]
pub struct Report {
    /// For stdout: the diff (text), the annotations (github); empty for json,
    /// whose document is [`Report::json`].
    pub stdout: String,
    /// A line for stderr (`… is up to date`).
    pub note: Option<String>,
    /// `--format json`'s document for this file.
    pub json: serde_json::Value,
    /// The error the check ends with, `None` when the file is current.
    pub error: Option<Error>,
}

/// The report of `generate --check` of `profile` against `target`, whose
/// verdict is `verdict` and whose expected text is `expected`.
pub fn generate_check(
    profile: &Path,
    target: &Path,
    verdict: &Verdict,
    expected: &str,
    format: Format,
) -> Report {
    let regenerate = format!(
        "regenerate it: mcpm docker generate {} -o {}",
        shell_words::quote(&profile.display().to_string()),
        shell_words::quote(&target.display().to_string())
    );
    let mut document = json!({
        "profile": profile.display().to_string(),
        "compose_file": target.display().to_string(),
    });
    let mut report = Report {
        stdout: String::new(),
        note: None,
        json: serde_json::Value::Null,
        error: None,
    };
    let annotations: Vec<Annotation> = match verdict {
        Verdict::UpToDate { formatting_differs } => {
            document["status"] = json!("up-to-date");
            let formatting = if *formatting_differs {
                " (its formatting differs from generate's)"
            } else {
                ""
            };
            report.note = Some(format!("{} is up to date{formatting}", target.display()));
            Vec::new()
        }
        Verdict::Missing => {
            document["status"] = json!("missing");
            let error = Error::new(
                ExitStatus::Drift,
                format!("{} does not exist", target.display()),
            )
            .hint(format!(
                "run the same command without --check to create it (-o {})",
                target.display()
            ));
            // Nothing to point at in a file that is not there: the profile
            // that wants it is annotated instead.
            let note = Annotation {
                level: Level::Error,
                file: profile.to_path_buf(),
                line: None,
                column: None,
                title: "mcpm: compose file missing".into(),
                message: format!("{} does not exist\n{regenerate}", target.display()),
            };
            report.error = Some(error);
            vec![note]
        }
        Verdict::StaleSecrets(names) => {
            document["status"] = json!("stale-env");
            document["env_variables"] = json!(names);
            let error = env_file::stale_error(
                target,
                names,
                &format!(
                    "write it with -o {} (or `mcpm docker sync`)",
                    target.display()
                ),
            );
            let note = Annotation {
                level: Level::Error,
                file: target.to_path_buf(),
                line: None,
                column: None,
                title: "mcpm: stale .env".into(),
                message: error.message.clone(),
            };
            report.error = Some(error);
            vec![note]
        }
        Verdict::Stale { current, drift } => {
            document["status"] = json!("stale");
            let profile_name = profile.display().to_string();
            let notes = drift::annotations(target, current, drift, &profile_name, &regenerate);
            document["drift"] = json!(
                drift
                    .iter()
                    .zip(&notes)
                    .map(|(entry, note)| {
                        let mut value = json!(entry);
                        value["service"] = json!(entry.service());
                        value["line"] = json!(note.line);
                        value["message"] = json!(entry.describe(&profile_name));
                        value
                    })
                    .collect::<Vec<_>>()
            );
            if format == Format::Text {
                report.stdout =
                    output::unified_diff(&target.display().to_string(), current, expected);
            }
            report.error = Some(
                Error::new(
                    ExitStatus::Drift,
                    format!(
                        "{} differs from what the profile generates",
                        target.display()
                    ),
                )
                .hint(format!(
                    "regenerate it with -o {}, or run `mcpm docker sync` to merge edits made in the file",
                    target.display()
                )),
            );
            notes
        }
    };
    if format == Format::Github {
        report.stdout = annotation::github(&annotations);
    }
    report.json = document;
    report
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
