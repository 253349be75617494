//! PLACEHOLDER until h-ops's metrics are merged (h-ops's version wins at the
//! merge): the agreed API, counting in memory only.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;

/// The server's counters.
#[derive(Default)]
pub struct Metrics {
    calls: AtomicU64,
    sessions: AtomicU64,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    pub fn record_call(&self, _tool: &str, _outcome: &str, _duration: Duration) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    pub fn session_opened(&self, _transport: &str) {
        self.sessions.fetch_add(1, Ordering::Relaxed);
    }

    pub fn session_closed(&self, _transport: &str) {
        self.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves GET /metrics until `shutdown` (placeholder: only waits).
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    projects: Vec<String>,
    shutdown: BoxFuture<'static, ()>,
) {
    let _ = (listener, metrics, projects);
    shutdown.await;
}
