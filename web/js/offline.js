// Installable and offline: the service worker (web/pwa/sw.js).

// Offline: the service worker (web/pwa/sw.js) keeps what the page loads; the URLs loaded before it
// took control are sent to it. `window.offlineReady` resolves once they are cached (the
// end-to-end test waits for it before going offline).
window.offlineReady = (async () => {
  if (!("serviceWorker" in navigator)) return "no service worker in this browser";
  try {
    await navigator.serviceWorker.register("sw.js");
    const reg = await navigator.serviceWorker.ready;
    await new Promise((r) => (document.readyState === "complete" ? r() : addEventListener("load", r, { once: true })));
    const urls = [location.href, ...performance.getEntriesByType("resource").map((e) => e.name)]
      .filter((u) => new URL(u).origin === location.origin);
    const done = new Promise((r) => navigator.serviceWorker.addEventListener("message", (e) => e.data && e.data.cached != null && r(e.data.cached), { once: true }));
    reg.active.postMessage({ cache: urls });
    return `${await done} files kept for offline use`;
  } catch (e) { return "offline use unavailable: " + (e.message || e); }
})();
