#!/usr/bin/env bash
# Builds the browser demo without trunk into SITE (default target/e2e/site): the web crate in the
# test profile (sharing its compiled dependencies with the browser tests), wasm-bindgen, and
# index.html with the loader trunk would inject (it also exposes the wasm exports as
# window.wasmExports, for memory figures).
# With PROFILE=web-release, the bundle for publishing: the web-release cargo profile (fat LTO, one
# codegen unit, stripped) and wasm-opt (WASM_OPT_LEVEL, default -Oz; WASM_OPT=0 skips it).
#   [PROFILE=web-release] bash scripts/build-page.sh [SITE]      (needs: bash scripts/setup-wasm.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
site=${1:-target/e2e/site}
rm -rf "$site"; mkdir -p "$site"
# The test profile by default: it shares its compiled dependencies with the browser tests.
profile=${PROFILE:-test}
cargo build -p fallkd-web --lib --target wasm32-unknown-unknown --profile "$profile" --locked
dir=$([ "$profile" = test ] && echo debug || echo "$profile")
wasm-bindgen --target web --no-typescript --out-dir "$site" --out-name fallkd-web "target/wasm32-unknown-unknown/$dir/fallkd_web.wasm"
# Any profile but the test one: wasm-opt (binaryen from npm: Debian's 108 breaks the output),
# with the wasm features rustc 1.95 emits by default and SIMD (burn-flex uses simd128).
if [ "$profile" != test ] && [ "${WASM_OPT:-1}" = 1 ]; then
  command -v wasm-opt >/dev/null || WITH_WASM_OPT=1 SKIP_TRUNK=1 bash scripts/setup-wasm.sh
  wasm-opt "${WASM_OPT_LEVEL:--Oz}" --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd --strip-debug --strip-producers \
    "$site/fallkd-web_bg.wasm" -o "$site/fallkd-web_bg.opt.wasm"
  mv "$site/fallkd-web_bg.opt.wasm" "$site/fallkd-web_bg.wasm"
fi
loader='<script type="module">import init, * as bindings from "./fallkd-web.js"; const wasm = await init({module_or_path: "./fallkd-web_bg.wasm"}); window.wasmBindings = bindings; window.wasmExports = wasm; dispatchEvent(new CustomEvent("TrunkApplicationStarted", {detail: {wasm}}));</script>'
python3 - "$site" "$loader" <<'PY'
import re, sys
site, loader = sys.argv[1], sys.argv[2]
html = open("index.html").read()
html = re.sub(r'<link data-trunk[^>]*>', loader, html)
open(f"{site}/index.html", "w").write(html)
PY
