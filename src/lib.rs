//! mcpm: turns profiles of MCP servers into Docker Compose deployments.
//!
//! The data flows one way: profile (TOML) → catalog (match each server to a way
//! of running it) → compose model (services, YAML) → files.
/// `mcpm --version`: the crate version and the git commit it was built from
/// (build.rs; a build outside a git checkout says so).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("MCPM_BUILD_COMMIT"),
    ")"
);

pub mod catalog;
pub mod ci;
pub mod cli;
pub mod clients;
pub mod commands;
pub mod completion;
pub mod compose;
pub mod config;
pub mod dist;
pub mod doctor;
pub mod engine;
pub mod error;
pub mod files;
pub mod gateway;
pub mod generate;
pub mod hash;
pub mod import;
pub mod labels;
pub mod mcp;
pub mod memory;
pub mod output;
pub mod profile;
pub mod source;
pub mod sync;
#[cfg(test)]
mod test_rng;
pub mod ui;
