//! The one error type of the use cases, with a [`ErrorKind`] that front ends branch on (the
//! CLI maps kinds to exit codes, the server to HTTP statuses).
//!
//! An error means the command could not do its job *before anything was measured*, or a
//! query could not be answered. What goes wrong after measuring (a benchmark failed, the
//! store refused the results) is part of the command's [`crate::Outcome`] instead, so that
//! the measurements are still printed.

use perfwatch_store::StoreError;

/// What kind of failure, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user asked for something impossible: a bad option value, a missing run, an empty
    /// store, no suite file.
    Usage,
    /// The suite file is invalid (the error carries located diagnostics).
    Config,
    /// The history store failed.
    Store,
    /// Git failed or the revision does not exist.
    Git,
    /// A build command or a setup hook failed before measuring.
    Build,
    /// The measuring machinery itself broke (the spawner process died).
    Executor,
    /// A team server could not be reached or refused.
    Network,
    /// A file could not be read or written.
    Io,
}

/// A failure of a use case.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// See [`ErrorKind::Usage`].
    #[error("{0}")]
    Usage(String),
    /// See [`ErrorKind::Config`]; render it with `miette` for the located diagnostics.
    #[error(transparent)]
    Config(#[from] perfwatch_config::ConfigError),
    /// See [`ErrorKind::Store`].
    #[error("{context}: {source}")]
    Store {
        /// What was being done.
        context: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// See [`ErrorKind::Git`].
    #[error("{0}")]
    Git(String),
    /// See [`ErrorKind::Build`].
    #[error("{0}")]
    Build(String),
    /// See [`ErrorKind::Executor`].
    #[error("measuring stopped: {0}")]
    Executor(String),
    /// See [`ErrorKind::Network`].
    #[error("{0}")]
    Network(String),
    /// See [`ErrorKind::Io`].
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl AppError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AppError::Usage(_) => ErrorKind::Usage,
            AppError::Config(_) => ErrorKind::Config,
            AppError::Store { .. } => ErrorKind::Store,
            AppError::Git(_) => ErrorKind::Git,
            AppError::Build(_) => ErrorKind::Build,
            AppError::Executor(_) => ErrorKind::Executor,
            AppError::Network(_) => ErrorKind::Network,
            AppError::Io { .. } => ErrorKind::Io,
        }
    }

    /// A usage error with this message.
    pub fn usage(message: impl Into<String>) -> AppError {
        AppError::Usage(message.into())
    }

    /// An I/O error while doing `context`.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> AppError {
        AppError::Io { context: context.into(), source }
    }
}

impl From<StoreError> for AppError {
    fn from(source: StoreError) -> Self {
        AppError::Store { context: "history store".into(), source }
    }
}

impl From<perfwatch_config::SelectError> for AppError {
    fn from(e: perfwatch_config::SelectError) -> Self {
        AppError::Usage(e.to_string())
    }
}

/// Adds what was being done to a store error.
pub trait StoreContext<T> {
    /// `context` describes the operation, e.g. "saving the run".
    fn store_context(self, context: impl FnOnce() -> String) -> Result<T, AppError>;
}

impl<T> StoreContext<T> for Result<T, StoreError> {
    fn store_context(self, context: impl FnOnce() -> String) -> Result<T, AppError> {
        self.map_err(|source| AppError::Store { context: context(), source })
    }
}

/// Result of a use case.
pub type Result<T, E = AppError> = std::result::Result<T, E>;
