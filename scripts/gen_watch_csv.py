"""A generated accelerometer file (40 Hz, Unix milliseconds, a slow sine on x, noise on y): the long
recordings of docs/data.md ("Long recordings", scripts/big-upload.sh) and BENCHMARKS (benches/wasm/run.sh,
its first 480,000 rows). Written to OUT.part, then renamed.
    python3 scripts/gen_watch_csv.py ROWS OUT"""
import math, os, random, sys

rows_total, out = int(sys.argv[1]), sys.argv[2]
random.seed(1)
with open(out + ".part", "w") as f:
    rows = []
    for i in range(rows_total):
        rows.append(f"{1700000000000.0 + i * 25.0:.1f},{math.sin(i * 0.01) * 2:.6f},{9.8 + random.random() * 0.5:.6f},{math.cos(i * 0.013):.6f}\n")
        if len(rows) == 100000:
            f.writelines(rows); rows = []
    f.writelines(rows)
os.replace(out + ".part", out)
