#!/usr/bin/env bash
# Behaviour check for refactors (issue #11): trains every model kind for a few epochs on generated
# data with one seed and prints each run's test metrics and validation threshold. Run it on the
# commit before a change and after it; the two outputs must be identical.
#   bash scripts/same-metrics.sh [FALLKD_BINARY] [OUT_DIR] > metrics.txt
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-./target/release/fallkd}
OUT=${2:-runs/same-metrics}
rm -rf "$OUT"
mkdir -p "$OUT"
"$B" generate --out "$OUT/data" --subjects 6 --trials 2 --seed 7 >/dev/null
C=(--data-root "$OUT/data" --seed 5 --epochs 2 --quiet)
"$B" train-teacher "${C[@]}" --out "$OUT/teacher" >/dev/null
"$B" train-student "${C[@]}" --no-kd --out "$OUT/nokd" >/dev/null
"$B" train-student "${C[@]}" --teacher-weights "$OUT/teacher" --out "$OUT/kd" \
  --set kd.weights.attention=0.5 --set kd.weights.comodo=0.5 --set kd.weights.response=0.5 >/dev/null
"$B" train-student "${C[@]}" --no-kd --fixed-rate --out "$OUT/fixed" >/dev/null
"$B" train-student "${C[@]}" --no-kd --out "$OUT/wf" --set student.window_features=true \
  --set train.augment='{probability: 0.5, rotation_deg: 20, gain: 0.1}' --set train.gyro_dropout=0.2 >/dev/null
for r in teacher nokd kd fixed wf; do
  printf '%s ' "$r"
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); [m.pop(k) for k in ("steps_per_s","ms_per_window")]; print(json.dumps(m, sort_keys=True))' \
    "$OUT/$r/metrics.json"
  [ -f "$OUT/$r/predictions.csv" ] && printf '%s predictions %s\n' "$r" "$(sha256sum < "$OUT/$r/predictions.csv" | cut -c1-16)"
done
