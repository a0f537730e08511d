#!/usr/bin/env bash
# fallkd vs PyTorch on the same teacher and student, same shapes, same thread count, in one run.
# Not part of the test command. Installs torch into a throwaway virtual environment it owns.
#   bash benches/compare/run.sh [threads] [steps]
# Env: VENV (default target/compare-venv), TORCH_VERSION (default 2.9.0), DEVICE (cpu | cuda;
# cuda needs a CUDA machine and, for fallkd, a build with --features tch).
set -euo pipefail
cd "$(dirname "$0")/../.."
threads="${1:-2}"; steps="${2:-20}"
venv="${VENV:-target/compare-venv}"; torch_version="${TORCH_VERSION:-2.9.0}"; device="${DEVICE:-cpu}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "torch==$torch_version"
fi
features=""
[ "$device" = cpu ] || features="--features tch"
# shellcheck disable=SC2086
cargo build -q --release -p fallkd-train $features
cores=$(nproc --all)
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" RAYON_NUM_THREADS="$threads"
echo "machine: $cores cores, $(uname -m); threads=$threads steps=$steps device=$device; $(date -u +%F)"
for model in teacher student; do
  rs=$(target/release/fallkd speed --model "$model" --steps "$steps" --device "$device")
  py=$("$venv/bin/python" benches/compare/pytorch_reference.py --model "$model" --threads "$threads" --steps "$steps" --device "$device")
  echo "$rs"
  echo "$py"
  python3 - "$rs" "$py" <<'PY'
import json, sys
r, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert r["params"] == p["params"], f"parameter counts differ: fallkd {r['params']} vs PyTorch {p['params']}"
print(f"{r['model']}: params {r['params']}; train steps/s fallkd {r['train_steps_per_s']:.2f} vs PyTorch {p['train_steps_per_s']:.2f} "
      f"(fallkd/PyTorch = {r['train_steps_per_s'] / p['train_steps_per_s']:.2f}); batch-1 latency fallkd {r['infer_ms_b1']:.2f} ms vs PyTorch {p['infer_ms_b1']:.2f} ms "
      f"(speed ratio {p['infer_ms_b1'] / r['infer_ms_b1']:.2f})")
if r.get("train_steps_per_s_tensor"):
    t = r["train_steps_per_s_tensor"]
    print(f"{r['model']}: fallkd's tensor step (burn autodiff) {t:.2f} steps/s (fallkd/PyTorch = {t / p['train_steps_per_s']:.2f}); "
          f"host step / tensor step = {r['train_steps_per_s'] / t:.2f}")
PY
done
