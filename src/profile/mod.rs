//! Profiles: the TOML model of a set of MCP servers (SPEC §2), how a profile is
//! found and loaded, and the checks that make every loading error point at a line.
pub mod edit;
mod list;
pub use list::{ProfileEntry, ServerLine, kind, list_profiles, masked_server, server_lines};
mod load;
mod model;
pub mod ops;
pub mod tables;
mod validate;
pub use validate::{
    check_server, cpus_value, is_project_like_name, is_server_name, suggest_server_name,
};

pub(crate) use load::same_file;
pub use load::{LoadedProfile, load_profile, load_profile_text, resolve_profile_path};
pub use model::{
    ConflictStrategy, Cpus, DockerSettings, EnvValue, NetworkChoice, Profile, Resources,
    ServerSpec, Sharing, Strategy, parse_idle_timeout,
};
