//! `perfwatch check`: validate the suite and list the resolved cases.

use std::fmt::Write;

use perfwatch_model::exit_codes;

use crate::cli::CheckArgs;

/// Prints every case with its command and settings; exit 2 on a bad suite.
pub fn run(args: CheckArgs) -> anyhow::Result<i32> {
    let plan = super::load_plan(&args.config)?;
    let plan = if args.bench.is_empty() { plan } else { perfwatch_config::select(&plan, &args.bench)? };
    let mut out = String::new();
    let _ = writeln!(out, "{}: {} cases", args.config.display(), plan.cases.len());
    for case in &plan.cases {
        let s = &case.settings;
        let _ = writeln!(out, "\n{}", case.id);
        let _ = writeln!(out, "  command   {}", case.command);
        let _ = writeln!(out, "  cwd       {}", case.cwd.display());
        for (hook, cmd) in [("setup", &case.setup), ("prepare", &case.prepare), ("cleanup", &case.cleanup)] {
            if let Some(cmd) = cmd {
                let _ = writeln!(out, "  {hook:<9} {cmd}");
            }
        }
        let _ = writeln!(
            out,
            "  runs      warmup {} · {}–{} runs · max {:?} · precision ±{}% · timeout {:?}",
            s.warmup,
            s.min_runs,
            s.max_runs,
            s.max_time,
            s.precision * 100.0,
            s.timeout
        );
        if let Some(t) = case.throughput {
            let _ = writeln!(out, "  items     {t} per run (throughput)");
        }
        for b in &case.budgets {
            let _ = writeln!(out, "  budget    {}", b.text);
        }
    }
    print!("{out}");
    Ok(exit_codes::SUCCESS)
}
