"""A long recording through the page in headless Chromium (CPU backend): memory, time, progress
and responsiveness figures for docs/data.md ("Long recordings"). Standard library only; the WebDriver
calls are those of scripts/e2e.py.

    python3 scripts/big_upload.py SITE_DIR BIG.csv OUT.json

Measured: wall time from the click to the result; the page's wasm linear memory afterwards (it
never shrinks, so it is the peak); the JS heap; how many distinct progress texts the "Would it alarm?"
button showed; and the longest gap between ticks of a 50 ms timer during the analysis (how long
the page was unresponsive at a stretch).
"""
import http.server, json, os, socket, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request

from webdriver import start

site, recording, out_json = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]


http_port, call, stop = start(site)

args = ["--headless=new", "--no-sandbox", "--disable-quic", "--no-first-run", "--enable-precise-memory-info",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1200,1600",
        f"--user-data-dir={tempfile.mkdtemp(prefix='fallkd-big-')}"]
s = None
try:
    sid = call("POST", "/session", {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}})["value"]["sessionId"]
    s = f"/session/{sid}"

    def find(css):
        return call("POST", s + "/element", {"using": "css selector", "value": css})["value"]["element-6066-11e4-a52e-4f735466cecf"]

    def js(script):
        # The page may be busy for minutes at a stretch (parsing a long file on the main thread):
        # ChromeDriver gives up on a renderer after 300 s, so a busy page is asked again.
        for _ in range(12):
            try:
                return call("POST", s + "/execute/sync", {"script": script, "args": []}, timeout=900)["value"]
            except RuntimeError as e:
                if "Timed out receiving message from renderer" not in str(e):
                    raise
                print("[big-upload] the page did not answer for 300 s; asking again", flush=True)
        raise RuntimeError("the page did not answer for an hour")

    call("POST", s + "/url", {"url": f"http://127.0.0.1:{http_port}/index.html?cpu"})
    for _ in range(600):
        if js("return document.getElementById('backend').dataset.ready === '1'"):
            break
        time.sleep(0.2)
    backend = js("return document.getElementById('backend').textContent")
    # Heartbeat and progress log, kept in the page.
    js("""window.beat = {last: performance.now(), maxGap: 0, gapEnd: 0, texts: new Set(), timeline: []};
          setInterval(() => { const t = performance.now(); if (t - window.beat.last > window.beat.maxGap) { window.beat.maxGap = t - window.beat.last; window.beat.gapEnd = t - window.beat.t0; } window.beat.last = t; }, 50);
          new MutationObserver(() => { const x = document.getElementById('analyze').textContent;
            if (!window.beat.texts.has(x) && !/^(Scoring|Parsing .*[1-9][0-9]* %)/.test(x) || /^Parsing .*(99|0) %|Scoring (32|64) \//.test(x))
              window.beat.timeline.push([Math.round(performance.now() - window.beat.t0), x]);
            window.beat.texts.add(x); })
            .observe(document.getElementById('analyze'), {childList: true, characterData: true, subtree: true});
          return 1;""")
    call("POST", f"{s}/element/{find('#acc-file')}/value", {"text": recording})
    js("window.beat.maxGap = 0; window.beat.last = performance.now(); window.beat.t0 = performance.now(); return 1;")
    t0 = time.time()
    call("POST", f"{s}/element/{find('#analyze')}/click", {})
    result = None
    while time.time() - t0 < 3600:
        time.sleep(2)
        r = js("""const e = document.getElementById('error').textContent, p = document.getElementById('result-prob').textContent,
                  b = document.getElementById('analyze').textContent;
                  return {error: e, prob: p, button: b};""")
        if r["error"]:
            raise RuntimeError("the page refused the upload: " + r["error"])
        if r["prob"] not in ("", "–") and r["button"] == "Would it alarm?":
            result = r
            break
    if result is None:
        raise RuntimeError("no result within an hour")
    wall = time.time() - t0
    m = js("""return {wasm: window.wasmExports.memory.buffer.byteLength,
                      js_heap: performance.memory ? performance.memory.usedJSHeapSize : null,
                      max_gap_ms: window.beat.maxGap, gap_end_ms: window.beat.gapEnd, timeline: window.beat.timeline,
                      timing: window.lastTiming || null,
                      texts: [...window.beat.texts],
                      alarms: document.getElementById('alarms').textContent,
                      latency: document.getElementById('latency').textContent};""")
    progress = [t for t in m["texts"] if t.startswith("Scoring")]
    parsing = [t for t in m["texts"] if t.startswith("Parsing ")]
    figures = {
        "file_bytes": os.path.getsize(recording),
        "backend": backend,
        "wall_s": round(wall, 1),
        "highest_probability": float(result["prob"]),
        "wasm_memory_bytes": m["wasm"],
        "js_heap_bytes": m["js_heap"],
        "longest_unresponsive_ms": round(m["max_gap_ms"]),
        "longest_unresponsive_ended_at_ms": round(m["gap_end_ms"]),
        "timeline_ms": m["timeline"],
        "page_timing_ms": m["timing"],
        "page_build": os.environ.get("PROFILE", "release"),
        "parsing_updates": len(parsing),
        "progress_updates": len(progress),
        "button_texts_seen": [t for t in m["texts"] if not t.startswith(("Scoring", "Parsing "))]
                             + parsing[:1] + parsing[-1:] + progress[-1:],
        "summary": m["alarms"],
        "latency": m["latency"],
    }
    print(json.dumps(figures, indent=1))
    with open(out_json, "w") as f:
        json.dump(figures, f, indent=1)
finally:
    stop(s)
