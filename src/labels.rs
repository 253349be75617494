//! The one place that knows label names: what mcpm writes on services (and,
//! through them, on containers) to recognise what it owns.

/// The profile a service was generated from.
pub const PROFILE: &str = "io.mcpm.profile";
/// The server a service runs.
pub const SERVER: &str = "io.mcpm.server";
/// The detection rule that produced the service (`explicit`, `name`, …).
pub const MATCH: &str = "io.mcpm.match";
/// The catalog entry used, when one was.
pub const TEMPLATE: &str = "io.mcpm.template";
/// `always-on`, `pre-warmed` or `on-demand`.
pub const STRATEGY: &str = "io.mcpm.strategy";
/// Canonical hash of the server's profile entry when the service was written:
/// the profile side of the sync base.
pub const PROFILE_HASH: &str = "io.mcpm.profile-hash";
/// Canonical hash of the service as written (without the hash labels): the
/// compose side of the sync base.
pub const SERVICE_HASH: &str = "io.mcpm.service-hash";

/// Labels that describe the other labels and so stay out of the service hash.
pub const HASH_LABELS: &[&str] = &[PROFILE_HASH, SERVICE_HASH];
