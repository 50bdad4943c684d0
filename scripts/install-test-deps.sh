#!/usr/bin/env bash
# Installs the real servers the tests start:
#   - otelcol-business: the project's OpenTelemetry Collector distribution
#     (otel-collector/distribution/), built with Go from the Go module proxy, and
#     otelcol-business-datadog, its Datadog build (otel-collector/distribution/datadog/);
#   - prometheus and promtool 3.x, built the same way (otel-collector/distribution/prometheus/);
#   - amtool (Alertmanager), unshare and ip for the Datadog test's network
#     namespace, chromium (headless, for the HTML report's browser test) and
#     valgrind (callgrind counts the hot paths' instructions, scripts/instructions.py),
#     from Debian's packages.
#
# Run with:   scripts/install-test-deps.sh     (as root, or with sudo available)
#
# Idempotent and quiet when everything is present. Go builds are cached under
# ${BUSINESS_METRICS_CACHE:-~/.cache/business-metrics}, keyed by a hash of the module's
# files and the Go version: a binary is rebuilt only when its go.mod, go.sum or Go
# sources change. The binaries are installed into $INSTALL_DIR (/usr/local/bin), ahead
# of any Debian prometheus on PATH. Needs Go (1.26 or newer) and the Go module proxy,
# Debian's package registry, nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

INSTALL_DIR="${INSTALL_DIR:-/usr/local/bin}"
CACHE_DIR="${BUSINESS_METRICS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/business-metrics}"
DISTRIBUTION=otel-collector/distribution
PROMETHEUS_VERSION=3.16.0

log() { printf 'install-test-deps: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

have() { command -v "$1" >/dev/null 2>&1; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    # Update only when the package lists do not offer the package yet.
    local policy_out
    policy_out="$(apt-cache policy "$@" 2>/dev/null || true)"
    if ! grep -q 'Candidate: [0-9]' <<<"$policy_out"; then
      log "apt-get update"
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    fi
    apt_updated=1
  fi
  log "apt-get install $*"
  # policy-rc.d 101 keeps the package's service from being started during install.
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"
    created=1
  fi
  local out status=0
  out="$(mktemp)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >"$out" 2>&1 || status=$?
  if [ "$created" -eq 1 ]; then as_root rm -f "$policy"; fi
  if [ "$status" -ne 0 ]; then cat "$out" >&2; rm -f "$out"; exit "$status"; fi
  rm -f "$out"
}

stop_system_service() {
  # Never leave a system Alertmanager running: it would hold its port (9093) and
  # serve nothing of ours. Harmless when none exists.
  local name="$1"
  if [ -x "/etc/init.d/$name" ]; then
    as_root "/etc/init.d/$name" stop >/dev/null 2>&1 || true
    if have update-rc.d; then as_root update-rc.d "$name" disable >/dev/null 2>&1 || true; fi
  fi
  if have systemctl && [ -d /run/systemd/system ]; then
    as_root systemctl disable --now "$name" >/dev/null 2>&1 || true
  fi
}

if ! have go; then
  log "Go is not installed: the collector and Prometheus are built from the Go module proxy (Go 1.26 or newer)"
  exit 1
fi

# The hash of a build's inputs: the go.mod, go.sum and Go files under DIR except
# those under the subdirectories named in SKIP (other modules), the Go version and
# the build flags.
build_hash() {
  local dir="$1" skip="$2" flags="$3" prune=() sub
  for sub in $skip; do prune+=(-path "./$sub" -prune -o); done
  {
    go version
    printf '%s\n' "$flags"
    (cd "$dir" && find . "${prune[@]}" -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print |
      LC_ALL=C sort | xargs sha256sum)
  } | sha256sum | cut -c1-16
}

# go_build_cached NAME HASH MODULE_DIR FLAGS BINARY=PACKAGE...: builds each PACKAGE of
# the module in MODULE_DIR into the cache (once per HASH) and installs it as BINARY.
# FLAGS is one word (or empty).
go_build_cached() {
  local name="$1" hash="$2" dir="$3" flags="$4"
  shift 4
  local out="$CACHE_DIR/go-bin/$name-$hash" missing=0 pair
  for pair in "$@"; do
    [ -x "$out/${pair%%=*}" ] || missing=1
  done
  if [ "$missing" -eq 1 ]; then
    local tmp="$out.tmp.$$" started=$SECONDS
    log "building $name from $dir (Go module proxy; cached in $out)"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    for pair in "$@"; do
      (cd "$dir" && CGO_ENABLED=0 go build -mod=readonly -trimpath -buildvcs=false ${flags:+"$flags"} \
        -o "$tmp/${pair%%=*}" "${pair#*=}")
    done
    rm -rf "$out"
    mv "$tmp" "$out"
    log "built $name in $((SECONDS - started)) s"
  fi
  for pair in "$@"; do
    local binary="${pair%%=*}"
    if ! cmp -s "$out/$binary" "$INSTALL_DIR/$binary"; then
      log "installing $INSTALL_DIR/$binary"
      as_root install -m 0755 "$out/$binary" "$INSTALL_DIR/$binary"
    fi
  done
}

# The collector: the components module and main.go at the top of the distribution.
go_build_cached otelcol-business "$(build_hash "$DISTRIBUTION" "datadog prometheus" "")" \
  "$DISTRIBUTION" "" otelcol-business=.
go_build_cached otelcol-business-datadog "$(build_hash "$DISTRIBUTION/datadog" "" "")" \
  "$DISTRIBUTION/datadog" "" otelcol-business-datadog=.
PROMETHEUS_FLAGS="-ldflags=-X=github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION"
go_build_cached prometheus "$(build_hash "$DISTRIBUTION/prometheus" "" "$PROMETHEUS_FLAGS")" \
  "$DISTRIBUTION/prometheus" "$PROMETHEUS_FLAGS" \
  prometheus=github.com/prometheus/prometheus/cmd/prometheus \
  promtool=github.com/prometheus/prometheus/cmd/promtool

if ! have amtool; then
  apt_install prometheus-alertmanager
  stop_system_service prometheus-alertmanager
fi
have unshare || apt_install util-linux
have ip || apt_install iproute2
have chromium || apt_install chromium
have valgrind || apt_install valgrind

# What the tests will find on PATH must be what was just installed.
for name in otelcol-business otelcol-business-datadog prometheus promtool; do
  found="$(command -v "$name" || true)"
  if [ "$found" != "$INSTALL_DIR/$name" ]; then
    log "$name on PATH is '${found:-nothing}', not $INSTALL_DIR/$name: put $INSTALL_DIR first on PATH"
    exit 1
  fi
done
prometheus --version 2>&1 | grep -q "version $PROMETHEUS_VERSION" || {
  log "prometheus on PATH is not $PROMETHEUS_VERSION"
  exit 1
}
for name in amtool unshare ip chromium valgrind; do
  have "$name" || { log "$name still missing"; exit 1; }
done
