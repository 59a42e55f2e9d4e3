//! perfwatch-runner: turns a [`Plan`](perfwatch_model::Plan) into measured samples.
//!
//! * [`Executor`] runs one command and measures it; [`SpawnerExecutor`] does it for real
//!   from a small helper process (so peak memory is the benchmark's own, design §9), and
//!   [`ScriptedExecutor`] replays predetermined outcomes for deterministic tests.
//! * [`run_plan`] is the adaptive measuring loop; it pushes [`Event`]s to a [`Sink`].
//! * [`host_info`] describes the machine.
//!
//! A binary that uses [`SpawnerExecutor::start`] must call [`run_spawner_if_requested`] first
//! thing in `main`.

pub mod events;
pub mod executor;
pub mod gpu;
pub mod host;
pub mod instr;
pub mod interleave;
pub mod metric;
pub mod profile;
pub mod run;
pub mod spawner;
mod sys;

pub use events::{Event, MetricWarning, NullSink, Phase, Sink, SuiteEnd};
pub use executor::{
    ExecOutcome, ExecRequest, Executor, ExecutorError, RawMetricLine, Responder, ScriptedExecutor, Stream,
};
pub use host::{
    HealthSnapshot, SysRoot, fingerprint, governor_caveat, health_caveats, high_load_caveat, host_info,
};
pub use interleave::{
    Contender, Decision, InterleaveEvent, InterleaveOptions, InterleaveOutcome, NeverStop, Round, Side,
    StopReason, run_interleaved, side_report,
};
pub use metric::{MetricLine, MetricLineError, parse_metric_line};
pub use run::{RunOptions, SuiteOutcome, caveats, run_plan};
pub use spawner::{SPAWNER_ARG, SpawnerExecutor, run_spawner_if_requested, scan_metric_stream};
