//! Plain data types shared by every perfwatch stage.
//!
//! The pipeline is `Config → Plan → Runner → Samples → Stats → Store → Detect → Report`;
//! this crate holds the values that flow between those stages and nothing that does I/O.
//!
//! ```
//! use perfwatch_model::{CaseId, Better};
//! let id = CaseId::new("sort", [("n", "1000")]);
//! assert_eq!(id.to_string(), "sort[n=1000]");
//! assert_eq!(perfwatch_model::builtin_metric("wall").unwrap().better, Better::Lower);
//! ```

pub mod api;
pub mod bisect;
pub mod case;
pub mod compare;
pub mod detection;
pub mod exit_codes;
pub mod metric;
pub mod plan;
pub mod profile;
pub mod report;
pub mod sample;
pub mod summary;

pub use api::{
    ApiError, BaselineInfo, BaselineList, PushReceipt, RunList, SeriesData, SeriesDataColumns, SeriesEntry,
    SeriesList,
};
pub use bisect::{BisectOutcome, BisectReport, BisectStep, CommitRef, PairComparison, StepDecision};
pub use case::CaseId;
pub use compare::{
    BudgetResult, BudgetStatus, Comparison, ComparisonReport, ComparisonWarning, Design, Distribution,
    GoalStatus, RunRef, RunSide, SpeedupGoal, Verdict, VerdictCounts, VerdictNote,
};
pub use detection::{ChangePoint, DetectedSeries, DetectionReport, ShiftKind};
pub use metric::{Better, MetricInfo, builtin_metric};
pub use plan::{
    Budget, BudgetOp, BudgetStat, CasePlan, CommandSpec, GpuPlan, InstrPlan, InstrTool, Plan, RunSettings,
};
pub use profile::{ExplainFiles, ExplainReport, ExplainSide, FunctionDelta, Profile, Profiler};
pub use report::{
    CaseFailure, CaseReport, CaseStatus, GitInfo, HistoryPoint, HistoryReport, HistorySeries, HostInfo,
    RunMeta, RunReport, RunStatus,
};
pub use sample::{ExitKind, Sample};
pub use summary::{Caveat, Summary};

/// Version of every JSON document perfwatch writes (`"schema_version"`).
pub const SCHEMA_VERSION: u32 = 1;
