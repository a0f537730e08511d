#!/usr/bin/env bash
# Memory and time of a long recording (docs/data.md, "Long recordings"): a generated accelerometer file
# of about 215 MiB (5,063,089 samples, 35 h at 40 Hz, Unix milliseconds) through `fallkd predict`
# (peak resident memory by /usr/bin/time) and through the page in headless Chromium on the CPU
# backend, the release build the published page uses (scripts/big_upload.py). Outside CI: about
# 40 min on 2 cores, most of it building the release wasm.
#   bash scripts/big-upload.sh          (needs: bash scripts/setup-wasm.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/big-upload; mkdir -p "$out" results/big-upload
big="$out/big.csv"
if [ ! -f "$big" ]; then
  python3 scripts/gen_watch_csv.py 5063089 "$big"
fi
cargo build --release --locked -p fallkd-train --bin fallkd
/usr/bin/time -v ./target/release/fallkd predict --acc "$big" > "$out/cli.out" 2> "$out/cli.time"
python3 - "$out" <<'PY' > results/big-upload/cli.json
import json, os, re, sys
out = sys.argv[1]
t = open(f"{out}/cli.time").read()
get = lambda k: re.search(re.escape(k) + r": (.*)", t).group(1)
print(json.dumps({"file_bytes": os.path.getsize(f"{out}/big.csv"), "highest_probability": float(open(f"{out}/cli.out").read().split()[0]),
                  "peak_rss_bytes": int(get("Maximum resident set size (kbytes)")) * 1024,
                  "user_s": float(get("User time (seconds)")), "wall": get("Elapsed (wall clock) time (h:mm:ss or m:ss)")}, indent=1))
PY
cat results/big-upload/cli.json
PROFILE=release bash scripts/build-page.sh "$out/site"
python3 scripts/big_upload.py "$out/site" "$big" results/big-upload/page.json
