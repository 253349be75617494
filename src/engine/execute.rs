//! Executes a plan: independent steps run concurrently, dependency levels in
//! order. Every step reports its own result, so a partial failure says what
//! succeeded and what failed, and a rerun picks up from there (the planner
//! sees what exists).
use std::collections::BTreeSet;
use std::time::Duration;

use bollard::models::NetworkConnectRequest;
use bollard::query_parameters::{
    CreateContainerOptions, InspectNetworkOptions, RemoveContainerOptions, RemoveVolumeOptions,
    RenameContainerOptions, StopContainerOptions,
};
use futures_util::future::join_all;
use serde::Serialize;

use super::connect::{Engine, describe, is_conflict, is_not_found};
use super::desired::{Desired, DesiredNetwork, DesiredService};
use super::inherit::{self, VolumeMount};
use super::model::DependencyCondition;
use super::plan::{Action, OrphanStep, Plan, ServiceStep};
use super::progress::Progress;
use super::{pull, spec};

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Done,
    Unchanged,
    Failed,
    Skipped,
}

/// The result of one step, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepResult {
    /// `network`, `volume`, `image`, `container` or `orphan`.
    pub kind: &'static str,
    /// The engine name (or image reference).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// What was done: `create`, `pull`, `recreate`, `start`, `unchanged`, `remove`.
    pub action: String,
    pub status: StepStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The container id afterwards, for containers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Whether the container was started by this step.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub started: bool,
}

impl StepResult {
    fn new(kind: &'static str, name: &str, action: &str) -> Self {
        Self {
            kind,
            name: name.to_string(),
            service: None,
            action: action.to_string(),
            status: StepStatus::Done,
            error: None,
            id: None,
            started: false,
        }
    }

    fn outcome(mut self, result: Result<(), String>) -> Self {
        if let Err(error) = result {
            self.status = StepStatus::Failed;
            self.error = Some(error);
        }
        self
    }

    /// Whether the step failed or was skipped because something else failed.
    pub fn is_failure(&self) -> bool {
        matches!(self.status, StepStatus::Failed | StepStatus::Skipped)
    }
}

/// What executing needs besides the plan.
pub struct Executor<'a> {
    pub engine: &'a Engine,
    pub desired: &'a Desired,
    pub progress: &'a Progress,
    /// How long to wait for a dependency to become healthy or complete.
    pub dependency_timeout: Duration,
}

/// The stop timeout compose uses when the service sets none.
pub(super) const DEFAULT_STOP_SECS: i64 = 10;

impl Executor<'_> {
    /// The first phase: networks, volumes, pulls and orphan removals, all at
    /// once. Returns the results and the images that failed to pull.
    pub async fn prepare(&self, plan: &Plan) -> (Vec<StepResult>, BTreeSet<String>) {
        // Containers the plan replaces get the new network when they are
        // created; the others are reconnected after a network is recreated.
        let replaced: BTreeSet<String> = plan
            .steps()
            .filter_map(|s| match &s.action {
                Action::Recreate { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect();
        let replaced = &replaced;
        let networks = join_all(plan.networks.iter().map(|step| async move {
            let network = &self.desired.networks[&step.key];
            match &step.recreate {
                None => StepResult::new("network", &step.name, "create")
                    .outcome(self.create_network(network).await),
                Some(_) => StepResult::new("network", &step.name, "recreate")
                    .outcome(self.recreate_network(network, replaced).await),
            }
        }));
        let volumes = join_all(plan.volumes.iter().map(|step| async move {
            let volume = &self.desired.volumes[&step.key];
            let request = spec::volume_request(&self.desired.project, volume);
            let result = self.engine.docker.create_volume(request).await;
            StepResult::new("volume", &step.name, "create")
                .outcome(result.map(|_| ()).map_err(|err| describe(&err)))
        }));
        let pulls = join_all(plan.pulls.iter().map(|step| async move {
            let result = pull::pull(self.engine, &step.image, self.progress).await;
            StepResult::new("image", &step.image, "pull")
                .outcome(result.map_err(|error| format!("cannot pull {}: {error}", step.image)))
        }));
        let orphans = join_all(
            plan.orphans
                .iter()
                .filter(|o| o.remove)
                .map(|orphan| self.remove_orphan(orphan)),
        );
        let (networks, volumes, pulls, orphans) =
            futures_util::join!(networks, volumes, pulls, orphans);
        let failed_images = pulls
            .iter()
            .filter(|r| r.is_failure())
            .map(|r| r.name.clone())
            .collect();
        let results = orphans
            .into_iter()
            .chain(networks)
            .chain(volumes)
            .chain(pulls)
            .collect();
        (results, failed_images)
    }

    /// The second phase: the services, level by level; a service whose
    /// dependency failed is skipped.
    pub async fn converge(
        &self,
        levels: &[Vec<ServiceStep>],
        failed_images: &BTreeSet<String>,
    ) -> Vec<StepResult> {
        let mut results = Vec::new();
        let mut failed_services: BTreeSet<String> = BTreeSet::new();
        for level in levels {
            let level_results = join_all(
                level
                    .iter()
                    .map(|step| self.run_service(step, &failed_services, failed_images)),
            )
            .await;
            for result in &level_results {
                if result.is_failure()
                    && let Some(service) = &result.service
                {
                    failed_services.insert(service.clone());
                }
            }
            results.extend(level_results);
        }
        results
    }

    async fn create_network(&self, network: &DesiredNetwork) -> Result<(), String> {
        // Engines before 25 allow two networks with one name; a network of
        // that name made outside the project is used rather than duplicated.
        let options = InspectNetworkOptions::default();
        match self
            .engine
            .docker
            .inspect_network(&network.name, Some(options))
            .await
        {
            Ok(_) => return Ok(()),
            Err(err) if is_not_found(&err) => {}
            Err(err) => return Err(describe(&err)),
        }
        let request = spec::network_request(&self.desired.project, network);
        match self.engine.docker.create_network(request).await {
            Ok(_) => Ok(()),
            Err(err) if is_conflict(&err) => Ok(()),
            Err(err) => Err(describe(&err)),
        }
    }

    async fn remove_orphan(&self, orphan: &OrphanStep) -> StepResult {
        let mut result = StepResult::new("orphan", &orphan.container, "remove");
        result.service = Some(orphan.service.clone());
        let outcome = async {
            self.stop(&orphan.id, DEFAULT_STOP_SECS).await?;
            self.remove(&orphan.id).await
        }
        .await;
        result.outcome(outcome)
    }

    async fn run_service(
        &self,
        step: &ServiceStep,
        failed_services: &BTreeSet<String>,
        failed_images: &BTreeSet<String>,
    ) -> StepResult {
        let service = &self.desired.services[&step.service];
        let mut result = StepResult::new("container", &step.container, step.action.verb());
        result.service = Some(step.service.clone());
        if let Some((dependency, _)) = step
            .wait_for
            .iter()
            .find(|(d, _)| failed_services.contains(d))
        {
            result.status = StepStatus::Skipped;
            result.error = Some(format!("dependency `{dependency}` failed"));
            return result;
        }
        let image = service.config.image.clone().unwrap_or_default();
        if failed_images.contains(&image)
            && !matches!(step.action, Action::Keep { .. } | Action::Start { .. })
        {
            result.status = StepStatus::Failed;
            result.error = Some(format!("its image {image} could not be pulled"));
            return result;
        }
        match self.apply(step, service).await {
            Ok((id, started)) => {
                result.id = id;
                result.started = started;
                if matches!(step.action, Action::Keep { .. }) && step.extra_containers.is_empty() {
                    result.status = StepStatus::Unchanged;
                }
            }
            Err(error) => {
                result.status = StepStatus::Failed;
                result.error = Some(error);
            }
        }
        result
    }

    /// Carries out one service step; returns the container id and whether it
    /// was started.
    async fn apply(
        &self,
        step: &ServiceStep,
        service: &DesiredService,
    ) -> Result<(Option<String>, bool), String> {
        let removals = join_all(step.extra_containers.iter().map(|id| async move {
            self.stop(id, DEFAULT_STOP_SECS).await?;
            self.remove(id).await
        }))
        .await;
        removals.into_iter().collect::<Result<Vec<()>, String>>()?;
        let stop_secs = service
            .config
            .stop_grace_period
            .unwrap_or(DEFAULT_STOP_SECS);
        let id = match &step.action {
            Action::Blocked { reason } => return Err(reason.clone()),
            Action::Keep { id } => return Ok((Some(id.clone()), false)),
            Action::Start { id } => id.clone(),
            Action::Create => self.create(service, &[]).await?,
            Action::Recreate { id: old, .. } => {
                self.stop(old, stop_secs).await?;
                // The old container moves aside so the new one can take its
                // name; it comes back if the new one cannot be created.
                let aside = format!("{}_{}", &old[..old.len().min(12)], step.container);
                if let Err(error) = self.rename(old, &aside).await {
                    // A deploy interrupted right here left it renamed already.
                    let current = self
                        .engine
                        .docker
                        .inspect_container(old, None)
                        .await
                        .ok()
                        .and_then(|inspect| inspect.name);
                    if current.as_deref().map(|n| n.trim_start_matches('/')) != Some(aside.as_str())
                    {
                        return Err(error);
                    }
                }
                let old_volumes = self.volume_mounts(old).await;
                let inherited = if old_volumes.is_empty() {
                    Vec::new()
                } else {
                    let image_volumes = self.image_volumes(service).await;
                    inherit::inherited(&old_volumes, &service.config, &image_volumes)
                };
                match self.create(service, &inherited).await {
                    Ok(id) => {
                        self.remove_with_volumes(old).await?;
                        // What the new container took over stays; what it
                        // did not goes with the old one. The engine's own
                        // `-v` skips volumes mounted by name, which an
                        // inherited volume is from its second recreate on.
                        for name in inherit::left_behind(&old_volumes, &inherited) {
                            self.remove_volume(&name).await;
                        }
                        id
                    }
                    Err(error) => {
                        // Best effort: the old container takes its name back and,
                        // if it should run, runs again, so a bad change leaves
                        // the server as it was.
                        if self.rename(old, &step.container).await.is_ok() && step.start {
                            let _ = self.engine.docker.start_container(old, None).await;
                        }
                        return Err(error);
                    }
                }
            }
        };
        if !step.start {
            return Ok((Some(id), false));
        }
        self.wait_for_dependencies(step).await?;
        self.engine
            .docker
            .start_container(&id, None)
            .await
            .map_err(|err| format!("cannot start {}: {}", step.container, describe(&err)))?;
        Ok((Some(id), true))
    }

    /// The volumes a container mounts, each marked anonymous or not (none if
    /// it cannot be read).
    async fn volume_mounts(&self, id: &str) -> Vec<VolumeMount> {
        let Ok(inspect) = self.engine.docker.inspect_container(id, None).await else {
            return Vec::new();
        };
        let host = inspect.host_config.unwrap_or_default();
        let named_in_spec: Vec<String> = host
            .mounts
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| m.source)
            .chain(
                host.binds
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|b| b.split(':').next().map(str::to_string)),
            )
            .collect();
        let labels = inspect.config.and_then(|c| c.labels).unwrap_or_default();
        let inherited = inherit::parse_label(
            labels
                .get(crate::labels::INHERITED_VOLUMES)
                .map(String::as_str),
        );
        inspect
            .mounts
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.typ.as_deref() == Some("volume"))
            .filter_map(|m| {
                let name = m.name?;
                Some(VolumeMount {
                    anonymous: inherit::is_anonymous(&name, &named_in_spec, &inherited),
                    name,
                    target: m.destination?,
                    read_only: m.rw == Some(false),
                })
            })
            .collect()
    }

    /// The `VOLUME` paths of the service's image.
    async fn image_volumes(&self, service: &DesiredService) -> Vec<String> {
        let image = service.config.image.clone().unwrap_or_default();
        match self.engine.docker.inspect_image(&image).await {
            Ok(inspect) => inspect.config.and_then(|c| c.volumes).unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    /// Removes a volume nothing uses any more; one still in use (or gone) is
    /// left alone.
    async fn remove_volume(&self, name: &str) {
        let _ = self
            .engine
            .docker
            .remove_volume(name, None::<RemoveVolumeOptions>)
            .await;
    }

    /// Creates the service's container (not started) on all its networks.
    async fn create(
        &self,
        service: &DesiredService,
        inherited: &[VolumeMount],
    ) -> Result<String, String> {
        let body = spec::container_request(self.desired, service, inherited);
        let options = CreateContainerOptions {
            name: Some(service.container_name.clone()),
            ..Default::default()
        };
        let created = self
            .engine
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|err| {
                if is_conflict(&err) {
                    format!(
                        "a container named {} already exists and is not part of project `{}`; remove or rename it (`docker rm -f {}`)",
                        service.container_name, self.desired.project, service.container_name
                    )
                } else {
                    format!("cannot create {}: {}", service.container_name, describe(&err))
                }
            })?;
        for (network, endpoint) in spec::extra_networks(self.desired, service) {
            let request = NetworkConnectRequest {
                container: created.id.clone(),
                endpoint_config: Some(endpoint),
            };
            self.engine
                .docker
                .connect_network(&network, request)
                .await
                .map_err(|err| {
                    format!(
                        "cannot connect {} to {network}: {}",
                        service.container_name,
                        describe(&err)
                    )
                })?;
        }
        Ok(created.id)
    }

    pub(super) async fn stop(&self, id: &str, seconds: i64) -> Result<(), String> {
        let options = StopContainerOptions {
            t: Some(seconds.clamp(0, i64::from(i32::MAX)) as i32),
            ..Default::default()
        };
        match self.engine.docker.stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            Err(err) => Err(format!("cannot stop {}: {}", short(id), describe(&err))),
        }
    }

    async fn remove(&self, id: &str) -> Result<(), String> {
        self.remove_container(id, false).await
    }

    /// Removes a container and the anonymous volumes no other container uses.
    async fn remove_with_volumes(&self, id: &str) -> Result<(), String> {
        self.remove_container(id, true).await
    }

    async fn remove_container(&self, id: &str, volumes: bool) -> Result<(), String> {
        let options = RemoveContainerOptions {
            force: true,
            v: volumes,
            ..Default::default()
        };
        match self.engine.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            Err(err) => Err(format!("cannot remove {}: {}", short(id), describe(&err))),
        }
    }

    async fn rename(&self, id: &str, name: &str) -> Result<(), String> {
        let options = RenameContainerOptions {
            name: name.to_string(),
        };
        self.engine
            .docker
            .rename_container(id, options)
            .await
            .map_err(|err| format!("cannot rename {} to {name}: {}", short(id), describe(&err)))
    }

    /// Waits until the dependencies with a `service_healthy` or
    /// `service_completed_successfully` condition meet it.
    async fn wait_for_dependencies(&self, step: &ServiceStep) -> Result<(), String> {
        for (dependency, condition) in &step.wait_for {
            if *condition == DependencyCondition::ServiceStarted {
                continue;
            }
            let Some(service) = self.desired.services.get(dependency) else {
                continue;
            };
            let deadline = tokio::time::Instant::now() + self.dependency_timeout;
            loop {
                let inspect = self
                    .engine
                    .docker
                    .inspect_container(&service.container_name, None)
                    .await
                    .map_err(|err| {
                        format!(
                            "cannot inspect {}: {}",
                            service.container_name,
                            describe(&err)
                        )
                    })?;
                let state = inspect.state.unwrap_or_default();
                let health = state
                    .health
                    .and_then(|h| h.status)
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                let status = state.status.map(|s| s.to_string()).unwrap_or_default();
                match condition {
                    DependencyCondition::ServiceHealthy if health == "healthy" => break,
                    DependencyCondition::ServiceHealthy if health == "unhealthy" => {
                        return Err(format!("dependency `{dependency}` is unhealthy"));
                    }
                    DependencyCondition::ServiceHealthy
                        if health.is_empty() || health == "none" =>
                    {
                        return Err(format!(
                            "dependency `{dependency}` has no healthcheck to wait for"
                        ));
                    }
                    DependencyCondition::ServiceCompletedSuccessfully if status == "exited" => {
                        match state.exit_code {
                            Some(0) => break,
                            code => {
                                return Err(format!(
                                    "dependency `{dependency}` exited with code {}",
                                    code.unwrap_or(-1)
                                ));
                            }
                        }
                    }
                    _ => {}
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(format!(
                        "dependency `{dependency}` did not become {} within {} s",
                        condition.as_str(),
                        self.dependency_timeout.as_secs()
                    ));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        Ok(())
    }
}

/// The short form of a container id, as `docker ps` shows it.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}
