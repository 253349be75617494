//! The MCP side of `mcpm mcp serve`: answers `initialize`, `ping`,
//! `tools/list` and `tools/call` for one session whose caller (and so role)
//! is known, checks the role, validates the arguments, runs the tool on a
//! thread of its own, and audits and counts every call. The transports
//! ([`super::serve`]) only move JSON-RPC messages in and out.
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use super::audit::{AuditEntry, AuditLog};
use super::metrics::Metrics;
use super::ops::{self, ToolOutput};
use super::roles::{Role, denial, required_role};
use super::scope::Scope;
use super::tools;
use crate::config::ConfigDir;

/// Protocol revisions this server speaks, newest first: a client asking for
/// one of them gets it, any other client the newest.
pub const VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// JSON-RPC error code of a call beyond the caller's role. Not -32001: the
/// HTTP front end answers "session not found" with that one.
pub const DENIED: i64 = -32003;
/// JSON-RPC "invalid params": an unknown tool or bad arguments.
pub const INVALID_PARAMS: i64 = -32602;
pub const METHOD_NOT_FOUND: i64 = -32601;

/// What every session of one server shares.
pub struct Server {
    pub config: ConfigDir,
    pub scope: Scope,
    pub audit: AuditLog,
    pub metrics: Arc<Metrics>,
}

/// Who a session acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name, or `stdio`.
    pub name: String,
    pub role: Role,
    /// `stdio` or `http`.
    pub transport: &'static str,
}

/// How a call ended, for the audit log and the metrics.
struct Outcome {
    outcome: &'static str,
    detail: Option<String>,
}

impl Server {
    /// Answers one message; `None` for notifications and responses.
    pub async fn handle(self: &Arc<Self>, caller: &Caller, message: Value) -> Option<Value> {
        let id = message.get("id").cloned().filter(|id| !id.is_null());
        let method = message.get("method").and_then(Value::as_str);
        let (Some(id), Some(method)) = (id, method) else {
            // A notification (initialized, cancelled) or a response: nothing
            // to answer; this server sends no requests of its own.
            return None;
        };
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        let answer = match method {
            "initialize" => Ok(initialize(&params)),
            "ping" => Ok(json!({})),
            "tools/list" => Ok(tools::list()),
            "tools/call" => self.call(caller, &params).await,
            other => Err((
                METHOD_NOT_FOUND,
                format!("method `{other}` is not supported by mcpm mcp serve"),
            )),
        };
        Some(match answer {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err((code, message)) => json!({
                "jsonrpc": "2.0",
                "id": id,
                "error": {"code": code, "message": message},
            }),
        })
    }

    /// `tools/call`: the role first (a caller learns nothing about a tool
    /// it may not call), then the arguments, then the tool.
    async fn call(
        self: &Arc<Self>,
        caller: &Caller,
        params: &Value,
    ) -> Result<Value, (i64, String)> {
        let started = Instant::now();
        let name = params.get("name").and_then(Value::as_str).unwrap_or("");
        let arguments = params.get("arguments").cloned().unwrap_or(Value::Null);
        let record =
            |outcome: &Outcome| self.record(caller, name, &arguments, outcome, started.elapsed());
        let Some(needed) = required_role(name) else {
            let message = tools::unknown_tool(name);
            record(&Outcome {
                outcome: "invalid",
                detail: Some(message.clone()),
            });
            return Err((INVALID_PARAMS, message));
        };
        if !caller.role.allows(needed) {
            let message = denial(name, needed, caller.role);
            record(&Outcome {
                outcome: "denied",
                detail: Some(format!("needs {needed}")),
            });
            return Err((DENIED, message));
        }
        let call = match tools::parse(name, Some(&arguments)) {
            Ok(call) => call,
            Err(message) => {
                record(&Outcome {
                    outcome: "invalid",
                    detail: Some(message.clone()),
                });
                return Err((INVALID_PARAMS, message));
            }
        };
        let server = self.clone();
        let ran = run_blocking(move || ops::run(&server.config, &server.scope, &call)).await;
        let (result, outcome) = match ran {
            Ok(output) => {
                let outcome = Outcome {
                    outcome: if output.is_error { "error" } else { "ok" },
                    detail: output.is_error.then(|| "a step failed".to_string()),
                };
                (tool_result(output), outcome)
            }
            Err(err) => {
                let text = describe_error(&err);
                (
                    json!({"content": [{"type": "text", "text": text}], "isError": true}),
                    Outcome {
                        outcome: "error",
                        detail: Some(text),
                    },
                )
            }
        };
        record(&outcome);
        Ok(result)
    }

    fn record(
        &self,
        caller: &Caller,
        tool: &str,
        arguments: &Value,
        outcome: &Outcome,
        duration: Duration,
    ) {
        self.metrics.record_call(tool, outcome.outcome, duration);
        let entry = AuditEntry {
            time: SystemTime::now(),
            caller: caller.name.clone(),
            role: caller.role.as_str().to_string(),
            transport: caller.transport.to_string(),
            tool: tool.to_string(),
            arguments: arguments.clone(),
            outcome: outcome.outcome.to_string(),
            detail: outcome.detail.clone(),
            duration,
        };
        // The call happened whatever the log says: its answer still goes
        // out, and the failure is said where the operator sees it.
        if let Err(err) = self.audit.record(&entry) {
            eprintln!(
                "mcpm mcp serve: cannot write the audit log: {}",
                err.render()
            );
        }
    }
}

/// The `initialize` result: the client's revision when this server speaks
/// it, else the newest.
pub fn initialize(params: &Value) -> Value {
    let asked = params.get("protocolVersion").and_then(Value::as_str);
    let version = asked
        .filter(|v| VERSIONS.contains(v))
        .unwrap_or(VERSIONS[0]);
    json!({
        "protocolVersion": version,
        "capabilities": {"tools": {"listChanged": false}},
        "serverInfo": {"name": "mcpm", "title": "mcpm", "version": env!("CARGO_PKG_VERSION")},
        "instructions": "Operate the Docker Compose deployments of MCP servers that mcpm manages. Read tools (list_servers, logs, stats, …) change nothing; each tool's description names the role it needs.",
    })
}

/// A tool's output as a `CallToolResult`.
fn tool_result(output: ToolOutput) -> Value {
    json!({
        "content": [{"type": "text", "text": output.text}],
        "structuredContent": output.value,
        "isError": output.is_error,
    })
}

/// An error as the text a tool error result carries: what, and the hint.
fn describe_error(err: &crate::error::Error) -> String {
    let mut text = err.message.clone();
    if let Some(location) = &err.location {
        text = format!(
            "{}:{}:{}: {text}",
            location.path.display(),
            location.line,
            location.column
        );
    }
    if let Some(hint) = &err.hint {
        text.push_str(&format!("\nhint: {hint}"));
    }
    text
}

/// Runs `work` on a thread of its own (the library's engine calls start
/// their own runtime, which cannot nest in this one) and waits for it
/// without blocking the runtime.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> crate::error::Result<T> + Send + 'static,
) -> crate::error::Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("mcp-tool".into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .map_err(|err| crate::error::Error::runtime(format!("cannot start a thread: {err}")))?;
    rx.await.unwrap_or_else(|_| {
        Err(crate::error::Error::runtime(
            "the tool's thread ended without an answer",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_version_is_kept_when_known() {
        for version in VERSIONS {
            let result = initialize(&json!({"protocolVersion": version}));
            assert_eq!(result["protocolVersion"], *version);
        }
        let result = initialize(&json!({"protocolVersion": "1999-01-01"}));
        assert_eq!(result["protocolVersion"], VERSIONS[0]);
        assert_eq!(initialize(&Value::Null)["serverInfo"]["name"], "mcpm");
    }
}
