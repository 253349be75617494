//! Lossless edits of a user's compose file: only the values that change are
//! touched, so comments, key order, anchors, quoting and everything mcpm does
//! not own survive byte for byte. New values are written by mcpm's own emitter
//! (its quoting rules) and spliced into the tree with `yaml-edit`.
use std::collections::BTreeMap;
use std::str::FromStr;

use serde_yaml_ng::{Mapping, Value};

use super::splice::Edits;
use super::yaml::to_yaml;

/// A compose file open for editing.
pub struct ComposeEdit {
    document: yaml_edit::Document,
}

/// The key used to carry a value through mcpm's emitter into a node.
const CARRIER: &str = "value";

impl ComposeEdit {
    /// Parses `text` losslessly.
    pub fn parse(text: &str) -> Result<Self, String> {
        let document = yaml_edit::Document::from_str(text).map_err(|err| err.to_string())?;
        if document.as_mapping().is_none() {
            return Err("the file's top level is not a mapping".into());
        }
        Ok(Self { document })
    }

    fn root(&self) -> yaml_edit::Mapping {
        self.document.as_mapping().expect("checked at parse time")
    }

    /// Makes a top-level mapping `key` hold `name: new`, editing only what
    /// differs from `old`; creates the mapping when the file has none.
    pub fn set_entry(
        &self,
        key: &str,
        name: &str,
        old: Option<&Value>,
        new: &Value,
    ) -> Result<(), String> {
        let root = self.root();
        let Some(parent) = root.get_mapping(key) else {
            let mut map = Mapping::new();
            map.insert(name.into(), new.clone());
            root.set(key, node(&Value::Mapping(map))?);
            return Ok(());
        };
        set_value(&parent, name, old, new)
    }

    /// Removes `name` from the top-level mapping `key`.
    pub fn remove_entry(&self, key: &str, name: &str) {
        if let Some(parent) = self.root().get_mapping(key) {
            parent.remove(name);
        }
    }

    /// Sets a top-level key, editing only what differs from `old`.
    pub fn set_top(&self, key: &str, old: Option<&Value>, new: &Value) -> Result<(), String> {
        set_value(&self.root(), key, old, new)
    }

    /// The edited text: the tree's tokens in order. (The `Display` impl goes
    /// through the formatter one token at a time and is several times slower
    /// on large files.)
    pub fn text(&self) -> String {
        use rowan::ast::AstNode;
        let root = self.document.syntax();
        let mut text = String::with_capacity(usize::from(root.text_range().len()));
        for element in root.descendants_with_tokens() {
            if let rowan::NodeOrToken::Token(token) = element {
                text.push_str(token.text());
            }
        }
        text
    }
}

/// Applies `edits` to `text` with the lossless tree editor and proves the
/// result by parsing the whole new text and comparing it with the intended
/// document: the path for any file the splice path cannot prove its edit on.
pub fn apply_verified(text: &str, document: &Value, edits: &Edits<'_>) -> Result<String, String> {
    let edit = ComposeEdit::parse(text)?;
    let no_services = Mapping::new();
    let old_services = document
        .get("services")
        .and_then(Value::as_mapping)
        .unwrap_or(&no_services);
    for &(name, change) in &edits.services {
        match change {
            Some(new) => edit.set_entry("services", name, old_services.get(name), new)?,
            None => edit.remove_entry("services", name),
        }
    }
    let mut additions: BTreeMap<(&str, &str), &Value> = BTreeMap::new();
    for &(key, name, value) in &edits.additions {
        edit.set_entry(key, name, None, value)?;
        additions.insert((key, name), value);
    }
    let (top_key, top_value) = edits.top;
    edit.set_top(top_key, document.get(top_key), top_value)?;
    let new_text = edit.text();

    // The services the file must hold: those it had, changed or removed as
    // edited, and those added.
    let changes: BTreeMap<&str, Option<&Value>> = edits.services.iter().copied().collect();
    let intended = |name: &str| -> Option<&Value> {
        match changes.get(name) {
            Some(change) => *change,
            None => old_services.get(name),
        }
    };
    let mut intended_names: Vec<&str> = old_services
        .keys()
        .filter_map(Value::as_str)
        .chain(changes.keys().copied())
        .filter(|name| intended(name).is_some())
        .collect();
    intended_names.sort_unstable();
    intended_names.dedup();

    // The new text must say exactly this: every service as intended, the
    // additions and the top-level block, and everything else as it was.
    // Compared key by key against the original, without copying documents.
    let reparsed: Value = serde_yaml_ng::from_str(&new_text)
        .map_err(|err| format!("the edited compose file does not parse: {err}"))?;
    let root = reparsed
        .as_mapping()
        .ok_or("the edited compose file is not a mapping")?;
    let old_root = document
        .as_mapping()
        .ok_or("the compose file is not a mapping")?;
    let mut faithful = old_root.keys().all(|key| root.contains_key(key));
    // `services:` with nothing under it is an empty mapping to compose.
    fn entries(value: &Value) -> Option<std::borrow::Cow<'_, Mapping>> {
        match value {
            Value::Null => Some(std::borrow::Cow::Owned(Mapping::new())),
            other => other.as_mapping().map(std::borrow::Cow::Borrowed),
        }
    }
    for (key, value) in root {
        faithful &= match key.as_str() {
            Some("services") => entries(value).is_some_and(|map| {
                map.len() == intended_names.len()
                    && map
                        .iter()
                        .all(|(name, service)| name.as_str().and_then(intended) == Some(service))
            }),
            Some(top) if top == top_key => value == top_value,
            Some(group @ ("networks" | "volumes")) => entries(value).is_some_and(|map| {
                let old = old_root.get(group).and_then(entries);
                let old = old.as_deref();
                let added = additions.keys().filter(|(k, _)| *k == group).count();
                map.len() == old.map_or(0, Mapping::len) + added
                    && map.iter().all(|(name, entry)| {
                        let name = name.as_str().unwrap_or_default();
                        let expected = old
                            .and_then(|old| old.get(name))
                            .or_else(|| additions.get(&(group, name)).copied());
                        expected == Some(entry)
                    })
            }),
            _ => old_root.get(key) == Some(value),
        };
    }
    if !faithful {
        return Err("the edited compose file does not say what was intended".into());
    }
    Ok(new_text)
}

/// Sets `key` in `mapping` to `new`; when both old and new are mappings and the
/// file holds a block mapping there, recurses so untouched keys stay as written.
fn set_value(
    mapping: &yaml_edit::Mapping,
    key: &str,
    old: Option<&Value>,
    new: &Value,
) -> Result<(), String> {
    if old == Some(new) {
        return Ok(());
    }
    if let (Some(Value::Mapping(old_map)), Value::Mapping(new_map)) = (old, new)
        && let Some(child) = mapping.get_mapping(key)
        && !child.is_flow_style()
        && !new_map.is_empty()
    {
        for (k, _) in old_map {
            if let Some(k) = k.as_str()
                && !new_map.contains_key(k)
            {
                child.remove(k);
            }
        }
        for (k, v) in new_map {
            if let Some(k) = k.as_str() {
                set_value(&child, k, old_map.get(k), v)?;
            }
        }
        return Ok(());
    }
    mapping.set(key, node(new)?);
    Ok(())
}

/// A node for `value`, written by mcpm's emitter. The callers verify the
/// whole edited text afterwards; a value the lossless parser cannot take is
/// an error here, never a panic.
fn node(value: &Value) -> Result<yaml_edit::YamlNode, String> {
    let mut carrier = Mapping::new();
    carrier.insert(CARRIER.into(), value.clone());
    let text = to_yaml(&Value::Mapping(carrier));
    let document = yaml_edit::Document::from_str(&text)
        .map_err(|err| format!("a new value cannot be spliced into the file: {err}"))?;
    document
        .as_mapping()
        .and_then(|map| map.get(CARRIER))
        .ok_or_else(|| "a new value cannot be spliced into the file".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# my stack\nx-common: &common\n  restart: always # keep\nservices:\n  web:\n    <<: *common\n    image: nginx # pinned later\n    ports:\n      - '8080:80'\n  mine:\n    image: a\n    environment:\n      KEEP: 'x' # why\n      OLD: y\n    labels:\n      io.mcpm.profile: dev\n";

    fn parse(text: &str) -> Value {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn edits_only_what_changes() {
        let edit = ComposeEdit::parse(FILE).unwrap();
        let before = parse(FILE);
        let old = before["services"]["mine"].clone();
        let new: Value = parse(
            "image: b\nenvironment:\n  KEEP: x\n  NEW: \"22:22\"\nlabels:\n  io.mcpm.profile: dev\n",
        );
        edit.set_entry("services", "mine", Some(&old), &new)
            .unwrap();
        let text = edit.text();
        assert!(text.starts_with("# my stack\nx-common: &common\n  restart: always # keep\nservices:\n  web:\n    <<: *common\n    image: nginx # pinned later\n    ports:\n      - '8080:80'\n"), "{text}");
        assert!(
            text.contains("KEEP: 'x' # why"),
            "untouched values keep quoting and comments: {text}"
        );
        let after = parse(&text);
        assert_eq!(after["services"]["mine"], new);
        assert_eq!(after["services"]["web"], before["services"]["web"]);
    }

    #[test]
    fn adds_and_removes_services_and_top_level_blocks() {
        let edit = ComposeEdit::parse(FILE).unwrap();
        let added: Value = parse("image: mcp/time\ncommand: [\"--local-timezone=UTC\"]\n");
        edit.set_entry("services", "time", None, &added).unwrap();
        edit.remove_entry("services", "mine");
        edit.set_entry("networks", "mcp-network", None, &parse("driver: bridge"))
            .unwrap();
        edit.set_top("x-mcpm", None, &parse("profile: dev\nbase: {}\n"))
            .unwrap();
        let after = parse(&edit.text());
        assert_eq!(after["services"]["time"], added);
        assert!(after["services"].get("mine").is_none());
        assert_eq!(
            after["networks"]["mcp-network"]["driver"],
            Value::from("bridge")
        );
        assert_eq!(after["x-mcpm"]["profile"], Value::from("dev"));
        assert!(edit.text().contains("<<: *common"));
    }

    /// A trailing comment stays with a value sync rewrites, and goes with a
    /// key sync removes (SPEC: lossless means the comments too).
    #[test]
    fn trailing_comments_follow_their_keys() {
        let file = "services:\n  github:\n    image: ghcr.io/github/github-mcp-server\n    environment:\n      GITHUB_TOOLSETS: \"repos,issues\"  # limit tools\n      OLD: y # gone with OLD\n      KEEP: x # kept\n    mem_limit: 512m # pinned by Bob\n";
        let old = parse(file)["services"]["github"].clone();
        let new = parse(
            "image: ghcr.io/github/github-mcp-server\nenvironment:\n  GITHUB_TOOLSETS: repos\n  KEEP: x\n",
        );
        let edit = ComposeEdit::parse(file).unwrap();
        edit.set_entry("services", "github", Some(&old), &new)
            .unwrap();
        let text = edit.text();
        assert_eq!(
            text,
            "services:\n  github:\n    image: ghcr.io/github/github-mcp-server\n    environment:\n      GITHUB_TOOLSETS: repos  # limit tools\n      KEEP: x # kept\n",
        );
        assert_eq!(parse(&text)["services"]["github"], new);
    }

    #[test]
    fn refuses_a_non_mapping_document() {
        assert!(ComposeEdit::parse("- a\n- b\n").is_err());
    }

    /// Odd text spliced into a user's file reads back as itself.
    #[test]
    fn odd_strings_splice_and_read_back() {
        for odd in crate::compose::yaml::tests::odd_strings() {
            if crate::compose::yaml::string(&odd).len() > 1000 {
                // Refused by `render` (see `yaml::overlong_key`).
                continue;
            }
            let edit = ComposeEdit::parse(FILE).unwrap();
            let text = Value::String(odd.clone());
            let mut service = Mapping::new();
            service.insert("image".into(), text.clone());
            let mut labels = Mapping::new();
            labels.insert(text.clone(), text.clone());
            service.insert("labels".into(), Value::Mapping(labels));
            let service = Value::Mapping(service);
            edit.set_entry(
                "services",
                "mine",
                Some(&parse(FILE)["services"]["mine"]),
                &service,
            )
            .unwrap_or_else(|err| panic!("{odd:?}: {err}"));
            let written = edit.text();
            let after: Value = serde_yaml_ng::from_str(&written)
                .unwrap_or_else(|err| panic!("{odd:?} wrote invalid YAML ({err}):\n{written}"));
            assert_eq!(after["services"]["mine"], service, "{odd:?}:\n{written}");
        }
    }
}
