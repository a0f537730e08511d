// The device's motion sensors (DeviceMotionEvent): permission, a listener that keeps the events with
// their real, irregular times, and kept events as a recording the parser reads. Live mode and the
// guided calibration share them.

const D2R = Math.PI / 180;

// Asks for the sensors where the browser wants permission (iOS); null when they may be read, else
// why not, in words.
export async function motionPermission() {
  if (typeof DeviceMotionEvent === "undefined") return "This browser has no motion-sensor API (DeviceMotionEvent).";
  try {
    if (typeof DeviceMotionEvent.requestPermission === "function" && (await DeviceMotionEvent.requestPermission()) !== "granted") return "Motion-sensor permission was refused.";
  } catch (e) { return "Motion-sensor permission failed: " + e; }
  return null;
}

// Listens: `ev` holds 6 numbers an event (acceleration with gravity in m/s², rotation in rad/s),
// `ts` its time in seconds; only the last `span` seconds are kept. `stop()` ends it.
export function listen(span = Infinity) {
  const ev = [], ts = [];
  const handler = (e) => {
    const a = e.accelerationIncludingGravity, g = e.rotationRate;
    if (!a || a.x == null) return;
    ev.push(a.x, a.y, a.z, (g?.alpha ?? 0) * D2R, (g?.beta ?? 0) * D2R, (g?.gamma ?? 0) * D2R);
    ts.push(e.timeStamp / 1000);
    while (ts.length && ts[ts.length - 1] - ts[0] > span) { ts.shift(); ev.splice(0, 6); }
  };
  addEventListener("devicemotion", handler);
  return { ev, ts, stop: () => removeEventListener("devicemotion", handler) };
}

// Events as a recording the parser reads (one time column, both sensors).
export function recordingCsv(ev, ts) {
  const rows = ["t,ax,ay,az,gx,gy,gz"];
  for (let i = 0; i < ts.length; i++) rows.push([(ts[i] - ts[0]).toFixed(4), ...Array.from(ev.slice(6 * i, 6 * i + 6), (v) => v.toFixed(5))].join(","));
  return rows.join("\n") + "\n";
}
