#!/usr/bin/env bash
# trunk's post-build hook (Trunk.toml): the page's second bundle, the web crate with WebGPU, written
# beside the page as fallkd-web.js + fallkd-web_bg.wasm, which the page fetches on demand once it
# runs on the CPU bundle trunk built and loaded first (index.html's rust link: without the webgpu
# feature). `trunk build --release` builds it as scripts/build-page.sh's release does (the
# web-release profile and wasm-opt); `trunk serve` and `trunk build` in the test profile.
set -euo pipefail
cd "${TRUNK_SOURCE_DIR:-$(dirname "$0")/..}"
source scripts/wasm-bundle.sh
profile=$([ "${TRUNK_PROFILE:-debug}" = release ] && echo web-release || echo test)
bundle fallkd-web "$profile" "${TRUNK_STAGING_DIR:?trunk sets TRUNK_STAGING_DIR}"
