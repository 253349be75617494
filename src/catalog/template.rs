//! One catalog entry: how to recognise an MCP server and run it in a container.
use std::collections::BTreeMap;

use serde::Deserialize;

/// A template file from `templates/` (format in `templates/README.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub npm: Vec<String>,
    #[serde(default)]
    pub pypi: Vec<String>,
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default)]
    pub binaries: Vec<String>,
    #[serde(default = "yes")]
    pub needs_network: bool,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub required_env: Vec<String>,
    /// When set, absolute host paths among the server's arguments are bind-mounted
    /// below this container directory and the arguments rewritten to match.
    #[serde(default)]
    pub mount_host_paths: String,
    /// `node`, `uv`, `python` or `deno` for the generic runtimes; empty for MCP servers.
    #[serde(default)]
    pub runtime: String,
    pub service: ServiceFragment,
    /// Where the server keeps what it writes; generate gives it a named volume.
    #[serde(default)]
    pub state: Option<State>,
}

fn yes() -> bool {
    true
}

/// The compose fragment a template's service starts from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceFragment {
    pub image: String,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub tmpfs: Vec<String>,
}

/// A server's state: the container directory it writes to and, when the
/// server is told where, the variable or flag that tells it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "StateFields")]
pub struct State {
    /// An absolute container directory; the named volume is mounted here.
    pub path: String,
    /// The variable that names the state's location, if the server reads one.
    pub env: Option<String>,
    /// The flags that name it (`--db-path`), if the server takes one; the
    /// first is the one mcpm writes.
    pub args: Vec<String>,
    /// What mcpm sets the variable or flag to when the profile does not:
    /// `path` itself or a file below it.
    pub default: Option<String>,
    /// Where the image keeps the state when the variable or flag is unset
    /// (memory: next to its code). A mount of the user's there holds their
    /// state already, so mcpm then changes nothing.
    pub image_path: Option<String>,
}

impl State {
    /// Whether the variable or flag names a file in the directory (else the
    /// directory itself): a file's volume goes on its parent directory.
    pub fn names_file(&self) -> bool {
        self.default.as_ref().is_some_and(|d| *d != self.path)
    }
}

/// `[state]` as written, before its fields are checked against each other.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFields {
    path: ContainerPath,
    #[serde(default)]
    env: Option<VariableName>,
    #[serde(default)]
    args: Vec<Flag>,
    #[serde(default)]
    default: Option<ContainerPath>,
    #[serde(default)]
    image_path: Option<ContainerPath>,
}

impl TryFrom<StateFields> for State {
    type Error = String;

    fn try_from(fields: StateFields) -> Result<Self, String> {
        let state = State {
            path: fields.path.0,
            env: fields.env.map(|v| v.0),
            args: fields.args.into_iter().map(|f| f.0).collect(),
            default: fields.default.map(|d| d.0),
            image_path: fields.image_path.map(|p| p.0),
        };
        if state.path == "/" {
            return Err(
                "state `path` cannot be `/`: name the directory the server writes to".into(),
            );
        }
        if state.env.is_some() && !state.args.is_empty() {
            return Err(
                "state names its location by `env` or by `args`, not both: keep the one the server reads".into(),
            );
        }
        if let Some(default) = &state.default {
            if state.env.is_none() && state.args.is_empty() {
                return Err(
                    "state `default` needs `env` or `args`: it is the value mcpm gives them".into(),
                );
            }
            if !is_within(default, &state.path) {
                return Err(format!(
                    "state `default` `{default}` is not inside `path` `{}`: the volume would not hold it",
                    state.path
                ));
            }
        }
        Ok(state)
    }
}

/// Whether `path` is `dir` or below it.
pub fn is_within(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// An absolute container path that compose's short volume syntax can carry.
struct ContainerPath(String);

impl<'de> Deserialize<'de> for ContainerPath {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bad = |why: &str| serde::de::Error::custom(format!("state path `{text}` {why}"));
        if !text.starts_with('/') {
            return Err(bad("is not absolute: write the container path from `/`"));
        }
        if text.contains([':', ',', '$']) || text.chars().any(char::is_whitespace) {
            return Err(bad(
                "has `:`, `,`, `$` or white space, which a compose volume cannot carry",
            ));
        }
        if text.split('/').any(|part| part == "." || part == "..") {
            return Err(bad("has a `.` or `..` component: write it plainly"));
        }
        let trimmed = text.trim_end_matches('/');
        Ok(Self(if trimmed.is_empty() {
            "/".into()
        } else {
            trimmed.into()
        }))
    }
}

/// An environment variable name, as compose can interpolate and set it.
struct VariableName(String);

impl<'de> Deserialize<'de> for VariableName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut chars = text.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            Ok(Self(text))
        } else {
            Err(serde::de::Error::custom(format!(
                "state env `{text}` is not a variable name: letters, digits and `_`, not starting with a digit"
            )))
        }
    }
}

/// A command-line flag such as `--db-path`.
struct Flag(String);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let valid = text.starts_with('-')
            && !text.trim_start_matches('-').is_empty()
            && !text.contains('=')
            && !text.chars().any(char::is_whitespace);
        if valid {
            Ok(Self(text))
        } else {
            Err(serde::de::Error::custom(format!(
                "state args `{text}` is not a flag: write it as `--name` or `-n`, without `=` or a value"
            )))
        }
    }
}

impl Template {
    /// Whether this is one of the generic runtimes rather than a known server.
    pub fn is_runtime(&self) -> bool {
        !self.runtime.is_empty()
    }
}
