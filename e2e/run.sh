#!/usr/bin/env bash
# Build the release app, serve it, run every browser test in Debian's headless
# Chromium, and leave screenshots in target/screenshots/. Exits non-zero on any
# failure (run-tests, layout-tests, follow-tests, lesson-tests, export-tests, kafka-tests,
# builder-tests, guarantee-tests, pulsar-tests, broker-tests, sweep-tests, then share-tests; their shared helpers are in e2e/lib.mjs). Works from a clean checkout after `cargo fetch` (npm deps are
# installed here). Usage: e2e/run.sh   (ONLY=substring runs matching tests)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/e2e/build.sh"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$root/dist" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" 2>/dev/null; then break; fi
  sleep 0.1
done
mkdir -p "$root/target/screenshots"
rm -f "$root/target/screenshots/"*.png "$root/target/screenshots/layout/"*.png "$root/target/screenshots/kafka/"*.png "$root/target/screenshots/guarantees/"*.png "$root/target/screenshots/pulsar/"*.png "$root/target/screenshots/brokers/"*.png
cd "$root/e2e"
# The share tests compare the app's trace hash with `queuelab run LINK`.
(cd "$root" && cargo build --locked --quiet --bin queuelab)
status=0
BASE_URL="http://127.0.0.1:$port/" SHOTS="$root/target/screenshots" node run-tests.mjs || status=1
BASE_URL="http://127.0.0.1:$port/" SHOTS="$root/target/screenshots" node layout-tests.mjs || status=1
BASE_URL="http://127.0.0.1:$port/" SHOTS="$root/target/screenshots" node follow-tests.mjs || status=1
BASE_URL="http://127.0.0.1:$port/" SHOTS="$root/target/screenshots" node lesson-tests.mjs || status=1
BASE_URL="http://127.0.0.1:$port/" SHOTS="$root/target/screenshots" node export-tests.mjs || status=1
BASE_URL="http://127.0.0.1:$port/" SHOTS="$root/target/screenshots" node kafka-tests.mjs || status=1
BASE_URL="http://127.0.0.1:$port/" SHOTS="$root/target/screenshots" node builder-tests.mjs || status=1
BASE_URL="http://127.0.0.1:$port/" SHOTS="$root/target/screenshots" node guarantee-tests.mjs || status=1
BASE_URL="http://127.0.0.1:$port/" SHOTS="$root/target/screenshots" QUEUELAB="$root/target/debug/queuelab" \
  node pulsar-tests.mjs || status=1
BASE_URL="http://127.0.0.1:$port/" SHOTS="$root/target/screenshots" node broker-tests.mjs || status=1
BASE_URL="http://127.0.0.1:$port/" SHOTS="$root/target/screenshots" QUEUELAB="$root/target/debug/queuelab" \
  node sweep-tests.mjs || status=1
BASE_URL="http://127.0.0.1:$port/" SHOTS="$root/target/screenshots" QUEUELAB="$root/target/debug/queuelab" \
  node share-tests.mjs || status=1
exit "$status"
