#!/usr/bin/env python3
"""Pools the leave-one-subject-out folds of scripts/yardstick.sh (FOLDS=RECIPE) into one table:
per seed, the falls caught and daily-living recordings alarming summed over the folds, and the
recording F1 per fold (mean +- std over folds x seeds), at 0.5 and at each model's threshold.

    python3 scripts/yardstick_folds.py RECIPE [RUNS_DIR] > results/yardstick/folds-RECIPE.md
"""
import json
import statistics
import sys
from pathlib import Path


def f1(tp, fn, fp):
    d = 2 * tp + fn + fp
    return 2 * tp / d if d else 0.0


def main():
    recipe = sys.argv[1]
    runs = Path(sys.argv[2] if len(sys.argv) > 2 else "runs/yardstick")
    folds = sorted(runs.glob(f"fold-S*/{recipe}/score.json"))
    if not folds:
        sys.exit(f"no fold of {recipe} scored under {runs}")
    pooled = {}  # seed index -> [caught, falls, felt_caught, felt, adl_alarms, adl, caught_t, adl_t]
    per_fold, per_fold_t = [], []
    rows = []  # (fold, caught, falls, adl alarms, adl, F1s over seeds)
    for path in folds:
        fold_f1 = []
        models = json.loads(path.read_text())
        for k, m in enumerate(models):
            name, f = m["variants"][0]
            assert name == "original", name
            p = pooled.setdefault(k, [0] * 8)
            for i, key in enumerate(["caught", "falls", "felt_caught", "felt", "adl_alarms", "adl",
                                     "caught_model", "adl_alarms_model"]):
                p[i] += f[key]
            per_fold.append(f["f1"])
            fold_f1.append(f["f1"])
            if k == 0:
                rows.append([path.parts[-3], 0, f["falls"], 0, f["adl"], fold_f1])
            rows[-1][1] += f["caught"] / len(models)
            rows[-1][3] += f["adl_alarms"] / len(models)
            per_fold_t.append(f["f1_model"])
    def pm(xs, d=3):
        return f"{statistics.mean(xs):.{d}f} +- {statistics.stdev(xs):.{d}f}" if len(xs) > 1 else f"{xs[0]:.{d}f}"
    seeds = list(pooled.values())
    print(f"# {recipe}: leave-one-subject-out over the development subjects\n")
    print(f"{len(folds)} folds ({', '.join(p.parts[-3] for p in folds)}) x {len(seeds)} seeds, "
          "each fold's recordings scored by `fallkd score` (results/lockbox/RULE.md).\n")
    print("| figure | value (mean +- std over seeds) |\n|---|---|")
    print(f"| falls caught at 0.5 (of {seeds[0][1]}) | {pm([s[0] for s in seeds], 1)} |")
    print(f"| falls the watch felt caught at 0.5 (of {seeds[0][3]}) | {pm([s[2] for s in seeds], 1)} |")
    print(f"| young ADL recordings alarming at 0.5 (of {seeds[0][5]}) | {pm([s[4] for s in seeds], 1)} |")
    print(f"| pooled recording F1 at 0.5 | {pm([f1(s[0], s[1] - s[0], s[4]) for s in seeds])} |")
    print(f"| pooled recording F1 at the models' thresholds | {pm([f1(s[6], s[1] - s[6], s[7]) for s in seeds])} |")
    print(f"| recording F1 per fold at 0.5 (folds x seeds) | {pm(per_fold)} |")
    print(f"| recording F1 per fold at the models' thresholds | {pm(per_fold_t)} |")
    print("\n| fold | falls caught at 0.5 (mean over seeds) | young ADL alarming | recording F1 at 0.5 |")
    print("|---|---|---|---|")
    for fold, caught, falls, alarms, adl, f1s in rows:
        print(f"| {fold} | {caught:.1f} / {falls} | {alarms:.1f} / {adl} | {pm(f1s)} |")


if __name__ == "__main__":
    main()
