//! Which servers a gateway serves, and how, read from the compose file: every
//! service with `stdin_open: true` is a stdio server. Its name is the
//! `io.mcpm.server` label (else the service name); strategy, sharing and idle
//! timeout come from mcpm's labels, so a hand-written compose file works too
//! (an `on-demand` compose profile then means on-demand). Pure functions over
//! the parsed file; `connect`'s lookup explains every server it cannot serve.
use std::path::Path;

use crate::engine::desired::{Desired, ON_DEMAND};
use crate::engine::model::Service;
use crate::error::{Error, Result};
use crate::labels;
use crate::profile::{Profile, Sharing, Strategy, parse_idle_timeout};

use super::{DEFAULT_IDLE_TIMEOUT, GatewayServer};

/// The servers to serve, sorted by name. A label mcpm cannot read (edited by
/// hand) or two services claiming one server name are errors naming the file.
pub fn servers(desired: &Desired) -> Result<Vec<GatewayServer>> {
    let mut found: Vec<GatewayServer> = Vec::new();
    for (service, desired_service) in &desired.services {
        let config = &desired_service.config;
        if !config.stdin_open {
            continue;
        }
        let server = server(service, config)
            .map_err(|problem| invalid_label(&desired.file, service, problem))?;
        if let Some(other) = found.iter().find(|s| s.name == server.name) {
            return Err(Error::invalid(format!(
                "services `{}` and `{service}` of {} both serve the server `{}`",
                other.service,
                desired.file.display(),
                server.name
            ))
            .hint(format!(
                "give each service its own `{}` label",
                labels::SERVER
            )));
        }
        found.push(server);
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

fn invalid_label(file: &Path, service: &str, problem: String) -> Error {
    Error::invalid(format!(
        "service `{service}` of {}: {problem}",
        file.display()
    ))
    .hint(format!(
        "fix the label in the compose file, or set the field in the profile and run `mcpm docker sync` (labels: {}, {}, {})",
        labels::STRATEGY,
        labels::SHARING,
        labels::IDLE_TIMEOUT
    ))
}

/// One stdio service as a gateway server.
fn server(service: &str, config: &Service) -> std::result::Result<GatewayServer, String> {
    let label = |key: &str| config.labels.get(key).map(String::as_str);
    let name = label(labels::SERVER)
        .filter(|name| !name.is_empty())
        .unwrap_or(service)
        .to_string();
    let strategy = match label(labels::STRATEGY) {
        Some(text) => Strategy::parse(text).ok_or_else(|| {
            format!(
                "label {} is `{text}`, not always-on, pre-warmed or on-demand",
                labels::STRATEGY
            )
        })?,
        None if config.profiles.iter().any(|p| p == ON_DEMAND) => Strategy::OnDemand,
        None => Strategy::AlwaysOn,
    };
    let sharing = match label(labels::SHARING) {
        Some(text) => Sharing::parse(text).ok_or_else(|| {
            format!(
                "label {} is `{text}`, not shared or session",
                labels::SHARING
            )
        })?,
        None => Sharing::default(),
    };
    let idle_timeout = match label(labels::IDLE_TIMEOUT) {
        Some(text) => parse_idle_timeout(text)
            .map_err(|problem| format!("label {}: {problem}", labels::IDLE_TIMEOUT))?,
        None => DEFAULT_IDLE_TIMEOUT,
    };
    Ok(GatewayServer {
        name,
        service: service.to_string(),
        strategy,
        sharing,
        idle_timeout,
    })
}

/// The server `connect SERVER` asks for, or why it cannot be served (exit
/// 2): unknown (naming the servers there), remote, disabled, in the profile
/// but not (or not as stdio) in the compose file.
pub fn find<'a>(
    servers: &'a [GatewayServer],
    name: &str,
    profile: Option<&Profile>,
    desired: &Desired,
) -> Result<&'a GatewayServer> {
    if let Some(server) = servers.iter().find(|s| s.name == name) {
        return Ok(server);
    }
    let file = desired.file.display();
    if let Some(spec) = profile.and_then(|p| p.servers.get(name)) {
        let profile_name = &profile.map(|p| p.name.as_str()).unwrap_or_default();
        if let Some(url) = &spec.url {
            return Err(Error::invalid(format!(
                "{name} is a remote server ({url}): clients reach it directly, not through connect"
            ))
            .hint("`mcpm client add` writes remote servers into client configs as their URL"));
        }
        if !spec.is_enabled() {
            return Err(Error::invalid(format!(
                "server `{name}` is disabled in profile `{profile_name}`"
            ))
            .hint(format!(
                "remove `enabled = false` from [servers.{name}], then `mcpm docker sync {profile_name}` and `mcpm docker deploy --profile {profile_name}`"
            )));
        }
    }
    let service = desired.services.iter().find(|(service, s)| {
        s.config.labels.get(labels::SERVER).map(String::as_str) == Some(name)
            || (service.as_str() == name && !s.config.labels.contains_key(labels::SERVER))
    });
    if let Some((service, _)) = service {
        return Err(Error::invalid(format!(
            "service `{service}` of {file} does not keep its stdin open, so `{name}` is not a stdio server the gateway can attach to"
        ))
        .hint(
            "stdio MCP servers need `stdin_open: true` on their service (mcpm generates it); add it, then `mcpm docker deploy`",
        ));
    }
    if let Some(profile) = profile
        && profile.servers.contains_key(name)
    {
        return Err(Error::invalid(format!(
            "server `{name}` is in profile `{}` but not in {file}",
            profile.name
        ))
        .hint(format!(
            "run `mcpm docker sync {}` to write it into the compose file, then `mcpm docker deploy --profile {}`",
            profile.name, profile.name
        )));
    }
    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    let there = if names.is_empty() {
        format!("{file} has no stdio servers (services with `stdin_open: true`)")
    } else {
        format!("servers there: {}", names.join(", "))
    };
    Err(Error::invalid(format!("no server `{name}` in {file}")).hint(there))
}

#[cfg(test)]
#[path = "servers_tests.rs"]
mod tests;
