//! Accepting connections. axum's `serve` has no deadline for a request's head, so 150 clients
//! that open a connection and never finish their headers (slowloris) held every connection and
//! made legitimate requests time out. This loop serves each connection with hyper's HTTP/1
//! directly, with a header-read timeout, and keeps accepting after an accept error (out of file
//! descriptors) instead of stopping.
//!
//! It also caps the connections held at once below the file-descriptor limit: at the cap, a
//! new connection evicts the oldest one that has not yet sent a whole request head. Without
//! that, a few hundred idle clients exhaust the descriptors, the kernel's accept queue fills,
//! and a legitimate client's SYN is dropped and retried a second later.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
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

/// What a connection may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Longest time to send a request head.
    pub header_timeout: Duration,
    /// Most connections held at once.
    pub max_connections: usize,
}

/// The connections being served, oldest first: whether each has sent a whole request head
/// yet, and how to drop it.
#[derive(Default)]
struct Live {
    next: u64,
    conns: BTreeMap<u64, (Arc<AtomicBool>, tokio::task::AbortHandle)>,
}

impl Live {
    /// Makes room for one more connection under `cap`: drops the oldest connection that has
    /// not sent a request head. False when every held connection is a real one.
    fn make_room(&mut self, cap: usize) -> bool {
        if self.conns.len() < cap {
            return true;
        }
        let idle =
            self.conns.iter().find(|(_, (headed, _))| !headed.load(Ordering::Relaxed)).map(|(id, _)| *id);
        match idle.and_then(|id| self.conns.remove(&id)) {
            Some((_, task)) => {
                task.abort();
                true
            }
            None => false,
        }
    }
}

/// Serves `router` on `listener` until `stop` fires (or its sender is dropped), closing any
/// connection whose request head takes longer than `limits.header_timeout` and holding at
/// most `limits.max_connections`; then lets the requests in flight finish (at most
/// [`SHUTDOWN_GRACE`]).
pub(crate) async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let live = Arc::new(Mutex::new(Live::default()));
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
        if !live.lock().unwrap_or_else(PoisonError::into_inner).make_room(limits.max_connections) {
            // Every held connection is busy with real requests: this one waits its turn by
            // being refused now rather than starving the others.
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let headed = Arc::new(AtomicBool::new(false));
        let mark = Arc::clone(&headed);
        let app = TowerToHyperService::new(router.clone());
        let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            // hyper calls the service once a whole request head has arrived.
            mark.store(true, Ordering::Relaxed);
            hyper::service::Service::call(&app, req)
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        let mut held = live.lock().unwrap_or_else(PoisonError::into_inner);
        let id = held.next;
        held.next += 1;
        let registry = Arc::clone(&live);
        let task = tokio::spawn(async move {
            // A connection's own errors (reset, timeout, bad request) end only that connection.
            let _ = connection.await;
            registry.lock().unwrap_or_else(PoisonError::into_inner).conns.remove(&id);
        });
        held.conns.insert(id, (headed, task.abort_handle()));
    }
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}
