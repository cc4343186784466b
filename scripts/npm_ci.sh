#!/usr/bin/env bash
# Install one folder's npm packages at the versions pinned in its package-lock.json (`npm ci`),
# when they are missing or the lock file changed since they were installed. Safe to run
# repeatedly. The folders: tests/browser (playwright-core, via install_browser.sh),
# miniprogram/test (miniprogram-simulate, jsdom) and clients/typescript (openapi-typescript,
# typescript); their tests call this, so `make test` runs it.
#   bash scripts/npm_ci.sh FOLDER      # FOLDER relative to the repository root
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 FOLDER" >&2; exit 2; }
cd "$(dirname "$0")/../$1"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "npm_ci.sh: node and npm are needed (apt-get install -y nodejs npm)" >&2
  exit 1
fi

# npm ci empties node_modules first, so this copy exists only after a complete install.
installed=node_modules/.installed-package-lock.json
if [ -f "$installed" ] && cmp -s package-lock.json "$installed"; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json "$installed"
