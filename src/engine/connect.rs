//! Connecting to the Docker Engine chosen by `endpoint` (flags, environment,
//! docker contexts, the default socket, as the docker CLI chooses): over a
//! unix socket, plain `tcp://`, or `tcp://` with TLS, with the API version
//! negotiated down to what the engine speaks (Docker 20.10 speaks 1.41), and
//! errors that name the endpoint and where it came from.
use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, Docker};

use super::endpoint::{self, Endpoint, Inputs};
use crate::error::{Error, Result};

pub use super::endpoint::DEFAULT_HOST;

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
    /// How it was chosen, with its TLS files.
    pub endpoint: Endpoint,
}

/// The chosen engine's address, for reports that show it even when the
/// choice itself failed (a missing context): then what the environment says.
pub fn docker_host() -> String {
    match endpoint::resolve(&Inputs::from_process()) {
        Ok(endpoint) => endpoint.host,
        Err(_) => std::env::var("DOCKER_HOST")
            .ok()
            .filter(|host| !host.is_empty())
            .unwrap_or_else(|| DEFAULT_HOST.to_string()),
    }
}

/// Chooses the endpoint for this process (flags recorded by the CLI layer,
/// environment, docker config).
pub fn endpoint() -> Result<Endpoint> {
    endpoint::resolve(&Inputs::from_process())
}

/// Connects to the engine and negotiates the API version. The one entry
/// point the rest of mcpm uses.
pub async fn connect() -> Result<Engine> {
    connect_to(endpoint()?).await
}

/// Connects to a chosen endpoint and negotiates the API version.
pub async fn connect_to(endpoint: Endpoint) -> Result<Engine> {
    let docker = client_for(&endpoint)?;
    let docker = match tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version()).await {
        Ok(Ok(docker)) => docker,
        Ok(Err(err)) => return Err(unreachable_at(&endpoint, &describe(&err))),
        Err(_) => {
            return Err(unreachable_at(
                &endpoint,
                &format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
            ));
        }
    };
    Ok(Engine {
        docker,
        host: endpoint.host.clone(),
        endpoint,
    })
}

/// A bollard client for `endpoint` (no request is made yet).
fn client_for(endpoint: &Endpoint) -> Result<Docker> {
    let host = endpoint.host.as_str();
    let result = if host.starts_with("unix://") {
        Docker::connect_with_unix(host, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
    } else if let Some(tls) = &endpoint.tls {
        endpoint::check_tls_files(endpoint)?;
        install_crypto_provider();
        Docker::connect_with_ssl(
            host,
            &tls.key,
            &tls.cert,
            &tls.ca,
            REQUEST_TIMEOUT_SECS,
            API_DEFAULT_VERSION,
        )
    } else if host.starts_with("https://") {
        return Err(Error::invalid(format!(
            "{endpoint}: https:// needs TLS files, and none were given"
        ))
        .hint("set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the directory with ca.pem, cert.pem and key.pem"));
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        Docker::connect_with_http(host, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
    } else {
        named_pipe(endpoint)
    };
    result.map_err(|err| unreachable_at(endpoint, &describe(&err)))
}

/// `npipe://` on Windows: Docker Desktop's engine pipe.
#[cfg(windows)]
fn named_pipe(endpoint: &Endpoint) -> std::result::Result<Docker, bollard::errors::Error> {
    Docker::connect_with_named_pipe(&endpoint.host, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
}

/// Off Windows `endpoint::resolve` refuses `npipe://` (and any other scheme)
/// before a client is made, so this is not reached.
#[cfg(not(windows))]
fn named_pipe(endpoint: &Endpoint) -> std::result::Result<Docker, bollard::errors::Error> {
    Err(bollard::errors::Error::UnsupportedURISchemeError {
        uri: endpoint.host.clone(),
    })
}

/// rustls needs a process-wide crypto provider; ring is the one compiled in.
/// Installing it explicitly keeps a second provider pulled in by another
/// crate from making rustls panic over which to use.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The one message for an engine that cannot be reached at the endpoint this
/// process chose (the choice is made again, which is cheap and pure).
pub fn unreachable(host: &str, why: &str) -> Error {
    match endpoint() {
        Ok(endpoint) if endpoint.host == host => unreachable_at(&endpoint, why),
        _ => Error::runtime(format!("cannot reach the Docker Engine at {host}: {why}")).hint(
            format!("check that an engine listens at {host} (see `mcpm docker engine`)"),
        ),
    }
}

/// The one message for an engine that cannot be reached: the endpoint, where
/// it came from, why, and what to do.
pub fn unreachable_at(endpoint: &Endpoint, why: &str) -> Error {
    let mut hint = endpoint::unreachable_hint(endpoint);
    // A TLS failure is about the files, not about whether an engine runs.
    if let Some(tls) = &endpoint.tls {
        let lower = why.to_lowercase();
        if ["certificate", "tls", "handshake", "issuer", "alert"]
            .iter()
            .any(|word| lower.contains(word))
        {
            hint = format!(
                "TLS files from {} ({}): ca.pem must be the CA that signed the engine's certificate (whose names must include the host), and cert.pem/key.pem a client certificate the engine's CA signed",
                tls.dir.display(),
                tls.from
            );
        }
    }
    Error::runtime(format!(
        "cannot reach the Docker Engine at {endpoint}: {why}"
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
