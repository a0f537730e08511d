#!/usr/bin/env python3
"""The figures that chose a recipe, as `fallkd export --figure NAME=VALUE` lines, read from the
score reports of scripts/yardstick.sh (lockbox, both across-watch directions, the folds).

    python3 scripts/ship_figures.py RECIPE [RUNS_DIR]
"""
import json
import statistics
import sys
from pathlib import Path


def pm(xs, d):
    if len(xs) == 1:
        return f"{xs[0]:.{d}f}"
    return f"{statistics.mean(xs):.{d}f} +- {statistics.stdev(xs):.{d}f}"


def original(path):
    return [dict(m["variants"])["original"] for m in json.loads(path.read_text())]


def main():
    recipe = sys.argv[1]
    runs = Path(sys.argv[2] if len(sys.argv) > 2 else "runs/yardstick")
    lock = original(runs / "lockbox" / recipe / "score.json")
    n = len(lock)
    print(f"lockbox recording F1 at 0.5 ({n} seeds)={pm([f['f1'] for f in lock], 3)}")
    print(f"lockbox fall recordings caught={pm([f['caught'] for f in lock], 1)} of {lock[0]['falls']}")
    print(f"lockbox young daily-living recordings alarming={pm([f['adl_alarms'] for f in lock], 1)} of {lock[0]['adl']}")
    hours = lock[0]["old_hours"]
    print(f"lockbox older adults' recordings alarming={pm([f['old_alarms'] for f in lock], 1)} of "
          f"{lock[0]['old']} ({hours * 60:.0f} min)")
    for split, name in [("low-to-high", "35-45 Hz to 80-120 Hz"), ("high-to-low", "80-120 Hz to 35-45 Hz")]:
        path = runs / split / recipe / "score.json"
        if path.exists():
            f = original(path)
            print(f"across watches {name}: recording F1 at 0.5 ({len(f)} seeds)={pm([x['f1'] for x in f], 3)}")
    folds = Path("results/yardstick") / f"folds-{recipe}.md"
    if folds.exists():
        for line in folds.read_text().splitlines():
            if line.startswith("| pooled recording F1 at 0.5 |"):
                print(f"folds over the development subjects: pooled recording F1 at 0.5={line.split('|')[2].strip()}")


if __name__ == "__main__":
    main()
