//! The life of `perfwatch serve`: its options, the threads it starts (the store thread, the
//! ingest pool, the HTTP runtime), and stopping them.

use std::net::SocketAddr;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use perfwatch_app::site::SiteOptions;
use perfwatch_store::StoreError;

use crate::ServerError;
use crate::auth::{Limiter, RateLimit};
use crate::ingest::{Gate, Pool};
use crate::state::{App, Db, Job, serve_jobs};

/// The address `perfwatch serve` listens on unless told otherwise (design §10: loopback only).
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// Settings of the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// What the pages show.
    pub site: SiteOptions,
    /// Tokio worker threads. Default 2.
    pub worker_threads: usize,
    /// Analyse every series' change points while idle, so that the first overview is fast.
    /// Default `true`.
    pub warm_up: bool,
    /// Reads (pages and the JSON API) need a token too, not only writes. Default `false`.
    pub private: bool,
    /// Largest request body accepted (a pushed run report), in bytes; larger ones get 413.
    /// Default [`DEFAULT_MAX_BODY`].
    pub max_body: usize,
    /// Per-token rate limit (429 with `Retry-After` beyond it); `None` for none. Default
    /// [`DEFAULT_RATE_LIMIT`].
    pub rate_limit: Option<RateLimit>,
    /// Failed authentications (a wrong, revoked or malformed token) allowed per client
    /// address: beyond the burst, the address gets 429 with `Retry-After` before any token it
    /// sends is checked. `None` for no limit. Default [`DEFAULT_AUTH_FAILURE_LIMIT`].
    pub auth_failure_limit: Option<RateLimit>,
    /// Series per page of the overview (`/?page=N`), so that a store of 20,000 series is not
    /// one page of tens of megabytes. Default [`DEFAULT_OVERVIEW_PAGE_SIZE`].
    pub overview_page_size: usize,
    /// Store connections (threads) for pushes and token checks. Default 4.
    pub ingest_threads: usize,
    /// One JSON line per request on stderr (method, path, status, latency, token name —
    /// never the token — and sizes). Default `false`; `perfwatch serve` turns it on.
    pub log_requests: bool,
    /// How long a client may take to send a request's head (request line and headers), and
    /// how long a kept-alive connection may sit idle between requests; a connection that takes
    /// longer is closed, so idle or half-sent requests (slowloris) cannot hold the server's
    /// connections. A request body that stalls this long gets 408. Default
    /// [`DEFAULT_HEADER_TIMEOUT`].
    pub header_timeout: std::time::Duration,
    /// Most connections held at once; `None`: the file-descriptor limit less
    /// [`FD_RESERVE`]. At the cap, a new connection evicts the oldest one that has not yet
    /// sent a whole request head or sits idle between requests (an idle or slowloris client),
    /// so the limit is never reached by connections that send nothing.
    pub max_connections: Option<usize>,
}

/// File descriptors kept free of connections for the store, logs and the listener itself.
pub const FD_RESERVE: usize = 48;

/// Default [`ServeOptions::header_timeout`]: 10 s, ample for any real client.
pub const DEFAULT_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Default [`ServeOptions::auth_failure_limit`]: 10 failed attempts at once, then one every
/// 10 s per address — a person mistyping a token never meets it; a script guessing 256-bit
/// tokens was hopeless anyway, and now cannot load the store with token checks either.
pub const DEFAULT_AUTH_FAILURE_LIMIT: RateLimit = RateLimit { per_second: 0.1, burst: 10 };

/// Default [`ServeOptions::overview_page_size`]: 100 series, a page of about 150 kB.
pub const DEFAULT_OVERVIEW_PAGE_SIZE: usize = 100;

/// Default [`ServeOptions::max_body`]: 32 MiB, room for a large suite's raw samples.
pub const DEFAULT_MAX_BODY: usize = 32 << 20;

/// Default [`ServeOptions::rate_limit`]: 50 requests per second per token, bursts of 200 —
/// far above what benchmark runners send, low enough to blunt a runaway script.
pub const DEFAULT_RATE_LIMIT: RateLimit = RateLimit { per_second: 50.0, burst: 200 };

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            site: SiteOptions::default(),
            worker_threads: 2,
            warm_up: true,
            private: false,
            max_body: DEFAULT_MAX_BODY,
            rate_limit: Some(DEFAULT_RATE_LIMIT),
            auth_failure_limit: Some(DEFAULT_AUTH_FAILURE_LIMIT),
            overview_page_size: DEFAULT_OVERVIEW_PAGE_SIZE,
            ingest_threads: 4,
            log_requests: false,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_connections: None,
        }
    }
}

/// The default [`ServeOptions::max_connections`]: the soft `RLIMIT_NOFILE` less
/// [`FD_RESERVE`], at least 16 (and 1024 when the limit cannot be read).
fn connection_cap() -> usize {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct it is given.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
    } else {
        1024 + FD_RESERVE
    };
    soft.saturating_sub(FD_RESERVE).clamp(16, 1 << 20)
}

/// Pending connections the kernel queues for `accept`: std listens with 128, and when 200
/// idle clients the header timeout closed all reconnect at once, the queue overflowed and a
/// legitimate client's SYN was dropped (answered a second later, on retry). The kernel caps
/// it at `net.core.somaxconn`.
const LISTEN_BACKLOG: libc::c_int = 4096;

/// Re-listens with [`LISTEN_BACKLOG`]: `listen` on a listening socket only changes its
/// backlog. On failure the socket keeps std's backlog, which works, only less well.
fn widen_backlog(listener: &std::net::TcpListener) {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is a valid listening socket owned by `listener`.
    let _ = unsafe { libc::listen(listener.as_raw_fd(), LISTEN_BACKLOG) };
}

/// A server started by [`start`]: its address, and a way to stop it.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    http: Option<JoinHandle<Result<(), ServerError>>>,
    store: Option<JoinHandle<()>>,
    ingest: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// The address it listens on (with the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Blocks until the server stops (it only stops on an error or [`RunningServer::shutdown`]
    /// from another handle; in practice, until the process is killed).
    pub fn wait(mut self) -> Result<(), ServerError> {
        let res = self.http.take().map_or(Ok(()), |h| h.join().unwrap_or(Err(ServerError::StoreGone)));
        if let Some(s) = self.store.take() {
            let _ = s.join();
        }
        for h in self.ingest.drain(..) {
            let _ = h.join();
        }
        res
    }

    /// Stops accepting connections, lets open requests finish, and joins its threads.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(h) = self.http.take() {
            let _ = h.join();
        }
        if let Some(s) = self.store.take() {
            let _ = s.join();
        }
        for h in self.ingest.drain(..) {
            let _ = h.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Serves the dashboard for the store at `store_url` on `addr` and blocks until the server
/// fails. Use [`DEFAULT_ADDR`] unless the user chose another address.
pub fn serve(store_url: &str, addr: SocketAddr, opts: ServeOptions) -> Result<(), ServerError> {
    start(store_url, addr, opts)?.wait()
}

/// Opens the store, binds `addr` (port 0 picks a free one: see [`RunningServer::addr`]) and
/// serves in background threads.
pub fn start(store_url: &str, addr: SocketAddr, opts: ServeOptions) -> Result<RunningServer, ServerError> {
    let io = |context: &str| {
        let context = context.to_string();
        move |source| ServerError::Io { context, source }
    };
    let (tx, rx) = mpsc::channel::<Job>();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), StoreError>>();
    let url = store_url.to_string();
    let site = opts.site.clone();
    let warm_up = opts.warm_up;
    let page_size = opts.overview_page_size;
    let store = std::thread::Builder::new()
        .name("perfwatch-store".into())
        .spawn(move || match perfwatch_store::open_reconnecting(&url) {
            Ok(store) => {
                let _ = ready_tx.send(Ok(()));
                serve_jobs(Db::new(store, site, page_size), rx, warm_up);
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
            }
        })
        .map_err(io("cannot start the store thread"))?;
    ready_rx.recv().map_err(|_| ServerError::StoreGone)??;

    let listener = std::net::TcpListener::bind(addr).map_err(io(&format!("cannot listen on {addr}")))?;
    listener.set_nonblocking(true).map_err(io("cannot configure the socket"))?;
    widen_backlog(&listener);
    let local = listener.local_addr().map_err(io("cannot read the socket address"))?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (pool, ingest) = Pool::start(store_url, opts.ingest_threads)?;
    let workers = opts.worker_threads.max(1);
    let limits = crate::listen::Limits {
        header_timeout: opts.header_timeout,
        max_connections: opts.max_connections.unwrap_or_else(connection_cap).max(1),
    };
    let gate = Gate {
        private: opts.private,
        max_body: opts.max_body,
        limiter: opts.rate_limit.map(Limiter::new),
        auth_failures: opts.auth_failure_limit.map(Limiter::new),
        body_idle: opts.header_timeout,
        log: opts.log_requests,
    };
    let app = App { tx, pool, gate: Arc::new(gate), requests: Arc::default() };
    let http = std::thread::Builder::new()
        .name("perfwatch-http".into())
        .spawn(move || -> Result<(), ServerError> {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .thread_name("perfwatch-http-worker")
                .enable_all()
                .build()
                .map_err(io("cannot start the async runtime"))?;
            rt.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).map_err(io("cannot register the socket"))?;
                crate::listen::serve(listener, crate::routes::router(app), limits, stop_rx).await;
                Ok(())
            })
        })
        .map_err(io("cannot start the server thread"))?;
    Ok(RunningServer { addr: local, stop: Some(stop_tx), http: Some(http), store: Some(store), ingest })
}
