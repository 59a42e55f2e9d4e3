//! `perfwatch prune`: drop old runs and compact the store.

use perfwatch_model::exit_codes;
use perfwatch_store::PrunePolicy;

use crate::cli::PruneArgs;

/// Deletes runs by count or age (runs a baseline points to are kept).
pub fn run(args: PruneArgs) -> anyhow::Result<i32> {
    let policy = match (args.keep_last, &args.older_than) {
        (Some(n), _) => PrunePolicy::KeepLast(n),
        (None, Some(age)) => {
            let age = perfwatch_config::parse_duration(age)
                .map_err(|e| anyhow::anyhow!("--older-than {age:?}: {}", e.message))?;
            let cutoff = jiff::Timestamp::now()
                .checked_sub(jiff::SignedDuration::try_from(age)?)
                .map_err(|e| anyhow::anyhow!("--older-than: {e}"))?;
            PrunePolicy::OlderThan(cutoff)
        }
        (None, None) => anyhow::bail!("give --keep-last N or --older-than DURATION"),
    };
    let mut store = super::open_store(&args.store)?;
    let deleted = store.prune(&policy)?;
    store.compact()?;
    eprintln!("deleted {deleted} runs; store compacted");
    Ok(exit_codes::SUCCESS)
}
