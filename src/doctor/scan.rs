//! Pure text scanners the checks share: loopback hosts in a value, absolute
//! paths, and the `${VAR}` references compose will interpolate.
use std::ops::Range;

/// One loopback host in a value: its byte range (brackets included for
/// `[::1]`) and the port written right after it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopbackHit {
    pub range: Range<usize>,
    pub port: Option<u16>,
}

/// Names a container resolves to itself rather than to the host. `0.0.0.0`
/// is only a target inside a URL: as `--host 0.0.0.0` it is a bind address,
/// which is what a server in a container should listen on.
const LOOPBACK: &[&str] = &["localhost", "127.0.0.1", "[::1]"];
const ANY_ADDRESS: &str = "0.0.0.0";

/// The loopback hosts in `value`. A host counts only as a whole name:
/// `localhost.example.com` and `v127.0.0.1x` are other names.
pub fn loopback_hosts(value: &str) -> Vec<LoopbackHit> {
    // ASCII lowercasing keeps every byte offset (and char boundary) in place.
    let lower = value.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut hits = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let found = LOOPBACK
            .iter()
            .chain(std::iter::once(&ANY_ADDRESS))
            .find(|name| bytes[at..].starts_with(name.as_bytes()));
        let Some(name) = found else {
            at += 1;
            continue;
        };
        let end = at + name.len();
        let before_ok = at == 0 || !is_name_byte(bytes[at - 1]);
        let after_ok = end == bytes.len() || !is_name_byte(bytes[end]);
        let in_url = lower[..at].ends_with("://") || after_userinfo(&lower[..at]);
        if before_ok && after_ok && (*name != ANY_ADDRESS || in_url) {
            hits.push(LoopbackHit {
                range: at..end,
                port: port_after(&lower[end..]),
            });
            at = end;
        } else {
            at += 1;
        }
    }
    hits
}

/// Whether the text before a host ends in a URL's `user:password@`.
fn after_userinfo(before: &str) -> bool {
    before.ends_with('@')
        && before
            .rfind("://")
            .is_some_and(|scheme| !before[scheme + 3..before.len() - 1].contains('/'))
}

/// Bytes that continue a host name (or an IPv4 address): a loopback name
/// next to one of these is part of a longer name.
fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_') || byte >= 0x80
}

fn port_after(rest: &str) -> Option<u16> {
    let digits = rest.strip_prefix(':')?;
    let len = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..len].parse().ok()
}

/// `value` with each hit replaced by what `replacement` gives for it.
pub fn replace_hosts(
    value: &str,
    hits: &[LoopbackHit],
    mut replacement: impl FnMut(&LoopbackHit) -> String,
) -> String {
    let mut out = String::with_capacity(value.len() + 16);
    let mut last = 0;
    for hit in hits {
        out.push_str(&value[last..hit.range.start]);
        out.push_str(&replacement(hit));
        last = hit.range.end;
    }
    out.push_str(&value[last..]);
    out
}

/// Directories that belong to the image rather than to the host: a path
/// under one of them names a file inside the container.
const IMAGE_ROOTS: &[&str] = &[
    "/app", "/bin", "/dev", "/etc", "/lib", "/opt", "/proc", "/run", "/sbin", "/sys", "/tmp",
    "/usr", "/var/run",
];

/// The absolute host path a value (or a `--flag=value` argument) names: the
/// whole value, quotes stripped. Paths in the image's own directories, URLs,
/// lists (`a:b`) and `//` are not host paths.
pub fn host_path(value: &str) -> Option<&str> {
    let value = match value.split_once('=') {
        Some((flag, rest)) if flag.starts_with('-') => rest,
        _ => value,
    };
    let value = value.trim();
    let value = ['"', '\'']
        .iter()
        .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
        .unwrap_or(value);
    let is_path = value.starts_with('/')
        && !value.starts_with("//")
        && value.len() > 1
        && !value.contains(':')
        && !value.contains('\n');
    if !is_path {
        return None;
    }
    let in_image = IMAGE_ROOTS
        .iter()
        .any(|root| value == *root || value.starts_with(&format!("{root}/")));
    (!in_image).then_some(value)
}

/// Whether `path` is `dir` or inside it (component-wise, not by prefix).
pub fn is_within(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    dir.is_empty() || path == dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// A `$` reference compose interpolates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    /// The text after the name inside the braces (`:-default`, `:?message`).
    pub operator: String,
    pub range: Range<usize>,
}

impl Reference {
    /// Whether compose substitutes something even when the variable is
    /// unset (`${A:-x}`, `${A-x}`) or deliberately nothing (`${A:+x}`).
    pub fn has_fallback(&self) -> bool {
        ["-", ":-", "+", ":+"]
            .iter()
            .any(|op| self.operator.starts_with(op))
    }
}

/// The `${NAME…}` and `$NAME` references in `text`; `$$` is a literal `$`.
/// Names compose cannot read (`${input:id}`) are listed too, operator and
/// all, so the caller can say what they are.
pub fn references(text: &str) -> Vec<Reference> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => i += 2,
            Some(b'{') => {
                let Some(end) = crate::compose::interpolation::closing_brace(text, i + 2) else {
                    break;
                };
                let inner = &text[i + 2..end];
                let name_len = inner
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(inner.len());
                out.push(Reference {
                    name: inner[..name_len].to_string(),
                    operator: inner[name_len..].to_string(),
                    range: i..end + 1,
                });
                // Defaults may hold references of their own.
                i += 2;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let len = text[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(text.len() - i - 1);
                out.push(Reference {
                    name: text[i + 1..i + 1 + len].to_string(),
                    operator: String::new(),
                    range: i..i + 1 + len,
                });
                i += 1 + len;
            }
            _ => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(value: &str) -> Vec<&str> {
        loopback_hosts(value)
            .into_iter()
            .map(|hit| &value[hit.range])
            .collect()
    }

    #[test]
    fn loopback_hosts_are_whole_names() {
        assert_eq!(hosts("postgresql://localhost:5432/app"), ["localhost"]);
        assert_eq!(hosts("postgresql://u:p@LocalHost/app"), ["LocalHost"]);
        assert_eq!(hosts("http://[::1]:8080/x"), ["[::1]"]);
        assert_eq!(hosts("127.0.0.1:6379"), ["127.0.0.1"]);
        assert_eq!(hosts("localhost"), ["localhost"]);
        assert_eq!(hosts("--host=localhost"), ["localhost"]);
        assert_eq!(hosts("a=localhost,b=127.0.0.1"), ["localhost", "127.0.0.1"]);
        // Longer names and words that merely contain one.
        assert!(hosts("https://localhost.example.com/x").is_empty());
        assert!(hosts("https://my-localhost/x").is_empty());
        assert!(hosts("v127.0.0.1x").is_empty());
        assert!(hosts("1127.0.0.1").is_empty());
        assert!(hosts("127.0.0.10").is_empty());
        assert!(hosts("notlocalhost").is_empty());
        // 0.0.0.0 is a target only in a URL; as a value it is a bind address.
        assert_eq!(hosts("http://0.0.0.0:3000"), ["0.0.0.0"]);
        assert!(hosts("0.0.0.0").is_empty());
        // Multibyte text around a host keeps offsets right.
        assert_eq!(hosts("caf\u{e9} http://localhost/\u{1f600}"), ["localhost"]);
        assert!(hosts("\u{e9}localhost").is_empty(), "a letter is a letter");
    }

    #[test]
    fn ports_are_read_after_the_host() {
        let hits = loopback_hosts("redis://localhost:6379/0 http://[::1]/ 127.0.0.1:x");
        let ports: Vec<Option<u16>> = hits.iter().map(|h| h.port).collect();
        assert_eq!(ports, [Some(6379), None, None]);
    }

    #[test]
    fn hosts_are_replaced_in_place() {
        let value = "postgresql://localhost:5432/app?x=[::1]";
        let hits = loopback_hosts(value);
        assert_eq!(
            replace_hosts(value, &hits, |_| "host.docker.internal".into()),
            "postgresql://host.docker.internal:5432/app?x=host.docker.internal"
        );
    }

    #[test]
    fn host_paths_are_whole_absolute_values() {
        assert_eq!(
            host_path("/home/dev/.mcp/memory.json"),
            Some("/home/dev/.mcp/memory.json")
        );
        assert_eq!(
            host_path("--db-path=/home/dev/app.db"),
            Some("/home/dev/app.db")
        );
        assert_eq!(
            host_path("\"/home/dev/My Files\""),
            Some("/home/dev/My Files")
        );
        assert_eq!(
            host_path("'/Users/j\u{f6}rg/x'"),
            Some("/Users/j\u{f6}rg/x")
        );
        for not in [
            "relative/x",
            "http://x/y",
            "//server/share",
            "/tmp/x",
            "/usr/local/bin/node",
            "/app/data",
            "/a:/b",
            "/",
            "x=/home/dev",
        ] {
            assert_eq!(host_path(not), None, "{not}");
        }
        // Only the image's own roots, not names that start the same.
        assert_eq!(host_path("/applications/x"), Some("/applications/x"));
    }

    #[test]
    fn within_is_per_component() {
        assert!(is_within("/data/x.db", "/data"));
        assert!(is_within("/data", "/data/"));
        assert!(!is_within("/database", "/data"));
    }

    #[test]
    fn references_skip_literal_dollars() {
        let names: Vec<(String, String)> = references("$$HOME ${A} $B-x ${C:-${D}} ${input:key} $")
            .into_iter()
            .map(|r| (r.name, r.operator))
            .collect();
        assert_eq!(
            names,
            [
                ("A".into(), "".into()),
                ("B".into(), "".into()),
                ("C".into(), ":-${D}".into()),
                ("D".into(), "".into()),
                ("input".into(), ":key".into()),
            ]
        );
        assert!(references("${C:-x}")[0].has_fallback());
        assert!(!references("${C:?x}")[0].has_fallback());
    }
}
