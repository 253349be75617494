//! Masking for JSON values that mcpm records rather than prints from a user's
//! file: the arguments of an MCP tool call in the audit log. A value is hidden
//! when its key is secret-looking (the one rule, [`is_secret_key`]), when it
//! is text [`mask`] would hide (a URL password, `KEY=value`), or when it has
//! the shape of a credential on its own ([`credential_ranges`]: `Bearer …`,
//! `ghp_…`, `sk-…`), since an agent may pass a token under any key.
use serde_json::Value;

use super::{MASK, is_secret_key, mask};

/// Prefixes that start well-known credentials: GitHub (`ghp_`, `gho_`,
/// `ghu_`, `ghs_`, `ghr_`, `github_pat_`), GitLab (`glpat-`), Slack
/// (`xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`), OpenAI and Anthropic
/// (`sk-`), Stripe (`sk_live_`, `rk_live_`, `sk_test_`), AWS access keys
/// (`AKIA`, `ASIA`), Hugging Face (`hf_`), npm (`npm_`), PyPI (`pypi-`).
const CREDENTIAL_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xoxr-",
    "xoxs-",
    "sk-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "AKIA",
    "ASIA",
    "hf_",
    "npm_",
    "pypi-",
];

/// How many characters must follow a prefix for a word to count as a
/// credential: `sk-` alone, or `sk-learn`, is not one.
const MIN_CREDENTIAL_TAIL: usize = 12;

/// Authorization schemes whose next word is a credential.
const AUTH_SCHEMES: &[&str] = &["bearer", "basic", "token", "bot"];

/// `value` with every secret masked as [`MASK`], recursively: the whole value
/// of a secret-looking key (whatever its type), and in every other string the
/// parts [`mask`] and [`credential_ranges`] find. Keys are kept as they are.
pub fn mask_json(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(mask_text(text)),
        Value::Array(items) => Value::Array(items.iter().map(mask_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let masked = if is_secret_key(key) && !is_empty(value) {
                        Value::String(MASK.into())
                    } else {
                        mask_json(value)
                    };
                    (key.clone(), masked)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// An empty or null value hides nothing; showing it says "no secret given".
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        _ => false,
    }
}

/// One string with its URL passwords, keyed values and credential-shaped
/// words masked.
fn mask_text(text: &str) -> String {
    let masked = mask(text, &[]);
    let ranges = credential_ranges(&masked);
    if ranges.is_empty() {
        return masked;
    }
    let mut out = String::with_capacity(masked.len());
    let mut last = 0;
    for range in ranges {
        out.push_str(&masked[last..range.start]);
        out.push_str(MASK);
        last = range.end;
    }
    out.push_str(&masked[last..]);
    out
}

/// The byte ranges of `text` that hold a credential by its shape: the word
/// after an authorization scheme (`Bearer abc…`, `Basic dXNl…`) and words
/// that start with a known prefix ([`CREDENTIAL_PREFIXES`]) followed by at
/// least [`MIN_CREDENTIAL_TAIL`] token characters. Sorted and disjoint.
pub fn credential_ranges(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut previous: Option<&str> = None;
    for (start, word) in words(text) {
        let after_scheme = previous.is_some_and(|p| {
            AUTH_SCHEMES
                .iter()
                .any(|scheme| p.eq_ignore_ascii_case(scheme))
        });
        // The word after "Bearer" is the credential unless it is the mask
        // already or a `${VAR}` reference.
        if (after_scheme && word != MASK && !word.starts_with('$')) || has_credential_prefix(word) {
            ranges.push(start..start + word.len());
        }
        previous = Some(word);
    }
    ranges
}

/// The words of `text` (runs of token characters) with their byte offsets.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    // Letters of any script: `Bearer tøkén` is one word, masked whole.
    let is_token = |c: char| c.is_alphanumeric() || "-_.~+/=$*".contains(c);
    let mut rest = text.char_indices().peekable();
    std::iter::from_fn(move || {
        while rest.peek().is_some_and(|&(_, c)| !is_token(c)) {
            rest.next();
        }
        let (start, _) = *rest.peek()?;
        let mut end = start;
        while let Some(&(at, c)) = rest.peek() {
            if !is_token(c) {
                break;
            }
            end = at + c.len_utf8();
            rest.next();
        }
        Some((start, &text[start..end]))
    })
}

fn has_credential_prefix(word: &str) -> bool {
    CREDENTIAL_PREFIXES.iter().any(|prefix| {
        word.strip_prefix(prefix).is_some_and(|tail| {
            tail.len() >= MIN_CREDENTIAL_TAIL
                && tail
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secret_keys_are_masked_at_any_depth_and_of_any_type() {
        let masked = mask_json(&json!({
            "server": "github",
            "env": {"GITHUB_TOKEN": "abc", "REGION": "eu", "nested": [{"api_key": 42}]},
            "password": {"inner": "x"},
            "client_secret": null,
            "auth_token": "",
        }));
        assert_eq!(
            masked,
            json!({
                "server": "github",
                "env": {"GITHUB_TOKEN": MASK, "REGION": "eu", "nested": [{"api_key": MASK}]},
                "password": MASK,
                "client_secret": null,
                "auth_token": "",
            })
        );
    }

    #[test]
    fn public_endings_stay() {
        let masked = mask_json(&json!({"GITHUB_TOKEN_FILE": "/run/t", "API_KEY_ID": "k1"}));
        assert_eq!(
            masked,
            json!({"GITHUB_TOKEN_FILE": "/run/t", "API_KEY_ID": "k1"})
        );
    }

    #[test]
    fn credentials_by_shape_are_masked_under_any_key() {
        let masked = mask_json(&json!({
            "header": "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc",
            "note": "use ghp_0123456789abcdefghij for the repo",
            "lower": "bearer   s3cr3t",
            "url": "https://alice:pa%20ss@example.com/path",
            "list": ["--flag", "sk-proj-abcdefghijklmnop", "AKIAABCDEFGHIJKLMNOP"],
            "env": "DB_PASSWORD=hunter2 other=1",
        }));
        let text = masked.to_string();
        for secret in [
            "eyJhbGci", "ghp_0123", "s3cr3t", "pa%20ss", "sk-proj", "AKIAABCD", "hunter2",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(masked["note"], json!(format!("use {MASK} for the repo")));
        assert_eq!(
            masked["url"],
            json!(format!("https://alice:{MASK}@example.com/path"))
        );
        assert_eq!(masked["list"][0], json!("--flag"));
        // The keyed value runs to the end of the text, as `mask` decides.
        assert_eq!(masked["env"], json!(format!("DB_PASSWORD={MASK}")));
    }

    #[test]
    fn ordinary_words_with_a_prefix_are_not_credentials() {
        let value = json!({"q": "sk-learn hf_hub ghp_ AKIA task-runner", "ref": "Bearer ${TOKEN}"});
        assert_eq!(mask_json(&value), value);
    }

    #[test]
    fn odd_unicode_is_kept_whole_around_masks() {
        let masked = mask_json(&json!({
            "ключ": "значение",
            "msg": "🔑 Bearer tøkén-ü 🦀 é\u{301}",
            "ＴＯＫＥＮ": "fullwidth key",
            "emoji_TOKEN": "🙈",
            "rtl": "\u{202e}ghp_0123456789abcdefghij\u{202c}",
            "zero\u{200b}width": "x",
        }));
        assert_eq!(masked["ключ"], json!("значение"));
        assert_eq!(masked["emoji_TOKEN"], json!(MASK));
        let msg = masked["msg"].as_str().unwrap();
        assert!(msg.starts_with("🔑 Bearer "), "{msg}");
        assert!(!msg.contains("tøk"), "{msg}");
        assert!(msg.ends_with("🦀 é\u{301}"), "{msg}");
        assert_eq!(
            masked["rtl"],
            json!(format!("\u{202e}{MASK}\u{202c}")),
            "bidi controls stay, the token goes"
        );
        assert_eq!(masked["zero\u{200b}width"], json!("x"));
        // Keys are matched in ASCII, as everywhere else in mcpm.
        assert_eq!(masked["ＴＯＫＥＮ"], json!("fullwidth key"));
    }

    #[test]
    fn scalars_and_empty_containers_pass_through() {
        for value in [json!(null), json!(1.5), json!(true), json!([]), json!({})] {
            assert_eq!(mask_json(&value), value);
        }
    }
}
