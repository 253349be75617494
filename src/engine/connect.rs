//! Connecting to the Docker Engine: `DOCKER_HOST` (`unix://…`, `tcp://…`) or
//! the default socket, with the API version negotiated down to what the engine
//! speaks (Docker 20.10 speaks 1.41), and errors that name the host.
use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, Docker};

use crate::error::{Error, Result};

/// The socket used when `DOCKER_HOST` is not set.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// Seconds a single request may take before bollard gives up. Long enough for
/// a `docker stop` with compose's 10 s grace period and then some.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// How long the first contact may take: an engine that does not answer a
/// version query in this time is treated as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected engine.
#[derive(Debug, Clone)]
pub struct Engine {
    pub docker: Docker,
    /// Where it was reached, as the user would write it (`unix:///…`).
    pub host: String,
}

/// `DOCKER_HOST`, else the default socket.
pub fn docker_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| DEFAULT_HOST.to_string())
}

/// Where the host came from, for messages: a wrong `DOCKER_HOST` left in the
/// environment is the usual cause of an engine mcpm cannot reach.
fn host_origin() -> &'static str {
    if std::env::var("DOCKER_HOST").is_ok_and(|host| !host.is_empty()) {
        "set by DOCKER_HOST"
    } else {
        "the default socket"
    }
}

/// Connects to the engine and negotiates the API version.
pub async fn connect() -> Result<Engine> {
    let host = docker_host();
    let docker = client_for(&host)?;
    let docker = match tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version()).await {
        Ok(Ok(docker)) => docker,
        Ok(Err(err)) => return Err(unreachable(&host, &describe(&err))),
        Err(_) => {
            return Err(unreachable(
                &host,
                &format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
            ));
        }
    };
    Ok(Engine { docker, host })
}

/// A bollard client for `host` (no request is made yet).
fn client_for(host: &str) -> Result<Docker> {
    let result = if host.starts_with("unix://") {
        Docker::connect_with_unix(host, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
    } else if std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty()) {
        return Err(Error::runtime(format!(
            "DOCKER_HOST={host} with DOCKER_TLS_VERIFY: mcpm does not speak TLS to the engine"
        ))
        .hint("reach the engine over its unix socket, or through an SSH tunnel to it"));
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        Docker::connect_with_http(host, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
    } else {
        return Err(Error::runtime(format!(
            "DOCKER_HOST={host} uses a scheme mcpm does not support"
        ))
        .hint("use unix:///path/to/docker.sock or tcp://HOST:PORT"));
    };
    result.map_err(|err| unreachable(host, &describe(&err)))
}

/// The one message for an engine that cannot be reached.
pub fn unreachable(host: &str, why: &str) -> Error {
    let hint = if host == DEFAULT_HOST {
        "start the Docker Engine (e.g. `sudo systemctl start docker`, or `scripts/test-engine.sh` here), or set DOCKER_HOST to one that runs".to_string()
    } else {
        format!(
            "check that an engine listens at {host}, or unset DOCKER_HOST to use {DEFAULT_HOST}"
        )
    };
    Error::runtime(format!(
        "cannot reach the Docker Engine at {host} ({}): {why}",
        host_origin()
    ))
    .hint(hint)
}

/// A bollard error in a person's words: the engine's own message when it
/// sent one, else the transport's.
pub fn describe(err: &bollard::errors::Error) -> String {
    use bollard::errors::Error as E;
    match err {
        // Something that is not a Docker Engine (a proxy, another web
        // server) answers with a bare status and no message.
        E::DockerResponseServerError {
            status_code,
            message,
        } if message.trim().is_empty() => format!(
            "HTTP {status_code} with an empty body: whatever answers there is not a Docker Engine API"
        ),
        E::DockerResponseServerError { message, .. } => message.trim().to_string(),
        E::SocketNotFoundError(path) => format!("no socket at {path}"),
        E::RequestTimeoutError => format!("no answer within {REQUEST_TIMEOUT_SECS} s"),
        other => {
            // Transport errors wrap the useful part (`Connection refused`)
            // in layers of client errors: the innermost cause says it best.
            let mut cause: &dyn std::error::Error = other;
            while let Some(source) = cause.source() {
                cause = source;
            }
            cause.to_string()
        }
    }
}

/// Whether the engine answered 404 (no such container, network, …).
pub fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Whether the engine answered 409 (a name already in use, …).
pub fn is_conflict(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            ..
        }
    )
}

/// Runs `future` on a runtime made for one command. The engine's work is I/O
/// bound, so one thread drives all concurrent requests.
pub fn block_on<T>(future: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Error::runtime(format!("cannot start the async runtime: {err}")))?;
    runtime.block_on(future)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_error_has_a_reason() {
        let bare = bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message: String::new(),
        };
        assert!(describe(&bare).contains("HTTP 404"), "{}", describe(&bare));
        let timeout = bollard::errors::Error::RequestTimeoutError;
        assert_eq!(describe(&timeout), "no answer within 120 s");
        let engine = bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            message: "name in use\n".into(),
        };
        assert_eq!(describe(&engine), "name in use");
    }
}
