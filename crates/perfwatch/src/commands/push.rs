//! `perfwatch push URL [RUN…]`, and the push client that `perfwatch run --push` uses too.
//!
//! One `POST /api/v1/runs` per run with the run report as JSON (raw samples included) and
//! `Authorization: Bearer $PERFWATCH_TOKEN`. Connection errors, timeouts, 5xx and 429 are
//! retried with exponential backoff and jitter (honouring `Retry-After`) for a bounded time;
//! any other 4xx is final and its message is shown. The server stores a run once whatever
//! the number of pushes, so a retry after a lost answer never duplicates it.

use std::time::{Duration, Instant};

use anyhow::Context;
use perfwatch_model::{RunStatus, exit_codes};
use perfwatch_store::{PushState, RunFilter, Store};

use crate::cli::{PushArgs, RetryArgs};

/// The environment variable holding the token.
pub const TOKEN_ENV: &str = "PERFWATCH_TOKEN";

/// Why a run was not delivered.
#[derive(Debug)]
pub enum Failure {
    /// The server refused this run (a 4xx other than 401, 403, 429): sending it again will
    /// not help.
    Rejected(String),
    /// The server refused the token (401, 403): no run can be pushed with it.
    Denied(String),
    /// No answer (or only 5xx / 429) until the retry time ran out, or a connection that can
    /// never work (bad TLS certificate, unknown scheme).
    Unreachable(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Rejected(m) => write!(f, "the server refused the run: {m}"),
            Failure::Denied(m) => write!(f, "the server refused the token: {m}"),
            Failure::Unreachable(m) => write!(f, "{m}"),
        }
    }
}

/// What one attempt gave.
enum Attempt {
    Done(bool),
    Retry(String, Option<Duration>),
    Fail(Failure),
}

/// A client for one team server.
pub struct Client {
    agent: ureq::Agent,
    /// The server as the user wrote it, for messages.
    pub url: String,
    endpoint: String,
    token: String,
    retry_for: Duration,
}

fn duration(flag: &str, text: &str) -> anyhow::Result<Duration> {
    perfwatch_config::parse_duration(text).map_err(|e| anyhow::anyhow!("--{flag} {text:?}: {}", e.message))
}

impl Client {
    /// A client for the server at `url`, with the token from `PERFWATCH_TOKEN`.
    pub fn new(url: &str, retry: &RetryArgs) -> anyhow::Result<Client> {
        let token = std::env::var(TOKEN_ENV).unwrap_or_default().trim().to_string();
        if token.is_empty() {
            anyhow::bail!(
                "pushing needs a token in {TOKEN_ENV} (an admin of the server creates one with \
                 `perfwatch token create NAME`)"
            );
        }
        let base = url.trim().trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            anyhow::bail!("server URL {url:?}: expected http://HOST[:PORT] or https://HOST[:PORT]");
        }
        let endpoint =
            if base.ends_with("/api/v1/runs") { base.to_string() } else { format!("{base}/api/v1/runs") };
        let timeout = duration("request-timeout", &retry.request_timeout)?;
        let retry_for = duration("retry-for", &retry.retry_for)?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .user_agent(concat!("perfwatch/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client { agent: config.into(), url: base.to_string(), endpoint, token, retry_for })
    }

    /// Sends one run report (JSON); `Ok(true)` if the server stored it now, `Ok(false)` if it
    /// had it already.
    pub fn push(&self, body: &[u8]) -> Result<bool, Failure> {
        let deadline = Instant::now() + self.retry_for;
        let mut attempt: u32 = 0;
        loop {
            let (message, retry_after) = match self.send_once(body) {
                Attempt::Done(created) => return Ok(created),
                Attempt::Fail(f) => return Err(f),
                Attempt::Retry(m, after) => (m, after),
            };
            // Exponential backoff, 0.25 s doubling up to 8 s, with "equal jitter" (half fixed,
            // half random) so that runners that failed together do not retry together.
            let base =
                Duration::from_millis(250).saturating_mul(1u32 << attempt.min(5)).min(Duration::from_secs(8));
            let jitter = base.mul_f64(0.5 * random_unit());
            let wait = (base / 2 + jitter).max(retry_after.unwrap_or_default());
            let now = Instant::now();
            if now + wait > deadline {
                let tries = attempt + 1;
                return Err(Failure::Unreachable(format!(
                    "{message} (gave up after {tries} attempt{}; --retry-for {:?})",
                    if tries == 1 { "" } else { "s" },
                    self.retry_for
                )));
            }
            eprintln!("warning: push to {}: {message}; retrying in {:.1} s", self.url, wait.as_secs_f64());
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    fn send_once(&self, body: &[u8]) -> Attempt {
        let res = self
            .agent
            .post(&self.endpoint)
            .header("Authorization", &format!("Bearer {}", self.token))
            .content_type("application/json")
            .send(body);
        let mut resp = match res {
            Ok(r) => r,
            Err(e) => {
                let message = format!("cannot reach {}: {e}", self.url);
                return match e {
                    ureq::Error::Io(_)
                    | ureq::Error::Timeout(_)
                    | ureq::Error::ConnectionFailed
                    | ureq::Error::HostNotFound
                    | ureq::Error::Protocol(_) => Attempt::Retry(message, None),
                    _ => Attempt::Fail(Failure::Unreachable(message)),
                };
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(300)));
        let text = resp.body_mut().with_config().limit(1 << 20).read_to_string().unwrap_or_default();
        let json: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        let message = json
            .as_ref()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| text.chars().take(300).collect());
        match status {
            200 | 201 => {
                Attempt::Done(json.as_ref().and_then(|v| v["created"].as_bool()).unwrap_or(status == 201))
            }
            401 | 403 => Attempt::Fail(Failure::Denied(format!("{status}: {message}"))),
            429 | 500..=599 => Attempt::Retry(format!("server answered {status}: {message}"), retry_after),
            _ => Attempt::Fail(Failure::Rejected(format!("{status}: {message}"))),
        }
    }
}

/// A number in [0, 1) from the OS random source (for jitter; 0.5 if it is unavailable).
fn random_unit() -> f64 {
    match getrandom::u64() {
        Ok(x) => (x >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// Sends the stored run `id` (full id) and marks it pushed; a run that could not be
/// delivered for want of a server is marked unpushed, so that `perfwatch push` sends it later.
pub fn push_run(store: &mut dyn Store, client: &Client, id: &str) -> anyhow::Result<Result<bool, Failure>> {
    let report = super::resolve_run(store, id)?;
    let body = serde_json::to_vec(&report).context("encoding the run report")?;
    let res = client.push(&body);
    match &res {
        Ok(_) => store.set_push_state(id, Some(PushState::Pushed))?,
        Err(Failure::Unreachable(_)) | Err(Failure::Denied(_)) => {
            store.set_push_state(id, Some(PushState::Unpushed))?
        }
        Err(Failure::Rejected(_)) => {}
    }
    Ok(res)
}

/// `perfwatch run --push URL`, after the run is saved: mark it unpushed, push it, mark it
/// pushed. A failure is a warning; the exit code of `run` stays what the measurements say.
pub fn after_run(store: &mut dyn Store, client: &Client, id: &str) {
    let res = store
        .set_push_state(id, Some(PushState::Unpushed))
        .map_err(anyhow::Error::from)
        .and_then(|()| push_run(store, client, id));
    match res {
        Ok(Ok(_)) => eprintln!("pushed run {id} to {}", client.url),
        Ok(Err(f)) => eprintln!(
            "warning: run {id} was saved locally but not pushed to {}: {f}\n\
             It is kept as unpushed: `perfwatch push {}` delivers it later.",
            client.url, client.url
        ),
        Err(e) => eprintln!("warning: run {id} was saved locally but not pushed: {e:#}"),
    }
}

/// Sends the chosen runs; exit 0 when all were delivered, 2 otherwise.
pub fn run(args: PushArgs) -> anyhow::Result<i32> {
    let client = Client::new(&args.url, &args.retry)?;
    let mut store = super::open_store(&args.store)?;
    let ids: Vec<String> = if args.all {
        let mut all = store.list_runs(&RunFilter::default())?;
        all.reverse();
        let (done, incomplete): (Vec<_>, Vec<_>) =
            all.into_iter().partition(|m| m.status != RunStatus::Incomplete);
        if !incomplete.is_empty() {
            eprintln!(
                "skipping {} incomplete runs (still running, or perfwatch died in them)",
                incomplete.len()
            );
        }
        done.into_iter().map(|m| m.id).collect()
    } else if args.runs.is_empty() {
        store.unpushed_runs()?
    } else {
        let mut ids = Vec::new();
        for r in &args.runs {
            let report = super::resolve_run(store.as_mut(), r)?;
            if report.run.status == RunStatus::Incomplete {
                anyhow::bail!(
                    "run {} is incomplete (still running, or perfwatch died in it): not pushed",
                    report.run.id
                );
            }
            ids.push(report.run.id);
        }
        ids
    };
    if ids.is_empty() {
        eprintln!("nothing to push: no run is marked unpushed (name runs to send, or use --all)");
        return Ok(exit_codes::SUCCESS);
    }
    let (mut created, mut already, mut refused) = (0usize, 0usize, 0usize);
    let mut stopped: Option<(Failure, usize)> = None;
    for (i, id) in ids.iter().enumerate() {
        match push_run(store.as_mut(), &client, id)? {
            Ok(true) => created += 1,
            Ok(false) => already += 1,
            Err(Failure::Rejected(m)) => {
                eprintln!("error: run {id}: the server refused it: {m}");
                refused += 1;
            }
            Err(f) => {
                stopped = Some((f, ids.len() - i));
                break;
            }
        }
    }
    eprintln!(
        "pushed {} of {} runs to {} ({created} new, {already} the server had already)",
        created + already,
        ids.len(),
        client.url
    );
    if let Some((f, left)) = stopped {
        eprintln!(
            "error: {f}\n{left} runs not delivered; they stay marked unpushed: run `perfwatch push {}` \
             again later",
            client.url
        );
        return Ok(exit_codes::USAGE);
    }
    if refused > 0 {
        eprintln!("error: the server refused {refused} runs (see above)");
        return Ok(exit_codes::USAGE);
    }
    Ok(exit_codes::SUCCESS)
}
