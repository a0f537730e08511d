"""Paired table of `fallkd stress-test` over the 11 folds: the KD student against the same student
trained with timestamp perturbations, each perturbation and severity (window F1 at each run's
validation threshold, as `stress-test` scores it, and AUC on the fold's test subject), mean over folds and the paired difference with an exact two-sided
Wilcoxon signed-rank p (zero differences dropped).
    python3 results/timestamp-perturbations/stress_table.py runs/w9-stress"""
import csv, itertools, statistics, sys
from pathlib import Path

root = Path(sys.argv[1])
rows = {}  # (kind, severity, model) -> {fold: (f1, auc)}
for f in sorted(root.glob("S*/stress.csv")):
    for r in csv.DictReader(open(f)):
        model = "perturb" if "perturb" in r["model"] else "kd"
        rows.setdefault((r["kind"], float(r["severity"]), model), {})[f.parent.name] = (float(r["f1"]), float(r["auc"]))


def wilcoxon(d):
    d = [x for x in d if abs(x) > 1e-12]
    n = len(d)
    if n == 0:
        return 1.0
    order = sorted(range(n), key=lambda i: abs(d[i]))
    ranks = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and abs(abs(d[order[j + 1]]) - abs(d[order[i]])) < 1e-12:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    w = sum(r for r, x in zip(ranks, d) if x > 0)
    mean = n * (n + 1) / 4
    dev = abs(w - mean)
    count = total = 0
    for signs in itertools.product((0, 1), repeat=n):
        s = sum(r for r, b in zip(ranks, signs) if b)
        total += 1
        count += abs(s - mean) >= dev - 1e-9
    return count / total


print("| perturbation | severity | F1 KD | F1 perturb-trained | diff (better / worse folds, p) | AUC KD | AUC perturb-trained | diff (p) |")
print("|---|---|---|---|---|---|---|---|")
for kind, sev in sorted({(k, s) for k, s, _ in rows}, key=lambda t: (["jitter", "dropout", "burst", "warp"].index(t[0]), t[1])):
    a, b = rows[(kind, sev, "kd")], rows[(kind, sev, "perturb")]
    folds = sorted(set(a) & set(b))
    df = [b[f][0] - a[f][0] for f in folds]
    da = [b[f][1] - a[f][1] for f in folds]
    m = lambda v: statistics.mean(v)
    print(f"| {kind} | {sev:.2f} | {m([a[f][0] for f in folds]):.3f} | {m([b[f][0] for f in folds]):.3f} | "
          f"{m(df):+.3f} ({sum(x > 1e-12 for x in df)} / {sum(x < -1e-12 for x in df)}, p {wilcoxon(df):.2f}) | "
          f"{m([a[f][1] for f in folds]):.3f} | {m([b[f][1] for f in folds]):.3f} | {m(da):+.3f} (p {wilcoxon(da):.2f}) |")
print(f"\n{len(folds)} folds (seed 42).")
