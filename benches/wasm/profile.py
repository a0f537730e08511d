"""Self time per function of a V8 .cpuprofile (node --cpu-prof), the top N:
    python3 benches/wasm/profile.py PROFILE.cpuprofile [N]"""
import collections, json, sys

p = json.load(open(sys.argv[1]))
top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
nodes = {n["id"]: n for n in p["nodes"]}
counts = collections.Counter(p["samples"])
own = collections.Counter()
for node, c in counts.items():
    own[nodes[node]["callFrame"]["functionName"] or "(anonymous)"] += c
total = sum(counts.values())
for name, c in own.most_common(top):
    print(f"{100 * c / total:5.1f} %  {name[:140]}")
