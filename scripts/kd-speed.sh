#!/usr/bin/env bash
# KD student training speed (issue #13): on generated data, a 2-epoch teacher, then the KD
# student (embedding + Gram KD, whole-trial pairing as in RESULTS.md) for 2 epochs on one thread.
# Prints the binary, training steps/s, test F1 and validation threshold (the last two must match
# between binaries when a change is meant to keep the numbers).
#   bash scripts/kd-speed.sh FALLKD_BINARY OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
B=$1; OUT=$2
rm -rf "$OUT" && mkdir -p "$OUT"
"$B" generate --out "$OUT/data" --subjects 6 --trials 2 --seed 7 >/dev/null
C=(--data-root "$OUT/data" --seed 5 --epochs 2 --quiet --set window.pairing=whole-trial)
"$B" train-teacher "${C[@]}" --out "$OUT/teacher" >/dev/null
RAYON_NUM_THREADS=1 "$B" train-student "${C[@]}" --teacher-weights "$OUT/teacher" --out "$OUT/kd" >/dev/null
python3 - "$B" "$OUT/kd/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[2]))
print("%s: %.2f steps/s, test F1 %.4f, threshold %.4f" % (sys.argv[1], m["steps_per_s"], m["test"]["f1"], m["threshold"]))
PY
