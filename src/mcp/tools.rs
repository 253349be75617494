//! The tools `mcpm mcp serve` offers: their JSON schemas and annotations
//! (what `tools/list` answers), and the validation of a call's arguments
//! into a [`Call`]. Pure: nothing here touches the engine or a file.
use serde_json::{Map, Value, json};

use super::roles::{Role, all_tools, required_role};

/// A tool call whose arguments were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub tool: String,
    /// `project`: which of the served projects (needed only when several are).
    pub project: Option<String>,
    pub args: Args,
}

/// The checked arguments of each tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    ListServers,
    Logs {
        server: String,
        tail: u64,
        since: Option<String>,
    },
    Stats {
        servers: Vec<String>,
    },
    SyncCheck,
    GeneratePreview,
    ListNetworks,
    InspectServer {
        server: String,
    },
    /// start, stop, restart, pull: these servers, or all when empty.
    Servers {
        servers: Vec<String>,
    },
    Deploy {
        servers: Vec<String>,
        dry_run: bool,
    },
    Sync {
        strategy: String,
    },
    Down {
        volumes: bool,
    },
}

/// Lines `logs` returns when `tail` is not given, and the most it returns.
pub const DEFAULT_TAIL: u64 = 100;
pub const MAX_TAIL: u64 = 10_000;
/// The strategies `sync` accepts (`manual` would need a person).
pub const SYNC_STRATEGIES: &[&str] = &["profile_wins", "docker_wins", "merge"];

struct Meta {
    title: &'static str,
    what: &'static str,
    destructive: bool,
    idempotent: bool,
}

fn meta(tool: &str) -> Meta {
    let m = |title, what, destructive, idempotent| Meta {
        title,
        what,
        destructive,
        idempotent,
    };
    match tool {
        "list_servers" => m(
            "List servers",
            "The servers of the served projects: profile, compose, sync and container state (what `mcpm docker status --json` reports).",
            false,
            true,
        ),
        "logs" => m(
            "Server logs",
            "The last lines a server's container(s) wrote (stdout and stderr).",
            false,
            true,
        ),
        "stats" => m(
            "Container stats",
            "CPU %, memory against its limit, network and block I/O and pids of the servers' containers, one reading from the engine's stats API.",
            false,
            true,
        ),
        "sync_check" => m(
            "Check sync",
            "What a sync of the profile and its compose file would change, with diffs; nothing is written.",
            false,
            true,
        ),
        "generate_preview" => m(
            "Preview compose file",
            "The compose file `mcpm docker generate` would produce from the profile (secrets as ${VAR} references); nothing is written.",
            false,
            true,
        ),
        "list_networks" => m(
            "List networks",
            "The Docker networks of the project.",
            false,
            true,
        ),
        "inspect_server" => m(
            "Inspect server",
            "One server: its compose service, container state, image, ports and health, and its profile entry (secrets as ${VAR} references).",
            false,
            true,
        ),
        "start" => m(
            "Start servers",
            "Starts the servers' stopped containers (all servers when none are named).",
            false,
            true,
        ),
        "stop" => m(
            "Stop servers",
            "Stops the servers' running containers (all servers when none are named).",
            true,
            true,
        ),
        "restart" => m(
            "Restart servers",
            "Restarts the servers' containers (all when none are named; on-demand servers never started stay stopped unless named).",
            false,
            false,
        ),
        "deploy" => m(
            "Deploy",
            "Converges the engine to the compose file: creates, recreates and starts what changed. With dry_run, only the plan.",
            true,
            true,
        ),
        "pull" => m(
            "Pull images",
            "Pulls the images of the servers (all when none are named).",
            false,
            true,
        ),
        "sync" => m(
            "Sync profile and compose file",
            "Syncs the profile and its compose file both ways and writes both; conflicts are settled by the strategy given. Deploys nothing (call deploy after).",
            true,
            true,
        ),
        "down" => m(
            "Remove the project",
            "Stops and removes every container and network of the project (and its volumes with volumes=true).",
            true,
            true,
        ),
        _ => m("", "", false, false),
    }
}

fn project_property() -> Value {
    json!({"type": "string", "description": "Which served project (its compose project name); needed only when mcpm serves several."})
}

fn servers_property() -> Value {
    json!({"type": "array", "items": {"type": "string"}, "description": "Server (compose service) names; all when absent or empty."})
}

/// The input schema of `tool`.
pub fn input_schema(tool: &str) -> Value {
    let mut properties = Map::new();
    let mut required: Vec<&str> = Vec::new();
    match tool {
        "logs" => {
            properties.insert(
                "server".into(),
                json!({"type": "string", "description": "The server (compose service)."}),
            );
            properties.insert("tail".into(), json!({"type": "integer", "minimum": 1, "maximum": MAX_TAIL, "description": format!("Lines from the end [default: {DEFAULT_TAIL}].")}));
            properties.insert("since".into(), json!({"type": "string", "description": "Only lines after this: a duration ago (`10m`, `2h`) or an RFC 3339 time."}));
            required.push("server");
        }
        "inspect_server" => {
            properties.insert(
                "server".into(),
                json!({"type": "string", "description": "The server (compose service)."}),
            );
            required.push("server");
        }
        "stats" | "start" | "stop" | "restart" | "pull" => {
            properties.insert("servers".into(), servers_property());
        }
        "deploy" => {
            properties.insert("servers".into(), servers_property());
            properties.insert("dry_run".into(), json!({"type": "boolean", "description": "Return the plan only; change nothing [default: false]."}));
        }
        "sync" => {
            properties.insert("strategy".into(), json!({"type": "string", "enum": SYNC_STRATEGIES, "description": "How conflicts are settled: the profile's side, the compose file's side, or field by field."}));
            required.push("strategy");
        }
        "down" => {
            properties.insert("volumes".into(), json!({"type": "boolean", "description": "Remove the project's volumes too [default: false]."}));
        }
        _ => {}
    }
    properties.insert("project".into(), project_property());
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// The output schema of `tool`: every result is an object; the fields
/// named are always there.
pub fn output_schema(tool: &str) -> Value {
    let required: &[&str] = match tool {
        "list_servers" => &["projects"],
        "logs" => &["server", "containers"],
        "stats" => &["project", "containers"],
        "sync_check" | "sync" => &["profile", "status"],
        "generate_preview" => &["profile", "compose"],
        "list_networks" => &["project", "networks"],
        "inspect_server" => &["server", "project"],
        "deploy" => &["project", "dry_run", "ok"],
        _ => &["project", "ok", "results"],
    };
    json!({"type": "object", "required": required})
}

/// One tool as `tools/list` describes it. The role needed is in the
/// description, so an agent knows before calling what its token allows.
pub fn describe(tool: &str) -> Value {
    let meta = meta(tool);
    let role = required_role(tool).unwrap_or(Role::Admin);
    let read_only = role == Role::Read;
    let mut annotations = json!({
        "title": meta.title,
        "readOnlyHint": read_only,
        "openWorldHint": false,
    });
    if !read_only {
        annotations["destructiveHint"] = json!(meta.destructive);
        annotations["idempotentHint"] = json!(meta.idempotent);
    }
    json!({
        "name": tool,
        "title": meta.title,
        "description": format!("{} Needs the `{role}` role.", meta.what),
        "inputSchema": input_schema(tool),
        "outputSchema": output_schema(tool),
        "annotations": annotations,
    })
}

/// The `tools/list` result.
pub fn list() -> Value {
    json!({"tools": all_tools().map(describe).collect::<Vec<_>>()})
}

/// The message for a tool that does not exist, naming the ones that do.
pub fn unknown_tool(tool: &str) -> String {
    format!(
        "unknown tool `{tool}`; tools: {}",
        all_tools().collect::<Vec<_>>().join(", ")
    )
}

/// Checks a call's arguments against the tool's schema; `Err` is the
/// message of a JSON-RPC "invalid params" error.
pub fn parse(tool: &str, arguments: Option<&Value>) -> Result<Call, String> {
    if required_role(tool).is_none() {
        return Err(unknown_tool(tool));
    }
    let empty = Map::new();
    let object = match arguments {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(object)) => object,
        Some(_) => return Err(format!("`{tool}`: arguments must be an object")),
    };
    let schema = input_schema(tool);
    let known = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for key in object.keys() {
        if !known.contains_key(key) {
            let names: Vec<&String> = known.keys().collect();
            return Err(format!(
                "`{tool}`: unknown argument `{key}`; arguments: {}",
                names
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let text = |key: &str| -> Result<Option<String>, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
            Some(Value::String(_)) => Err(format!("`{tool}`: `{key}` is empty")),
            Some(other) => Err(format!("`{tool}`: `{key}` must be a string, not {other}")),
        }
    };
    let required = |key: &str| -> Result<String, String> {
        text(key)?.ok_or_else(|| format!("`{tool}`: `{key}` is required"))
    };
    let flag = |key: &str| -> Result<bool, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(format!(
                "`{tool}`: `{key}` must be true or false, not {other}"
            )),
        }
    };
    let servers = || -> Result<Vec<String>, String> {
        match object.get("servers") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) if !s.is_empty() => Ok(s.clone()),
                    other => Err(format!(
                        "`{tool}`: `servers` must list server names, not {other}"
                    )),
                })
                .collect(),
            Some(other) => Err(format!(
                "`{tool}`: `servers` must be an array of names, not {other}"
            )),
        }
    };
    let args = match tool {
        "list_servers" => Args::ListServers,
        "logs" => {
            let tail = match object.get("tail") {
                None | Some(Value::Null) => DEFAULT_TAIL,
                Some(value) => match value.as_u64() {
                    Some(n) if (1..=MAX_TAIL).contains(&n) => n,
                    _ => {
                        return Err(format!(
                            "`logs`: `tail` must be a whole number from 1 to {MAX_TAIL}, not {value}"
                        ));
                    }
                },
            };
            let since = text("since")?;
            if let Some(since) = &since {
                // Checked here so a bad value is a protocol error; the time
                // it means is computed when the call runs.
                crate::engine::logs::parse_since(since, 0)
                    .map_err(|why| format!("`logs`: `since`: {why}"))?;
            }
            Args::Logs {
                server: required("server")?,
                tail,
                since,
            }
        }
        "stats" => Args::Stats {
            servers: servers()?,
        },
        "sync_check" => Args::SyncCheck,
        "generate_preview" => Args::GeneratePreview,
        "list_networks" => Args::ListNetworks,
        "inspect_server" => Args::InspectServer {
            server: required("server")?,
        },
        "start" | "stop" | "restart" | "pull" => Args::Servers {
            servers: servers()?,
        },
        "deploy" => Args::Deploy {
            servers: servers()?,
            dry_run: flag("dry_run")?,
        },
        "sync" => {
            let strategy = required("strategy")?;
            if !SYNC_STRATEGIES.contains(&strategy.as_str()) {
                return Err(format!(
                    "`sync`: strategy `{strategy}` is not one of {}{}",
                    SYNC_STRATEGIES.join(", "),
                    if strategy == "manual" {
                        " (`manual` needs a person at a terminal: run `mcpm docker sync` there)"
                    } else {
                        ""
                    }
                ));
            }
            Args::Sync { strategy }
        }
        "down" => Args::Down {
            volumes: flag("volumes")?,
        },
        _ => unreachable!("every tool with a role is parsed above"),
    };
    Ok(Call {
        tool: tool.to_string(),
        project: text("project")?,
        args,
    })
}

#[cfg(test)]
#[path = "tools_tests.rs"]
mod tests;
