"""The page served from a folder and headless Chromium driven through ChromeDriver's WebDriver
protocol, standard library only: what scripts/e2e.py and scripts/big_upload.py share.

    from webdriver import start
    http_port, call, stop = start(SITE_DIR)
"""
import http.server, json, socket, subprocess, threading, time, urllib.error, urllib.request


def start(site):
    """Serves `site`, starts ChromeDriver; returns the page's port, `call(method, path, body,
    timeout)` for WebDriver requests, and `stop(session)`."""
    def free_port():
        s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=site, **k)

        def log_message(self, *a):
            pass


    Quiet.extensions_map[".wasm"] = "application/wasm"
    Quiet.extensions_map[".js"] = "text/javascript"
    http_port, wd_port = free_port(), free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = subprocess.Popen(["chromedriver", f"--port={wd_port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{wd_port}"


    def call(method, path, body=None, timeout=180):
        req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"WebDriver {method} {path}: {e.code} {e.read()[:600]!r}") from None


    for _ in range(100):
        try:
            call("GET", "/status"); break
        except Exception:
            time.sleep(0.1)

    def stop(session=None, server_only=False):
        """Ends the WebDriver session `session` (its path, e.g. /session/ID) if given, then
        ChromeDriver and the server; with `server_only`, only the server (the page's network goes
        away, the browser stays: the offline test)."""
        if server_only:
            server.shutdown(); server.server_close()
            return
        try:
            if session:
                call("DELETE", session, timeout=10)
        except Exception:
            pass
        driver.terminate(); server.shutdown()

    return http_port, call, stop
