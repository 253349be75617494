//! One server entry of an input file → a [`Candidate`]: the fields MCP clients
//! and MCPM share (`command`, `args`, `env`, `url`, `headers`, `type`,
//! `disabled`), the client-only fields that are dropped with a reason, and
//! everything else reported rather than silently lost.
use indexmap::IndexMap;

use crate::profile::{EnvValue, ServerSpec};

use super::json::{Json, JsonObject};
use super::values::{Places, translate};
use super::{Candidate, Findings};

/// Which file the entry came from: MCPM entries carry `name`, `profile_tags`
/// and, for client-specific servers, `config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Client,
    Mcpm,
}

/// Fields some clients write that mean nothing to a container, with why.
const CLIENT_ONLY: &[(&str, &str)] = &[
    (
        "cwd",
        "a host working directory means nothing in a container; set `[servers.NAME.docker] working_dir` if the server needs one",
    ),
    (
        "envFile",
        "the variables in that file were not imported; add them to `env`",
    ),
    ("autoApprove", "tool approval is the client's business"),
    ("alwaysAllow", "tool approval is the client's business"),
    ("disabledTools", "tool selection is the client's business"),
    ("trust", "tool approval is the client's business"),
    ("timeout", "timeouts are the client's business"),
    ("includeTools", "tool selection is the client's business"),
    ("excludeTools", "tool selection is the client's business"),
];

/// How a `type` names the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Stdio,
    Remote,
}

fn transport_of(text: &str) -> Option<Transport> {
    let normalized: String = text
        .chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .collect::<String>()
        .to_ascii_lowercase();
    match normalized.as_str() {
        "stdio" => Some(Transport::Stdio),
        "sse" | "http" | "streamablehttp" => Some(Transport::Remote),
        _ => None,
    }
}

/// Converts one entry; `None` when it cannot become a server (the reason is
/// recorded in `findings`).
pub fn convert(
    name: &str,
    entry: &Json,
    dialect: Dialect,
    places: &Places,
    findings: &mut Findings,
) -> Option<Candidate> {
    let Some(object) = entry.as_object() else {
        findings.skip(
            name,
            format!("the entry is {}, not an object", entry.kind()),
        );
        return None;
    };
    let mut reader = EntryReader {
        name,
        findings,
        object,
        places,
    };
    reader.read(dialect)
}

struct EntryReader<'a> {
    name: &'a str,
    findings: &'a mut Findings,
    object: &'a JsonObject,
    places: &'a Places,
}

impl EntryReader<'_> {
    fn warn(&mut self, message: impl AsRef<str>) {
        self.findings
            .warn(format!("server `{}`: {}", self.name, message.as_ref()));
    }

    fn read(&mut self, dialect: Dialect) -> Option<Candidate> {
        for key in &self.object.duplicates {
            let key = key.clone();
            self.warn(format!("`{key}` is written twice; the last one was used"));
        }
        if dialect == Dialect::Mcpm && self.object.get("config").is_some() {
            self.findings.skip(
                self.name,
                "an MCPM custom server (`config`) is specific to one client and has no command or url",
            );
            return None;
        }
        let command = self.string("command");
        let url = self.string("url").or_else(|| self.string("serverUrl"));
        let kind = self.transport();
        let remote = match (&kind, &command, &url) {
            (Some((Transport::Stdio, _)), None, _) => {
                return self.skip("`type` is stdio but there is no `command`");
            }
            (Some((Transport::Remote, _)), _, None) => {
                return self.skip("`type` names a remote transport but there is no `url`");
            }
            (Some((Transport::Stdio, _)), Some(_), _) => false,
            (Some((Transport::Remote, _)), _, Some(_)) => true,
            (None, Some(_), Some(_)) => {
                return self.skip(
                    "it has both `command` and `url`; add `\"type\": \"stdio\"` or `\"type\": \"http\"` to say which",
                );
            }
            (None, Some(_), None) => false,
            (None, None, Some(_)) => true,
            (None, None, None) => return self.skip("it has neither `command` nor `url`"),
        };
        let mut spec = ServerSpec::default();
        if remote {
            let url = url.unwrap_or_default();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return self.skip(format!(
                    "its url `{url}` is not http(s); remote MCP servers are reached over HTTP"
                ));
            }
            spec.url = Some(self.value(&url));
            spec.headers = self.string_map("headers");
            for key in ["command", "args", "env"] {
                if self.object.get(key).is_some_and(has_content) {
                    self.warn(format!(
                        "`{key}` was dropped: this server is remote (`url`), it runs elsewhere"
                    ));
                }
            }
        } else {
            let command = command.unwrap_or_default();
            if command.trim().is_empty() {
                return self.skip("its `command` is empty");
            }
            spec.command = Some(self.value(&command));
            spec.args = self.string_list("args");
            spec.env = self
                .string_map("env")
                .into_iter()
                .filter(|(key, _)| self.valid_env_key(key))
                .map(|(key, value)| (key, EnvValue::Text(value)))
                .collect();
            unwrap_windows_shell(&mut spec, self);
            for key in ["url", "serverUrl", "headers"] {
                if self.object.get(key).is_some_and(has_content) {
                    self.warn(format!(
                        "`{key}` was dropped: it belongs to remote servers, and this one runs a `command`"
                    ));
                }
            }
        }
        spec.enabled = self.enabled();
        spec.description = self.string("description");
        self.report_other_fields(dialect);
        Some(Candidate {
            name: self.name.to_string(),
            transport: kind
                .filter(|(t, _)| *t == Transport::Remote)
                .map(|(_, text)| text),
            spec,
        })
    }

    fn skip(&mut self, reason: impl Into<String>) -> Option<Candidate> {
        self.findings.skip(self.name, reason);
        None
    }

    /// The value rewritten into the profile's `$` syntax, with its notes.
    fn value(&mut self, raw: &str) -> String {
        let translated = translate(raw, self.places);
        for note in translated.notes {
            self.warn(note);
        }
        translated.text
    }

    /// A string field; another type is reported and treated as absent.
    fn string(&mut self, key: &str) -> Option<String> {
        match self.object.get(key)? {
            Json::String(text) => Some(text.clone()),
            Json::Null => None,
            other => {
                let kind = other.kind();
                self.warn(format!("`{key}` is {kind}, not a string; it was ignored"));
                None
            }
        }
    }

    /// `type` (or `transport`, `transportType`): the transport and its text.
    fn transport(&mut self) -> Option<(Transport, String)> {
        let (key, value) = ["type", "transportType", "transport"]
            .into_iter()
            .find_map(|key| Some((key, self.object.get(key)?)))?;
        let Some(text) = value.as_str().map(str::to_string) else {
            let kind = value.kind();
            self.warn(format!(
                "`{key}` is {kind}, not a string; the entry was read by its `command` or `url`"
            ));
            return None;
        };
        match transport_of(&text) {
            Some(transport) => Some((transport, text)),
            None => {
                self.warn(format!(
                    "`{key}` is `{text}`, which mcpm does not know (stdio, sse, http, streamable-http); the entry was read by its `command` or `url`"
                ));
                None
            }
        }
    }

    fn string_list(&mut self, key: &str) -> Vec<String> {
        let items = match self.object.get(key) {
            None | Some(Json::Null) => return Vec::new(),
            Some(Json::Array(items)) => items,
            Some(other) => {
                let kind = other.kind();
                self.warn(format!("`{key}` is {kind}, not a list; it was ignored"));
                return Vec::new();
            }
        };
        let mut list = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item.scalar_text() {
                Some(text) => {
                    let value = self.value(&text);
                    list.push(value);
                }
                None => {
                    let kind = item.kind();
                    self.warn(format!("`{key}[{i}]` is {kind}; it was dropped"));
                }
            }
        }
        list
    }

    fn string_map(&mut self, key: &str) -> IndexMap<String, String> {
        let object = match self.object.get(key) {
            None | Some(Json::Null) => return IndexMap::new(),
            Some(Json::Object(object)) => object,
            Some(other) => {
                let kind = other.kind();
                self.warn(format!("`{key}` is {kind}, not an object; it was ignored"));
                return IndexMap::new();
            }
        };
        for duplicate in &object.duplicates {
            self.warn(format!(
                "`{key}.{duplicate}` is written twice; the last one was used"
            ));
        }
        let mut map = IndexMap::with_capacity(object.entries.len());
        for (name, value) in object.iter() {
            match value.scalar_text() {
                Some(text) => {
                    let value = self.value(&text);
                    map.insert(name.clone(), value);
                }
                None => {
                    let kind = value.kind();
                    self.warn(format!("`{key}.{name}` is {kind}; it was dropped"));
                }
            }
        }
        map
    }

    /// Names a profile accepts (and a process environment can hold).
    fn valid_env_key(&mut self, key: &str) -> bool {
        let valid = !key.is_empty() && !key.contains('=') && !key.contains(char::is_whitespace);
        if !valid {
            self.warn(format!(
                "`env` key `{key}` cannot be an environment variable name; it was dropped"
            ));
        }
        valid
    }

    /// `disabled: true` (or `enabled: false`) → `enabled = false`.
    fn enabled(&mut self) -> Option<bool> {
        let mut enabled = None;
        for (key, flip) in [("disabled", true), ("enabled", false)] {
            match self.object.get(key) {
                None | Some(Json::Null) => {}
                Some(Json::Bool(value)) => {
                    if *value == flip {
                        enabled = Some(false);
                    }
                }
                Some(other) => {
                    let kind = other.kind();
                    self.warn(format!(
                        "`{key}` is {kind}, not true or false; it was ignored"
                    ));
                }
            }
        }
        enabled
    }

    /// Every field not read above becomes a warning: the user sees what the
    /// profile does not carry.
    fn report_other_fields(&mut self, dialect: Dialect) {
        const READ: &[&str] = &[
            "command",
            "args",
            "env",
            "url",
            "serverUrl",
            "headers",
            "type",
            "transportType",
            "transport",
            "disabled",
            "enabled",
            "description",
        ];
        let keys: Vec<String> = self.object.entries.keys().cloned().collect();
        for key in keys {
            if READ.contains(&key.as_str()) {
                continue;
            }
            if dialect == Dialect::Mcpm {
                match key.as_str() {
                    "profile_tags" => continue,
                    "name" => {
                        if let Some(stored) = self.object.get("name").and_then(Json::as_str)
                            && stored != self.name
                        {
                            let stored = stored.to_string();
                            self.warn(format!(
                                "its `name` field says `{stored}`; the key `{}` was used, as MCPM does",
                                self.name
                            ));
                        }
                        continue;
                    }
                    _ => {}
                }
            }
            match CLIENT_ONLY.iter().find(|(field, _)| *field == key) {
                Some((_, why)) => self.warn(format!("`{key}` was dropped: {why}")),
                None => self.warn(format!(
                    "unknown field `{key}` was dropped (a profile server has no such setting)"
                )),
            }
        }
    }
}

/// Whether dropping a value loses anything (`[]`, `{}`, `""` and null do not).
fn has_content(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::String(text) => !text.is_empty(),
        Json::Array(items) => !items.is_empty(),
        Json::Object(object) => !object.is_empty(),
        Json::Bool(_) | Json::Number(_) => true,
    }
}

/// Windows configs start npx and friends through `cmd /c`; in a Linux
/// container the wrapper is meaningless and hides the package from detection.
fn unwrap_windows_shell(spec: &mut ServerSpec, reader: &mut EntryReader<'_>) {
    let Some(command) = &spec.command else { return };
    let is_cmd = matches!(command.to_ascii_lowercase().as_str(), "cmd" | "cmd.exe");
    let has_switch = spec
        .args
        .first()
        .is_some_and(|arg| arg.eq_ignore_ascii_case("/c"));
    if !(is_cmd && has_switch && spec.args.len() >= 2) {
        return;
    }
    spec.args.remove(0);
    let program = spec.args.remove(0);
    reader.warn(format!(
        "`cmd /c {program}` (a Windows shell wrapper) became `{program}`"
    ));
    spec.command = Some(program);
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::import::json::parse;

    fn convert_one(text: &str, dialect: Dialect) -> (Option<Candidate>, Findings) {
        let json = parse(Path::new("t.json"), text).unwrap();
        let mut findings = Findings::default();
        let candidate = convert("srv", &json, dialect, &Places::default(), &mut findings);
        (candidate, findings)
    }

    #[test]
    fn stdio_entry() {
        let (candidate, findings) = convert_one(
            r#"{"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory", 3], "env": {"PORT": 8080, "DEBUG": true}}"#,
            Dialect::Client,
        );
        let spec = candidate.unwrap().spec;
        assert_eq!(spec.command.as_deref(), Some("npx"));
        assert_eq!(
            spec.args,
            ["-y", "@modelcontextprotocol/server-memory", "3"]
        );
        assert_eq!(spec.env["PORT"], EnvValue::Text("8080".into()));
        assert_eq!(spec.env["DEBUG"], EnvValue::Text("true".into()));
        assert!(findings.warnings.is_empty(), "{:?}", findings.warnings);
    }

    #[test]
    fn remote_entry_by_type_and_by_url() {
        let (candidate, findings) = convert_one(
            r#"{"type": "sse", "url": "https://mcp.example.com/sse", "headers": {"Authorization": "Bearer ${env:TOKEN}"}}"#,
            Dialect::Client,
        );
        let candidate = candidate.unwrap();
        assert_eq!(candidate.transport.as_deref(), Some("sse"));
        assert_eq!(candidate.spec.headers["Authorization"], "Bearer ${TOKEN}");
        assert!(findings.warnings.is_empty());
        let (candidate, _) =
            convert_one(r#"{"serverUrl": "https://w.example/mcp"}"#, Dialect::Client);
        assert_eq!(
            candidate.unwrap().spec.url.as_deref(),
            Some("https://w.example/mcp")
        );
    }

    #[test]
    fn type_decides_between_command_and_url() {
        let (candidate, findings) = convert_one(
            r#"{"type": "http", "url": "https://a.example/mcp", "command": "npx", "env": {"A": "1"}}"#,
            Dialect::Client,
        );
        let spec = candidate.unwrap().spec;
        assert!(spec.command.is_none() && spec.env.is_empty());
        assert_eq!(findings.warnings.len(), 2, "{:?}", findings.warnings);
        // Empty leftovers lose nothing, so they are not worth a warning.
        let (candidate, findings) = convert_one(
            r#"{"type": "stdio", "command": "uvx", "url": "", "headers": {}}"#,
            Dialect::Client,
        );
        assert!(candidate.unwrap().spec.headers.is_empty());
        assert!(findings.warnings.is_empty(), "{:?}", findings.warnings);
        let (candidate, findings) = convert_one(
            r#"{"command": "npx", "url": "https://a.example"}"#,
            Dialect::Client,
        );
        assert!(candidate.is_none());
        assert!(findings.skipped[0].reason.contains("both"));
    }

    #[test]
    fn unusable_entries_are_skipped_with_a_reason() {
        for (text, reason) in [
            (r#"{}"#, "neither"),
            (r#"{"type": "stdio", "url": "https://x"}"#, "no `command`"),
            (r#"{"url": "ws://localhost:9000"}"#, "not http(s)"),
            (r#"{"command": "  "}"#, "empty"),
            (r#""npx""#, "a string, not an object"),
        ] {
            let (candidate, findings) = convert_one(text, Dialect::Client);
            assert!(candidate.is_none(), "{text}");
            assert!(
                findings.skipped[0].reason.contains(reason),
                "{text}: {:?}",
                findings.skipped
            );
        }
    }

    #[test]
    fn disabled_and_unknown_fields() {
        let (candidate, findings) = convert_one(
            r#"{"command": "uvx", "args": ["mcp-server-time"], "disabled": true, "autoApprove": ["x"], "cwd": "/tmp", "weird": 1}"#,
            Dialect::Client,
        );
        assert_eq!(candidate.unwrap().spec.enabled, Some(false));
        let warnings = findings.warnings.join("\n");
        assert!(warnings.contains("`autoApprove` was dropped: tool approval"));
        assert!(warnings.contains("`cwd` was dropped"));
        assert!(warnings.contains("unknown field `weird`"));
        let (candidate, _) =
            convert_one(r#"{"command": "uvx", "disabled": false}"#, Dialect::Client);
        assert_eq!(candidate.unwrap().spec.enabled, None);
        let (candidate, findings) =
            convert_one(r#"{"command": "uvx", "type": 7}"#, Dialect::Client);
        assert!(candidate.is_some());
        assert!(findings.warnings[0].contains("`type` is a number"));
    }

    #[test]
    fn windows_shell_wrapper_is_unwrapped() {
        let (candidate, findings) = convert_one(
            r#"{"command": "cmd", "args": ["/c", "npx", "-y", "@modelcontextprotocol/server-github"]}"#,
            Dialect::Client,
        );
        let spec = candidate.unwrap().spec;
        assert_eq!(spec.command.as_deref(), Some("npx"));
        assert_eq!(spec.args, ["-y", "@modelcontextprotocol/server-github"]);
        assert!(findings.warnings[0].contains("Windows shell wrapper"));
    }

    #[test]
    fn bad_values_are_reported_not_fatal() {
        let (candidate, findings) = convert_one(
            r#"{"command": "npx", "args": ["a", {"b": 1}], "env": {"A B": "x", "OK": null, "N": [1]}}"#,
            Dialect::Client,
        );
        let spec = candidate.unwrap().spec;
        assert_eq!(spec.args, ["a"]);
        assert!(spec.env.is_empty());
        assert_eq!(findings.warnings.len(), 4, "{:?}", findings.warnings);
    }

    #[test]
    fn mcpm_fields_are_understood() {
        let (candidate, findings) = convert_one(
            r#"{"name": "srv", "profile_tags": ["work"], "command": "uvx", "args": [], "env": {}}"#,
            Dialect::Mcpm,
        );
        assert!(candidate.is_some());
        assert!(findings.warnings.is_empty(), "{:?}", findings.warnings);
        let (candidate, findings) = convert_one(
            r#"{"name": "goose", "profile_tags": ["work"], "config": {"type": "builtin"}}"#,
            Dialect::Mcpm,
        );
        assert!(candidate.is_none());
        assert!(findings.skipped[0].reason.contains("custom server"));
    }
}
