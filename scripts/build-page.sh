#!/usr/bin/env bash
# Builds the browser demo without trunk into SITE (default target/e2e/site): the web crate in the
# test profile (sharing its compiled dependencies with the browser tests), wasm-bindgen, and
# index.html with the loader trunk would inject (it also exposes the wasm exports as
# window.wasmExports, for memory figures).
# With PROFILE=release, the release build the published page uses (`trunk build --release`; no
# wasm-opt, as index.html says).
#   [PROFILE=release] bash scripts/build-page.sh [SITE]      (needs: bash scripts/setup-wasm.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
site=${1:-target/e2e/site}
rm -rf "$site"; mkdir -p "$site"
# The test profile by default: it shares its compiled dependencies with the browser tests.
profile=${PROFILE:-test}
cargo build -p fallkd-web --lib --target wasm32-unknown-unknown --profile "$profile" --locked
dir=$([ "$profile" = test ] && echo debug || echo "$profile")
wasm-bindgen --target web --no-typescript --out-dir "$site" --out-name fallkd-web "target/wasm32-unknown-unknown/$dir/fallkd_web.wasm"
loader='<script type="module">import init, * as bindings from "./fallkd-web.js"; const wasm = await init({module_or_path: "./fallkd-web_bg.wasm"}); window.wasmBindings = bindings; window.wasmExports = wasm; dispatchEvent(new CustomEvent("TrunkApplicationStarted", {detail: {wasm}}));</script>'
python3 - "$site" "$loader" <<'PY'
import re, sys
site, loader = sys.argv[1], sys.argv[2]
html = open("index.html").read()
html = re.sub(r'<link data-trunk[^>]*>', loader, html)
open(f"{site}/index.html", "w").write(html)
PY
