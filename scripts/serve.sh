#!/usr/bin/env bash
# Serve the QueueLab app: installs what is missing, builds it (release, so the
# engine runs at full speed in the browser) and serves it at http://127.0.0.1:8080
# (override with PORT=…), rebuilding on changes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true
[ "${NO_COLOR:-}" = "1" ] && export NO_COLOR=true   # trunk rejects NO_COLOR=1

./scripts/setup.sh
# wasm-opt for release builds comes from npm binaryen@132 (Debian's is too old).
if [ ! -x e2e/node_modules/.bin/wasm-opt ]; then
  (cd e2e && npm ci --no-audit --no-fund)
fi
export PATH="$PWD/e2e/node_modules/.bin:$PATH"
exec trunk serve --release --address 127.0.0.1 --port "${PORT:-8080}"
