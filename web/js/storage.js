// What the page keeps in this browser's storage: the personal model, and the log of live alarms.

const PERSONAL_KEY = "fallkd-personal-model";
const LOG_KEY = "fallkd-alarm-log", LOG_MAX = 20;

const toB64 = (b) => { let s = ""; for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000)); return btoa(s); };
const fromB64 = (t) => Uint8Array.from(atob(t), (c) => c.charCodeAt(0));

// The kept personal model's bytes, or null.
export function keptPersonal() { const t = localStorage.getItem(PERSONAL_KEY); return t ? fromB64(t) : null; }
export function keepPersonal(bytes) { localStorage.setItem(PERSONAL_KEY, toB64(bytes)); }
export function forgetPersonal() { localStorage.removeItem(PERSONAL_KEY); }

// The alarm log: its entries, oldest first; saving keeps the last LOG_MAX.
export function loadLog() { try { return JSON.parse(localStorage.getItem(LOG_KEY) || "[]"); } catch (e) { return []; } }
export function saveLog(log) {
  const kept = log.slice(-LOG_MAX);
  try { localStorage.setItem(LOG_KEY, JSON.stringify(kept)); } catch (e) { /* storage full: kept for this visit */ }
  return kept;
}

// The labelled recordings, in IndexedDB (recordings can be larger than localStorage holds): each
// `{acc, accName, gyro, gyroName, fall}` with the files' bytes as Uint8Arrays.
const DB = "fallkd", LABELS = "labels";
function labelsDb() {
  return new Promise((ok, fail) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(LABELS, { autoIncrement: true });
    r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error);
  });
}
export async function keptLabels() {
  const db = await labelsDb();
  return new Promise((ok, fail) => { const q = db.transaction(LABELS).objectStore(LABELS).getAll(); q.onsuccess = () => ok(q.result); q.onerror = () => fail(q.error); });
}
export async function keepLabels(list) {
  const db = await labelsDb(), tx = db.transaction(LABELS, "readwrite"), store = tx.objectStore(LABELS);
  store.clear(); for (const r of list) store.add(r);
  return new Promise((ok, fail) => { tx.oncomplete = () => ok(); tx.onerror = () => fail(tx.error); });
}
