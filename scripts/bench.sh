#!/usr/bin/env bash
# The benchmark suite: this project's recording API against raw opentelemetry_sdk
# calls, the prometheus crate and the guide's prom-client code, on one purchase-event
# workload. Writes BENCHMARKS.md at the repository root.
#
#   scripts/bench.sh                            # about 2 minutes once built
#   BENCH_MEASUREMENT_SECS=1 scripts/bench.sh   # a quicker, noisier run
#
# Also counts instructions per purchase event on each hot path under callgrind
# (scripts/instructions.py, compared with the committed benches/instructions.json).
#
# Needs cargo, node and npm (Node 18 or later), python3 and valgrind. The Node peer's
# dependencies are installed with `npm ci` from benches/node/package-lock.json when
# the lock file changed since the last install. Criterion's data and the figures of
# this run go to ${CARGO_TARGET_DIR:-target}/bench-run/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

for tool in cargo node npm python3 valgrind; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench.sh: $tool is required but not installed" >&2
    exit 1
  fi
done

target="${CARGO_TARGET_DIR:-$root/target}"
run="$target/bench-run"
rm -rf "$run"
mkdir -p "$run/results"
cat /proc/loadavg >"$run/load.txt" 2>/dev/null || true

export CRITERION_HOME="$run/criterion"
export BENCH_RESULTS_DIR="$run/results"
export BENCH_MEASUREMENT_SECS="${BENCH_MEASUREMENT_SECS:-3}"
started=$(date +%s)

# Node peer: install prom-client exactly as locked, only when the lock changed.
node_dir="$root/benches/node"
stamp="$node_dir/node_modules/.installed-lock.sha256"
want="$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> npm ci (benches/node)"
  (cd "$node_dir" && npm ci --no-audit --no-fund)
  echo "$want" >"$stamp"
fi

echo "==> building the benches"
cargo bench --locked -p business-metrics-workspace --bench purchase --bench peak_rss --no-run

echo "==> hot path, render and OTLP encode (criterion)"
cargo bench --locked -p business-metrics-workspace --bench purchase 2>&1 | tee "$run/purchase.log"

echo "==> peak RSS at ~10k series, one process per peer"
for peer in project raw_sdk prometheus; do
  cargo bench --locked -q -p business-metrics-workspace --bench peak_rss -- "$peer"
done

echo "==> instructions per purchase event (callgrind)"
python3 scripts/instructions.py --results "$run/results/instructions.json"

echo "==> prom-client (the guide's code on Node)"
node "$node_dir/bench.js" time
node "$node_dir/bench.js" rss

python3 scripts/bench_report.py --run "$run" --out "$root/BENCHMARKS.md"
echo "==> BENCHMARKS.md written in $(($(date +%s) - started)) s"
