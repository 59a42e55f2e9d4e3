//! SQL text that both backends run: written once, with SQLite's `?N` placeholders, and
//! renumbered to PostgreSQL's `$N` when a backend asks for its [`Dialect`].
//!
//! Only statements that are the same on both databases live here. What one database does its
//! own way — PostgreSQL's `UNNEST` batches and row locks, SQLite's row-at-a-time series
//! lookup, prefix matching, `list_series` — stays in its backend, next to the reason.
//!
//! Column lists come from [`crate::rows`], so a `SELECT` and the reader of its rows cannot
//! drift apart.

use std::sync::LazyLock;

use crate::rows::{CASE_COLUMNS, RUN_COLUMNS, SUMMARY_COLUMNS, ts_split};
use crate::{PrunePolicy, RunFilter};

/// The placeholder style of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `?1`, `?2`, …
    Sqlite,
    /// `$1`, `$2`, …
    Postgres,
}

impl Dialect {
    /// Placeholder number `n` (from 1).
    pub(crate) fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// `template` (written with `?N`) in this dialect. A `?` that is not followed by a digit
    /// is left alone, so only placeholders are touched.
    pub(crate) fn renumber(self, template: &str) -> String {
        if self == Dialect::Sqlite {
            return template.to_string();
        }
        let mut out = String::with_capacity(template.len());
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            let numbered = c == '?' && chars.peek().is_some_and(char::is_ascii_digit);
            out.push(if numbered { '$' } else { c });
        }
        out
    }

    /// `?1, ?2, …, ?n` in this dialect.
    fn placeholders(self, n: usize) -> String {
        (1..=n).map(|i| self.placeholder(i)).collect::<Vec<_>>().join(", ")
    }
}

/// Declares [`Queries`]: one `String` field per statement, documented with its parameters.
/// Each backend reaches the `Queries` of its dialect through [`queries`], so the text is
/// built once per process and a hot path only borrows it.
macro_rules! queries {
    ($($(#[$doc:meta])* $name:ident = $sql:expr;)*) => {
        /// The shared statements, in one dialect.
        pub(crate) struct Queries {
            $($(#[$doc])* pub $name: String,)*
        }

        impl Queries {
            fn new(dialect: Dialect) -> Queries {
                Queries { $($name: dialect.renumber(&$sql),)* }
            }
        }
    };
}

queries! {
    /// `run_row_values!`; inserts nothing (0 rows) when the id is taken.
    insert_run = format!(
        "INSERT INTO runs ({RUN_COLUMNS}) VALUES ({}) ON CONFLICT (id) DO NOTHING",
        Dialect::Sqlite.placeholders(RUN_COLUMNS.split(',').count())
    );
    /// `?1` run id → a `rows::read_run` row.
    run_by_id = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1");
    /// `?1` run id → `id`, if stored.
    run_id = "SELECT id FROM runs WHERE id = ?1";
    /// `?1` run id → `rows::read_case` rows, in the order the cases were added.
    cases_of_run = format!("SELECT {CASE_COLUMNS} FROM cases WHERE run_id = ?1 ORDER BY ord");
    /// `?1` run id → `rows::read_summary` rows, grouped by case.
    summaries_of_run =
        format!("SELECT {SUMMARY_COLUMNS} FROM summaries WHERE run_id = ?1 ORDER BY case_ord, metric");
    /// `?1` run id → the `ord` its next case gets.
    next_case_ord = "SELECT COALESCE(MAX(ord) + 1, 0) FROM cases WHERE run_id = ?1";
    /// `?1` run id, `?2` status, `?3`/`?4` end time.
    finish_run = "UPDATE runs SET status = ?2, ended_s = ?3, ended_ns = ?4 WHERE id = ?1";
    /// `?1` run id, `?2` lease end (Unix seconds).
    renew_lease = "UPDATE runs SET lease_until_s = ?2 WHERE id = ?1";
    /// `?1` run id, `?2` budgets JSON.
    set_budgets = "UPDATE runs SET budgets = ?2 WHERE id = ?1";
    /// `?1` run id, `?2` push state or NULL.
    set_push_state = "UPDATE runs SET push_state = ?2 WHERE id = ?1";
    /// `?1` run id → `push_state`.
    push_state = "SELECT push_state FROM runs WHERE id = ?1";
    /// → `id` of every unpushed run, oldest first (served by the partial index `runs_unpushed`).
    unpushed_runs = "SELECT id FROM runs WHERE push_state = 'unpushed' ORDER BY started_s, started_ns, id";
    /// `?1` run id, `?2` case name, `?3` case parameters JSON, `?4` profiler, `?5` the
    /// encoded folded stacks; replaces the case's profile, and inserts nothing (0 rows) when
    /// the run is not stored.
    upsert_profile = "INSERT INTO profiles (run_id, name, params, profiler, folded) \
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?1) \
         ON CONFLICT (run_id, name, params) DO UPDATE SET profiler = excluded.profiler, \
         folded = excluded.folded";
    /// `?1` run id, `?2` case name, `?3` case parameters JSON → a `rows::read_profile` row.
    profile = "SELECT profiler, folded FROM profiles WHERE run_id = ?1 AND name = ?2 AND params = ?3";
    /// `?1` run id → `rows::read_profiled_case` rows (`name, params`) of every case of the run
    /// that has a profile, by name and parameters; reads the primary key only, not the stacks.
    profiled_cases = "SELECT name, params FROM profiles WHERE run_id = ?1 ORDER BY name, params";
    /// `?1` name, `?2` run id, `?3`/`?4` time set.
    set_baseline = "INSERT INTO baselines (name, run_id, set_s, set_ns) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (name) DO UPDATE SET run_id = excluded.run_id, set_s = excluded.set_s, \
         set_ns = excluded.set_ns";
    /// `?1` name → a `rows::read_baseline` row.
    baseline = "SELECT name, run_id, set_s, set_ns FROM baselines WHERE name = ?1";
    /// → `rows::read_baseline` rows of every baseline, by name.
    baselines = "SELECT name, run_id, set_s, set_ns FROM baselines ORDER BY name";
    /// `?1` name.
    delete_baseline = "DELETE FROM baselines WHERE name = ?1";
    /// `?1` case name, `?2` case parameters JSON, `?3` metric → the series' `id`.
    series_id = "SELECT id FROM series WHERE case_name = ?1 AND case_params = ?2 AND metric = ?3";
    /// `?1` series id, `?2` limit → `rows::read_history_point` rows, newest first.
    history = "SELECT s.run_id, s.started_s, s.started_ns, r.git_commit, s.median, s.ci_lo, s.ci_hi \
         FROM summaries s JOIN runs r ON r.id = s.run_id WHERE s.series_id = ?1 AND r.status <> 'incomplete' \
         ORDER BY s.started_s DESC, s.started_ns DESC, s.run_id DESC LIMIT ?2";
    /// `?1` series id, `?2`… `change_point_values!`; keeps `alerted`, skips unknown runs.
    upsert_change_point = "INSERT INTO change_points \
         (series_id, run_id, before_v, after_v, change, p_value, regression) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?2) \
         ON CONFLICT (series_id, run_id) DO UPDATE SET before_v = excluded.before_v, \
         after_v = excluded.after_v, change = excluded.change, p_value = excluded.p_value, \
         regression = excluded.regression";
    /// `?1` series id → `rows::read_change_point` rows, oldest run first, each with its
    /// position in the series' history (the order of `history`), its commit and start time.
    change_points = "SELECT c.run_id, c.before_v, c.after_v, c.change, c.p_value, c.regression, \
         c.alerted, (SELECT COUNT(*) FROM summaries e WHERE e.series_id = c.series_id \
         AND e.run_id NOT IN (SELECT id FROM runs WHERE status = 'incomplete') AND (e.started_s, e.started_ns, e.run_id) < (r.started_s, r.started_ns, r.id)), \
         r.git_commit, r.started_s, r.started_ns \
         FROM change_points c JOIN runs r ON r.id = c.run_id WHERE c.series_id = ?1 \
         ORDER BY r.started_s, r.started_ns, r.id";
    /// `?1` case name, `?2` case parameters JSON, `?3` metric → the series' `id` and
    /// `analysed_points` (NULL until `detect` analysed it).
    series_analysis = "SELECT id, analysed_points FROM series \
         WHERE case_name = ?1 AND case_params = ?2 AND metric = ?3";
    /// `?1` series id, `?2` points analysed.
    mark_analysed = "UPDATE series SET analysed_points = ?2 WHERE id = ?1";
    /// `?1` case name, `?2` case parameters JSON, `?3` metric, `?4` run id; 1 row when it was
    /// not alerted yet.
    mark_alerted = "UPDATE change_points SET alerted = TRUE WHERE NOT alerted AND run_id = ?4 \
         AND series_id = (SELECT id FROM series WHERE case_name = ?1 AND case_params = ?2 \
         AND metric = ?3)";
    /// `?1` name, `?2` hash, `?3` scope, `?4`/`?5` creation time; replaces a revoked token of
    /// that name, and changes nothing (0 rows) when an active one has it.
    create_token = "INSERT INTO tokens (name, hash, scope, created_s, created_ns) \
         VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (name) DO UPDATE SET hash = excluded.hash, scope = excluded.scope, \
         created_s = excluded.created_s, created_ns = excluded.created_ns, revoked_s = NULL, \
         revoked_ns = NULL WHERE tokens.revoked_s IS NOT NULL";
    /// → `rows::read_token_info` rows of every token, by name.
    tokens = "SELECT name, scope, created_s, created_ns, revoked_s, revoked_ns FROM tokens ORDER BY name";
    /// → `rows::read_token_hash` rows of the active tokens, by name.
    active_tokens = "SELECT name, scope, hash FROM tokens WHERE revoked_s IS NULL ORDER BY name";
    /// `?1` name, `?2`/`?3` revocation time.
    revoke_token = "UPDATE tokens SET revoked_s = ?2, revoked_ns = ?3 WHERE name = ?1 AND revoked_s IS NULL";
    /// → the highest applied migration (0 for a fresh store).
    schema_version = "SELECT COALESCE(MAX(version), 0) FROM perfwatch_migrations";
    /// `?1` version, `?2` name, `?3` time applied.
    record_migration = "INSERT INTO perfwatch_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)";
}

static SQLITE: LazyLock<Queries> = LazyLock::new(|| Queries::new(Dialect::Sqlite));
static POSTGRES: LazyLock<Queries> = LazyLock::new(|| Queries::new(Dialect::Postgres));

/// The shared statements in `dialect`.
pub(crate) fn queries(dialect: Dialect) -> &'static Queries {
    match dialect {
        Dialect::Sqlite => &SQLITE,
        Dialect::Postgres => &POSTGRES,
    }
}

/// A parameter of a dynamically built query, mapped to each driver's own types.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    /// A BIGINT.
    I64(i64),
    /// An INTEGER (nanoseconds).
    I32(i32),
    /// A TEXT.
    Text(String),
}

/// Collects the parameters of a dynamic query and hands out their placeholders.
struct Builder {
    dialect: Dialect,
    params: Vec<Param>,
}

impl Builder {
    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        self.dialect.placeholder(self.params.len())
    }

    /// Runs that started strictly before `t` (`before`), or at or after it: the time is a
    /// `(seconds, nanoseconds)` pair, compared as one.
    fn started(&mut self, before: bool, t: jiff::Timestamp) -> String {
        let (s, ns) = ts_split(t);
        let ps = self.bind(Param::I64(s));
        let pns = self.bind(Param::I32(ns));
        let (by_s, by_ns) = if before { ("<", "<") } else { (">", ">=") };
        format!("(started_s {by_s} {ps} OR (started_s = {ps} AND started_ns {by_ns} {pns}))")
    }
}

/// `SELECT RUN_COLUMNS … WHERE … ORDER BY … LIMIT …` of [`crate::Store::list_runs`], with the
/// parameters in placeholder order.
pub(crate) fn list_runs(dialect: Dialect, filter: &RunFilter) -> (String, Vec<Param>) {
    let mut b = Builder { dialect, params: Vec::new() };
    let mut clauses = Vec::new();
    if let Some(host) = &filter.host_fingerprint {
        clauses.push(format!("host_fingerprint = {}", b.bind(Param::Text(host.clone()))));
    }
    if let Some(status) = filter.status {
        clauses.push(format!("status = {}", b.bind(Param::Text(status.as_str().into()))));
    }
    if let Some(before) = filter.before {
        clauses.push(b.started(true, before));
    }
    if let Some(since) = filter.since {
        clauses.push(b.started(false, since));
    }
    let mut sql = format!("SELECT {RUN_COLUMNS} FROM runs");
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    sql.push_str(" ORDER BY started_s DESC, started_ns DESC, id DESC");
    if let Some(limit) = filter.limit {
        let p = b.bind(Param::I64(i64::try_from(limit).unwrap_or(i64::MAX)));
        sql.push_str(&format!(" LIMIT {p}"));
    }
    (sql, b.params)
}

/// The run just before the one started at `started` with id `id` (optionally on `host`), as
/// `RUN_COLUMNS`.
pub(crate) fn previous_run(
    dialect: Dialect,
    started: (i64, i32),
    id: &str,
    host: Option<&str>,
) -> (String, Vec<Param>) {
    let mut b = Builder { dialect, params: Vec::new() };
    let (ps, pns, pid) =
        (b.bind(Param::I64(started.0)), b.bind(Param::I32(started.1)), b.bind(Param::Text(id.into())));
    let host = match host {
        Some(h) => format!("AND host_fingerprint = {} ", b.bind(Param::Text(h.into()))),
        None => String::new(),
    };
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE (started_s, started_ns, id) < ({ps}, {pns}, {pid}) \
         {host}ORDER BY started_s DESC, started_ns DESC, id DESC LIMIT 1"
    );
    (sql, b.params)
}

/// Which `runs` rows are `incomplete` and still being measured at `now` (Unix seconds): their
/// lease has not run out, or, for runs from before leases (no lease), they started within
/// [`crate::IN_PROGRESS_GRACE`] of `now`.
fn in_progress(b: &mut Builder, now: i64) -> String {
    let incomplete = b.bind(Param::Text(perfwatch_model::RunStatus::Incomplete.as_str().into()));
    let now = b.bind(Param::I64(now));
    let grace = b.bind(Param::I64(i64::try_from(crate::IN_PROGRESS_GRACE.as_secs()).unwrap_or(i64::MAX)));
    format!("(status = {incomplete} AND COALESCE(lease_until_s, started_s + {grace}) >= {now})")
}

/// `SELECT id FROM runs …` of the runs `policy` deletes, and every abandoned `incomplete` run
/// (its lease ran out: the perfwatch measuring it died) whatever the policy — but never one a
/// baseline points to, one still waiting to be pushed, or an `incomplete` one still being
/// measured at `now` (Unix seconds).
pub(crate) fn prune_victims(dialect: Dialect, policy: &PrunePolicy, now: i64) -> (String, Vec<Param>) {
    let mut b = Builder { dialect, params: Vec::new() };
    let which = match policy {
        PrunePolicy::KeepLast(n) => {
            let keep = b.bind(Param::I64(i64::try_from(*n).unwrap_or(i64::MAX)));
            format!(
                "id NOT IN (SELECT id FROM runs \
                 ORDER BY started_s DESC, started_ns DESC, id DESC LIMIT {keep})"
            )
        }
        PrunePolicy::OlderThan(t) => b.started(true, *t),
    };
    let live = in_progress(&mut b, now);
    let abandoned = b.bind(Param::Text(perfwatch_model::RunStatus::Incomplete.as_str().into()));
    let sql = format!(
        "SELECT id FROM runs WHERE ({which} OR status = {abandoned}) \
         AND id NOT IN (SELECT run_id FROM baselines) \
         AND (push_state IS NULL OR push_state <> 'unpushed') AND NOT {live}"
    );
    (sql, b.params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_placeholders_are_renumbered() {
        let pg = Dialect::Postgres;
        assert_eq!(
            pg.renumber("a = ?1 AND b = ?12 AND c = '?' AND d ?| e"),
            "a = $1 AND b = $12 AND c = '?' AND d ?| e"
        );
        assert_eq!(Dialect::Sqlite.renumber("a = ?1"), "a = ?1");
        assert_eq!(pg.placeholders(3), "$1, $2, $3");
    }

    #[test]
    fn every_shared_statement_is_renumbered() {
        let pg = queries(Dialect::Postgres);
        let lite = queries(Dialect::Sqlite);
        for (p, s) in [
            (&pg.insert_run, &lite.insert_run),
            (&pg.upsert_change_point, &lite.upsert_change_point),
            (&pg.mark_alerted, &lite.mark_alerted),
            (&pg.create_token, &lite.create_token),
            (&pg.upsert_profile, &lite.upsert_profile),
        ] {
            assert!(!p.contains('?'), "{p}");
            assert_eq!(p.replace('$', "?"), *s);
        }
        assert!(lite.insert_run.ends_with("?24, ?25) ON CONFLICT (id) DO NOTHING"), "{}", lite.insert_run);
    }

    #[test]
    fn run_filters_bind_in_placeholder_order() {
        let t: jiff::Timestamp = "2025-01-02T03:04:05.5Z".parse().unwrap();
        let filter = RunFilter {
            limit: Some(5),
            host_fingerprint: Some("fp".into()),
            status: None,
            before: Some(t),
            since: None,
        };
        let (sql, params) = list_runs(Dialect::Postgres, &filter);
        assert!(sql.ends_with(
            "WHERE host_fingerprint = $1 AND (started_s < $2 OR (started_s = $2 AND started_ns < $3)) \
             ORDER BY started_s DESC, started_ns DESC, id DESC LIMIT $4"
        ));
        let (s, ns) = ts_split(t);
        assert_eq!(params, [Param::Text("fp".into()), Param::I64(s), Param::I32(ns), Param::I64(5)]);
        let (sql, params) = list_runs(Dialect::Sqlite, &RunFilter::default());
        assert!(!sql.contains("WHERE") && !sql.contains("LIMIT") && params.is_empty(), "{sql}");
    }

    #[test]
    fn previous_run_binds_the_host_only_when_asked() {
        let (sql, params) = previous_run(Dialect::Sqlite, (7, 8), "id", None);
        assert!(sql.contains("< (?1, ?2, ?3) ORDER BY"), "{sql}");
        assert_eq!(params.len(), 3);
        let (sql, params) = previous_run(Dialect::Postgres, (7, 8), "id", Some("fp"));
        assert!(sql.contains("< ($1, $2, $3) AND host_fingerprint = $4 ORDER BY"), "{sql}");
        assert_eq!(params[3], Param::Text("fp".into()));
    }
}
