#!/usr/bin/env bash
# Install what the browser tests need when it is missing: Debian's chromium (Playwright's own
# browser download does not work here) and tests/browser's pinned playwright-core (npm ci, from
# its lock file). The mini-program tests need node only. Safe to run repeatedly; does nothing
# when everything is present. Called by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "install_browser.sh: chromium is missing; run 'apt-get install -y chromium' as root" >&2
    exit 1
  fi
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install_browser.sh: node and npm are needed (apt-get install -y nodejs npm)" >&2
  exit 1
fi

if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
