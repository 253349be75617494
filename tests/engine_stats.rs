//! `mcpm docker stats` and `status --stats` against the real Docker Engine
//! (`scripts/test-engine.sh`; skipped without it, failing under `CI`): the
//! figures of busybox services with memory and pids limits, `--alert` on one
//! that holds 40 MB, streaming JSON ended by SIGINT.
#[path = "engine/support.rs"]
#[allow(dead_code)] // the helpers other engine tests use
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use support::{Project, engine, stderr, stdout};

const MIB: u64 = 1024 * 1024;

/// `idle` sleeps under a 64 MiB and 32-pid limit; `hog` fills 40 MiB of
/// `/dev/shm` (tmpfs pages count against the container's memory and are not
/// page cache the kernel can drop) under a 64 MiB limit; `done` exits at once.
fn write_project(p: &Project, image: &str) {
    p.write(&format!(
        "services:
  idle:
    image: {image}
    command: [sleep, \"3600\"]
    init: true
    mem_limit: 64m
    pids_limit: 32
  hog:
    image: {image}
    command: [sh, -c, \"dd if=/dev/zero of=/dev/shm/fill bs=1048576 count=40 && exec sleep 3600\"]
    init: true
    mem_limit: 64m
    pids_limit: 16
  done:
    image: {image}
    command: [sh, -c, \"exit 0\"]
"
    ));
    let out = p.mcpm(&["deploy"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}\n{}", stdout(out), stderr(out)))
}

fn row<'a>(report: &'a Value, service: &str) -> &'a Value {
    report["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["service"] == service)
        .unwrap_or_else(|| panic!("no row for {service}: {report:#}"))
}

/// Memory within its limit, pids within theirs, CPU not negative.
fn assert_plausible(row: &Value, limit: u64, pids_limit: u64) {
    assert_eq!(row["running"], true, "{row:#}");
    let used = row["memory"]["used_bytes"].as_u64().unwrap();
    assert!(used > 0 && used <= limit, "{row:#}");
    assert_eq!(
        row["memory"]["limit_bytes"].as_u64(),
        Some(limit),
        "{row:#}"
    );
    let pids = row["pids"]["current"].as_u64().unwrap();
    assert!(pids >= 1 && pids <= pids_limit, "{row:#}");
    assert_eq!(row["pids"]["limit"].as_u64(), Some(pids_limit), "{row:#}");
    assert!(row["cpu_percent"].as_f64().unwrap() >= 0.0, "{row:#}");
    assert!(row["network"]["rx_bytes"].as_u64().is_some(), "{row:#}");
    assert!(row["block_io"]["read_bytes"].as_u64().is_some(), "{row:#}");
}

/// The hog's memory as `stats` reads it, once `dd` has filled its 40 MiB.
fn wait_for_the_hog(p: &Project) {
    for _ in 0..30 {
        let out = p
            .mcpm(&["stats", "hog", "--no-stream", "--json"])
            .output()
            .unwrap();
        let used = json(&out)["containers"][0]["memory"]["used_bytes"].as_u64();
        if used.is_some_and(|u| u >= 40 * MIB) {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("the hog never held 40 MiB");
}

#[test]
fn figures_alerts_and_status_columns() {
    let Some(env) = engine() else { return };
    let p = Project::new("stats-figures");
    write_project(&p, &env.image);
    wait_for_the_hog(&p);

    let out = p
        .mcpm(&["stats", "--no-stream", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["project"], p.name.as_str());
    assert_eq!(report["alerts"], serde_json::json!([]));
    assert_plausible(row(&report, "idle"), 64 * MIB, 32);
    assert_plausible(row(&report, "hog"), 64 * MIB, 16);
    let done = row(&report, "done");
    assert_eq!(
        (done["state"].as_str(), done["running"].as_bool()),
        (Some("exited"), Some(false))
    );
    assert!(
        done["memory"].is_null() && done["cpu_percent"].is_null(),
        "{done:#}"
    );

    // The table: the docker columns, memory in binary units, `-` for `done`.
    let out = p.mcpm(&["stats", "--no-stream"]).output().unwrap();
    let text = stdout(&out);
    for column in [
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ] {
        assert!(text.contains(column), "{column}: {text}");
    }
    let hog_line = text.lines().find(|l| l.contains("-hog-1")).unwrap();
    assert!(
        hog_line.contains("MiB / 64MiB") && hog_line.contains(" / 16"),
        "{text}"
    );
    let done_line = text.lines().find(|l| l.contains("-done-1")).unwrap();
    assert!(
        done_line.contains("exited") && !done_line.contains("MiB"),
        "{text}"
    );

    // --alert: the hog's 40 of 64 MiB crosses 50%; the idle one is named in
    // neither the alerts nor on stderr.
    let out = p
        .mcpm(&["stats", "--no-stream", "--json", "--alert", "memory=50%"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let alerts = json(&out)["alerts"].clone();
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["service"], "hog");
    assert_eq!(alerts[0]["metric"], "memory");
    assert_eq!(alerts[0]["threshold"], 50.0);
    assert!(alerts[0]["value"].as_f64().unwrap() >= 50.0);
    let hog = format!("{}-hog-1: memory ", p.name);
    assert!(stderr(&out).contains(&hog), "{}", stderr(&out));
    assert!(!stderr(&out).contains("idle"), "{}", stderr(&out));
    // The same without --json: exit 5, the crossed cell marked.
    let out = p
        .mcpm(&["stats", "--no-stream", "--alert", "memory=50%"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stdout(&out).contains("% !"), "{}", stdout(&out));

    let out = p
        .mcpm(&[
            "stats",
            "idle",
            "--no-stream",
            "--alert",
            "memory=99%,cpu=95%",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !stdout(&out).contains("-hog-1"),
        "only the named service: {}",
        stdout(&out)
    );

    // Usage errors: exit 2, saying what is wrong.
    let out = p.mcpm(&["stats", "nope", "--no-stream"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no service `nope`") && stderr(&out).contains("idle, hog, done"),
        "{}",
        stderr(&out)
    );
    let out = p
        .mcpm(&["stats", "--no-stream", "--alert", "memory=lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a percentage"),
        "{}",
        stderr(&out)
    );

    // status --stats: MEM and CPU % columns, `resources` in the JSON.
    let out = p.mcpm(&["status", "--stats"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let header = text.lines().find(|l| l.contains("SERVER")).unwrap();
    assert!(header.contains("MEM") && header.contains("CPU %"), "{text}");
    let hog_line = text.lines().find(|l| l.contains("hog")).unwrap();
    assert!(hog_line.contains("MiB / 64MiB"), "{text}");
    let out = p.mcpm(&["status", "--stats", "--json"]).output().unwrap();
    let status = json(&out);
    let server = |name: &str| {
        status["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone()
    };
    let hog = server("hog");
    let used = hog["resources"]["memory"]["used_bytes"].as_u64().unwrap();
    assert!((40 * MIB..=64 * MIB).contains(&used), "{hog:#}");
    assert!(hog["resources"]["cpu_percent"].as_f64().unwrap() >= 0.0);
    assert_eq!(hog["container_state"], "running", "the old fields stay");
    assert!(server("done").get("resources").is_none());
    // Without --stats the schema is as before.
    let out = p.mcpm(&["status", "--json"]).output().unwrap();
    assert!(json(&out)["servers"][0].get("resources").is_none());
}

#[test]
fn streaming_json_follows_containers_and_ends_on_sigint() {
    let Some(env) = engine() else { return };
    let p = Project::new("stats-stream");
    write_project(&p, &env.image);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("mcpm"))
        .current_dir(p.dir.path())
        .env_remove("DOCKER_HOST")
        .args(["docker", "stats", "--json", "--compose-file"])
        .arg(p.file())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, received) = mpsc::channel();
    let reader = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let next = || {
        let line = received
            .recv_timeout(Duration::from_secs(20))
            .expect("a JSON line within 20 s");
        serde_json::from_str::<Value>(&line).unwrap_or_else(|err| panic!("{err}: {line}"))
    };
    for _ in 0..2 {
        let report = next();
        assert_plausible(row(&report, "idle"), 64 * MIB, 32);
        assert_eq!(row(&report, "done")["running"], false);
    }
    // A container that stops while watched shows as not running.
    let idle = format!("{}-idle-1", p.name);
    support::docker_ok(&["stop", "-t", "1", &idle]);
    let stopped = (0..10).any(|_| row(&next(), "idle")["running"] == false);
    assert!(stopped, "the stopped container is shown as not running");

    // SIGINT ends it cleanly.
    // SAFETY: kill(2) on the pid of a child this test started and still owns.
    let sent = unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(sent, 0);
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("stats did not end within 10 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut errors = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut errors).unwrap();
    assert_eq!(status.code(), Some(0), "{errors}");
}
