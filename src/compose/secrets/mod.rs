//! Keeps literal secrets out of compose files: recognises secret-looking keys,
//! flags and URL passwords, classifies their values, hands out the `.env`
//! variable names that replace them (SPEC §4), and masks them in all output
//! (`mask`), and keeps them out of the hashes the compose file records
//! (`redact`).
use std::collections::BTreeMap;

mod json;
mod mask;
mod redact;

pub use json::{credential_ranges, mask_json};
pub use mask::{MASK, mask, mask_value, secret_ranges, serialize_masked};
pub use redact::{Redaction, profile_hash};

use super::interpolation::{closing_brace, is_variable_name, variable_name_for};

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
    "ID",
    "URL",
    "URI",
    "HOST",
    "PATH",
    "FILE",
    "DIR",
    "DIRECTORY",
    "NAME",
    "REGION",
    "TYPE",
    "ENDPOINT",
];

/// Keys whose value is a path to a secret, not the secret (besides those
/// ending in one of [`PUBLIC_ENDINGS`], which are not secret-looking at all).
const PATH_KEYS: &[&str] = &["GOOGLE_APPLICATION_CREDENTIALS"];

/// What a secret-looking key's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretValue {
    /// Nothing to hide: empty, exactly one reference (`${VAR}`, `${VAR:-…}`,
    /// `$VAR`), an auth scheme before one (`Bearer ${TOKEN}`), or a path for a
    /// key that holds paths (`GOOGLE_APPLICATION_CREDENTIALS=/run/sa.json`).
    Kept,
    /// A literal: it moves to `.env`.
    Literal,
    /// Literal text around a reference (`sk_live_abc${SUFFIX}`): neither a
    /// reference mcpm may keep nor a literal it could move without changing
    /// what compose interpolates.
    Mixed,
}

/// Classifies the value of a secret-looking key (SPEC §4). Starting with `/`
/// does not make a value a path: a base64 token may.
pub fn secret_value(key: &str, value: &str) -> SecretValue {
    let upper = key.trim_start_matches('-').to_ascii_uppercase();
    if value.is_empty() || single_reference(value) {
        return SecretValue::Kept;
    }
    if PATH_KEYS.contains(&upper.as_str()) && looks_like_path(value) {
        return SecretValue::Kept;
    }
    if let Some((scheme, reference)) = value.split_once(' ')
        && !scheme.is_empty()
        && scheme.chars().all(|c| c.is_ascii_alphabetic())
        && single_reference(reference)
    {
        return SecretValue::Kept;
    }
    let interpolates = super::interpolation::to_compose(value).is_ok_and(|c| c.interpolates);
    if interpolates {
        SecretValue::Mixed
    } else {
        SecretValue::Literal
    }
}

/// A file path (`/run/secrets/sa.json`, `./creds.json`).
fn looks_like_path(value: &str) -> bool {
    (value.starts_with(['/', '~']) || value.starts_with("./") || value.starts_with("../"))
        && !value.contains(char::is_whitespace)
}

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

/// The variable key a flag's secret is named after: `--api-key` → `API_KEY`;
/// `GITHUB_TOKEN` stays.
pub fn flag_key(flag: &str) -> String {
    flag.trim_start_matches('-')
        .replace('-', "_")
        .to_ascii_uppercase()
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
    /// How many names were asked for (equal values share a name, so this is
    /// not the number of names).
    asked: usize,
}

impl SecretRegistry {
    /// Registers `value` under a name derived from `key` for `server`; returns the name.
    pub fn register(&mut self, server: &str, key: &str, value: &str, origin: String) -> String {
        let base = variable_name_for(key);
        let qualified = qualified_name(server, key);
        let candidates = std::iter::once(base).chain(numbered(qualified));
        self.first_free(candidates, value, origin)
    }

    /// Registers `value` under `SERVER_KEY` (then `SERVER_KEY_2`, …): for a
    /// secret found by its position (a URL's password), whose name must say
    /// which server it belongs to and never come from the value itself.
    pub fn register_for_server(
        &mut self,
        server: &str,
        key: &str,
        value: &str,
        origin: String,
    ) -> String {
        let candidates = numbered(qualified_name(server, key));
        self.first_free(candidates, value, origin)
    }

    /// The first candidate name that is free or already holds `value`.
    fn first_free(
        &mut self,
        candidates: impl Iterator<Item = String>,
        value: &str,
        origin: String,
    ) -> String {
        self.asked += 1;
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

    /// How many times a name was asked for so far.
    pub fn registrations(&self) -> usize {
        self.asked
    }
}

/// Whether `value` is exactly one reference (`${VAR}`, `${VAR:-…}`, `$VAR`),
/// nothing before or after it: the only secret-keyed value that is not a
/// literal secret.
pub fn single_reference(value: &str) -> bool {
    if let Some(inner) = value.strip_prefix("${") {
        return closing_brace(value, 2) == Some(value.len() - 1)
            && inner.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    }
    value.strip_prefix('$').is_some_and(is_variable_name)
}

fn qualified_name(server: &str, key: &str) -> String {
    variable_name_for(&format!("{}_{}", server.to_ascii_uppercase(), key))
}

/// `NAME`, `NAME_2`, `NAME_3`, …
fn numbered(name: String) -> impl Iterator<Item = String> {
    std::iter::once(name.clone()).chain((2..).map(move |n| format!("{name}_{n}")))
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
    fn flag_keys() {
        assert_eq!(flag_key("--api-key"), "API_KEY");
        assert_eq!(flag_key("GITHUB_TOKEN"), "GITHUB_TOKEN");
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

    #[test]
    fn secret_values_are_literal_unless_one_reference_or_a_path_key() {
        use SecretValue::*;
        for (key, value, want) in [
            ("API_KEY", "/9j4AAQ+base64==", Literal),
            ("API_KEY", "sk-1", Literal),
            ("API_KEY", "a$$b", Literal),
            ("API_KEY", "${KEY}", Kept),
            ("API_KEY", "${KEY:-${OTHER}}", Kept),
            ("API_KEY", "$KEY", Kept),
            ("API_KEY", "", Kept),
            ("AUTHORIZATION", "Bearer ${TOKEN}", Kept),
            (
                "GOOGLE_APPLICATION_CREDENTIALS",
                "/run/secrets/sa.json",
                Kept,
            ),
            (
                "GOOGLE_APPLICATION_CREDENTIALS",
                "{\"type\": \"x\"}",
                Literal,
            ),
            ("API_KEY", "sk_live_abc${SUFFIX}", Mixed),
            ("API_KEY", "${A}${B}", Mixed),
            ("API_KEY", "${A}x", Mixed),
        ] {
            assert_eq!(secret_value(key, value), want, "{key}={value}");
        }
    }

    #[test]
    fn positional_names_come_from_the_server() {
        let mut registry = SecretRegistry::default();
        let first = registry.register_for_server("pg", "URL_PASSWORD", "a", "x".into());
        let second = registry.register_for_server("pg", "URL_PASSWORD", "b", "y".into());
        let same = registry.register_for_server("pg", "URL_PASSWORD", "a", "z".into());
        assert_eq!(
            [first.as_str(), second.as_str(), same.as_str()],
            ["PG_URL_PASSWORD", "PG_URL_PASSWORD_2", "PG_URL_PASSWORD"]
        );
    }
}
