//! mcpm as an MCP server for agents: the audit log of its tool calls and its
//! Prometheus metrics.
pub mod audit;
pub mod metrics;
