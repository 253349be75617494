//! The engine side of mcpm: deploys a compose file to a Docker Engine through
//! bollard, in three steps with a data type between each, like compose's
//! reconciler:
//!
//! ```text
//! compose file --desired--> Desired --observe--> ObservedState --plan--> Plan --execute--> results
//! ```
//!
//! `desired` (with `model`, `interpolate`, `env_file`) reads the file; `observe`
//! lists what the engine holds with one label-filtered call; `plan` is pure and
//! decides what changes; `execute` carries the plan out concurrently, level by
//! level; `deploy` strings them together. `lifecycle`, `logs` and `status`
//! serve the other commands.
pub mod attach;
pub mod auth;
pub mod connect;
pub mod deploy;
pub mod desired;
pub mod endpoint;
pub mod engine_info;
pub mod env_file;
pub mod execute;
pub mod inherit;
pub mod interpolate;
pub mod lifecycle;
pub mod logs;
pub mod model;
pub mod naming;
mod network_recreate;
pub mod observe;
pub mod pin;
pub mod plan;
pub mod preflight;
pub mod progress;
pub mod pull;
pub mod spec;
pub mod stats;
pub mod status;
pub mod target;
pub mod wait;
