//! `--wait`: polls the project's containers (one listing per round) until the
//! started services run and, where they have a healthcheck, are healthy.
use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::error::Result;

use super::connect::Engine;
use super::observe::{self, ContainerState, Health, ObservedContainer};

/// Where each awaited service ended up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitOutcome {
    /// Service → `running`, `healthy`, or why it is not ready.
    pub services: BTreeMap<String, String>,
    /// Services that are not ready.
    pub not_ready: Vec<String>,
}

/// Whether a container is ready; `Err` means it never will be.
fn readiness(container: Option<&ObservedContainer>) -> std::result::Result<bool, String> {
    let Some(container) = container else {
        return Err("missing".into());
    };
    match (container.state, container.health) {
        (ContainerState::Running, Some(Health::Unhealthy)) => Err("unhealthy".into()),
        (ContainerState::Running, Some(Health::Starting)) => Ok(false),
        (ContainerState::Running, _) => Ok(true),
        (ContainerState::Created | ContainerState::Restarting, _) => Ok(false),
        (state, _) => Err(state.as_str().into()),
    }
}

fn describe(container: Option<&ObservedContainer>) -> String {
    match container {
        None => "missing".into(),
        Some(c) => match c.health {
            Some(health) => health.as_str().into(),
            None => c.state.as_str().into(),
        },
    }
}

/// Waits for `services` of `project`, at most `timeout`.
pub async fn wait_ready(
    engine: &Engine,
    project: &str,
    services: &[String],
    timeout: Duration,
) -> Result<WaitOutcome> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let containers = observe::containers(engine, project).await?;
        let first = |service: &str| containers.get(service).and_then(|list| list.first());
        let mut pending = Vec::new();
        let mut failed = Vec::new();
        for service in services {
            match readiness(first(service)) {
                Ok(true) => {}
                Ok(false) => pending.push(service.clone()),
                Err(_) => failed.push(service.clone()),
            }
        }
        let done = pending.is_empty() && failed.is_empty();
        if done || !failed.is_empty() || tokio::time::Instant::now() >= deadline {
            let states = services
                .iter()
                .map(|s| (s.clone(), describe(first(s))))
                .collect();
            let mut not_ready = failed;
            not_ready.extend(pending);
            return Ok(WaitOutcome {
                services: states,
                not_ready,
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
