//! The accept loop: the router served over HTTP/1.1 by hyper with the connection bounds that
//! `axum::serve` leaves unset, and graceful shutdown.
//!
//! `axum::serve` gives hyper no timer, so a client may take forever to send its headers
//! (slowloris) or hold an idle kept-alive connection open for good, each costing a task and
//! a descriptor. Here hyper gets a timer, `HEADER_READ_TIMEOUT_SECONDS` (counted from the
//! connection's opening and again from the end of each response, so it is also the idle
//! keep-alive) and `MAX_HEADER_BYTES` (larger headers get 431). Everything else follows
//! `axum::serve`: the peer address reaches handlers as `ConnectInfo`, WebSocket upgrades
//! work, and on shutdown the listener closes and every connection finishes its current
//! request before it closes.

use std::{future::Future, io, net::SocketAddr, time::Duration};

use axum::{Router, extract::ConnectInfo, extract::Request};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceExt as _;

/// Headers one request may carry (hyper's default is 100; browsers send about 20).
const MAX_HEADERS: usize = 100;

/// How long to wait after an accept error that is not about one connection (out of
/// descriptors, most likely) before accepting again, instead of spinning.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// The bounds every connection gets.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// `HEADER_READ_TIMEOUT_SECONDS`.
    pub header_read_timeout: Duration,
    /// `MAX_HEADER_BYTES` (hyper's read buffer; at least 8192).
    pub max_header_bytes: usize,
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and waits
/// for open connections to finish their requests (upgraded sockets are not waited for:
/// they end with the application's cancellation token).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(crate::config::MIN_HEADER_BYTES))
        .max_headers(MAX_HEADERS);
    let connections = TaskTracker::new();
    let stopping = CancellationToken::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) if is_connection_error(&error) => continue,
                Err(error) => {
                    tracing::error!(error = %error, "accepting a connection failed; pausing");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small GraphQL responses and socket frames go out at once, not after Nagle's delay.
        let _ = stream.set_nodelay(true);
        let service = router.clone().map_request(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)).with_upgrades();
        let stopping = stopping.clone();
        connections.spawn(async move {
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => log_end(result, peer),
                () = stopping.cancelled() => {
                    // Finish the request under way, answer it with `Connection: close`.
                    connection.as_mut().graceful_shutdown();
                    log_end(connection.await, peer);
                }
            }
        });
    }
    drop(listener);
    stopping.cancel();
    connections.close();
    connections.wait().await;
    Ok(())
}

/// Logs why a connection ended, when it was not a normal close. A header timeout or an
/// oversized header is the client's doing: debug, not a warning per bad client.
fn log_end(result: Result<(), hyper::Error>, peer: SocketAddr) {
    if let Err(error) = result {
        let reason = if error.is_timeout() {
            "header_timeout"
        } else if error.is_parse_too_large() {
            "header_too_large"
        } else {
            "error"
        };
        metrics::counter!("http_connections_closed_total", "reason" => reason).increment(1);
        tracing::debug!(%peer, error = %error, reason, "connection ended");
    }
}

/// Errors about one connection (it was reset before we took it): accept the next.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}
