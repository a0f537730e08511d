#!/usr/bin/env bash
# Builds the browser demo without trunk into SITE (default target/e2e/site): the web crate in the
# test profile (sharing its compiled dependencies with the browser tests), twice (the CPU-only
# bundle the page loads first, the WebGPU one it loads when the browser has an adapter),
# wasm-bindgen, and index.html with a loader for the CPU bundle in place of trunk's (it also
# exposes the wasm exports as window.wasmExports, for memory figures).
# With PROFILE=web-release, the bundle for publishing: the web-release cargo profile (fat LTO, one
# codegen unit, stripped) and wasm-opt (WASM_OPT_LEVEL, default -Oz; WASM_OPT=0 skips it).
#   [PROFILE=web-release] bash scripts/build-page.sh [SITE]      (needs: bash scripts/setup-wasm.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
site=${1:-target/e2e/site}
rm -rf "$site"; mkdir -p "$site"
# The test profile by default: it shares its compiled dependencies with the browser tests.
profile=${PROFILE:-test}
# Two bundles of the same crate: fallkd-web-cpu (without the webgpu feature, the CPU backend only)
# is the one the page loads first; fallkd-web (with WebGPU) is fetched in the background when the
# browser offers a WebGPU adapter (index.html).
source scripts/wasm-bundle.sh
bundle fallkd-web-cpu "$profile" "$site" --no-default-features
bundle fallkd-web "$profile" "$site"
# Size budgets, so the bundles cannot silently grow back (issue #13): each wasm against its
# ceiling (measured size + about 5 %; BENCHMARKS.md "Browser bundle"). The test command's
# end-to-end step builds the test profile, so every test run checks those.
budget() {   # budget FILE BYTES
  local size; size=$(wc -c < "$1")
  echo "[build-page] $1: $size bytes ($profile profile; budget $2)"
  if [ "$2" -gt 0 ] && [ "$size" -gt "$2" ]; then
    echo "[build-page] $1 is $size bytes, over its budget of $2 bytes (scripts/build-page.sh): find what grew it (twiggy top), or raise the budget with a reason" >&2
    exit 1
  fi
}
case "$profile" in
  # CPU, test profile: 6.58 MB on 2026-12-07, after gravity axes and unit detection (issue #32),
  # the model file's SHA-256 check, its provenance and the logger header parser (issue #35);
  # 7.72 MB once the page personalises (issue #33: burn's autodiff and Adam on the CPU backend,
  # the head's fine-tuning and the safeguard), a feature the page cannot have without them.
  # With dependencies at opt-level 1 in the test profile (Cargo.toml; 2026-12-07): CPU 7.21 MB,
  # WebGPU 40.99 MB (39.99 MB at opt-level 3), hence the WebGPU budget of 43 MB.
  test) budget "$site/fallkd-web-cpu_bg.wasm" "${WASM_BUDGET_CPU:-8100000}"      # 6.18 MB on 2026-12-01
        budget "$site/fallkd-web_bg.wasm" "${WASM_BUDGET_FULL:-43000000}" ;;      # 38.76 MB on 2026-12-01
  # CPU: 3.87 MB (1.08 MB gzipped) since the host forward is compiled at opt-level 3 (Cargo.toml,
  # profile.web-release: twice the speed for 1.1 MB); 2.74 MB at opt-level "s".
  web-release) budget "$site/fallkd-web-cpu_bg.wasm" "${WASM_BUDGET_CPU:-4100000}"
        budget "$site/fallkd-web_bg.wasm" "${WASM_BUDGET_FULL:-12800000}" ;;         # 12.15 MB (3.33 MB gzipped)
esac
loader='<script type="module">import init, * as bindings from "./fallkd-web-cpu.js"; const wasm = await init({module_or_path: "./fallkd-web-cpu_bg.wasm"}); window.wasmBindings = bindings; window.wasmExports = wasm; dispatchEvent(new CustomEvent("TrunkApplicationStarted", {detail: {wasm}}));</script>'
# The page's other files (installable and offline: web/pwa/), which trunk copies by the page's
# `data-trunk rel="copy-file"` links.
cp web/pwa/* "$site/"
# The page's script (web/js/, trunk's `copy-dir` link).
cp -r web/js "$site/js"
python3 - "$site" "$loader" <<'PY'
import re, sys
site, loader = sys.argv[1], sys.argv[2]
html = open("index.html").read()
html = re.sub(r'<link data-trunk rel="rust"[^>]*>', loader, html)
html = re.sub(r'\s*<link data-trunk rel="copy-(file|dir)"[^>]*>', "", html)
open(f"{site}/index.html", "w").write(html)
PY
