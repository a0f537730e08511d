#!/usr/bin/env bash
# Real-data training time of one leave-one-subject-out fold, for a before/after speed comparison
# (issue #13): the teacher and the shipped student row (student-kd-wearer-wf-a6, RESULTS.md),
# seed 42, one run at a time, with the given fallkd binary. Prints the wall time, then each run's
# training steps per second (the mean over its epochs, from metrics.csv) and its test line.
#   bash scripts/real-step-time.sh FALLKD_BINARY OUT_DIR [FOLD]
# Needs data/young and data/old (docs/data.md, "Real data"); run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$1; OUT=$2; FOLD=${3:-30}
if [ ! -d data/young ] || [ ! -d data/old ]; then
  echo "unpack both archives into data/ first (docs/data.md, Real data)" >&2; exit 2
fi
rm -rf "$OUT" && mkdir -p "$OUT"
KD='student.time_mode=timestamps;train.gyro_dropout=0.5;data.old_adults.train=true;student.window_features=true'
KD="$KD;window.feature_context_s=10;window.feature_context_ahead_s=6"
t0=$(date +%s.%N)
"$B" loso --data-root data --out "$OUT/loso" --parallel 1 --seeds 42 --folds "$FOLD" \
  --set window.fall_windows=impact --set window.pairing=whole-trial --set train.select=val-loss \
  --rows teacher --kd-row "student-kd-wearer-wf-a6=$KD" > "$OUT/loso.log" 2>&1
t1=$(date +%s.%N)
python3 - "$B" "$FOLD" "$t0" "$t1" "$OUT/loso" <<'PY'
import csv, glob, os, sys
b, fold, t0, t1, root = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
print(f"{b}: fold {fold}, {t1 - t0:.1f} s wall")
for m in sorted(glob.glob(os.path.join(root, "**", "metrics.csv"), recursive=True)):
    rows = list(csv.DictReader(open(m)))
    sps = [float(r["steps_per_s"]) for r in rows]
    secs = sum(float(r["seconds"]) for r in rows)
    last = rows[-1]
    print(f"  {os.path.relpath(os.path.dirname(m), root)}: {len(rows)} epochs, {secs:.1f} s in epochs, "
          f"{sum(sps) / len(sps):.2f} steps/s (epochs {min(sps):.2f}-{max(sps):.2f}), "
          f"last epoch loss {float(last['loss']):.4f}, val AUC {float(last['val_auc']):.4f}")
PY
