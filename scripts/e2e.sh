#!/usr/bin/env bash
# Builds the browser demo without trunk (same crate, same index.html, the loader trunk would
# inject), serves it, and drives it in headless Chromium (scripts/e2e.py).
#   bash scripts/e2e.sh            (needs: bash scripts/setup-wasm.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/e2e; site=$out/site
rm -rf "$site"; mkdir -p "$site"
# The test profile: shares its compiled dependencies with the browser tests.
cargo build -p fallkd-web --lib --target wasm32-unknown-unknown --profile test --locked
wasm-bindgen --target web --no-typescript --out-dir "$site" --out-name fallkd-web target/wasm32-unknown-unknown/debug/fallkd_web.wasm
loader='<script type="module">import init, * as bindings from "./fallkd-web.js"; const wasm = await init({module_or_path: "./fallkd-web_bg.wasm"}); window.wasmBindings = bindings; dispatchEvent(new CustomEvent("TrunkApplicationStarted", {detail: {wasm}}));</script>'
python3 - "$site" "$loader" <<'PY'
import re, sys
site, loader = sys.argv[1], sys.argv[2]
html = open("index.html").read()
html = re.sub(r'<link data-trunk[^>]*>', loader, html)
open(f"{site}/index.html", "w").write(html)
PY
# A recording to upload: generated (not SmartFallMM) data, written by the CLI.
cargo run -q --profile test -p fallkd-train --locked -- generate --out "$out/data" --subjects 1 --trials 1 --seed 11 >/dev/null
rec="$out/data/young/accelerometer/watch/S01A11T01.csv"
gyr="$out/data/young/gyroscope/watch/S01A11T01.csv"
# Native results of both input paths (accelerometer + gyroscope, accelerometer alone), with
# their alarms: the page must give the same (fallkd predict runs the same core code).
fallkd() { cargo run -q --profile test -p fallkd-train --locked -- "$@"; }
fallkd predict --acc "$rec" --gyro "$gyr" --json 2>/dev/null | head -1 > "$out/native-two.json"
fallkd predict --acc "$rec" --json 2>/dev/null | head -1 > "$out/native-acc.json"
echo "[e2e] native (fallkd predict): two sensors and accelerometer only written to $out/native-*.json"
python3 scripts/e2e.py "$site" "$rec" "$out" "$out/native-acc.json" "$gyr" "$out/native-two.json"
