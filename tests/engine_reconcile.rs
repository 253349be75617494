//! Engine tests for what a redeploy carries over: anonymous volumes across a
//! recreate, networks whose config changed, and the hand-over between
//! `docker-compose` and mcpm (each decides by its own config hash). Real
//! engine, checked with the docker CLI; see tests/engine.rs for the setup.
#[path = "engine/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::BTreeSet;

use support::{Project, docker, docker_ok, engine, sleeper, stdout};

/// The anonymous (64-hex) volumes `container` mounts, by mount path.
fn anonymous_volumes(container: &str) -> Vec<(String, String)> {
    docker_ok(&[
        "inspect",
        "--format",
        "{{range .Mounts}}{{.Destination}} {{.Name}}\n{{end}}",
        container,
    ])
    .lines()
    .filter_map(|line| line.split_once(' '))
    .filter(|(_, name)| name.len() == 64)
    .map(|(path, name)| (path.to_string(), name.to_string()))
    .collect()
}

fn volume_exists(name: &str) -> bool {
    docker(&["volume", "inspect", name]).status.success()
}

/// Removes the named volumes when dropped, so a failed test leaves none
/// (the project guard only finds volumes by the project label, which
/// anonymous volumes do not carry).
struct VolumeGuard(BTreeSet<String>);

impl Drop for VolumeGuard {
    fn drop(&mut self) {
        for name in &self.0 {
            docker(&["volume", "rm", "-f", name]);
        }
    }
}

#[test]
fn anonymous_volumes_survive_a_recreate_and_go_with_down_volumes() {
    let Some(env) = engine() else { return };
    let p = Project::new("anonvol");
    let mut seen = VolumeGuard(BTreeSet::new());
    let container = format!("{}-app-1", p.name);
    let service = |extra: &str| {
        format!(
            "services:\n  app:\n{}",
            sleeper(&env.image, &format!("    network_mode: none\n{extra}"))
        )
    };
    p.write(&service(
        "    volumes: [/data]\n    environment: {ROUND: '1'}\n",
    ));
    p.mcpm(&["deploy"]).assert().success();
    let first = anonymous_volumes(&container);
    assert_eq!(first.len(), 1, "{first:?}");
    let (path, volume) = first[0].clone();
    seen.0.insert(volume.clone());
    assert_eq!(path, "/data");
    docker_ok(&["exec", &container, "sh", "-c", "echo kept > /data/file"]);

    // Two config changes: each recreates the container, which must mount the
    // same volume (the second time the volume is already mounted by name).
    for round in ["2", "3"] {
        let before = p.containers()[&container].clone();
        p.write(&service(&format!(
            "    volumes: [/data]\n    environment: {{ROUND: '{round}'}}\n"
        )));
        p.mcpm(&["deploy"]).assert().success();
        assert_ne!(
            p.containers()[&container],
            before,
            "round {round}: recreated"
        );
        let now = anonymous_volumes(&container);
        for (_, name) in &now {
            seen.0.insert(name.clone());
        }
        assert_eq!(now, first, "round {round}: the same anonymous volume");
        assert_eq!(
            docker_ok(&["exec", &container, "cat", "/data/file"]),
            "kept",
            "round {round}: the data is still there"
        );
    }

    // A service that no longer mounts it: the volume goes with the old container.
    p.write(&service("    environment: {ROUND: '4'}\n"));
    p.mcpm(&["deploy"]).assert().success();
    assert!(anonymous_volumes(&container).is_empty());
    assert!(
        !volume_exists(&volume),
        "the volume nothing inherits is left behind"
    );

    // Back again, recreated once, then `down --volumes`: nothing is left.
    p.write(&service(
        "    volumes: [/data]\n    environment: {ROUND: '5'}\n",
    ));
    p.mcpm(&["deploy"]).assert().success();
    p.write(&service(
        "    volumes: [/data]\n    environment: {ROUND: '6'}\n",
    ));
    p.mcpm(&["deploy"]).assert().success();
    let last = anonymous_volumes(&container);
    assert_eq!(last.len(), 1);
    seen.0.insert(last[0].1.clone());
    p.mcpm(&["down", "--volumes"]).assert().success();
    for name in &seen.0 {
        assert!(
            !volume_exists(name),
            "{name} is left behind after down --volumes"
        );
    }
}

/// Two /24 subnets no other test uses at the same time (per process).
fn subnets() -> (String, String) {
    let n = std::process::id() % 250;
    (format!("10.231.{n}.0/24"), format!("10.232.{n}.0/24"))
}

#[test]
fn a_changed_subnet_recreates_the_network_and_reconnects_its_containers() {
    let Some(env) = engine() else { return };
    let p = Project::new("subnet");
    let (old, new) = subnets();
    let file = |subnet: &str| {
        format!(
            "services:\n  web:\n{}    networks: [mcp-network]\n  tool:\n{}    profiles: [on-demand]\n    networks: [mcp-network]\nnetworks:\n  mcp-network:\n    ipam:\n      config:\n        - subnet: {subnet}\n",
            sleeper(&env.image, ""),
            sleeper(&env.image, ""),
        )
    };
    p.write(&file(&old));
    p.mcpm(&["deploy"]).assert().success();
    let network = format!("{}_mcp-network", p.name);
    let web = format!("{}-web-1", p.name);
    let tool = format!("{}-tool-1", p.name);
    let subnet_of = || p.inspect(&network, "{{range .IPAM.Config}}{{.Subnet}}{{end}}");
    assert_eq!(subnet_of(), old);
    // A container the user attached by hand (labelled with the project only
    // so the test's guard removes it): reconnected, never stopped.
    let visitor = format!("{}-visitor", p.name);
    docker_ok(&[
        "run",
        "-d",
        "--init",
        "--name",
        &visitor,
        "--network",
        &network,
        "--label",
        &format!("com.docker.compose.project={}", p.name),
        &env.image,
        "sleep",
        "3600",
    ]);
    let started_at = p.inspect(&visitor, "{{.State.StartedAt}}");
    let ids = p.containers();

    p.write(&file(&new));
    let out = p.mcpm(&["deploy"]).assert().success().get_output().clone();
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "recreate  network {network}: subnet {old} -> {new}"
        )),
        "{text}"
    );
    assert_eq!(subnet_of(), new, "the new subnet took effect");
    assert_eq!(
        p.containers(),
        ids,
        "containers are reconnected, not recreated"
    );
    assert_eq!(p.inspect(&web, "{{.State.Status}}"), "running");
    assert_eq!(
        p.inspect(&tool, "{{.State.Status}}"),
        "created",
        "an on-demand server that was not running stays stopped"
    );
    for container in [&web, &tool] {
        let on_network = p.inspect(
            container,
            &format!(
                "{{{{with index .NetworkSettings.Networks \"{network}\"}}}}{{{{.NetworkID}}}} {{{{index .Aliases 0}}}}{{{{end}}}}"
            ),
        );
        // The engine fills the network id in only while a container runs.
        let network_id = if container == &web {
            docker_ok(&["network", "inspect", "--format", "{{.Id}}", &network])
        } else {
            String::new()
        };
        let service = if container == &web { "web" } else { "tool" };
        assert_eq!(
            on_network,
            format!("{network_id} {service}").trim(),
            "{container}"
        );
    }
    assert_eq!(
        p.inspect(&visitor, "{{.State.Running}} {{.State.StartedAt}}"),
        format!("true {started_at}"),
        "a container mcpm does not own is not restarted"
    );
    assert_eq!(
        p.inspect(
            &visitor,
            &format!("{{{{(index .NetworkSettings.Networks \"{network}\").NetworkID}}}}")
        ),
        docker_ok(&["network", "inspect", "--format", "{{.Id}}", &network]),
        "and it is on the new network"
    );
    let address = p.inspect(
        &web,
        &format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}"),
    );
    assert!(
        address.starts_with(&new[..new.len() - 4]),
        "{address} is not in {new}"
    );

    // Converged: the next deploy does nothing.
    let out = p.mcpm(&["deploy"]).assert().success().get_output().clone();
    assert!(!stdout(&out).contains("recreate"), "{}", stdout(&out));
}

#[test]
fn docker_compose_and_mcpm_each_recreate_the_others_container_once() {
    let Some(env) = engine() else { return };
    if !std::process::Command::new("docker-compose")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("skipped: docker-compose is not installed");
        return;
    }
    let p = Project::new("handover");
    let mut seen = VolumeGuard(BTreeSet::new());
    // docker-compose v1 reads no `name:`: the project comes from -p for both.
    std::fs::write(
        p.file(),
        format!(
            "services:\n  app:\n{}    volumes: [/data]\n",
            sleeper(&env.image, "")
        ),
    )
    .unwrap();
    let mcpm = || {
        let mut cmd = p.mcpm(&["deploy", "-p", &p.name]);
        let out = cmd.assert().success().get_output().clone();
        stdout(&out)
    };
    let compose_up = || {
        let out = std::process::Command::new("docker-compose")
            .args(["-p", &p.name, "-f"])
            .arg(p.file())
            .args(["up", "-d"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let container = || {
        let containers = p.containers();
        assert_eq!(containers.len(), 1, "{containers:?}");
        containers.into_iter().next().unwrap()
    };
    let label =
        |name: &str, key: &str| p.inspect(name, &format!("{{{{index .Config.Labels \"{key}\"}}}}"));

    mcpm();
    let (name, _) = container();
    let ours = label(&name, "io.mcpm.config-hash");
    assert_eq!(ours.len(), 64, "mcpm labels its own hash");
    docker_ok(&["exec", &name, "sh", "-c", "echo kept > /data/file"]);
    for (_, volume) in anonymous_volumes(&name) {
        seen.0.insert(volume);
    }
    let again = mcpm();
    assert!(!again.contains("recreate"), "{again}");

    // docker-compose v1 cannot compute mcpm's hash (nor mcpm its): it
    // recreates mcpm's container once, then leaves its own alone.
    let first = compose_up();
    assert!(first.contains("Recreating"), "{first}");
    let (name, _) = container();
    assert_eq!(
        label(&name, "io.mcpm.config-hash"),
        "",
        "compose does not write it"
    );
    assert!(compose_up().contains("up-to-date"));

    // mcpm recreates compose's container once, keeping the volume, then
    // leaves its own alone.
    let taken_over = mcpm();
    assert!(
        taken_over.contains("no io.mcpm.config-hash label"),
        "{taken_over}"
    );
    let (name, _) = container();
    for (_, volume) in anonymous_volumes(&name) {
        seen.0.insert(volume);
    }
    assert_eq!(label(&name, "io.mcpm.config-hash"), ours);
    assert_eq!(docker_ok(&["exec", &name, "cat", "/data/file"]), "kept");
    let settled = mcpm();
    assert!(!settled.contains("recreate"), "{settled}");
    p.mcpm(&["down", "-p", &p.name, "--volumes"])
        .assert()
        .success();
}

#[test]
fn a_volume_mounted_by_name_is_never_removed_as_anonymous() {
    let Some(env) = engine() else { return };
    let p = Project::new("extvol");
    // `docker volume create` with no name makes a 64-hex name, like an
    // anonymous volume's; the user mounts it as an external volume.
    let external = docker_ok(&["volume", "create"]);
    let _guard = VolumeGuard(BTreeSet::from([external.clone()]));
    docker_ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{external}:/keep"),
        &env.image,
        "sh",
        "-c",
        "echo precious > /keep/file",
    ]);
    let service = |mount: &str| {
        format!(
            "services:\n  app:\n{}    network_mode: none\n{mount}volumes:\n  keep:\n    external: true\n    name: {external}\n",
            sleeper(&env.image, "")
        )
    };
    p.write(&service("    volumes: ['keep:/keep']\n"));
    p.mcpm(&["deploy"]).assert().success();
    // The service stops mounting it: recreated, and the volume stays.
    p.write(&service("    environment: {X: '1'}\n"));
    p.mcpm(&["deploy"]).assert().success();
    assert!(volume_exists(&external), "an external volume was removed");
    // Mounted again, then `down --volumes`: external volumes are not the project's.
    p.write(&service("    volumes: ['keep:/keep']\n"));
    p.mcpm(&["deploy"]).assert().success();
    p.mcpm(&["down", "--volumes"]).assert().success();
    assert!(
        volume_exists(&external),
        "down --volumes removed an external volume"
    );
    let out = docker_ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{external}:/keep"),
        &env.image,
        "cat",
        "/keep/file",
    ]);
    assert_eq!(out, "precious");
}
