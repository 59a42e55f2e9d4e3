#!/usr/bin/env bash
# Disk full mid-run (issue "Nothing lost, nothing left behind", item 2 / must-show 4): the
# store's directory is a small tmpfs (a private mount namespace, so root is needed) that
# fills while the run saves its cases. Each of TRIES tries uses a larger tmpfs, so the disk
# fills at a different point. For every try it records perfwatch's exit code, the stored
# run's status and case count, and whether the `-o` file holds every case: a run must never
# be stored `complete` with cases missing, and every measurement must be recoverable.
# Usage: bench/diskfull/run.sh [path/to/perfwatch]   (default: target/release/perfwatch)
set -euo pipefail
cd "$(dirname "$0")/../.."
pw=$(realpath "${1:-target/release/perfwatch}")
[ -x "$pw" ] || cargo build --release -q -p perfwatch
tries=${TRIES:-20}
out=$(realpath -m bench/out/diskfull)
rm -rf "$out" && mkdir -p "$out"
cat >"$out/perfwatch.toml" <<'TOML'
[defaults]
warmup = 0
min_runs = 20
max_runs = 20
[[bench]]
name = "case"
# Custom metrics make each saved case large enough to fill a small disk within a run.
shell = "for m in a b c d e f g h; do echo perfwatch-metric name=$m value=1 unit=count better=lower; done"
params = { i = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20] }
TOML
for t in $(seq 1 "$tries"); do
  size=$((160 + 24 * t))k
  dir="$out/try-$t"
  mkdir -p "$dir/.perfwatch"
  cp "$out/perfwatch.toml" "$dir/"
  unshare -m sh -c "
    mount -t tmpfs -o size=$size tmpfs '$dir/.perfwatch' &&
    cd '$dir' &&
    { '$pw' run -q -o '$dir/run.json' > /dev/null 2> '$dir/stderr'; echo \$? > '$dir/exit'; } &&
    { '$pw' runs --format json > '$dir/runs.json' 2>/dev/null || echo '{\"runs\": []}' > '$dir/runs.json'; } &&
    { id=\$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[\"runs\"]; print(r[0][\"id\"] if r else \"\")' '$dir/runs.json');
      if [ -n \"\$id\" ]; then '$pw' show \"\$id\" --format json > '$dir/stored.json' 2>/dev/null || true; fi; }
  "
  python3 - "$dir" "$size" "$t" <<'PY'
import json, os, sys
d, size, t = sys.argv[1], sys.argv[2], sys.argv[3]
exit_code = int(open(f"{d}/exit").read())
runs = json.load(open(f"{d}/runs.json"))["runs"]
status = runs[0]["status"] if runs else "none"
stored = json.load(open(f"{d}/stored.json"))["benchmarks"] if os.path.exists(f"{d}/stored.json") else []
out = json.load(open(f"{d}/run.json"))["benchmarks"] if os.path.exists(f"{d}/run.json") else []
full_out = len(out) == 20 and all(b["runs"] == 20 for b in out)
bad = status == "complete" and len(stored) < 20
print(json.dumps({"try": int(t), "tmpfs": size, "exit": exit_code, "stored_status": status,
                  "stored_cases": len(stored), "output_cases": len(out), "output_complete": full_out,
                  "complete_with_missing_cases": bad}))
PY
done | tee "$out/results.jsonl"
python3 - "$out/results.jsonl" <<'PY'
import collections, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
exits = collections.Counter(r["exit"] for r in rows)
filled = [r for r in rows if r["stored_cases"] < 20]
print(f"{len(rows)} tries; exit codes {dict(sorted(exits.items()))}; disk filled mid-run in {len(filled)}")
print(f"stored complete with cases missing: {sum(r['complete_with_missing_cases'] for r in rows)}")
print(f"every case in the -o output: {sum(r['output_complete'] for r in rows)} of {len(rows)}")
PY
