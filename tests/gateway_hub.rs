//! The hub against the real `mcp-server-time` (PyPI), run as local
//! processes by `ProcessLauncher`: sessions, strategies, crashes, the
//! persisted `initialize`. Needs `MCPM_TEST_PYTHON` (see `gateway_support`).
use std::sync::Arc;
use std::time::Duration;

use mcpm::error::ExitStatus;
use mcpm::gateway::hub::Hub;
use mcpm::gateway::{Sessions, Target};
use mcpm::profile::{Sharing, Strategy};
use serde_json::{Value, json};

mod gateway_support;
use gateway_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_sessions_with_the_same_ids_get_their_own_answers() {
    let Some(python) = python() else { return };
    let launcher = launcher(&python, &["time"]);
    let servers = vec![server(
        "time",
        Strategy::PreWarmed,
        Sharing::Shared,
        Duration::from_secs(600),
    )];
    let hub = hub(&launcher, servers).await;
    let mut tasks = Vec::new();
    for zone in ZONES {
        let hub = hub.clone();
        tasks.push(tokio::spawn(async move {
            let mut session = hub.open(Target::Server("time".into())).await.unwrap();
            handshake(&mut session).await;
            // Every session uses ids 1..=5, all in flight at once.
            for id in 1..=5 {
                session
                    .to_gateway
                    .send(time_call(json!(id), zone))
                    .await
                    .unwrap();
            }
            let mut seen = Vec::new();
            while seen.len() < 5 {
                let msg = tokio::time::timeout(PATIENCE, session.from_gateway.recv())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(zone_of(&msg), zone, "an answer crossed sessions: {msg}");
                seen.push(msg["id"].as_u64().unwrap());
            }
            seen.sort();
            assert_eq!(seen, vec![1, 2, 3, 4, 5]);
            session
        }));
    }
    let mut sessions = Vec::new();
    for task in tasks {
        sessions.push(task.await.unwrap());
    }
    let view = hub.view();
    assert_eq!(view.servers[0].sessions, 8);
    assert!(view.servers[0].attached);
    // One server process served them all.
    assert!(launcher.pid("time").is_some());
    drop(sessions);
    wait_for("the sessions to end", || {
        hub.view().servers[0].sessions == 0
    })
    .await;
    // Pre-warmed: kept attached without sessions.
    assert!(hub.view().servers[0].attached);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_read_does_not_stall_the_others() {
    let Some(python) = python() else { return };
    let launcher = launcher(&python, &["time"]);
    let servers = vec![server(
        "time",
        Strategy::PreWarmed,
        Sharing::Shared,
        Duration::from_secs(600),
    )];
    let hub = hub(&launcher, servers).await;
    let mut slow = hub.open(Target::Server("time".into())).await.unwrap();
    handshake(&mut slow).await;
    // More answers than the session's channel holds, none of them read yet.
    const MANY: u64 = 600;
    for id in 1..=MANY {
        slow.to_gateway
            .send(time_call(json!(id), "Asia/Tokyo"))
            .await
            .unwrap();
    }
    let mut quick = hub.open(Target::Server("time".into())).await.unwrap();
    handshake(&mut quick).await;
    let answer = ask(&mut quick, time_call(json!(1), "Europe/London")).await;
    assert_eq!(zone_of(&answer), "Europe/London");
    // The slow one gets every answer when it reads (the server answers
    // concurrently, so in any order).
    let mut seen = std::collections::BTreeSet::new();
    for _ in 1..=MANY {
        let msg = tokio::time::timeout(PATIENCE, slow.from_gateway.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(zone_of(&msg), "Asia/Tokyo");
        assert!(seen.insert(msg["id"].as_u64().unwrap()), "twice: {msg}");
    }
    assert_eq!(seen, (1..=MANY).collect());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_on_demand_server_stops_when_idle_and_starts_again_for_the_next_session() {
    let Some(python) = python() else { return };
    let launcher = launcher(&python, &["time"]);
    let idle = Duration::from_millis(300);
    let hub = hub(
        &launcher,
        vec![server("time", Strategy::OnDemand, Sharing::Shared, idle)],
    )
    .await;
    assert!(
        !hub.view().servers[0].attached,
        "on-demand: nothing runs before a session"
    );
    assert!(launcher.pid("time").is_none());
    let mut session = hub.open(Target::Server("time".into())).await.unwrap();
    handshake(&mut session).await;
    let first_pid = launcher.pid("time").unwrap();
    assert_eq!(
        zone_of(&ask(&mut session, time_call(json!(1), "Asia/Tokyo")).await),
        "Asia/Tokyo"
    );
    drop(session);
    wait_for("the idle stop", || launcher.pid("time").is_none()).await;
    let view = hub.view();
    assert_eq!(view.servers[0].sessions, 0);
    assert!(!view.servers[0].attached);
    assert!(view.servers[0].idle_seconds.is_some());
    // The next session starts it again; the new process is initialized anew.
    let mut session = hub.open(Target::Server("time".into())).await.unwrap();
    let second_pid = launcher.pid("time").unwrap();
    assert_ne!(first_pid, second_pid);
    handshake(&mut session).await;
    let answer = ask(&mut session, time_call(json!(2), "Europe/Berlin")).await;
    assert_eq!(zone_of(&answer), "Europe/Berlin");
    // While a session is open, it is not stopped.
    tokio::time::sleep(idle * 3).await;
    assert_eq!(launcher.pid("time"), Some(second_pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_fails_requests_in_flight_and_is_reattached() {
    let Some(python) = python() else { return };
    let launcher = launcher(&python, &["time"]);
    let servers = vec![server(
        "time",
        Strategy::AlwaysOn,
        Sharing::Shared,
        Duration::from_secs(600),
    )];
    let hub = hub(&launcher, servers).await;
    // Always-on: attached without any session.
    wait_for("the always-on attach", || hub.view().servers[0].attached).await;
    let mut session = hub.open(Target::Server("time".into())).await.unwrap();
    handshake(&mut session).await;
    let pid = launcher.pid("time").unwrap();
    // Frozen, the server cannot answer: the request stays in flight.
    signal(pid, "-STOP");
    session
        .to_gateway
        .send(time_call(json!("lost"), "Asia/Tokyo"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    signal(pid, "-KILL");
    let error = answer(&mut session, &json!("lost")).await;
    assert_eq!(error["error"]["code"], -32603, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`time`"),
        "{error}"
    );
    // After the reattach (0.5 s), the same session works on the new process.
    let answer = ask(&mut session, time_call(json!("again"), "Asia/Kolkata")).await;
    assert_eq!(zone_of(&answer), "Asia/Kolkata");
    assert_ne!(launcher.pid("time"), Some(pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_dropped_mid_request_leaves_nothing_stuck() {
    let Some(python) = python() else { return };
    let launcher = launcher(&python, &["time", "solo"]);
    let servers = vec![
        server(
            "time",
            Strategy::PreWarmed,
            Sharing::Shared,
            Duration::from_secs(600),
        ),
        server(
            "solo",
            Strategy::OnDemand,
            Sharing::Session,
            Duration::from_secs(600),
        ),
    ];
    let hub = hub(&launcher, servers).await;
    let mut session = hub.open(Target::Server("time".into())).await.unwrap();
    handshake(&mut session).await;
    let pid = launcher.pid("time").unwrap();
    signal(pid, "-STOP");
    session
        .to_gateway
        .send(time_call(json!(1), "Asia/Tokyo"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(session);
    signal(pid, "-CONT");
    wait_for("the session to end", || hub.view().servers[0].sessions == 0).await;
    // The server is still usable by the next client, same process.
    let mut next = hub.open(Target::Server("time".into())).await.unwrap();
    handshake(&mut next).await;
    assert_eq!(
        zone_of(&ask(&mut next, time_call(json!(1), "Europe/London")).await),
        "Europe/London"
    );
    assert_eq!(launcher.pid("time"), Some(pid));

    // A session server: its own process, gone with the session.
    let mut solo = hub.open(Target::Server("solo".into())).await.unwrap();
    handshake(&mut solo).await;
    assert_eq!(launcher.session_count(), 1);
    let view = hub.view();
    assert_eq!(
        (view.servers[1].sessions, view.servers[1].attached),
        (1, true)
    );
    solo.to_gateway
        .send(time_call(json!(1), "Asia/Tokyo"))
        .await
        .unwrap();
    drop(solo);
    wait_for("the one-off instance to end", || {
        launcher.session_count() == 0
    })
    .await;
    wait_for("the view to catch up", || {
        hub.view().servers[1].sessions == 0
    })
    .await;
    assert!(!hub.view().servers[1].attached);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modern_client_without_initialize_is_served_by_a_handshake_era_server() {
    let Some(python) = python() else { return };
    let launcher = launcher(&python, &["time", "solo"]);
    let servers = vec![
        server(
            "time",
            Strategy::PreWarmed,
            Sharing::Shared,
            Duration::from_secs(600),
        ),
        server(
            "solo",
            Strategy::OnDemand,
            Sharing::Session,
            Duration::from_secs(600),
        ),
    ];
    let hub = hub(&launcher, servers).await;
    for name in ["time", "solo"] {
        let mut session = hub.open(Target::Server(name.into())).await.unwrap();
        let meta = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "modern", "version": "1"},
        });
        let discover = ask(
            &mut session,
            request(json!("d"), "server/discover", json!({"_meta": meta})),
        )
        .await;
        let result = &discover["result"];
        assert_eq!(
            result["supportedVersions"],
            json!(["2026-07-28"]),
            "{discover}"
        );
        assert_eq!(
            result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            "mcp-time"
        );
        let mut call = time_call(json!(7), "Asia/Tokyo");
        call["params"]["_meta"] = meta.clone();
        let answer = ask(&mut session, call).await;
        assert_eq!(zone_of(&answer), "Asia/Tokyo", "{answer}");
        assert_eq!(answer["result"]["resultType"], "complete");
        // A legacy client on the same shared server still gets its handshake.
        if name == "time" {
            let mut legacy = hub.open(Target::Server(name.into())).await.unwrap();
            handshake(&mut legacy).await;
            let answer = ask(&mut legacy, time_call(json!(7), "Europe/Berlin")).await;
            assert_eq!(zone_of(&answer), "Europe/Berlin");
            assert!(answer["result"].get("resultType").is_none());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_initialize_result_is_kept_on_disk_and_unknown_servers_are_named() {
    let Some(python) = python() else { return };
    let launcher = launcher(&python, &["time"]);
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("init");
    let servers = vec![server(
        "time",
        Strategy::PreWarmed,
        Sharing::Shared,
        Duration::from_secs(600),
    )];
    let hub = Hub::start("test", servers, launcher.clone(), Some(cache_dir.clone()))
        .await
        .unwrap();
    let mut session = hub.open(Target::Server("time".into())).await.unwrap();
    handshake(&mut session).await;
    let file = cache_dir.join("time.json");
    wait_for("the cache file", || file.exists()).await;
    let cache: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(cache["params"]["clientInfo"]["name"], "hub-test");
    assert_eq!(cache["result"]["serverInfo"]["name"], "mcp-time");
    assert!(cache["instance"].as_str().unwrap().contains("pid"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Two services claiming one server name: refused at start.
    let mut twin = server(
        "time",
        Strategy::PreWarmed,
        Sharing::Shared,
        Duration::from_secs(1),
    );
    twin.service = "time-2".into();
    let both = vec![
        server(
            "time",
            Strategy::PreWarmed,
            Sharing::Shared,
            Duration::from_secs(1),
        ),
        twin,
    ];
    let err = Hub::start("test", both, launcher.clone(), None)
        .await
        .err()
        .unwrap();
    assert_eq!(err.status, ExitStatus::Invalid);
    assert!(err.message.contains("`time-2`"), "{}", err.message);

    let err = hub.open(Target::Server("nope".into())).await.err().unwrap();
    assert_eq!(err.status, ExitStatus::Invalid);
    assert!(err.message.contains("`nope`"), "{}", err.message);
    assert!(err.hint.unwrap().contains("time"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_cannot_start_fails_the_open_and_leaves_no_session() {
    let launcher = Arc::new(
        mcpm::gateway::process::ProcessLauncher::new()
            .command("broken", vec!["/nonexistent/mcp-server".into()])
            .command("solo", vec!["/nonexistent/mcp-server".into()]),
    );
    let servers = vec![
        server(
            "broken",
            Strategy::OnDemand,
            Sharing::Shared,
            Duration::from_secs(600),
        ),
        server(
            "solo",
            Strategy::OnDemand,
            Sharing::Session,
            Duration::from_secs(600),
        ),
    ];
    let hub = Hub::start("test", servers, launcher, None).await.unwrap();
    for name in ["broken", "solo"] {
        let err = hub.open(Target::Server(name.into())).await.err().unwrap();
        assert_eq!(err.status, ExitStatus::Runtime);
        assert!(
            err.message.contains(&format!("`{name}`")),
            "{}",
            err.message
        );
        // Tried again for the next session, not stuck in a backoff.
        let again = hub.open(Target::Server(name.into())).await.err().unwrap();
        assert_eq!(again.message, err.message);
    }
    for view in hub.view().servers {
        assert_eq!((view.sessions, view.attached), (0, false), "{view:?}");
    }
}
