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
native=$(cargo run -q --profile test -p fallkd-train --locked -- predict --acc "$rec" 2>/dev/null)
echo "[e2e] native highest fall probability (fallkd predict): $native"
python3 scripts/e2e.py "$site" "$rec" "$out" "$native"
