//! The accept loop every HTTP listener of mcpm shares (the gateway's MCP
//! front end, `mcpm mcp serve --metrics`): HTTP/1 connections served until
//! shutdown, with the same socket options, header timeout and graceful end.
use std::time::Duration;

use futures_util::future::BoxFuture;
use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a shutdown waits for open connections to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves each connection accepted on `listener` with a clone of `service`
/// until `shutdown` resolves; `who` names the listener in the one message an
/// accept failure prints. Returns the watcher of the connections still open:
/// the caller ends what keeps them open (streams), then waits on
/// [`finish`].
pub async fn accept_until<S, B>(
    listener: tokio::net::TcpListener,
    mut shutdown: BoxFuture<'static, ()>,
    who: &str,
    service: S,
) -> GracefulShutdown
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                // An answer goes out as several small writes (head, SSE
                // event, end of stream): with Nagle's algorithm each waits
                // for the client's delayed ACK, 40 ms a round trip.
                let _ = stream.set_nodelay(true);
                stream
            }
            Err(err) => {
                // Out of file descriptors and the like: wait rather than spin.
                eprintln!("{who}: accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // A client that opens a connection and never finishes its headers
        // must not hold it for ever.
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service.clone());
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    graceful
}

/// Waits (at most [`SHUTDOWN_GRACE`]) for the connections `graceful` watches.
pub async fn finish(graceful: GracefulShutdown) {
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}
