"""The matrix products of one batch-1 forward of the shipped student, alone, in PyTorch.

Issue #13's goal is a batch-1 student forward <= 0.5 ms. This times only the dense products the
forward cannot avoid (events N, tokens L = 64, width D = 48, 4 heads, FFN 4D, 2 layers, the
window-feature MLP), each as one torch.matmul on one thread, and prints their FLOP count, the
time of all of them back to back and the rate that time implies, beside the rate 0.5 ms would
need. usage: python gemm_floor.py [N] [REPEATS]
"""
import sys
import time

import torch

torch.set_num_threads(1)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 150
REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
L, D, H, F = 64, 48, 4, 4 * 48
dh = D // H


def mm(m, k, n, batch=1):
    return (torch.randn(batch, m, k), torch.randn(batch, k, n))


shapes = [
    ("event projection", mm(N, 9, D)),
    ("query MLP", mm(L, D, D)),
    ("resampler q", mm(L, D, D)),
    ("resampler k", mm(N, D, D)),
    ("resampler v", mm(N, D, D)),
    ("resampler scores", mm(L, dh, N, H)),
    ("resampler context", mm(L, N, dh, H)),
    ("resampler out", mm(L, D, D)),
]
for layer in range(2):
    shapes += [
        (f"layer {layer} qkv", mm(L, D, 3 * D)),
        (f"layer {layer} scores", mm(L, dh, L, H)),
        (f"layer {layer} context", mm(L, L, dh, H)),
        (f"layer {layer} out", mm(L, D, D)),
        (f"layer {layer} ffn up", mm(L, D, F)),
        (f"layer {layer} ffn down", mm(L, F, D)),
    ]
shapes += [("pooling", mm(L, D, D)), ("feature MLP", mm(1, 50, 32))]

flops = sum(2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2] for _, (a, b) in shapes)
with torch.no_grad():
    for _ in range(50):
        for _, (a, b) in shapes:
            torch.matmul(a, b)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(REPS):
            for _, (a, b) in shapes:
                torch.matmul(a, b)
        best = min(best, (time.perf_counter() - t0) / REPS)
print(f"torch {torch.__version__}, 1 thread, N = {N} events, {len(shapes)} products")
print(f"FLOPs of the products: {flops / 1e6:.2f} M")
print(f"all products back to back: {best * 1e3:.3f} ms ({flops / best / 1e9:.1f} GFLOP/s)")
print(f"rate a 0.5 ms forward would need for these products alone: {flops / 0.5e-3 / 1e9:.1f} GFLOP/s")
