use std::time::Duration;

use hyper::Method;

use super::*;
use crate::engine::stats::{ContainerStats, Memory};

fn row(
    service: &str,
    running: bool,
    cpu: Option<f64>,
    memory: Option<(u64, u64)>,
) -> ContainerStats {
    ContainerStats {
        service: service.into(),
        container: format!("p-{service}-1"),
        id: "abc".into(),
        state: if running { "running" } else { "exited" }.into(),
        running,
        cpu_percent: cpu,
        memory: memory.map(|(used, limit)| Memory {
            used_bytes: used,
            limit_bytes: limit,
            percent: None,
        }),
        network: None,
        block_io: None,
        pids: None,
    }
}

#[test]
fn tool_calls_sessions_and_latency_are_counted() {
    let metrics = Metrics::new();
    metrics.record_call("logs", "ok", Duration::from_millis(20));
    metrics.record_call("logs", "ok", Duration::from_millis(30));
    metrics.record_call("restart", "denied", Duration::from_micros(100));
    metrics.session_opened("http");
    metrics.session_opened("http");
    metrics.session_closed("http");
    metrics.session_opened("stdio");
    let text = metrics.encode(None);
    for expected in [
        "# TYPE mcpm_mcp_tool_calls counter",
        "mcpm_mcp_tool_calls_total{tool=\"logs\",outcome=\"ok\"} 2\n",
        "mcpm_mcp_tool_calls_total{tool=\"restart\",outcome=\"denied\"} 1\n",
        "# TYPE mcpm_mcp_tool_call_duration_seconds histogram",
        "# UNIT mcpm_mcp_tool_call_duration_seconds seconds",
        "mcpm_mcp_tool_call_duration_seconds_count{tool=\"logs\"} 2\n",
        "mcpm_mcp_tool_call_duration_seconds_bucket{le=\"0.025\",tool=\"logs\"} 1\n",
        "mcpm_mcp_tool_call_duration_seconds_bucket{le=\"0.05\",tool=\"logs\"} 2\n",
        "mcpm_mcp_sessions{transport=\"http\"} 1\n",
        "mcpm_mcp_sessions{transport=\"stdio\"} 1\n",
        "mcpm_mcp_sessions_opened_total{transport=\"http\"} 2\n",
        "mcpm_engine_up 0\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert_eq!(text.matches("# EOF").count(), 1, "{text}");
    assert!(!text.contains("mcpm_container_"), "{text}");
}

#[test]
fn containers_of_each_project_are_exposed() {
    let metrics = Metrics::new();
    let sample = vec![
        ContainerSample {
            project: "mcp-demo".into(),
            server: "time".into(),
            stats: row("time", true, Some(1.5), Some((2_000_000, 8_000_000))),
        },
        ContainerSample {
            project: "mcp-demo".into(),
            server: "web-fetch".into(),
            stats: row("fetch", false, None, None),
        },
    ];
    let text = metrics.encode(Some(&sample));
    let labels = "project=\"mcp-demo\",service=\"time\",server=\"time\",container=\"p-time-1\"";
    for expected in [
        "mcpm_engine_up 1\n".to_string(),
        format!("mcpm_container_up{{{labels}}} 1\n"),
        format!("mcpm_container_cpu_percent{{{labels}}} 1.5\n"),
        format!("mcpm_container_memory_bytes{{{labels}}} 2000000\n"),
        format!("mcpm_container_memory_limit_bytes{{{labels}}} 8000000\n"),
        "mcpm_container_up{project=\"mcp-demo\",service=\"fetch\",server=\"web-fetch\",container=\"p-fetch-1\"} 0\n".to_string(),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in\n{text}");
    }
    // A stopped container has no numbers, only `up 0`.
    assert!(
        !text.contains("cpu_percent{project=\"mcp-demo\",service=\"fetch\""),
        "{text}"
    );
}

#[test]
fn label_values_are_escaped() {
    let metrics = Metrics::new();
    metrics.record_call("we\"ird\\tool\nname", "ok", Duration::ZERO);
    let text = metrics.encode(None);
    assert!(text.contains("tool=\"we\\\"ird\\\\tool\\nname\""), "{text}");
}

#[test]
fn routes() {
    assert_eq!(route(&Method::GET, "/metrics"), Route::Scrape);
    assert_eq!(route(&Method::HEAD, "/metrics"), Route::Scrape);
    assert_eq!(route(&Method::POST, "/metrics"), Route::MethodNotAllowed);
    assert_eq!(route(&Method::DELETE, "/metrics"), Route::MethodNotAllowed);
    assert_eq!(route(&Method::GET, "/"), Route::NotFound);
    assert_eq!(route(&Method::GET, "/metrics/"), Route::NotFound);
    assert_eq!(route(&Method::POST, "/mcp"), Route::NotFound);
}
