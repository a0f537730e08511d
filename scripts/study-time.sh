#!/usr/bin/env bash
# Whole-study wall time for a before/after speed comparison (issue #13): a leave-one-subject-out
# study on generated data (6 subjects, every fold) with the teacher, the student without KD and
# the KD student, two runs at a time, 4 epochs. Run it with each binary on an otherwise idle
# machine; prints the binary and the wall seconds.
#   bash scripts/study-time.sh FALLKD_BINARY OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
B=$1; OUT=$2
rm -rf "$OUT" && mkdir -p "$OUT"
"$B" generate --out "$OUT/data" --subjects 6 --trials 2 --seed 7 >/dev/null
t0=$(date +%s.%N)
"$B" loso --data-root "$OUT/data" --out "$OUT/loso" --parallel 2 --seeds 5 \
  --rows teacher,student-nokd,student-kd --set train.epochs=4 >/dev/null 2>"$OUT/loso.log"
t1=$(date +%s.%N)
python3 -c "import sys; print(f'{sys.argv[1]}: {float(sys.argv[3]) - float(sys.argv[2]):.1f} s wall')" "$B" "$t0" "$t1"
