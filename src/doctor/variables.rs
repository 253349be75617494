//! The `unset-variable` and `vscode-input` checks: references deploy would
//! fill with nothing, and editor forms compose cannot read.
use std::collections::BTreeSet;

use serde_yaml_ng::{Mapping, Value};

use crate::compose::interpolation::variable_name_for;

use super::checks::{EDITOR_VARIABLES, Server};
use super::scan::{self, Reference};
use super::{Check, Finding, Input, Place, Severity};

/// Every `${VAR}` the service reads without a value where deploy looks:
/// compose would substitute an empty string.
pub(super) fn variables(server: &Server<'_>, input: &Input<'_>, findings: &mut Vec<Finding>) {
    let mut texts: Vec<(Option<String>, String)> = Vec::new();
    collect_strings(server.service, None, &mut texts);
    let required = server
        .template
        .map(|t| t.required_env.as_slice())
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    for (key, text) in &texts {
        for reference in scan::references(text) {
            if reference.has_fallback()
                || !crate::compose::interpolation::is_variable_name(&reference.name)
                || EDITOR_VARIABLES.contains(&reference.name.as_str())
                || !seen.insert(reference.name.clone())
            {
                continue;
            }
            let secret = input
                .rendered
                .secrets
                .iter()
                .any(|s| s.name == reference.name);
            let value = (input.variable)(&reference.name);
            if secret || value.as_deref().is_some_and(|v| !v.is_empty()) {
                continue;
            }
            let is_required = required.contains(&reference.name)
                || key.as_ref().is_some_and(|k| required.contains(k))
                || reference.operator.starts_with(":?")
                || reference.operator.starts_with('?');
            let set = value.is_some();
            let place = place_of(server, &reference);
            let where_ = match input.env_file {
                Some(env) => format!(
                    "`export {}=…` before deploying, or add `{}=…` to {}",
                    reference.name,
                    reference.name,
                    env.display()
                ),
                None => format!("`export {}=…` before deploying", reference.name),
            };
            findings.push(Finding {
                check: Check::UnsetVariable,
                severity: if is_required {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                server: server.name.to_string(),
                value: format!("${{{}}}", reference.name),
                place,
                message: format!(
                    "`{}` is {}{}",
                    reference.name,
                    if set {
                        "empty"
                    } else {
                        "set neither in the environment nor in .env"
                    },
                    if is_required {
                        format!(
                            ": {} requires it, and the server fails without it",
                            server.template.map_or("the catalog", |t| t.name.as_str())
                        )
                    } else {
                        ": deploy would pass an empty string".to_string()
                    }
                ),
                fix: where_,
                edits: Vec::new(),
            });
        }
    }
}

/// Every string of a service that compose interpolates, with the
/// environment key it sits under (labels are mcpm's own).
fn collect_strings(value: &Mapping, key: Option<&str>, out: &mut Vec<(Option<String>, String)>) {
    for (k, v) in value {
        let k = k.as_str().unwrap_or_default();
        if key.is_none() && k == "labels" {
            continue;
        }
        let under = key.map(str::to_string).or_else(|| Some(k.to_string()));
        collect_value(v, under.as_deref(), k, out);
    }
}

fn collect_value(
    value: &Value,
    parent: Option<&str>,
    key: &str,
    out: &mut Vec<(Option<String>, String)>,
) {
    match value {
        Value::String(text) => {
            // Under `environment`, the variable's own name is the key.
            let owner = if parent == Some("environment") {
                Some(key.to_string())
            } else {
                None
            };
            out.push((owner, text.clone()));
        }
        Value::Sequence(items) => {
            for item in items {
                collect_value(item, parent, key, out);
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map {
                collect_value(v, Some(key), k.as_str().unwrap_or_default(), out);
            }
        }
        _ => {}
    }
}

/// Where a variable comes from in the profile: the first env value or
/// argument that mentions it, else the server's table (a catalog default).
fn place_of(server: &Server<'_>, reference: &Reference) -> Place {
    let mentions = |text: &str| {
        scan::references(text)
            .iter()
            .any(|r| r.name == reference.name)
    };
    for (key, value) in &server.spec.env {
        if mentions(&value.to_text()) {
            return Place::Profile(server.path(&["env", key]));
        }
    }
    for (index, arg) in server.spec.args.iter().enumerate() {
        if mentions(arg) {
            return Place::Profile(server.arg_path(index));
        }
    }
    Place::Profile(server.path(&[]))
}

/// `${input:id}` (VS Code prompts) and editor variables such as
/// `${workspaceFolder}` have no value outside the editor. An input becomes
/// a variable the way `profile import` names it; an editor variable needs
/// the path it stood for.
pub(super) fn editor_inputs(loaded: &crate::profile::LoadedProfile) -> Vec<Finding> {
    let mut findings = Vec::new();
    let empty = Mapping::new();
    for (name, spec) in &loaded.profile.servers {
        if !spec.is_enabled() || spec.is_remote() {
            continue;
        }
        let server = Server {
            name,
            spec,
            service: &empty,
            template: None,
        };
        for (target, value) in server.values() {
            let references = scan::references(&value);
            for reference in &references {
                if reference.name == "input" && reference.operator.starts_with(':') {
                    let id = &reference.operator[1..];
                    let variable = variable_name_for(id).to_ascii_uppercase();
                    let new = value.replacen(
                        &value[reference.range.clone()],
                        &format!("${{{variable}}}"),
                        1,
                    );
                    findings.push(Finding {
                        check: Check::VscodeInput,
                        severity: Severity::Error,
                        server: name.clone(),
                        value: format!("${{input:{id}}}"),
                        place: Place::Profile(target.path(&server)),
                        message: format!(
                            "`${{input:{id}}}` is a VS Code prompt: nothing answers it outside the editor, and compose cannot read it"
                        ),
                        fix: format!(
                            "write `${{{variable}}}` instead, then `export {variable}=…` or put it in the .env beside the compose file"
                        ),
                        edits: vec![target.edit(&value, new)],
                    });
                } else if EDITOR_VARIABLES.contains(&reference.name.as_str())
                    && reference.operator.is_empty()
                {
                    findings.push(Finding {
                        check: Check::VscodeInput,
                        severity: Severity::Warning,
                        server: name.clone(),
                        value: format!("${{{}}}", reference.name),
                        place: Place::Profile(target.path(&server)),
                        message: format!(
                            "`${{{}}}` is a VS Code variable with no value outside the editor: deploy would substitute an empty string",
                            reference.name
                        ),
                        fix: format!(
                            "replace `${{{}}}` with the path it stands for (the folder holding .vscode), or export {}",
                            reference.name, reference.name
                        ),
                        edits: Vec::new(),
                    });
                }
            }
        }
    }
    findings
}
