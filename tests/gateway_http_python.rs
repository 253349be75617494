//! The official Python SDK's streamable-HTTP client (`mcp`, through
//! `tests/mcp-clients/http_client.py`) against the gateway's HTTP front end
//! over a fake gateway: one server and `/mcp`, in the SDK's `legacy` mode
//! (initialize) and its default `auto` mode (2026-07-28 when offered).
#[path = "common/peers.rs"]
mod peers;
#[path = "gateway_http/support.rs"]
mod support;

use std::sync::atomic::Ordering;

use serde_json::json;
use support::*;

#[tokio::test]
async fn the_python_sdk_client_lists_and_calls_tools() {
    let Some(python) = peers::mcp_python() else {
        return;
    };
    let g = start(None).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/mcp-clients/http_client.py"
    );
    let url = format!("http://127.0.0.1:{}/servers/time/mcp", g.port);
    let all = format!("http://127.0.0.1:{}/mcp", g.port);
    let runs = [
        (
            "legacy",
            "2025-11-25",
            url.clone(),
            "echo",
            "fake-time",
            json!(["echo", "slow"]),
        ),
        (
            "auto",
            "2026-07-28",
            url.clone(),
            "echo",
            "fake-time",
            json!(["echo", "slow"]),
        ),
        (
            "legacy",
            "2025-11-25",
            all.clone(),
            "clock__echo",
            "mcpm-gateway",
            json!(["time__echo", "time__slow", "clock__echo", "clock__slow"]),
        ),
        (
            "auto",
            "2026-07-28",
            all,
            "clock__echo",
            "mcpm-gateway",
            json!(["time__echo", "time__slow", "clock__echo", "clock__slow"]),
        ),
    ];
    for (mode, version, endpoint, tool, info, tools) in runs {
        let (python, url) = (python.clone(), endpoint.clone());
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(python)
                .args([
                    script,
                    &url,
                    TOKEN,
                    "--mode",
                    mode,
                    "--call",
                    tool,
                    "--args",
                    r#"{"text":"from python"}"#,
                ])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{mode}: {stderr}");
        let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(result["tools"], tools, "{mode} {endpoint}");
        assert_eq!(
            result["call"]["content"][0]["text"], "from python",
            "{mode}"
        );
        assert_eq!(result["protocol_version"], version, "{mode}: {result}");
        assert_eq!(result["server_info"]["name"], info, "{mode} {endpoint}");
    }
    // The legacy client ended its session with DELETE; the modern ones had
    // one per request.
    eventually("every session ended", || {
        g.fake.open.load(Ordering::SeqCst) == 0
    })
    .await;

    let bad = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .args([script, &url, "wrong-token", "--mode", "legacy"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!bad.status.success(), "a wrong token must fail the client");
    g.stop().await;
}
