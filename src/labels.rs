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
/// `session` when the server's gateway sessions each get their own
/// container; absent for the default, `shared`.
pub const SHARING: &str = "io.mcpm.sharing";
/// The server's `idle_timeout` as the profile wrote it (`10m`, `1h30m`);
/// absent when the profile leaves the default.
pub const IDLE_TIMEOUT: &str = "io.mcpm.idle-timeout";
/// Canonical hash of the server's profile entry when the service was written:
/// the profile side of the sync base.
pub const PROFILE_HASH: &str = "io.mcpm.profile-hash";
/// Canonical hash of the service as written (without the hash labels): the
/// compose side of the sync base.
pub const SERVICE_HASH: &str = "io.mcpm.service-hash";

/// mcpm's hash of the resolved config an engine object was created from, on
/// the containers and networks mcpm creates. mcpm decides what to recreate by
/// this label. It cannot compute the value compose writes in
/// [`compose::CONFIG_HASH`] (that is a SHA-256 of Go's JSON of compose-go's
/// normalised service, which changes with compose releases), so compose and
/// mcpm each recognise their own containers; see DOCNOTES-engine.md.
pub const CONFIG_HASH: &str = "io.mcpm.config-hash";

/// The anonymous volumes a container took over from the one it replaced,
/// comma-separated. They are mounted by name, which makes the engine's own
/// `rm -v` keep them, so mcpm removes them itself on `down --volumes` and
/// when nothing takes them over on the next recreate.
pub const INHERITED_VOLUMES: &str = "io.mcpm.inherited-volumes";

/// On one-off session containers a gateway runs (`sharing = "session"`): the
/// pid of that gateway, so a later gateway of the project removes the ones
/// whose gateway is gone.
pub const GATEWAY_SESSION: &str = "io.mcpm.gateway-session";

/// Labels that describe the other labels and so stay out of the service hash.
pub const HASH_LABELS: &[&str] = &[PROFILE_HASH, SERVICE_HASH];

/// Labels Docker Compose puts on what it deploys. mcpm writes the same ones on
/// the containers, networks and volumes it creates, so `docker compose ps`,
/// `logs` and `down` (and `docker-compose` v1's `ps`/`down`) see mcpm's
/// deployments as their own, and mcpm finds them again with one filtered listing.
pub mod compose {
    /// The compose project (on containers, networks and volumes).
    pub const PROJECT: &str = "com.docker.compose.project";
    /// The service a container runs.
    pub const SERVICE: &str = "com.docker.compose.service";
    /// The replica number; mcpm runs one replica per service, always "1".
    pub const CONTAINER_NUMBER: &str = "com.docker.compose.container-number";
    /// "False" for service containers; "True" marks `compose run` one-offs,
    /// which deploy leaves alone.
    pub const ONEOFF: &str = "com.docker.compose.oneoff";
    /// The random id of a `compose run` one-off container (64 hex digits;
    /// its name ends in the first 12).
    pub const SLUG: &str = "com.docker.compose.slug";
    /// Hash of the service config the container was created from, in compose's
    /// own terms. mcpm writes its own hash here too (a value compose never
    /// computes, so `docker compose up` recreates mcpm's containers once) and
    /// reads it only for containers made by mcpm before [`super::CONFIG_HASH`]
    /// existed.
    pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
    /// Directory of the compose file (compose resolves relative paths here).
    pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
    /// The compose file(s), comma-separated absolute paths.
    pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
    /// The compose version that created the object.
    pub const VERSION: &str = "com.docker.compose.version";
    /// The dependencies of a service, `svc:condition:restart` comma-separated.
    pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
    /// The key of a network in the compose file (`mcp-network`).
    pub const NETWORK: &str = "com.docker.compose.network";
    /// The key of a volume in the compose file.
    pub const VOLUME: &str = "com.docker.compose.volume";

    /// The value written in [`VERSION`]. Compose writes its own release; mcpm
    /// names objects the way compose v2 does (`<project>-<service>-1`), so it
    /// writes a v2-style number.
    pub const VERSION_VALUE: &str = "2.0.0";
    /// The value of [`ONEOFF`] on service containers (compose writes a Python bool).
    pub const ONEOFF_FALSE: &str = "False";
    /// The value of [`ONEOFF`] on one-off (`run`) containers.
    pub const ONEOFF_TRUE: &str = "True";
}
