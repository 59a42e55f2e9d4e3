#!/usr/bin/env bash
# Import speed (issue "Fits where people already work", item 5): 10,000 gbench cases x 3
# repetitions in one JSON, imported into a fresh SQLite store each time, timed by hyperfine.
# Usage: bench/import/run.sh [path/to/perfwatch]   (default: target/release/perfwatch)
# Needs hyperfine (Debian: apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/../.."
pw=${1:-target/release/perfwatch}
[ -x "$pw" ] || cargo build --release -q -p perfwatch
out=bench/out/import
mkdir -p "$out"
python3 bench/import/gen_gbench.py 10000 3 >"$out/gbench10k.json"
ls -l "$out/gbench10k.json"
hyperfine --warmup 1 --runs 10 --prepare "rm -f $out/h.db" --export-json "$out/hyperfine.json" \
  "$pw import --db sqlite://$out/h.db $out/gbench10k.json >/dev/null 2>&1"
