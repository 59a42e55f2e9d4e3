//! `perfwatch serve` survives a restart of the real PostgreSQL server: it answers 503 while
//! the database is down and serves (reads and pushes) again once it is back, without being
//! restarted itself.
//!
//! This restarts the machine's PostgreSQL cluster with `pg_ctlcluster` (as CI does, as root),
//! so it is a test binary of its own: cargo runs test binaries one after another, so no other
//! binary's PostgreSQL tests run meanwhile. Every wait is bounded.
#![cfg(all(feature = "server", feature = "postgres"))]

#[path = "cli/team_util.rs"]
mod team_util;
#[allow(dead_code)]
#[path = "cli/util.rs"]
mod util;

use std::process::Command;
use std::time::{Duration, Instant};

use team_util::*;

/// The (version, name) of the cluster listening on the test server's port, from
/// `pg_lsclusters`.
fn cluster() -> (String, String) {
    let out = Command::new("pg_lsclusters")
        .arg("-h")
        .output()
        .expect("this test needs pg_lsclusters (Debian's postgresql-common)");
    let text = String::from_utf8_lossy(&out.stdout);
    let port = pg_base_url()
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next()?.parse::<u16>().ok())
        .unwrap_or(5432);
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 3 && f[2].parse::<u16>().ok() == Some(port) {
            return (f[0].to_string(), f[1].to_string());
        }
    }
    panic!("no PostgreSQL cluster on port {port} in pg_lsclusters:\n{text}");
}

fn pg_ctl(action: &str) {
    let (ver, name) = cluster();
    let out = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", ver.as_str(), name.as_str(), action])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg_ctlcluster {ver} {name} {action}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits (at most 60 s) until PostgreSQL accepts connections.
fn wait_for_pg() {
    let start = Instant::now();
    while postgres::Client::connect(&pg_base_url(), postgres::NoTls).is_err() {
        assert!(start.elapsed() < Duration::from_secs(60), "PostgreSQL did not come back within 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Starts the cluster again even when the test fails half-way.
struct StartOnDrop;

impl Drop for StartOnDrop {
    fn drop(&mut self) {
        let (ver, name) = cluster();
        let _ = Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", ver.as_str(), name.as_str(), "start"])
            .output();
        wait_for_pg();
    }
}

#[test]
fn server_reconnects_after_postgres_restarts() {
    let pg = PgSchema::new();
    let db = pg.url();
    let token = create_token(&db, "ci-1", false);
    let server = Server::start(&db, &[]);
    let addr = server.addr;
    let template = real_report();
    let body = |id: &str, i: u64| report_with_id(&template, id, i).to_string().into_bytes();
    assert_eq!(post_run(addr, Some(&token), &body("before", 1)).status, 201);
    assert_eq!(get_with(addr, "/", None).status, 200);

    // A restart between two requests: the next ones are served (on new connections).
    let _guard = StartOnDrop;
    pg_ctl("restart");
    wait_for_pg();
    let r = post_run(addr, Some(&token), &body("after-restart", 2));
    assert_eq!(r.status, 201, "first push after the restart: {}", r.body);
    let r = get_with(addr, "/api/v1/runs", None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["runs"].as_array().unwrap().len(), 2);

    // Down: 503 with a message and Retry-After, for pushes and reads; the server stays up.
    pg_ctl("stop");
    let r = post_run(addr, Some(&token), &body("while-down", 3));
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.error().contains("database is unavailable"), "{}", r.body);
    assert!(r.header("retry-after").is_some());
    let r = get_with(addr, "/api/v1/runs", None);
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(get_with(addr, "/", None).status, 503);

    // Back: served again, and a push retried after the 503 is stored once.
    pg_ctl("start");
    wait_for_pg();
    let r = post_run(addr, Some(&token), &body("while-down", 3));
    assert_eq!(r.status, 201, "{}", r.body);
    let r = post_run(addr, Some(&token), &body("while-down", 3));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = get_with(addr, "/api/v1/runs", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let runs = r.json();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 3, "{runs}");
    assert_eq!(get_with(addr, "/", None).status, 200);
    assert_eq!(count_runs(&db), 3);
}
