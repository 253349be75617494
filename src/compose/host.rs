//! Where a service meets the host: bind mounts for host paths in a server's
//! arguments, named volumes the document must declare, and published ports
//! (bound to 127.0.0.1 unless the profile names an address).
use std::collections::BTreeMap;

/// The named volume in a short-syntax volume (`data:/data`), if it is one.
pub fn named_volume(short: &str) -> Option<String> {
    let (source, _) = short.split_once(':')?;
    let is_path =
        source.starts_with(['/', '.', '~', '$']) || source.contains('/') || source.contains('\\');
    (!is_path && !source.is_empty()).then(|| source.to_string())
}

/// A read-only bind mount of a host directory at the same path (a host
/// script's directory): short syntax, or long syntax when the path holds a
/// `:`, which the short syntax would split on.
pub fn same_path_read_only(dir: &str) -> serde_yaml_ng::Value {
    if !dir.contains(':') {
        return format!("{dir}:{dir}:ro").into();
    }
    let mut long = serde_yaml_ng::Mapping::new();
    long.insert("type".into(), "bind".into());
    long.insert("source".into(), dir.into());
    long.insert("target".into(), dir.into());
    long.insert("read_only".into(), true.into());
    serde_yaml_ng::Value::Mapping(long)
}

/// Publishes on 127.0.0.1 unless the port names an address already.
pub fn bind_to_loopback(port: &str) -> String {
    // Colons inside `[…]` belong to an IPv6 address.
    let mut depth = 0;
    let colons = port
        .chars()
        .filter(|c| {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                _ => {}
            }
            *c == ':' && depth == 0
        })
        .count();
    match colons {
        0 => format!("127.0.0.1::{port}"),
        1 => format!("127.0.0.1:{port}"),
        _ => port.to_string(),
    }
}

/// Rewrites an absolute host path argument (`/a/b`, `~/b`, `--opt=/a/b`) to its
/// place under `root`, remembering the bind mount it needs.
pub fn mount_host_path(arg: &str, root: &str, mounted: &mut BTreeMap<String, String>) -> String {
    let (prefix, path) = match arg.split_once('=') {
        Some((flag, path)) if flag.starts_with('-') => (format!("{flag}="), path),
        _ => (String::new(), arg),
    };
    let is_host_path = (path.starts_with('/') || path.starts_with("~/"))
        && path != root
        && !path.starts_with(&format!("{root}/"));
    if !is_host_path {
        return arg.to_string();
    }
    if let Some(container) = mounted.get(path) {
        return format!("{prefix}{container}");
    }
    let base = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|b| !b.is_empty() && *b != "~")
        .unwrap_or("root");
    let mut container = format!("{root}/{base}");
    let mut n = 2;
    while mounted.values().any(|taken| *taken == container) {
        container = format!("{root}/{base}-{n}");
        n += 1;
    }
    mounted.insert(path.to_string(), container.clone());
    format!("{prefix}{container}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_path_mounts_use_long_syntax_for_colons() {
        assert_eq!(
            same_path_read_only("/home/dev/my tools"),
            serde_yaml_ng::Value::from("/home/dev/my tools:/home/dev/my tools:ro")
        );
        let long = same_path_read_only("/srv/a:b");
        assert_eq!(long["type"].as_str(), Some("bind"));
        assert_eq!(long["source"].as_str(), Some("/srv/a:b"));
        assert_eq!(long["target"].as_str(), Some("/srv/a:b"));
        assert_eq!(long["read_only"].as_bool(), Some(true));
    }

    #[test]
    fn ports_bind_to_loopback_unless_addressed() {
        assert_eq!(bind_to_loopback("8080:80"), "127.0.0.1:8080:80");
        assert_eq!(bind_to_loopback("80"), "127.0.0.1::80");
        assert_eq!(bind_to_loopback("0.0.0.0:8080:80"), "0.0.0.0:8080:80");
        assert_eq!(bind_to_loopback("[::1]:8080:80/udp"), "[::1]:8080:80/udp");
    }

    #[test]
    fn named_volumes_are_told_from_paths() {
        assert_eq!(named_volume("data:/data"), Some("data".into()));
        assert_eq!(named_volume("./data:/data"), None);
        assert_eq!(named_volume("/abs:/data:ro"), None);
        assert_eq!(named_volume("~/x:/x"), None);
        assert_eq!(named_volume("/anonymous"), None);
    }

    #[test]
    fn host_paths_mount_under_the_root() {
        let mut mounted = BTreeMap::new();
        assert_eq!(
            mount_host_path("/Users/alice/projects", "/projects", &mut mounted),
            "/projects/projects"
        );
        assert_eq!(
            mount_host_path("/srv/projects", "/projects", &mut mounted),
            "/projects/projects-2"
        );
        assert_eq!(
            mount_host_path("--repository=/code/repo", "/projects", &mut mounted),
            "--repository=/projects/repo"
        );
        assert_eq!(
            mount_host_path("/projects/already", "/projects", &mut mounted),
            "/projects/already"
        );
        assert_eq!(
            mount_host_path("relative", "/projects", &mut mounted),
            "relative"
        );
        assert_eq!(mounted.len(), 3);
    }
}
