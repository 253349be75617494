//! `mcpm mcp serve`: mcpm's own MCP server for agents (SPEC §6b). It offers
//! the operations of mcpm's commands as MCP tools, on the projects named at
//! start only, with roles bound to bearer tokens, an audit log line per call
//! and Prometheus metrics.
//!
//! ```text
//! stdio / HTTP (gateway::http) ── serve ── server (role check, audit, metrics)
//!                                              └── tools (schemas, arguments: pure)
//!                                              └── ops ── scope ── library (status, logs, stats, sync, deploy, lifecycle)
//! ```
//!
//! Decisions are pure and tested without I/O: `roles` (which tool needs
//! which role), `tools` (schemas, argument checks), `scope::pick_index`.
//! `tokens` keeps the token file; `audit` and `metrics` record the calls.
pub mod audit;
pub mod metrics;
pub mod ops;
pub mod roles;
pub mod scope;
pub mod serve;
pub mod server;
pub mod tokens;
pub mod tools;
