#!/usr/bin/env python3
"""Where a longer window gains, and how late it alarms (a diagnostic, at the fixed threshold 0.5).

For each row and seed of a `fallkd loso` study folder: test fall recordings caught and young ADL
recordings alarmed, split by recording length (shorter than 6 s, 6-10.5 s, 10.5 s or longer: from
10.5 s on, every window of a 10 s row is full length, so a gain there is not the trial's length
showing through a short window), and the delay from the impact to the end of the first window that
holds the impact and reaches 0.5 (the alarm can fire no earlier; the impact lies at least 0.5 s
inside each such window, so the delay is given as end - (earliest such window's end - 0.5 s)).

    python3 results/window-length/by_duration.py runs/oldval11 42,43,44 ROW [ROW...]
"""
import collections
import csv
import glob
import statistics
import sys

BANDS = [(0.0, 6.0), (6.0, 10.5), (10.5, float("inf"))]


def load(study, seed, row):
    falls = collections.defaultdict(list)  # recording -> [(end_s, prob)] of windows holding the impact
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
                    falls[k].append((float(r["end_s"]), p))
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
    print("| " + " | ".join(head + ["alarm delay after impact, median (90th pct), s"]) + " |")
    print("|" + "---|" * (len(head) + 1))
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
                caught = sum(any(p >= 0.5 for _, p in falls[k]) for k in fk)
                alarmed = sum(adl[k] >= 0.5 for k in ak)
                cells.append(f"{caught}/{len(fk)}, {alarmed}/{len(ak)}")
            delays = []
            for ws in falls.values():
                hits = [e for e, p in ws if p >= 0.5]
                if hits:
                    delays.append(min(hits) - (min(e for e, _ in ws) - 0.5))
            delays.sort()
            d = (
                f"{statistics.median(delays):.1f} ({delays[int(0.9 * (len(delays) - 1))]:.1f})"
                if delays
                else "-"
            )
            print(f"| {row} | {seed} | " + " | ".join(cells) + f" | {d} |")


if __name__ == "__main__":
    main()
