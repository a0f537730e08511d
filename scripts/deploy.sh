#!/usr/bin/env bash
# From a .fallkd model to files a watch app deploys, each checked against fallkd's own forward
# (outside CI; docs/deploy.md):
#   1. `fallkd export-onnx`: the ONNX model and test vectors (here from generated recordings);
#   2. onnxruntime (PyPI) on the ONNX model, against the vectors;
#   3. onnx2tf (PyPI) converts it to LiteRT (.tflite, float32 and float16 weights), the GELU's
#      Erf replaced by onnx2tf's pseudo-operator (LiteRT has no builtin Erf; the Flex delegate
#      would be needed otherwise);
#   4. LiteRT (ai-edge-litert) on both .tflite files, against the vectors.
# Usage: bash scripts/deploy.sh [MODEL.fallkd] [OUT_DIR]
# (defaults: web/assets/student.fallkd, dist/deploy). The Python tools go into .venv-deploy
# (about 1.5 GB with TensorFlow), installed once.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-web/assets/student.fallkd}
OUT=${2:-dist/deploy}
VENV=${VENV:-.venv-deploy}
if [ ! -x "$VENV/bin/onnx2tf" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q onnx==1.19.1 onnxruntime==1.23.0 onnx2tf==1.29.24 \
    tensorflow==2.19.0 tf_keras==2.19.0 onnx_graphsurgeon==0.5.8 sng4onnx==2.0.1 psutil==5.9.5 \
    ai-edge-litert==2.1.0 numpy==1.26.4
fi
cargo build --release --locked -p fallkd-train
mkdir -p "$OUT"
./target/release/fallkd export-onnx --model "$MODEL" --out "$OUT/student.onnx" \
  --vectors "$OUT/vectors.json"
"$VENV/bin/python" scripts/deploy_parity.py onnx "$OUT/student.onnx" "$OUT/vectors.json"
# The fixed input shapes of one window: N events of C channels, F window features.
read -r N C F < <("$VENV/bin/python" -c '
import json, sys
v = json.load(open(sys.argv[1])); x = v["windows"][0]["inputs"]; n = v["max_events"]
print(n, len(x["events"]) // n, len(x["window_features"]))' "$OUT/vectors.json")
SHAPES=("events:1,$N,$C" "timestamps:1,$N" "mask:1,$N")
NAMES=(events timestamps mask)
if [ "$F" -gt 0 ]; then SHAPES+=("window_features:1,$F"); NAMES+=(window_features); fi
rm -rf "$OUT/litert" && mkdir -p "$OUT/litert"
# onnx2tf rewrites the file it reads (it names the nodes): it gets a copy.
mkdir -p "$OUT/.convert" && cp "$OUT/student.onnx" "$OUT/.convert/student.onnx"
"$VENV/bin/onnx2tf" -i "$OUT/.convert/student.onnx" -o "$OUT/litert" -ois "${SHAPES[@]}" \
  -kat "${NAMES[@]}" -rtpo Erf > "$OUT/onnx2tf.log" 2>&1 ||
  { tail -20 "$OUT/onnx2tf.log"; exit 1; }
for f in "$OUT"/litert/student_float32.tflite "$OUT"/litert/student_float16.tflite; do
  "$VENV/bin/python" scripts/deploy_parity.py litert "$f" "$OUT/vectors.json" 2> >(grep -v -E '^(W0000|I0000|INFO)' >&2)
done
rm -r "$OUT/.convert"
ls -l "$OUT/student.onnx" "$OUT"/litert/*.tflite
