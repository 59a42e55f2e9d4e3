//! Change-point accuracy and speed benchmark driver (see `bench/changepoint/README.md`).
//!
//! ```text
//! cargo run --release -p perfwatch-detect --example changepoint_bench -- accuracy bench/changepoint/out [--window 50] [--p 0.001] [--penalty 3] [--min-size 5] [--min-magnitude 0]
//! cargo run --release -p perfwatch-detect --example changepoint_bench -- speed
//! ```
//!
//! `accuracy` runs every method (and the null detector) over `DIR/manifest.tsv` and writes
//! `DIR/pred_<method>.tsv` (`file<TAB>indices`), scored by `bench/changepoint/score.py`.

use perfwatch_detect::changepoint::{Detector, Method, Options, detect};
use perfwatch_model::Better;
use std::time::Instant;

fn lcg_series(seed: u64, n: usize, steps: &[(usize, f64)]) -> Vec<f64> {
    let mut s = seed;
    let mut out = Vec::with_capacity(n);
    let mut level = 100.0;
    for i in 0..n {
        for &(at, f) in steps {
            if at == i {
                level *= f;
            }
        }
        // sum of 4 uniforms ≈ normal, σ ≈ 1 %
        let mut u = 0.0;
        for _ in 0..4 {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            u += (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        }
        out.push(level * (1.0 + 0.01 * u * 1.732));
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn speed(opts: &Options) {
    let reps = 11;
    // 1) 10 000 points, end to end
    let s = lcg_series(1, 10_000, &[(2500, 1.10), (5000, 0.95), (7500, 1.15)]);
    let t: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            let cps = detect(&s, Better::Lower, opts);
            std::hint::black_box(cps);
            t0.elapsed().as_secs_f64()
        })
        .collect();
    println!("{:?} 10k points: median {:.4} s (detect)", opts.method, median(t));
    // 2) 1 000 series × 1 000 points
    let many: Vec<Vec<f64>> = (0..1000).map(|k| lcg_series(100 + k, 1000, &[(600, 1.05)])).collect();
    let t: Vec<f64> = (0..3)
        .map(|_| {
            let t0 = Instant::now();
            for s in &many {
                std::hint::black_box(detect(s, Better::Lower, opts));
            }
            t0.elapsed().as_secs_f64()
        })
        .collect();
    println!("{:?} 1000 x 1000 points: median {:.3} s", opts.method, median(t));
    // 3) append one point to a 100 000-point history
    let long = lcg_series(7, 100_001, &[(30_000, 1.05), (70_000, 0.97), (99_990, 1.08)]);
    let mut d = Detector::new(opts.clone());
    d.extend(long[..100_000].iter().copied());
    let _ = d.change_points(Better::Lower);
    let mut t = Vec::new();
    for k in 0..reps {
        let mut d2 = d.clone();
        let t0 = Instant::now();
        d2.push(long[100_000] + k as f64 * 1e-9);
        let cps = d2.change_points(Better::Lower);
        t.push(t0.elapsed().as_secs_f64());
        std::hint::black_box(cps);
    }
    println!(
        "{:?} append 1 point to 100k history + re-analyse: median {:.3} ms",
        opts.method,
        median(t) * 1e3
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = Options::default();
    let mut tag = String::new();
    let mut i = 1;
    while i + 1 < args.len() + 1 && i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--window" => opts.window = v.parse().unwrap(),
            "--p" => opts.max_p_value = v.parse().unwrap(),
            "--penalty" => opts.penalty = v.parse().unwrap(),
            "--min-size" => opts.min_size = v.parse().unwrap(),
            "--min-magnitude" => opts.min_magnitude = v.parse().unwrap(),
            "--tag" => tag = v,
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    let methods =
        [("edivisive", Method::EDivisive), ("potts", Method::Potts), ("combined", Method::Combined)];
    match args.first().map(String::as_str) {
        Some("speed") => {
            for (_, m) in methods {
                speed(&Options { method: m, ..opts.clone() });
            }
        }
        Some("accuracy") => {
            let dir = std::path::PathBuf::from(args.get(1).expect("DIR"));
            let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest.tsv");
            let files: Vec<(String, Vec<f64>)> = manifest
                .lines()
                .map(|l| {
                    let f = l.split('\t').next().unwrap().to_string();
                    let text = std::fs::read_to_string(dir.join("data").join(&f)).unwrap();
                    let v = text
                        .lines()
                        .filter(|s| !s.trim().is_empty())
                        .map(|s| s.trim().parse().unwrap())
                        .collect();
                    (f, v)
                })
                .collect();
            for (name, m) in methods {
                let o = Options { method: m, ..opts.clone() };
                let mut out = String::new();
                for (f, v) in &files {
                    let idx: Vec<String> =
                        detect(v, Better::Lower, &o).iter().map(|c| c.index.to_string()).collect();
                    out.push_str(&format!("{f}\t{}\n", idx.join(",")));
                }
                std::fs::write(dir.join(format!("pred_{name}{tag}.tsv")), out).unwrap();
            }
            let null: String = files.iter().map(|(f, _)| format!("{f}\t\n")).collect();
            std::fs::write(dir.join("pred_null.tsv"), null).unwrap();
        }
        _ => eprintln!("usage: changepoint_bench accuracy DIR [options] | speed [options]"),
    }
}
