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
