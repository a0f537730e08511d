#!/usr/bin/env python3
"""Seed ensembles, checked before building them (issue: "seed ensembles for the shipped model").

For each row, the recording scores of each seed's runs at a fixed threshold, and of the seed
ensemble: per fold, the mean probability of the row's runs of all the given seeds on each test
window. Scored as `fallkd loso` scores recordings with one-window alarms: a fall recording is
caught when one of its scored (fall-holding) windows reaches the threshold, and missed when it
has none (recordings.csv lists those); an ADL recording with any window at or above it is a false
alarm. Only folds where every seed finished count.

    python3 scripts/seed-ensemble.py RUNS_DIR SEEDS ROWS [THRESHOLD]
    python3 scripts/seed-ensemble.py runs/oldval11 43,44 student-nokd-wearer-wf,student-kd-wearer-wf
"""
import csv
import os
import sys
from collections import defaultdict


def run_files(root, seed, fold, row):
    d = os.path.join(root, f"seed{seed}", fold, row)
    p, r = os.path.join(d, "predictions.csv"), os.path.join(d, "recordings.csv")
    return (p, r) if os.path.isfile(os.path.join(d, "metrics.json")) else None


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def score(preds, recs, t):
    """(caught, falls, false alarms, ADLs) of the test recordings."""
    by = defaultdict(list)
    for p in preds:
        if p["set"] == "test":
            by[(p["subject"], p["activity"], p["trial"])].append(p)
    caught = falls = fa = adls = 0
    for r in recs:
        if r["set"] != "test":
            continue
        key = (r["subject"], r["activity"], r["trial"])
        ws = by.get(key, [])
        if int(r["activity"]) >= 10:
            falls += 1
            caught += any(w["scored"] == "1" and float(w["prob"]) >= t for w in ws)
        else:
            adls += 1
            fa += any(float(w["prob"]) >= t for w in ws)
    return caught, falls, fa, adls


def f1(c):
    caught, falls, fa, _ = c
    return 2 * caught / max(1, 2 * caught + fa + (falls - caught))


def main():
    root, seeds, rows = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
    t = float(sys.argv[4]) if len(sys.argv) > 4 else 0.5
    print(f"threshold {t}, seeds {','.join(seeds)}, {root}")
    print("| row | folds | each seed: caught / false alarms / recording F1 | mean of the seeds' F1 | seed ensemble: caught / false alarms / recording F1 |")
    print("|---|---|---|---|---|")
    for row in rows:
        folds = sorted(
            f for f in os.listdir(os.path.join(root, f"seed{seeds[0]}"))
            if all(run_files(root, s, f, row) for s in seeds)
        )
        singles = []
        for s in seeds:
            tot = [0, 0, 0, 0]
            for f in folds:
                p, r = run_files(root, s, f, row)
                tot = [a + b for a, b in zip(tot, score(load(p), load(r), t))]
            singles.append(tot)
        ens = [0, 0, 0, 0]
        for f in folds:
            # Test windows only: each seed draws its own validation subject.
            parts = [
                [p for p in load(run_files(root, s, f, row)[0]) if p["set"] == "test"]
                for s in seeds
            ]
            base = [dict(p) for p in parts[0]]
            key = lambda p: (p["subject"], p["activity"], p["trial"], p["start_s"], p["scored"])
            for other in parts[1:]:
                if [key(p) for p in other] != [key(p) for p in base]:
                    sys.exit(f"{row} {f}: the seeds' test windows differ")
                for b, o in zip(base, other):
                    b["prob"] = str(float(b["prob"]) + float(o["prob"]))
            for b in base:
                b["prob"] = str(float(b["prob"]) / len(parts))
            recs = load(run_files(root, seeds[0], f, row)[1])
            ens = [a + b for a, b in zip(ens, score(base, recs, t))]
        each = "; ".join(f"{c[0]} / {c[2]} / {f1(c):.3f}" for c in singles)
        mean = sum(f1(c) for c in singles) / len(singles)
        print(f"| {row} | {len(folds)} | {each} | {mean:.3f} | {ens[0]} / {ens[2]} / {f1(ens):.3f} |")


if __name__ == "__main__":
    main()
