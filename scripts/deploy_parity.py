#!/usr/bin/env python3
"""Checks a student exported for watch apps against fallkd's own forward, outside CI
(scripts/deploy.sh runs it; docs/deploy.md).

    deploy_parity.py onnx   MODEL.onnx   VECTORS.json   # onnxruntime from PyPI
    deploy_parity.py litert MODEL.tflite VECTORS.json   # LiteRT (ai-edge-litert) from PyPI

VECTORS.json is what `fallkd export-onnx --vectors` writes: windows as a watch holds them, the
inputs fallkd-core's onnx::prepare_window makes of them, and the native forward's probability.
`onnx` runs the ONNX checker (full shape inference), then onnxruntime on every window alone and on
all of them as one batch; `litert` runs the converted model's signature one window at a time. The
largest difference from the native probability must be under 1e-4: exit status 0 when it is.
"""
import json
import sys

import numpy as np


def windows(vectors):
    n = vectors["max_events"]
    for w in vectors["windows"]:
        x = w["inputs"]
        c = len(x["events"]) // n
        feeds = {
            "events": np.array(x["events"], np.float32).reshape(1, n, c),
            "timestamps": np.array([x["timestamps"]], np.float32),
            "mask": np.array([x["mask"]], np.float32),
        }
        if x["window_features"]:
            feeds["window_features"] = np.array([x["window_features"]], np.float32)
        yield feeds, w["probability"]


def check_onnx(path, vectors):
    import onnx
    import onnxruntime as ort

    onnx.checker.check_model(onnx.load(path), full_check=True)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    pairs = list(windows(vectors))
    expected = np.array([p for _, p in pairs])
    batch = {k: np.concatenate([f[k] for f, _ in pairs]) for k in pairs[0][0]}
    together = sess.run(["probability"], batch)[0][:, 0]
    alone = np.array([sess.run(["probability"], f)[0][0, 0] for f, _ in pairs])
    worst = max(np.abs(together - expected).max(), np.abs(alone - expected).max())
    return f"onnxruntime {ort.__version__} (onnx {onnx.__version__}, checker passed)", expected, worst


def check_litert(path, vectors):
    from ai_edge_litert.interpreter import Interpreter

    run = Interpreter(model_path=path).get_signature_runner()
    got, expected = [], []
    for feeds, p in windows(vectors):
        got.append(float(run(**feeds)["probability"][0, 0]))
        expected.append(p)
    expected = np.array(expected)
    return "LiteRT (ai-edge-litert)", expected, np.abs(np.array(got) - expected).max()


def main(kind, model, vectors_path):
    vectors = json.load(open(vectors_path))
    check = {"onnx": check_onnx, "litert": check_litert}[kind]
    what, expected, worst = check(model, vectors)
    print(
        f"{model}: {what}: {len(expected)} windows (native probabilities "
        f"{expected.min():.3f}-{expected.max():.3f}); largest difference from the native forward "
        f"{worst:.2e} ({'under' if worst < 1e-4 else 'OVER'} 1e-4)"
    )
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("onnx", "litert"):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
