#!/usr/bin/env bash
# Build the release app into dist/ from a clean checkout:
# npm deps (binaryen's wasm-opt 132 and playwright-core) into e2e/node_modules,
# then `trunk build --release` with that wasm-opt first on PATH.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/e2e"
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi
cd "$root"
export PATH="$root/e2e/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true
if [ "${NO_COLOR:-}" = "1" ]; then export NO_COLOR=true; fi
cargo fetch --locked >/dev/null 2>&1 || cargo fetch
trunk build --release
