# Sourced by scripts/build-page.sh and scripts/trunk-webgpu.sh (trunk's post-build hook): one
# wasm-bindgen bundle of the web crate.
#   bundle OUT_NAME PROFILE OUT_DIR [cargo flags...]
# PROFILE `test` shares its compiled dependencies with the browser tests; any other profile also
# runs wasm-opt (binaryen from npm: Debian's 108 breaks the output; WASM_OPT=0 skips it,
# WASM_OPT_LEVEL sets the level, -Oz by default). Every bundle is checked to compile where relaxed
# SIMD is missing.
bundle() {
  local name=$1 profile=$2 site=$3; shift 3
  local dir; dir=$([ "$profile" = test ] || [ "$profile" = dev ] && echo debug || echo "$profile")
  cargo build -p fallkd-web --lib --target wasm32-unknown-unknown --profile "$profile" --locked "$@"
  wasm-bindgen --target web --no-typescript --out-dir "$site" --out-name "$name" "target/wasm32-unknown-unknown/$dir/fallkd_web.wasm"
  # With the wasm features rustc 1.95 emits by default and SIMD (burn-flex uses simd128).
  if [ "$profile" != test ] && [ "$profile" != dev ] && [ "${WASM_OPT:-1}" = 1 ]; then
    command -v wasm-opt >/dev/null || WITH_WASM_OPT=1 SKIP_TRUNK=1 bash scripts/setup-wasm.sh
    wasm-opt "${WASM_OPT_LEVEL:--Oz}" --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd --strip-debug --strip-producers \
      "$site/${name}_bg.wasm" -o "$site/${name}_bg.opt.wasm"
    mv "$site/${name}_bg.opt.wasm" "$site/${name}_bg.wasm"
  fi
  # The bundle must compile where relaxed SIMD is missing (a browser without it refuses the whole
  # module, not only the functions that use it; core/Cargo.toml): V8 with relaxed SIMD turned off
  # validates it as such a browser would (Node: setup-wasm.sh).
  node --no-experimental-wasm-relaxed-simd -e 0 || {
    echo "[bundle] 'node --no-experimental-wasm-relaxed-simd' failed: Node with that V8 flag is needed to check the bundle (scripts/setup-wasm.sh)" >&2
    exit 1
  }
  if ! node --no-experimental-wasm-relaxed-simd -e \
      'process.exit(WebAssembly.validate(require("fs").readFileSync(process.argv[1])) ? 0 : 1)' "$site/${name}_bg.wasm"; then
    echo "[bundle] $site/${name}_bg.wasm does not validate without relaxed SIMD: a crate turned on a WebAssembly feature beyond SIMD128 (pulp's default relaxed-simd?)" >&2
    exit 1
  fi
}
