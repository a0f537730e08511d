#!/usr/bin/env bash
# The one command that runs every fallkd test (README "Tests"). Idempotent; installs what it needs.
#   bash scripts/test.sh
# Real-data tests run when FALLKD_SMARTFALLMM points at the unpacked SmartFallMM archive
# (.ci/run sets it); otherwise they print a loud SKIPPING notice.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf '[test] %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

log "cargo test --workspace --all-targets (models, losses, data, training loop, CLI, properties, real data; benches run once as smoke tests)"
cargo test --workspace --all-targets --locked

log "cargo check -p fallkd-core --target wasm32-unknown-unknown (core must build for the browser)"
cargo check -p fallkd-core --target wasm32-unknown-unknown --locked

log "all tests passed"
