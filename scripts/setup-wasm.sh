#!/usr/bin/env bash
# setup-wasm.sh (adapted from the team's verified set-up) — take a fresh Debian 12 "rust" machine (rustup stable 1.95, 2 cores, registries only)
# to: wasm32-unknown-unknown builds, wasm-bindgen CLI, wasm-bindgen-test in headless Chromium
# (chromedriver), and trunk. Idempotent and non-interactive; safe to run on every CI start.
#
# Usage:  bash setup-wasm.sh [path/to/Cargo.lock]
#   The wasm-bindgen-cli version is read from the given Cargo.lock (or ./Cargo.lock), because
#   wasm-bindgen-cli must equal the `wasm-bindgen` crate version exactly. Override with
#   WASM_BINDGEN_VERSION=0.2.x. Set WITH_WASM_OPT=1 to also install wasm-opt 132 from the npm package
#   `binaryen` (JS build, runs on node; Debian's binaryen 108 breaks wasm-bindgen 0.2.130 output).
#
# Measured on this machine kind (2 cores), cold: apt chromium+driver ~45 s, rustup target ~3 s,
# wasm-bindgen-cli ~6-9 min, trunk ~13 min.  Total ~20-25 min; later runs: a few seconds.
set -euo pipefail

TRUNK_VERSION="${TRUNK_VERSION:-0.21.14}"   # trunk 0.22.x needs rustc >= 1.96.1; 0.21.14 builds on 1.95
LOCKFILE="${1:-Cargo.lock}"
export DEBIAN_FRONTEND=noninteractive
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf '[setup-wasm] %s\n' "$*" >&2; }

# --- wasm-bindgen version: exactly the one in Cargo.lock ---------------------------------------
if [ -z "${WASM_BINDGEN_VERSION:-}" ]; then
  if [ -f "$LOCKFILE" ]; then
    WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' "$LOCKFILE")"
  fi
  WASM_BINDGEN_VERSION="${WASM_BINDGEN_VERSION:-0.2.130}"
fi
log "wasm-bindgen-cli version: $WASM_BINDGEN_VERSION"

# --- 1. Debian packages: Chromium + ChromeDriver (same version) --------------------------------
apt_pkgs=(chromium chromium-driver)
# Node: build-page.sh validates the bundles in V8 without relaxed SIMD (Node >= 18, Debian's will
# do), npm installs wasm-opt below; benches/wasm/run.sh needs Node >= 20 (WASI without a flag).
command -v node >/dev/null || apt_pkgs+=(nodejs)
command -v npm >/dev/null || apt_pkgs+=(npm)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v chromedriver >/dev/null && command -v chromium >/dev/null

# --- 2. wasm32-unknown-unknown std for the rustup toolchain ------------------------------------
# rustup's dist server is reachable through this workplace's registry proxy (verified: ~3 s).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  if ! timeout 300 rustup target add wasm32-unknown-unknown; then
    log "rustup could not fetch rust-std for wasm32. Fallback: Debian rustc-web 1.96 + -Zbuild-std"
    log "installing it as rustup toolchain 'debian-web'"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends rustc-web cargo-web rust-web-src lld-22 >/dev/null
    rustup toolchain list | grep -q '^debian-web' || rustup toolchain link debian-web /usr
    log "build with: RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22 \\"
    log "  cargo +debian-web build --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort"
    log "(wasm-bindgen-cli / trunk below still install with the rustup stable toolchain)"
  fi
fi

# --- 3. wasm-bindgen-cli (wasm-bindgen, wasm-bindgen-test-runner), exact version ---------------
have_wb="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have_wb" != "$WASM_BINDGEN_VERSION" ]; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (was: ${have_wb:-none})"
  # No --locked: its lockfile pins webpki-roots 1.0.11, which this registry does not serve.
  cargo install --quiet --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# --- 4. trunk (for `trunk serve` / `trunk build --release`; SKIP_TRUNK=1 skips it, as CI does) ---
have_trunk="$(trunk --version 2>/dev/null | awk '{print $2}' || true)"
if [ "${SKIP_TRUNK:-0}" != 1 ] && [ "$have_trunk" != "$TRUNK_VERSION" ]; then
  log "cargo install trunk $TRUNK_VERSION (was: ${have_trunk:-none})"
  cargo install --quiet --force trunk --version "$TRUNK_VERSION" --locked
fi

# --- 5. optional wasm-opt (trunk runs it in --release unless data-wasm-opt="0") ------------------
BINARYEN_NPM_VERSION="${BINARYEN_NPM_VERSION:-132.0.0}"
if [ "${WITH_WASM_OPT:-0}" = 1 ]; then
  if dpkg-query -W -f='${Status}' binaryen 2>/dev/null | grep -q 'install ok installed'; then
    log "removing Debian binaryen (wasm-opt 108 emits wasm that fails: WebAssembly.Table.set(): Argument 1 is invalid)"
    apt-get remove -y -qq binaryen >/dev/null
  fi
  if [ "$(wasm-opt --version 2>/dev/null | awk '{print $3}')" != "${BINARYEN_NPM_VERSION%%.*}" ]; then
    log "npm install -g binaryen@$BINARYEN_NPM_VERSION (provides /usr/bin/wasm-opt)"
    npm install -g --no-audit --no-fund --loglevel=error "binaryen@$BINARYEN_NPM_VERSION" >/dev/null
  fi
fi

log "ok: $(rustc --version); wasm-bindgen $(wasm-bindgen --version | awk '{print $2}'); $(trunk --version 2>/dev/null || echo 'trunk skipped');"
log "    $(chromium --version 2>/dev/null); $(chromedriver --version | cut -d' ' -f1-2)"
