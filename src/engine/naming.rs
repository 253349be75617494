//! The names compose gives to what it creates, which mcpm gives too so that
//! `docker compose` recognises them: containers `<project>-<service>-1`,
//! networks and volumes `<project>_<key>`.

/// The container of a service (mcpm runs replica 1 only).
pub fn container_name(project: &str, service: &str) -> String {
    format!("{project}-{service}-1")
}

/// A network's or volume's engine name: its `name:` if set, else `<project>_<key>`.
pub fn resource_name(project: &str, key: &str, explicit: Option<&str>) -> String {
    match explicit {
        Some(name) => name.to_string(),
        None => format!("{project}_{key}"),
    }
}

/// Whether compose accepts `name` as a project name.
pub fn is_project_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// A project name made from a directory name, as compose makes it: lowercase,
/// other characters dropped.
pub fn normalize_project(dir_name: &str) -> String {
    let name: String = dir_name
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    name.trim_start_matches(['-', '_']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(container_name("mcp-dev", "fetch"), "mcp-dev-fetch-1");
        assert_eq!(
            resource_name("mcp-dev", "mcp-network", None),
            "mcp-dev_mcp-network"
        );
        assert_eq!(resource_name("p", "n", Some("shared")), "shared");
        assert!(is_project_name("mcp-dev_1") && !is_project_name("Dev") && !is_project_name("-x"));
        assert_eq!(normalize_project("My.Project"), "myproject");
    }
}
