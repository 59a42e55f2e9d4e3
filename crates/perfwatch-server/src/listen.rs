//! Accepting connections. axum's `serve` has no deadline for a request's head, so 150 clients
//! that open a connection and never finish their headers (slowloris) held every connection and
//! made legitimate requests time out. This loop serves each connection with hyper's HTTP/1
//! directly, with a header-read timeout, and keeps accepting after an accept error (out of file
//! descriptors) instead of stopping.
//!
//! hyper starts the same timeout whenever it waits for a request head, so a kept-alive
//! connection that sits idle between requests is closed after it too.
//!
//! It also caps the connections held at once below the file-descriptor limit: at the cap, a
//! new connection evicts the oldest one that is not answering a request (never sent a whole
//! head, or idle between requests). Without
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

/// The address of the client that sent a request, put into every request's extensions (the
/// failed-authentication limit is kept per address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Peer(pub std::net::IpAddr);

/// The connections being served, oldest first: whether each is busy with a request (between a
/// whole request head and its response), and how to drop it.
#[derive(Default)]
struct Live {
    next: u64,
    conns: BTreeMap<u64, (Arc<AtomicBool>, tokio::task::AbortHandle)>,
}

impl Live {
    /// Makes room for one more connection under `cap`: drops the oldest connection that is not
    /// busy with a request (one that never sent a whole head, or a kept-alive one between
    /// requests). False when every held connection is answering a request.
    fn make_room(&mut self, cap: usize) -> bool {
        if self.conns.len() < cap {
            return true;
        }
        let idle = self.conns.iter().find(|(_, (busy, _))| !busy.load(Ordering::Relaxed)).map(|(id, _)| *id);
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
        let (stream, peer) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => (stream, Peer(addr.ip())),
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
        let busy = Arc::new(AtomicBool::new(false));
        let mark = Arc::clone(&busy);
        let app = TowerToHyperService::new(router.clone());
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            // hyper calls the service once a whole request head has arrived; the connection is
            // idle again (evictable) once the response is ready. The body may still be on its
            // way out then, but every body here is buffered, so that moment is short.
            mark.store(true, Ordering::Relaxed);
            req.extensions_mut().insert(peer);
            let answer = hyper::service::Service::call(&app, req);
            let mark = Arc::clone(&mark);
            async move {
                let response = answer.await;
                mark.store(false, Ordering::Relaxed);
                response
            }
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
        held.conns.insert(id, (busy, task.abort_handle()));
    }
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}
