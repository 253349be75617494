//! Registry credentials for pulls, read from the docker CLI's config
//! (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): the `auths`
//! entries that `docker login` writes when no credential helper is set up.
//! Credential helpers (`credsStore`, `credHelpers`) are not run; without an
//! entry the pull is anonymous, as it is for public images.
use std::path::PathBuf;

use bollard::auth::DockerCredentials;
use serde_json::Value;

/// The registry an image reference pulls from (`docker.io` when it names none).
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

/// Credentials for pulling `image`, if the docker config holds some.
pub fn credentials_for(image: &str) -> Option<DockerCredentials> {
    let text = std::fs::read_to_string(config_path()?).ok()?;
    let config: Value = serde_json::from_str(&text).ok()?;
    credentials_in(&config, registry_of(image))
}

fn config_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => Some(PathBuf::from(dir).join("config.json")),
        None => {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
        }
    }
}

/// Looks `registry` up in a parsed config, under the spellings `docker login`
/// uses for its keys.
fn credentials_in(config: &Value, registry: &str) -> Option<DockerCredentials> {
    let auths = config.get("auths")?.as_object()?;
    let mut keys = vec![
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
    ];
    if registry == "docker.io" {
        keys.extend([
            "https://index.docker.io/v1/".into(),
            "index.docker.io".into(),
        ]);
    }
    let entry = keys.iter().find_map(|key| auths.get(key))?;
    let text = |field: &str| {
        entry
            .get(field)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if let Some(token) = text("identitytoken") {
        return Some(DockerCredentials {
            identitytoken: Some(token.to_string()),
            serveraddress: Some(registry.to_string()),
            ..Default::default()
        });
    }
    let decoded = decode_base64(text("auth")?)?;
    let (username, password) = decoded.split_once(':')?;
    Some(DockerCredentials {
        username: Some(username.to_string()),
        password: Some(password.to_string()),
        serveraddress: Some(registry.to_string()),
        ..Default::default()
    })
}

/// Standard base64 (with or without padding) to text.
fn decode_base64(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text.trim().bytes().filter(|&c| c != b'=') {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_of_references() {
        assert_eq!(registry_of("busybox"), "docker.io");
        assert_eq!(registry_of("mcp/fetch"), "docker.io");
        assert_eq!(registry_of("ghcr.io/github/github-mcp-server"), "ghcr.io");
        assert_eq!(registry_of("127.0.0.1:5000/a/b:1"), "127.0.0.1:5000");
        assert_eq!(registry_of("localhost/x"), "localhost");
    }

    #[test]
    fn auths_entries_become_credentials() {
        let config = serde_json::json!({"auths": {
            "ghcr.io": {"auth": "dXNlcjpwYTpzcw=="},
            "https://index.docker.io/v1/": {"auth": "aHViOnRva2Vu"},
            "quay.io": {"identitytoken": "tok"}
        }});
        let ghcr = credentials_in(&config, "ghcr.io").unwrap();
        assert_eq!(ghcr.username.as_deref(), Some("user"));
        assert_eq!(ghcr.password.as_deref(), Some("pa:ss"));
        let hub = credentials_in(&config, "docker.io").unwrap();
        assert_eq!(hub.username.as_deref(), Some("hub"));
        assert_eq!(
            credentials_in(&config, "quay.io")
                .unwrap()
                .identitytoken
                .as_deref(),
            Some("tok")
        );
        assert!(credentials_in(&config, "example.com").is_none());
    }

    #[test]
    fn base64() {
        assert_eq!(decode_base64("dXNlcjpwYXNz").as_deref(), Some("user:pass"));
        assert_eq!(decode_base64("YQ").as_deref(), Some("a"));
        assert_eq!(decode_base64("!!"), None);
    }
}
