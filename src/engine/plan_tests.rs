//! Planner tests: desired and observed states built by hand, no engine.
use std::path::Path;

use super::*;
use crate::engine::desired::{LoadOptions, load_text};

const FILE: &str = "name: demo
services:
  db:
    image: img/db
    networks: [mcp-network]
  api:
    image: img/api
    depends_on: {db: {condition: service_healthy}}
    networks: [mcp-network]
  web:
    image: img/web
    depends_on: [api]
    volumes: [cache:/cache]
  tool:
    image: img/tool
    profiles: [on-demand]
    network_mode: none
networks:
  mcp-network:
volumes:
  cache:
";

fn desired(text: &str) -> Desired {
    load_text(
        Path::new("/nonexistent/compose.yaml"),
        text,
        &LoadOptions::default(),
        &|_| None,
    )
    .unwrap()
}

/// Every image present, as `sha256:<name>`.
fn images(desired: &Desired) -> BTreeMap<String, Option<String>> {
    desired
        .services
        .values()
        .map(|s| {
            let image = s.config.image.clone().unwrap();
            (image.clone(), Some(format!("sha256:{image}")))
        })
        .collect()
}

fn container(desired: &Desired, service: &str, state: ContainerState) -> ObservedContainer {
    let s = &desired.services[service];
    ObservedContainer {
        id: format!("id-{service}"),
        name: s.container_name.clone(),
        service: service.to_string(),
        server: service.to_string(),
        number: 1,
        state,
        health: None,
        image: s.config.image.clone().unwrap(),
        image_id: Some(format!("sha256:{}", s.config.image.as_deref().unwrap())),
        config_hash: Some(s.hash.clone()),
        mcpm_hash: Some(s.hash.clone()),
        inherited_volumes: vec![],
        networks: s
            .config
            .networks
            .keys()
            .filter(|_| s.config.network_mode.is_none())
            .map(|key| desired.networks[key].name.clone())
            .collect(),
        ports: vec![],
    }
}

/// The network as mcpm would have created it from `desired`.
fn network(desired: &crate::engine::desired::DesiredNetwork) -> ObservedNetwork {
    ObservedNetwork {
        name: desired.name.clone(),
        mcpm_hash: Some(desired.hash.clone()),
        driver: Some("bridge".into()),
        internal: false,
        subnets: desired
            .config
            .ipam_config
            .iter()
            .filter_map(|p| p.subnet.clone())
            .collect(),
    }
}

/// The engine after a complete deploy of `desired`.
fn deployed(desired: &Desired) -> ObservedState {
    let mut observed = ObservedState {
        images: images(desired),
        networks: desired
            .networks
            .values()
            .map(|n| (n.name.clone(), network(n)))
            .collect(),
        volumes: desired.volumes.values().map(|v| v.name.clone()).collect(),
        ..Default::default()
    };
    for name in desired.services.keys() {
        let state = if name == "tool" {
            ContainerState::Created
        } else {
            ContainerState::Running
        };
        observed
            .containers
            .insert(name.clone(), vec![container(desired, name, state)]);
    }
    observed
}

fn step<'a>(plan: &'a Plan, service: &str) -> &'a ServiceStep {
    plan.steps().find(|s| s.service == service).unwrap()
}

#[test]
fn a_fresh_deploy_creates_everything_in_dependency_order() {
    let desired = desired(FILE);
    let observed = ObservedState::default();
    let plan = plan(&desired, &observed, &PlanOptions::default()).unwrap();
    let names =
        |level: &Vec<ServiceStep>| level.iter().map(|s| s.service.clone()).collect::<Vec<_>>();
    assert_eq!(plan.levels.len(), 3);
    assert_eq!(names(&plan.levels[0]), ["db", "tool"]);
    assert_eq!(names(&plan.levels[1]), ["api"]);
    assert_eq!(names(&plan.levels[2]), ["web"]);
    assert!(plan.steps().all(|s| s.action == Action::Create));
    assert!(
        !step(&plan, "tool").start,
        "on-demand is created, not started"
    );
    assert!(step(&plan, "db").start);
    assert_eq!(
        step(&plan, "api").wait_for,
        [("db".to_string(), DependencyCondition::ServiceHealthy)]
    );
    let networks: Vec<&str> = plan.networks.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(networks, ["demo_mcp-network", "demo_default"]);
    assert_eq!(plan.volumes[0].name, "demo_cache");
    assert_eq!(plan.pulls.len(), 4, "every image is missing");
    assert!(!plan.is_noop());
}

#[test]
fn a_converged_project_plans_nothing() {
    let desired = desired(FILE);
    let plan = plan(&desired, &deployed(&desired), &PlanOptions::default()).unwrap();
    assert!(plan.is_noop(), "{plan:#?}");
    assert!(
        plan.steps()
            .all(|s| matches!(s.action, Action::Keep { .. }))
    );
}

#[test]
fn only_the_changed_service_is_recreated() {
    let before = desired(FILE);
    let observed = deployed(&before);
    let after = desired(&FILE.replace("image: img/web", "image: img/web\n    environment: [A=1]"));
    let plan = plan(&after, &observed, &PlanOptions::default()).unwrap();
    let changed: Vec<&str> = plan
        .steps()
        .filter(|s| !matches!(s.action, Action::Keep { .. }))
        .map(|s| s.service.as_str())
        .collect();
    assert_eq!(changed, ["web"]);
    assert_eq!(
        step(&plan, "web").action,
        Action::Recreate {
            id: "id-web".into(),
            reason: "config changed".into()
        }
    );
    assert!(plan.pulls.is_empty());
}

#[test]
fn a_new_image_id_recreates() {
    let desired = desired(FILE);
    let mut observed = deployed(&desired);
    observed
        .images
        .insert("img/db".into(), Some("sha256:newer".into()));
    let plan = plan(&desired, &observed, &PlanOptions::default()).unwrap();
    assert!(
        matches!(&step(&plan, "db").action, Action::Recreate { reason, .. } if reason == "image changed")
    );
    assert!(matches!(step(&plan, "api").action, Action::Keep { .. }));
}

#[test]
fn stopped_containers_start_and_on_demand_ones_stay_as_they_are() {
    let desired = desired(FILE);
    let mut observed = deployed(&desired);
    observed.containers.get_mut("db").unwrap()[0].state = ContainerState::Exited;
    let plan1 = plan(&desired, &observed, &PlanOptions::default()).unwrap();
    assert_eq!(
        step(&plan1, "db").action,
        Action::Start { id: "id-db".into() }
    );
    assert!(matches!(step(&plan1, "tool").action, Action::Keep { .. }));
    // An on-demand server that is in use keeps running through a recreate.
    observed.containers.get_mut("tool").unwrap()[0].state = ContainerState::Running;
    observed.containers.get_mut("tool").unwrap()[0].mcpm_hash = Some("old".into());
    let plan2 = plan(&desired, &observed, &PlanOptions::default()).unwrap();
    assert!(matches!(
        step(&plan2, "tool").action,
        Action::Recreate { .. }
    ));
    assert!(step(&plan2, "tool").start);
}

#[test]
fn naming_an_on_demand_service_starts_it() {
    let desired = desired(FILE);
    let options = PlanOptions {
        services: vec!["tool".into()],
        ..Default::default()
    };
    let plan = plan(&desired, &deployed(&desired), &options).unwrap();
    assert_eq!(plan.steps().count(), 1);
    assert_eq!(
        step(&plan, "tool").action,
        Action::Start {
            id: "id-tool".into()
        }
    );
}

#[test]
fn naming_a_service_brings_its_dependencies() {
    let desired = desired(FILE);
    let options = PlanOptions {
        services: vec!["api".into()],
        ..Default::default()
    };
    let plan = plan(&desired, &ObservedState::default(), &options).unwrap();
    let names: Vec<&str> = plan.steps().map(|s| s.service.as_str()).collect();
    assert_eq!(names, ["db", "api"]);
    assert!(plan.volumes.is_empty(), "web's volume is not needed");
    let err = super::plan(
        &desired,
        &ObservedState::default(),
        &PlanOptions {
            services: vec!["nope".into()],
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err.message.contains("no service `nope`"));
}

#[test]
fn orphans_are_reported_and_removed_on_request() {
    let desired = desired(FILE);
    let mut observed = deployed(&desired);
    let mut old = container(&desired, "db", ContainerState::Running);
    old.service = "old".into();
    old.id = "id-old".into();
    observed.containers.insert("old".into(), vec![old]);
    let plan1 = plan(&desired, &observed, &PlanOptions::default()).unwrap();
    assert_eq!(plan1.orphans.len(), 1);
    assert!(!plan1.orphans[0].remove);
    assert!(plan1.is_noop());
    let options = PlanOptions {
        remove_orphans: true,
        ..Default::default()
    };
    let plan2 = plan(&desired, &observed, &options).unwrap();
    assert!(plan2.orphans[0].remove);
    assert!(!plan2.is_noop());
}

#[test]
fn pull_modes() {
    let desired = desired(FILE);
    let mut observed = deployed(&desired);
    let always = PlanOptions {
        pull: Some(PullMode::Always),
        ..Default::default()
    };
    let plan1 = plan(&desired, &observed, &always).unwrap();
    assert_eq!(plan1.pulls.len(), 4);
    assert!(plan1.pulls.iter().all(|p| p.present));

    observed.images.insert("img/web".into(), None);
    observed.containers.remove("web");
    let never = PlanOptions {
        pull: Some(PullMode::Never),
        ..Default::default()
    };
    let plan2 = plan(&desired, &observed, &never).unwrap();
    assert!(plan2.pulls.is_empty());
    assert!(
        matches!(&step(&plan2, "web").action, Action::Blocked { reason } if reason.contains("img/web"))
    );
    assert!(matches!(step(&plan2, "db").action, Action::Keep { .. }));
}

#[test]
fn extra_replicas_are_removed() {
    let desired = desired(FILE);
    let mut observed = deployed(&desired);
    let mut second = container(&desired, "db", ContainerState::Running);
    second.number = 2;
    second.id = "id-db-2".into();
    observed.containers.get_mut("db").unwrap().push(second);
    let plan = plan(&desired, &observed, &PlanOptions::default()).unwrap();
    assert_eq!(step(&plan, "db").extra_containers, ["id-db-2"]);
    assert!(!plan.is_noop());
}

#[test]
fn dependency_cycles_are_errors() {
    let desired = desired(
        "name: c\nservices:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n",
    );
    let err = plan(&desired, &ObservedState::default(), &PlanOptions::default()).unwrap_err();
    assert!(err.message.contains("cycle"), "{}", err.message);
}

#[test]
fn a_shared_network_namespace_is_a_dependency() {
    let desired = desired(
        "name: n\nservices:\n  app:\n    image: x\n    network_mode: service:vpn\n  vpn:\n    image: y\n",
    );
    let plan = plan(&desired, &ObservedState::default(), &PlanOptions::default()).unwrap();
    let names: Vec<Vec<&str>> = plan
        .levels
        .iter()
        .map(|l| l.iter().map(|s| s.service.as_str()).collect())
        .collect();
    assert_eq!(names, [vec!["vpn"], vec!["app"]]);
}

#[test]
fn mcpm_decides_by_its_own_hash_label() {
    let desired = desired(FILE);
    let mut observed = deployed(&desired);
    // `docker compose up` wrote its own hash in compose's label; mcpm's says
    // the container is current.
    observed.containers.get_mut("db").unwrap()[0].config_hash = Some("compose's".into());
    let plan = plan(&desired, &observed, &PlanOptions::default()).unwrap();
    assert!(plan.is_noop(), "{plan:?}");

    // A container made by an mcpm before its own label: compose's label
    // holds mcpm's hash, and that still counts.
    let mut observed = deployed(&desired);
    observed.containers.get_mut("db").unwrap()[0].mcpm_hash = None;
    assert!(
        plan_for(&desired, &observed).is_noop(),
        "a container from an older mcpm is recreated"
    );

    // A container compose made: neither label holds mcpm's hash.
    let db = &mut observed.containers.get_mut("db").unwrap()[0];
    db.config_hash = Some("compose's".into());
    let plan = plan_for(&desired, &observed);
    assert!(
        matches!(&step(&plan, "db").action, Action::Recreate { reason, .. } if reason.contains("io.mcpm.config-hash")),
        "{plan:?}"
    );
}

fn plan_for(desired: &Desired, observed: &ObservedState) -> Plan {
    plan(desired, observed, &PlanOptions::default()).unwrap()
}

const SUBNET_FILE: &str = "name: demo
services:
  api:
    image: img/api
    networks: [mcp-network]
networks:
  mcp-network:
    ipam:
      config:
        - subnet: 172.30.0.0/24
";

#[test]
fn a_changed_subnet_recreates_the_network() {
    let before = desired(SUBNET_FILE);
    let observed = deployed(&before);
    assert!(plan_for(&before, &observed).is_noop());

    let after = desired(&SUBNET_FILE.replace("172.30.0.0/24", "172.31.0.0/24"));
    let plan = plan_for(&after, &observed);
    assert_eq!(plan.networks.len(), 1, "{plan:?}");
    let network = &plan.networks[0];
    assert_eq!(network.name, "demo_mcp-network");
    assert_eq!(
        network.recreate.as_deref(),
        Some("subnet 172.30.0.0/24 -> 172.31.0.0/24")
    );
    // The container keeps its config: it is reconnected, not recreated.
    assert!(matches!(step(&plan, "api").action, Action::Keep { .. }));
    assert!(!plan.is_noop());
}

#[test]
fn networks_without_mcpm_hash_are_compared_on_what_the_engine_reports() {
    let before = desired(SUBNET_FILE);
    let mut observed = deployed(&before);
    for network in observed.networks.values_mut() {
        network.mcpm_hash = None;
    }
    // Unchanged: nothing to do, even without the label.
    assert!(plan_for(&before, &observed).is_noop());
    // A changed subnet shows in what the engine reports.
    let after = desired(&SUBNET_FILE.replace("172.30.0.0/24", "172.31.0.0/24"));
    assert!(plan_for(&after, &observed).networks[0].recreate.is_some());
    // A subnet the engine picked itself is not a difference.
    let auto = desired(FILE);
    let mut observed = deployed(&auto);
    for network in observed.networks.values_mut() {
        network.mcpm_hash = None;
        network.subnets = vec!["172.18.0.0/16".into()];
    }
    assert!(plan_for(&auto, &observed).is_noop());
    // With mcpm's label, any change of the entry shows (labels here).
    let mut observed = deployed(&auto);
    let relabelled = desired(&FILE.replace(
        "networks:\n  mcp-network:\n",
        "networks:\n  mcp-network:\n    labels: {team: a}\n",
    ));
    observed
        .networks
        .get_mut("demo_mcp-network")
        .unwrap()
        .mcpm_hash = Some(auto.networks["mcp-network"].hash.clone());
    assert_eq!(
        plan_for(&relabelled, &observed).networks[0]
            .recreate
            .as_deref(),
        Some("config changed")
    );
}

#[test]
fn a_container_missing_from_one_of_its_networks_is_recreated() {
    let desired = desired(FILE);
    let mut observed = deployed(&desired);
    // A network recreate that stopped half way left `db` disconnected.
    observed.containers.get_mut("db").unwrap()[0]
        .networks
        .clear();
    let plan = plan_for(&desired, &observed);
    assert!(
        matches!(&step(&plan, "db").action, Action::Recreate { reason, .. } if reason == "not connected to network demo_mcp-network"),
        "{plan:?}"
    );
    assert!(matches!(step(&plan, "api").action, Action::Keep { .. }));
}
