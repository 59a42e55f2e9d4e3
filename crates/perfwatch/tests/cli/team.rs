//! Team mode end to end: real `perfwatch serve` processes on 127.0.0.1 over the real
//! PostgreSQL server (a fresh schema per test), real `perfwatch push` / `run --push`
//! processes with their own SQLite stores, tokens made by `perfwatch token`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::Duration;

use perfwatch_store::{PushState, RunFilter};

use crate::team_util::*;
use crate::util::*;

// ------------------------------------------------------------------------------ tests

/// 8 runners, each with 50 runs in its own local store, push into one server at once — and
/// every run is pushed twice, by two `perfwatch push` processes racing on the same store:
/// 400 runs arrive, none twice.
#[test]
fn concurrent_pushers_store_every_run_exactly_once() {
    let pg = PgSchema::new();
    let server = Server::start(&pg.url(), &[]);
    let template = real_report();
    let dirs: Vec<tempfile::TempDir> = (0..8).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut tokens = Vec::new();
    for (r, dir) in dirs.iter().enumerate() {
        let db = format!("sqlite://{}", dir.path().join("history.db").display());
        let mut store = perfwatch_store::open(&db).unwrap();
        for i in 0..50u64 {
            let id = format!("0190b6a8-0000-7000-8000-{r:04x}{i:08x}");
            let report: perfwatch_model::RunReport =
                serde_json::from_value(report_with_id(&template, &id, r as u64 * 1000 + i)).unwrap();
            store.insert_run(&report).unwrap();
            store.set_push_state(&id, Some(PushState::Unpushed)).unwrap();
        }
        tokens.push(create_token(&pg.url(), &format!("runner-{r}"), false));
    }
    // Two pushers per local store, all 16 at once.
    let children: Vec<(usize, Child)> = (0..16)
        .map(|k| {
            let r = k % 8;
            let db = format!("sqlite://{}", dirs[r].path().join("history.db").display());
            let child = perfwatch()
                .args(["push", &server.url(), "--all", "--db", &db])
                .env("PERFWATCH_TOKEN", &tokens[r])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (r, child)
        })
        .collect();
    let mut new_total = 0;
    let mut already_total = 0;
    for (r, child) in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "pusher for store {r}: {}", describe(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        let summary =
            err.lines().find(|l| l.starts_with("pushed 50 of 50 runs")).unwrap_or_else(|| panic!("{err}"));
        let num = |after: &str| -> usize {
            let i = summary.find(after).unwrap();
            summary[..i].rsplit(['(', ' ']).next().unwrap().parse().unwrap()
        };
        new_total += num(" new");
        already_total += num(" the server had already");
    }
    assert_eq!((new_total, already_total), (400, 400), "every run was created exactly once");

    let mut store = perfwatch_store::open(&pg.url()).unwrap();
    let runs = store.list_runs(&RunFilter::default()).unwrap();
    assert_eq!(runs.len(), 400);
    let ids: std::collections::BTreeSet<&str> = runs.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids.len(), 400);
    let case = perfwatch_model::CaseId::new("quick", Vec::<(&str, &str)>::new());
    assert_eq!(store.history(&case, "wall", None).unwrap().len(), 400, "one summary per run");
    let one = store.run("0190b6a8-0000-7000-8000-00030000002a").unwrap().expect("run 42 of runner 3");
    let sent: perfwatch_model::RunReport =
        serde_json::from_value(report_with_id(&template, "0190b6a8-0000-7000-8000-00030000002a", 3042))
            .unwrap();
    assert_eq!(one, sent, "stored exactly as pushed, raw samples included");
    // Every local run is marked pushed; a further `push` has nothing to send.
    for dir in &dirs {
        let db = format!("sqlite://{}", dir.path().join("history.db").display());
        assert!(perfwatch_store::open(&db).unwrap().unpushed_runs().unwrap().is_empty());
    }
    let db0 = format!("sqlite://{}", dirs[0].path().join("history.db").display());
    let out = perfwatch()
        .args(["push", &server.url(), "--db", &db0])
        .env("PERFWATCH_TOKEN", &tokens[0])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to push"), "{}", describe(&out));
    // The request log names tokens, never their secrets.
    let log = server.log_text();
    assert!(log.contains("\"token\":\"runner-3\""), "{log}");
    for t in &tokens {
        assert!(!log.contains(t.as_str()), "a token secret is in the log");
    }
}

/// Who may do what, and what the server says to bad input.
#[test]
fn tokens_limits_and_validation() {
    let pg = PgSchema::new();
    let db = pg.url();
    let writer = create_token(&db, "ci-1", false);
    let reader = create_token(&db, "viewer", true);
    let doomed = create_token(&db, "old-runner", false);
    let server = Server::start(&db, &["--max-body", "64KiB"]);
    let addr = server.addr;
    let template = real_report();
    let body = |id: &str, i: u64| report_with_id(&template, id, i).to_string().into_bytes();

    // Writes need a valid write token.
    let r = post_run(addr, None, &body("r-1", 1));
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.error().contains("Authorization: Bearer"), "{}", r.body);
    assert!(r.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")));
    let wrong = format!("pw_{}", "0".repeat(64));
    assert_eq!(post_run(addr, Some(&wrong), &body("r-1", 1)).status, 401);
    assert_eq!(post_run(addr, Some(&writer[..60]), &body("r-1", 1)).status, 401, "a prefix is no token");
    let r = http(addr, "POST", "/api/v1/runs", &[("Authorization", "Token abc")], &body("r-1", 1));
    assert_eq!(r.status, 401);
    let r = post_run(addr, Some(&reader), &body("r-1", 1));
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.error().contains("read-only"), "{}", r.body);
    assert_eq!(count_runs(&db), 0);

    let r = post_run(addr, Some(&writer), &body("r-1", 1));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json(), serde_json::json!({"id": "r-1", "created": true}));
    assert_eq!(r.header("location"), Some("/api/v1/runs/r-1"));
    let r = post_run(addr, Some(&writer), &body("r-1", 1));
    assert_eq!((r.status, r.json()["created"].clone()), (200, serde_json::json!(false)), "{}", r.body);

    // Revoked: refused from the next request on.
    assert_eq!(post_run(addr, Some(&doomed), &body("r-2", 2)).status, 201);
    let out = perfwatch().args(["token", "revoke", "old-runner", "--db", &db]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let r = post_run(addr, Some(&doomed), &body("r-3", 3));
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.error().contains("revoked"), "{}", r.body);
    let list = perfwatch().args(["token", "list", "--db", &db]).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(list.contains("old-runner\twrite") && list.contains("revoked"), "{list}");
    assert!(list.contains("viewer\tread") && !list.contains("pw_"), "{list}");

    // Too large: by Content-Length, and streamed (chunked) past the limit.
    let auth = format!("Bearer {writer}");
    let r =
        http(addr, "POST", "/api/v1/runs", &[("Authorization", &auth), ("Content-Length", "102400")], b"");
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.error().contains("65536 bytes"), "{}", r.body);
    let mut chunked = Vec::new();
    for _ in 0..10 {
        chunked.extend_from_slice(format!("{:x}\r\n", 10 << 10).as_bytes());
        chunked.extend(std::iter::repeat_n(b' ', 10 << 10));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let r = http(
        addr,
        "POST",
        "/api/v1/runs",
        &[("Authorization", &auth), ("Transfer-Encoding", "chunked")],
        &chunked,
    );
    assert_eq!(r.status, 413, "{}", r.body);

    // Malformed and schema-invalid bodies: 400 saying what and where.
    let r = post_run(addr, Some(&writer), b"{\"schema_version\": 1, \"run\": ");
    assert_eq!(r.status, 400);
    assert!(r.error().contains("not valid JSON") && r.error().contains("line 1"), "{}", r.body);
    let mut bad = report_with_id(&template, "r-4", 4);
    bad["run"]["host"]["cores"] = serde_json::json!("two");
    let r = post_run(addr, Some(&writer), bad.to_string().as_bytes());
    assert_eq!(r.status, 400);
    assert!(r.error().contains("/run/host/cores") && r.error().contains("integer"), "{}", r.body);
    let mut bad = report_with_id(&template, "r-4", 4);
    bad["benchmarks"][0]["status"] = serde_json::json!("great");
    let r = post_run(addr, Some(&writer), bad.to_string().as_bytes());
    assert_eq!(r.status, 400);
    assert!(r.error().contains("/benchmarks/0/status"), "{}", r.body);
    assert_eq!(post_run(addr, Some(&writer), b"[]").status, 400);
    assert_eq!(count_runs(&db), 2, "nothing bad was stored");

    // SQL metacharacters and markup in names are stored and shown literally.
    let sql = "x'); DROP TABLE runs; --";
    let html = "<script>alert('pw')</script>";
    let mut nasty = report_with_id(&template, "r-5", 5);
    nasty["benchmarks"][0]["name"] = serde_json::json!(html);
    nasty["benchmarks"][0]["params"] = serde_json::json!({ "q": sql });
    nasty["run"]["labels"] = serde_json::json!({ sql: html });
    let r = post_run(addr, Some(&writer), nasty.to_string().as_bytes());
    assert_eq!(r.status, 201, "{}", r.body);
    let back = get_with(addr, "/api/v1/runs/r-5", None).json();
    assert_eq!(back["benchmarks"][0]["name"], html);
    assert_eq!(back["benchmarks"][0]["params"]["q"], sql);
    assert_eq!(back["run"]["labels"][sql], html);
    let page = get_with(addr, "/", None);
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(html), "raw markup on the dashboard");
    assert!(page.body.contains("&lt;script&gt;"), "the name is shown, escaped");
    assert_eq!(count_runs(&db), 3, "the runs table survived");

    // The log: one JSON line per request, with token names, never secrets.
    let log = server.log_text();
    let lines: Vec<serde_json::Value> =
        log.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.iter().any(|l| l["status"] == 403 && l["token"] == "viewer"), "{log}");
    assert!(
        lines.iter().any(|l| l["status"] == 201 && l["token"] == "ci-1" && l["method"] == "POST"),
        "{log}"
    );
    assert!(lines.iter().any(|l| l["status"] == 401 && l["token"].is_null()), "{log}");
    for secret in [&writer, &reader, &doomed, &wrong] {
        assert!(!log.contains(secret.as_str()), "a token secret is in the log:\n{log}");
    }
}

/// `serve --private`: reads need a token too (Bearer, or Basic with the token as password);
/// the per-token rate limit answers 429 with Retry-After.
#[test]
fn private_server_and_rate_limit() {
    let pg = PgSchema::new();
    let db = pg.url();
    let reader = create_token(&db, "viewer", true);
    // One request per 1000 s after a burst of 3: the 4th in a row is refused.
    let server = Server::start(&db, &["--private", "--rate-limit", "0.001", "--rate-burst", "3"]);
    let addr = server.addr;
    let r = get_with(addr, "/api/v1/runs", None);
    assert_eq!(r.status, 401, "{}", r.body);
    let page = get_with(addr, "/", None);
    assert_eq!(page.status, 401);
    assert!(page.header("www-authenticate").is_some_and(|v| v.starts_with("Basic")), "browsers prompt");
    assert_eq!(get_with(addr, "/api/v1/runs", Some(&format!("pw_{}", "1".repeat(64)))).status, 401);
    assert_eq!(get_with(addr, "/api/v1/runs", Some(&reader)).status, 200);
    assert_eq!(get_with(addr, "/api/v1/baselines", Some(&reader)).status, 200);
    let basic = format!("Basic {}", base64_encode(format!("anyone:{reader}").as_bytes()));
    assert_eq!(http(addr, "GET", "/", &[("Authorization", &basic)], b"").status, 200);
    let r = get_with(addr, "/api/v1/runs", Some(&reader));
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some_and(|v| v.parse::<u64>().unwrap() >= 1));
    assert!(r.error().contains("rate limit"), "{}", r.body);
    // Another token has its own bucket.
    let other = create_token(&db, "viewer-2", true);
    assert_eq!(get_with(addr, "/api/v1/runs", Some(&other)).status, 200);
}

fn base64_encode(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// When the proxy in front of the server kills it.
#[derive(Clone, Copy)]
enum KillAt {
    /// After the request arrived, before the server saw it.
    BeforeStoring,
    /// After the server stored the run and answered, before the answer reaches the runner.
    AfterStoring,
}

/// A one-connection proxy on 127.0.0.1 in front of `server`: it takes one request, kills the
/// server at `when`, drops the runner's connection without an answer and stops listening.
fn killing_proxy(server: Server, when: KillAt) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let mut server = server;
        let (mut client, _) = listener.accept().unwrap();
        drop(listener);
        client.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        // Read the whole request: headers, then Content-Length bytes.
        let mut req = Vec::new();
        let mut buf = [0u8; 65536];
        let header_end = loop {
            let n = client.read(&mut buf).unwrap();
            assert!(n > 0, "runner closed early");
            req.extend_from_slice(&buf[..n]);
            if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&req[..header_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse().unwrap())
            .expect("a push has a Content-Length");
        while req.len() < header_end + len {
            let n = client.read(&mut buf).unwrap();
            assert!(n > 0);
            req.extend_from_slice(&buf[..n]);
        }
        if let KillAt::AfterStoring = when {
            let reply = forward(server.addr, &req);
            assert!(reply.starts_with("HTTP/1.1 201"), "{reply}");
        }
        server.kill();
        drop(client);
    });
    (addr, h)
}

/// Sends raw request bytes (with `Connection: close` forced) and returns the raw answer.
fn forward(addr: SocketAddr, req: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    let text = String::from_utf8_lossy(req);
    let (head, _) = text.split_once("\r\n\r\n").unwrap();
    let head_len = head.len() + 4;
    let head: String = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    s.write_all(format!("{head}Connection: close\r\n\r\n").as_bytes()).unwrap();
    s.write_all(&req[head_len..]).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The server dies in the middle of `run --push`: the run stays in the runner's store,
/// marked unpushed, and a later `perfwatch push` delivers it exactly once — whether the dead
/// server had stored it or not.
#[test]
fn server_killed_mid_push_keeps_the_run_unpushed_and_push_delivers_it_once() {
    for when in [KillAt::BeforeStoring, KillAt::AfterStoring] {
        let pg = PgSchema::new();
        let db = pg.url();
        let token = create_token(&db, "ci-1", false);
        let server = Server::start(&db, &[]);
        let (proxy, proxy_thread) = killing_proxy(server, when);
        let suite = Suite::new(QUICK_SUITE);
        let out = suite
            .cmd(&[
                "run",
                "--push",
                &format!("http://{proxy}"),
                "--retry-for",
                "1s",
                "--request-timeout",
                "20s",
            ])
            .env("PERFWATCH_TOKEN", &token)
            .output()
            .unwrap();
        proxy_thread.join().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "a failed push does not change the exit code: {}",
            describe(&out)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("saved locally but not pushed") && err.contains("perfwatch push"), "{err}");
        let local = format!("sqlite://{}", suite.db().display());
        let mut store = perfwatch_store::open(&local).unwrap();
        let id = store.latest_run(&RunFilter::default()).unwrap().unwrap().id;
        assert_eq!(store.unpushed_runs().unwrap(), vec![id.clone()]);
        let expected_on_server = match when {
            KillAt::BeforeStoring => 0,
            KillAt::AfterStoring => 1,
        };
        assert_eq!(count_runs(&db), expected_on_server);

        // Later, against a new server process on the same database.
        let server = Server::start(&db, &[]);
        let push = |extra: &[&str]| {
            let out = perfwatch()
                .args(["push", &server.url(), "--db", &local])
                .args(extra)
                .env("PERFWATCH_TOKEN", &token)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
            String::from_utf8_lossy(&out.stderr).into_owned()
        };
        let err = push(&[]);
        let expect = match when {
            KillAt::BeforeStoring => "pushed 1 of 1 runs",
            KillAt::AfterStoring => "(0 new, 1 the server had already)",
        };
        assert!(err.contains(expect), "{err}");
        assert_eq!(store.push_state(&id).unwrap(), Some(PushState::Pushed));
        assert!(push(&[]).contains("nothing to push"));
        assert!(push(&[&id[..13]]).contains("(0 new, 1 the server had already)"));
        let mut remote = perfwatch_store::open(&db).unwrap();
        let runs = remote.list_runs(&RunFilter::default()).unwrap();
        assert_eq!(runs.len(), 1, "exactly once");
        assert_eq!(remote.run(&id).unwrap(), store.run(&id).unwrap(), "the same run, samples and all");
    }
}

/// Pushing without a token is a usage error before anything is measured; a bad token is a
/// clear, final error that leaves the runs unpushed.
#[test]
fn push_needs_a_token_and_reports_refusals() {
    let suite = Suite::new(QUICK_SUITE);
    let out =
        suite.cmd(&["run", "--push", "http://127.0.0.1:9"]).env_remove("PERFWATCH_TOKEN").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PERFWATCH_TOKEN"), "{}", describe(&out));
    assert!(!suite.db().exists(), "nothing was measured or saved");

    let pg = PgSchema::new();
    let server = Server::start(&pg.url(), &[]);
    let out = suite
        .cmd(&["run", "--push", &server.url()])
        .env("PERFWATCH_TOKEN", format!("pw_{}", "2".repeat(64)))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused the token") && err.contains("401"), "{err}");
    let local = format!("sqlite://{}", suite.db().display());
    assert_eq!(perfwatch_store::open(&local).unwrap().unpushed_runs().unwrap().len(), 1);
    let out = perfwatch()
        .args(["push", &server.url(), "--db", &local])
        .env("PERFWATCH_TOKEN", format!("pw_{}", "2".repeat(64)))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stay marked unpushed"), "{}", describe(&out));
    assert_eq!(count_runs(&pg.url()), 0);
}

/// A push started while the server is down keeps retrying (backoff on connection refused)
/// and delivers the run once the server comes up.
#[test]
fn push_retries_until_the_server_is_up() {
    let pg = PgSchema::new();
    let db = pg.url();
    let token = create_token(&db, "ci-1", false);
    let suite = Suite::new(QUICK_SUITE);
    let out = suite.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let local = format!("sqlite://{}", suite.db().display());
    // A port that is free now; the server will listen on it later.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let mut push = perfwatch()
        .args(["push", &url, "--all", "--retry-for", "60s", "--db", &local])
        .env("PERFWATCH_TOKEN", &token)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(push.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("retrying in") {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut err, &mut line).unwrap() > 0, "push ended: {seen}");
        seen.push_str(&line);
    }
    assert!(seen.contains("cannot reach"), "{seen}");
    let _server = Server::start(&db, &["--addr", &format!("127.0.0.1:{port}")]);
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let status = push.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen}{rest}");
    assert!(rest.contains("pushed 1 of 1 runs") && rest.contains("(1 new,"), "{seen}{rest}");
    assert_eq!(count_runs(&db), 1);
}

/// Binding beyond loopback says what that exposes; on 127.0.0.1 nothing is said.
#[test]
fn serving_beyond_loopback_warns_and_loopback_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("history.db").display());
    perfwatch_store::open(&db).unwrap();
    let open = Server::start(&db, &["--addr", "0.0.0.0:0"]);
    let warning = wait_for("the exposure warning", || {
        let log = open.log_text();
        log.contains("reachable from other machines").then_some(log)
    });
    assert!(warning.contains("add --private"), "{warning}");
    let private = Server::start(&db, &["--addr", "0.0.0.0:0", "--private"]);
    let warning = wait_for("the plain-HTTP warning", || {
        let log = private.log_text();
        log.contains("reachable from other machines").then_some(log)
    });
    assert!(warning.contains("plain HTTP") && !warning.contains("add --private"), "{warning}");
    let local = Server::start(&db, &[]);
    // A request answered proves the server is past its start-up messages.
    let reply = get_with(local.addr, "/api/v1/runs", None);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(!local.log_text().contains("reachable from other machines"), "{}", local.log_text());
}

/// Credentials written into the server URL never appear in what push prints, and a redirect
/// is a refusal that says where to push instead (it is not followed: the token would go along).
#[test]
fn push_hides_url_credentials_and_explains_a_redirect() {
    let suite = Suite::new(QUICK_SUITE);
    assert_eq!(suite.run(&["run"]).status.code(), Some(0));
    let local = format!("sqlite://{}", suite.db().display());
    let token = format!("pw_{}", "3".repeat(64));
    // Nobody listens on a port that was just free: connection refused, retried, given up.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = perfwatch()
        .args(["push", &format!("http://ci:s3cret-pass@127.0.0.1:{port}"), "--all", "--retry-for", "1s"])
        .args(["--db", &local])
        .env("PERFWATCH_TOKEN", &token)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let text = describe(&out);
    assert!(!text.contains("s3cret"), "credentials printed: {text}");
    assert!(text.contains("http://***@127.0.0.1"), "{text}");

    // A server that answers every request with 307.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 65536];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 307 Temporary Redirect\r\nLocation: https://u:p@perf.example.com/api/v1/runs\r\n\
                  Content-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let out = perfwatch()
        .args(["push", &format!("http://{addr}"), "--all", "--db", &local])
        .env("PERFWATCH_TOKEN", &token)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let text = describe(&out);
    assert!(text.contains("307: the server redirects to https://***@perf.example.com/api/v1/runs"), "{text}");
}
