//! The live server over HTTP (no browser) and the static report on disk: routes, the JSON API,
//! escaping, 404s for unknown and traversing paths, the loopback default.

mod common;

use std::net::SocketAddr;

use common::{fill_store, get, run_id, small_fixture};
use perfwatch_app::site::{SiteOptions, write_site};
use perfwatch_report::html::{case_data_href, case_href};
use perfwatch_server::{DEFAULT_ADDR, ServeOptions, start};

const XSS: &str = "<script>alert(1)</script>";

#[test]
fn default_address_is_loopback() {
    let addr: SocketAddr = DEFAULT_ADDR.parse().unwrap();
    assert!(addr.ip().is_loopback(), "{addr}");
}

#[test]
fn live_pages_api_and_security() {
    let dir = tempfile::tempdir().unwrap();
    let f = small_fixture();
    let url = fill_store(&dir.path().join("history.db"), &f);
    let server = start(&url, "127.0.0.1:0".parse().unwrap(), ServeOptions::default()).unwrap();
    let addr = server.addr();
    assert!(addr.ip().is_loopback());

    // Overview: every case, the XSS name escaped, security headers.
    let r = get(addr, "/");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.header("content-security-policy").unwrap().contains("script-src 'self'"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    for case in &f.cases {
        assert!(r.body.contains(&format!("href=\"{}#metric=wall\"", case_href(case))), "{case}");
    }
    assert!(!r.body.contains(XSS));
    assert!(r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_eq!(r.body.matches("<tr data-name=").count(), f.cases.len() * f.metrics.len());
    assert!(r.body.contains("k-regression"), "the step of sort[n=1000] is a change point");

    // Case page and its data: no raw markup from the name anywhere.
    let evil = &f.cases[3];
    let page = get(addr, &format!("/{}", case_href(evil)));
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(XSS));
    let data = get(addr, &format!("/{}", case_data_href(evil)));
    assert_eq!(data.status, 200);
    assert!(data.header("content-type").unwrap().starts_with("text/javascript"));
    assert!(!data.body.contains('<') && !data.body.contains('>'), "{}", &data.body[..200]);
    assert!(data.body.contains("\\u003cscript\\u003ealert(1)"));
    assert_eq!(get(addr, "/data/runs.js").status, 200);
    assert_eq!(get(addr, "/assets/uPlot.iife.min.js").status, 200);

    // Run and comparison pages.
    let run = get(addr, &format!("/run-{}.html", run_id(59)));
    assert_eq!(run.status, 200);
    assert!(run.body.contains("bench-host") && run.body.contains(&common::commit(59)));
    assert!(!run.body.contains(XSS));
    let cmp = get(addr, "/compare-latest.html");
    assert_eq!(cmp.status, 200);
    assert!(cmp.body.contains("<svg class=\"dist\""));
    let cmp2 = get(addr, &format!("/compare.html?baseline={}&candidate={}", run_id(10), run_id(50)));
    assert_eq!(cmp2.status, 200);
    assert!(cmp2.body.contains("v-regressed"), "sort[n=1000] is 30% slower in run 50");

    // JSON API.
    let series = get(addr, "/api/v1/series");
    assert_eq!(series.status, 200);
    let v: serde_json::Value = serde_json::from_str(&series.body).unwrap();
    assert_eq!(v["series"].as_array().unwrap().len(), 8);
    let one = get(addr, "/api/v1/series/data?case=sort%5Bn%3D1000%5D&metric=wall");
    assert_eq!(one.status, 200, "{}", one.body);
    let v: serde_json::Value = serde_json::from_str(&one.body).unwrap();
    assert_eq!(v["points"], 60);
    assert_eq!(v["columns"]["median"].as_array().unwrap().len(), 60);
    let cps = v["change_points"].as_array().unwrap();
    assert!(cps.iter().any(|c| c["index"] == 40 && c["kind"] == "regression"), "{cps:?}");
    let last = get(addr, "/api/v1/series/data?case=sort%5Bn%3D1000%5D&metric=wall&last=5");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&last.body).unwrap()["points"], 5);
    let runs: serde_json::Value = serde_json::from_str(&get(addr, "/api/v1/runs?limit=3").body).unwrap();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 3);
    assert_eq!(runs["runs"][0]["id"], run_id(59));
    let run: serde_json::Value =
        serde_json::from_str(&get(addr, &format!("/api/v1/runs/{}", run_id(3))).body).unwrap();
    assert_eq!(run["benchmarks"].as_array().unwrap().len(), 4);
    let cmp: serde_json::Value = serde_json::from_str(&get(addr, "/api/v1/compare").body).unwrap();
    assert_eq!(cmp["comparisons"].as_array().unwrap().len(), 8);
    assert_eq!(get(addr, "/api/v1/baselines").status, 200);
    // Every answer is the document its committed schema describes.
    for (path, schema) in [
        ("/api/v1/series", "api-series"),
        ("/api/v1/series/data?case=sort%5Bn%3D1000%5D&metric=wall", "api-series-data"),
        ("/api/v1/series/data?case=sort%5Bn%3D1000%5D&metric=wall&last=5", "api-series-data"),
        ("/api/v1/runs?limit=3", "api-runs"),
        (&format!("/api/v1/runs/{}", run_id(3)), "run"),
        ("/api/v1/compare", "comparison"),
        ("/api/v1/baselines", "api-baselines"),
        ("/api/v1/runs/ffffffff", "api-error"),
        ("/api/v1/nope", "api-error"),
    ] {
        common::assert_matches_schema(&get(addr, path).body, schema);
    }
    assert_eq!(get(addr, "/api/v1/series/data?case=nope&metric=wall").status, 404);
    assert_eq!(get(addr, "/api/v1/series/data?metric=wall").status, 400);
    assert_eq!(get(addr, "/api/v1/runs/ffffffff").status, 404);

    // Unknown and traversing paths: 404, never a file.
    for path in [
        "/nope",
        "/nope.html",
        "/case-unknown-00000000.html",
        "/run-ffffffff.html",
        "/run-..%2F..%2Fetc%2Fpasswd.html",
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/assets/../../Cargo.toml",
        "/assets/..%2F..%2FCargo.toml",
        "/assets/%2e%2e%2fCargo.toml",
        "/data/..%2F..%2Fhistory.db",
        "/data/../history.db",
        "/history.db",
        "/api/v1/nope",
        "/api/v2/series",
    ] {
        let r = get(addr, path);
        assert_eq!(r.status, 404, "{path}");
        assert!(!r.body.contains("root:") && !r.body.contains("[workspace]"), "{path}");
    }
    server.shutdown();
}

#[test]
fn static_site_is_self_contained() {
    let dir = tempfile::tempdir().unwrap();
    let f = small_fixture();
    let url = fill_store(&dir.path().join("history.db"), &f);
    let mut store = perfwatch_store::open(&url).unwrap();
    store.set_baseline("v1.0", &run_id(5)).unwrap();
    let out = dir.path().join("site");
    let opts = SiteOptions { max_run_pages: 10, ..SiteOptions::default() };
    let summary = write_site(store.as_mut(), &out, &opts).unwrap();
    assert_eq!((summary.cases, summary.series, summary.points, summary.runs), (4, 8, 480, 60));
    assert!(summary.run_pages >= 10 && summary.run_pages < 60, "{summary:?}");

    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    for case in &f.cases {
        assert!(out.join(case_href(case)).exists() && out.join(case_data_href(case)).exists(), "{case}");
    }
    assert!(!index.contains(XSS));
    assert!(index.contains("compare-baseline-v1.0-"), "baseline comparison linked");
    assert!(out.join(format!("run-{}.html", run_id(40))).exists(), "the change point's run has a page");
    assert!(out.join(format!("run-{}.html", run_id(5))).exists(), "the baseline's run has a page");
    for entry in std::fs::read_dir(&out).unwrap().chain(std::fs::read_dir(out.join("data")).unwrap()) {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = std::fs::read_to_string(&path).unwrap();
            for bad in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "url(http"] {
                assert!(!text.contains(bad), "{} references the network: {bad}", path.display());
            }
        }
    }
}

/// `POST /api/v1/runs` raw, on a fresh connection: (status, body).
fn post(addr: SocketAddr, token: &str, body: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /api/v1/runs HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (head.split(' ').nth(1).unwrap().parse().unwrap(), body.to_string())
}

/// A server over a new SQLite store in `dir` with one write token: (server, store URL, token).
fn sqlite_team_server(dir: &std::path::Path) -> (perfwatch_server::RunningServer, String, String) {
    sqlite_team_server_with(dir, ServeOptions::default())
}

/// [`sqlite_team_server`] with `opts`.
fn sqlite_team_server_with(
    dir: &std::path::Path,
    opts: ServeOptions,
) -> (perfwatch_server::RunningServer, String, String) {
    let url = format!("sqlite://{}", dir.join("team.db").display());
    let token = perfwatch_app::team::generate_token().unwrap();
    perfwatch_store::open(&url)
        .unwrap()
        .create_token("ci", perfwatch_store::TokenScope::Write, &perfwatch_app::team::hash_token(&token))
        .unwrap();
    let server = start(&url, "127.0.0.1:0".parse().unwrap(), opts).unwrap();
    (server, url, token)
}

/// Team mode over an SQLite store too: four pushers at once through the server's pool of
/// connections (WAL, busy timeout), every run sent twice, each stored once.
#[test]
fn concurrent_pushes_into_an_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let (server, url, token) = sqlite_team_server(dir.path());
    let addr = server.addr();
    let f = small_fixture();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let token = token.clone();
            let bodies: Vec<Vec<u8>> =
                (0..25).map(|i| serde_json::to_vec(&common::report(&f, t * 25 + i)).unwrap()).collect();
            std::thread::spawn(move || {
                let mut created = 0;
                for b in bodies.iter().chain(bodies.iter()) {
                    let (status, body) = post(addr, &token, b);
                    assert!(status == 201 || status == 200, "{status} {body}");
                    common::assert_matches_schema(&body, "push-receipt");
                    if status == 201 {
                        created += 1;
                    }
                }
                created
            })
        })
        .collect();
    let created: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(created, 100);
    let runs: serde_json::Value = serde_json::from_str(&get(addr, "/api/v1/runs").body).unwrap();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 100);
    let mut store = perfwatch_store::open(&url).unwrap();
    assert_eq!(store.history(&f.cases[0], "wall", None).unwrap().len(), 100);
    assert_eq!(store.run(&run_id(7)).unwrap(), Some(common::report(&f, 7)), "stored as pushed");
    store.integrity_check().unwrap();
    // The dashboard sees the pushed runs (its caches were dropped by the pushes).
    let r = get(addr, "/");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("sort"), "{}", &r.body[..200.min(r.body.len())]);
    server.shutdown();
}

/// Issue 19: ingest took `../../../etc/passwd` as a run id, and answered `created: false`
/// to a different run pushed under a stored id, dropping it silently. Now the first is a 400
/// naming the field, the second a 409; the same run sent again is still a 200.
#[test]
fn ingest_refuses_odd_run_ids_and_conflicting_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let (server, url, token) = sqlite_team_server(dir.path());
    let addr = server.addr();
    let f = small_fixture();
    let mut report = serde_json::to_value(common::report(&f, 1)).unwrap();
    for bad in ["../../../etc/passwd", "a b", ".hidden", "x/y", "é"] {
        report["run"]["id"] = bad.into();
        let (status, body) = post(addr, &token, &serde_json::to_vec(&report).unwrap());
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("at /run/id"), "{body}");
    }
    let original = serde_json::to_vec(&common::report(&f, 1)).unwrap();
    assert_eq!(post(addr, &token, &original).0, 201);
    assert_eq!(post(addr, &token, &original).0, 200, "the same run again is not a conflict");
    let mut other = serde_json::to_value(common::report(&f, 2)).unwrap();
    other["run"]["id"] = serde_json::to_value(common::report(&f, 1)).unwrap()["run"]["id"].clone();
    let (status, body) = post(addr, &token, &serde_json::to_vec(&other).unwrap());
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("stored already with different content"), "{body}");
    let stored = perfwatch_store::open(&url).unwrap().run(&run_id(1)).unwrap();
    assert_eq!(stored, Some(common::report(&f, 1)), "the first run is kept as it was");
    server.shutdown();
}

/// `n` clients that send half a request head and then nothing (slowloris), `pause` apart,
/// each reading with `read_timeout`.
fn half_requests(
    addr: SocketAddr,
    n: usize,
    read_timeout: std::time::Duration,
    pause: std::time::Duration,
) -> Vec<std::net::TcpStream> {
    use std::io::Write;
    (0..n)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(format!("GET / HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ").as_bytes()).unwrap();
            s.set_read_timeout(Some(read_timeout)).unwrap();
            std::thread::sleep(pause);
            s
        })
        .collect()
}

/// Issue 19, item 6: `serve` had no deadline for a request's head, so connections that never
/// finish their headers (slowloris) were held forever, and at common file limits they starved
/// every legitimate request. Now a connection whose head is late is closed, and the server
/// keeps answering the others meanwhile.
#[test]
fn half_sent_requests_are_cut_off_and_do_not_starve_others() {
    use std::io::Read;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let url = fill_store(&dir.path().join("history.db"), &small_fixture());
    let opts = ServeOptions {
        warm_up: false,
        header_timeout: Duration::from_millis(500),
        ..ServeOptions::default()
    };
    let server = start(&url, "127.0.0.1:0".parse().unwrap(), opts).unwrap();
    let addr = server.addr();

    // 40 clients that send half a request head and then nothing.
    let mut idle = half_requests(addr, 40, Duration::from_secs(10), Duration::ZERO);
    // Meanwhile a real request is answered.
    assert_eq!(get(addr, "/api/v1/runs").status, 200);
    // Each idle connection is closed by the server (end of stream, perhaps after a 408),
    // before the 10 s this side waits for it (a timeout here is an error, not an end).
    for s in &mut idle {
        let mut rest = Vec::new();
        let read = s.read_to_end(&mut rest);
        assert!(read.is_ok(), "the server kept a half-sent request open: {read:?}");
        let text = String::from_utf8_lossy(&rest);
        assert!(text.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    }
    assert_eq!(get(addr, "/api/v1/runs").status, 200);
}

/// Issue 19: at the file-descriptor limit, idle half-sent requests made the kernel drop a
/// legitimate client's SYN (answered a second later, on retry). Connections are now capped
/// below the limit, and at the cap a new connection evicts the oldest one that has not sent
/// a request head. Here the cap is 8: the ninth client is served at once, the oldest idle
/// connection is closed for it, the others are left alone.
#[test]
fn at_the_connection_cap_the_oldest_idle_connection_makes_room() {
    use std::io::Read;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let url = fill_store(&dir.path().join("history.db"), &small_fixture());
    let opts = ServeOptions {
        warm_up: false,
        header_timeout: Duration::from_secs(60),
        max_connections: Some(8),
        ..ServeOptions::default()
    };
    let server = start(&url, "127.0.0.1:0".parse().unwrap(), opts).unwrap();
    let addr = server.addr();
    // 20 ms apart, so that the server accepts them in this order.
    let mut idle = half_requests(addr, 8, Duration::from_secs(5), Duration::from_millis(20));
    assert_eq!(get(addr, "/api/v1/runs").status, 200);
    let mut first = Vec::new();
    assert!(idle[0].read_to_end(&mut first).is_ok(), "the oldest idle connection was not closed");
    idle[1].set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut byte = [0u8; 1];
    let still_open = matches!(idle[1].read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut);
    assert!(still_open, "a younger idle connection was closed too");
    server.shutdown();
}

/// Sends `GET path` on `s` (kept alive) and reads exactly one response: its status.
fn get_kept_alive(s: &mut std::net::TcpStream, path: &str) -> u16 {
    use std::io::{Read, Write};
    let addr = s.peer_addr().unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap())
        })
        .expect("a buffered response has a length");
    let mut body = vec![0u8; length];
    s.read_exact(&mut body).unwrap();
    head.split(' ').nth(1).unwrap().parse().unwrap()
}

/// Issue 19: a kept-alive connection that sat idle after its request counted as busy for ever,
/// so at the connection cap idle keep-alive clients kept new ones out. Now a connection is
/// busy only while it is answering: here two idle kept-alive clients fill a cap of two, and a
/// third client is served, the oldest idle one closed for it.
#[test]
fn idle_kept_alive_connections_make_room_at_the_cap() {
    use std::io::Read;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let url = fill_store(&dir.path().join("history.db"), &small_fixture());
    let opts = ServeOptions {
        warm_up: false,
        header_timeout: Duration::from_secs(60),
        max_connections: Some(2),
        ..ServeOptions::default()
    };
    let server = start(&url, "127.0.0.1:0".parse().unwrap(), opts).unwrap();
    let addr = server.addr();
    let mut kept: Vec<std::net::TcpStream> = (0..2)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            assert_eq!(get_kept_alive(&mut s, "/api/v1/runs"), 200);
            std::thread::sleep(Duration::from_millis(20));
            s
        })
        .collect();
    assert_eq!(get(addr, "/api/v1/runs").status, 200, "the third client was kept out");
    let mut rest = Vec::new();
    assert!(kept[0].read_to_end(&mut rest).is_ok() && rest.is_empty(), "the oldest idle connection stayed");
    assert_eq!(get_kept_alive(&mut kept[1], "/api/v1/baselines"), 200, "the younger one is still served");
    server.shutdown();
}

/// Issue 19: the header timeout covers the wait between kept-alive requests too (hyper starts
/// it whenever it waits for a head), so idle kept-alive connections do not pile up.
#[test]
fn an_idle_kept_alive_connection_is_closed_after_the_header_timeout() {
    use std::io::Read;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let url = fill_store(&dir.path().join("history.db"), &small_fixture());
    let opts = ServeOptions {
        warm_up: false,
        header_timeout: Duration::from_millis(300),
        ..ServeOptions::default()
    };
    let server = start(&url, "127.0.0.1:0".parse().unwrap(), opts).unwrap();
    let mut s = std::net::TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(get_kept_alive(&mut s, "/api/v1/runs"), 200);
    let mut rest = Vec::new();
    let read = s.read_to_end(&mut rest);
    assert!(read.is_ok(), "the idle kept-alive connection was held open: {read:?}");
    server.shutdown();
}

/// Issue 19: a push that declared a body and then stalled held its connection (busy, so never
/// evicted) for as long as the client liked. Now a body that stops arriving for the idle
/// timeout gets 408 and the connection is closed.
#[test]
fn a_stalled_request_body_gets_408() {
    use std::io::{Read, Write};
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let (server, _url, token) = sqlite_team_server_with(
        dir.path(),
        ServeOptions { header_timeout: Duration::from_millis(300), ..ServeOptions::default() },
    );
    let addr = server.addr();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST /api/v1/runs HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"schema_"
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let read = s.read_to_end(&mut raw);
    assert!(read.is_ok(), "the stalled body held the connection: {read:?}");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("stalled"), "{text}");
    server.shutdown();
}

/// Issue 19: failed authentications were not limited, so a client could try tokens as fast as
/// the store could check them. Now each address has an allowance of failures (three here);
/// beyond it every credentialed request from it gets 429 with `Retry-After`, even with a
/// good token, until the allowance refills. Requests without credentials are not failures.
#[test]
fn failed_authentications_are_limited_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let limit = perfwatch_server::RateLimit { per_second: 0.001, burst: 3 };
    let (server, _url, token) = sqlite_team_server_with(
        dir.path(),
        ServeOptions { auth_failure_limit: Some(limit), ..ServeOptions::default() },
    );
    let addr = server.addr();
    let body = serde_json::to_vec(&common::report(&small_fixture(), 1)).unwrap();
    for _ in 0..3 {
        let (status, text) = post(addr, "pw_not-a-token", &body);
        assert_eq!(status, 401, "{text}");
    }
    let (status, text) = post(addr, "pw_not-a-token", &body);
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("too many failed authentications"), "{text}");
    let (status, _) = post(addr, &token, &body);
    assert_eq!(status, 429, "a blocked address is refused before its token is checked");
    assert_eq!(get(addr, "/api/v1/runs").status, 200, "reads without credentials are not failures");
    server.shutdown();
}

/// Issue 19: one push of 20,000 series made `GET /` a 31 MB page built from every history. The
/// overview is now paged: each page reads, holds and sends only its own series, and links its
/// neighbours. Here 8 series, 3 per page.
#[test]
fn the_overview_is_paged() {
    let dir = tempfile::tempdir().unwrap();
    let url = fill_store(&dir.path().join("history.db"), &small_fixture());
    let opts = ServeOptions { warm_up: false, overview_page_size: 3, ..ServeOptions::default() };
    let server = start(&url, "127.0.0.1:0".parse().unwrap(), opts).unwrap();
    let addr = server.addr();
    let rows = |body: &str| body.matches("<tr data-name=").count();
    let first = get(addr, "/");
    assert_eq!(first.status, 200);
    assert!(first.body.contains("series 1–3 of 8") && first.body.contains("page 1 of 3"), "{}", first.body);
    assert_eq!(rows(&first.body), 3);
    assert!(first.body.contains("href=\"?page=2\" rel=\"next\""));
    let last = get(addr, "/?page=3");
    assert!(last.body.contains("series 7–8 of 8"), "{}", last.body);
    assert_eq!(rows(&last.body), 2);
    assert_eq!(get(addr, "/index.html?page=2").body.matches("<tr data-name=").count(), 3);
    // Past the end: the last page; not a count: 400.
    assert!(get(addr, "/?page=99").body.contains("series 7–8 of 8"));
    assert_eq!(get(addr, "/?page=0").status, 400);
    assert_eq!(get(addr, "/?page=x").status, 400);
    // Every series is on exactly one page.
    let all: usize = (1..=3).map(|p| rows(&get(addr, &format!("/?page={p}")).body)).sum();
    assert_eq!(all, 8);
    // The series API pages the same way on request.
    let api: serde_json::Value =
        serde_json::from_str(&get(addr, "/api/v1/series?offset=6&limit=5").body).unwrap();
    assert_eq!(api["series"].as_array().unwrap().len(), 2);
    assert_eq!(get(addr, "/api/v1/series?limit=-1").status, 400);
    server.shutdown();
}

/// The fill of the frame whose tooltip starts with `name (` in a flame graph.
fn fill_of(svg: &str, name: &str) -> (u8, u8, u8) {
    let at = svg.find(&format!("<title>{name} (")).unwrap_or_else(|| panic!("no frame {name}"));
    let rest = &svg[at..];
    let fill = &rest[rest.find("fill=\"rgb(").unwrap() + 10..];
    let parts: Vec<u8> =
        fill[..fill.find(')').unwrap()].split(',').map(|p| p.trim().parse().unwrap()).collect();
    (parts[0], parts[1], parts[2])
}

/// `/explain` and `/explain/diff.svg` (issue 17): the ranked functions and the differential
/// flame graph of a case between two stored runs, red where a function got slower and blue
/// where it got faster; the comparison and change-point views link them only where both runs
/// stored the case's profile; missing runs or profiles are 404 pages, malformed queries 400;
/// a frame named like markup stays text; the graph's own script is allowed by its hash alone.
#[test]
fn explanations_of_stored_profiles() {
    use base64::Engine as _;
    use perfwatch_report::html::explain_href;
    use sha2::Digest as _;

    let dir = tempfile::tempdir().unwrap();
    let (f, url) = common::profiled_store(&dir.path().join("history.db"));
    common::add_profiles(&url, &f, &[(1, 20, common::BASE_PROFILE)]);
    {
        // Two runs profiled with different profilers do not compare.
        let mut store = perfwatch_store::open(&url).unwrap();
        let perf =
            perfwatch_model::Profile::from_folded(perfwatch_model::Profiler::Perf, "main;f 3\n").unwrap();
        store.add_profile(&run_id(21), &f.cases[1], &perf).unwrap();
    }
    let server = start(&url, "127.0.0.1:0".parse().unwrap(), ServeOptions::default()).unwrap();
    let addr = server.addr();
    let (r58, r59) = (run_id(58), run_id(59));
    let sort = &f.cases[0];

    // The comparison of the two newest runs links the two profiled cases (a row per metric).
    let cmp = get(addr, "/compare-latest.html");
    assert_eq!(cmp.status, 200);
    assert_eq!(cmp.body.matches("where? (flame graph)").count(), 4, "sort[n=1000] and the XSS case");
    let href = explain_href(sort, &r58, &r59);
    assert!(cmp.body.contains(&format!("href=\"{}\"", href.replace('&', "&amp;"))), "{href}");
    assert!(
        !cmp.body.contains(&explain_href(&f.cases[2], &r58, &r59).replace('&', "&amp;")),
        "import: one side"
    );
    let older = get(addr, &format!("/compare.html?baseline={}&candidate={}", run_id(10), run_id(50)));
    assert!(!older.body.contains("flame graph"), "no profiles in those runs");

    // The change point of sort[n=1000] (run 40, after run 39) links its explanation.
    let data = get(addr, &format!("/{}", case_data_href(sort)));
    let cp_href = explain_href(sort, &run_id(39), &run_id(40)).replace('&', "\\u0026");
    assert!(data.body.contains(&format!("\"x\":\"{cp_href}\"")), "{}", data.body);
    assert!(!get(addr, &format!("/{}", case_data_href(&f.cases[1]))).body.contains("\"x\":"));

    // The page: both runs, the ranked functions, the graph embedded; its own policy adds
    // `object-src 'self'` and `frame-src 'self'` for it, nothing else.
    let page = get(addr, &format!("/{href}"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("object-src 'self'") && csp.contains("frame-src 'self'"), "{csp}");
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    for text in [
        "<code>beta</code>",
        "<code>gamma</code>",
        "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>",
        &r58,
        &r59,
    ] {
        assert!(page.body.contains(text), "{text}");
    }
    assert!(!page.body.contains("<script>alert"));
    let svg_href = perfwatch_report::html::explain_svg_href(sort, &r58, &r59);
    assert!(page.body.contains(&format!(
        "<object id=\"pw-flame\" class=\"flame\" type=\"image/svg+xml\" data=\"{}\"",
        svg_href.replace('&', "&amp;")
    )));
    // Beta explains the change: +200 of the +110 in all (gamma −50, the XSS frame +10).
    let beta = page.body.find("<code>beta</code>").unwrap();
    assert!(beta < page.body.find("<code>gamma</code>").unwrap(), "ranked by share of the change");

    // The graph: red where the cost grew, blue where it shrank; the frame named like markup
    // is escaped text; only inferno's script, allowed by its hash, not by 'unsafe-inline'.
    let svg = get(addr, &format!("/{svg_href}"));
    assert_eq!(svg.status, 200, "{}", svg.body);
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    let (r, g, b) = fill_of(&svg.body, "beta");
    assert!(r > g && r > b, "beta grew: rgb({r},{g},{b})");
    let (r, g, b) = fill_of(&svg.body, "gamma");
    assert!(b > r && b > g, "gamma shrank: rgb({r},{g},{b})");
    assert!(svg.body.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt; ("), "escaped frame name");
    assert!(!svg.body.contains("<script>alert"));
    assert_eq!(svg.body.matches("<script").count(), 1);
    let csp = svg.header("content-security-policy").unwrap();
    let code = perfwatch_report::flame::graph_code(&svg.body).unwrap();
    let hash = |s: &str| base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(s.as_bytes()));
    let want =
        format!("script-src 'sha256-{}' 'unsafe-hashes' 'sha256-{}';", hash(&code.script), hash("init(evt)"));
    assert!(csp.contains(&want), "{csp}");
    let script_src = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
    assert!(!script_src.contains("unsafe-inline") && csp.contains("frame-ancestors 'self'"), "{csp}");
    assert!(!csp.contains("script-src 'self'"), "{csp}");
    // Every other answer keeps the dashboard's policy.
    let index = get(addr, "/");
    assert!(index.header("content-security-policy").unwrap().contains("script-src 'self'; style-src"));
    assert!(index.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"));

    // The XSS-named case (case ids are compared as displayed text).
    let xss = get(addr, &format!("/{}", explain_href(&f.cases[3], &r58, &r59)));
    assert_eq!(xss.status, 200);
    assert!(!xss.body.contains(XSS) && xss.body.contains("<h1>&lt;script&gt;alert(1)&lt;/script&gt;: where"));

    // Missing runs and profiles: 404 notice pages, for the page and the graph alike.
    let q = |case: &str, base: &str, head: &str| format!("case={case}&base={base}&head={head}");
    let sort_q = "sort%5Bn%3D1000%5D";
    for (query, why) in [
        (q(sort_q, &run_id(58), "0190b6a8-0000-7000-8000-00000000ffff"), "No stored run"),
        (q(sort_q, &run_id(10), &r59), "no stored profile"),
        (q(sort_q, &r59, &run_id(11)), "no stored profile"),
        (q("import", &r58, &r59), "no stored profile"),
        (q("nope", &r58, &r59), "no stored profile"),
        (q("sort%5Bn%3D1000%2Cx%3D1%5D", &r58, &r59), "no stored profile"),
    ] {
        for path in ["/explain", "/explain/diff.svg"] {
            let r = get(addr, &format!("{path}?{query}"));
            assert_eq!(r.status, 404, "{path}?{query}");
            assert!(r.header("content-type").unwrap().starts_with("text/html"));
            assert!(r.body.contains(why), "{path}?{query}: {}", r.body);
        }
    }
    // Bad queries: 400.
    let long = "x".repeat(5000);
    for query in [
        String::new(),
        format!("case={sort_q}&base={r58}"),
        format!("base={r58}&head={r59}"),
        q("", &r58, &r59),
        q(sort_q, "..%2F..%2Fetc", &r59),
        q(sort_q, &r58, "%3Cscript%3E"),
        q(&long, &r58, &r59),
    ] {
        for path in ["/explain", "/explain/diff.svg"] {
            let r = get(addr, &format!("{path}?{query}"));
            assert_eq!(r.status, 400, "{path}?{query}");
            assert!(r.body.contains("Bad request"));
        }
    }
    // Profiles of different profilers do not compare: 400, saying why.
    let mixed = get(addr, &format!("/explain?{}", q("sort%5Bn%3D100000%5D", &run_id(20), &run_id(21))));
    assert_eq!(mixed.status, 400);
    assert!(mixed.body.contains("callgrind and perf"), "{}", mixed.body);
    server.shutdown();
}

/// The static report writes each explanation its comparison and change-point views link, as a
/// page and a flame graph beside it (there is no server to draw them).
#[test]
fn the_static_site_writes_the_explanations_it_links() {
    use perfwatch_report::html::explain_files;
    let dir = tempfile::tempdir().unwrap();
    let (f, url) = common::profiled_store(&dir.path().join("history.db"));
    let mut store = perfwatch_store::open(&url).unwrap();
    let out = dir.path().join("site");
    let summary =
        write_site(store.as_mut(), &out, &SiteOptions { max_run_pages: 5, ..SiteOptions::default() })
            .unwrap();
    // Latest comparison: sort[n=1000] and the XSS case; the change point of sort[n=1000].
    assert_eq!(summary.explanations, 3, "{summary:?}");
    let (r58, r59) = (run_id(58), run_id(59));
    let (page, svg) = explain_files(&f.cases[0], &r58, &r59);
    let cmp = std::fs::read_to_string(out.join("compare-latest.html")).unwrap();
    assert!(cmp.contains(&format!("<a class=\"explain\" href=\"{page}\">where? (flame graph)</a>")), "{cmp}");
    assert_eq!(cmp.matches("where? (flame graph)").count(), 4);
    let html = std::fs::read_to_string(out.join(&page)).unwrap();
    assert!(html.contains(&format!("data=\"{svg}\"")) && html.contains("<code>beta</code>"));
    assert!(html.contains(&format!("<a href=\"run-{r59}.html\">")), "the newest run has a page");
    let graph = std::fs::read_to_string(out.join(&svg)).unwrap();
    let (r, g, b) = fill_of(&graph, "beta");
    assert!(r > g && r > b);
    assert!(!graph.contains("<script>alert"));
    let (cp_page, cp_svg) = explain_files(&f.cases[0], &run_id(39), &run_id(40));
    assert!(out.join(&cp_page).exists() && out.join(&cp_svg).exists());
    let data = std::fs::read_to_string(out.join(case_data_href(&f.cases[0]))).unwrap();
    assert!(data.contains(&format!("\"x\":\"{cp_page}\"")), "{data}");
    let (xss_page, _) = explain_files(&f.cases[3], &r58, &r59);
    assert!(!std::fs::read_to_string(out.join(xss_page)).unwrap().contains(XSS));
}
