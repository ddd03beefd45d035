#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

echo "==> python packages (pip install -e '.[dev]')"
python3 -m pip install --quiet --disable-pip-version-check -e '.[dev]'

echo "==> pytest-xdist (make test runs test files on parallel workers)"
python3 -m pip install --quiet --disable-pip-version-check 'pytest-xdist>=3.5'

echo "==> the host agent (pip install ./agent: its own distribution, psutil only)"
python3 -m pip install --quiet --disable-pip-version-check ./agent

if ! command -v prometheus-alertmanager >/dev/null 2>&1; then
  echo "==> prometheus-alertmanager (Debian package, a real webhook sender for the e2e tests)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
fi

if [ -f package.json ]; then
  echo "==> node tools (npm ci)"
  if ! command -v npm >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  npm ci --silent --no-audit --no-fund
fi
