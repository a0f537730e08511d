// fallkd's service worker: once the page has loaded, it works without a network. Every request of
// the page's own origin goes to the network first (a new build is picked up whenever the network
// is there) and is kept in the cache; without a network the cache answers. The page sends the
// URLs it loaded before this worker took control (the page itself, its scripts and the CPU
// bundle), to be cached too, and hears back when they are.
const CACHE = "fallkd-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (e) => {
  const req = e.request;
  if (req.method !== "GET" || new URL(req.url).origin !== self.location.origin) return;
  e.respondWith(
    fetch(req)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put(req, copy));
        }
        return res;
      })
      .catch(() => caches.match(req, { ignoreSearch: true }).then((hit) => hit || Response.error())),
  );
});

self.addEventListener("message", (e) => {
  const urls = (e.data && e.data.cache) || [];
  e.waitUntil(
    caches
      .open(CACHE)
      .then((c) => Promise.all(urls.map((u) => c.add(u).catch(() => null))))
      .then(() => e.source && e.source.postMessage({ cached: urls.length })),
  );
});
