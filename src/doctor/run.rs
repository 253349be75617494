//! `mcpm docker doctor` as an operation: load the profile, render it, run
//! the checks, and with `fix` apply the fixable findings to the profile as
//! one lossless, atomic write (under the profile's lock), then check again.
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::compose::{self, RenderOptions, Rendered};
use crate::config::ConfigDir;
use crate::error::{Error, Result};
use crate::files::{self, LockMode, WriteOptions};
use crate::profile::{LoadedProfile, load_profile_text, resolve_profile_path};

use super::pin::Pins;
use super::{Finding, FindingJson, Input, Severity, check, neighbours};

/// What `doctor` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The PROFILE argument (a path or a name).
    pub profile: String,
    /// `-f`: the compose file whose `.env` and other services count
    /// [default: the profile's].
    pub compose_file: Option<PathBuf>,
    pub fix: bool,
    /// `--pin`: resolve each unpinned image's digest on the engine and write
    /// it to the profile. Alone it applies only those edits; with `fix`,
    /// every fix.
    pub pin: bool,
    pub lock_timeout: Duration,
}

/// What doctor found (and fixed).
#[derive(Debug, Serialize)]
pub struct Report {
    pub profile: String,
    pub compose_file: String,
    pub findings: Vec<FindingJson>,
    pub fixed: Vec<FindingJson>,
    /// Each finding as a line for the terminal, in the order of `findings`.
    #[serde(skip)]
    pub lines: Vec<String>,
    /// Notes for stderr (a compose file that could not be read, say).
    #[serde(skip)]
    pub notes: Vec<String>,
}

impl Report {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Rounds of fix-then-check: a fix may reveal a fixable finding behind it
/// (an input turned into a variable renders, then its host shows).
const FIX_ROUNDS: usize = 3;

/// Runs the checks (and fixes) for one profile. `extra` are findings other
/// modules made for the same profile (the engine's pre-flight): they are
/// reported with the rest.
pub fn run(config: &ConfigDir, options: &Options, extra: Vec<Finding>) -> Result<Report> {
    let path = resolve_profile_path(&options.profile, config)?;
    let writes = options.fix || options.pin;
    let _lock = if writes {
        Some(files::lock_files(
            &[&path],
            LockMode::Exclusive,
            options.lock_timeout,
        )?)
    } else {
        None
    };
    let bytes = std::fs::read(&path).map_err(|err| Error::io("read profile", &path, err))?;
    let original = crate::source::decode(&path, bytes)?;
    let mut loaded = load_profile_text(&path, original.clone())?;
    let compose_file = options
        .compose_file
        .clone()
        .unwrap_or_else(|| loaded.compose_file(config));
    let mut notes = Vec::new();
    let others = read_neighbours(&compose_file, &loaded, &mut notes);
    let env = super::read_env_file(&compose_file)?;
    let variable = super::lookup_with(env);
    let env_path = compose::env_file::env_path(&compose_file);
    let catalog = Catalog::load(Some(&config.templates()))?;
    let findings_of = |loaded: &LoadedProfile| -> Result<Vec<Finding>> {
        let rendered = match compose::render(loaded, &catalog, RenderOptions::default()) {
            Ok(rendered) => rendered,
            // What stops rendering may be what doctor fixes (a VS Code
            // input compose cannot read): those findings come first.
            Err(err) => {
                let inputs = super::variables::editor_inputs(loaded);
                if inputs.iter().any(Finding::fixable) {
                    return Ok(inputs);
                }
                return Err(err);
            }
        };
        Ok(check(&Input {
            loaded,
            rendered: &rendered,
            catalog: &catalog,
            variable: &variable,
            env_file: Some(&env_path),
            neighbours: &others,
            host: &super::host_path_kind,
        }))
    };

    let mut pins = options.pin.then(Pins::default);
    // The digests are resolved as unpinned images show up (a fix round may
    // reveal one), each once, on one engine connection.
    let mut findings_with_pins = |loaded: &LoadedProfile| -> Result<Vec<Finding>> {
        let mut findings = findings_of(loaded)?;
        if let Some(pins) = pins.as_mut() {
            pins.resolve(&findings)?;
            pins.attach(&mut findings, loaded);
        }
        Ok(findings)
    };
    let mut findings = findings_with_pins(&loaded)?;
    let mut fixed: Vec<FindingJson> = Vec::new();
    if writes {
        let mut text = original.clone();
        for _ in 0..FIX_ROUNDS {
            // `--pin` without `--fix` applies the pins and nothing else.
            let applicable: Vec<Finding> = findings
                .iter()
                .filter(|f| options.fix || f.check == super::Check::UnpinnedImage)
                .cloned()
                .collect();
            let Some((new, applied)) =
                super::fix::apply(&path, &text, &loaded.profile, &applicable)?
            else {
                break;
            };
            // Nothing is written unless the fixed profile loads and renders.
            let next = load_profile_text(&path, new.clone()).map_err(|err| {
                Error::runtime(format!(
                    "the fixes would make {} invalid ({}); nothing was written",
                    path.display(),
                    err.message
                ))
            })?;
            fixed.extend(applied.iter().map(|f| f.json(&loaded)));
            findings = findings_with_pins(&next)?;
            loaded = next;
            text = new;
        }
        if text != original {
            // The last round may have stopped on a profile that still does
            // not render (fixes left for a next run): never written.
            compose::render(&loaded, &catalog, RenderOptions::default()).map_err(|err| {
                Error::runtime(format!(
                    "the fixed profile does not render ({}); nothing was written",
                    err.message
                ))
            })?;
            files::write_atomic(
                &path,
                text.as_bytes(),
                WriteOptions {
                    backup: true,
                    mode: None,
                },
            )?;
        }
    }
    if let Ok(rendered) = compose::render(&loaded, &catalog, RenderOptions::default()) {
        let mut seen = preflight(&compose_file, &rendered, &catalog, &mut notes);
        for finding in &mut seen {
            locate_in_profile(finding, &loaded);
        }
        seen.retain(|new| !already_reported(&findings, new));
        findings.extend(seen);
    }
    findings.extend(extra);
    super::sort(&mut findings);
    Ok(Report {
        profile: path.display().to_string(),
        compose_file: compose_file.display().to_string(),
        lines: findings.iter().map(|f| f.line(&loaded)).collect(),
        findings: findings.iter().map(|f| f.json(&loaded)).collect(),
        fixed,
        notes,
    })
}

/// The other services of the compose file, when it exists and parses;
/// a file that does not is noted, not fatal: the checks need it only to
/// name a neighbour instead of the host.
fn read_neighbours(
    compose_file: &Path,
    loaded: &LoadedProfile,
    notes: &mut Vec<String>,
) -> Vec<super::Neighbour> {
    let text = match files::read_optional(compose_file) {
        Ok(Some(text)) => text,
        Ok(None) => return Vec::new(),
        Err(err) => {
            notes.push(format!("{}; its services were not looked at", err.message));
            return Vec::new();
        }
    };
    match compose::parse_document(compose_file, &text) {
        Ok(document) => {
            let own: Vec<&str> = loaded.profile.servers.keys().map(String::as_str).collect();
            neighbours(&document, &own)
        }
        Err(err) => {
            notes.push(format!("{}; its services were not looked at", err.message));
            Vec::new()
        }
    }
}

/// The profile-side checks `generate` and `sync` run on what they already
/// rendered: no file is read. Variables are looked up in the environment
/// and in `env` (the `.env` text the caller already holds, if any).
pub fn quick_check(
    loaded: &LoadedProfile,
    rendered: &Rendered,
    catalog: &Catalog,
    env: Option<(&Path, &str)>,
) -> Vec<Finding> {
    let assignments = env
        .and_then(|(path, text)| {
            let outer = |name: &str| std::env::var(name).ok();
            crate::engine::env_file::parse(path, text, &outer).ok()
        })
        .unwrap_or_default();
    let variable = super::lookup_with(assignments);
    check(&Input {
        loaded,
        rendered,
        catalog,
        variable: &variable,
        env_file: env.map(|(path, _)| path),
        neighbours: &[],
        host: &super::host_path_kind,
    })
}

/// The warning lines `generate`/`sync` print for `findings`: each finding,
/// except unpinned images, which are summed up in one line (nearly every
/// catalog image is unpinned; one line per server would bury the rest).
pub fn warning_lines(loaded: &LoadedProfile, findings: &[Finding]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut unpinned = Vec::new();
    for finding in findings {
        // Rendering already warns about the servers it skips.
        if finding.check == super::Check::NotContainerized {
            continue;
        }
        if finding.check == super::Check::UnpinnedImage {
            unpinned.push(finding.server.as_str());
        } else {
            lines.push(finding.line(loaded));
        }
    }
    if !unpinned.is_empty() {
        lines.push(format!(
            "{} not pinned to a digest or version ({}); `mcpm docker doctor` says how",
            crate::output::count(unpinned.len(), "image is", "images are"),
            unpinned.join(", ")
        ));
    }
    lines
}

/// How many findings make `generate --strict` fail: all but unpinned images
/// (nearly every catalog image is one) and skipped servers (`--strict`
/// already refuses those, with their own error).
pub fn blocking_under_strict(findings: &[Finding]) -> usize {
    findings
        .iter()
        .filter(|f| {
            !matches!(
                f.check,
                super::Check::UnpinnedImage | super::Check::NotContainerized
            )
        })
        .count()
}

/// The engine's pre-flight (`engine::preflight`: bind-mount sources missing on
/// this host, required secrets empty), as deploy would run it: on the compose
/// file when it exists, else on what generate would write, then without
/// lines (that text is on no disk). A file that does not load is noted; deploy
/// reports it in full.
fn preflight(
    compose_file: &Path,
    rendered: &Rendered,
    catalog: &Catalog,
    notes: &mut Vec<String>,
) -> Vec<Finding> {
    use crate::engine::{desired, preflight};
    let file = std::path::absolute(compose_file).unwrap_or_else(|_| compose_file.to_path_buf());
    let env = |name: &str| std::env::var(name).ok();
    let load = |text: &str| desired::load_text(&file, text, &desired::LoadOptions::default(), &env);
    // The file on disk, where it exists and holds services (its lines are
    // then real); else, or when it does not load (already noted by the
    // neighbour scan), what generate would write.
    let on_disk = files::read_optional(compose_file)
        .ok()
        .flatten()
        .and_then(|text| match load(&text) {
            Ok(loaded) if !loaded.services.is_empty() => Some((loaded, text)),
            _ => None,
        });
    let located = on_disk.is_some();
    let (loaded, text) = match on_disk {
        Some(found) => found,
        None => {
            let text = rendered.yaml();
            match load(&text) {
                Ok(loaded) => (loaded, text),
                Err(err) => {
                    notes.push(format!(
                        "the deploy pre-flight was skipped: {}",
                        err.message
                    ));
                    return Vec::new();
                }
            }
        }
    };
    preflight::check(&loaded, &text, Some(catalog))
        .into_iter()
        .map(|problem| Finding {
            check: super::Check::Other(problem.id),
            severity: match problem.severity {
                preflight::Severity::Error => Severity::Error,
                preflight::Severity::Warning => Severity::Warning,
            },
            server: problem.service,
            value: problem.value,
            place: super::Place::Compose(problem.location.filter(|_| located)),
            message: problem.what,
            fix: problem.fix,
            edits: Vec::new(),
        })
        .collect()
}

/// A missing bind-mount source found in the text generate would write
/// (no compose file on disk, so no line) is pointed at the profile's value
/// it was mounted for: the argument, env value or volume naming a path in
/// it, which is what a person corrects.
fn locate_in_profile(finding: &mut Finding, loaded: &LoadedProfile) {
    use crate::source::Segment;
    if finding.check != super::Check::Other("bind-source-missing")
        || !matches!(finding.place, super::Place::Compose(None))
    {
        return;
    }
    let Some(spec) = loaded.profile.servers.get(&finding.server) else {
        return;
    };
    let names = |value: &str| {
        let path = super::scan::host_path(value)
            .or_else(|| value.split(':').next().filter(|p| p.starts_with('/')));
        path.is_some_and(|p| super::scan::is_within(p, &finding.value))
    };
    let key = |keys: &[Segment]| {
        let mut path = Segment::path(["servers", finding.server.as_str()]);
        path.extend(keys.iter().cloned());
        path
    };
    let at = spec
        .args
        .iter()
        .position(|a| names(a))
        .map(|i| key(&[Segment::Key("args".into()), Segment::Index(i)]))
        .or_else(|| {
            spec.env
                .iter()
                .find(|(_, v)| names(&v.to_text()))
                .map(|(k, _)| key(&[Segment::Key("env".into()), Segment::Key(k.clone())]))
        })
        .or_else(|| {
            spec.volumes
                .iter()
                .position(|v| names(v))
                .map(|i| key(&[Segment::Key("volumes".into()), Segment::Index(i)]))
        });
    if let Some(path) = at {
        finding.place = super::Place::Profile(path);
    }
}

/// Whether a pre-flight finding repeats one of the profile's: an empty
/// required secret is the `unset-variable` finding for the same server whose
/// value refers to that variable (the pre-flight names the variable,
/// `GITHUB_TOKEN`; the profile's finding shows the value, `${GITHUB_TOKEN}`),
/// and that one says where in the profile it is.
fn already_reported(findings: &[Finding], new: &Finding) -> bool {
    new.check == super::Check::Other("required-secret-empty")
        && findings.iter().any(|f| {
            f.check == super::Check::UnsetVariable
                && f.server == new.server
                && super::scan::references(&f.value)
                    .iter()
                    .any(|r| r.name == new.value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::{Check, Place};

    fn finding(check: Check, server: &str, value: &str) -> Finding {
        Finding {
            check,
            severity: Severity::Error,
            server: server.into(),
            value: value.into(),
            place: Place::Compose(None),
            message: String::new(),
            fix: String::new(),
            edits: Vec::new(),
        }
    }

    #[test]
    fn an_empty_required_secret_is_reported_once() {
        let profile = [
            finding(Check::UnsetVariable, "github", "${GITHUB_TOKEN}"),
            finding(Check::UnsetVariable, "slack", "Bearer ${SLACK_TOKEN:?}"),
        ];
        let secret = |server, name| finding(Check::Other("required-secret-empty"), server, name);
        assert!(already_reported(
            &profile,
            &secret("github", "GITHUB_TOKEN")
        ));
        assert!(already_reported(&profile, &secret("slack", "SLACK_TOKEN")));
        assert!(
            !already_reported(&profile, &secret("gitlab", "GITHUB_TOKEN")),
            "another server's variable"
        );
        assert!(
            !already_reported(&profile, &secret("github", "GITHUB")),
            "a name is matched whole"
        );
        let bind = finding(
            Check::Other("bind-source-missing"),
            "github",
            "GITHUB_TOKEN",
        );
        assert!(!already_reported(&profile, &bind), "only secrets repeat");
    }
}
