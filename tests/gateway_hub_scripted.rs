//! The hub with scripted in-process servers, where a real one cannot show
//! the rule: a server that refuses a second `initialize` (like Go servers),
//! attach failures and idle stops on a paused clock, memory with many
//! servers and sessions. No Python needed.
use std::sync::Arc;
use std::time::Duration;

use mcpm::gateway::hub::Hub;
use mcpm::gateway::{GatewayServer, Sessions, Target};
use mcpm::profile::{Sharing, Strategy};
use serde_json::json;
use tokio::io::BufReader;

mod gateway_support;
use gateway_support::*;

/// A server that, like the Go SDK's, refuses a second `initialize` on one
/// instance; every attach reaches the same instance (as `docker attach`
/// to a running container does).
struct OneInitialize {
    /// `initialize`s seen, per server (each server is one instance).
    initializes:
        std::sync::Mutex<std::collections::HashMap<String, Arc<std::sync::atomic::AtomicUsize>>>,
}

impl mcpm::gateway::Launcher for OneInitialize {
    fn attach<'a>(
        &'a self,
        server: &'a GatewayServer,
    ) -> futures_util::future::BoxFuture<'a, mcpm::error::Result<mcpm::gateway::Attached>> {
        use mcpm::gateway::message::{LineReader, MAX_LINE, write_message};
        use std::sync::atomic::Ordering;
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        let initializes = self
            .initializes
            .lock()
            .unwrap()
            .entry(server.name.clone())
            .or_default()
            .clone();
        tokio::spawn(async move {
            let (read, mut write) = tokio::io::split(theirs);
            let mut lines = LineReader::new(BufReader::new(read), MAX_LINE);
            while let Ok(Some(Ok(msg))) = lines.next().await {
                let answer = match msg["method"].as_str() {
                    Some("initialize") if initializes.fetch_add(1, Ordering::SeqCst) > 0 => {
                        json!({"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32600, "message": "already initialized"}})
                    }
                    Some("initialize") => json!({"jsonrpc": "2.0", "id": msg["id"], "result": {
                        "protocolVersion": "2025-06-18", "capabilities": {}, "serverInfo": {"name": "go-like", "version": "1"}
                    }}),
                    Some("tools/list") => {
                        json!({"jsonrpc": "2.0", "id": msg["id"], "result": {"tools": []}})
                    }
                    _ => continue,
                };
                if write_message(&mut write, &answer).await.is_err() {
                    return;
                }
            }
        });
        let (read, write) = tokio::io::split(ours);
        Box::pin(async move {
            Ok(mcpm::gateway::Attached {
                stdio: mcpm::gateway::Stdio {
                    input: Box::pin(write),
                    output: Box::pin(read),
                },
                instance: "container 1, started 12:00".into(),
            })
        })
    }

    fn run_session<'a>(
        &'a self,
        _server: &'a GatewayServer,
    ) -> futures_util::future::BoxFuture<'a, mcpm::error::Result<mcpm::gateway::SessionInstance>>
    {
        Box::pin(async { Err(mcpm::error::Error::runtime("not used")) })
    }

    fn end_session<'a>(
        &'a self,
        _id: &'a str,
    ) -> futures_util::future::BoxFuture<'a, mcpm::error::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn stop<'a>(
        &'a self,
        _server: &'a GatewayServer,
    ) -> futures_util::future::BoxFuture<'a, mcpm::error::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn reap_orphans(&self) -> futures_util::future::BoxFuture<'_, mcpm::error::Result<usize>> {
        Box::pin(async { Ok(0) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_gateway_does_not_initialize_the_same_instance_twice() {
    let launcher = Arc::new(OneInitialize {
        initializes: Default::default(),
    });
    let dir = tempfile::tempdir().unwrap();
    let servers = || {
        vec![server(
            "go",
            Strategy::PreWarmed,
            Sharing::Shared,
            Duration::from_secs(600),
        )]
    };
    let list = || request(json!("l"), "tools/list", json!({}));
    // The first gateway initializes the server and keeps the result.
    let first = Hub::start("test", servers(), launcher.clone(), Some(dir.path().into()))
        .await
        .unwrap();
    let mut session = first.open(Target::Server("go".into())).await.unwrap();
    let answer = ask(&mut session, init(json!(0))).await;
    assert_eq!(
        answer["result"]["serverInfo"]["name"], "go-like",
        "{answer}"
    );
    assert_eq!(
        ask(&mut session, list()).await["result"],
        json!({"tools": []})
    );
    drop(session);
    drop(first);
    // The next gateway attaches to the same instance: no second initialize.
    let second = Hub::start("test", servers(), launcher.clone(), Some(dir.path().into()))
        .await
        .unwrap();
    let mut session = second.open(Target::Server("go".into())).await.unwrap();
    let answer = ask(&mut session, init(json!(0))).await;
    assert_eq!(
        answer["result"]["serverInfo"]["name"], "go-like",
        "{answer}"
    );
    assert_eq!(
        ask(&mut session, list()).await["result"],
        json!({"tools": []})
    );
    let count = launcher.initializes.lock().unwrap()["go"].clone();
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
    // Without the kept result, the server would have refused the gateway.
    let forgetful = Hub::start("test", servers(), launcher, None).await.unwrap();
    let mut session = forgetful.open(Target::Server("go".into())).await.unwrap();
    let answer = ask(&mut session, init(json!(0))).await;
    assert_eq!(
        answer["error"]["message"], "already initialized",
        "{answer}"
    );
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Memory with 20 shared servers and 50 sessions (issue 8 asks < 30 MB for
/// the gateway). The servers here are in-process fakes, so the figure is
/// the test process's whole RSS, an upper bound. Run on demand:
/// `cargo test --release --test gateway_hub_scripted -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn twenty_servers_and_fifty_sessions_stay_small() {
    let before = rss_kib();
    let launcher = Arc::new(OneInitialize {
        initializes: Default::default(),
    });
    let servers = (0..20)
        .map(|i| {
            server(
                &format!("s{i}"),
                Strategy::PreWarmed,
                Sharing::Shared,
                Duration::from_secs(600),
            )
        })
        .collect();
    let hub = Hub::start("test", servers, launcher, None).await.unwrap();
    let mut sessions = Vec::new();
    for i in 0..50 {
        let mut session = hub
            .open(Target::Server(format!("s{}", i % 20)))
            .await
            .unwrap();
        ask(&mut session, init(json!(0))).await;
        let list = request(json!(1), "tools/list", json!({}));
        assert_eq!(
            ask(&mut session, list).await["result"],
            json!({"tools": []})
        );
        sessions.push(session);
    }
    let after = rss_kib();
    println!(
        "RSS with 20 servers and 50 sessions: {} KiB (before the hub: {before} KiB, +{} KiB)",
        after,
        after.saturating_sub(before)
    );
    assert!(after < 30 * 1024, "{after} KiB");
    assert_eq!(
        hub.view().servers.iter().map(|s| s.sessions).sum::<usize>(),
        50
    );
}

/// A launcher whose attach fails or answers like a minimal server, and
/// that records when (on tokio's clock) it was asked to attach and stop.
#[derive(Default)]
struct Scripted {
    fail: bool,
    attaches: std::sync::Mutex<Vec<tokio::time::Instant>>,
    stops: std::sync::Mutex<Vec<tokio::time::Instant>>,
}

impl mcpm::gateway::Launcher for Scripted {
    fn attach<'a>(
        &'a self,
        _server: &'a GatewayServer,
    ) -> futures_util::future::BoxFuture<'a, mcpm::error::Result<mcpm::gateway::Attached>> {
        use mcpm::gateway::message::{LineReader, MAX_LINE, write_message};
        self.attaches
            .lock()
            .unwrap()
            .push(tokio::time::Instant::now());
        if self.fail {
            return Box::pin(async { Err(mcpm::error::Error::runtime("no such container")) });
        }
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            let (read, mut write) = tokio::io::split(theirs);
            let mut lines = LineReader::new(BufReader::new(read), MAX_LINE);
            while let Ok(Some(Ok(msg))) = lines.next().await {
                if msg.get("id").is_none() {
                    continue;
                }
                let answer = json!({"jsonrpc": "2.0", "id": msg["id"], "result": {"serverInfo": {"name": "scripted"}}});
                if write_message(&mut write, &answer).await.is_err() {
                    return;
                }
            }
        });
        let (read, write) = tokio::io::split(ours);
        let run = self.attaches.lock().unwrap().len();
        Box::pin(async move {
            Ok(mcpm::gateway::Attached {
                stdio: mcpm::gateway::Stdio {
                    input: Box::pin(write),
                    output: Box::pin(read),
                },
                instance: format!("run {run}"),
            })
        })
    }

    fn run_session<'a>(
        &'a self,
        _server: &'a GatewayServer,
    ) -> futures_util::future::BoxFuture<'a, mcpm::error::Result<mcpm::gateway::SessionInstance>>
    {
        Box::pin(async { Err(mcpm::error::Error::runtime("not used")) })
    }

    fn end_session<'a>(
        &'a self,
        _id: &'a str,
    ) -> futures_util::future::BoxFuture<'a, mcpm::error::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn stop<'a>(
        &'a self,
        _server: &'a GatewayServer,
    ) -> futures_util::future::BoxFuture<'a, mcpm::error::Result<()>> {
        self.stops.lock().unwrap().push(tokio::time::Instant::now());
        Box::pin(async { Ok(()) })
    }

    fn reap_orphans(&self) -> futures_util::future::BoxFuture<'_, mcpm::error::Result<usize>> {
        Box::pin(async { Ok(0) })
    }
}

#[tokio::test(start_paused = true)]
async fn failed_attaches_are_retried_from_half_a_second_doubling_to_thirty() {
    let launcher = Arc::new(Scripted {
        fail: true,
        ..Default::default()
    });
    let servers = vec![server(
        "down",
        Strategy::AlwaysOn,
        Sharing::Shared,
        Duration::from_secs(600),
    )];
    let _hub = Hub::start("test", servers, launcher.clone(), None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(200)).await;
    let attaches = launcher.attaches.lock().unwrap().clone();
    let gaps: Vec<u64> = attaches
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis() as u64)
        .collect();
    assert_eq!(
        &gaps[..7],
        &[500, 1000, 2000, 4000, 8000, 16000, 30000],
        "{gaps:?}"
    );
    assert!(gaps[7..].iter().all(|gap| *gap == 30000), "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn an_on_demand_server_is_stopped_exactly_idle_timeout_after_its_last_session() {
    let launcher = Arc::new(Scripted::default());
    let idle = Duration::from_secs(600);
    let servers = vec![server("lazy", Strategy::OnDemand, Sharing::Shared, idle)];
    let hub = Hub::start("test", servers, launcher.clone(), None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(
        launcher.attaches.lock().unwrap().is_empty(),
        "on-demand: not before a session"
    );
    let mut first = hub.open(Target::Server("lazy".into())).await.unwrap();
    let second = hub.open(Target::Server("lazy".into())).await.unwrap();
    assert_eq!(
        ask(&mut first, init(json!(1))).await["result"]["serverInfo"]["name"],
        "scripted"
    );
    drop(second);
    // One session still open: no stop however long it stays.
    tokio::time::sleep(idle * 3).await;
    assert!(launcher.stops.lock().unwrap().is_empty());
    drop(first);
    // Let the hub see the end, then note when it did.
    tokio::task::yield_now().await;
    wait_for("the session to end", || hub.view().servers[0].sessions == 0).await;
    let ended = tokio::time::Instant::now();
    tokio::time::sleep(idle - Duration::from_secs(1)).await;
    assert!(launcher.stops.lock().unwrap().is_empty(), "stopped early");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stops = launcher.stops.lock().unwrap().clone();
    assert_eq!(stops.len(), 1);
    let after = stops[0] - ended;
    assert!(
        after >= idle - Duration::from_millis(50) && after <= idle,
        "{after:?}"
    );
    assert!(!hub.view().servers[0].attached);
    assert!(hub.view().servers[0].idle_seconds.unwrap() >= idle.as_secs());
    // The next session starts it again.
    let mut again = hub.open(Target::Server("lazy".into())).await.unwrap();
    assert_eq!(
        ask(&mut again, init(json!(2))).await["result"]["serverInfo"]["name"],
        "scripted"
    );
    assert_eq!(launcher.attaches.lock().unwrap().len(), 2);
}
