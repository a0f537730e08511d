#!/usr/bin/env bash
# The one command that runs every fallkd test (README "Tests"). Idempotent; installs what it needs
# (wasm32 target; Chromium, ChromeDriver and wasm-bindgen-cli through scripts/setup-wasm.sh).
#   bash scripts/test.sh
# Real-data tests run when FALLKD_SMARTFALLMM points at the unpacked SmartFallMM archive
# (.ci/run sets it); otherwise they print a loud SKIPPING notice.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# Each line carries the minutes and seconds since the start, so a slow step shows in CI's log.
log() { printf '[test %d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! rustup component list --installed | grep -q '^clippy'; then
  log "rustup component add clippy"
  rustup component add clippy
fi

log "1/5 cargo test (native: models, losses, data, training loop, CLI, properties, real data, web fixture, fuzzing burst; benches once)"
cargo test --workspace --all-targets --exclude fallkd-web --locked
log "1a/5 clippy, warnings denied (native workspace, all targets)"
cargo clippy --workspace --all-targets --exclude fallkd-web --locked -- -D warnings
log "1a/5 rustdoc, warnings denied (broken intra-doc links in core and train-native)"
RUSTDOCFLAGS="-D warnings" cargo doc -p fallkd-core -p fallkd-train --no-deps --locked
if [ -n "${FALLKD_SMARTFALLMM:-}" ]; then
  log "1b/5 real-data tests (FALLKD_SMARTFALLMM=$FALLKD_SMARTFALLMM; ignored in step 1)"
  cargo test --locked --test real_data -- --ignored
else
  log "1b/5 real-data tests SKIPPED: FALLKD_SMARTFALLMM is not set (step 1 lists them as ignored)"
fi

log "2/5 fallkd-core builds for wasm32"
cargo check -p fallkd-core --target wasm32-unknown-unknown --locked
log "2a/5 clippy on the browser crate for wasm32, warnings denied"
cargo clippy -p fallkd-web --target wasm32-unknown-unknown --all-targets --locked -- -D warnings
# ... and as the page's first bundle is built: without the webgpu feature.
cargo clippy -p fallkd-web --target wasm32-unknown-unknown --lib --no-default-features --locked -- -D warnings

log "3/5 browser tool-chain (Chromium, ChromeDriver, wasm-bindgen-cli; trunk skipped)"
SKIP_TRUNK=1 bash scripts/setup-wasm.sh

log "4/5 browser tests in headless Chromium: CPU and WebGPU against native"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/web/webdriver.json" \
CHROMEDRIVER="$(command -v chromedriver)" \
WASM_BINDGEN_TEST_TIMEOUT=600 \
  cargo test -p fallkd-web --target wasm32-unknown-unknown --locked

log "5/5 end-to-end: the page in headless Chromium (upload, result, bad upload, screenshots)"
bash scripts/e2e.sh

log "all tests passed"
