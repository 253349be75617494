//! Observing the engine: what a project has running, read with one
//! label-filtered container listing (plus, for deploy, the project's networks
//! and volumes and the ids of the images it wants, all fetched concurrently).
use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};
use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, ListVolumesOptions};
use futures_util::future::{join_all, try_join3};

use crate::error::{Error, Result};
use crate::labels::compose as label;

use super::connect::{Engine, describe, is_not_found};

/// What the engine holds for one project.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedState {
    /// Service containers by service name (one-off containers are left out).
    pub containers: BTreeMap<String, Vec<ObservedContainer>>,
    /// The project's networks by engine name.
    pub networks: BTreeMap<String, ObservedNetwork>,
    /// Engine names of the project's volumes.
    pub volumes: BTreeSet<String>,
    /// Image reference → local image id, `None` when the image is not present.
    pub images: BTreeMap<String, Option<String>>,
}

/// One container of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedContainer {
    pub id: String,
    pub name: String,
    pub service: String,
    /// The MCP server it runs: `io.mcpm.server`, else the service name (as
    /// the gateway names servers).
    pub server: String,
    /// `com.docker.compose.container-number`, 1 for mcpm's containers.
    pub number: u32,
    pub state: ContainerState,
    pub health: Option<Health>,
    /// The image reference it was created with.
    pub image: String,
    pub image_id: Option<String>,
    pub config_hash: Option<String>,
    /// mcpm's own hash ([`crate::labels::CONFIG_HASH`]); `None` on containers
    /// made by compose or by mcpm before the label existed.
    pub mcpm_hash: Option<String>,
    /// The anonymous volumes it inherited from the container it replaced
    /// ([`crate::labels::INHERITED_VOLUMES`]), which `down --volumes` removes
    /// with it (the engine's `rm -v` removes the ones it made itself).
    pub inherited_volumes: Vec<String>,
    /// The engine names of the networks it is connected to.
    pub networks: BTreeSet<String>,
    /// Published ports as `host_ip:public->private/proto`.
    pub ports: Vec<String>,
}

impl ObservedContainer {
    /// The mcpm hash it was created from: mcpm's own label, else (a container
    /// from an mcpm before that label) compose's, where mcpm wrote the same.
    pub fn recorded_hash(&self) -> Option<&str> {
        self.mcpm_hash.as_deref().or(self.config_hash.as_deref())
    }
}

/// One network of the project, as the engine reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedNetwork {
    pub name: String,
    /// mcpm's hash of the config it was created from; `None` when compose
    /// or an older mcpm created it.
    pub mcpm_hash: Option<String>,
    pub driver: Option<String>,
    pub internal: bool,
    /// The subnets of its IPAM pools (the engine picks one when none is asked for).
    pub subnets: Vec<String>,
}

impl ObservedNetwork {
    fn from_engine(network: bollard::models::Network) -> Option<Self> {
        let labels = network.labels.unwrap_or_default();
        Some(Self {
            name: network.name?,
            mcpm_hash: labels.get(crate::labels::CONFIG_HASH).cloned(),
            driver: network.driver,
            internal: network.internal.unwrap_or(false),
            subnets: network
                .ipam
                .and_then(|ipam| ipam.config)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|pool| pool.subnet)
                .collect(),
        })
    }
}

/// The engine's container states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Exited,
    Dead,
    Removing,
    Other,
}

impl ContainerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Restarting => "restarting",
            Self::Exited => "exited",
            Self::Dead => "dead",
            Self::Removing => "removing",
            Self::Other => "unknown",
        }
    }
}

/// A container's healthcheck result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        }
    }
}

/// The filter that selects a project's objects.
fn project_filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{}={project}", label::PROJECT)],
    )])
}

/// The project's containers: ONE listing call.
pub async fn containers(
    engine: &Engine,
    project: &str,
) -> Result<BTreeMap<String, Vec<ObservedContainer>>> {
    let options = ListContainersOptions {
        all: true,
        filters: Some(project_filter(project)),
        ..Default::default()
    };
    let list = engine
        .docker
        .list_containers(Some(options))
        .await
        .map_err(|err| engine_error("list the containers of", project, &err))?;
    Ok(group_by_service(list))
}

/// Containers, networks, volumes and the ids of `images`, concurrently.
pub async fn observe(engine: &Engine, project: &str, images: &[String]) -> Result<ObservedState> {
    let networks = networks(engine, project);
    let volumes = async {
        let options = ListVolumesOptions {
            filters: Some(project_filter(project)),
        };
        engine
            .docker
            .list_volumes(Some(options))
            .await
            .map(|list| {
                list.volumes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| v.name)
                    .collect()
            })
            .map_err(|err| engine_error("list the volumes of", project, &err))
    };
    let image_ids = async { Ok(image_ids(engine, images).await) };
    let ((containers, networks, volumes), images) = futures_util::future::try_join(
        try_join3(containers(engine, project), networks, volumes),
        image_ids,
    )
    .await?;
    Ok(ObservedState {
        containers,
        networks,
        volumes,
        images,
    })
}

/// The project's networks (by the compose project label), by name.
pub async fn networks(engine: &Engine, project: &str) -> Result<BTreeMap<String, ObservedNetwork>> {
    let options = ListNetworksOptions {
        filters: Some(project_filter(project)),
    };
    engine
        .docker
        .list_networks(Some(options))
        .await
        .map(|list| {
            list.into_iter()
                .filter_map(ObservedNetwork::from_engine)
                .map(|n| (n.name.clone(), n))
                .collect()
        })
        .map_err(|err| engine_error("list the networks of", project, &err))
}

/// The local id of each image reference (`None`: not present or not readable).
pub async fn image_ids(engine: &Engine, images: &[String]) -> BTreeMap<String, Option<String>> {
    let unique: BTreeSet<&String> = images.iter().collect();
    let lookups = unique.into_iter().map(|image| async move {
        let id = match engine.docker.inspect_image(image).await {
            Ok(inspect) => inspect.id,
            Err(err) if is_not_found(&err) => None,
            Err(_) => None,
        };
        (image.clone(), id)
    });
    join_all(lookups).await.into_iter().collect()
}

fn engine_error(action: &str, project: &str, err: &bollard::errors::Error) -> Error {
    Error::runtime(format!(
        "cannot {action} project `{project}`: {}",
        describe(err)
    ))
}

/// Groups a listing by service, dropping one-off containers and any container
/// without a service label.
pub fn group_by_service(list: Vec<ContainerSummary>) -> BTreeMap<String, Vec<ObservedContainer>> {
    let mut by_service: BTreeMap<String, Vec<ObservedContainer>> = BTreeMap::new();
    for summary in list {
        if let Some(container) = from_summary(summary) {
            by_service
                .entry(container.service.clone())
                .or_default()
                .push(container);
        }
    }
    for containers in by_service.values_mut() {
        containers.sort_by_key(|c| c.number);
    }
    by_service
}

fn from_summary(summary: ContainerSummary) -> Option<ObservedContainer> {
    let labels = summary.labels.unwrap_or_default();
    if labels
        .get(label::ONEOFF)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return None;
    }
    let service = labels.get(label::SERVICE)?.clone();
    let name = summary
        .names
        .unwrap_or_default()
        .first()
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default();
    let state = match summary.state {
        Some(ContainerSummaryStateEnum::CREATED) => ContainerState::Created,
        Some(ContainerSummaryStateEnum::RUNNING) => ContainerState::Running,
        Some(ContainerSummaryStateEnum::PAUSED) => ContainerState::Paused,
        Some(ContainerSummaryStateEnum::RESTARTING) => ContainerState::Restarting,
        Some(ContainerSummaryStateEnum::EXITED) => ContainerState::Exited,
        Some(ContainerSummaryStateEnum::DEAD) => ContainerState::Dead,
        Some(ContainerSummaryStateEnum::REMOVING) => ContainerState::Removing,
        _ => ContainerState::Other,
    };
    let ports = summary
        .ports
        .unwrap_or_default()
        .into_iter()
        .filter_map(|port| {
            let public = port.public_port?;
            let proto = port
                .typ
                .map(|t| t.to_string())
                .unwrap_or_else(|| "tcp".into());
            let ip = port.ip.unwrap_or_default();
            Some(format!("{ip}:{public}->{}/{proto}", port.private_port))
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let server = labels
        .get(crate::labels::SERVER)
        .cloned()
        .unwrap_or_else(|| service.clone());
    Some(ObservedContainer {
        id: summary.id.unwrap_or_default(),
        server,
        name,
        number: labels
            .get(label::CONTAINER_NUMBER)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1),
        state,
        // Engines before API 1.52 report health only inside the status text.
        health: health_from_status(summary.status.as_deref().unwrap_or_default()),
        image: summary.image.unwrap_or_default(),
        image_id: summary.image_id,
        config_hash: labels.get(label::CONFIG_HASH).cloned(),
        mcpm_hash: labels.get(crate::labels::CONFIG_HASH).cloned(),
        inherited_volumes: super::inherit::parse_label(
            labels
                .get(crate::labels::INHERITED_VOLUMES)
                .map(String::as_str),
        ),
        networks: summary
            .network_settings
            .and_then(|n| n.networks)
            .map(|n| n.into_keys().collect())
            .unwrap_or_default(),
        service,
        ports,
    })
}

/// How one container is running, from inspecting it: what `--wait` compares
/// across polls to tell a steady server from a crash loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRun {
    pub state: ContainerState,
    pub health: Option<Health>,
    /// The exit code of its last run (0 while the first run lasts).
    pub exit_code: Option<i64>,
    /// Restarts the engine made under the restart policy.
    pub restart_count: i64,
    /// When the current (or last) run started, as the engine wrote it.
    pub started_at: Option<String>,
    /// When the container was created, as the engine wrote it.
    pub created: Option<String>,
}

/// Inspects container `id`; `None` when it is gone.
pub async fn inspect_run(engine: &Engine, id: &str) -> Result<Option<ContainerRun>> {
    use bollard::models::{ContainerStateStatusEnum as S, HealthStatusEnum as H};
    let inspect = match engine.docker.inspect_container(id, None).await {
        Ok(inspect) => inspect,
        Err(err) if is_not_found(&err) => return Ok(None),
        Err(err) => {
            return Err(Error::runtime(format!(
                "cannot inspect container {id}: {}",
                describe(&err)
            )));
        }
    };
    let engine_state = inspect.state.unwrap_or_default();
    let state = match engine_state.status {
        Some(S::CREATED) => ContainerState::Created,
        Some(S::RUNNING) => ContainerState::Running,
        Some(S::PAUSED) => ContainerState::Paused,
        Some(S::RESTARTING) => ContainerState::Restarting,
        Some(S::EXITED) => ContainerState::Exited,
        Some(S::DEAD) => ContainerState::Dead,
        Some(S::REMOVING) => ContainerState::Removing,
        _ => ContainerState::Other,
    };
    let health = match engine_state.health.and_then(|h| h.status) {
        Some(H::STARTING) => Some(Health::Starting),
        Some(H::HEALTHY) => Some(Health::Healthy),
        Some(H::UNHEALTHY) => Some(Health::Unhealthy),
        _ => None,
    };
    Ok(Some(ContainerRun {
        state,
        health,
        exit_code: engine_state.exit_code,
        restart_count: inspect.restart_count.unwrap_or(0),
        started_at: engine_state.started_at,
        created: inspect.created,
    }))
}

/// `Up 3 minutes (healthy)` → healthy.
pub fn health_from_status(status: &str) -> Option<Health> {
    if status.contains("(healthy)") {
        Some(Health::Healthy)
    } else if status.contains("(unhealthy)") {
        Some(Health::Unhealthy)
    } else if status.contains("(health: starting)") {
        Some(Health::Starting)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(service: &str, oneoff: &str, number: &str) -> ContainerSummary {
        ContainerSummary {
            id: Some(format!("id-{service}-{number}")),
            names: Some(vec![format!("/p-{service}-{number}")]),
            labels: Some(HashMap::from([
                (label::SERVICE.to_string(), service.to_string()),
                (label::ONEOFF.to_string(), oneoff.to_string()),
                (label::CONTAINER_NUMBER.to_string(), number.to_string()),
                (label::CONFIG_HASH.to_string(), "h".to_string()),
            ])),
            state: Some(ContainerSummaryStateEnum::RUNNING),
            status: Some("Up 2 seconds (healthy)".into()),
            ..Default::default()
        }
    }

    #[test]
    fn groups_by_service_and_skips_one_offs() {
        let grouped = group_by_service(vec![
            summary("a", "False", "2"),
            summary("a", "False", "1"),
            summary("b", "True", "1"),
        ]);
        assert_eq!(grouped.len(), 1);
        let a = &grouped["a"];
        assert_eq!(a[0].number, 1);
        assert_eq!(a[0].name, "p-a-1");
        assert_eq!(a[0].state, ContainerState::Running);
        assert_eq!(a[0].health, Some(Health::Healthy));
        assert_eq!(a[0].config_hash.as_deref(), Some("h"));
    }

    #[test]
    fn health_in_status_text() {
        assert_eq!(
            health_from_status("Up 1s (unhealthy)"),
            Some(Health::Unhealthy)
        );
        assert_eq!(
            health_from_status("Up 1s (health: starting)"),
            Some(Health::Starting)
        );
        assert_eq!(health_from_status("Exited (0) 1s ago"), None);
    }
}
