//! What `mcpm docker engine` reports: the endpoint chosen and why (every
//! source the docker CLI's order consults and what it said), TLS, and what
//! the engine answered (negotiated API version, server version, OS, arch,
//! and its ID and name, which tell two engines apart).
use serde::Serialize;

use super::connect::{connect_to, describe};
use super::endpoint::{Endpoint, Step, unreachable_hint};

/// Where the endpoint came from, for `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    /// `flag`, `DOCKER_HOST`, `context` or `default`.
    pub kind: String,
    /// The context in use (`default` when none from the store).
    pub context: String,
    /// The words used in messages: "context `dind` from DOCKER_CONTEXT".
    pub description: String,
}

/// TLS as used for the endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct TlsReport {
    pub enabled: bool,
    /// The directory of ca.pem, cert.pem and key.pem.
    pub cert_dir: Option<String>,
    /// What asked for TLS.
    pub from: Option<String>,
}

/// What the engine said about itself.
#[derive(Debug, Clone, Serialize)]
pub struct ServerReport {
    pub version: Option<String>,
    /// The newest API version the engine speaks.
    pub api_version: Option<String>,
    pub min_api_version: Option<String>,
    pub os: Option<String>,
    pub arch: Option<String>,
    pub kernel_version: Option<String>,
    /// The engine's ID (`docker info`): unique per engine.
    pub id: Option<String>,
    /// The engine's host name (`docker info`).
    pub name: Option<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct EngineReport {
    pub host: String,
    pub source: SourceReport,
    pub chain: Vec<Step>,
    pub config_dir: String,
    pub tls: TlsReport,
    pub reachable: bool,
    /// The API version mcpm and the engine agreed on.
    pub api_version: Option<String>,
    pub server: Option<ServerReport>,
    pub error: Option<String>,
    pub hint: Option<String>,
}

/// Connects to `endpoint` and asks it who it is. An engine that cannot be
/// reached is part of the report, not an error: the choice is still shown.
pub async fn inspect(endpoint: Endpoint) -> EngineReport {
    let mut report = EngineReport {
        host: endpoint.host.clone(),
        source: SourceReport {
            kind: endpoint.source.kind().to_string(),
            context: endpoint.source.context_name().to_string(),
            description: endpoint.source.to_string(),
        },
        chain: endpoint.chain.clone(),
        config_dir: endpoint.config_dir.display().to_string(),
        tls: TlsReport {
            enabled: endpoint.tls.is_some(),
            cert_dir: endpoint
                .tls
                .as_ref()
                .map(|tls| tls.dir.display().to_string()),
            from: endpoint.tls.as_ref().map(|tls| tls.from.clone()),
        },
        reachable: false,
        api_version: None,
        server: None,
        error: None,
        hint: None,
    };
    let engine = match connect_to(endpoint.clone()).await {
        Ok(engine) => engine,
        Err(err) => {
            report.error = Some(err.message);
            report.hint = err.hint;
            return report;
        }
    };
    let version = match engine.docker.version().await {
        Ok(version) => version,
        Err(err) => {
            report.error = Some(format!(
                "the engine at {endpoint} did not say its version: {}",
                describe(&err)
            ));
            report.hint = Some(unreachable_hint(&endpoint));
            return report;
        }
    };
    // `info` adds the engine's identity; an engine that refuses it (a
    // restricted proxy) still counts as reached.
    let info = engine.docker.info().await.ok();
    report.reachable = true;
    report.api_version = Some(engine.docker.client_version().to_string());
    report.server = Some(ServerReport {
        version: version.version,
        api_version: version.api_version,
        min_api_version: version.min_api_version,
        os: version.os,
        arch: version.arch,
        kernel_version: version.kernel_version,
        id: info.as_ref().and_then(|info| info.id.clone()),
        name: info.as_ref().and_then(|info| info.name.clone()),
    });
    report
}
