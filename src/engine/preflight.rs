//! Deploy pre-flight: what would make a valid compose file fail on this host,
//! found before anything is created or started. Pure functions over the
//! desired state (the resolved file), its text (for file:line:col) and the
//! host filesystem; `deploy` refuses on an error, `doctor` lists them all.
//!
//! - A bind-mount source that does not exist: the engine would create an
//!   empty root-owned directory there and the server would see nothing.
//! - A variable the catalog says the server requires (`required_env`) that is
//!   empty or unset: the server would start and fail on its first request.
use std::cell::RefCell;
use std::fmt;
use std::path::Path;

use crate::catalog::Catalog;
use crate::compose::locate::locate_key;
use crate::error::{Error, Location};
use crate::source::location_in;

use super::desired::Desired;
use super::interpolate::{Problems, interpolate};
use super::model::Mount;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    /// Deploy refuses to start anything.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// One thing that would keep a service from working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// A stable id for the kind of problem (`doctor --json`'s `check`).
    pub id: &'static str,
    pub service: String,
    /// What is wrong, without the value: `bind-mount source does not exist`.
    pub what: String,
    /// The offending value: a host path, a variable name.
    pub value: String,
    /// Where the file says it, when it can be found.
    pub location: Option<Location>,
    /// What to do about it.
    pub fix: String,
    pub severity: Severity,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "service `{}`: {}: {}",
            self.service, self.what, self.value
        )?;
        if let Some(location) = &self.location {
            write!(f, " (at {location})")?;
        }
        write!(f, "; {}", self.fix)
    }
}

/// Every problem of `desired`, services in file order, bind mounts before
/// variables. `text` is the compose file's text (for locations); without a
/// `catalog` required variables are not checked.
pub fn check(desired: &Desired, text: &str, catalog: Option<&Catalog>) -> Vec<Problem> {
    let mut problems = Vec::new();
    // Parsed once, and only when a service names a template: the raw values
    // say which variables a required key reads.
    let mut raw: Option<Option<serde_yaml_ng::Value>> = None;
    for (name, service) in &desired.services {
        missing_bind_sources(desired, text, name, &service.config.volumes, &mut problems);
        if let Some(catalog) = catalog
            && service.config.labels.contains_key(crate::labels::TEMPLATE)
        {
            let raw = raw
                .get_or_insert_with(|| crate::compose::parse_yaml(&desired.file, text).ok())
                .as_ref();
            empty_required_variables(desired, text, raw, catalog, name, &mut problems);
        }
    }
    problems
}

/// The error that refuses a deploy over `problems`, or `None` when none of
/// them is an error.
pub fn refusal(problems: &[Problem], env_file: &Path) -> Option<Error> {
    let errors: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    let first = errors.first()?;
    let list: Vec<String> = errors.iter().map(|p| format!("  {p}")).collect();
    let secrets = errors.iter().any(|p| p.what.contains("variable"));
    let hint = if secrets {
        format!(
            "set each variable listed (`export NAME=value`, or a `NAME=value` line in {}), fix the paths, and deploy again; nothing was created",
            env_file.display()
        )
    } else {
        "fix the paths listed and deploy again; nothing was created".to_string()
    };
    Some(
        Error::invalid(format!(
            "deploy refused: {} would keep services from working:\n{}",
            crate::output::count(errors.len(), "problem", "problems"),
            list.join("\n")
        ))
        .at(first.location.clone())
        .hint(hint),
    )
}

/// Bind mounts whose host source is missing. Sources are absolute here
/// (`desired` resolved `./x` and `~/x`).
fn missing_bind_sources(
    desired: &Desired,
    text: &str,
    service: &str,
    mounts: &[Mount],
    problems: &mut Vec<Problem>,
) {
    for (index, mount) in mounts.iter().enumerate() {
        let Mount::Bind { source, target, .. } = mount else {
            continue;
        };
        // A socket or a file is as good as a directory: only absence is wrong.
        if Path::new(source).symlink_metadata().is_ok() {
            continue;
        }
        problems.push(Problem {
            id: "bind-source-missing",
            service: service.to_string(),
            what: format!("bind-mount source for `{target}` does not exist on this host"),
            value: source.clone(),
            location: locate_item(&desired.file, text, &["services", service, "volumes"], index),
            fix: format!(
                "create it (`mkdir -p {source}`) or correct the path; left as is, the engine would mount an empty root-owned directory"
            ),
            severity: Severity::Error,
        });
    }
}

/// Variables the catalog requires for the service's server that resolved to
/// nothing.
fn empty_required_variables(
    desired: &Desired,
    text: &str,
    raw: Option<&serde_yaml_ng::Value>,
    catalog: &Catalog,
    service: &str,
    problems: &mut Vec<Problem>,
) {
    let config = &desired.services[service].config;
    let Some(template) = config
        .labels
        .get(crate::labels::TEMPLATE)
        .and_then(|name| catalog.by_name(name))
    else {
        return;
    };
    let raw = raw.map(|d| raw_environment(d, service)).unwrap_or_default();
    let env_file = desired.dir.join(".env");
    for key in &template.required_env {
        let value = config.environment.get(key).cloned().flatten();
        if value.as_deref().is_some_and(|v| !v.is_empty()) {
            continue;
        }
        let location = locate_key(
            &desired.file,
            text,
            &["services", service, "environment", key],
        );
        // The variables the file's value reads are what the user must set;
        // a literal empty value or `- KEY` names the key itself.
        let mut names = raw
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| variables_read(v))
            .unwrap_or_default();
        if names.is_empty() {
            names.push(key.clone());
        }
        for name in names {
            problems.push(Problem {
                id: "required-secret-empty",
                service: service.to_string(),
                what: format!(
                    "required variable for {key} (needed by the `{}` server) is empty or unset",
                    template.name
                ),
                value: name.clone(),
                location: location.clone(),
                fix: format!(
                    "`export {name}=...` before deploying, or add `{name}=...` to {}",
                    env_file.display()
                ),
                severity: Severity::Error,
            });
        }
    }
}

/// The service's `environment:` as written, before interpolation.
fn raw_environment(document: &serde_yaml_ng::Value, service: &str) -> Vec<(String, String)> {
    let Some(environment) = document
        .get("services")
        .and_then(|s| s.get(service))
        .and_then(|s| s.get("environment"))
    else {
        return Vec::new();
    };
    let scalar = |v: &serde_yaml_ng::Value| match v {
        serde_yaml_ng::Value::String(s) => s.clone(),
        serde_yaml_ng::Value::Null => String::new(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    };
    match environment {
        serde_yaml_ng::Value::Mapping(map) => map
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), scalar(v))))
            .collect(),
        serde_yaml_ng::Value::Sequence(items) => items
            .iter()
            .filter_map(|item| {
                let entry = item.as_str()?;
                let (k, v) = entry.split_once('=').unwrap_or((entry, ""));
                Some((k.to_string(), v.to_string()))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The variables a compose value reads, in order, each once.
fn variables_read(value: &str) -> Vec<String> {
    let seen = RefCell::new(Vec::<String>::new());
    let record = |name: &str| {
        let mut seen = seen.borrow_mut();
        if !seen.iter().any(|s| s == name) {
            seen.push(name.to_string());
        }
        None
    };
    interpolate(value, &record, "", &mut Problems::default());
    seen.into_inner()
}

/// The location of item `index` of the block sequence under key `path`
/// (`- ./data:/data`), else of the key itself.
fn locate_item(file: &Path, text: &str, path: &[&str], index: usize) -> Option<Location> {
    let key = locate_key(file, text, path)?;
    if key
        .line_text
        .trim_start()
        .strip_prefix(path.last()?)
        .is_none()
    {
        // The nearest parent was found, not the key: point there.
        return Some(key);
    }
    let mut offset = 0;
    let mut items = Vec::new();
    for (number, line) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += line.len();
        if number < key.line {
            continue;
        }
        let content = line.trim_start();
        let indent = line.len() - content.len();
        if content.trim().is_empty() || content.starts_with('#') {
            continue;
        }
        if indent < key.column - 1 || (indent == key.column - 1 && !content.starts_with('-')) {
            break;
        }
        // Only the sequence's own items, not the keys inside a long-syntax item.
        if content.starts_with("- ") || content.trim_end() == "-" {
            match items.first() {
                Some(&(first_indent, _)) if first_indent != indent => continue,
                _ => items.push((indent, start + indent)),
            }
        }
    }
    match items.get(index) {
        Some(&(_, at)) => Some(location_in(file, text, at..at + 1)),
        None => Some(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::desired::{LoadOptions, load_text};

    fn catalog() -> Catalog {
        Catalog::load(None).expect("the built-in catalog")
    }

    /// A built-in template with required variables, and one of them.
    fn required() -> (String, String) {
        let catalog = catalog();
        let template = catalog
            .templates()
            .iter()
            .find(|t| !t.required_env.is_empty())
            .expect("a template with required_env");
        (template.name.clone(), template.required_env[0].clone())
    }

    fn load(dir: &Path, text: &str, env: &[(&str, &str)]) -> Desired {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let home = dir.join("home").to_string_lossy().into_owned();
        load_text(
            &dir.join("compose.yaml"),
            text,
            &LoadOptions::default(),
            &move |name| {
                if name == "HOME" {
                    return Some(home.clone());
                }
                env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
            },
        )
        .expect("the file loads")
    }

    #[test]
    fn missing_bind_sources_in_short_long_and_home_syntax() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("present")).unwrap();
        let text = "name: p\nservices:\n  a:\n    image: x\n    volumes:\n      - ./present:/ok\n      - ./absent:/data\n      - type: bind\n        source: /definitely/not/here\n        target: /long\n      - ~/notes:/notes:ro\n";
        let desired = load(dir.path(), text, &[]);
        let problems = check(&desired, text, Some(&catalog()));
        let values: Vec<&str> = problems.iter().map(|p| p.value.as_str()).collect();
        let absent = dir.path().join("absent").to_string_lossy().into_owned();
        let notes = dir.path().join("home/notes").to_string_lossy().into_owned();
        assert_eq!(
            values,
            [absent.as_str(), "/definitely/not/here", notes.as_str()]
        );
        let lines: Vec<usize> = problems
            .iter()
            .map(|p| p.location.as_ref().unwrap().line)
            .collect();
        assert_eq!(lines, [7, 8, 11]);
        assert!(problems.iter().all(|p| p.severity == Severity::Error));
        assert!(problems[0].fix.contains("mkdir -p"), "{}", problems[0].fix);
        assert!(problems[1].what.contains("`/long`"));
    }

    #[test]
    fn empty_or_unset_required_secrets_name_the_variable() {
        let (template, key) = required();
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "name: p\nservices:\n  s:\n    image: x\n    labels:\n      io.mcpm.template: {template}\n    environment:\n      {key}: ${{MY_SECRET}}\n"
        );
        // Unset, then set but empty: both refused, naming MY_SECRET.
        for env in [&[][..], &[("MY_SECRET", "")][..]] {
            let desired = load(dir.path(), &text, env);
            let problems = check(&desired, &text, Some(&catalog()));
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].value, "MY_SECRET");
            assert_eq!(problems[0].location.as_ref().unwrap().line, 8);
            assert!(problems[0].fix.contains(".env"), "{}", problems[0].fix);
            let error = refusal(&problems, &dir.path().join(".env")).unwrap();
            assert_eq!(error.status, crate::error::ExitStatus::Invalid);
        }
        let desired = load(dir.path(), &text, &[("MY_SECRET", "s3cret")]);
        assert!(check(&desired, &text, Some(&catalog())).is_empty());
    }

    #[test]
    fn a_required_key_left_out_or_literal_empty_names_the_key() {
        let (template, key) = required();
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "name: p\nservices:\n  s:\n    image: x\n    labels:\n      io.mcpm.template: {template}\n    environment:\n      - {key}=\n"
        );
        let desired = load(dir.path(), &text, &[]);
        let problems = check(&desired, &text, Some(&catalog()));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].value, key);
        // Services without a template are not judged on secrets.
        let text = "name: p\nservices:\n  s:\n    image: x\n    environment:\n      TOKEN: ''\n";
        let desired = load(dir.path(), text, &[]);
        assert!(check(&desired, text, Some(&catalog())).is_empty());
        assert!(refusal(&[], Path::new(".env")).is_none());
    }

    #[test]
    fn variables_read_in_order() {
        assert_eq!(
            variables_read("${A}-$B-${C:-x}-${A}"),
            ["A".to_string(), "B".into(), "C".into()]
        );
        assert!(variables_read("plain").is_empty());
    }
}
