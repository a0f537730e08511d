#!/usr/bin/env python3
"""Paired comparison of two recipes of scripts/yardstick.sh on the same splits and seeds:
recording F1 at 0.5 per (split, test subject, seed), the mean difference A - B, and an exact
sign-flip permutation test of it (two-sided; every sign pattern when there are at most 2^16).

    python3 scripts/yardstick_compare.py A B SPLIT [SPLIT ...] [--runs runs/yardstick]
"""
import itertools
import json
import statistics
import sys
from pathlib import Path


def f1(rs):
    tp = sum(r["alarm_05"] for r in rs if r["fall"])
    fn = sum(not r["alarm_05"] for r in rs if r["fall"])
    fp = sum(r["alarm_05"] for r in rs if not r["fall"] and not r["old"])
    d = 2 * tp + fn + fp
    return 2 * tp / d if d else None


def per_subject(path):
    out = {}
    for k, model in enumerate(json.loads(path.read_text())):
        subjects = sorted({r["name"][:3] for r in model["recordings"] if not r["old"]})
        for s in subjects:
            v = f1([r for r in model["recordings"] if not r["old"] and r["name"][:3] == s])
            if v is not None:
                out[(s, k)] = v
    return out


def main():
    args = sys.argv[1:]
    runs = Path("runs/yardstick")
    if "--runs" in args:
        i = args.index("--runs")
        runs = Path(args[i + 1])
        del args[i : i + 2]
    a, b, splits = args[0], args[1], args[2:]
    diffs = []
    for split in splits:
        pa, pb = per_subject(runs / split / a / "score.json"), per_subject(runs / split / b / "score.json")
        for key in sorted(pa.keys() & pb.keys()):
            diffs.append(pa[key] - pb[key])
    n = len(diffs)
    mean = statistics.mean(diffs)
    if n <= 16:
        patterns = itertools.product([1, -1], repeat=n)
        total = 2**n
    else:
        import random
        rng = random.Random(0)
        patterns = ([rng.choice([1, -1]) for _ in diffs] for _ in range(65536))
        total = 65536
    extreme = sum(abs(sum(s * d for s, d in zip(p, diffs)) / n) >= abs(mean) - 1e-12 for p in patterns)
    print(f"{a} - {b} on {' '.join(splits)}: recording F1 at 0.5 per (subject, seed), "
          f"n {n}, mean difference {mean:+.3f} +- {statistics.stdev(diffs):.3f}, "
          f"{sum(d > 0 for d in diffs)} ahead / {sum(d < 0 for d in diffs)} behind, "
          "sign-flip permutation p "
          + (f"{extreme / total:.4f}" if extreme else f"< {1 / total:.1e} (none of {total} sign patterns)"))


if __name__ == "__main__":
    main()
