//! Keeps literal secrets out of compose files: recognises secret-looking keys,
//! flags and URL passwords, and hands out the `.env` variable names that replace
//! them (SPEC §4).
use std::collections::BTreeMap;

use super::interpolation::variable_name_for;

/// Words that make a key or flag secret-looking, matched against its parts
/// (`GITHUB_PERSONAL_ACCESS_TOKEN` → `TOKEN`, `--api-key` → `API`+`KEY`).
const SECRET_WORDS: &[&str] = &[
    "TOKEN",
    "TOKENS",
    "KEY",
    "KEYS",
    "APIKEY",
    "SECRET",
    "SECRETS",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "CREDENTIAL",
    "CREDENTIALS",
    "AUTH",
    "AUTHORIZATION",
    "COOKIE",
    "PAT",
    "DSN",
    "BEARER",
];

/// Words that look secret but name public things (`KEY_ID` is half a secret
/// pair, yet an ID on its own): kept literal when they end the key.
const PUBLIC_ENDINGS: &[&str] = &[
    "ID", "URL", "URI", "HOST", "PATH", "FILE", "NAME", "REGION", "TYPE", "ENDPOINT",
];

/// Whether a key (env name, header, flag) names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let upper = key.trim_start_matches('-').to_ascii_uppercase();
    let parts: Vec<&str> = upper
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    let Some(last) = parts.last() else {
        return false;
    };
    if PUBLIC_ENDINGS.contains(last) && parts.len() > 1 {
        // `GITHUB_TOKEN_FILE` is a path, `API_KEY_ID` an identifier.
        return false;
    }
    parts.iter().any(|part| SECRET_WORDS.contains(part))
        || ["TOKEN", "SECRET", "PASSWORD", "APIKEY"]
            .iter()
            .any(|word| upper.replace(['_', '-'], "").contains(word))
}

/// The password of a `scheme://user:password@host` URL: its byte range in `text`.
pub fn url_password(text: &str) -> Option<std::ops::Range<usize>> {
    let scheme_end = text.find("://")? + 3;
    let authority_end = text[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |i| scheme_end + i);
    let at = text[scheme_end..authority_end].rfind('@')? + scheme_end;
    let colon = text[scheme_end..at].find(':')? + scheme_end;
    let password = colon + 1..at;
    (!password.is_empty() && !text[password.clone()].starts_with('$')).then_some(password)
}

/// A literal secret moved out of the compose file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVar {
    /// The `.env` variable name.
    pub name: String,
    pub value: String,
    /// Where it came from, for the warning: `servers.github.env.GITHUB_TOKEN`.
    pub origin: String,
}

/// Hands out `.env` variable names for the secrets of a whole profile: a key's own
/// name when free (or already holding the same value), else `SERVER_KEY`.
#[derive(Debug, Default)]
pub struct SecretRegistry {
    by_name: BTreeMap<String, SecretVar>,
}

impl SecretRegistry {
    /// Registers `value` under a name derived from `key` for `server`; returns the name.
    pub fn register(&mut self, server: &str, key: &str, value: &str, origin: String) -> String {
        let base = variable_name_for(key);
        let qualified = variable_name_for(&format!("{}_{}", server.to_ascii_uppercase(), key));
        let candidates = [base.clone(), qualified.clone()]
            .into_iter()
            .chain((2..).map(|n| format!("{qualified}_{n}")));
        for name in candidates {
            match self.by_name.get(&name) {
                Some(existing) if existing.value == value => return name,
                Some(_) => continue,
                None => {
                    self.by_name.insert(
                        name.clone(),
                        SecretVar {
                            name: name.clone(),
                            value: value.to_string(),
                            origin,
                        },
                    );
                    return name;
                }
            }
        }
        unreachable!("the candidate names never run out")
    }

    /// Every secret, sorted by variable name.
    pub fn into_vars(self) -> Vec<SecretVar> {
        self.by_name.into_values().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys() {
        for key in [
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "API_KEY",
            "apiKey",
            "--api-key",
            "DB_PASSWORD",
            "SLACK_BOT_TOKEN",
            "client_secret",
            "Authorization",
            "SENTRY_DSN",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "LOG_LEVEL",
            "REGION",
            "SLACK_TEAM_ID",
            "GITLAB_API_URL",
            "TOKEN_FILE",
            "KEYBOARD_LAYOUT",
            "--port",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn url_passwords() {
        let url = "postgresql://app:s3cret@db:5432/app";
        assert_eq!(&url[url_password(url).unwrap()], "s3cret");
        assert_eq!(url_password("postgresql://app@db/app"), None);
        assert_eq!(url_password("postgresql://app:${PW}@db/app"), None);
        assert_eq!(url_password("https://example.com/a:b@c"), None);
    }

    #[test]
    fn names_are_shared_for_equal_values_and_qualified_otherwise() {
        let mut registry = SecretRegistry::default();
        assert_eq!(registry.register("a", "TOKEN", "x", "a".into()), "TOKEN");
        assert_eq!(registry.register("b", "TOKEN", "x", "b".into()), "TOKEN");
        assert_eq!(registry.register("c", "TOKEN", "y", "c".into()), "C_TOKEN");
        assert_eq!(
            registry.register("d", "1PASS", "z", "d".into()),
            "MCPM_1PASS"
        );
        assert_eq!(registry.into_vars().len(), 3);
    }
}
