#!/usr/bin/env bash
# Install the npm tools of the HTTP API's TypeScript types (clients/typescript): openapi-typescript
# (the generator, scripts/gen_api_types.py) and typescript (tsc, the type check of the web demo's
# and the mini-program's API modules), at the versions pinned in clients/typescript/
# package-lock.json, with `npm ci`, when they are missing or the lock file changed since they were
# installed. Safe to run repeatedly. Called by tests/clients/test_api_types.py, so `make test`
# runs it.
set -euo pipefail
cd "$(dirname "$0")/../clients/typescript"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install_api_types.sh: node and npm are needed (apt-get install -y nodejs npm)" >&2
  exit 1
fi

# npm ci empties node_modules first, so this copy exists only after a complete install.
installed=node_modules/.installed-package-lock.json
if [ -f "$installed" ] && cmp -s package-lock.json "$installed"; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json "$installed"
