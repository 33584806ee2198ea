#!/usr/bin/env bash
# Install what QueueLab's build and tests need, skipping what is already there.
# Safe to run again. Versions are pinned (see ../shared/TOOLCHAIN.md facts in README):
#   wasm32 target, trunk 0.21.14, wasm-bindgen-cli = Cargo.lock's wasm-bindgen,
#   Debian chromium + chromium-driver (tests only: pass --browser), npm deps of e2e/ (--browser).
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo fmt --version >/dev/null 2>&1; then
  say "adding rustfmt"
  rustup component add rustfmt
fi

# wasm-bindgen-cli must equal the wasm-bindgen version in Cargo.lock exactly.
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$wb_version" ]; then
  echo "[setup] cannot read the wasm-bindgen version from Cargo.lock" >&2
  exit 1
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wb_version\$"; then
  say "installing wasm-bindgen-cli $wb_version (about 3 minutes)"
  # Not --locked: one of its locked dependencies is missing from the registry mirror.
  cargo install wasm-bindgen-cli --version "$wb_version"
fi

if ! trunk --version 2>/dev/null | grep -q "0.21.14"; then
  say "installing trunk 0.21.14 (about 7 minutes; 0.22 needs a newer rustc)"
  cargo install trunk --locked --version 0.21.14
fi

say "fetching crates"
cargo fetch --locked

if [ "$want_browser" = 1 ]; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    say "installing Debian chromium and chromium-driver"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
fi
say "ready"
