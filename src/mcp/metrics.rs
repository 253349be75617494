//! Prometheus metrics of the MCP server, in the OpenMetrics text format of
//! `prometheus-client` (the official Rust client): tool calls by tool and
//! outcome, their latency, open and opened sessions, and, sampled at scrape
//! time through `engine::stats`, the CPU and memory of the containers of the
//! projects the server manages.
//!
//! [`Metrics`] holds the counters the server updates as it works; [`serve`]
//! answers `GET /metrics` with them plus a fresh container sample. An engine
//! that cannot be reached during a scrape gives `mcpm_engine_up 0` and the
//! tool metrics, never a failed scrape: the scrape is how one notices.
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::engine::stats::ContainerStats;
use crate::gateway::http::accept;

/// The content type `prometheus-client`'s text encoder produces.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Latency buckets (seconds): a status read takes milliseconds, a deploy
/// or a pull can take minutes.
const LATENCY_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];
/// How long a scrape waits for the engine's container sample (a stats read
/// takes about a second: the engine samples twice for CPU %).
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(8);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    tool: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabels {
    tool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabels {
    transport: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ContainerLabels {
    project: String,
    service: String,
    server: String,
    container: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// One container of a scrape: its project, the MCP server it runs, and what
/// `engine::stats` read of it.
#[derive(Debug, Clone)]
pub struct ContainerSample {
    pub project: String,
    pub server: String,
    pub stats: ContainerStats,
}

/// The server's own metrics, updated as it works (thread-safe through
/// `&self`) and encoded at each scrape.
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    durations: Family<ToolLabels, Histogram, fn() -> Histogram>,
    sessions: Family<TransportLabels, Gauge>,
    sessions_opened: Family<TransportLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Empty metrics, registered under their `mcpm_mcp_` names.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "mcpm_mcp_tool_calls",
            "MCP tool calls by tool and outcome (ok, error, denied, invalid)",
            calls.clone(),
        );
        let durations: Family<ToolLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "mcpm_mcp_tool_call_duration",
            "How long MCP tool calls took",
            Unit::Seconds,
            durations.clone(),
        );
        let sessions = Family::<TransportLabels, Gauge>::default();
        registry.register(
            "mcpm_mcp_sessions",
            "MCP sessions open now, by transport",
            sessions.clone(),
        );
        let sessions_opened = Family::<TransportLabels, Counter>::default();
        registry.register(
            "mcpm_mcp_sessions_opened",
            "MCP sessions opened since start, by transport",
            sessions_opened.clone(),
        );
        Metrics {
            registry,
            calls,
            durations,
            sessions,
            sessions_opened,
        }
    }

    /// Counts one tool call and its latency.
    pub fn record_call(&self, tool: &str, outcome: &str, duration: Duration) {
        self.calls
            .get_or_create(&CallLabels {
                tool: tool.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
        self.durations
            .get_or_create(&ToolLabels {
                tool: tool.to_string(),
            })
            .observe(duration.as_secs_f64());
    }

    /// A session opened on `transport` (`stdio`, `http`).
    pub fn session_opened(&self, transport: &str) {
        let labels = TransportLabels {
            transport: transport.to_string(),
        };
        self.sessions.get_or_create(&labels).inc();
        self.sessions_opened.get_or_create(&labels).inc();
    }

    /// A session on `transport` ended.
    pub fn session_closed(&self, transport: &str) {
        self.sessions
            .get_or_create(&TransportLabels {
                transport: transport.to_string(),
            })
            .dec();
    }

    /// The exposition: the server's metrics, then `sample` (the containers
    /// of each project; `None` when the engine could not be reached).
    pub fn encode(&self, sample: Option<&[ContainerSample]>) -> String {
        let mut text = String::new();
        let scrape = scrape_registry(sample);
        // Writing into a String cannot fail.
        let _ = encode_registry(&mut text, &self.registry);
        let _ = encode_registry(&mut text, &scrape);
        let _ = encode_eof(&mut text);
        text
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The metrics of one scrape: the engine's state and each container's
/// numbers, as `engine::stats` computes them.
fn scrape_registry(sample: Option<&[ContainerSample]>) -> Registry {
    let mut registry = Registry::default();
    let engine_up = Gauge::<i64>::default();
    engine_up.set(i64::from(sample.is_some()));
    registry.register(
        "mcpm_engine_up",
        "Whether the container engine answered this scrape",
        engine_up,
    );
    let Some(sample) = sample else {
        return registry;
    };
    let up = Family::<ContainerLabels, Gauge>::default();
    let cpu = Family::<ContainerLabels, FloatGauge>::default();
    let memory = Family::<ContainerLabels, Gauge>::default();
    let limit = Family::<ContainerLabels, Gauge>::default();
    for container in sample {
        let row = &container.stats;
        let labels = ContainerLabels {
            project: container.project.clone(),
            service: row.service.clone(),
            server: container.server.clone(),
            container: row.container.clone(),
        };
        up.get_or_create(&labels).set(i64::from(row.running));
        if let Some(percent) = row.cpu_percent {
            cpu.get_or_create(&labels).set(percent);
        }
        if let Some(used) = row.memory {
            memory
                .get_or_create(&labels)
                .set(i64::try_from(used.used_bytes).unwrap_or(i64::MAX));
            limit
                .get_or_create(&labels)
                .set(i64::try_from(used.limit_bytes).unwrap_or(i64::MAX));
        }
    }
    registry.register(
        "mcpm_container_up",
        "Whether the server's container is running (1) or not (0)",
        up,
    );
    registry.register(
        "mcpm_container_cpu_percent",
        "CPU use of the server's container over the last second, as docker stats shows it",
        cpu,
    );
    registry.register_with_unit(
        "mcpm_container_memory",
        "Memory the server's container uses, without the page cache, as docker stats counts it",
        Unit::Bytes,
        memory,
    );
    registry.register_with_unit(
        "mcpm_container_memory_limit",
        "The memory limit of the server's container (the host's memory when it has none)",
        Unit::Bytes,
        limit,
    );
    registry
}

/// Samples the containers of `projects` through `engine::stats`; `None`
/// when the engine cannot be reached or does not answer in time.
async fn sample(projects: &[String]) -> Option<Vec<ContainerSample>> {
    use crate::engine::{connect, stats};
    let read = async {
        let engine = connect::connect().await.ok()?;
        let engine = &engine;
        // Projects concurrently: each read takes the engine's second.
        let reads = projects.iter().map(|project| async move {
            let list = stats::containers(engine, project, &[], None).await.ok()?;
            let rows = stats::read_all(engine, &list).await.ok()?;
            // read_all keeps the order of the listing it was given.
            Some(
                list.iter()
                    .zip(rows)
                    .map(|(container, stats)| ContainerSample {
                        project: project.clone(),
                        server: container.server.clone(),
                        stats,
                    })
                    .collect::<Vec<_>>(),
            )
        });
        let per_project: Option<Vec<Vec<ContainerSample>>> = futures_util::future::join_all(reads)
            .await
            .into_iter()
            .collect();
        Some(per_project?.into_iter().flatten().collect())
    };
    tokio::time::timeout(SAMPLE_TIMEOUT, read)
        .await
        .ok()
        .flatten()
}

/// Serves GET /metrics (OpenMetrics text) on `listener` until `shutdown`;
/// the containers of `projects` (compose project names) are sampled at each
/// scrape. Other paths get 404, other methods 405.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    projects: Vec<String>,
    shutdown: BoxFuture<'static, ()>,
) {
    let projects = Arc::new(projects);
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let metrics = metrics.clone();
        let projects = projects.clone();
        async move { Ok::<_, Infallible>(answer(&metrics, &projects, &request).await) }
    });
    let graceful = accept::accept_until(listener, shutdown, "metrics", service).await;
    accept::finish(graceful).await;
}

/// What a request gets: the decision is [`route`]'s, the sample is taken
/// only for a scrape.
async fn answer(
    metrics: &Metrics,
    projects: &[String],
    request: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    match route(request.method(), request.uri().path()) {
        Route::Scrape => {
            let sample = sample(projects).await;
            let text = metrics.encode(sample.as_deref());
            let mut response = Response::new(Full::new(Bytes::from(text)));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
            response
        }
        Route::NotFound => plain(
            StatusCode::NOT_FOUND,
            "not found: the metrics are at /metrics\n",
        ),
        Route::MethodNotAllowed => {
            let mut response = plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed: use GET /metrics\n",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        }
    }
}

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Scrape,
    NotFound,
    MethodNotAllowed,
}

/// GET (or HEAD) /metrics scrapes; any other path is 404, any other method
/// on /metrics 405.
pub fn route(method: &Method, path: &str) -> Route {
    if path != "/metrics" {
        Route::NotFound
    } else if method == Method::GET || method == Method::HEAD {
        Route::Scrape
    } else {
        Route::MethodNotAllowed
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
