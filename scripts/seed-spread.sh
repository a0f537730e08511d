#!/usr/bin/env bash
# Numerical-behaviour check for changes that alter random streams (issue #13, the dropout mask
# generator): trains the teacher and the no-KD student on generated data with several seeds and
# prints each run's test AUC and F1 at the validation threshold, then mean +- std per model. Run it
# with the binary before and after a change: the two means must agree within their seed spread.
#   bash scripts/seed-spread.sh FALLKD_BINARY OUT_DIR [SEEDS...] > spread.txt
set -euo pipefail
cd "$(dirname "$0")/.."
B=$1; OUT=$2; shift 2
[ $# -gt 0 ] && SEEDS=("$@") || SEEDS=(1 2 3 4 5)
rm -rf "$OUT" && mkdir -p "$OUT"
"$B" generate --out "$OUT/data" --subjects 8 --trials 3 --seed 7 >/dev/null
for s in "${SEEDS[@]}"; do
  C=(--data-root "$OUT/data" --seed "$s" --epochs 4 --quiet)
  "$B" train-teacher "${C[@]}" --out "$OUT/teacher-$s" >/dev/null
  "$B" train-student "${C[@]}" --no-kd --out "$OUT/student-$s" >/dev/null
done
python3 - "$OUT" "${SEEDS[@]}" <<'PY'
import json, statistics as st, sys
out, seeds = sys.argv[1], sys.argv[2:]
for model in ("teacher", "student"):
    auc, f1 = [], []
    for s in seeds:
        m = json.load(open(f"{out}/{model}-{s}/metrics.json"))
        auc.append(m["test"]["auc"]); f1.append(m["test_at_val_threshold"]["f1"])
        print(f"{model} seed {s}: test AUC {auc[-1]:.3f}, F1 at val threshold {f1[-1]:.3f}")
    print(f"{model}: AUC {st.mean(auc):.3f} +- {st.stdev(auc):.3f}, F1 {st.mean(f1):.3f} +- {st.stdev(f1):.3f} over {len(seeds)} seeds")
PY
