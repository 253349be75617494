//! Recreating a network whose config changed, as compose's
//! `planRecreateNetworks` does: the project's containers on it are stopped and
//! disconnected, the network is removed and created again, and the containers
//! are reconnected (with their aliases) and started again if they ran. They
//! keep their identity; only those the plan replaces anyway are left for the
//! recreate to put on the new network.
use std::collections::{BTreeMap, BTreeSet};

use bollard::models::{NetworkConnectRequest, NetworkDisconnectRequest};
use bollard::query_parameters::InspectNetworkOptions;
use futures_util::future::join_all;

use crate::labels::compose as label;

use super::connect::{describe, is_not_found};
use super::desired::{DesiredNetwork, DesiredService};
use super::execute::{DEFAULT_STOP_SECS, Executor, short};
use super::spec;

impl Executor<'_> {
    /// Replaces a network whose config changed, as compose does: its
    /// containers are stopped and disconnected, the network removed and
    /// created again, and the containers (but those in `replaced`, which the
    /// plan recreates on the new network) reconnected and, if they were
    /// running, started again.
    pub(super) async fn recreate_network(
        &self,
        network: &DesiredNetwork,
        replaced: &BTreeSet<String>,
    ) -> Result<(), String> {
        let docker = &self.engine.docker;
        let inspect = docker
            .inspect_network(&network.name, None::<InspectNetworkOptions>)
            .await
            .map_err(|err| describe(&err))?;
        let attached: Vec<String> = inspect.containers.unwrap_or_default().into_keys().collect();
        // All at once: each stop may wait out a grace period.
        let detached = join_all(attached.iter().map(|id| self.detach(network, id))).await;
        let mut restart = BTreeSet::new();
        let mut services = BTreeMap::new();
        for (id, outcome) in attached.iter().zip(detached) {
            let (service, was_running) = outcome?;
            if was_running {
                restart.insert(id.clone());
            }
            if let Some(service) = service {
                services.insert(id.clone(), service);
            }
        }
        match docker.remove_network(&network.name).await {
            Ok(()) => {}
            Err(err) if is_not_found(&err) => {}
            Err(err) => {
                return Err(format!(
                    "cannot remove {}: {}",
                    network.name,
                    describe(&err)
                ));
            }
        }
        let request = spec::network_request(&self.desired.project, network);
        docker
            .create_network(request)
            .await
            .map_err(|err| format!("cannot create {}: {}", network.name, describe(&err)))?;
        for id in attached.iter().filter(|id| !replaced.contains(*id)) {
            let endpoint_config = services.get(id).and_then(|service| {
                let settings = service.config.networks.get(&network.key)?;
                Some(spec::endpoint(service, settings))
            });
            let request = NetworkConnectRequest {
                container: id.clone(),
                endpoint_config,
            };
            docker
                .connect_network(&network.name, request)
                .await
                .map_err(|err| {
                    format!(
                        "cannot reconnect {} to {}: {}",
                        short(id),
                        network.name,
                        describe(&err)
                    )
                })?;
            if restart.contains(id) {
                docker
                    .start_container(id, None)
                    .await
                    .map_err(|err| format!("cannot start {}: {}", short(id), describe(&err)))?;
            }
        }
        Ok(())
    }

    /// Takes one container off `network`: the project's containers are
    /// stopped first, as with compose; anything else attached (a container
    /// the user connected) is only disconnected. Returns its service, if it
    /// is one of the project's, and whether it should run again.
    async fn detach(
        &self,
        network: &DesiredNetwork,
        id: &str,
    ) -> Result<(Option<&DesiredService>, bool), String> {
        let docker = &self.engine.docker;
        let container = docker.inspect_container(id, None).await.ok();
        let labels = container
            .as_ref()
            .and_then(|c| c.config.as_ref())
            .and_then(|c| c.labels.clone())
            .unwrap_or_default();
        let service = (labels.get(label::PROJECT) == Some(&self.desired.project))
            .then(|| labels.get(label::SERVICE))
            .flatten()
            .and_then(|name| self.desired.services.get(name));
        let mut was_running = false;
        if let Some(service) = service {
            was_running = container
                .and_then(|c| c.state)
                .and_then(|s| s.running)
                .unwrap_or(false);
            let stop_secs = service
                .config
                .stop_grace_period
                .unwrap_or(DEFAULT_STOP_SECS);
            self.stop(id, stop_secs).await?;
        }
        let request = NetworkDisconnectRequest {
            container: id.to_string(),
            force: Some(true),
        };
        match docker.disconnect_network(&network.name, request).await {
            Ok(()) => {}
            Err(err) if is_not_found(&err) => {}
            Err(err) => {
                return Err(format!(
                    "cannot disconnect {} from {}: {}",
                    short(id),
                    network.name,
                    describe(&err)
                ));
            }
        }
        Ok((service, was_running))
    }
}
