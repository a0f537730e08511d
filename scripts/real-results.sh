#!/usr/bin/env bash
# Every run behind RESULTS.md, in order, on the SmartFallMM archive. Each step keeps finished runs,
# so a stopped script continues where it stopped when started again.
#   bash scripts/real-results.sh [ARCHIVE]   (default ../shared/smartfallmm/smartfallmm-young.tar.gz)
# About 2.5 h on 2 CPU cores (the leave-one-subject-out study is 1.5 h of it).
set -euo pipefail
cd "$(dirname "$0")/.."
ARCHIVE=${1:-../shared/smartfallmm/smartfallmm-young.tar.gz}
if [ ! -d data/young ]; then
  [ -f "$ARCHIVE" ] || { echo "no data/young and no archive at $ARCHIVE: pass the archive's path" >&2; exit 2; }
  mkdir -p data && tar -xzf "$ARCHIVE" -C data
fi
cargo build --release -p fallkd-train
B=./target/release/fallkd
COMMON=(--set window.fall_windows=impact --set window.pairing=whole-trial)
FIXED=(--set 'data.split.val=[30,45]' --set 'data.split.test=[31,46]')

# 1. Fixed split: teacher, students with and without KD (three time modes), baseline, stress.
[ -f runs/real-impact/report.md ] ||
  $B pipeline --data-root data --out runs/real-impact "${COMMON[@]}" "${FIXED[@]}"

# 2. Fixed-split ablations: KD loss combinations, token counts, positional encoding.
$B student-ablation --out runs/fixed-ablation/student --parallel 2 \
  --only tokens32,tokens128,no-pos-enc,kd-embedding,kd-embedding-gram,kd-embedding-gram-comodo,kd-all \
  --set data.root=data "${COMMON[@]}" "${FIXED[@]}" --set kd.teacher=runs/real-impact/teacher
$B teacher-ablation --out runs/fixed-ablation/teacher --only no-pos-enc \
  --set data.root=data "${COMMON[@]}" "${FIXED[@]}"

# 3. Robustness of the best student, the position-mode student and the baseline.
$B stress-test --run runs/fixed-ablation/student/tokens32 --run runs/real-impact/student-kd-position \
  --run runs/real-impact/baseline-fixed-rate --out runs/stress-best

# 4. Leave-one-subject-out over the 11 subjects with falls and ADLs.
$B loso --data-root data --out runs/loso --parallel 2 "${COMMON[@]}" \
  --rows teacher,student-nokd,student-kd,student-kd-position,student-kd-tokens32,baseline-fixed-rate \
  --kd-row 'student-kd-no-pos-enc=student.use_pos_enc=false' \
  --kd-row 'student-kd-posw4=train.loss={kind: bce, pos_weight: 4}'

# 5. Batch-1 inference time per window on one CPU thread, machine otherwise idle.
for r in runs/real-impact/teacher runs/fixed-ablation/student/tokens32 runs/real-impact/student-kd \
  runs/fixed-ablation/student/tokens128 runs/real-impact/baseline-fixed-rate; do
  RAYON_NUM_THREADS=1 $B evaluate --run "$r" | tail -1
done

# 6. The browser demo's bundled student (RESULTS.md, section 5) and the browser tests' reference.
$B export --run runs/fixed-ablation/student/tokens32 --out web/assets/student.fallkd --threshold 0.5
FALLKD_WRITE_FIXTURE=1 cargo test --test web_fixture
