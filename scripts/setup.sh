#!/usr/bin/env bash
# Installs the system packages that parts of dag and its test suite need (Debian 12 "bookworm"):
# one script per need in scripts/setup.d/ (the WebGPU software adapter, Slurm, Chromium, ...),
# each sourced in name order so they share `apt_install`. Needs root (CI runs as root).
# Safe to re-run: every script checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_updated=0
# apt_install [-t SUITE] PKG...: installs the packages that are missing, running `apt-get update` once.
apt_install() {
  local suite=() missing=()
  if [ "${1:-}" = -t ]; then suite=(-t "$2"); shift 2; fi
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${suite[@]}" "${missing[@]}" >/dev/null
}

shopt -s nullglob
for f in scripts/setup.d/*.sh; do
  echo "setup: $f"
  # shellcheck source=/dev/null
  source "$f"
done
