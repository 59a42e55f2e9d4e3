//! `perfwatch init`: write the commented starter suite.

use anyhow::Context;
use perfwatch_model::exit_codes;

use crate::cli::InitArgs;

/// Writes `perfwatch.toml` (refusing to overwrite without `--force`).
pub fn run(args: InitArgs) -> anyhow::Result<i32> {
    if args.config.exists() && !args.force {
        anyhow::bail!("{} already exists (use --force to overwrite it)", args.config.display());
    }
    std::fs::write(&args.config, perfwatch_config::STARTER_SUITE)
        .with_context(|| format!("writing {}", args.config.display()))?;
    eprintln!(
        "wrote {}: edit it, then `perfwatch check` to see the cases and `perfwatch run` to measure",
        args.config.display()
    );
    Ok(exit_codes::SUCCESS)
}
