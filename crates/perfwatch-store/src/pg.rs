//! The PostgreSQL backend (work in progress).

use crate::error::{Result, StoreError};

/// A store in a PostgreSQL database.
pub(crate) struct PgStore;

impl PgStore {
    pub(crate) fn open(_url: &str) -> Result<Box<dyn crate::Store>> {
        Err(StoreError::Invalid("PostgreSQL support is not written yet".into()))
    }
}
