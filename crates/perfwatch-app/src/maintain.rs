//! Keeping the store small: `perfwatch prune`.

use std::time::Duration;

use perfwatch_store::{PrunePolicy, Store};

use crate::error::{AppError, Result, StoreContext};

/// Which runs to drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The newest N runs.
    Last(usize),
    /// Runs younger than this.
    Younger(Duration),
}

/// Deletes the runs `keep` does not keep (never one a baseline points to, never an unpushed
/// one) and compacts the store; returns how many runs were deleted.
pub fn prune(store: &mut dyn Store, keep: Keep) -> Result<usize> {
    let policy = match keep {
        Keep::Last(n) => PrunePolicy::KeepLast(n),
        Keep::Younger(age) => {
            let age = jiff::SignedDuration::try_from(age)
                .map_err(|e| AppError::usage(format!("--older-than: {e}")))?;
            let cutoff = jiff::Timestamp::now()
                .checked_sub(age)
                .map_err(|e| AppError::usage(format!("--older-than: {e}")))?;
            PrunePolicy::OlderThan(cutoff)
        }
    };
    let deleted = store.prune(&policy).store_context(|| "pruning runs".into())?;
    store.compact().store_context(|| "compacting the store".into())?;
    Ok(deleted)
}
