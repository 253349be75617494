//! The profile entry as the compose file may know it: each literal secret
//! replaced by the `${VAR}` reference it is rendered as. The profile hash
//! mcpm writes into the compose file (the `io.mcpm.profile-hash` label and
//! the `x-mcpm` base) is taken over this form: an unsalted hash over the
//! literal would let anyone holding the compose file confirm a guessed
//! password offline. A rotated literal therefore changes only `.env`.
use serde_json::Value;

use crate::profile::ServerSpec;
use crate::source::Segment;

/// One literal the renderer moved to `.env`: at `path` (the profile's key
/// path, `servers.NAME.…`), the text `literal` stands for `reference`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    pub path: Vec<Segment>,
    /// The user's text as the profile holds it (a whole secret, or a URL
    /// with its password).
    pub literal: String,
    /// The same text as the compose file holds it (`${VAR}`, or the URL with
    /// `${VAR}` for its password).
    pub reference: String,
}

/// The hash of a server's profile entry with `redactions` applied.
pub fn profile_hash(server: &ServerSpec, redactions: &[Redaction]) -> String {
    crate::hash::canonical_hash(&redacted(server, redactions))
}

/// The entry (as `hash::server_value` gives it) with each literal replaced
/// where the renderer found it; when the path no longer leads to it (an
/// argument the renderer rewrote, `--env=KEY=VALUE`), anywhere in the entry.
fn redacted(server: &ServerSpec, redactions: &[Redaction]) -> Value {
    let mut value = crate::hash::server_value(server);
    for redaction in redactions.iter().filter(|r| !r.literal.is_empty()) {
        let replaced = replace(node_at(&mut value, &redaction.path), redaction);
        if replaced == 0 {
            replace(&mut value, redaction);
        }
    }
    value
}

/// The deepest node `path` (past `servers.NAME`) leads to. A list-form
/// `environment` (`["KEY=VALUE"]`) is named by key: the list is the node.
fn node_at<'v>(value: &'v mut Value, path: &[Segment]) -> &'v mut Value {
    let mut node = value;
    for segment in path.iter().skip(2) {
        let has = match (&*node, segment) {
            (Value::Object(map), Segment::Key(key)) => map.contains_key(key),
            (Value::Array(items), Segment::Index(index)) => *index < items.len(),
            _ => false,
        };
        if !has {
            break;
        }
        node = match (node, segment) {
            (Value::Object(map), Segment::Key(key)) => map.get_mut(key).expect("checked above"),
            (Value::Array(items), Segment::Index(index)) => &mut items[*index],
            _ => unreachable!("checked above"),
        };
    }
    node
}

/// Replaces every occurrence of the literal under `node`; returns how many.
/// A number or boolean whose text is the literal (`PIN_SECRET = 1234`)
/// becomes the reference as a string.
fn replace(node: &mut Value, redaction: &Redaction) -> usize {
    let literal = redaction.literal.as_str();
    match node {
        Value::String(text) => {
            let count = text.matches(literal).count();
            if count > 0 {
                *text = text.replace(literal, &redaction.reference);
            }
            count
        }
        Value::Number(_) | Value::Bool(_) if scalar_text(node) == literal => {
            *node = Value::String(redaction.reference.clone());
            1
        }
        Value::Array(items) => items.iter_mut().map(|item| replace(item, redaction)).sum(),
        Value::Object(map) => map.values_mut().map(|item| replace(item, redaction)).sum(),
        _ => 0,
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::EnvValue;

    fn redaction(path: &[&str], literal: &str, reference: &str) -> Redaction {
        Redaction {
            path: path
                .iter()
                .map(|part| match part.parse::<usize>() {
                    Ok(index) => Segment::Index(index),
                    Err(_) => Segment::Key(part.to_string()),
                })
                .collect(),
            literal: literal.into(),
            reference: reference.into(),
        }
    }

    fn server(token: EnvValue, url: &str, flag: &str) -> ServerSpec {
        ServerSpec {
            command: Some("uvx".into()),
            args: vec!["x".into(), url.into(), "--api-key".into(), flag.into()],
            env: [("API_TOKEN".to_string(), token)].into_iter().collect(),
            ..Default::default()
        }
    }

    fn hash_of(token: EnvValue, password: &str, flag: &str) -> String {
        let url = format!("pg://u:{password}@db/x");
        let spec = server(token.clone(), &url, flag);
        profile_hash(
            &spec,
            &[
                redaction(
                    &["servers", "s", "env", "API_TOKEN"],
                    &token.to_text(),
                    "${API_TOKEN}",
                ),
                redaction(
                    &["servers", "s", "args", "1"],
                    &url,
                    "pg://u:${S_URL_PASSWORD}@db/x",
                ),
                // No index: found anywhere under `args`.
                redaction(&["servers", "s", "args"], flag, "${API_KEY}"),
            ],
        )
    }

    #[test]
    fn the_hash_does_not_depend_on_a_redacted_literal() {
        let a = hash_of(EnvValue::Text("hunter2".into()), "pw-1", "flag-1");
        let b = hash_of(EnvValue::Text("swordfish".into()), "pw-2", "flag-2");
        let c = hash_of(EnvValue::Integer(1234), "pw-3", "flag-3");
        assert_eq!(a, b);
        assert_eq!(a, c);
        // Everything else still counts.
        let mut other = server(EnvValue::Text("hunter2".into()), "pg://u:pw@db/y", "f");
        other.args[0] = "y".into();
        assert_ne!(a, profile_hash(&other, &[]));
    }

    #[test]
    fn a_path_that_leads_nowhere_falls_back_to_the_whole_entry() {
        let spec = server(EnvValue::Text("t".into()), "u", "sekrit-value");
        let lost = redaction(
            &["servers", "s", "docker", "environment"],
            "sekrit-value",
            "${K}",
        );
        let value = redacted(&spec, &[lost]);
        assert_eq!(value["args"][3], Value::from("${K}"));
    }
}
