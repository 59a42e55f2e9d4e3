//! Profiles as folded stacks, and what `perfwatch explain` found when it diffed two of them.
//!
//! A folded stack is the format of Brendan Gregg's FlameGraph tools: the frames of one call
//! path, outermost first, joined by `;`, with the cost spent in the innermost frame on that
//! path. Every profiler perfwatch runs (callgrind, perf, py-spy) is turned into this one form,
//! so diffing, ranking and flame graphs work the same for all of them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::case::CaseId;

/// The profiler that made a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Profiler {
    /// Valgrind's callgrind: exact instruction counts per call path (any native program).
    Callgrind,
    /// Linux `perf record -g`: CPU-clock samples (where the kernel allows it).
    Perf,
    /// py-spy: samples of the Python stack, with Python function names.
    PySpy,
}

impl Profiler {
    /// The name used on the command line and in stored profiles.
    pub fn as_str(self) -> &'static str {
        match self {
            Profiler::Callgrind => "callgrind",
            Profiler::Perf => "perf",
            Profiler::PySpy => "py-spy",
        }
    }

    /// Parses [`Profiler::as_str`].
    pub fn parse(s: &str) -> Option<Profiler> {
        [Profiler::Callgrind, Profiler::Perf, Profiler::PySpy].into_iter().find(|p| p.as_str() == s)
    }

    /// What a profile's costs count.
    pub fn unit(self) -> &'static str {
        match self {
            Profiler::Callgrind => "instructions",
            Profiler::Perf => "samples",
            // py-spy's sample shares scaled to the run's measured CPU time (microseconds).
            Profiler::PySpy => "cpu_us",
        }
    }
}

/// One profile of one run of a case's command: folded stacks and their costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// What made it.
    pub profiler: Profiler,
    /// Cost per call path (`main;parse;lex` → cost in the innermost frame).
    pub stacks: BTreeMap<String, u64>,
}

impl Profile {
    /// The sum of all costs.
    pub fn total(&self) -> u64 {
        self.stacks.values().fold(0u64, |a, b| a.saturating_add(*b))
    }

    /// The profile in folded-stack text: one `stack cost` line per call path.
    pub fn to_folded(&self) -> String {
        let mut out = String::new();
        for (stack, cost) in &self.stacks {
            out.push_str(stack);
            out.push(' ');
            out.push_str(&cost.to_string());
            out.push('\n');
        }
        out
    }

    /// Reads folded-stack text (`stack cost` per line; the cost is the last space-separated
    /// field, so frames may contain spaces); lines for the same stack add up.
    pub fn from_folded(profiler: Profiler, text: &str) -> Result<Profile, String> {
        let mut stacks = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            let (stack, cost) = line
                .rsplit_once(' ')
                .ok_or_else(|| format!("line {}: expected `stack cost`, found {line:?}", i + 1))?;
            let cost: u64 = cost
                .parse()
                .map_err(|_| format!("line {}: the cost {cost:?} is not a whole number", i + 1))?;
            let sum: &mut u64 = stacks.entry(stack.trim().to_string()).or_insert(0);
            *sum = sum.saturating_add(cost);
        }
        Ok(Profile { profiler, stacks })
    }
}

/// One side of an explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExplainSide {
    /// The revision or run as given.
    pub label: String,
    /// The commit profiled, when known.
    pub commit: Option<String>,
    /// The stored run the profile came from, when it came from the store.
    pub run_id: Option<String>,
    /// Total cost of the profile.
    pub total: u64,
}

/// How the cost of one function changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FunctionDelta {
    /// The function (frame name as the profiler gives it).
    pub function: String,
    /// Cost in the function itself, base side.
    pub self_base: u64,
    /// Cost in the function itself, head side.
    pub self_head: u64,
    /// `self_head − self_base`.
    pub self_delta: i64,
    /// `self_delta` as a share of the total change (can be negative or above 1 when other
    /// functions moved the other way).
    pub self_share: f64,
    /// Cost in the function and everything it called, base side (a recursive function
    /// counted once per stack).
    pub inclusive_base: u64,
    /// The same, head side.
    pub inclusive_head: u64,
    /// `inclusive_head − inclusive_base`.
    pub inclusive_delta: i64,
}

/// The flame graphs `explain` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExplainFiles {
    /// The page that shows the three graphs.
    pub index: String,
    /// Differential flame graph (head's shape, red = slower, blue = faster).
    pub diff: String,
    /// Flame graph of the base.
    pub base: String,
    /// Flame graph of the head.
    pub head: String,
}

/// What `perfwatch explain` reports: where the cost of a case moved between two versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExplainReport {
    /// Version of this document's layout.
    pub schema_version: u32,
    /// The case.
    pub case: CaseId,
    /// The profiler used.
    pub profiler: Profiler,
    /// What the costs count (`instructions`, `samples`, or `cpu_us` for py-spy: CPU
    /// microseconds, the run's measured CPU time split by the samples' shares).
    pub unit: String,
    /// Profiled runs per side whose costs are summed (a stored profile is one run).
    pub rounds: u32,
    /// The base side.
    pub base: ExplainSide,
    /// The head side.
    pub head: ExplainSide,
    /// `head.total − base.total`.
    pub total_delta: i64,
    /// The functions whose own cost changed most (by absolute self delta), largest first.
    pub functions: Vec<FunctionDelta>,
    /// The flame graphs, when written.
    pub files: Option<ExplainFiles>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_text_round_trips_and_merges_equal_stacks() {
        let p = Profile::from_folded(Profiler::Perf, "main;f 3\nmain;g x 2\n\nmain;f 4\n").unwrap();
        assert_eq!(p.stacks["main;f"], 7);
        assert_eq!(p.stacks["main;g x"], 2);
        assert_eq!(p.total(), 9);
        assert_eq!(Profile::from_folded(Profiler::Perf, &p.to_folded()).unwrap(), p);
        assert!(Profile::from_folded(Profiler::Perf, "main;f\n").unwrap_err().contains("line 1"));
        assert!(Profile::from_folded(Profiler::Perf, "a 1\nmain;f -2\n").unwrap_err().contains("line 2"));
    }

    #[test]
    fn profiler_names_parse_back() {
        for p in [Profiler::Callgrind, Profiler::Perf, Profiler::PySpy] {
            assert_eq!(Profiler::parse(p.as_str()), Some(p));
        }
        assert_eq!(Profiler::parse("gprof"), None);
    }
}
