#!/usr/bin/env bash
# The page's CPU path (inference::analyze: parse, windows, the host forward) natively and as
# WebAssembly in V8 (Node's WASI), on the same file and model, without a browser (issue #13's
# browser CPU / native ratio; BENCHMARKS.md). Node >= 20 and the wasm32-wasip1 target (installed
# here when missing).
#   bash benches/wasm/run.sh [ACC.csv [MODEL [REPEATS]]]
# Defaults: the 21 MB generated recording of BENCHMARKS.md (target/bundle/mid.csv, written when
# missing), the shipped student, 2 repeats. PROFILE=web-release measures the page's own profile.
set -euo pipefail
cd "$(dirname "$0")/../.."
ACC=${1:-target/bundle/mid.csv}
MODEL=${2:-web/assets/student.fallkd}
REPEATS=${3:-2}
PROFILE=${PROFILE:-release}
if [ ! -f "$ACC" ] && [ "$ACC" = target/bundle/mid.csv ]; then
  mkdir -p target/bundle
  python3 scripts/gen_watch_csv.py 480000 "$ACC"
fi
node_major=$(node --version 2>/dev/null | sed 's/^v\([0-9]*\).*/\1/')
if [ -z "$node_major" ] || [ "$node_major" -lt 20 ]; then
  echo "benches/wasm/run.sh: needs Node >= 20 (node:wasi without a flag); found: $(node --version 2>&1 || true)" >&2
  exit 2
fi
rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
cargo build --profile "$PROFILE" --locked -p fallkd-core --example score_file
# The page's flags (.cargo/config.toml sets them for wasm32-unknown-unknown only).
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+simd128" \
  cargo build --profile "$PROFILE" --locked -p fallkd-core --example score_file --target wasm32-wasip1
case "$PROFILE" in dev | test) dir=debug ;; bench) dir=release ;; *) dir=$PROFILE ;; esac
echo "native ($PROFILE, one thread):"
RAYON_NUM_THREADS=1 "target/$dir/examples/score_file" "$MODEL" "$ACC" "$REPEATS"
echo "wasm32-wasip1 + simd128 in Node $(node --version) ($PROFILE):"
node benches/wasm/wasi.mjs "target/wasm32-wasip1/$dir/examples/score_file.wasm" "$MODEL" "$ACC" "$REPEATS"
