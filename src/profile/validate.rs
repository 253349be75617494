//! Checks a parsed profile beyond what its types say, pointing every problem at
//! the key or value in the file.
use crate::compose::fields::{closest_field, is_service_field};
use crate::error::{Error, Result};
use crate::source::{Segment, SourceFile};

use super::model::{Cpus, Profile, ServerSpec};

/// Validates names, server kinds and field formats; the first problem is returned.
pub fn validate(profile: &Profile, source: &SourceFile) -> Result<()> {
    let at = |keys: &[&str]| source.locate_value_nearest(&Segment::path(keys.iter().copied()));
    if !is_project_like_name(&profile.name) {
        return Err(Error::invalid(format!("invalid profile name `{}`", profile.name))
            .at(at(&["name"]))
            .hint("profile names use lowercase letters, digits, `_` and `-`, starting with a letter or digit"));
    }
    if let Some(project) = &profile.docker.project
        && !is_project_like_name(project)
    {
        return Err(Error::invalid(format!("invalid compose project name `{project}`"))
            .at(at(&["docker", "project"]))
            .hint("compose project names use lowercase letters, digits, `_` and `-`, starting with a letter or digit"));
    }
    if let Some(subnet) = &profile.docker.subnet
        && !looks_like_cidr(subnet)
    {
        return Err(Error::invalid(format!("invalid subnet `{subnet}`"))
            .at(at(&["docker", "subnet"]))
            .hint("write a CIDR block such as \"172.28.0.0/16\""));
    }
    if let Some(file) = &profile.docker.compose_file
        && !is_yaml_file_name(file)
    {
        return Err(Error::invalid(format!(
            "`compose_file = \"{file}\"` does not name a YAML file"
        ))
        .at(at(&["docker", "compose_file"]))
        .hint("the compose file's name must end in `.yml` or `.yaml` (mcpm writes only compose files)"));
    }
    for (name, server) in &profile.servers {
        validate_server(name, server, source)?;
    }
    Ok(())
}

/// Whether `file` ends in `.yml` or `.yaml` (SPEC §5: a profile from someone
/// else's repository must not point sync at any other kind of file).
fn is_yaml_file_name(file: &str) -> bool {
    let lower = file.to_ascii_lowercase();
    let name = lower.rsplit(['/', '\\']).next().unwrap_or_default();
    name.len() > 4 && (name.ends_with(".yml") || name.ends_with(".yaml"))
}

/// Whether `server` under `name` would pass the profile's own validation:
/// sync asks before writing an entry fitted from the compose file, so a
/// service the profile cannot hold is reported, never written and refused.
pub fn check_server(name: &str, server: &ServerSpec) -> std::result::Result<(), String> {
    let source = SourceFile::new(std::path::Path::new("profile.toml"), String::new());
    validate_server(name, server, &source).map_err(|err| err.message)
}

fn validate_server(name: &str, server: &ServerSpec, source: &SourceFile) -> Result<()> {
    let at = |keys: &[&str]| {
        let mut path = vec![Segment::Key("servers".into()), Segment::Key(name.into())];
        path.extend(keys.iter().map(|key| Segment::Key(key.to_string())));
        source.locate_nearest(&path)
    };
    let value_at = |keys: &[&str]| {
        let mut path = vec![Segment::Key("servers".into()), Segment::Key(name.into())];
        path.extend(keys.iter().map(|key| Segment::Key(key.to_string())));
        source.locate_value_nearest(&path)
    };
    if !is_server_name(name) {
        return Err(Error::invalid(format!("invalid server name `{name}`"))
            .at(at(&[]))
            .hint(format!(
                "server names become compose service names: use lowercase letters, digits, `_`, `.` and `-` (e.g. `{}`)",
                suggest_server_name(name)
            )));
    }
    match (&server.command, &server.url) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(format!("server `{name}` has both `command` and `url`"))
                .at(at(&["url"]))
                .hint("a server is either stdio (`command`, `args`, `env`) or remote (`url`, `headers`): keep one"));
        }
        (None, None) => {
            return Err(Error::invalid(format!("server `{name}` has neither `command` nor `url`"))
                .at(at(&[]))
                .hint("add `command = \"npx\"` (with `args`) for a stdio server, or `url = \"https://…\"` for a remote one"));
        }
        (Some(command), None) if command.trim().is_empty() => {
            return Err(
                Error::invalid(format!("server `{name}` has an empty `command`"))
                    .at(value_at(&["command"])),
            );
        }
        (None, Some(url)) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Error::invalid(format!(
                    "server `{name}` has a url that is not http(s): `{url}`"
                ))
                .at(at(&["url"]))
                .hint("remote MCP servers are reached over HTTP: write `https://host/path`"));
            }
            for (key, present) in [
                ("args", !server.args.is_empty()),
                ("env", !server.env.is_empty()),
                ("volumes", !server.volumes.is_empty()),
                ("ports", !server.ports.is_empty()),
                ("resources", server.resources.is_some()),
                ("strategy", server.strategy.is_some()),
                ("sharing", server.sharing.is_some()),
                ("idle_timeout", server.idle_timeout.is_some()),
                ("network", server.network.is_some()),
                ("docker", server.docker.is_some()),
                ("unset", !server.unset.is_empty()),
            ] {
                if present {
                    return Err(Error::invalid(format!(
                        "remote server `{name}` cannot have `{key}`: it runs elsewhere, not in a container"
                    ))
                    .at(at(&[key]))
                    .hint(format!("remove `{key}`, or replace `url` with a `command` to run the server locally")));
                }
            }
        }
        _ => {}
    }
    if server.command.is_some() && !server.headers.is_empty() {
        return Err(Error::invalid(format!("stdio server `{name}` cannot have `headers`"))
            .at(at(&["headers"]))
            .hint("`headers` belong to remote (`url`) servers; pass values to a stdio server through `env`"));
    }
    if let Some(timeout) = &server.idle_timeout
        && let Err(problem) = super::model::parse_idle_timeout(timeout)
    {
        return Err(Error::invalid(format!(
            "invalid idle_timeout in server `{name}`: {problem}"
        ))
        .at(value_at(&["idle_timeout"]))
        .hint("write a duration such as \"90s\", \"10m\" or \"1h30m\" (units ms, s, m, h)"));
    }
    for key in server.env.keys() {
        if key.is_empty() || key.contains('=') || key.contains(char::is_whitespace) {
            return Err(Error::invalid(format!(
                "invalid environment variable name `{key}` in server `{name}`"
            ))
            .at(at(&["env", key]))
            .hint("variable names cannot be empty or contain `=` or spaces"));
        }
    }
    if let Some(resources) = &server.resources {
        if let Some(memory) = &resources.memory
            && !is_memory_size(memory)
        {
            return Err(Error::invalid(format!(
                "invalid memory size `{memory}` in server `{name}`"
            ))
            .at(value_at(&["resources", "memory"]))
            .hint("write a size such as \"256m\" or \"1g\" (units b, k, m, g, t)"));
        }
        if let Some(cpus) = &resources.cpus
            && cpus_value(cpus).is_none()
        {
            return Err(
                Error::invalid(format!("invalid cpus value in server `{name}`"))
                    .at(value_at(&["resources", "cpus"]))
                    .hint("write a positive number such as 0.5 or \"1.5\""),
            );
        }
        if let Some(pids) = resources.pids
            && pids == 0
        {
            return Err(
                Error::invalid(format!("invalid pids limit 0 in server `{name}`"))
                    .at(value_at(&["resources", "pids"]))
                    .hint("use a positive number of processes, or -1 for no limit"),
            );
        }
    }
    for (index, field) in server.unset.iter().enumerate() {
        if !is_service_field(field) || field == "image" || field == "labels" {
            let mut path = vec![
                Segment::Key("servers".into()),
                Segment::Key(name.into()),
                Segment::Key("unset".into()),
            ];
            path.push(Segment::Index(index));
            return Err(Error::invalid(format!("`unset` of server `{name}` names `{field}`, which mcpm cannot leave out"))
                .at(source.locate_value_nearest(&path))
                .hint("`unset` lists compose service fields mcpm generates (read_only, cap_drop, networks, …), never `image` or `labels`"));
        }
    }
    if let Some(docker) = &server.docker {
        for key in docker.keys() {
            if !is_service_field(key) {
                let hint = match closest_field(key) {
                    Some(close) => format!(
                        "did you mean `{close}`? `[servers.{name}.docker]` takes compose service fields"
                    ),
                    None => format!(
                        "`[servers.{name}.docker]` takes compose service fields (image, command, read_only, …) or `x-` extensions"
                    ),
                };
                return Err(Error::invalid(format!(
                    "`{key}` is not a compose service field (server `{name}`)"
                ))
                .at(at(&["docker", key]))
                .hint(hint));
            }
        }
        if let Some(image) = docker.get("image")
            && image.as_str().is_none_or(|image| image.trim().is_empty())
        {
            return Err(Error::invalid(format!(
                "`image` of server `{name}` must be a non-empty string"
            ))
            .at(value_at(&["docker", "image"])));
        }
    }
    Ok(())
}

/// Profile and project names: `[a-z0-9][a-z0-9_-]*`, as compose requires of projects.
pub fn is_project_like_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Server names: `[a-z0-9][a-z0-9_.-]*`; they become service and container names.
pub fn is_server_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
}

/// A valid server name close to `name`: lowercased, other characters as `-`.
pub fn suggest_server_name(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_start_matches(['-', '_', '.']);
    if trimmed.is_empty() {
        "server".to_string()
    } else {
        trimmed.to_string()
    }
}

fn looks_like_cidr(text: &str) -> bool {
    let Some((address, bits)) = text.split_once('/') else {
        return false;
    };
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => bits <= 32,
        Ok(std::net::IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}

/// `256m`, `1g`, `512mb`, `1048576`: what compose accepts for `mem_limit`.
/// Whether `text` is a positive memory size, by the one size parser that
/// deploy and `stats` use too, so the profile accepts what they accept.
fn is_memory_size(text: &str) -> bool {
    crate::engine::model::parse_size(text).is_ok_and(|bytes| bytes > 0)
}

/// The number of CPUs, when positive.
pub fn cpus_value(cpus: &Cpus) -> Option<f64> {
    let value = match cpus {
        Cpus::Number(n) => *n,
        Cpus::Text(text) => text.trim().parse().ok()?,
    };
    (value > 0.0 && value.is_finite()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_compose_rules() {
        assert!(is_project_like_name("dev"));
        assert!(is_project_like_name("mcp-dev_2"));
        assert!(!is_project_like_name("Dev"));
        assert!(!is_project_like_name("-dev"));
        assert!(is_server_name("context7.bun"));
        assert!(!is_server_name("Context7"));
        assert_eq!(suggest_server_name("My Server"), "my-server");
    }

    #[test]
    fn memory_sizes() {
        for good in ["256m", "1g", "512mb", "1048576", "1.5g"] {
            assert!(is_memory_size(good), "{good}");
        }
        for bad in ["", "m", "lots", "-1m", "12q", "0"] {
            assert!(!is_memory_size(bad), "{bad}");
        }
    }

    #[test]
    fn cidr_blocks() {
        assert!(looks_like_cidr("172.28.0.0/16"));
        assert!(looks_like_cidr("fd00::/64"));
        assert!(!looks_like_cidr("172.28.0.0"));
        assert!(!looks_like_cidr("172.28.0.0/40"));
    }
}
