//! Instruction counts under Valgrind (`[bench.instr]`): the command line that runs a case's
//! command under cachegrind or callgrind with a fixed cache model, and the reading of the
//! counts the tool writes.
//!
//! Why a fixed cache model: Valgrind simulates the caches of the machine it runs on unless
//! told otherwise, so the miss counts (and the cycles estimated from them) would differ
//! between runners. With the geometry pinned, the counts depend on the program and its input
//! only — the same on a noisy laptop and a quiet server.

use std::collections::BTreeMap;
use std::path::Path;

use perfwatch_model::metric::{EST_CYCLES, INSTRUCTIONS, L1_MISSES, LL_MISSES};
use perfwatch_model::{ExitKind, InstrTool};

use crate::executor::{ExecRequest, Executor, ExecutorError};

/// How many times a run's `timeout` the run under Valgrind may take (it runs a program
/// 20 to 100 times slower).
pub const INSTR_SLOWDOWN: u32 = 100;

/// The simulated caches (size, associativity, line size), those of a common x86-64 core:
/// 32 KiB 8-way L1 instruction and data caches and an 8 MiB 16-way last level, 64-byte lines.
const CACHES: [&str; 3] = ["--I1=32768,8,64", "--D1=32768,8,64", "--LL=8388608,16,64"];

/// The argv that runs `argv` under `tool`, every process it starts included (a `shell =`
/// command runs its program through `sh`), each writing its counts to a file in `out_dir`.
pub fn valgrind_argv(tool: InstrTool, out_dir: &Path, argv: &[String]) -> Vec<String> {
    let out_flag = match tool {
        InstrTool::Cachegrind => "--cachegrind-out-file",
        InstrTool::Callgrind => "--callgrind-out-file",
    };
    let mut v = vec![
        "valgrind".to_string(),
        format!("--tool={}", tool.as_str()),
        "--cache-sim=yes".to_string(),
        "--trace-children=yes".to_string(),
        // Valgrind's own messages would otherwise mix with the benchmark's stderr tail.
        "--quiet".to_string(),
        format!("{out_flag}={}/out.%p", out_dir.display()),
    ];
    v.extend(CACHES.iter().map(|c| c.to_string()));
    v.push("--".to_string());
    v.extend(argv.iter().cloned());
    v
}

/// Runs `req` once under `tool` through `executor` and reads its counts (`perfwatch ab`
/// on an instruction metric): the request's argv wrapped by [`valgrind_argv`], its timeout
/// stretched by [`INSTR_SLOWDOWN`], no metrics file. `Ok(Err(why))` when the command could
/// not be counted (no Valgrind, it failed or timed out under Valgrind, no counts written);
/// `Err` only when the executor itself broke.
pub fn count_once(
    executor: &mut dyn Executor,
    tool: InstrTool,
    req: &ExecRequest,
) -> Result<Result<Counts, String>, ExecutorError> {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return Ok(Err(format!("cannot make a directory for Valgrind's output: {e}"))),
    };
    let req = ExecRequest {
        argv: valgrind_argv(tool, dir.path(), &req.argv),
        timeout: req.timeout.map(|t| t.saturating_mul(INSTR_SLOWDOWN)),
        metrics_file: false,
        ..req.clone()
    };
    let outcome = executor.execute(&req, &mut |_, _| {})?;
    let tail = outcome.stderr_tail.trim_end();
    let tail = if tail.is_empty() { String::new() } else { format!("; stderr:\n{tail}") };
    Ok(match &outcome.exit {
        ExitKind::SpawnFailed { message } => {
            Err(format!("cannot start valgrind ({message}); install it (Debian: apt install valgrind)"))
        }
        ExitKind::TimedOut => Err(format!(
            "the run under valgrind timed out after {:?} ({INSTR_SLOWDOWN} × the timeout){tail}",
            req.timeout.unwrap_or_default()
        )),
        exit if !exit.is_success() => Err(format!("the run under valgrind {exit}{tail}")),
        _ => Counts::read_dir(dir.path()),
    })
}

/// The event counts of a run, summed over its processes (Valgrind's event names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(BTreeMap<String, u64>);

impl Counts {
    fn get(&self, event: &str) -> u64 {
        self.0.get(event).copied().unwrap_or(0)
    }

    /// Adds the counts of one output file of cachegrind or callgrind: its `events:` line
    /// names the columns of its `summary:` (or callgrind's `totals:`) line.
    pub fn add_file(&mut self, text: &str) -> Result<(), String> {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|rest| rest.split_whitespace().collect::<Vec<_>>())
        };
        let events = field("events:").ok_or("no `events:` line")?;
        let totals =
            field("summary:").or_else(|| field("totals:")).ok_or("no `summary:` or `totals:` line")?;
        if events.len() < totals.len() {
            return Err(format!("{} events but {} counts", events.len(), totals.len()));
        }
        for (event, count) in events.iter().zip(&totals) {
            let n: u64 = count.parse().map_err(|_| format!("count {count:?} of {event} is not a number"))?;
            let sum = self.0.entry((*event).to_string()).or_insert(0);
            *sum = sum.saturating_add(n);
        }
        Ok(())
    }

    /// Reads every output file in `dir` (one per process the run started).
    pub fn read_dir(dir: &Path) -> Result<Counts, String> {
        let mut counts = Counts::default();
        let mut files = 0;
        let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path())
                .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
            counts.add_file(&text).map_err(|e| format!("{}: {e}", entry.path().display()))?;
            files += 1;
        }
        if files == 0 {
            return Err("Valgrind wrote no counts".into());
        }
        Ok(counts)
    }

    /// The metrics: `instructions` (Ir), `l1_misses` and `ll_misses` (instruction fetches,
    /// reads and writes that missed), and `est_cycles`, the estimate of Brook Heisler's `iai`
    /// and its successor iai-callgrind: L1 hits + 5 × last-level hits + 35 × memory accesses,
    /// where every instruction fetch and data access is one L1 access.
    pub fn metrics(&self) -> [(&'static str, f64); 4] {
        let accesses = self.get("Ir") + self.get("Dr") + self.get("Dw");
        let l1_misses = self.get("I1mr") + self.get("D1mr") + self.get("D1mw");
        let ll_misses = self.get("ILmr") + self.get("DLmr") + self.get("DLmw");
        let l1_hits = accesses.saturating_sub(l1_misses);
        let ll_hits = l1_misses.saturating_sub(ll_misses);
        let cycles = l1_hits as f64 + 5.0 * ll_hits as f64 + 35.0 * ll_misses as f64;
        [
            (INSTRUCTIONS, self.get("Ir") as f64),
            (EST_CYCLES, cycles),
            (L1_MISSES, l1_misses as f64),
            (LL_MISSES, ll_misses as f64),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The summary line of `valgrind --tool=cachegrind --cache-sim=yes sort /etc/hostname`.
    const CACHEGRIND: &str = "desc: I1 cache: 32768 B, 64 B, 8-way associative\n\
        cmd: sort /etc/hostname\n\
        events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw \n\
        fl=???\nfn=0x0\n1 2 3 4 5 6 7 8 9 10\n\
        summary: 352787 2165 1920 85025 2115 1502 36729 668 571\n";

    #[test]
    fn counts_are_read_summed_over_processes_and_estimated() {
        let mut c = Counts::default();
        c.add_file(CACHEGRIND).unwrap();
        c.add_file(CACHEGRIND).unwrap();
        let m: BTreeMap<_, _> = c.metrics().into_iter().collect();
        assert_eq!(m[INSTRUCTIONS], 2.0 * 352_787.0);
        assert_eq!(m[L1_MISSES], 2.0 * (2165.0 + 2115.0 + 668.0));
        assert_eq!(m[LL_MISSES], 2.0 * (1920.0 + 1502.0 + 571.0));
        // By hand: accesses 474541, L1 misses 4948, LL misses 3993 (one process).
        let one = (474_541.0 - 4948.0) + 5.0 * (4948.0 - 3993.0) + 35.0 * 3993.0;
        assert_eq!(m[EST_CYCLES], 2.0 * one);
    }

    #[test]
    fn callgrind_totals_and_broken_files() {
        let mut c = Counts::default();
        c.add_file("events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\ntotals: 100 20 10 1 2 3 0 1 1\n")
            .unwrap();
        let m: BTreeMap<_, _> = c.metrics().into_iter().collect();
        assert_eq!((m[INSTRUCTIONS], m[L1_MISSES], m[LL_MISSES]), (100.0, 6.0, 2.0));
        assert!(Counts::default().add_file("summary: 1 2\n").unwrap_err().contains("events"));
        assert!(Counts::default().add_file("events: Ir\n").unwrap_err().contains("summary"));
        assert!(Counts::default().add_file("events: Ir\nsummary: x\n").unwrap_err().contains("not a number"));
        assert!(Counts::default().add_file("events: Ir\nsummary: 1 2\n").unwrap_err().contains("1 events"));
    }

    #[test]
    fn the_command_runs_under_the_tool_with_the_fixed_caches() {
        let argv =
            valgrind_argv(InstrTool::Callgrind, Path::new("/t"), &["sh".into(), "-c".into(), "x y".into()]);
        assert_eq!(argv[..2], ["valgrind", "--tool=callgrind"]);
        assert!(argv.contains(&"--callgrind-out-file=/t/out.%p".to_string()));
        assert!(
            argv.contains(&"--trace-children=yes".to_string())
                && argv.contains(&"--LL=8388608,16,64".to_string())
        );
        assert_eq!(argv[argv.len() - 4..], ["--", "sh", "-c", "x y"]);
    }
}
