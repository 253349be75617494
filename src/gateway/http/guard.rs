//! Who may talk to the gateway: the bearer token, and the `Host`/`Origin`
//! checks that stop a web page from reaching a loopback server through DNS
//! rebinding. Pure functions over header values (the token itself is
//! judged by a [`Verifier`]).
use crate::gateway::{Caller, Verifier};

/// Why a request was turned away before it reached a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 403: `Host` is not one of the gateway's names.
    BadHost(String),
    /// 403: a browser page from another origin.
    BadOrigin(String),
    /// 401: no `Authorization: Bearer`, or the wrong token.
    Unauthorized,
}

/// The `Host` and `Origin` values a gateway listening on `port` of the
/// loopback interface accepts.
pub fn loopback_names(port: u16) -> (Vec<String>, Vec<String>) {
    let hosts: Vec<String> = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .map(|host| format!("{host}:{port}"))
        .collect();
    let origins = hosts.iter().map(|host| format!("http://{host}")).collect();
    (hosts, origins)
}

/// Checks one request's headers, in the order that tells the least to a
/// stranger: names first (a rebinding page learns nothing about the
/// token), then the token. No `allowed_hosts` at all: any `Host` (a server
/// bound for other hosts cannot know the name it is reached by; its tokens
/// guard it).
pub fn check(
    host: Option<&str>,
    origin: Option<&str>,
    authorization: Option<&str>,
    allowed_hosts: &[String],
    allowed_origins: &[String],
    verifier: &dyn Verifier,
) -> Result<Caller, Refusal> {
    let host = host.unwrap_or("");
    if !allowed_hosts.is_empty() && !allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Err(Refusal::BadHost(host.to_string()));
    }
    if let Some(origin) = origin
        && !allowed_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
    {
        return Err(Refusal::BadOrigin(origin.to_string()));
    }
    let presented = authorization.and_then(bearer).unwrap_or("");
    if presented.is_empty() {
        return Err(Refusal::Unauthorized);
    }
    verifier.verify(presented).ok_or(Refusal::Unauthorized)
}

/// The token of an `Authorization: Bearer TOKEN` value (scheme case-insensitive).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Compares two secrets in time that depends only on their lengths, so a
/// caller cannot find the token byte by byte from response times.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::SingleToken;

    fn names() -> (Vec<String>, Vec<String>) {
        loopback_names(8123)
    }

    #[test]
    fn loopback_names_cover_the_three_spellings() {
        let (hosts, origins) = names();
        assert_eq!(
            hosts,
            ["127.0.0.1:8123", "localhost:8123", "[::1]:8123"].map(String::from)
        );
        assert_eq!(origins[1], "http://localhost:8123");
    }

    #[test]
    fn host_origin_then_token() {
        let (hosts, origins) = names();
        let verifier = SingleToken("s3cret".into());
        let ok = |host, origin, auth| {
            check(host, origin, auth, &hosts, &origins, &verifier).map(|c| c.name)
        };
        assert_eq!(
            ok(Some("127.0.0.1:8123"), None, Some("Bearer s3cret")),
            Ok("gateway".to_string())
        );
        assert_eq!(
            ok(
                Some("LOCALHOST:8123"),
                Some("http://localhost:8123"),
                Some("bearer s3cret")
            ),
            Ok("gateway".to_string())
        );
        assert_eq!(
            ok(Some("evil.example:8123"), None, Some("Bearer s3cret")),
            Err(Refusal::BadHost("evil.example:8123".into()))
        );
        assert_eq!(
            ok(None, None, Some("Bearer s3cret")),
            Err(Refusal::BadHost(String::new()))
        );
        // The port is part of the name: another port is another server.
        assert!(matches!(
            ok(Some("127.0.0.1:80"), None, None),
            Err(Refusal::BadHost(_))
        ));
        assert_eq!(
            ok(
                Some("127.0.0.1:8123"),
                Some("http://evil.example"),
                Some("Bearer s3cret")
            ),
            Err(Refusal::BadOrigin("http://evil.example".into()))
        );
        assert_eq!(
            ok(Some("127.0.0.1:8123"), None, None),
            Err(Refusal::Unauthorized)
        );
        assert_eq!(
            ok(Some("127.0.0.1:8123"), None, Some("Bearer s3cre")),
            Err(Refusal::Unauthorized)
        );
        assert_eq!(
            ok(Some("127.0.0.1:8123"), None, Some("Basic s3cret")),
            Err(Refusal::Unauthorized)
        );
        assert_eq!(
            ok(Some("127.0.0.1:8123"), None, Some("Bearer")),
            Err(Refusal::Unauthorized)
        );
        // An empty configured token never lets anyone in.
        assert_eq!(
            check(
                Some("127.0.0.1:8123"),
                None,
                Some("Bearer "),
                &hosts,
                &origins,
                &SingleToken(String::new())
            ),
            Err(Refusal::Unauthorized)
        );
    }

    #[test]
    fn same_secret_compares_whole_values() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(same_secret(b"", b""));
    }
}
