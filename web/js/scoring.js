// Scoring a recording and showing the result: the verdict by the model's alarm logic, badges, the
// sensitivity control, the plots and the downloads of the per-window results.

import { $, app, showError } from "./state.js";
import { readInput } from "./input.js";
import { drawSignals, drawProbs, drawAttention } from "./plots.js";

const ANALYZE = "Would it alarm?";

$("severity").oninput = () => $("severity-v").textContent = Number($("severity").value).toFixed(2);

$("analyze").onclick = async () => {
  if (app.busy || !app.detector) return;
  app.busy = true; showError(""); $("notes").textContent = ""; $("status-line")?.remove();
  $("analyze").disabled = true; $("analyze").textContent = "Analyzing…";
  try {
    const inp = await readInput();
    if (!inp) throw new Error("choose an accelerometer CSV file or a generated sample first");
    // Let the page paint before parsing starts; parsing and scoring then report each chunk.
    $("analyze").textContent = "Parsing…"; await new Promise(r => setTimeout(r, 0));
    const t0 = performance.now();
    const unit = id => $(id).value || null;
    const units = JSON.stringify({ acc: unit("acc-unit"), gyro: unit("gyro-unit") });
    const r = await app.detector.analyze(inp.acc, inp.accName, inp.gyro, inp.gyroName, units,
      $("stress-kind").value, Number($("severity").value), BigInt($("seed").value || 0),
      (done, total, phase, file) => {
        $("analyze").textContent = phase === "parsing"
          ? `Parsing ${file}: ${Math.floor(100 * done / Math.max(total, 1))} %…`
          : `Scoring ${done} / ${total} windows…`;
      });
    const t1 = performance.now(); render(r);
    // Kept for the measurement scripts: analysis (parse, score, hand-over) and drawing, in ms.
    window.lastTiming = { analyze_ms: t1 - t0, render_ms: performance.now() - t1 };
  } catch (e) { showError(e); $("results").hidden = true; }
  finally { app.busy = false; $("analyze").disabled = false; $("analyze").textContent = ANALYZE; }
};

export function verdict(p, thr) { return p >= thr ? '<span class="fall">FALL</span>' : '<span class="ok">no fall</span>'; }

function render(r) {
  app.lastResult = r;
  // The sensitivity control starts at the model's threshold (marked), and moves with it.
  if (r.modelThreshold == null) r.modelThreshold = r.threshold;
  $("sensitivity").value = r.threshold; $("sensitivity-v").textContent = r.threshold.toFixed(2);
  $("sensitivity-note").textContent = Math.abs(r.threshold - r.modelThreshold) < 1e-9 ? "(the model's own threshold)" : `(the model's own: ${r.modelThreshold.toFixed(2)})`;
  $("results").hidden = false;
  $("result-backend").textContent = r.backend;
  $("latency").textContent = r.latency_ms_per_window.toFixed(2) + " ms / window";
  // A loop, not Math.max(...): a day-long recording has more windows than a call takes arguments.
  const maxOf = (xs) => xs.reduce((m, x) => x > m ? x : m, -Infinity);
  // Per-window numbers come as typed arrays (r.windows.prob[i], r.windows.start_s[i], ...).
  const maxp = maxOf(r.windows.prob);
  const pert = r.windows.prob_perturbed != null;
  const maxq = pert ? maxOf(r.windows.prob_perturbed) : null;
  $("result-prob").textContent = maxp.toFixed(3);
  $("result-prob-perturbed").textContent = pert ? maxq.toFixed(3) : "–";
  // The verdict is the model's alarm logic (the same core code as `fallkd predict`).
  $("verdict").innerHTML = r.alarms.length ? '<span class="fall">FALL</span>' : '<span class="ok">no fall</span>';
  // The perturbed verdict by the same alarm logic as the clean one.
  let pertAlarms = null;
  try { if (pert) pertAlarms = app.detector.alarms_at(r.threshold, r.windows.start_s, r.windows.end_s, r.windows.prob_perturbed); } catch (e) { pertAlarms = null; }
  $("verdict-perturbed").innerHTML = pertAlarms == null ? (pert ? verdict(maxq, r.threshold) : "–") : (pertAlarms.length ? '<span class="fall">FALL</span>' : '<span class="ok">no fall</span>');
  $("alarms").textContent = `${r.windows.count} windows of ${r.events} events; threshold ${r.threshold.toFixed(2)}; ` +
    (r.alarms.length ? "alarms at " + Array.from(r.alarms, t => t.toFixed(1) + " s").join(", ") : "no alarm");
  $("notes").textContent = r.notes.join("\n");
  // Badges: what the verdict rests on.
  const badges = [r.alarms.length ? ["alarm", "fall"] : ["no alarm", "ok"]];
  if (r.low_confidence) badges.push(["low confidence: see the notes", "warn"]);
  if (r.gyro_missing) badges.push(["gyroscope missing: accelerometer only", "warn"]);
  $("badges").replaceChildren(...badges.map(([t, c]) => { const b = document.createElement("span"); b.className = "badge " + c; b.textContent = t; return b; }));
  const at = (i) => r.windows.start_s[i].toFixed(1);
  let imax = 0; for (let i = 1; i < r.windows.count; i++) if (r.windows.prob[i] > r.windows.prob[imax]) imax = i;
  $("probs").setAttribute("aria-label", `Fall probability of ${r.windows.count} windows: highest ${maxp.toFixed(3)} in the window from ${at(imax)} s; threshold ${r.threshold.toFixed(2)}; ` +
    (r.alarms.length ? `alarms at ${Array.from(r.alarms, (t) => t.toFixed(1) + " s").join(", ")}` : "no alarm"));
  $("signals").setAttribute("aria-label", `Acceleration and rotation magnitude over ${r.events} events, ${(r.signal_t[r.signal_t.length - 1] - r.signal_t[0]).toFixed(1)} s`);
  drawSignals(r); drawProbs(r); drawAttention(r);
}

// The sensitivity control: the model's alarm logic again (core, through the bindings) at another
// threshold, over the windows already scored.
$("sensitivity").oninput = () => {
  const r = app.lastResult; if (!r || !app.detector) return;
  const thr = +$("sensitivity").value, w = r.windows;
  try {
    r.alarms = Float64Array.from(app.detector.alarms_at(thr, w.start_s, w.end_s, w.prob));
    r.threshold = thr; render(r);
  } catch (e) { showError(e); }
};

function download(name, type, text) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type })); a.download = name; a.click(); URL.revokeObjectURL(a.href);
}
$("download-csv").onclick = () => {
  const r = app.lastResult; if (!r) return; const w = r.windows, pert = w.prob_perturbed != null;
  const rows = ["start_s,end_s,events,prob" + (pert ? ",prob_perturbed" : "")];
  for (let i = 0; i < w.count; i++) rows.push([w.start_s[i], w.end_s[i], w.events[i], w.prob[i], ...(pert ? [w.prob_perturbed[i]] : [])].join(","));
  download("fallkd-windows.csv", "text/csv", rows.join("\n") + "\n");
};
$("download-json").onclick = () => {
  const r = app.lastResult; if (!r) return; const w = r.windows;
  const windows = Array.from({ length: w.count }, (_, i) => ({ start_s: w.start_s[i], end_s: w.end_s[i], events: w.events[i], prob: w.prob[i],
    ...(w.prob_perturbed != null ? { prob_perturbed: w.prob_perturbed[i] } : {}) }));
  download("fallkd-result.json", "application/json", JSON.stringify({ threshold: r.threshold, model_threshold: r.modelThreshold,
    alarms: Array.from(r.alarms), events: r.events, gyro_missing: r.gyro_missing, low_confidence: r.low_confidence, notes: r.notes, windows }, null, 1));
};
