#!/usr/bin/env bash
# Install the npm packages of the mini-program's page tests (miniprogram/test/pages.test.js):
# miniprogram-simulate and jsdom at the versions pinned in miniprogram/test/package-lock.json,
# with `npm ci`, when they are missing or the lock file changed since they were installed.
# Safe to run repeatedly. Called by tests/clients/test_miniprogram.py, so `make test` runs it.
set -euo pipefail
cd "$(dirname "$0")/../miniprogram/test"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install_miniprogram_tests.sh: node and npm are needed (apt-get install -y nodejs npm)" >&2
  exit 1
fi

# npm ci empties node_modules first, so this copy exists only after a complete install.
installed=node_modules/.installed-package-lock.json
if [ -f "$installed" ] && cmp -s package-lock.json "$installed"; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json "$installed"
