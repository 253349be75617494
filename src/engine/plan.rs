//! The planner: desired state + observed state → the operations that converge
//! the engine. Pure (no I/O), so every decision is tested without an engine.
//!
//! A container is left alone when mcpm's config-hash label
//! (`io.mcpm.config-hash`) equals the desired hash, it runs the current image
//! and it is on all its networks; services are grouped in dependency levels
//! from `depends_on`, each level deployed after the one before. A network
//! whose config changed is recreated (see [`network_divergence`]).
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::error::{Error, Result};

use super::desired::{Activation, Desired, DesiredNetwork, DesiredService};
use super::model::{DependencyCondition, Mount, PullPolicy};
use super::observe::{ContainerState, ObservedContainer, ObservedNetwork, ObservedState};

/// `--pull`: when to pull images (a service's `pull_policy` applies when the
/// flag is not given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PullMode {
    Missing,
    Always,
    Never,
}

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Services named on the command line; empty means all.
    pub services: Vec<String>,
    /// `--pull`; `None` defers to each service's `pull_policy` (default missing).
    pub pull: Option<PullMode>,
    pub remove_orphans: bool,
}

/// The operations of one deploy.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub project: String,
    pub networks: Vec<ResourceStep>,
    pub volumes: Vec<ResourceStep>,
    pub pulls: Vec<PullStep>,
    /// Services by dependency level: level N only depends on levels < N.
    pub levels: Vec<Vec<ServiceStep>>,
    pub orphans: Vec<OrphanStep>,
}

/// A network or volume to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceStep {
    /// Its key in the compose file.
    pub key: String,
    /// The engine's name.
    pub name: String,
    /// Set when a network exists but differs from the file: why. It is then
    /// removed and created again, its containers stopped and disconnected
    /// first and reconnected (and restarted) after, as compose does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recreate: Option<String>,
}

/// An image to pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullStep {
    pub image: String,
    /// The services that use it.
    pub services: Vec<String>,
    /// Whether it is present locally already (so `always` re-pulls it).
    pub present: bool,
}

/// What happens to one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceStep {
    pub service: String,
    /// The container's name.
    pub container: String,
    pub action: Action,
    /// Whether the container should be running afterwards.
    pub start: bool,
    /// Other containers of the service (replicas > 1), removed.
    pub extra_containers: Vec<String>,
    /// Dependencies to wait for before starting, with their condition.
    pub wait_for: Vec<(String, DependencyCondition)>,
}

/// The operation on a service's container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// No container yet.
    Create,
    /// The container is outdated: replace it.
    Recreate { id: String, reason: String },
    /// Up to date but not running.
    Start { id: String },
    /// Up to date; nothing to do.
    Keep { id: String },
    /// Cannot be deployed as asked (reported as a failure, never attempted).
    Blocked { reason: String },
}

impl Action {
    /// A short verb for tables and JSON.
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Recreate { .. } => "recreate",
            Self::Start { .. } => "start",
            Self::Keep { .. } => "unchanged",
            Self::Blocked { .. } => "blocked",
        }
    }
}

/// A container of the project whose service is no longer in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrphanStep {
    pub service: String,
    pub container: String,
    pub id: String,
    /// `--remove-orphans`: removed; otherwise only reported.
    pub remove: bool,
}

impl Plan {
    /// Whether executing the plan would change nothing on the engine.
    pub fn is_noop(&self) -> bool {
        self.networks.is_empty()
            && self.volumes.is_empty()
            && self.pulls.is_empty()
            && self.orphans.iter().all(|o| !o.remove)
            && self
                .steps()
                .all(|s| matches!(s.action, Action::Keep { .. }) && s.extra_containers.is_empty())
    }

    /// Every service step, level by level.
    pub fn steps(&self) -> impl Iterator<Item = &ServiceStep> {
        self.levels.iter().flatten()
    }
}

/// Computes the plan.
pub fn plan(desired: &Desired, observed: &ObservedState, options: &PlanOptions) -> Result<Plan> {
    let scope = scope(desired, &options.services)?;
    let levels = levels(desired, &scope)?;

    let network_names: BTreeMap<String, String> = desired
        .networks
        .iter()
        .map(|(key, n)| (key.clone(), n.name.clone()))
        .collect();
    let mut pulls: BTreeMap<String, PullStep> = BTreeMap::new();
    let mut service_levels = Vec::new();
    for level in levels {
        let mut steps = Vec::new();
        for name in level {
            let service = &desired.services[&name];
            let image = service.config.image.clone().unwrap_or_default();
            let present_id = observed.images.get(&image).cloned().flatten();
            let policy = options
                .pull
                .or(service.config.pull_policy.map(|p| match p {
                    PullPolicy::Always => PullMode::Always,
                    PullPolicy::Missing => PullMode::Missing,
                    PullPolicy::Never => PullMode::Never,
                }))
                .unwrap_or(PullMode::Missing);
            let will_pull = match policy {
                PullMode::Always => true,
                PullMode::Missing => present_id.is_none(),
                PullMode::Never => false,
            };
            if will_pull {
                pulls
                    .entry(image.clone())
                    .or_insert_with(|| PullStep {
                        image: image.clone(),
                        services: Vec::new(),
                        present: present_id.is_some(),
                    })
                    .services
                    .push(name.clone());
            }
            let unavailable = (present_id.is_none() && !will_pull).then_some(image);
            let containers = observed
                .containers
                .get(&name)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            steps.push(service_step(
                service,
                &network_names,
                containers,
                scope[&name],
                present_id.as_deref(),
                unavailable,
            ));
        }
        service_levels.push(steps);
    }

    // Only what the deployed services use is created.
    let used = |uses: &dyn Fn(&DesiredService) -> bool| {
        scope.keys().any(|name| uses(&desired.services[name]))
    };
    let networks = desired
        .networks
        .values()
        .filter(|n| !n.config.external)
        .filter(|n| used(&|s| s.config.networks.contains_key(&n.key)))
        .filter_map(|n| {
            let recreate = match observed.networks.get(&n.name) {
                None => None,
                Some(existing) => Some(network_divergence(n, existing)?),
            };
            Some(ResourceStep {
                key: n.key.clone(),
                name: n.name.clone(),
                recreate,
            })
        })
        .collect();
    let volumes = desired
        .volumes
        .values()
        .filter(|v| !v.config.external && !observed.volumes.contains(&v.name))
        .filter(|v| {
            used(&|s| {
                s.config.volumes.iter().any(
                    |m| matches!(m, Mount::Volume { source: Some(source), .. } if *source == v.key),
                )
            })
        })
        .map(|v| ResourceStep {
            key: v.key.clone(),
            name: v.name.clone(),
            recreate: None,
        })
        .collect();
    let orphans = observed
        .containers
        .iter()
        .filter(|(service, _)| !desired.services.contains_key(*service))
        .flat_map(|(service, containers)| {
            containers.iter().map(move |c| OrphanStep {
                service: service.clone(),
                container: c.name.clone(),
                id: c.id.clone(),
                remove: options.remove_orphans,
            })
        })
        .collect();
    Ok(Plan {
        project: desired.project.clone(),
        networks,
        volumes,
        pulls: pulls.into_values().collect(),
        levels: service_levels,
        orphans,
    })
}

/// A network the service should be on that its container is not connected
/// to (a network recreate cut short, a renamed network), as compose's
/// `hasNetworkMismatch`. `networks` maps the file's keys to engine names.
fn missing_network<'a>(
    service: &DesiredService,
    networks: &'a BTreeMap<String, String>,
    container: &ObservedContainer,
) -> Option<&'a str> {
    if service.config.network_mode.is_some() {
        return None;
    }
    service
        .config
        .networks
        .keys()
        .filter_map(|key| networks.get(key))
        .find(|name| !container.networks.contains(*name))
        .map(String::as_str)
}

/// The step for one service; `unavailable` names the image when it is
/// neither present nor going to be pulled.
fn service_step(
    service: &DesiredService,
    networks: &BTreeMap<String, String>,
    containers: &[ObservedContainer],
    start: bool,
    image_id: Option<&str>,
    unavailable: Option<String>,
) -> ServiceStep {
    let (current, extras) = match containers.split_first() {
        Some((first, rest)) => (Some(first), rest),
        None => (None, &[][..]),
    };
    let blocked = |reference: &str| Action::Blocked {
        reason: format!(
            "image `{reference}` is not present locally and pulling is off (--pull never or pull_policy: never)"
        ),
    };
    let mut start = start;
    let action = match current {
        None => match &unavailable {
            None => Action::Create,
            Some(reference) => blocked(reference),
        },
        Some(container) => {
            // A container someone started (an on-demand server in use) stays up.
            if matches!(
                container.state,
                ContainerState::Running | ContainerState::Restarting
            ) {
                start = true;
            }
            let reason = if container.recorded_hash() != Some(service.hash.as_str()) {
                Some(if container.mcpm_hash.is_some() {
                    "config changed".to_string()
                } else {
                    format!(
                        "config changed, or made by another tool (no {} label)",
                        crate::labels::CONFIG_HASH
                    )
                })
            } else if image_id.is_some_and(|id| container.image_id.as_deref() != Some(id)) {
                Some("image changed".to_string())
            } else if let Some(network) = missing_network(service, networks, container) {
                Some(format!("not connected to network {network}"))
            } else if matches!(
                container.state,
                ContainerState::Dead | ContainerState::Removing
            ) {
                Some(format!("container is {}", container.state.as_str()))
            } else {
                None
            };
            match (reason, &unavailable) {
                (Some(_), Some(reference)) => blocked(reference),
                (Some(reason), None) => Action::Recreate {
                    id: container.id.clone(),
                    reason,
                },
                (None, _)
                    if start
                        && matches!(
                            container.state,
                            ContainerState::Created | ContainerState::Exited
                        ) =>
                {
                    Action::Start {
                        id: container.id.clone(),
                    }
                }
                (None, _) => Action::Keep {
                    id: container.id.clone(),
                },
            }
        }
    };
    ServiceStep {
        service: service.name.clone(),
        container: service.container_name.clone(),
        action,
        start,
        extra_containers: extras.iter().map(|c| c.id.clone()).collect(),
        wait_for: service
            .config
            .depends_on
            .iter()
            .map(|(name, dependency)| (name.clone(), dependency.condition))
            .collect(),
    }
}

/// Why an existing network no longer matches the file, or `None` when it
/// does. A network mcpm created carries its hash, so any change shows; one
/// made by compose or an older mcpm is compared on what the engine reports
/// (driver, internal, the subnets the file asks for), never on what the
/// engine chose itself (the subnet of a network that asks for none).
pub fn network_divergence(desired: &DesiredNetwork, observed: &ObservedNetwork) -> Option<String> {
    let mut wanted: Vec<&str> = desired
        .config
        .ipam_config
        .iter()
        .filter_map(|pool| pool.subnet.as_deref())
        .collect();
    wanted.sort_unstable();
    let mut have: Vec<&str> = observed.subnets.iter().map(String::as_str).collect();
    have.sort_unstable();
    let driver = desired.config.driver.as_deref().unwrap_or("bridge");
    let observable = if !wanted.is_empty() && wanted != have {
        Some(format!(
            "subnet {} -> {}",
            if have.is_empty() {
                "none".to_string()
            } else {
                have.join(",")
            },
            wanted.join(",")
        ))
    } else if let Some(current) = observed.driver.as_deref().filter(|d| *d != driver) {
        Some(format!("driver {current} -> {driver}"))
    } else if observed.internal != desired.config.internal {
        Some(format!(
            "internal {} -> {}",
            observed.internal, desired.config.internal
        ))
    } else {
        None
    };
    let hash_differs = observed
        .mcpm_hash
        .as_deref()
        .is_some_and(|hash| hash != desired.hash);
    observable.or_else(|| hash_differs.then(|| "config changed".to_string()))
}

/// The services to deploy, each with whether it should be started: all
/// active ones, or the named ones and what they depend on (started, since
/// something needs them).
pub(super) fn scope(desired: &Desired, named: &[String]) -> Result<BTreeMap<String, bool>> {
    for name in named {
        if !desired.services.contains_key(name) {
            let known: Vec<&str> = desired.services.keys().map(String::as_str).collect();
            return Err(Error::invalid(format!(
                "no service `{name}` in {}",
                desired.file.display()
            ))
            .hint(format!("services there: {}", known.join(", "))));
        }
    }
    let mut scope: BTreeMap<String, bool> = BTreeMap::new();
    let mut queue: Vec<(String, bool)> = if named.is_empty() {
        desired
            .services
            .values()
            .filter(|s| s.activation != Activation::Inactive)
            .map(|s| (s.name.clone(), s.activation == Activation::Start))
            .collect()
    } else {
        named.iter().map(|n| (n.clone(), true)).collect()
    };
    while let Some((name, start)) = queue.pop() {
        let entry = scope.entry(name.clone()).or_insert(start);
        *entry |= start;
        let start = *entry;
        for dependency in desired.services[&name].dependencies() {
            if desired.services.contains_key(dependency)
                && scope.get(dependency).is_none_or(|known| start && !known)
            {
                queue.push((dependency.to_string(), start));
            }
        }
    }
    Ok(scope)
}

/// Groups the services in `scope` into dependency levels.
fn levels(desired: &Desired, scope: &BTreeMap<String, bool>) -> Result<Vec<Vec<String>>> {
    let mut level_of: BTreeMap<&str, usize> = BTreeMap::new();
    let mut remaining: BTreeSet<&str> = scope.keys().map(String::as_str).collect();
    while !remaining.is_empty() {
        let ready: Vec<&str> = remaining
            .iter()
            .copied()
            .filter(|name| {
                desired.services[*name]
                    .dependencies()
                    .filter(|d| scope.contains_key(*d))
                    .all(|d| level_of.contains_key(d))
            })
            .collect();
        if ready.is_empty() {
            let cycle: Vec<&str> = remaining.into_iter().collect();
            return Err(Error::invalid(format!(
                "services depend on each other in a cycle: {}",
                cycle.join(", ")
            ))
            .hint("remove one of the `depends_on` entries"));
        }
        for name in ready {
            let level = desired.services[name]
                .dependencies()
                .filter_map(|d| level_of.get(d))
                .map(|l| l + 1)
                .max()
                .unwrap_or(0);
            level_of.insert(name, level);
            remaining.remove(name);
        }
    }
    let depth = level_of.values().max().map_or(0, |l| l + 1);
    let mut levels = vec![Vec::new(); depth];
    for (name, level) in level_of {
        levels[level].push(name.to_string());
    }
    Ok(levels)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
