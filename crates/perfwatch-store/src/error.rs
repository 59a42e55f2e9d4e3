//! The one error type of the store, with a [`ErrorKind`] callers can branch on.

use thiserror::Error;

/// What went wrong, coarsely: the part of a [`StoreError`] callers branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A run (or run-id prefix) that does not exist.
    NotFound,
    /// A run-id prefix that matches more than one run.
    Ambiguous,
    /// A run id that is already stored (for [`crate::Store::begin_run`]).
    AlreadyExists,
    /// Another writer held the store for longer than the busy timeout.
    Busy,
    /// A bad URL or a bad argument (empty prefix, …).
    Invalid,
    /// The store was written by a newer perfwatch (unknown migration version).
    TooNew,
    /// Stored bytes that cannot be decoded back into a report.
    Corrupt,
    /// Any other database or I/O failure.
    Backend,
}

/// An error of the history store.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// See [`ErrorKind::NotFound`].
    #[error("no run matches {0:?}")]
    NotFound(String),
    /// See [`ErrorKind::Ambiguous`].
    #[error("run id prefix {prefix:?} is ambiguous: it matches {}", candidates.join(", "))]
    Ambiguous {
        /// The prefix given.
        prefix: String,
        /// Some of the matching ids (at most ten).
        candidates: Vec<String>,
    },
    /// See [`ErrorKind::AlreadyExists`].
    #[error("run {0:?} is already stored")]
    AlreadyExists(String),
    /// An active token of this name exists already (kind [`ErrorKind::AlreadyExists`]).
    #[error("a token named {0:?} exists already (revoke it first to replace it)")]
    TokenExists(String),
    /// See [`ErrorKind::Invalid`].
    #[error("{0}")]
    Invalid(String),
    /// [`open_existing`](crate::open_existing) found no store file (kind [`ErrorKind::NotFound`]).
    #[error("no store at {0}: run `perfwatch run` first (or point --db / PERFWATCH_DB at yours)")]
    NoStore(String),
    /// See [`ErrorKind::TooNew`].
    #[error(
        "the store has schema version {found}, newer than this perfwatch knows ({known}); upgrade perfwatch"
    )]
    TooNew {
        /// Highest migration version recorded in the store.
        found: i64,
        /// Highest migration version this build knows.
        known: i64,
    },
    /// See [`ErrorKind::Corrupt`].
    #[error("corrupt data in the store: {0}")]
    Corrupt(String),
    /// An SQLite error (kind [`ErrorKind::Busy`] when the database stayed locked).
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A PostgreSQL error.
    #[cfg(feature = "postgres")]
    #[error("postgres: {}", pg_message(.0))]
    Postgres(#[from] postgres::Error),
    /// A PostgreSQL server that cannot be reached.
    #[cfg(feature = "postgres")]
    #[error("cannot connect to PostgreSQL at {url}: {}", pg_message(.source))]
    Connect {
        /// The URL, without its password.
        url: String,
        /// The client's error.
        source: postgres::Error,
    },
    /// A file-system error (creating the database directory, …).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl StoreError {
    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::NotFound(_) | StoreError::NoStore(_) => ErrorKind::NotFound,
            StoreError::Ambiguous { .. } => ErrorKind::Ambiguous,
            StoreError::AlreadyExists(_) | StoreError::TokenExists(_) => ErrorKind::AlreadyExists,
            StoreError::Invalid(_) => ErrorKind::Invalid,
            StoreError::TooNew { .. } => ErrorKind::TooNew,
            StoreError::Corrupt(_) => ErrorKind::Corrupt,
            StoreError::Sqlite(e) => match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                    ErrorKind::Busy
                }
                _ => ErrorKind::Backend,
            },
            #[cfg(feature = "postgres")]
            StoreError::Postgres(e) => {
                use postgres::error::SqlState;
                match e.code() {
                    Some(c)
                        if *c == SqlState::LOCK_NOT_AVAILABLE
                            || *c == SqlState::T_R_SERIALIZATION_FAILURE
                            || *c == SqlState::T_R_DEADLOCK_DETECTED =>
                    {
                        ErrorKind::Busy
                    }
                    _ => ErrorKind::Backend,
                }
            }
            #[cfg(feature = "postgres")]
            StoreError::Connect { .. } => ErrorKind::Backend,
            StoreError::Io { .. } => ErrorKind::Backend,
        }
    }
}

impl StoreError {
    /// True when the database could not be reached or the connection to it broke (a
    /// PostgreSQL server that restarted, stopped or is unreachable): reopening the store may
    /// help, unlike for every other error.
    pub fn is_disconnected(&self) -> bool {
        match self {
            #[cfg(feature = "postgres")]
            StoreError::Connect { .. } => true,
            #[cfg(feature = "postgres")]
            StoreError::Postgres(e) => pg_disconnected(e),
            _ => false,
        }
    }
}

/// A closed connection, an I/O error on it, or the server saying it is shutting down or
/// starting (SQLSTATE classes 08 "connection exception" and 57P "operator intervention").
#[cfg(feature = "postgres")]
fn pg_disconnected(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        let c = code.code();
        return c.starts_with("08") || c.starts_with("57P");
    }
    // No server error code: a client-side failure, usually the socket.
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// The server's message (with detail and hint) or the client's error and its cause: the
/// driver's own `Display` says only "db error".
#[cfg(feature = "postgres")]
fn pg_message(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut m = format!("{} ({})", db.message(), db.code().code());
        if let Some(d) = db.detail() {
            m.push_str(&format!("; {d}"));
        }
        if let Some(h) = db.hint() {
            m.push_str(&format!("; hint: {h}"));
        }
        return m;
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
