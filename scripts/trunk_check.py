"""Checks a page trunk built (`trunk build [--release]`, Trunk.toml) in headless Chromium: it
loads the CPU bundle first (the one trunk built and injected), then, where WebGPU is offered, the
WebGPU bundle trunk's hook wrote, settles on its backend and scores a generated sample. Prints
the bundles' sizes. Outside the test command (which skips installing trunk).

    python3 scripts/trunk_check.py [DIST_DIR]      (default: dist)
"""
import glob, os, sys, tempfile, time

from webdriver import start

dist = sys.argv[1] if len(sys.argv) > 1 else "dist"
for f in sorted(glob.glob(os.path.join(dist, "*.wasm"))):
    print(f"[trunk-check] {os.path.basename(f)}: {os.path.getsize(f)} bytes")
http_port, call, stop = start(dist)
args = ["--headless=new", "--no-sandbox", "--enable-unsafe-webgpu", "--no-first-run", f"--user-data-dir={tempfile.mkdtemp()}"]
failures, s = [], None
try:
    sid = call("POST", "/session", {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}})["value"]["sessionId"]
    s = f"/session/{sid}"
    js = lambda x: call("POST", s + "/execute/sync", {"script": x, "args": []})["value"]
    call("POST", s + "/url", {"url": f"http://127.0.0.1:{http_port}/index.html"})
    t0 = time.time()
    while not js("return document.getElementById('backend').dataset.final === '1' || document.getElementById('error').textContent"):
        if time.time() - t0 > 300:
            raise AssertionError("the backend did not settle in 300 s")
        time.sleep(0.5)
    backend = js("return document.getElementById('backend').textContent")
    wasm = js("return performance.getEntriesByType('resource').map(e => e.name.split('/').pop()).filter(n => n.endsWith('.wasm'))")
    print(f"[trunk-check] backend {backend!r}; bundles fetched in order: {wasm}")
    if not wasm or wasm[0] == "fallkd-web_bg.wasm":
        failures.append(f"the first bundle fetched is not trunk's CPU bundle: {wasm}")
    if backend == "webgpu" and wasm[1:] != ["fallkd-web_bg.wasm"]:
        failures.append(f"on WebGPU the page should fetch the hook's bundle second: {wasm}")
    js("document.getElementById('sample').value = '11'; document.getElementById('load-sample').click(); document.getElementById('analyze').click();")
    t0 = time.time()
    while js("return document.getElementById('result-prob').textContent") in ("", "–") and not js("return document.getElementById('error').textContent"):
        if time.time() - t0 > 300:
            raise AssertionError("no result in 300 s")
        time.sleep(0.5)
    text = lambda i: js(f"return document.getElementById('{i}').textContent")
    print(f"[trunk-check] sample A11: {text('verdict')!r}, highest probability {text('result-prob')}, error {text('error')!r}")
    if js("return document.getElementById('verdict').textContent") != "FALL":
        failures.append("the generated fall A11 was not called a fall")
except Exception as e:  # noqa: BLE001
    failures.append(f"{type(e).__name__}: {e}")
finally:
    stop(s)
if failures:
    print("[trunk-check] FAILED:\n  " + "\n  ".join(failures)); sys.exit(1)
print("[trunk-check] ok")
