//! The bearer tokens of `mcpm mcp serve --http`: `<config dir>/mcp-tokens.toml`
//! holds each token's name, role, creation time and the SHA-256 of its
//! secret (never the secret itself), mode 0600. `mcpm mcp token create|ls|
//! revoke` edit it; [`TokenVerifier`] reads it again whenever it changes, so
//! a revoked token stops working at its next request, without a restart.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::roles::Role;
use crate::error::{Error, ExitStatus, Result};
use crate::files::{LockMode, WriteOptions, write_atomic};

/// How long a token command waits for another one to finish with the file.
const EDIT_LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
use crate::gateway::http::guard::same_secret;
use crate::gateway::{Caller, Verifier};

/// The file's name in the config dir.
pub const FILE_NAME: &str = "mcp-tokens.toml";
/// What every secret starts with, so a leaked one is recognisable in logs
/// and by secret scanners.
const PREFIX: &str = "mcpm_";

/// The path of the token file.
pub fn path(config_dir: &Path) -> PathBuf {
    config_dir.join(FILE_NAME)
}

/// One token as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredToken {
    pub role: String,
    /// Unix seconds.
    pub created: u64,
    /// Hex SHA-256 of the secret.
    pub sha256: String,
}

/// The whole file: tokens by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenStore {
    #[serde(default)]
    pub tokens: BTreeMap<String, StoredToken>,
}

/// A token as `token ls` shows it: no secret, no hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub name: String,
    pub role: String,
    /// RFC 3339, UTC.
    pub created: String,
}

impl TokenStore {
    /// Reads the store; a missing file is an empty store. A file that cannot
    /// be read or parsed is an error at its line and column (and is never
    /// written over: every writer loads first).
    pub fn load(file: &Path) -> Result<TokenStore> {
        let text = match std::fs::read(file) {
            Ok(bytes) => crate::source::decode(file, bytes)?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(TokenStore::default());
            }
            Err(err) => return Err(Error::io("read", file, err)),
        };
        Self::parse(file, &text)
    }

    /// Parses the file's text (see [`TokenStore::load`]).
    pub fn parse(file: &Path, text: &str) -> Result<TokenStore> {
        let invalid = |message: String, span: Option<std::ops::Range<usize>>| {
            Error::invalid(format!("invalid token file {}: {message}", file.display()))
                .at(span.map(|span| crate::source::location_in(file, text, span)))
                .hint(format!(
                    "fix or remove {} (then create the tokens again with `mcpm mcp token create`)",
                    file.display()
                ))
        };
        let store: TokenStore =
            toml::from_str(text).map_err(|err| invalid(err.message().to_string(), err.span()))?;
        for (name, token) in &store.tokens {
            if let Err(err) = token.role.parse::<Role>() {
                return Err(invalid(format!("token `{name}`: {}", err.message), None));
            }
            if token.sha256.len() != 64 || !token.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(
                    format!("token `{name}`: sha256 is not 64 hex digits"),
                    None,
                ));
            }
        }
        Ok(store)
    }

    /// Changes the store at `file` with `change` and writes it back, holding
    /// the file's lock throughout: token commands run at once each keep
    /// their change (without it, one's write could drop another's new token
    /// or bring back a revoked one). Nothing is written when `change` fails.
    pub fn edit<T>(file: &Path, change: impl FnOnce(&mut TokenStore) -> Result<T>) -> Result<T> {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|err| Error::io("create", dir, err))?;
        }
        let _lock = crate::files::lock_files(&[file], LockMode::Exclusive, EDIT_LOCK_TIMEOUT)?;
        let mut store = TokenStore::load(file)?;
        let value = change(&mut store)?;
        store.save(file)?;
        Ok(value)
    }

    /// Writes the store, mode 0600.
    fn save(&self, file: &Path) -> Result<()> {
        let text = toml::to_string(self)
            .map_err(|err| Error::runtime(format!("cannot write the token file: {err}")))?;
        let header = "# mcpm mcp tokens: names, roles and SHA-256 of the secrets (never the secrets).\n# Edit with `mcpm mcp token create|ls|revoke`.\n";
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|err| Error::io("create", dir, err))?;
        }
        write_atomic(
            file,
            format!("{header}{text}").as_bytes(),
            WriteOptions {
                mode: Some(0o600),
                backup: false,
            },
        )?;
        Ok(())
    }

    /// Adds a token and returns its secret (shown once, stored only hashed).
    /// A name in use is exit 2 unless `force` replaces it.
    pub fn create(&mut self, name: &str, role: Role, force: bool) -> Result<String> {
        check_name(name)?;
        if self.tokens.contains_key(name) && !force {
            return Err(Error::invalid(format!("a token named `{name}` exists")).hint(
                format!("pick another name, revoke it first (`mcpm mcp token revoke {name}`), or pass --force to replace it"),
            ));
        }
        // 32 bytes = 256 bits from the OS random source.
        let secret = format!("{PREFIX}{}", crate::hash::random_hex(32)?);
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.tokens.insert(
            name.to_string(),
            StoredToken {
                role: role.as_str().to_string(),
                created,
                sha256: crate::hash::digest(secret.as_bytes()),
            },
        );
        Ok(secret)
    }

    /// Removes a token; an unknown name is exit 2 naming the ones there.
    pub fn revoke(&mut self, name: &str) -> Result<()> {
        if self.tokens.remove(name).is_some() {
            return Ok(());
        }
        let there: Vec<&str> = self.tokens.keys().map(String::as_str).collect();
        Err(
            Error::invalid(format!("no token named `{name}`")).hint(if there.is_empty() {
                "there are no tokens; `mcpm mcp token create --name NAME --role ROLE` makes one"
                    .to_string()
            } else {
                format!("tokens: {}", there.join(", "))
            }),
        )
    }

    /// The tokens, by name, without secrets.
    pub fn list(&self) -> Vec<TokenInfo> {
        self.tokens
            .iter()
            .map(|(name, token)| TokenInfo {
                name: name.clone(),
                role: token.role.clone(),
                created: humantime::format_rfc3339_seconds(
                    UNIX_EPOCH + std::time::Duration::from_secs(token.created),
                )
                .to_string(),
            })
            .collect()
    }

    /// The caller a presented secret belongs to. Every stored hash is
    /// compared, each in constant time, so the answer's timing says nothing
    /// about which token (if any) came close.
    pub fn verify(&self, secret: &str) -> Option<Caller> {
        let presented = crate::hash::digest(secret.as_bytes());
        let mut found = None;
        for (name, token) in &self.tokens {
            if same_secret(presented.as_bytes(), token.sha256.as_bytes()) && found.is_none() {
                found = Some(Caller {
                    name: name.clone(),
                    role: token.role.clone(),
                });
            }
        }
        found
    }
}

/// A token name: what the audit log and `token ls` show, so plain.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(
            Error::new(ExitStatus::Invalid, format!("invalid token name {name:?}"))
                .hint("use 1 to 64 letters, digits, `-`, `_` or `.`"),
        )
    }
}

/// What identifies one version of the token file: a rewrite (always a
/// rename, see `files::write_atomic`) changes the inode, and an edit in
/// place the size or mtime.
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(file: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(file).ok()?;
    Some((meta.modified().ok()?, meta.len(), meta.ino()))
}

/// Verifies bearer tokens against the token file, reading it again when it
/// changed (one `stat` per request otherwise). While the file is invalid,
/// every token is refused and the reason is said on stderr once per change.
pub struct TokenVerifier {
    file: PathBuf,
    cache: Mutex<(Stamp, Option<TokenStore>)>,
}

impl TokenVerifier {
    /// Loads the file now: an invalid file stops the server before it starts.
    pub fn new(file: PathBuf) -> Result<TokenVerifier> {
        let store = TokenStore::load(&file)?;
        let stamp = stamp(&file);
        Ok(TokenVerifier {
            file,
            cache: Mutex::new((stamp, Some(store))),
        })
    }

    /// How many tokens the file holds now.
    pub fn count(&self) -> usize {
        let cache = crate::gateway::http::session::lock(&self.cache);
        cache.1.as_ref().map_or(0, |store| store.tokens.len())
    }
}

impl Verifier for TokenVerifier {
    fn verify(&self, token: &str) -> Option<Caller> {
        let now = stamp(&self.file);
        let mut cache = crate::gateway::http::session::lock(&self.cache);
        if cache.0 != now {
            let loaded = match TokenStore::load(&self.file) {
                Ok(store) => Some(store),
                Err(err) => {
                    eprintln!(
                        "mcpm mcp serve: refusing every token until the file is fixed: {}",
                        err.render()
                    );
                    None
                }
            };
            *cache = (now, loaded);
        }
        cache.1.as_ref()?.verify(token)
    }
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
