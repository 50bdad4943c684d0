#!/usr/bin/env bash
# Installs the real servers the tests start: Prometheus (with promtool) and Alertmanager
# (with amtool) from Debian's packages, and the rotel collector (rotel-agent) from PyPI.
#
# Run with:   sudo scripts/install-test-deps.sh     (root on Debian; idempotent)
#
# Quiet when everything is present. Needs no network beyond the Debian and PyPI
# package registries. Tests start their own Prometheus on ephemeral loopback ports and
# only validate the Alertmanager config, so the system services the Debian packages
# ship are kept from running.
set -euo pipefail

ROTEL_VERSION="0.0.1a15"

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
  # Never leave a system Prometheus or Alertmanager running: it would hold its port
  # (9090, 9093) and serve nothing of ours. Harmless when none exists.
  local name="$1"
  if [ -x "/etc/init.d/$name" ]; then
    as_root "/etc/init.d/$name" stop >/dev/null 2>&1 || true
    if have update-rc.d; then as_root update-rc.d "$name" disable >/dev/null 2>&1 || true; fi
  fi
  if have systemctl && [ -d /run/systemd/system ]; then
    as_root systemctl disable --now "$name" >/dev/null 2>&1 || true
  fi
}

if ! have prometheus || ! have promtool; then
  apt_install prometheus
  stop_system_service prometheus
fi

if ! have amtool; then
  apt_install prometheus-alertmanager
  stop_system_service prometheus-alertmanager
fi

rotel_present() {
  python3 - <<'PY' >/dev/null 2>&1
import os, rotel
assert os.access(os.path.join(os.path.dirname(rotel.__file__), "rotel-agent"), os.X_OK)
PY
}

if ! rotel_present; then
  log "pip install rotel==$ROTEL_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "rotel==$ROTEL_VERSION" >/dev/null
fi

have prometheus && have promtool || { log "prometheus/promtool still missing"; exit 1; }
have amtool || { log "amtool still missing"; exit 1; }
rotel_present || { log "rotel-agent still missing"; exit 1; }
