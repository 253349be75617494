//! What client configs need from the gateway's state: the port a project's
//! gateway serves on and the bearer token. The gateway's own state module
//! (`crate::gateway::state`, written by the gateway's stream) owns these
//! files; until it lands, this reads and creates them with the same layout:
//! `<config dir>/gateway/<project>/port` and `<config dir>/gateway/token`.
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::config::ConfigDir;
use crate::error::{Error, Result};

/// `<config dir>/gateway`.
fn gateway_dir(config: &ConfigDir) -> PathBuf {
    config.path().join("gateway")
}

/// The port file of `project`'s gateway.
pub fn port_path(config: &ConfigDir, project: &str) -> PathBuf {
    gateway_dir(config).join(project).join("port")
}

/// The port `project`'s gateway chose on its first start (kept for later
/// starts), or `None` when it never started.
pub fn read_port(config: &ConfigDir, project: &str) -> Result<Option<u16>> {
    let path = port_path(config, project);
    let Some(text) = crate::files::read_optional(&path)? else {
        return Ok(None);
    };
    match text.trim().parse::<u16>() {
        Ok(port) if port != 0 => Ok(Some(port)),
        _ => Err(Error::invalid(format!(
            "{} does not hold a port number: {:?}",
            path.display(),
            text.trim()
        ))
        .hint("remove the file; the gateway picks a port again at its next start")),
    }
}

/// The token file.
pub fn token_path(config: &ConfigDir) -> PathBuf {
    gateway_dir(config).join("token")
}

/// The gateway token, `None` when none was made yet.
pub fn existing_token(config: &ConfigDir) -> Result<Option<String>> {
    let path = token_path(config);
    match crate::files::read_optional(&path)? {
        None => Ok(None),
        Some(text) => checked_token(&path, &text).map(Some),
    }
}

/// The gateway token, created on first use: 64 hex characters from the
/// system's random source, in a file only its owner can read. Two mcpm
/// processes creating it at once agree on one: the file appears whole (a
/// hard link of a finished temp file) or not at all, and the loser reads the
/// winner's.
pub fn token(config: &ConfigDir) -> Result<String> {
    if let Some(token) = existing_token(config)? {
        return Ok(token);
    }
    let path = token_path(config);
    let dir = gateway_dir(config);
    std::fs::create_dir_all(&dir).map_err(|err| Error::io("create directory", &dir, err))?;
    let token = random_hex(32)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".token.")
        .tempfile_in(&dir)
        .map_err(|err| Error::io("create a temporary file in", &dir, err))?;
    // tempfile creates it 0600: owner-only from the first byte.
    temp.write_all(format!("{token}\n").as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|err| Error::io("write", temp.path(), err))?;
    match std::fs::hard_link(temp.path(), &path) {
        Ok(()) => Ok(token),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => existing_token(config)?
            .ok_or_else(|| Error::runtime(format!("{} vanished while being read", path.display()))),
        Err(err) => Err(Error::io("create", &path, err)),
    }
}

fn checked_token(path: &Path, text: &str) -> Result<String> {
    let token = text.trim();
    if token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(token.to_string());
    }
    Err(Error::invalid(format!(
        "{} does not hold a gateway token (64 hex characters)",
        path.display()
    ))
    .hint("remove the file: a new token is made at the next use, and `mcpm client add --via http` writes it into client configs again"))
}

/// `bytes` random bytes from the system's random source, as hex.
fn random_hex(bytes: usize) -> Result<String> {
    let source = Path::new("/dev/urandom");
    let mut buffer = vec![0u8; bytes];
    std::fs::File::open(source)
        .and_then(|mut file| file.read_exact(&mut buffer))
        .map_err(|err| Error::io("read random bytes from", source, err))?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_made_once_owner_only_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let config = ConfigDir::resolve(Some(dir.path().to_path_buf()));
        assert_eq!(existing_token(&config).unwrap(), None);
        let first = token(&config).unwrap();
        assert_eq!(first.len(), 64);
        assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(token(&config).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(token_path(&config))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temp file is left beside it.
        let names: Vec<_> = std::fs::read_dir(gateway_dir(&config)).unwrap().collect();
        assert_eq!(names.len(), 1);
        std::fs::write(token_path(&config), "short\n").unwrap();
        let err = token(&config).unwrap_err();
        assert!(
            err.message.contains("does not hold a gateway token"),
            "{}",
            err.message
        );
    }

    #[test]
    fn port_is_read_from_the_projects_state() {
        let dir = tempfile::tempdir().unwrap();
        let config = ConfigDir::resolve(Some(dir.path().to_path_buf()));
        assert_eq!(read_port(&config, "mcp-dev").unwrap(), None);
        let path = port_path(&config, "mcp-dev");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "41234\n").unwrap();
        assert_eq!(read_port(&config, "mcp-dev").unwrap(), Some(41234));
        std::fs::write(&path, "http\n").unwrap();
        assert!(read_port(&config, "mcp-dev").is_err());
    }
}
