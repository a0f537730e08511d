#!/usr/bin/env bash
# The one command that runs every fallkd test (README, "The two commands"). Idempotent; installs what it needs
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

# Clippy, warnings denied, lints every workspace crate while the steps below compile it, rather than
# in check-only passes of its own: RUSTC_WORKSPACE_WRAPPER and CLIPPY_ARGS are what `cargo clippy`
# itself sets before running `cargo check`. A check pass compiles every dependency a second time
# per target and feature set (native; wasm32 with and without WebGPU); CI took 53 min with them.
# Step 1 lints the native workspace (all targets), step 3 fallkd-core and fallkd-web for wasm32
# (library and browser tests, with WebGPU), step 4 the web crate without WebGPU (the page's CPU
# bundle). A lint fails the build that hit it, naming the file and line.
RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver)"
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

log "1/4 cargo test (native: models, losses, data, training loop, CLI, properties, real data, web fixture, fuzzing burst; benches once), clippy-linted as it builds"
cargo test --workspace --all-targets --exclude fallkd-web --locked
log "1a/4 rustdoc, warnings denied (broken intra-doc links in core and train-native)"
# In the test profile, so that the build scripts and proc macros step 1 compiled serve it too.
RUSTDOCFLAGS="-D warnings" cargo doc --profile test -p fallkd-core -p fallkd-train --no-deps --locked
if [ -n "${FALLKD_SMARTFALLMM:-}" ]; then
  # The same package selection as step 1, so its build is reused (one package alone unifies
  # features differently and recompiled the burn stack).
  log "1b/4 real-data tests (FALLKD_SMARTFALLMM=$FALLKD_SMARTFALLMM; ignored in step 1)"
  cargo test --workspace --exclude fallkd-web --locked --test real_data -- --ignored
else
  log "1b/4 real-data tests SKIPPED: FALLKD_SMARTFALLMM is not set (step 1 lists them as ignored)"
fi

log "2/4 browser tool-chain (Chromium, ChromeDriver, wasm-bindgen-cli; trunk skipped)"
SKIP_TRUNK=1 bash scripts/setup-wasm.sh

log "3/4 browser tests in headless Chromium: CPU and WebGPU against native (fallkd-core and fallkd-web built for wasm32, clippy-linted)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/web/webdriver.json" \
CHROMEDRIVER="$(command -v chromedriver)" \
WASM_BINDGEN_TEST_TIMEOUT=600 \
  cargo test -p fallkd-web --target wasm32-unknown-unknown --locked -- --nocapture

log "4/4 end-to-end: the page in headless Chromium (upload, result, bad upload, screenshots; its CPU bundle is the web crate without WebGPU, clippy-linted)"
bash scripts/e2e.sh

log "all tests passed"
