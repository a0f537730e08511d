#!/usr/bin/env python3
"""Where a longer window gains (a diagnostic, at the fixed threshold 0.5).

For each row and seed of a `fallkd loso` study folder: test fall recordings caught (a window
holding the impact reaches 0.5) and young ADL recordings alarmed (any window reaches 0.5), split by
recording length: shorter than 6 s, 6-10.5 s, 10.5 s or longer. From 10.5 s on, a 10 s row's
windows are full length, so a gain there is not the trial's length showing through a window cut
short by the recording's end.

    python3 results/window-length/by_duration.py runs/oldval11 42,43,44 ROW [ROW...]
"""
import collections
import csv
import glob
import sys

BANDS = [(0.0, 6.0), (6.0, 10.5), (10.5, float("inf"))]


def load(study, seed, row):
    falls = collections.defaultdict(list)  # recording -> probabilities of windows holding the impact
    adl = collections.defaultdict(float)  # recording -> highest probability
    dur = {}
    files = glob.glob(f"{study}/seed{seed}/S*/{row}/predictions.csv")
    for f in files:
        for r in csv.DictReader(open(f)):
            if r["set"] != "test":
                continue
            k = (int(r["subject"]), int(r["activity"]), int(r["trial"]))
            p = float(r["prob"])
            if k[1] >= 10:
                falls.setdefault(k, [])
                if r["label"] == "1":
                    falls[k].append(p)
            else:
                adl[k] = max(adl[k], p)
    for f in glob.glob(f"{study}/seed{seed}/S*/{row}/recordings.csv"):
        for r in csv.DictReader(open(f)):
            if r["set"] == "test":
                dur[(int(r["subject"]), int(r["activity"]), int(r["trial"]))] = float(r["duration_s"])
    return (falls, adl, dur) if files else None


def main():
    study, seeds, rows = sys.argv[1], [int(s) for s in sys.argv[2].split(",")], sys.argv[3:]
    head = ["row", "seed"] + [f"{lo:g}-{hi:g} s: falls caught, ADL alarmed" for lo, hi in BANDS]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        for seed in seeds:
            got = load(study, seed, row)
            if got is None:
                continue
            falls, adl, dur = got
            cells = []
            for lo, hi in BANDS:
                fk = [k for k in falls if lo <= dur.get(k, 0.0) < hi]
                ak = [k for k in adl if lo <= dur.get(k, 0.0) < hi]
                caught = sum(any(p >= 0.5 for p in falls[k]) for k in fk)
                alarmed = sum(adl[k] >= 0.5 for k in ak)
                cells.append(f"{caught}/{len(fk)}, {alarmed}/{len(ak)}")
            print(f"| {row} | {seed} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
