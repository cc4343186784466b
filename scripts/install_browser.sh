#!/usr/bin/env bash
# Install what the browser tests need when it is missing: Debian's chromium (Playwright's own
# browser download does not work here), a CJK font (fonts-noto-cjk) for the Chinese page, and
# tests/browser's pinned playwright-core (npm ci, from its lock file). The mini-program page
# tests install their own packages (scripts/npm_ci.sh miniprogram/test). Safe to run
# repeatedly; does nothing when everything is present. Called by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's chromium brings no CJK font: the web demo's Chinese page (and its screenshot,
# docs/img/web-demo-zh.png) would show empty boxes without one.
packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
# node + npm run the pinned playwright-core and the mini-program tests (scripts/npm_ci.sh)
{ command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; } || packages+=(nodejs npm)
if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list :lang=zh family 2>/dev/null)" ]; then
  packages+=(fonts-noto-cjk)
fi
if [ "${#packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  else
    echo "install_browser.sh: ${packages[*]} missing; run 'apt-get install -y ${packages[*]}' as root" >&2
    exit 1
  fi
fi

bash scripts/npm_ci.sh tests/browser
