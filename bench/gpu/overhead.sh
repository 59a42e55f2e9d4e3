#!/usr/bin/env bash
# What GPU sampling costs (issue "GPU and system metrics", item 3): a ~50 ms CPU-bound
# benchmark measured by `perfwatch run` with `[bench.gpu]` sampling a fake NVML every 10 ms
# (A) against the same suite without it (B), compared side by side with `perfwatch ab`
# (interleaved rounds, paired ratio with its 95 % interval). Each round is a whole
# `perfwatch run` of one measured run, so the ratio includes loading NVML and the sampler
# thread. Then the benchmark's own wall time as perfwatch records it, 30 runs per suite,
# alternated three times, as medians and their ratio.
# Usage: bench/gpu/overhead.sh [path/to/perfwatch]   (default: target/release/perfwatch)
# Needs cc (gcc) for the fake NVML.
set -euo pipefail
cd "$(dirname "$0")/../.."
pw=$(realpath "${1:-target/release/perfwatch}")
[ -x "$pw" ] || cargo build --release -q -p perfwatch
fake=$(dirname "$pw")/pw-fake
[ -x "$fake" ] || cargo build --release -q -p perfwatch-testkit
out=$(realpath -m bench/out/gpu)
rm -rf "$out" && mkdir -p "$out"
cc -shared -fPIC -O2 -o "$out/libfakenvml.so" crates/perfwatch/tests/fixtures/fake_nvml.c
printf 'mem_used 1073741824\nproc 1 1073741824\nutil 90\npower_mw 250000\nsm_clock 1400\n' >"$out/state"
export PERFWATCH_NVML_LIBRARY=$out/libfakenvml.so FAKE_NVML_STATE=$out/state
spin=${SPIN:-40000000}   # ~50 ms on the 2-core VM this was written on
# suite MODE RUNS: writes $out/MODE-RUNS.toml
suite() {
  local gpu=""
  [ "$1" = on ] && gpu='gpu = { enabled = "required", interval = "10ms" }'
  cat >"$out/$1-$2.toml" <<TOML
[defaults]
warmup = 0
min_runs = $2
max_runs = $2
[[bench]]
name = "spin"
command = ["$fake", "spin", "$spin"]
$gpu
TOML
}
for mode in on off; do suite $mode 1; suite $mode 30; done

echo "== ab: whole 'perfwatch run' with sampling (A) vs without (B)"
"$pw" ab --max-time "${MAX_TIME:-60s}" --format table \
  "$pw run -c $out/on-1.toml --no-save --format json -q" \
  "$pw run -c $out/off-1.toml --no-save --format json -q" || true

echo "== the benchmark's recorded wall time, 30 runs per suite, alternated 3 times"
for i in 1 2 3; do
  for mode in on off; do
    "$pw" run -c "$out/$mode-30.toml" --no-save --format json -q 2>/dev/null |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print(sys.argv[1], d["benchmarks"][0]["metrics"]["wall"]["median"])' "$mode"
  done
done | tee "$out/walls.txt"
python3 - "$out/walls.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
on = [float(v) for m, v in rows if m == "on"]
off = [float(v) for m, v in rows if m == "off"]
ratios = [a / b for a, b in zip(on, off)]
print(f"median wall with sampling {statistics.median(on)*1e3:.2f} ms, without {statistics.median(off)*1e3:.2f} ms; "
      f"pairwise ratios {', '.join(f'{r:.4f}' for r in ratios)}")
PY
