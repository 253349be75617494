//! The short spellings compose accepts inside values: durations (`1m30s`),
//! sizes (`256m`), shell-like command strings, `ip:host:container/proto` ports
//! and `source:target:mode` volumes.
use super::{Mount, PortMapping};

/// `1h2m3s`, `1.5s`, `500ms`, `10` (seconds) → nanoseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let bad = || format!("`{text}` is not a duration (write e.g. 30s, 1m30s, 500ms)");
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return Ok((seconds * 1e9) as i64);
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..number_len].parse().map_err(|_| bad())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Ok(total as i64)
}

/// `256m`, `1g`, `512k`, `1024` (bytes), `1.5gb` → bytes (powers of 1024, as
/// the docker CLI reads them).
pub fn parse_size(text: &str) -> Result<i64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let bad = || format!("`{text}` is not a size (write e.g. 256m, 1g, 512k)");
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let number: f64 = lower[..split].parse().map_err(|_| bad())?;
    let scale: f64 = match lower[split..].trim() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    Ok((number * scale) as i64)
}

/// Bytes in binary units as `docker stats` shows memory (`1.5MiB`, `64MiB`):
/// powers of 1024, four significant digits. The inverse spelling of
/// [`parse_size`]; I/O counters use [`format_size_decimal`].
pub fn format_size(bytes: f64) -> String {
    scaled(bytes, 1024.0, &["B", "KiB", "MiB", "GiB", "TiB", "PiB"], 4)
}

/// Bytes in decimal units as `docker stats` shows network and block I/O
/// (`1.2kB`, `35MB`): powers of 1000, three significant digits.
pub fn format_size_decimal(bytes: f64) -> String {
    scaled(bytes, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB"], 3)
}

/// `value` divided by `base` until it is below it (or the units run out),
/// with `digits` significant digits and no trailing zeros, like Go's `%.Ng`
/// without its exponent form.
fn scaled(value: f64, base: f64, units: &[&str], digits: i32) -> String {
    let mut value = if value.is_finite() {
        value.max(0.0)
    } else {
        0.0
    };
    let mut unit = 0;
    while value >= base && unit + 1 < units.len() {
        value /= base;
        unit += 1;
    }
    let magnitude = if value > 0.0 {
        value.log10().floor() as i32
    } else {
        0
    };
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    let mut text = format!("{value:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{text}{}", units[unit])
}

/// Splits a command string like a POSIX shell would split words: whitespace
/// separates, single quotes are literal, double quotes allow `\` escapes.
pub fn split_shell_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed single quote in `{text}`")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(format!("unclosed double quote in `{text}`")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed double quote in `{text}`")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// `[[ip:][host]:]container[/protocol]`, with `a-b` ranges, into mappings.
pub fn parse_port(text: &str) -> Result<Vec<PortMapping>, String> {
    let bad = |why: &str| format!("`{text}` is not a port mapping: {why}");
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((spec, protocol)) => (spec, protocol.to_string()),
        None => (text, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(bad("the protocol must be tcp, udp or sctp"));
    }
    // An IPv6 host address is written in brackets: `[::1]:8080:80`.
    let (host_ip, rest) = if let Some(stripped) = spec.strip_prefix('[') {
        let (ip, rest) = stripped
            .split_once("]:")
            .ok_or_else(|| bad("unclosed `[`"))?;
        (Some(ip.to_string()), rest)
    } else {
        let parts: Vec<&str> = spec.split(':').collect();
        match parts.len() {
            1 | 2 => (None, spec),
            3 => (
                Some(parts[0].to_string()).filter(|ip| !ip.is_empty()),
                &spec[parts[0].len() + 1..],
            ),
            _ => return Err(bad("too many `:`")),
        }
    };
    let (published, target) = match rest.split_once(':') {
        Some((host, container)) => (Some(host).filter(|h| !h.is_empty()), container),
        None => (None, rest),
    };
    let targets = port_range(target).map_err(|why| bad(&why))?;
    let published = match published {
        Some(host) => Some(port_range(host).map_err(|why| bad(&why))?),
        None => None,
    };
    if let Some(hosts) = &published
        && hosts.len() != targets.len()
        && hosts.len() != 1
    {
        return Err(bad("the host and container ranges differ in length"));
    }
    Ok(targets
        .iter()
        .enumerate()
        .map(|(i, target)| PortMapping {
            target: *target,
            published: published.as_ref().map(|hosts| {
                if hosts.len() == 1 && targets.len() > 1 {
                    // One host port for a range: the engine picks from it.
                    hosts[0].to_string()
                } else {
                    hosts[i].to_string()
                }
            }),
            host_ip: host_ip.clone(),
            protocol: protocol.clone(),
        })
        .collect())
}

/// `80` or `8000-8010` → the ports.
fn port_range(text: &str) -> Result<Vec<u16>, String> {
    let port = |p: &str| {
        p.trim()
            .parse::<u16>()
            .map_err(|_| format!("`{p}` is not a port number"))
    };
    match text.split_once('-') {
        Some((low, high)) => {
            let (low, high) = (port(low)?, port(high)?);
            if low > high {
                return Err(format!("the range `{text}` runs backwards"));
            }
            Ok((low..=high).collect())
        }
        None => Ok(vec![port(text)?]),
    }
}

/// `source:target[:mode]` or `target` → a mount. `source` stays as written;
/// relative bind paths are resolved when the file is loaded.
pub fn parse_volume_short(text: &str) -> Result<Mount, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => (None, *target, ""),
        [source, target] => (Some(*source), *target, ""),
        [source, target, mode] => (Some(*source), *target, *mode),
        _ => return Err(format!("`{text}` has too many `:` for a volume")),
    };
    if target.is_empty() || !target.starts_with('/') {
        return Err(format!(
            "`{text}`: the container path must be absolute (start with `/`)"
        ));
    }
    let mut read_only = false;
    let mut nocopy = false;
    let mut options = Vec::new();
    for option in mode.split(',').filter(|o| !o.is_empty()) {
        match option {
            "ro" => read_only = true,
            "rw" => read_only = false,
            "nocopy" => nocopy = true,
            "z" | "Z" | "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                options.push(option.to_string())
            }
            other => return Err(format!("`{text}`: unknown volume option `{other}`")),
        }
    }
    let target = target.to_string();
    Ok(match source {
        Some(source) if is_host_path(source) => Mount::Bind {
            source: source.to_string(),
            target,
            read_only,
            options,
        },
        Some(source) => Mount::Volume {
            source: Some(source.to_string()),
            target,
            read_only,
            nocopy,
        },
        None => Mount::Volume {
            source: None,
            target,
            read_only,
            nocopy,
        },
    })
}

/// Whether a volume source is a host path rather than a volume name.
pub fn is_host_path(source: &str) -> bool {
    source.starts_with('/') || source.starts_with('.') || source.starts_with('~')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1m30s").unwrap(), 90_000_000_000);
        assert_eq!(parse_duration("500ms").unwrap(), 500_000_000);
        assert_eq!(parse_duration("1.5s").unwrap(), 1_500_000_000);
        assert_eq!(parse_duration("10").unwrap(), 10_000_000_000);
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256m").unwrap(), 256 * 1024 * 1024);
        assert_eq!(parse_size("1G").unwrap(), 1024 * 1024 * 1024);
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("1.5k").unwrap(), 1536);
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn sizes_formatted_like_docker_stats() {
        assert_eq!(format_size(0.0), "0B");
        assert_eq!(format_size(512.0), "512B");
        assert_eq!(format_size(1536.0), "1.5KiB");
        assert_eq!(format_size(64.0 * 1024.0 * 1024.0), "64MiB");
        assert_eq!(format_size(1_234_567.0), "1.177MiB");
        assert_eq!(format_size(7.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0), "7TiB");
        assert_eq!(format_size_decimal(1_234.0), "1.23kB");
        assert_eq!(format_size_decimal(35_000_000.0), "35MB");
        assert_eq!(format_size_decimal(999.0), "999B");
        assert_eq!(format_size_decimal(f64::NAN), "0B");
        // Round trip with the parser: one notion of a size.
        assert_eq!(format_size(parse_size("256m").unwrap() as f64), "256MiB");
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            split_shell_words(r#"sh -c 'echo $A' "x \"y\"" a\ b"#).unwrap(),
            ["sh", "-c", "echo $A", "x \"y\"", "a b"]
        );
        assert_eq!(split_shell_words("  ").unwrap(), Vec::<String>::new());
        assert!(split_shell_words("'open").is_err());
    }

    #[test]
    fn ports() {
        let p = parse_port("127.0.0.1:8080:80").unwrap();
        assert_eq!(p[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(p[0].published.as_deref(), Some("8080"));
        assert_eq!(p[0].target, 80);
        assert_eq!(parse_port("80/udp").unwrap()[0].protocol, "udp");
        assert_eq!(parse_port("80").unwrap()[0].published, None);
        let range = parse_port("9000-9001:8000-8001").unwrap();
        assert_eq!(range.len(), 2);
        assert_eq!(range[1].published.as_deref(), Some("9001"));
        assert_eq!(range[1].target, 8001);
        assert_eq!(
            parse_port("[::1]:53:53/udp").unwrap()[0].host_ip.as_deref(),
            Some("::1")
        );
        assert!(parse_port("1:2:3:4").is_err());
        assert!(parse_port("99999").is_err());
        assert!(parse_port("80/icmp").is_err());
    }

    #[test]
    fn volumes() {
        assert_eq!(
            parse_volume_short("./data:/data:ro").unwrap(),
            Mount::Bind {
                source: "./data".into(),
                target: "/data".into(),
                read_only: true,
                options: vec![]
            }
        );
        assert!(matches!(
            parse_volume_short("cache:/cache").unwrap(),
            Mount::Volume { source: Some(s), .. } if s == "cache"
        ));
        assert!(matches!(
            parse_volume_short("/anon").unwrap(),
            Mount::Volume { source: None, .. }
        ));
        assert!(parse_volume_short("a:relative").is_err());
        assert!(parse_volume_short("a:/b:bogus").is_err());
    }
}
