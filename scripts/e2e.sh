#!/usr/bin/env bash
# Builds the browser demo without trunk (same crate, same index.html, the loader trunk would
# inject), serves it, and drives it in headless Chromium (scripts/e2e.py), with axe-core's
# accessibility check at desktop and phone size.
#   bash scripts/e2e.sh            (needs: bash scripts/setup-wasm.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/e2e; site=$out/site
bash scripts/build-page.sh "$site"
# A recording to upload: generated (not SmartFallMM) data, written by the CLI.
cargo run -q --profile test -p fallkd-train --locked -- generate --out "$out/data" --subjects 1 --trials 1 --seed 11 >/dev/null
rec="$out/data/young/accelerometer/watch/S01A11T01.csv"
gyr="$out/data/young/gyroscope/watch/S01A11T01.csv"
# Native results of both input paths (accelerometer + gyroscope, accelerometer alone), with
# their alarms: the page must give the same (fallkd predict runs the same core code).
fallkd() { cargo run -q --profile test -p fallkd-train --locked -- "$@"; }
# (Through a file, not `| head -1`: under pipefail, head closing the pipe early fails the script.)
fallkd predict --acc "$rec" --gyro "$gyr" --json 2>/dev/null > "$out/native-two.out"
fallkd predict --acc "$rec" --json 2>/dev/null > "$out/native-acc.out"
for p in two acc; do head -1 "$out/native-$p.out" > "$out/native-$p.json"; done
echo "[e2e] native (fallkd predict): two sensors and accelerometer only written to $out/native-*.json"
# axe-core (npm) for the accessibility check, pinned; installed once beside the build.
axe=target/axe/node_modules/axe-core/axe.min.js
if [ ! -f "$axe" ]; then
  echo "[e2e] npm install axe-core@4.14.1 (the accessibility check)"
  npm install --prefix target/axe --no-audit --no-fund --loglevel=error axe-core@4.14.1 >/dev/null
fi
AXE_JS="$PWD/$axe" python3 scripts/e2e.py "$site" "$rec" "$out" "$out/native-acc.json" "$gyr" "$out/native-two.json"
