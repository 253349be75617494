//! The lifecycle of a deployed project: stop, restart, down, pull. Each works
//! from one label-filtered listing and acts on the containers concurrently,
//! reporting one result per object like deploy does.
use std::collections::HashMap;

use bollard::query_parameters::{
    ListNetworksOptions, ListVolumesOptions, RemoveContainerOptions, RemoveVolumeOptions,
    RestartContainerOptions, StopContainerOptions,
};
use futures_util::future::join_all;

use crate::error::{Error, Result};
use crate::labels::compose as label;

use super::connect::{Engine, describe, is_not_found};
use super::execute::{StepResult, StepStatus};
use super::observe::{self, ContainerState, ObservedContainer};
use super::progress::Progress;
use super::pull;

/// The project's containers, only those of `services` when some are named.
pub async fn containers(
    engine: &Engine,
    project: &str,
    services: &[String],
) -> Result<Vec<ObservedContainer>> {
    let by_service = observe::containers(engine, project).await?;
    Ok(by_service
        .into_iter()
        .filter(|(service, _)| services.is_empty() || services.contains(service))
        .flat_map(|(_, list)| list)
        .collect())
}

fn result(
    container: &ObservedContainer,
    action: &str,
    outcome: std::result::Result<(), String>,
) -> StepResult {
    StepResult {
        kind: "container",
        name: container.name.clone(),
        service: Some(container.service.clone()),
        action: action.to_string(),
        status: if outcome.is_ok() {
            StepStatus::Done
        } else {
            StepStatus::Failed
        },
        error: outcome.err(),
        id: Some(container.id.clone()),
        started: false,
    }
}

fn stop_options(seconds: Option<i64>) -> StopContainerOptions {
    StopContainerOptions {
        t: seconds.map(|s| s.clamp(0, i64::from(i32::MAX)) as i32),
        ..Default::default()
    }
}

/// Stops the running ones among `containers`.
pub async fn stop(
    engine: &Engine,
    containers: &[ObservedContainer],
    timeout: Option<i64>,
) -> Vec<StepResult> {
    join_all(containers.iter().map(|c| async move {
        if !matches!(
            c.state,
            ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
        ) {
            let mut r = result(c, "stop", Ok(()));
            r.status = StepStatus::Unchanged;
            return r;
        }
        let outcome = engine
            .docker
            .stop_container(&c.id, Some(stop_options(timeout)))
            .await
            .map_err(|err| describe(&err));
        result(c, "stop", outcome)
    }))
    .await
}

/// Starts the ones among `containers` that are not running (a paused one
/// is unpaused); running ones are left alone.
pub async fn start(engine: &Engine, containers: &[ObservedContainer]) -> Vec<StepResult> {
    join_all(containers.iter().map(|c| async move {
        let outcome = match c.state {
            ContainerState::Running | ContainerState::Restarting => {
                let mut r = result(c, "start", Ok(()));
                r.status = StepStatus::Unchanged;
                return r;
            }
            ContainerState::Paused => engine.docker.unpause_container(&c.id).await,
            _ => {
                engine
                    .docker
                    .start_container(
                        &c.id,
                        None::<bollard::query_parameters::StartContainerOptions>,
                    )
                    .await
            }
        };
        let mut r = result(c, "start", outcome.map_err(|err| describe(&err)));
        r.started = r.status == StepStatus::Done;
        r
    }))
    .await
}

/// Restarts `containers` (stopped ones are started). Containers that were
/// only ever created (on-demand servers nobody started) are left alone unless
/// `named`.
pub async fn restart(
    engine: &Engine,
    containers: &[ObservedContainer],
    timeout: Option<i64>,
    named: bool,
) -> Vec<StepResult> {
    join_all(containers.iter().map(|c| async move {
        if !named && c.state == ContainerState::Created {
            let mut r = result(c, "restart", Ok(()));
            r.status = StepStatus::Unchanged;
            return r;
        }
        let options = RestartContainerOptions {
            t: timeout.map(|s| s.clamp(0, i64::from(i32::MAX)) as i32),
            ..Default::default()
        };
        let outcome = engine
            .docker
            .restart_container(&c.id, Some(options))
            .await
            .map_err(|err| describe(&err));
        let mut r = result(c, "restart", outcome);
        r.started = r.status == StepStatus::Done;
        r
    }))
    .await
}

/// Removes every container of the project, then its networks, and with
/// `volumes` its volumes: what `docker compose down [-v]` removes.
pub async fn down(
    engine: &Engine,
    project: &str,
    volumes: bool,
    timeout: Option<i64>,
) -> Result<Vec<StepResult>> {
    let containers = containers(engine, project, &[]).await?;
    let mut results = join_all(containers.iter().map(|c| async move {
        let outcome = async {
            if matches!(
                c.state,
                ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
            ) {
                match engine
                    .docker
                    .stop_container(&c.id, Some(stop_options(timeout)))
                    .await
                {
                    Ok(()) => {}
                    Err(err) if is_not_found(&err) => return Ok(()),
                    Err(err) => return Err(describe(&err)),
                }
            }
            // With `volumes`, the container's anonymous volumes go too, as
            // with `docker compose down -v`.
            let options = RemoveContainerOptions {
                force: true,
                v: volumes,
                ..Default::default()
            };
            match engine.docker.remove_container(&c.id, Some(options)).await {
                Ok(()) => {}
                Err(err) if is_not_found(&err) => {}
                Err(err) => return Err(describe(&err)),
            }
            // The engine's `-v` keeps a volume mounted by name, which an
            // anonymous volume inherited across a recreate is.
            if volumes {
                for name in &c.inherited_volumes {
                    let _ = engine
                        .docker
                        .remove_volume(name, None::<RemoveVolumeOptions>)
                        .await;
                }
            }
            Ok(())
        }
        .await;
        result(c, "remove", outcome)
    }))
    .await;
    let filter = HashMap::from([(
        "label".to_string(),
        vec![format!("{}={project}", label::PROJECT)],
    )]);
    let networks = engine
        .docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(filter.clone()),
        }))
        .await
        .map_err(|err| {
            Error::runtime(format!(
                "cannot list the networks of `{project}`: {}",
                describe(&err)
            ))
        })?;
    results.extend(
        join_all(
            networks
                .into_iter()
                .filter_map(|n| n.name)
                .map(|name| async move {
                    let outcome = match engine.docker.remove_network(&name).await {
                        Ok(()) => Ok(()),
                        Err(err) if is_not_found(&err) => Ok(()),
                        Err(err) => Err(describe(&err)),
                    };
                    resource_result("network", &name, outcome)
                }),
        )
        .await,
    );
    if volumes {
        let list = engine
            .docker
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(filter),
            }))
            .await
            .map_err(|err| {
                Error::runtime(format!(
                    "cannot list the volumes of `{project}`: {}",
                    describe(&err)
                ))
            })?;
        results.extend(
            join_all(
                list.volumes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| async move {
                        let outcome = match engine
                            .docker
                            .remove_volume(&v.name, None::<RemoveVolumeOptions>)
                            .await
                        {
                            Ok(()) => Ok(()),
                            Err(err) if is_not_found(&err) => Ok(()),
                            Err(err) => Err(describe(&err)),
                        };
                        resource_result("volume", &v.name, outcome)
                    }),
            )
            .await,
        );
    }
    Ok(results)
}

fn resource_result(
    kind: &'static str,
    name: &str,
    outcome: std::result::Result<(), String>,
) -> StepResult {
    StepResult {
        kind,
        name: name.to_string(),
        service: None,
        action: "remove".into(),
        status: if outcome.is_ok() {
            StepStatus::Done
        } else {
            StepStatus::Failed
        },
        error: outcome.err(),
        id: None,
        started: false,
    }
}

/// The images `pull` pulls: those of the named services (all when none
/// are named); a name the file does not have is an error.
pub fn images_to_pull(
    desired: &super::desired::Desired,
    services: &[String],
) -> Result<Vec<String>> {
    for name in services {
        if !desired.services.contains_key(name) {
            let there: Vec<&str> = desired.services.keys().map(String::as_str).collect();
            return Err(Error::invalid(format!(
                "no service `{name}` in {}",
                desired.file.display()
            ))
            .hint(format!("services there: {}", there.join(", "))));
        }
    }
    Ok(desired
        .services
        .values()
        .filter(|s| services.is_empty() || services.contains(&s.name))
        .filter_map(|s| s.config.image.clone())
        .collect())
}

/// Pulls `images` concurrently.
pub async fn pull_images(
    engine: &Engine,
    images: &[String],
    progress: &Progress,
) -> Vec<StepResult> {
    let mut unique: Vec<&String> = images.iter().collect();
    unique.sort();
    unique.dedup();
    join_all(unique.into_iter().map(|image| async move {
        let outcome = pull::pull(engine, image, progress)
            .await
            .map_err(|error| format!("cannot pull {image}: {error}"));
        resource_result("image", image, outcome).with_action("pull")
    }))
    .await
}

impl StepResult {
    fn with_action(mut self, action: &str) -> Self {
        self.action = action.to_string();
        self
    }
}
