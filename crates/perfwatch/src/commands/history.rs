//! `perfwatch history`: a metric's series across runs.

use perfwatch_model::{CaseId, HistoryReport, HistorySeries, SCHEMA_VERSION, exit_codes};

use crate::cli::HistoryArgs;
use crate::output;

/// Prints the medians of `--metric` for the chosen case(s), oldest first.
pub fn run(args: HistoryArgs) -> anyhow::Result<i32> {
    let mut store = super::open_store(&args.store)?;
    let known = store.list_series()?;
    let wanted: Vec<&perfwatch_store::SeriesInfo> =
        known.iter().filter(|s| s.metric == args.metric && matches(&s.case, args.case.as_deref())).collect();
    if wanted.is_empty() {
        let names: std::collections::BTreeSet<String> = known.iter().map(|s| s.case.to_string()).collect();
        anyhow::bail!(
            "no history for {} metric {} (known cases: {})",
            args.case.as_deref().unwrap_or("any case"),
            args.metric,
            if names.is_empty() {
                "none yet".to_string()
            } else {
                names.into_iter().collect::<Vec<_>>().join(", ")
            }
        );
    }
    let mut series = Vec::new();
    for info in wanted {
        let points = store.history(&info.case, &args.metric, args.last)?;
        series.push(HistorySeries {
            name: info.case.name.clone(),
            params: info.case.params.clone(),
            metric: args.metric.clone(),
            unit: info.unit.clone(),
            points,
        });
    }
    let report = HistoryReport { schema_version: SCHEMA_VERSION, series };
    let text = perfwatch_report::renderer(output::format(&args.output))
        .history(&report, &output::render_options(&args.output));
    output::emit(&args.output, &text)?;
    Ok(exit_codes::SUCCESS)
}

/// A case matches its full name (`sort[n=10]`) or its bench name (`sort`, all parameters).
fn matches(case: &CaseId, pattern: Option<&str>) -> bool {
    match pattern {
        None => true,
        Some(p) => case.to_string() == p || case.name == p,
    }
}
