//! Versioned schema migrations for both backends.
//!
//! A small hand-written runner rather than `refinery`: it needs no extra dependency (refinery
//! 0.10 needs Rust 1.92, above the workspace MSRV), and it takes the right lock for concurrent
//! first opens — `BEGIN IMMEDIATE` on SQLite, a transaction-scoped advisory lock on
//! PostgreSQL — so two processes opening a fresh store at once apply each migration exactly
//! once. Applied versions are recorded in `perfwatch_migrations`; a store whose highest
//! version is unknown to this build is refused ([`crate::StoreError::TooNew`]) instead of being
//! written with an older idea of the schema.
//!
//! Schema (the same on both backends, types adapted):
//! - `runs`: one row per run, [`perfwatch_model::RunMeta`] flattened (times as
//!   `(seconds, nanoseconds)` pairs for exact round trips and index-friendly ordering; labels as
//!   JSON text). Indexed by time and by host + time.
//! - `cases`: one row per case of a run, keyed `(run_id, ord)`; caveats and failure as JSON,
//!   raw samples as one compact binary blob (see `codec`).
//! - `series`: one row per case × metric ever seen (the case's name and canonical parameter
//!   JSON, the metric, its latest unit and direction).
//! - `summaries`: one row per case × metric of a run, with every statistic as a column, the
//!   summary's samples as a blob, and the run's start time copied in so that
//!   `summaries_by_series (series_id, started_s, started_ns, run_id, median, ci_lo, ci_hi)`
//!   answers a history query from the index alone.
//! - `baselines`: name → run, with the time it was set; a foreign key keeps a baseline's run
//!   from being deleted.
//! - `change_points` (version 2): the change points `perfwatch detect` last found per series,
//!   keyed by the run where the shift starts, with whether an alert was already raised for
//!   it; deleted with their run.
//! - `tokens` (version 3): API tokens of `perfwatch serve` — a name, the SHA-256 of the secret
//!   (never the secret), its scope (`read` or `write`), when it was created and revoked.
//! - `runs.push_state` (version 3): `unpushed` while a run waits to be sent to a team server,
//!   `pushed` once it was, NULL for runs never meant to be pushed; a partial index finds the
//!   unpushed ones.
//! - `runs.governor`, `runs.gpu` (version 5): the CPU frequency governor and the GPUs read
//!   (or why none could be) of [`perfwatch_model::HostInfo`].
//! - `runs.lease_until_s` (version 6): until when the process measuring an `incomplete` run
//!   vouches that it is alive ([`crate::Store::renew_lease`]); past it, the run was abandoned.
//! - `profiles` (version 7): one profile per case of a run ([`crate::Store::add_profile`]),
//!   keyed by the run and the case's name and canonical parameter JSON (as in `cases`); the
//!   profiler and the folded stacks, gzip-compressed (see `codec`). Deleted with their run.

use crate::error::{Result, StoreError};

/// One migration: a version, a name and its SQL for each backend.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub postgres: &'static str,
}

/// Every migration, in order. Never edit a released one: add a new version.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial schema",
        sqlite: r#"
CREATE TABLE runs (
    id TEXT NOT NULL PRIMARY KEY,
    started_s INTEGER NOT NULL,
    started_ns INTEGER NOT NULL,
    ended_s INTEGER,
    ended_ns INTEGER,
    status TEXT NOT NULL,
    git_commit TEXT,
    git_branch TEXT,
    git_dirty INTEGER,
    host_fingerprint TEXT NOT NULL,
    hostname TEXT NOT NULL,
    cpu TEXT NOT NULL,
    cores INTEGER NOT NULL,
    memory_bytes INTEGER NOT NULL,
    os TEXT NOT NULL,
    kernel TEXT NOT NULL,
    load1 REAL,
    load5 REAL,
    load15 REAL,
    labels TEXT NOT NULL,
    perfwatch_version TEXT NOT NULL,
    suite_hash TEXT NOT NULL,
    budgets TEXT NOT NULL
);
CREATE INDEX runs_by_time ON runs (started_s, started_ns, id);
CREATE INDEX runs_by_host_time ON runs (host_fingerprint, started_s, started_ns, id);

CREATE TABLE cases (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    name TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    runs INTEGER NOT NULL,
    caveats TEXT NOT NULL,
    failure TEXT,
    raw BLOB NOT NULL,
    PRIMARY KEY (run_id, ord)
);

CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    case_name TEXT NOT NULL,
    case_params TEXT NOT NULL,
    metric TEXT NOT NULL,
    unit TEXT NOT NULL,
    better TEXT NOT NULL,
    UNIQUE (case_name, case_params, metric)
);

CREATE TABLE summaries (
    run_id TEXT NOT NULL,
    case_ord INTEGER NOT NULL,
    metric TEXT NOT NULL,
    series_id INTEGER NOT NULL REFERENCES series (id),
    started_s INTEGER NOT NULL,
    started_ns INTEGER NOT NULL,
    unit TEXT NOT NULL,
    better TEXT NOT NULL,
    n INTEGER NOT NULL,
    median REAL,
    ci_lo REAL,
    ci_hi REAL,
    mean REAL,
    stddev REAL,
    mad REAL,
    min_v REAL,
    max_v REAL,
    p95 REAL,
    p99 REAL,
    outliers INTEGER NOT NULL,
    samples BLOB NOT NULL,
    PRIMARY KEY (run_id, case_ord, metric),
    FOREIGN KEY (run_id, case_ord) REFERENCES cases (run_id, ord) ON DELETE CASCADE
);
CREATE INDEX summaries_by_series
    ON summaries (series_id, started_s, started_ns, run_id, median, ci_lo, ci_hi);

CREATE TABLE baselines (
    name TEXT NOT NULL PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    set_s INTEGER NOT NULL,
    set_ns INTEGER NOT NULL
);
CREATE INDEX baselines_by_run ON baselines (run_id);
"#,
        postgres: r#"
CREATE TABLE runs (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    started_s BIGINT NOT NULL,
    started_ns INTEGER NOT NULL,
    ended_s BIGINT,
    ended_ns INTEGER,
    status TEXT NOT NULL,
    git_commit TEXT,
    git_branch TEXT,
    git_dirty BOOLEAN,
    host_fingerprint TEXT NOT NULL,
    hostname TEXT NOT NULL,
    cpu TEXT NOT NULL,
    cores BIGINT NOT NULL,
    memory_bytes BIGINT NOT NULL,
    os TEXT NOT NULL,
    kernel TEXT NOT NULL,
    load1 DOUBLE PRECISION,
    load5 DOUBLE PRECISION,
    load15 DOUBLE PRECISION,
    labels TEXT NOT NULL,
    perfwatch_version TEXT NOT NULL,
    suite_hash TEXT NOT NULL,
    budgets TEXT NOT NULL
);
CREATE INDEX runs_by_time ON runs (started_s, started_ns, id);
CREATE INDEX runs_by_host_time ON runs (host_fingerprint, started_s, started_ns, id);

CREATE TABLE cases (
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    ord BIGINT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    params TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL,
    runs BIGINT NOT NULL,
    caveats TEXT NOT NULL,
    failure TEXT,
    raw BYTEA NOT NULL,
    PRIMARY KEY (run_id, ord)
);

CREATE TABLE series (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    case_name TEXT COLLATE "C" NOT NULL,
    case_params TEXT COLLATE "C" NOT NULL,
    metric TEXT COLLATE "C" NOT NULL,
    unit TEXT NOT NULL,
    better TEXT NOT NULL,
    UNIQUE (case_name, case_params, metric)
);

CREATE TABLE summaries (
    run_id TEXT COLLATE "C" NOT NULL,
    case_ord BIGINT NOT NULL,
    metric TEXT COLLATE "C" NOT NULL,
    series_id BIGINT NOT NULL REFERENCES series (id),
    started_s BIGINT NOT NULL,
    started_ns INTEGER NOT NULL,
    unit TEXT NOT NULL,
    better TEXT NOT NULL,
    n BIGINT NOT NULL,
    median DOUBLE PRECISION,
    ci_lo DOUBLE PRECISION,
    ci_hi DOUBLE PRECISION,
    mean DOUBLE PRECISION,
    stddev DOUBLE PRECISION,
    mad DOUBLE PRECISION,
    min_v DOUBLE PRECISION,
    max_v DOUBLE PRECISION,
    p95 DOUBLE PRECISION,
    p99 DOUBLE PRECISION,
    outliers BIGINT NOT NULL,
    samples BYTEA NOT NULL,
    PRIMARY KEY (run_id, case_ord, metric),
    FOREIGN KEY (run_id, case_ord) REFERENCES cases (run_id, ord) ON DELETE CASCADE
);
CREATE INDEX summaries_by_series
    ON summaries (series_id, started_s, started_ns, run_id, median, ci_lo, ci_hi);

CREATE TABLE baselines (
    name TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (id),
    set_s BIGINT NOT NULL,
    set_ns INTEGER NOT NULL
);
CREATE INDEX baselines_by_run ON baselines (run_id);
"#,
    },
    Migration {
        version: 2,
        name: "change points",
        sqlite: r#"
CREATE TABLE change_points (
    series_id INTEGER NOT NULL REFERENCES series (id),
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    before_v REAL NOT NULL,
    after_v REAL NOT NULL,
    change REAL NOT NULL,
    p_value REAL NOT NULL,
    regression INTEGER NOT NULL,
    alerted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (series_id, run_id)
);
CREATE INDEX change_points_by_run ON change_points (run_id);
"#,
        postgres: r#"
CREATE TABLE change_points (
    series_id BIGINT NOT NULL REFERENCES series (id),
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    before_v DOUBLE PRECISION NOT NULL,
    after_v DOUBLE PRECISION NOT NULL,
    change DOUBLE PRECISION NOT NULL,
    p_value DOUBLE PRECISION NOT NULL,
    regression BOOLEAN NOT NULL,
    alerted BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (series_id, run_id)
);
CREATE INDEX change_points_by_run ON change_points (run_id);
"#,
    },
    Migration {
        version: 3,
        name: "tokens and push state",
        sqlite: r#"
CREATE TABLE tokens (
    name TEXT NOT NULL PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    created_s INTEGER NOT NULL,
    created_ns INTEGER NOT NULL,
    revoked_s INTEGER,
    revoked_ns INTEGER
);
ALTER TABLE runs ADD COLUMN push_state TEXT;
CREATE INDEX runs_unpushed ON runs (started_s, started_ns, id) WHERE push_state = 'unpushed';
"#,
        postgres: r#"
CREATE TABLE tokens (
    name TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    hash TEXT COLLATE "C" NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    created_s BIGINT NOT NULL,
    created_ns INTEGER NOT NULL,
    revoked_s BIGINT,
    revoked_ns INTEGER
);
ALTER TABLE runs ADD COLUMN push_state TEXT;
CREATE INDEX runs_unpushed ON runs (started_s, started_ns, id) WHERE push_state = 'unpushed';
"#,
    },
    Migration {
        version: 4,
        name: "series analysed by detect",
        // NULL until `perfwatch detect` stores an answer for the series (even "no change
        // points"): the dashboard then shows that answer instead of computing its own.
        sqlite: "ALTER TABLE series ADD COLUMN analysed_points INTEGER;",
        postgres: "ALTER TABLE series ADD COLUMN analysed_points BIGINT;",
    },
    Migration {
        version: 5,
        name: "governor and GPU of a run's host",
        // NULL for runs measured before (and where /sys has no cpufreq, or no bench asked
        // for a GPU).
        sqlite: "ALTER TABLE runs ADD COLUMN governor TEXT;\nALTER TABLE runs ADD COLUMN gpu TEXT;",
        postgres: "ALTER TABLE runs ADD COLUMN governor TEXT;\nALTER TABLE runs ADD COLUMN gpu TEXT;",
    },
    Migration {
        version: 6,
        name: "run leases",
        // The time (Unix seconds) until which the perfwatch measuring an `incomplete` run
        // vouches that it is alive; NULL for runs measured before, and for imported or pushed
        // ones. The partial index finds the incomplete runs that series reads leave out.
        sqlite: "ALTER TABLE runs ADD COLUMN lease_until_s INTEGER;\n\
                 CREATE INDEX runs_incomplete ON runs (id) WHERE status = 'incomplete';",
        postgres: "ALTER TABLE runs ADD COLUMN lease_until_s BIGINT;\n\
                   CREATE INDEX runs_incomplete ON runs (id) WHERE status = 'incomplete';",
    },
    // Profiles are kept with their run so that `perfwatch explain` can diff two stored runs
    // without rebuilding either. Keyed by the case (what `explain` looks up) rather than by
    // `cases.ord`, so a profile needs no case row of its own.
    Migration {
        version: 7,
        name: "profiles",
        sqlite: r#"
CREATE TABLE profiles (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    params TEXT NOT NULL,
    profiler TEXT NOT NULL,
    folded BLOB NOT NULL,
    PRIMARY KEY (run_id, name, params)
);
"#,
        postgres: r#"
CREATE TABLE profiles (
    run_id TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    params TEXT COLLATE "C" NOT NULL,
    profiler TEXT NOT NULL,
    folded BYTEA NOT NULL,
    PRIMARY KEY (run_id, name, params)
);
"#,
    },
];

/// The migrations a store at version `current` still needs, in order; [`StoreError::TooNew`]
/// for a store written by a newer perfwatch, which this build must not write to.
pub(crate) fn pending(current: i64) -> Result<impl Iterator<Item = &'static Migration>> {
    if current > latest_version() {
        return Err(StoreError::TooNew { found: current, known: latest_version() });
    }
    Ok(MIGRATIONS.iter().filter(move |m| m.version > current))
}

/// Highest version this build knows.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The table recording applied migrations (same SQL on both backends).
pub(crate) const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS perfwatch_migrations (\
     version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";
