//! Keeps literal secrets out of compose files: recognises secret-looking keys,
//! flags and URL passwords, and hands out the `.env` variable names that replace
//! them (SPEC §4).
use std::collections::BTreeMap;

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

    /// Whether `name` is taken by a different value.
    pub fn holds_other(&self, name: &str, value: &str) -> bool {
        self.by_name.get(name).is_some_and(|v| v.value != value)
    }

    /// Every secret, sorted by variable name.
    pub fn into_vars(self) -> Vec<SecretVar> {
        self.by_name.into_values().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// What a masked secret is shown as.
pub const MASK: &str = "****";

/// `text` with every secret it seems to hold replaced by [`MASK`]: the values
/// in `known` wherever they occur, URL passwords, the value of a secret-looking
/// key (`KEY: v`, `KEY=v`, `KEY = "v"`) and the word after a secret-looking flag
/// (`--api-key sk-…`, `"--api-key", "sk-…"`). A `${VAR}` reference is not a
/// secret and stays. The one masking used for everything mcpm prints from a
/// user's file: diffs, error snippets, field values and reasons.
pub fn mask(text: &str, known: &[&str]) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut last = 0;
        for range in secret_ranges(line, known) {
            out.push_str(&line[last..range.start]);
            out.push_str(MASK);
            last = range.end;
        }
        out.push_str(&line[last..]);
    }
    out
}

/// A YAML value (a service field) with its secrets masked as [`mask`] does:
/// values of secret-looking keys, URL passwords, `KEY=value` list entries and
/// the item after a secret-looking flag in a command list.
pub fn mask_value(value: &serde_yaml_ng::Value) -> serde_yaml_ng::Value {
    use serde_yaml_ng::Value;
    match value {
        Value::String(text) => Value::String(mask(text, &[])),
        Value::Sequence(items) => {
            let mut after_secret_flag = false;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let text = item.as_str();
                if after_secret_flag
                    && text.is_some_and(|t| !t.starts_with('-') && !single_reference(t))
                {
                    out.push(Value::String(MASK.into()));
                    after_secret_flag = false;
                    continue;
                }
                after_secret_flag = text
                    .is_some_and(|t| t.starts_with('-') && !t.contains('=') && is_secret_key(t));
                out.push(mask_value(item));
            }
            Value::Sequence(out)
        }
        Value::Mapping(map) => Value::Mapping(
            map.iter()
                .map(|(k, v)| {
                    let secret = k.as_str().is_some_and(is_secret_key)
                        && v.as_str().is_some_and(|text| {
                            secret_value(k.as_str().unwrap_or_default(), text) != SecretValue::Kept
                        });
                    let v = if secret {
                        Value::String(MASK.into())
                    } else {
                        mask_value(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Tagged(tagged) => mask_value(&tagged.value),
        other => other.clone(),
    }
}

/// Serializes an optional YAML value masked (for `serialize_with`): what
/// `--json` and the conflict listings print of a field.
pub fn serialize_masked<S: serde::Serializer>(
    value: &Option<serde_yaml_ng::Value>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    value.as_ref().map(mask_value).serialize(serializer)
}

/// The byte ranges of `line` that [`mask`] hides, sorted and disjoint.
pub fn secret_ranges(line: &str, known: &[&str]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    // Very short values would mask half of every line; literals that short are
    // caught by their key instead.
    for value in known.iter().filter(|v| v.len() >= 4) {
        ranges.extend(line.match_indices(*value).map(|(at, v)| at..at + v.len()));
    }
    let mut from = 0;
    while let Some(found) = line[from..].find("://") {
        let start = from + found;
        if let Some(range) = url_password_at(line, start) {
            ranges.push(range);
        }
        from = start + 3;
    }
    ranges.extend(keyed_values(line));
    ranges.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
    let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
    for range in ranges.into_iter().filter(|r| !r.is_empty()) {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

/// The password of the URL whose `://` is at `scheme_sep` in a line of text,
/// where the URL ends at whitespace or a quote.
fn url_password_at(line: &str, scheme_sep: usize) -> Option<std::ops::Range<usize>> {
    let authority_start = scheme_sep + 3;
    let rest = &line[authority_start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || "\"'`/?#,]}>".contains(c))
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    let at = authority.rfind('@')?;
    let colon = authority[..at].find(':')?;
    let password = authority_start + colon + 1..authority_start + at;
    (!password.is_empty() && !is_reference(&line[password.clone()])).then_some(password)
}

/// Values of secret-looking keys and flags in one line of YAML, TOML, JSON,
/// `.env` or a command line.
fn keyed_values(line: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = line.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b"_-.".contains(&b);
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_word(bytes[i]) || (i > 0 && is_word(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_word(bytes[i]) {
            i += 1;
        }
        let word = &line[start..i];
        if !is_secret_key(word) {
            continue;
        }
        let mut j = i;
        if j < bytes.len() && b"\"'".contains(&bytes[j]) {
            j += 1;
        }
        let spaced = j;
        while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
            j += 1;
        }
        let separator = bytes.get(j).copied();
        let value_start = match separator {
            Some(b'=') => j + 1,
            Some(b':') if bytes.get(j + 1).is_none_or(|b| b.is_ascii_whitespace()) => j + 1,
            Some(b',') if word.starts_with('-') => j + 1,
            Some(_) if word.starts_with('-') && j > spaced => j,
            _ => continue,
        };
        let flag_only = !matches!(separator, Some(b'=' | b':'));
        let mut k = value_start;
        while k < bytes.len() && (bytes[k] == b' ' || bytes[k] == b'\t') {
            k += 1;
        }
        let Some(range) = value_at(line, k, flag_only) else {
            continue;
        };
        if !is_reference(&line[range.clone()]) {
            i = range.end;
            ranges.push(range);
        }
    }
    ranges
}

/// The value that starts at `at`: inside its quotes, or bare up to a comment,
/// a flow delimiter or (after a flag) the next space.
fn value_at(line: &str, at: usize, flag_only: bool) -> Option<std::ops::Range<usize>> {
    let rest = line.get(at..)?;
    let quote = rest.chars().next()?;
    if quote == '"' || quote == '\'' {
        let body = &rest[1..];
        let mut escaped = false;
        let end = body
            .char_indices()
            .find(|&(_, c)| {
                let closes = c == quote && !escaped;
                escaped = quote == '"' && c == '\\' && !escaped;
                closes
            })
            .map_or(body.len(), |(i, _)| i);
        return Some(at + 1..at + 1 + end);
    }
    if flag_only && quote == '-' {
        return None;
    }
    let end = rest
        .find(|c: char| ",]}\r\n".contains(c) || (flag_only && c.is_whitespace()))
        .unwrap_or(rest.len());
    let end = rest[..end].find(" #").unwrap_or(end);
    Some(at..at + rest[..end].trim_end().len())
}

/// Exactly one `${VAR}` / `${VAR:-…}` reference (or empty): not a secret.
fn is_reference(value: &str) -> bool {
    let value = value.trim();
    value.is_empty() || single_reference(value)
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
}

#[cfg(test)]
mod mask_tests {
    use super::*;

    #[test]
    fn masks_keyed_values_urls_flags_and_known_values() {
        for (line, want) in [
            (
                "      OPENAI_API_KEY: sk-proj-1",
                "      OPENAI_API_KEY: ****",
            ),
            (
                "env = { API_KEY = \"sk-1\", DEBUG = \"1\" }",
                "env = { API_KEY = \"****\", DEBUG = \"1\" }",
            ),
            ("GITHUB_TOKEN='ghp_x'", "GITHUB_TOKEN='****'"),
            ("  - API_TOKEN=abc # why", "  - API_TOKEN=**** # why"),
            (
                "args = [\"x\", \"--api-key\", \"sk-2\"]",
                "args = [\"x\", \"--api-key\", \"****\"]",
            ),
            (
                "npx x --api-key sk-3 --port 1",
                "npx x --api-key **** --port 1",
            ),
            (
                "  - \"--db=mysql://root:pw@db/x\"",
                "  - \"--db=mysql://root:****@db/x\"",
            ),
            ("Authorization: Bearer abc", "Authorization: ****"),
            // References, public keys and plain text stay.
            (
                "GITHUB_TOKEN: \"${GH_TOKEN}\"",
                "GITHUB_TOKEN: \"${GH_TOKEN}\"",
            ),
            (
                "url: https://example.com/a:b@c",
                "url: https://example.com/a:b@c",
            ),
            ("SLACK_TEAM_ID: T1", "SLACK_TEAM_ID: T1"),
            ("  --api-key", "  --api-key"),
            ("token-less text", "token-less text"),
        ] {
            assert_eq!(mask(line, &[]), want, "{line}");
        }
        assert_eq!(mask("  - sk-known\n", &["sk-known"]), "  - ****\n");
        // Too short to mask everywhere.
        assert_eq!(mask("abc", &["a"]), "abc");
    }

    #[test]
    fn masks_field_values() {
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            "{A_TOKEN: lit, B_TOKEN: '${B}', URL: 'pg://u:pw@h/d', LIST: [x, --api-key, k, --port, '1', 'API_KEY=v']}",
        )
        .unwrap();
        let masked = serde_yaml_ng::to_string(&mask_value(&value)).unwrap();
        assert_eq!(
            masked,
            "A_TOKEN: '****'\nB_TOKEN: ${B}\nURL: pg://u:****@h/d\nLIST:\n- x\n- --api-key\n- '****'\n- --port\n- '1'\n- API_KEY=****\n"
        );
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
