// Live mode: the phone's or watch's motion sensors scored as they arrive, with the model's alarm logic,
// a latched alarm with a countdown, and the alarm log.

import { $, app, showError } from "./state.js";
import { loadLog, saveLog as storeLog } from "./storage.js";
import { verdict } from "./scoring.js";
import { addLabelled } from "./personalize.js";
import { listen, motionPermission, recordingCsv } from "./sensors.js";

// Live mode: DeviceMotionEvent with its real, irregular event times, scored a window every model
// stride on the sensor clock (the window's length times its evaluation stride, as an upload's
// windows are spaced; checked every 500 ms, never two scorings at once) through core's alarm logic (LiveAlarm: the same decisions as an upload's and
// `fallkd predict`'s). An alarm latches: a countdown with an "I'm OK" button, sound and vibration,
// then "help would be called now". Alarms go into a log kept in this browser; one can be labelled
// "not a fall" for personalisation.
let alarmLog = loadLog();
const saveLog = () => { alarmLog = storeLog(alarmLog); };
function showLog() {
  const ul = $("alarm-log"); ul.replaceChildren();
  for (const entry of [...alarmLog].reverse()) {
    const li = document.createElement("li");
    const what = { pending: "waiting for an answer", cancelled: "cancelled: I'm OK", help: "no answer: help would have been called" }[entry.outcome] || entry.outcome;
    li.textContent = `${new Date(entry.at).toLocaleString()}: fall probability ${entry.prob.toFixed(3)}, ${what}${entry.labelled ? "; labelled not a fall" : ""} `;
    if (!entry.labelled && entry.csv && entry.outcome !== "pending") {
      const b = document.createElement("button"); b.textContent = "This was not a fall";
      b.onclick = () => { addLabelled({ acc: new TextEncoder().encode(entry.csv), accName: `live-alarm-${entry.at}.csv`, gyro: null, gyroName: "", fall: false });
        entry.labelled = true; saveLog(); showLog(); };
      li.append(b);
    }
    ul.append(li);
  }
}
$("clear-log").onclick = () => { alarmLog = alarmLog.filter((e) => e.outcome === "pending"); saveLog(); showLog(); };
showLog();

function beep(audio) {
  if (!audio) return;
  try { const o = audio.createOscillator(), g = audio.createGain(); o.frequency.value = 880; g.gain.value = 0.3;
    o.connect(g).connect(audio.destination); o.start(); o.stop(audio.currentTime + 0.35); } catch (e) { /* no sound here */ }
}

function raiseAlarm(p, csv) {
  const entry = { at: new Date().toISOString(), prob: p, outcome: "pending", csv };
  alarmLog.push(entry); saveLog(); showLog();
  let left = Math.min(300, Math.max(5, Math.round(+$("countdown-s").value) || 30));
  live.latched = entry;
  $("alarm-text").textContent = "Fall detected";
  $("im-ok").textContent = "I'm OK";
  $("alarm-panel").hidden = false;
  const tick = () => {
    $("alarm-countdown").textContent = `Help would be called in ${left} s unless you answer.`;
    if (left % 5 === 0) { beep(live?.audio); navigator.vibrate?.([400, 200, 400]); }
  };
  tick();
  live.countdown = setInterval(() => {
    left -= 1;
    if (left > 0) { tick(); return; }
    clearInterval(live.countdown); live.countdown = null;
    entry.outcome = "help"; saveLog(); showLog();
    $("alarm-text").textContent = "Help would be called now";
    $("alarm-countdown").textContent = "A watch would now call the wearer's contact. This demo calls no one.";
    $("im-ok").textContent = "Close";
    navigator.vibrate?.([1000]);
  }, 1000);
}

$("im-ok").onclick = () => {
  const entry = live?.latched || alarmLog.find((e) => e.outcome === "pending");
  if (live?.countdown) { clearInterval(live.countdown); live.countdown = null; }
  if (entry && entry.outcome === "pending") entry.outcome = "cancelled";
  if (live) live.latched = null;
  $("alarm-panel").hidden = true; saveLog(); showLog();
};

async function stopLive() {
  live.sensors.stop(); clearInterval(live.timer);
  if (live.countdown) clearInterval(live.countdown);
  try { await live.wakeLock?.release(); } catch (e) { /* already released */ }
  live = null; $("live").textContent = "Start live mode"; $("live-status").textContent = "Stopped."; $("live-note").textContent = "";
}

let live = null;
$("live").onclick = async () => {
  if (live) { await stopLive(); return; }
  if (!app.detector) return;
  const refused = await motionPermission();
  if (refused) { $("live-status").textContent = refused; return; }
  const span = app.detector.buffer_seconds, sensors = listen(span), { ev, ts } = sensors;
  const started = performance.now();
  // Made while the click still counts as a user gesture, so that the alarm may sound.
  let audio = null; try { audio = new AudioContext(); } catch (e) { /* no Web Audio */ }
  let wakeLock = null; try { wakeLock = await navigator.wakeLock?.request("screen"); } catch (e) { /* not granted: the screen may sleep */ }
  const alarm = app.detector.live_alarm(), model = app.detector, stride = model.stride_seconds;
  const timer = setInterval(async () => {
    if (!live || live.scoring) return;
    // The next window once the sensor clock has moved a stride past the last one scored.
    if (ts.length && ts[ts.length - 1] - live.lastEnd < stride - 1e-6) return;
    if (ts.length < 16) { if (performance.now() - started > 3000) $("live-status").textContent = "No motion events arrive: this device has no motion sensors, or the page is not allowed to read them (phones need HTTPS)."; return; }
    live.scoring = true;
    try {
      const end = ts[ts.length - 1]; live.lastEnd = end;
      const evs = new Float32Array(ev), tss = new Float64Array(ts);
      const p = await model.predict_window(evs, tss);
      if (!live) return;
      $("live-prob").innerHTML = p.toFixed(3) + " " + verdict(p, alarm.threshold);
      const delay = model.delay_seconds;
      $("live-status").textContent = `${ts.length} events in the last ${span} s; a window every ${stride} s; alarm: ${alarm.rule}` + (delay > 0 ? `; the window scored ended ${delay} s ago (the model reads ${delay} s past it)` : "") + (wakeLock ? "; the screen stays on" : "");
      const pocket = app.fk.pocket_note(evs, tss);
      $("live-note").textContent = pocket ? "Note: " + pocket + "." : "";
      if (alarm.push(end, p) && !live.latched) raiseAlarm(p, recordingCsv(evs, tss));
    } catch (e) { showError(e); } finally { if (live) live.scoring = false; }
  }, 500);
  live = { sensors, timer, audio, wakeLock, scoring: false, latched: null, countdown: null, lastEnd: -Infinity };
  $("live").textContent = "Stop live mode"; $("live-status").textContent = "Listening…";
};
