//! Measures a command many times through the spawner and prints the median wall time, to
//! compare perfwatch's measuring overhead with other tools (e.g. `hyperfine -N`).
//!
//! `cargo run --release -p perfwatch-runner --example spawn_overhead -- [RUNS] CMD [ARGS…]`

use std::collections::BTreeMap;
use std::time::Duration;

use perfwatch_runner::{ExecRequest, Executor, SpawnerExecutor};

fn main() {
    perfwatch_runner::run_spawner_if_requested();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let runs = match args.first().and_then(|a| a.parse::<usize>().ok()) {
        Some(n) => {
            args.remove(0);
            n
        }
        None => 200,
    };
    if args.is_empty() {
        args.push("true".into());
    }
    let mut ex = match SpawnerExecutor::start() {
        Ok(ex) => ex,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let req = ExecRequest {
        argv: args.clone(),
        cwd: std::env::current_dir().unwrap_or_else(|_| "/".into()),
        env: BTreeMap::new(),
        timeout: Some(Duration::from_secs(60)),
        forward_output: false,
        kill_leftovers: false,
        metrics_file: false,
        gpu_interval: None,
    };
    let mut walls = Vec::with_capacity(runs);
    for i in 0..runs + 5 {
        match ex.execute(&req, &mut |_, _| {}) {
            Ok(o) if o.exit.is_success() => {
                if i >= 5 {
                    walls.push(o.wall)
                }
            }
            Ok(o) => {
                eprintln!("{}: {}", args.join(" "), o.exit);
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    walls.sort_by(f64::total_cmp);
    let n = walls.len();
    println!(
        "{}: {n} runs, median {:.3} ms, min {:.3} ms, max {:.3} ms",
        args.join(" "),
        walls[n / 2] * 1e3,
        walls[0] * 1e3,
        walls[n - 1] * 1e3
    );
}
