#!/usr/bin/env python3
"""Checks an ONNX student exported by `fallkd export-onnx` with onnxruntime from PyPI, outside CI.

    python3 -m venv .venv-onnx && .venv-onnx/bin/pip install onnx onnxruntime numpy
    ./target/release/fallkd export-onnx --model web/assets/student.fallkd \
        --out student.onnx --vectors vectors.json
    .venv-onnx/bin/python scripts/onnx_parity.py student.onnx vectors.json

It runs the ONNX checker (with full shape inference), then feeds every test vector's prepared
inputs to onnxruntime, one window at a time and all of them as one batch, and compares the
probability with the native forward's: the largest difference must be under 1e-4. Exit status 0
when it is, 1 otherwise.
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main(model_path, vectors_path):
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    meta = {p.key: p.value for p in model.metadata_props}
    vectors = json.load(open(vectors_path))
    n = vectors["max_events"]
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    feeds = {k: [] for k in names}
    expected = []
    for w in vectors["windows"]:
        x = w["inputs"]
        c = len(x["events"]) // n
        feeds["events"].append(np.array(x["events"], np.float32).reshape(n, c))
        feeds["timestamps"].append(np.array(x["timestamps"], np.float32))
        feeds["mask"].append(np.array(x["mask"], np.float32))
        if "window_features" in feeds:
            feeds["window_features"].append(np.array(x["window_features"], np.float32))
        expected.append(w["probability"])
    expected = np.array(expected)
    batch = {k: np.stack(v) for k, v in feeds.items()}
    together = sess.run(["probability"], batch)[0][:, 0]
    alone = np.array(
        [sess.run(["probability"], {k: v[i : i + 1] for k, v in batch.items()})[0][0, 0] for i in range(len(expected))]
    )
    worst = max(np.abs(together - expected).max(), np.abs(alone - expected).max())
    print(
        f"onnxruntime {ort.__version__}, onnx {onnx.__version__}: checker passed; {len(expected)} windows "
        f"(probabilities {expected.min():.3f}-{expected.max():.3f}); threshold {meta.get('fallkd.threshold')}; "
        f"largest |onnxruntime - native| {worst:.2e} (batch and one at a time)"
    )
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
