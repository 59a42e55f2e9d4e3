//! Helpers of the team-mode tests (also used by the PostgreSQL restart test binary): a
//! fresh PostgreSQL schema, real `perfwatch serve` processes, a raw HTTP client, run reports.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use perfwatch_store::RunFilter;

use crate::util::*;

pub use perfwatch_testkit::http::{Reply, request as http};

// ------------------------------------------------------------------------------ helpers

pub fn pg_base_url() -> String {
    std::env::var("PERFWATCH_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A schema of its own on the test server, dropped on drop.
pub struct PgSchema {
    base: String,
    name: String,
}

impl PgSchema {
    pub fn new() -> PgSchema {
        let base = pg_base_url();
        let name = format!("pw_test_{}", uuid::Uuid::now_v7().simple());
        let mut c = postgres::Client::connect(&base, postgres::NoTls)
            .unwrap_or_else(|e| panic!("these tests need PostgreSQL at {base}: {e}"));
        c.batch_execute(&format!("CREATE SCHEMA \"{name}\"")).unwrap();
        PgSchema { base, name }
    }

    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}schema={}", self.base, self.name)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.base, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name));
        }
    }
}

pub fn perfwatch() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_perfwatch"));
    c.env_remove("PERFWATCH_DB").env_remove("PERFWATCH_TOKEN");
    c
}

/// `perfwatch token create NAME` on the store at `db`; the secret.
pub fn create_token(db: &str, name: &str, read_only: bool) -> String {
    let mut c = perfwatch();
    c.args(["token", "create", name, "--db", db]);
    if read_only {
        c.arg("--read-only");
    }
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(secret.starts_with("pw_") && secret.len() == 67, "{secret}");
    secret
}

/// A real `perfwatch serve` process on 127.0.0.1 (a free port), killed on drop; its stderr
/// (the request log) is collected.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(db: &str, extra: &[&str]) -> Server {
        let default_addr: &[&str] = if extra.contains(&"--addr") { &[] } else { &["--addr", "127.0.0.1:0"] };
        let mut child = perfwatch()
            .args(["serve", "--db", db])
            .args(default_addr)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!("perfwatch serve exited before listening: {seen:?}");
            };
            if let Some(rest) = line.strip_prefix("perfwatch dashboard on http://") {
                break rest.split(' ').next().unwrap().parse().unwrap();
            }
            seen.push(line);
        };
        let log = Arc::new(Mutex::new(seen));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Server { child, addr, log }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL, and wait until it is gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn post_run(addr: SocketAddr, token: Option<&str>, body: &[u8]) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    http(addr, "POST", "/api/v1/runs", &headers, body)
}

pub fn get_with(addr: SocketAddr, path: &str, token: Option<&str>) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    http(addr, "GET", path, &headers, b"")
}

pub const QUICK_SUITE: &str = r#"
[defaults]
warmup = 0
min_runs = 3
max_runs = 3
[[bench]]
name = "quick"
command = ["{fake}", "sleep", "1"]
"#;

/// A real run report, as `perfwatch run --format json` prints it (raw samples included).
pub fn real_report() -> serde_json::Value {
    let suite = Suite::new(QUICK_SUITE);
    let out = suite.run(&["run", "--format", "json", "--no-save"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc = json(&out);
    assert!(doc["benchmarks"][0]["raw"].as_array().is_some_and(|r| r.len() == 3), "{doc}");
    doc
}

/// `template` with run id `id` and start time `i` seconds after it.
pub fn report_with_id(template: &serde_json::Value, id: &str, i: u64) -> serde_json::Value {
    let mut r = template.clone();
    r["run"]["id"] = serde_json::json!(id);
    let t: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    r["run"]["started_at"] = serde_json::json!((t + jiff::SignedDuration::from_secs(i as i64)).to_string());
    r
}

pub fn count_runs(db: &str) -> usize {
    perfwatch_store::open(db).unwrap().list_runs(&RunFilter::default()).unwrap().len()
}
