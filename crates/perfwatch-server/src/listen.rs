//! Accepting connections. axum's `serve` has no deadline for a request's head, so 150 clients
//! that open a connection and never finish their headers (slowloris) held every connection and
//! made legitimate requests time out. This loop serves each connection with hyper's HTTP/1
//! directly, with a header-read timeout, and keeps accepting after an accept error (out of file
//! descriptors) instead of stopping.

use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// After an accept error (such as EMFILE), wait this long before accepting again: the error
/// would otherwise repeat at once and spin a core.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// Longest wait, at shutdown, for requests in flight to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves `router` on `listener` until `stop` fires (or its sender is dropped), closing any
/// connection whose request head takes longer than `header_timeout`; then lets the requests in
/// flight finish (at most [`SHUTDOWN_GRACE`]).
pub(crate) async fn serve(
    listener: TcpListener,
    router: axum::Router,
    header_timeout: Duration,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let stream = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(router.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A connection's own errors (reset, timeout, bad request) end only that connection.
            let _ = connection.await;
        });
    }
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}
