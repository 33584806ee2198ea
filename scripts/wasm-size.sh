#!/usr/bin/env bash
# Size check of the release app: prints raw and gzip -9 KiB of every
# dist/*.wasm and fails when one is above the issue-6 budget of 400 KiB gzip.
# Run after `e2e/build.sh` (or `trunk build --release`); an optional argument
# names another dist directory. Budget override: WASM_GZIP_KIB_MAX.
set -euo pipefail
cd "$(dirname "$0")/.."
dist="${1:-dist}"
max_kib="${WASM_GZIP_KIB_MAX:-400}"
shopt -s nullglob
files=("$dist"/*.wasm)
if [ ${#files[@]} -eq 0 ]; then
  echo "wasm-size: no .wasm in $dist/ (build the app first: e2e/build.sh)" >&2
  exit 2
fi
status=0
for f in "${files[@]}"; do
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  verdict=ok
  if [ "$gz" -gt $((max_kib * 1024)) ]; then verdict="FAIL (budget ${max_kib} KiB gzip)"; status=1; fi
  awk -v f="$f" -v r="$raw" -v g="$gz" -v v="$verdict" -v m="$max_kib" \
    'BEGIN { printf "%s: %.1f KiB raw, %.1f KiB gzip -9 (budget %d KiB gzip): %s\n", f, r/1024, g/1024, m, v }'
done
exit $status
