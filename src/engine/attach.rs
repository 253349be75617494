//! The gateway's way to the servers of one deployed compose project
//! ([`crate::gateway::Launcher`] over the Docker Engine API).
//!
//! A **shared** server is the service's long-lived container
//! (`<project>-<service>-1`, found by its compose labels). [`EngineLauncher`]
//! starts it when it is not running (an on-demand one that deploy only
//! created, or one that stopped) and attaches to its stdio through the
//! engine's attach endpoint: stdin, stdout and stderr, streamed, no replay of
//! old logs. Attaching comes before starting, as `docker start -a` does, so
//! nothing the server writes first is lost.
//!
//! A **session** server gets a one-off container per client session, made as
//! `docker compose run --rm -T SERVICE` makes one: the service's desired
//! config through the same [`spec::container_request`] deploy uses (image,
//! environment, mounts, networks, security options, limits), no TTY, no
//! restart policy, no published ports and no network aliases (those stay
//! with the service's own container), stdin open once (closing the attached stdin is the
//! server's EOF), compose's one-off labels and a label naming the gateway
//! process that owns it, so a later gateway can reap what a crashed one left.
//! The engine removes it by itself when it exits (`AutoRemove`), so even a
//! gateway killed outright leaves nothing behind once the server sees EOF.
//!
//! Attach output comes from the engine as multiplexed frames; stdout frames
//! become the bytes of [`Stdio::output`], stderr frames are logged line by line
//! on the gateway's stderr (its log file when detached) with a `[server NAME]`
//! prefix, never parsed.
mod stdio;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use bollard::models::{
    ContainerInspectResponse, NetworkConnectRequest, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    AttachContainerOptions, CreateContainerOptions, ListContainersOptions, RemoveContainerOptions,
    StartContainerOptions, StopContainerOptions,
};
use futures_util::future::BoxFuture;

use crate::error::{Error, Result};
use crate::gateway::{Attached, GatewayServer, Launcher, SessionInstance, Stdio};
use crate::labels;
use crate::labels::compose as label;

use super::connect::{Engine, describe, is_conflict, is_not_found};
use super::desired::{self, Desired, DesiredService};
use super::observe::{self, ContainerState, ObservedContainer};
use super::spec;
use super::target::Target;

/// Compose's grace period for `stop` when the service sets none.
const DEFAULT_STOP_SECONDS: i64 = 10;

/// [`Launcher`] for the services of one compose project on the Docker Engine.
pub struct EngineLauncher {
    engine: Engine,
    desired: Arc<Desired>,
    /// The pid written on one-off containers: this gateway's.
    gateway_pid: u32,
    /// The one-off containers this launcher made and has not removed yet.
    sessions: Mutex<HashSet<String>>,
}

impl EngineLauncher {
    /// Loads the compose file of `target` the way deploy does and connects to
    /// the engine.
    pub async fn connect(target: &Target) -> Result<Self> {
        let desired = desired::load(&target.file, &target.options)?;
        let engine = super::connect::connect().await?;
        Ok(Self::new(engine, desired))
    }

    /// A launcher for `desired`'s project on `engine`, owned by this process.
    pub fn new(engine: Engine, desired: Desired) -> Self {
        Self {
            engine,
            desired: Arc::new(desired),
            gateway_pid: std::process::id(),
            sessions: Mutex::new(HashSet::new()),
        }
    }

    /// The compose project it works on.
    pub fn project(&self) -> &str {
        &self.desired.project
    }

    fn deploy_hint(&self) -> String {
        format!(
            "run `mcpm docker deploy -f {}` first",
            self.desired.file.display()
        )
    }

    fn service(&self, server: &GatewayServer) -> Result<&DesiredService> {
        self.desired.services.get(&server.service).ok_or_else(|| {
            Error::invalid(format!(
                "server `{}`: no service `{}` in {}",
                server.name,
                server.service,
                self.desired.file.display()
            ))
            .hint(format!(
                "services there: {}",
                self.desired
                    .services
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    /// The service's long-lived container, which deploy made, if there is one.
    async fn find_container(&self, service: &str) -> Result<Option<ObservedContainer>> {
        let mut by_service = observe::containers(&self.engine, self.project()).await?;
        Ok(pick_container(
            by_service.remove(service).unwrap_or_default(),
        ))
    }

    /// [`Self::find_container`], with the error that says to deploy first.
    async fn service_container(&self, server: &GatewayServer) -> Result<ObservedContainer> {
        self.find_container(&server.service).await?.ok_or_else(|| {
            Error::runtime(format!(
                "server `{}` is not deployed: project `{}` has no container of service `{}` (expected {})",
                server.name,
                self.project(),
                server.service,
                super::naming::container_name(self.project(), &server.service)
            ))
            .hint(self.deploy_hint())
        })
    }

    async fn inspect(&self, id: &str, name: &str) -> Result<ContainerInspectResponse> {
        self.engine
            .docker
            .inspect_container(id, None)
            .await
            .map_err(|err| {
                let error = Error::runtime(format!(
                    "cannot inspect container {name}: {}",
                    describe(&err)
                ));
                if is_not_found(&err) {
                    error.hint(format!("it was removed meanwhile; {}", self.deploy_hint()))
                } else {
                    error.hint("check that the Docker Engine runs (`docker info`)")
                }
            })
    }

    /// Attaches to the stdio of container `id` (running or not).
    async fn attach_stdio(&self, id: &str, name: &str, server: &str) -> Result<Stdio> {
        let options = AttachContainerOptions {
            stdin: true,
            stdout: true,
            stderr: true,
            stream: true,
            logs: false,
            ..Default::default()
        };
        let attached = self
            .engine
            .docker
            .attach_container(id, Some(options))
            .await
            .map_err(|err| {
                Error::runtime(format!(
                    "cannot attach to container {name} (server `{server}`): {}",
                    describe(&err)
                ))
                .hint(format!(
                    "check it with `docker inspect {name}`; if it is gone, {}",
                    self.deploy_hint()
                ))
            })?;
        Ok(Stdio {
            input: attached.input,
            output: stdio::output(attached.output, server),
        })
    }

    async fn start(&self, id: &str, name: &str, server: &str) -> Result<()> {
        match self
            .engine
            .docker
            .start_container(id, None::<StartContainerOptions>)
            .await
        {
            Ok(()) => Ok(()),
            // 304: it was started meanwhile (by another gateway or by hand).
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(err) => Err(Error::runtime(format!(
                "cannot start container {name} (server `{server}`): {}",
                describe(&err)
            ))
            .hint(format!(
                "see `docker logs {name}`; fix the service, then `mcpm docker deploy -f {}`",
                self.desired.file.display()
            ))),
        }
    }

    /// Force-removes a container with its anonymous volumes; gone already is fine.
    async fn remove(&self, id: &str) -> Result<()> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match self.engine.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            // 409: the engine is removing it already (AutoRemove after exit).
            Err(err) if is_not_found(&err) || is_conflict(&err) => Ok(()),
            Err(err) => Err(Error::runtime(format!(
                "cannot remove session container {}: {}",
                short(id),
                describe(&err)
            ))
            .hint(format!("remove it by hand: `docker rm -f {}`", short(id)))),
        }
    }

    async fn attach_shared(&self, server: &GatewayServer) -> Result<Attached> {
        let container = self.service_container(server).await?;
        let name = container.name.as_str();
        let info = self.inspect(&container.id, name).await?;
        let config = info.config.as_ref();
        if !config.and_then(|c| c.open_stdin).unwrap_or(false) {
            return Err(Error::invalid(format!(
                "container {name} does not keep its stdin open, so server `{}` cannot be talked to",
                server.name
            ))
            .hint(format!(
                "set `stdin_open: true` on service `{}` in {} and run `mcpm docker deploy` again",
                server.service,
                self.desired.file.display()
            )));
        }
        match container.state {
            ContainerState::Paused => {
                return Err(Error::runtime(format!(
                    "container {name} (server `{}`) is paused",
                    server.name
                ))
                .hint(format!("resume it with `docker unpause {name}`")));
            }
            ContainerState::Dead | ContainerState::Removing => {
                return Err(Error::runtime(format!(
                    "container {name} (server `{}`) is {} and cannot be started",
                    server.name,
                    container.state.as_str()
                ))
                .hint(format!(
                    "recreate it with `mcpm docker deploy -f {}`",
                    self.desired.file.display()
                )));
            }
            _ => {}
        }
        let stdio = self.attach_stdio(&container.id, name, &server.name).await?;
        if !matches!(
            container.state,
            ContainerState::Running | ContainerState::Restarting
        ) {
            self.start(&container.id, name, &server.name).await?;
        }
        let info = self.inspect(&container.id, name).await?;
        let started_at = info
            .state
            .as_ref()
            .and_then(|s| s.started_at.clone())
            .unwrap_or_default();
        Ok(Attached {
            stdio,
            instance: instance_id(&container.id, &started_at),
        })
    }

    async fn run_one_off(&self, server: &GatewayServer) -> Result<SessionInstance> {
        let service = self.service(server)?;
        let slug = crate::hash::random_hex(32)?;
        let name = session_name(self.project(), &service.name, &slug);
        let mut body = spec::container_request(&self.desired, service, &[]);
        let labels = body.labels.get_or_insert_with(HashMap::new);
        for (key, value) in session_labels(&slug, self.gateway_pid) {
            labels.insert(key.to_string(), value);
        }
        // compose `run -T`: a pipe, not a terminal; stdin open for this one
        // attach and closed when it ends, so the server sees EOF.
        body.tty = Some(false);
        body.open_stdin = Some(true);
        body.stdin_once = Some(true);
        body.attach_stdin = Some(true);
        body.attach_stdout = Some(true);
        body.attach_stderr = Some(true);
        let host = body.host_config.get_or_insert_with(Default::default);
        host.restart_policy = Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: None,
        });
        host.auto_remove = Some(true);
        // As `compose run` without `--service-ports`/`--use-aliases`: the
        // service's host ports stay with its own container (a second binding
        // would clash), and the service name keeps resolving to that one.
        host.port_bindings = None;
        host.publish_all_ports = None;
        if let Some(endpoints) = body
            .networking_config
            .as_mut()
            .and_then(|n| n.endpoints_config.as_mut())
        {
            for endpoint in endpoints.values_mut() {
                endpoint.aliases = None;
            }
        }

        let options = CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        };
        let created = self
            .engine
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|err| {
                let error = Error::runtime(format!(
                    "cannot create session container {name} for server `{}`: {}",
                    server.name,
                    describe(&err)
                ));
                if is_not_found(&err) {
                    // No such image, or no such network: deploy makes both.
                    error.hint(self.deploy_hint())
                } else {
                    error.hint("check the engine with `docker info`, then try again")
                }
            })?;
        let id = created.id;
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone());
        match self.connect_and_start(service, server, &id, &name).await {
            Ok(stdio) => Ok(SessionInstance { stdio, id }),
            Err(err) => {
                // Best effort: the error that stopped the start is the one to report.
                let _ = self.end(&id).await;
                Err(err)
            }
        }
    }

    async fn connect_and_start(
        &self,
        service: &DesiredService,
        server: &GatewayServer,
        id: &str,
        name: &str,
    ) -> Result<Stdio> {
        for (network, mut endpoint) in spec::extra_networks(&self.desired, service) {
            endpoint.aliases = None;
            let request = NetworkConnectRequest {
                container: id.to_string(),
                endpoint_config: Some(endpoint),
            };
            self.engine
                .docker
                .connect_network(&network, request)
                .await
                .map_err(|err| {
                    Error::runtime(format!(
                        "cannot connect session container {name} to network {network}: {}",
                        describe(&err)
                    ))
                    .hint(self.deploy_hint())
                })?;
        }
        let stdio = self.attach_stdio(id, name, &server.name).await?;
        self.start(id, name, &server.name).await?;
        Ok(stdio)
    }

    async fn end(&self, id: &str) -> Result<()> {
        self.remove(id).await?;
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        Ok(())
    }

    async fn stop_shared(&self, server: &GatewayServer) -> Result<()> {
        let Some(container) = self.find_container(&server.service).await? else {
            return Ok(()); // nothing deployed, nothing to stop
        };
        if !matches!(
            container.state,
            ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
        ) {
            return Ok(());
        }
        let seconds = self
            .desired
            .services
            .get(&server.service)
            .and_then(|s| s.config.stop_grace_period)
            .unwrap_or(DEFAULT_STOP_SECONDS);
        let options = StopContainerOptions {
            t: Some(seconds.clamp(0, i64::from(i32::MAX)) as i32),
            ..Default::default()
        };
        match self
            .engine
            .docker
            .stop_container(&container.id, Some(options))
            .await
        {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            Err(err) => Err(Error::runtime(format!(
                "cannot stop container {} (server `{}`): {}",
                container.name,
                server.name,
                describe(&err)
            ))
            .hint(format!("stop it by hand: `docker stop {}`", container.name))),
        }
    }

    async fn reap(&self) -> Result<usize> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![
                format!("{}={}", label::PROJECT, self.project()),
                format!("{}={}", label::ONEOFF, label::ONEOFF_TRUE),
                labels::GATEWAY_SESSION.to_string(),
            ],
        )]);
        let options = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        let list = self
            .engine
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|err| {
                Error::runtime(format!(
                    "cannot list the session containers of project `{}`: {}",
                    self.project(),
                    describe(&err)
                ))
                .hint("check the engine with `docker info`")
            })?;
        let ours: HashSet<String> = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut reaped = 0;
        for summary in list {
            let Some(id) = summary.id else { continue };
            let owner = summary
                .labels
                .as_ref()
                .and_then(|l| l.get(labels::GATEWAY_SESSION))
                .map(String::as_str)
                .unwrap_or("");
            if is_orphan(owner, self.gateway_pid, ours.contains(&id), gateway_alive) {
                self.remove(&id).await?;
                reaped += 1;
            }
        }
        Ok(reaped)
    }
}

impl Launcher for EngineLauncher {
    fn attach<'a>(&'a self, server: &'a GatewayServer) -> BoxFuture<'a, Result<Attached>> {
        Box::pin(self.attach_shared(server))
    }

    fn run_session<'a>(
        &'a self,
        server: &'a GatewayServer,
    ) -> BoxFuture<'a, Result<SessionInstance>> {
        Box::pin(self.run_one_off(server))
    }

    fn end_session<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.end(id))
    }

    fn stop<'a>(&'a self, server: &'a GatewayServer) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.stop_shared(server))
    }

    fn reap_orphans(&self) -> BoxFuture<'_, Result<usize>> {
        Box::pin(self.reap())
    }
}

/// The container to attach to among a service's containers: a running one
/// first, then the lowest replica number (mcpm runs one replica).
fn pick_container(mut list: Vec<ObservedContainer>) -> Option<ObservedContainer> {
    list.sort_by_key(|c| (c.state != ContainerState::Running, c.number));
    list.into_iter().next()
}

/// What identifies one run of a container: a restart changes `StartedAt`.
fn instance_id(id: &str, started_at: &str) -> String {
    format!("{id}@{started_at}")
}

/// `<project>-<service>-run-<12 hex>`, as compose names `run` containers.
fn session_name(project: &str, service: &str, slug: &str) -> String {
    format!("{project}-{service}-run-{}", &slug[..slug.len().min(12)])
}

/// The labels that mark a one-off session container, over the service's.
fn session_labels(slug: &str, gateway_pid: u32) -> [(&'static str, String); 3] {
    [
        (label::ONEOFF, label::ONEOFF_TRUE.to_string()),
        (label::SLUG, slug.to_string()),
        (labels::GATEWAY_SESSION, gateway_pid.to_string()),
    ]
}

/// Whether a one-off container labelled with gateway pid `owner` is left over
/// from a gateway that is gone. Our own pid counts as gone for containers this
/// launcher did not make (a gateway before us had the same pid); a label that
/// is not a pid was not written by a gateway and is an orphan too.
fn is_orphan(owner: &str, own_pid: u32, made_here: bool, alive: impl Fn(u32) -> bool) -> bool {
    match owner.trim().parse::<u32>() {
        Ok(pid) if pid == own_pid => !made_here,
        Ok(pid) => !alive(pid),
        Err(_) => true,
    }
}

/// Whether `pid` is a running gateway: a live process running the same
/// executable as this one (the `mcpm` binary). Unknown counts as alive, so
/// nothing of a gateway that still runs is ever removed.
fn gateway_alive(pid: u32) -> bool {
    let proc_dir = std::path::Path::new("/proc");
    if proc_dir.join("self").exists() {
        let dir = proc_dir.join(pid.to_string());
        if !dir.exists() {
            return false;
        }
        let (Ok(exe), Ok(own)) = (std::fs::read_link(dir.join("exe")), std::env::current_exe())
        else {
            return true; // another user's process, or a zombie: cannot tell
        };
        return same_executable(&exe.to_string_lossy(), &own.to_string_lossy());
    }
    // No /proc (macOS): ask ps for the command's name.
    match std::process::Command::new("ps")
        .args(["-p", &pid.to_string(), "-o", "comm="])
        .output()
    {
        Ok(out) if out.status.success() => {
            let comm = String::from_utf8_lossy(&out.stdout);
            let own = std::env::current_exe().unwrap_or_default();
            let own_name = own.file_name().unwrap_or_default().to_string_lossy();
            comm.trim().ends_with(own_name.as_ref())
        }
        Ok(_) => false, // ps found no such process
        Err(_) => true,
    }
}

/// Whether two `/proc/PID/exe` targets are the same binary; a binary rebuilt
/// while the gateway runs shows as `PATH (deleted)`.
fn same_executable(a: &str, b: &str) -> bool {
    let strip = |s: &str| s.strip_suffix(" (deleted)").unwrap_or(s).to_string();
    strip(a) == strip(b)
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

#[cfg(test)]
#[path = "attach_tests.rs"]
mod tests;
