#!/usr/bin/env bash
# The project's test command: installs the real servers the tests talk to (idempotent),
# checks the crate boundaries and generated docs, runs every test in the workspace, then
# checks the hot paths' instruction counts against benches/instructions.json.
#
#   scripts/test.sh            # everything
#   scripts/test.sh -p NAME    # extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh

# Libraries use the API, applications choose the SDK: the instrumentation crate must
# not depend on the OpenTelemetry SDK.
if cargo tree --locked -p business-metrics -e normal --prefix none | grep -qE '^opentelemetry_sdk '; then
  echo "business-metrics depends on opentelemetry_sdk; it must use the API only" >&2
  exit 1
fi

# A service that only serves /metrics compiles neither gRPC nor a TLS stack.
if cargo tree --locked -p business-metrics-exporter --no-default-features --features prometheus \
    -e normal,build --prefix none | grep -qE '^(tonic|rustls|ring|aws-lc-sys|ureq) '; then
  echo "business-metrics-exporter with only the prometheus feature pulls in gRPC or TLS" >&2
  exit 1
fi

# docs/METRICS.md is generated from the metric catalog.
cargo run --locked -q -p business-metrics --example generate -- --check
cargo run --locked -q -p saas --bin saas-generate -- --out examples/saas/generated --check

if [ "$#" -eq 0 ]; then
  # The instrumentation crate alone, without the bound-instruments feature that the
  # workspace build unifies in: its plain recording path must pass the same tests.
  cargo test --locked -p business-metrics
fi

cargo test --workspace --locked "$@"

if [ "$#" -eq 0 ]; then
  # Instructions per purchase event on each hot path, under callgrind: fails when one
  # rose more than 10% above benches/instructions.json (`--write` updates the file).
  python3 scripts/instructions.py --check
fi
