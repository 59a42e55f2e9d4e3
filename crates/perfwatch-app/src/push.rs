//! Sending runs to a team server (`perfwatch push`, `perfwatch run --push`).
//!
//! One `POST /api/v1/runs` per run with the run report as JSON (raw samples included) and
//! `Authorization: Bearer <token>`. Connection errors, timeouts, 5xx and 429 are retried with
//! exponential backoff and jitter (honouring `Retry-After`) for a bounded time; any other 4xx
//! is final and its message is shown. The server stores a run once whatever the number of
//! pushes, so a retry after a lost answer never duplicates it.

// Without the HTTP client (`push` feature) the client is never built; its parts stay compiled.
#![cfg_attr(not(feature = "push"), allow(dead_code, unused_imports))]

use std::time::{Duration, Instant};

use perfwatch_model::{PushReceipt, RunStatus};
use perfwatch_store::{PushState, RunFilter, Store};

use crate::Ui;
use crate::error::{AppError, Result, StoreContext};
use crate::project::resolve_run;

/// Why a run was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server refused this run (a 4xx other than 401, 403, 429): sending it again will not
    /// help.
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

/// How the client retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Give up on a run after retrying for this long (zero: no retries).
    pub retry_for: Duration,
    /// Time limit of one request (connect, send, answer).
    pub request_timeout: Duration,
}

/// A client for one team server.
pub struct Client {
    #[cfg(feature = "push")]
    agent: ureq::Agent,
    /// The server as the user wrote it, for messages, with any `user:password@` hidden.
    pub url: String,
    endpoint: String,
    token: String,
    retry_for: Duration,
}

impl Client {
    /// A client for the server at `url` (`http(s)://HOST[:PORT]`) pushing with `token`.
    pub fn new(url: &str, token: &str, retry: Retry) -> Result<Client> {
        let token = token.trim().to_string();
        if token.is_empty() {
            return Err(AppError::usage(
                "pushing needs a token in PERFWATCH_TOKEN (an admin of the server creates one with \
                 `perfwatch token create NAME`)",
            ));
        }
        let base = url.trim().trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(AppError::usage(format!(
                "server URL {url:?}: expected http://HOST[:PORT] or https://HOST[:PORT]"
            )));
        }
        let endpoint =
            if base.ends_with("/api/v1/runs") { base.to_string() } else { format!("{base}/api/v1/runs") };
        #[cfg(not(feature = "push"))]
        {
            let _ = (endpoint, retry);
            Err(AppError::usage(
                "this perfwatch was built without team-server support (cargo feature `server`), so it cannot \
                 push; the default build has it",
            ))
        }
        #[cfg(feature = "push")]
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(retry.request_timeout))
            .max_redirects(0)
            .user_agent(concat!("perfwatch/", env!("CARGO_PKG_VERSION")))
            .build();
        #[cfg(feature = "push")]
        Ok(Client {
            agent: config.into(),
            url: without_credentials(base),
            endpoint,
            token,
            retry_for: retry.retry_for,
        })
    }

    /// Sends one run report (JSON); `Ok(true)` if the server stored it now, `Ok(false)` if it
    /// had it already. Retries are announced on `ui`.
    pub fn push(&self, body: &[u8], ui: &mut dyn Ui) -> std::result::Result<bool, Failure> {
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
            if Instant::now() + wait > deadline {
                let tries = attempt + 1;
                return Err(Failure::Unreachable(format!(
                    "{message} (gave up after {tries} attempt{}; --retry-for {:?})",
                    if tries == 1 { "" } else { "s" },
                    self.retry_for
                )));
            }
            ui.warn(&format!("push to {}: {message}; retrying in {:.1} s", self.url, wait.as_secs_f64()));
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    #[cfg(not(feature = "push"))]
    fn send_once(&self, _: &[u8]) -> Attempt {
        unreachable!("Client::new refuses to build a client without the `push` feature")
    }

    #[cfg(feature = "push")]
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
        let message = serde_json::from_str::<perfwatch_model::ApiError>(&text)
            .map(|e| e.error)
            .unwrap_or_else(|_| text.chars().take(300).collect());
        if (300..400).contains(&status) {
            // Not followed: a redirect may drop the Authorization header or lead elsewhere.
            let to = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("(no Location)");
            return Attempt::Fail(Failure::Rejected(format!(
                "{status}: the server redirects to {}; push to that URL instead",
                without_credentials(to)
            )));
        }
        match status {
            200 | 201 => {
                Attempt::Done(serde_json::from_str::<PushReceipt>(&text).map_or(status == 201, |r| r.created))
            }
            401 | 403 => Attempt::Fail(Failure::Denied(format!("{status}: {message}"))),
            429 | 500..=599 => Attempt::Retry(format!("server answered {status}: {message}"), retry_after),
            _ => Attempt::Fail(Failure::Rejected(format!("{status}: {message}"))),
        }
    }
}

/// `url` with the user information of its authority (`user:password@`) replaced by `***@`,
/// so that messages and logs never show credentials. Stricter than
/// `perfwatch_store::redact_url`, which keeps a database user's name: in a server URL the
/// user part alone is often the secret (`https://TOKEN@host`).
pub fn without_credentials(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_string() };
    let start = scheme_end + 3;
    let end = url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_string(),
    }
}

/// A number in [0, 1) from the OS random source (for jitter; 0.5 if it is unavailable).
fn random_unit() -> f64 {
    match getrandom::u64() {
        Ok(x) => (x >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// Sends the stored run `id` (full id) and marks it pushed; a run that could not be delivered
/// for want of a server (or of a valid token) is marked unpushed, so that `perfwatch push`
/// sends it later.
pub fn push_run(
    store: &mut dyn Store,
    client: &Client,
    id: &str,
    ui: &mut dyn Ui,
) -> Result<std::result::Result<bool, Failure>> {
    let report = resolve_run(store, id)?;
    let body = serde_json::to_vec(&report).map_err(|e| AppError::usage(format!("encoding run {id}: {e}")))?;
    let res = client.push(&body, ui);
    let state = match &res {
        Ok(_) => Some(PushState::Pushed),
        Err(Failure::Unreachable(_) | Failure::Denied(_)) => Some(PushState::Unpushed),
        Err(Failure::Rejected(_)) => None,
    };
    if let Some(state) = state {
        store.set_push_state(id, Some(state)).store_context(|| format!("marking run {id}"))?;
    }
    Ok(res)
}

/// `perfwatch run --push`, after the run is saved: mark it unpushed, push it, mark it pushed.
/// A failure is a warning: the run stays in the local store for `perfwatch push`.
pub fn after_run(store: &mut dyn Store, client: &Client, id: &str, ui: &mut dyn Ui) {
    let res = store
        .set_push_state(id, Some(PushState::Unpushed))
        .store_context(|| format!("marking run {id} unpushed"))
        .and_then(|()| push_run(store, client, id, ui));
    match res {
        Ok(Ok(_)) => ui.info(&format!("pushed run {id} to {}", client.url)),
        Ok(Err(f)) => ui.warn(&format!(
            "run {id} was saved locally but not pushed to {}: {f}\n\
             It is kept as unpushed: `perfwatch push {}` delivers it later.",
            client.url, client.url
        )),
        Err(e) => ui.warn(&format!("run {id} was saved locally but not pushed: {e}")),
    }
}

/// Which runs `perfwatch push` sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every run marked unpushed.
    Unpushed,
    /// Every finished run of the store, oldest first.
    All,
    /// These runs (ids or prefixes).
    Runs(Vec<String>),
}

/// What a push of several runs achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushSummary {
    /// Runs selected.
    pub selected: usize,
    /// Stored by this push.
    pub created: usize,
    /// The server had them already.
    pub already: usize,
    /// Refused for good (each was reported on the [`Ui`]).
    pub refused: usize,
    /// Pushing stopped (server unreachable or the token refused): why, and how many runs were
    /// left undelivered.
    pub stopped: Option<(Failure, usize)>,
}

impl PushSummary {
    /// Every selected run arrived.
    pub fn delivered_all(&self) -> bool {
        self.refused == 0 && self.stopped.is_none()
    }
}

/// Sends the selected runs in order, stopping at the first failure that would fail every
/// later run too (unreachable server, refused token).
pub fn push_runs(
    store: &mut dyn Store,
    client: &Client,
    which: &Selection,
    ui: &mut dyn Ui,
) -> Result<PushSummary> {
    let ids = select_runs(store, which, ui)?;
    let mut summary = PushSummary { selected: ids.len(), ..PushSummary::default() };
    for (i, id) in ids.iter().enumerate() {
        match push_run(store, client, id, ui)? {
            Ok(true) => summary.created += 1,
            Ok(false) => summary.already += 1,
            Err(Failure::Rejected(m)) => {
                ui.warn(&format!("run {id}: the server refused it: {m}"));
                summary.refused += 1;
            }
            Err(f) => {
                summary.stopped = Some((f, ids.len() - i));
                break;
            }
        }
    }
    Ok(summary)
}

/// The ids `which` names; incomplete runs (still running, or perfwatch died in them) are
/// never sent.
fn select_runs(store: &mut dyn Store, which: &Selection, ui: &mut dyn Ui) -> Result<Vec<String>> {
    match which {
        Selection::Unpushed => store.unpushed_runs().store_context(|| "listing unpushed runs".into()),
        Selection::All => {
            let mut all = store.list_runs(&RunFilter::default()).store_context(|| "listing runs".into())?;
            all.reverse();
            let (done, incomplete): (Vec<_>, Vec<_>) =
                all.into_iter().partition(|m| m.status != RunStatus::Incomplete);
            if !incomplete.is_empty() {
                ui.warn(&format!(
                    "skipping {} incomplete runs (still running, or perfwatch died in them)",
                    incomplete.len()
                ));
            }
            Ok(done.into_iter().map(|m| m.id).collect())
        }
        Selection::Runs(runs) => runs
            .iter()
            .map(|r| {
                let report = resolve_run(store, r)?;
                if report.run.status == RunStatus::Incomplete {
                    return Err(AppError::usage(format!(
                        "run {} is incomplete (still running, or perfwatch died in it): not pushed",
                        report.run.id
                    )));
                }
                Ok(report.run.id)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_credentials;

    #[test]
    fn credentials_are_hidden_and_nothing_else_changes() {
        assert_eq!(
            without_credentials("https://ci:tok@perf.example.com:8443/x?y"),
            "https://***@perf.example.com:8443/x?y"
        );
        assert_eq!(without_credentials("http://token@h/"), "http://***@h/");
        // An @ after the authority is not user information.
        assert_eq!(without_credentials("http://h/path@x"), "http://h/path@x");
        assert_eq!(without_credentials("http://h:80"), "http://h:80");
        assert_eq!(without_credentials("not a url"), "not a url");
    }
}
