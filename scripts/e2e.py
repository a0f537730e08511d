"""End-to-end test of the browser demo: serve the built page, drive headless Chromium through
ChromeDriver's WebDriver protocol (standard library only), upload a recording, read the result,
check that a bad upload shows file, line and reason, and save screenshots. With the native
results (`fallkd predict --json`) given, both backends must match them on both input paths: the
accelerometer alone and the accelerometer with its gyroscope (probability and alarms).

With AXE_JS set to axe-core's axe.min.js (scripts/e2e.sh installs it from npm), the page is
checked for accessibility at desktop and phone size: no serious or critical violation.

    python3 scripts/e2e.py SITE_DIR ACC.csv OUT_DIR [NATIVE_ACC.json|PROB [GYRO.csv NATIVE_TWO.json]]
"""
import base64, tempfile, http.server, json, os, socket, subprocess, sys, threading, time, urllib.error, urllib.request

from webdriver import start

site, recording, out = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
gyro_file = os.path.abspath(sys.argv[5]) if len(sys.argv) > 5 else None


def replay_events(acc_path, gyro_path):
    """A recording as devicemotion events: seconds from its start, acceleration (m/s^2) and
    rotation (deg/s, as browsers give it), each accelerometer sample with the latest gyroscope
    sample at or before it (zeros before the first)."""
    from datetime import datetime

    def rows(path):
        out = []
        for line in open(path):
            f = line.strip().split(",")
            if len(f) == 4:
                out.append((datetime.strptime(f[0], "%Y-%m-%d %H:%M:%S.%f").timestamp(), [float(v) for v in f[1:]]))
        return sorted(out, key=lambda r: r[0])

    acc = rows(acc_path)
    gyro = rows(gyro_path) if gyro_path else []
    t0, t, a, g, j = acc[0][0], [], [], [], -1
    for ts, v in acc:
        while j + 1 < len(gyro) and gyro[j + 1][0] <= ts:
            j += 1
        t.append(round(ts - t0, 4))
        a.extend(v)
        g.extend([x * 57.29577951308232 for x in gyro[j][1]] if j >= 0 else [0.0, 0.0, 0.0])
    return {"t": t, "a": a, "g": g}


def native(arg):
    """Highest probability and alarm times of a `fallkd predict --json` file, or a bare number."""
    try:
        return float(arg), None
    except ValueError:
        a = json.load(open(arg))
        return max(w["prob"] for w in a["windows"]), a["alarms"]


paths = [("acc", None, native(sys.argv[4]) if len(sys.argv) > 4 else (None, None))]
if len(sys.argv) > 6:
    paths.insert(0, ("acc+gyro", os.path.abspath(sys.argv[5]), native(sys.argv[6])))
os.makedirs(out, exist_ok=True)


http_port, call, stop = start(site)

args = ["--headless=new", "--no-sandbox", "--enable-unsafe-webgpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1200,1600",
        f"--user-data-dir={tempfile.mkdtemp(prefix='fallkd-e2e-')}"]
failures = []
results = {}
s = None
try:
    sid = call("POST", "/session", {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}})["value"]["sessionId"]
    s = f"/session/{sid}"

    def find(css):
        v = call("POST", s + "/element", {"using": "css selector", "value": css})["value"]
        if "element-6066-11e4-a52e-4f735466cecf" not in v:
            raise AssertionError(f"no element {css}: {v}")
        return v["element-6066-11e4-a52e-4f735466cecf"]

    def text(css):
        return call("GET", f"{s}/element/{find(css)}/text")["value"]

    def wait(pred, what, timeout=240):
        t0 = time.time()
        while time.time() - t0 < timeout:
            v = pred()
            if v:
                return v
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}; error box: {text('#error')!r}")

    def js(script):
        return call("POST", s + "/execute/sync", {"script": script, "args": []})["value"]

    def open_page(query="?cpu"):
        call("POST", s + "/url", {"url": f"http://127.0.0.1:{http_port}/index.html{query}"})
        wait(lambda: js("return document.getElementById('backend').dataset.final === '1'"), "the CPU backend", timeout=300)

    def analyse_sample(activity):
        js(f"document.getElementById('result-prob').textContent = '–'; document.getElementById('sample').value = '{activity}'")
        call("POST", f"{s}/element/{find('#load-sample')}/click", {})
        # The sample button's own check: it names the sample it loaded, or shows why not.
        loaded = wait(lambda: text("#input-name") or text("#error"), f"sample A{activity:02} to load", timeout=60)
        if not loaded.startswith("generated"):
            raise AssertionError(f"the sample button did not load A{activity:02}: {loaded!r}")
        call("POST", f"{s}/element/{find('#analyze')}/click", {})
        wait(lambda: (t := text("#result-prob")) not in ("", "–") and t, f"the result of sample A{activity:02}", timeout=300)
        return text("#verdict")

    def labels():
        """Labelled recordings and falls among them, from the page's count."""
        t = text("#label-count")
        return (int(t.split()[0]), int(t.split("(")[1].split()[0])) if t[0].isdigit() else (0, 0)

    def accessibility(where):
        """axe-core's serious and critical violations on the page as it stands (none without AXE_JS)."""
        if not os.environ.get("AXE_JS"):
            return
        js(open(os.environ["AXE_JS"]).read())
        found = call("POST", s + "/execute/async", {"script": """const done = arguments[arguments.length - 1];
            axe.run(document, {resultTypes: ["violations"]}).then(r => done(r.violations.map(v =>
              ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 4).map(n => n.target.join(" "))}))),
              e => done([{id: "axe-error", impact: "critical", help: String(e), nodes: []}]));""", "args": []}, timeout=300)["value"]
        serious = [v for v in found if v["impact"] in ("serious", "critical")]
        print(f"[e2e] accessibility ({where}): {len(found)} axe-core violations, {len(serious)} serious or critical"
              + "".join(f"\n    {v['impact']}: {v['id']} ({v['help']}) at {v['nodes']}" for v in found))
        if serious:
            failures.append(f"accessibility ({where}): {[v['id'] for v in serious]}")

    for mode, query in [("cpu", "?cpu"), ("webgpu", "")]:
        for path, gyro, (expected, alarms) in paths:
            # A fresh page per input path: a file input cannot be emptied again.
            call("POST", s + "/url", {"url": f"http://127.0.0.1:{http_port}/index.html{query}"})
            # The page answers on the CPU backend first; with WebGPU allowed it then loads the
            # WebGPU bundle, warms it up and switches ("final": the backend is settled).
            wait(lambda: js("return document.getElementById('backend').dataset.final === '1' || document.getElementById('error').textContent"), "the backend to settle", timeout=300)
            backend = text("#backend")
            print(f"[e2e] {mode} {path}: backend {backend!r}")
            if not backend.startswith(mode):
                failures.append(f"{mode}: backend is {backend!r}")
            # Which bundles the page fetched, in order: the CPU-only one always and first, the
            # WebGPU one only when WebGPU is used.
            wasm = js("return performance.getEntriesByType('resource').map(e => e.name.split('/').pop()).filter(n => n.endsWith('.wasm'))")
            want = ["fallkd-web-cpu_bg.wasm"] + (["fallkd-web_bg.wasm"] if mode == "webgpu" else [])
            if wasm != want:
                failures.append(f"{mode}: the page fetched {wasm}, expected {want}")
            call("POST", f"{s}/element/{find('#acc-file')}/value", {"text": recording})
            if gyro:
                call("POST", f"{s}/element/{find('#gyro-file')}/value", {"text": gyro})
            call("POST", f"{s}/element/{find('#analyze')}/click", {})
            prob = wait(lambda: (t := text("#result-prob")) not in ("", "–") and t, "a result", timeout=300)
            latency, shown, notes = text("#latency"), text("#alarms"), text("#notes")
            ran = text("#result-backend")
            if not ran.startswith(mode):
                failures.append(f"{mode} {path}: the result says it ran on {ran!r}")
            print(f"[e2e] {mode} {path}: highest fall probability {prob}, latency {latency}, verdict {text('#verdict')}; {shown}; notes {notes!r}")
            p = float(prob)
            if not 0.0 <= p <= 1.0:
                failures.append(f"{mode} {path}: probability {prob} out of range")
            # Both backends must give the native result; the page prints 3 decimals.
            if expected is not None and abs(p - expected) > 2e-3:
                failures.append(f"page ({mode}, {path}) {p} differs from native {expected}")
            if alarms is not None:
                # The page prints alarm times with one decimal: the same alarms, within 0.05 s.
                page = [float(x.strip().rstrip(" s")) for x in shown.split("alarms at ")[1].split(",")] if "alarms at " in shown else []
                # Written so that a NaN on the page fails too.
                if len(page) != len(alarms) or not all(abs(a - b) <= 0.051 for a, b in zip(page, alarms)):
                    failures.append(f"page ({mode}, {path}) alarms {shown!r}, native {alarms}")
            if not gyro and "no gyroscope" not in notes:
                failures.append(f"{mode} {path}: the page does not say the gyroscope is missing: {notes!r}")
            results[(mode, path)] = p
            png = call("GET", s + "/screenshot")["value"]
            with open(os.path.join(out, f"screenshot-{mode}-{path.replace('+', '-')}.png"), "wb") as f:
                f.write(base64.b64decode(png))
    # A bad upload: a clear message naming the file, the line and the reason, and no crash.
    bad = os.path.join(os.path.abspath(out), "broken.csv")
    with open(bad, "w") as f:
        f.write("2022-08-04 11:24:02.384,1,2,3\n2022-08-04 11:24:02.400,1,oops,3\n")
    call("POST", f"{s}/element/{find('#acc-file')}/value", {"text": bad})
    call("POST", f"{s}/element/{find('#analyze')}/click", {})
    err = wait(lambda: text("#error"), "the error message", timeout=60)
    print(f"[e2e] bad upload: {err!r}")
    if "broken.csv:2" not in err or "not a number" not in err:
        failures.append(f"bad upload message unclear: {err!r}")
    # An oversized upload (a sparse file one byte over the core's cap): refused by its size before
    # anything reads it, naming the file and what to do.
    open_page()
    big = os.path.join(os.path.abspath(out), "oversized.csv")
    with open(big, "wb") as f:
        f.truncate(js("return window.wasmBindings.max_file_bytes()") + 1)
    call("POST", f"{s}/element/{find('#acc-file')}/value", {"text": big})
    call("POST", f"{s}/element/{find('#analyze')}/click", {})
    err = wait(lambda: text("#error"), "the oversized file's message", timeout=60)
    os.remove(big)
    print(f"[e2e] oversized upload: {err!r}")
    if "oversized.csv" not in err or "MiB" not in err or "split the recording" not in err:
        failures.append(f"oversized upload message unclear: {err!r}")
    # Accessibility and a phone-size screen: a scored sample on the page, checked by axe-core at
    # desktop size; then at 390 x 844 CSS pixels (a phone): nothing wider than the screen, plots
    # drawn at their displayed shape (not squashed), and axe-core again.
    open_page()
    analyse_sample(11)
    accessibility("desktop, a scored sample")
    call("POST", s + "/window/rect", {"width": 390, "height": 844})
    open_page()
    analyse_sample(11)
    phone = js("""const c = [...document.querySelectorAll('canvas')].filter(c => c.offsetParent).map(c => {
        const r = c.getBoundingClientRect(); return {id: c.id, w: r.width, h: r.height, bw: c.width, bh: c.height}; });
      return {inner: innerWidth, scroll: document.documentElement.scrollWidth, canvases: c};""")
    print(f"[e2e] phone: viewport {phone['inner']} px, page {phone['scroll']} px wide; plots {phone['canvases']}")
    if phone["scroll"] > phone["inner"] + 1:
        failures.append(f"phone: the page is {phone['scroll']} px wide on a {phone['inner']} px screen")
    if not phone["canvases"]:
        failures.append("phone: no plot shown after scoring a sample")
    for c in phone["canvases"]:
        if c["w"] > phone["inner"] or abs(c["bw"] / c["bh"] - c["w"] / c["h"]) > 0.02 * c["w"] / c["h"]:
            failures.append(f"phone: plot {c['id']} is {c['w']}x{c['h']} px on screen, drawn {c['bw']}x{c['bh']}")
    accessibility("phone, a scored sample")
    with open(os.path.join(out, "phone.png"), "wb") as f:
        f.write(base64.b64decode(call("GET", s + "/screenshot")["value"]))
    call("POST", s + "/window/rect", {"width": 1200, "height": 1600})
    # Personalisation (issue #33): a generated walk (A08) alarms; the wearer says it was not a
    # fall, labels a generated fall (A10), personalises in the page; the walk no longer alarms,
    # a held-out fall (the uploaded recording, another generated subject) still does, the personal
    # model survives a reload and resets to the default.
    open_page()
    verdict = analyse_sample(8)
    print(f"[e2e] personalisation: generated walk A08 before: {verdict!r}")
    if verdict != "FALL":
        failures.append(f"the generated walk A08 should alarm under the default model (the test's premise): {verdict!r}")
    call("POST", f"{s}/element/{find('#label-adl')}/click", {})
    analyse_sample(10)
    call("POST", f"{s}/element/{find('#label-fall')}/click", {})
    call("POST", f"{s}/element/{find('#personalize')}/click", {})
    report = wait(lambda: text("#personal-report") or text("#error"), "the personalisation report", timeout=300)
    print(f"[e2e] personalisation: {report!r} ({js('return window.lastPersonalizeMs'):.0f} ms in the page)")
    if not report.startswith("Personal model in use"):
        failures.append(f"personalisation did not give a personal model: {report!r}")
    # Progress was shown step by step (both recordings read, each fold of the check and the final
    # fit), the bar is gone, and the page drew frames while it adapted.
    seen = js("return window.personalizeProgress || []")
    frames = js("return window.personalizeFrames || 0")
    bar_hidden = js("return document.getElementById('personal-progress').hidden")
    print(f"[e2e] personalisation: progress {seen}; {frames} frames drawn meanwhile; bar hidden {bar_hidden}")
    if ["reading", 2, 2] not in seen or ["adapting", 3, 3] not in seen or seen[-1] != ["adapting", 3, 3]:
        failures.append(f"personalisation did not report its steps: {seen}")
    if not bar_hidden:
        failures.append("the progress bar stayed on screen after personalising")
    if frames < 1:
        failures.append(f"the page drew {frames} frames while personalising: it did not stay responsive")
    verdict = analyse_sample(8)
    print(f"[e2e] personalisation: A08 after: {verdict!r}")
    if verdict != "no fall":
        failures.append(f"the walk labelled 'not a fall' still alarms after personalising: {verdict!r}")
    js("document.getElementById('result-prob').textContent = '–'")
    call("POST", f"{s}/element/{find('#acc-file')}/value", {"text": recording})
    if gyro_file:
        call("POST", f"{s}/element/{find('#gyro-file')}/value", {"text": gyro_file})
    call("POST", f"{s}/element/{find('#analyze')}/click", {})
    wait(lambda: (t := text("#result-prob")) not in ("", "–") and t, "the held-out fall's result", timeout=300)
    print(f"[e2e] personalisation: held-out fall after: {text('#verdict')!r} ({text('#result-prob')})")
    if text("#verdict") != "FALL":
        failures.append(f"the held-out fall no longer alarms after personalising: {text('#verdict')!r}")
    # The sensitivity control re-runs the alarm logic at another threshold, the model's marked.
    js("const s = document.getElementById('sensitivity'); s.value = '0.95'; s.dispatchEvent(new Event('input'))")
    note, shown = text("#sensitivity-note"), text("#alarms")
    print(f"[e2e] sensitivity 0.95: {note!r}; {shown!r}; verdict {text('#verdict')!r}")
    if "the model's own: " not in note or "threshold 0.95" not in shown or text("#error"):
        failures.append(f"the sensitivity control did not re-run the alarm logic: {note!r}, {shown!r}, error {text('#error')!r}")
    call("POST", s + "/url", {"url": f"http://127.0.0.1:{http_port}/index.html?cpu"})
    wait(lambda: js("return document.getElementById('backend').dataset.final === '1'"), "the CPU backend", timeout=300)
    if not text("#model-desc").startswith("personal model"):
        failures.append(f"the personal model was not kept over a reload: {text('#model-desc')!r}")
    # The labelled recordings are kept across visits too (IndexedDB).
    call("POST", s + "/execute/async", {"script": "window.labelsRestored.then(arguments[arguments.length - 1]);", "args": []})
    if labels() != (2, 1):
        failures.append(f"the labelled recordings were not kept over a reload: {text('#label-count')!r}")
    call("POST", f"{s}/element/{find('#reset-personal')}/click", {})
    if not text("#model-desc").startswith("default student"):
        failures.append(f"reset did not bring the default model back: {text('#model-desc')!r}")

    # Live mode (issue #36): the uploaded fall replayed as devicemotion events at its own pace. The
    # model's alarm logic raises an alarm; it stays (latched) while its countdown runs; "I'm OK"
    # cancels it; the log keeps it, and labels its window "not a fall" for personalisation.
    js("window.__replay = " + json.dumps(replay_events(recording, gyro_file)))
    call("POST", f"{s}/element/{find('#live')}/click", {})
    js("""const r = window.__replay, t0 = performance.now(); let i = 0;
          window.__replayTimer = setInterval(() => {
            const now = (performance.now() - t0) / 1000;
            for (; i < r.t.length && r.t[i] <= now; i++) {
              dispatchEvent(new DeviceMotionEvent("devicemotion", {interval: 20,
                accelerationIncludingGravity: {x: r.a[3 * i], y: r.a[3 * i + 1], z: r.a[3 * i + 2]},
                rotationRate: {alpha: r.g[3 * i], beta: r.g[3 * i + 1], gamma: r.g[3 * i + 2]}}));
            }
            if (i >= r.t.length) clearInterval(window.__replayTimer);
          }, 10);""")
    wait(lambda: js("return !document.getElementById('alarm-panel').hidden"), "the live alarm", timeout=120)
    first = text("#alarm-countdown")
    time.sleep(3)
    later = text("#alarm-countdown")
    print(f"[e2e] live: alarm raised ({text('#live-prob')}); countdown {first!r}, 3 s later {later!r}; status {text('#live-status')!r}")
    if js("return document.getElementById('alarm-panel').hidden") or first == later:
        failures.append(f"the live alarm did not stay with a running countdown: {first!r} then {later!r}")
    # The generated recording is a watch's: no phone-in-pocket note.
    if text("#live-note"):
        failures.append(f"a watch recording got the phone-in-pocket note: {text('#live-note')!r}")
    call("POST", f"{s}/element/{find('#im-ok')}/click", {})
    log, hidden = text("#alarm-log"), js("return document.getElementById('alarm-panel').hidden")
    print(f"[e2e] live: after I'm OK: panel hidden {hidden}, log {log!r}")
    if not hidden or "cancelled" not in log:
        failures.append(f"I'm OK did not cancel the alarm into the log: {log!r}")
    kept = labels()
    call("POST", f"{s}/element/{find('#alarm-log button')}/click", {})
    if labels() != (kept[0] + 1, kept[1]):
        failures.append(f"the cancelled alarm was not labelled for personalisation: {text('#label-count')!r}")
    call("POST", f"{s}/element/{find('#live')}/click", {})
    with open(os.path.join(out, "live.png"), "wb") as f:
        f.write(base64.b64decode(call("GET", s + "/screenshot")["value"]))

    # Guided calibration (issue #33): synthetic devicemotion events (the fall recording's, in a
    # loop) while the page walks through its movements at 1 s each; every step becomes a labelled
    # recording, and personalising from them gives a report.
    before, falls = labels()
    js("""const r = window.__replay; let i = 0;
          window.__loop = setInterval(() => { const k = i++ % r.t.length;
            dispatchEvent(new DeviceMotionEvent("devicemotion", {interval: 20,
              accelerationIncludingGravity: {x: r.a[3 * k], y: r.a[3 * k + 1], z: r.a[3 * k + 2]},
              rotationRate: {alpha: r.g[3 * k], beta: r.g[3 * k + 1], gamma: r.g[3 * k + 2]}})); }, 20);
          const c = document.getElementById('calib-seconds'); c.value = '1';""")
    call("POST", f"{s}/element/{find('#calibrate')}/click", {})
    done = wait(lambda: (t := text("#calib-prompt")).startswith("Calibration") and t, "the guided calibration", timeout=180)
    js("clearInterval(window.__loop)")
    count, status = text("#label-count"), text("#calib-status")
    print(f"[e2e] calibration: {done!r} {status!r}; {count!r}")
    if done != "Calibration done." or labels() != (before + 7, falls + 1):
        failures.append(f"the guided calibration did not label its 7 recordings: {done!r}, {status!r}, {count!r} (before: {before})")
    call("POST", f"{s}/element/{find('#personalize')}/click", {})
    report = wait(lambda: (t := text("#personal-report")).endswith("in this browser).") and t or text("#error"), "personalising after calibration", timeout=300)
    print(f"[e2e] calibration: {report!r}")
    if f"from {before + 7} labelled recordings" not in report:
        failures.append(f"personalising after the calibration: {report!r}")
    # The calibration labelled stretches of a fall as daily living: back to the base model.
    if report.startswith("Personal model in use"):
        call("POST", f"{s}/element/{find('#reset-personal')}/click", {})
    # Forgetting the labels empties the list, in this browser's storage too.
    call("POST", f"{s}/element/{find('#forget-labels')}/click", {})
    wait(lambda: js("return window.labelsSaved === 0"), "the labels to be forgotten", timeout=30)
    if text("#label-count") != "no labelled recordings yet":
        failures.append(f"forgetting the labelled recordings: {text('#label-count')!r}")

    # Offline (issue #36): once the page has loaded, it works without a network. The server
    # stops; the page reloads from the service worker's cache and scores a sample.
    call("POST", s + "/url", {"url": f"http://127.0.0.1:{http_port}/index.html?cpu"})
    wait(lambda: js("return document.getElementById('backend').dataset.final === '1'"), "the CPU backend", timeout=300)
    kept = call("POST", s + "/execute/async", {"script": "window.offlineReady.then(arguments[arguments.length - 1]);", "args": []})["value"]
    print(f"[e2e] offline: {kept}")
    stop(server_only=True)
    call("POST", s + "/url", {"url": f"http://127.0.0.1:{http_port}/index.html?cpu"})
    wait(lambda: js("return document.getElementById('backend').dataset.final === '1'"), "the CPU backend offline", timeout=120)
    verdict = analyse_sample(11)
    print(f"[e2e] offline: the page reloaded without its server; sample A11: {verdict!r}")
    if verdict != "FALL":
        failures.append(f"offline, the page did not score a generated fall as a fall: {verdict!r}")
except Exception as e:  # noqa: BLE001
    failures.append(f"{type(e).__name__}: {e}")
    try:
        with open(os.path.join(out, "screenshot-failure.png"), "wb") as f:
            f.write(base64.b64decode(call("GET", s + "/screenshot")["value"]))
        print("[e2e] page text at failure:", js("return document.body.innerText")[:2000])
    except Exception:
        pass
finally:
    stop(s)

if failures:
    print("[e2e] FAILED:\n  " + "\n  ".join(failures)); sys.exit(1)
print(f"[e2e] ok; screenshots in {out}")
