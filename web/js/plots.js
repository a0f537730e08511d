// Plots: drawn at the device's pixel ratio in CSS pixels, with axes, ticks and units.

import { $ } from "./state.js";

const PAD = { l: 46, r: 12, t: 8, b: 30 };
function canvasFor(id) {
  const c = $(id), dpr = window.devicePixelRatio || 1;
  const W = c.clientWidth || 1060, H = c.clientHeight || 180;
  c.width = Math.round(W * dpr); c.height = Math.round(H * dpr);
  const ctx = c.getContext("2d"); ctx.setTransform(dpr, 0, 0, dpr, 0, 0); ctx.clearRect(0, 0, W, H);
  ctx.font = "11px system-ui, sans-serif"; ctx.lineWidth = 1;
  return { ctx, W, H, pw: W - PAD.l - PAD.r, ph: H - PAD.t - PAD.b };
}
// Round tick steps (1, 2, 5 x 10^k) for the span [a, b].
function ticks(a, b, n) {
  const span = Math.max(b - a, 1e-9), raw = span / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * p).find((x) => x >= raw);
  const out = []; for (let v = Math.ceil(a / step) * step; v <= b + 1e-9; v += step) out.push(+v.toFixed(10)); return out;
}
function frame(g, [x0, x1], [y0, y1], xLabel, yLabel) {
  const { ctx, W, H, pw, ph } = g, X = (x) => PAD.l + (x - x0) / Math.max(x1 - x0, 1e-9) * pw, Y = (y) => PAD.t + ph - (y - y0) / Math.max(y1 - y0, 1e-9) * ph;
  ctx.strokeStyle = "#ccc"; ctx.fillStyle = "#444"; ctx.textAlign = "center";
  for (const x of ticks(x0, x1, 8)) { ctx.beginPath(); ctx.moveTo(X(x), PAD.t); ctx.lineTo(X(x), PAD.t + ph); ctx.stroke(); ctx.fillText(String(x), X(x), H - PAD.b + 13); }
  ctx.textAlign = "right";
  for (const y of ticks(y0, y1, 4)) { ctx.beginPath(); ctx.moveTo(PAD.l, Y(y)); ctx.lineTo(PAD.l + pw, Y(y)); ctx.stroke(); ctx.fillText(String(y), PAD.l - 4, Y(y) + 4); }
  ctx.strokeStyle = "#888"; ctx.strokeRect(PAD.l, PAD.t, pw, ph);
  ctx.textAlign = "center"; ctx.fillText(xLabel, PAD.l + pw / 2, H - 3);
  ctx.save(); ctx.translate(11, PAD.t + ph / 2); ctx.rotate(-Math.PI / 2); ctx.fillText(yLabel, 0, 0); ctx.restore();
  ctx.textAlign = "left";
  return { X, Y };
}
const maxOfArr = (xs, floor) => { let m = floor; for (const x of xs) if (x > m) m = x; return m; };

export function drawSignals(r) {
  const g = canvasFor("signals"), { ctx } = g, t = r.signal_t;
  const amax = maxOfArr(r.signal_acc, 20), gmax = maxOfArr(r.signal_gyro, 1);
  const { X, Y } = frame(g, [t[0], t[t.length - 1]], [0, amax], "time (s)", "|acc| m/s²");
  const line = (v, scale, color) => { ctx.beginPath(); ctx.strokeStyle = color;
    v.forEach((y, i) => { const px = X(t[i]), py = Y(y * scale); i ? ctx.lineTo(px, py) : ctx.moveTo(px, py); }); ctx.stroke(); };
  line(r.signal_acc, 1, "#1f77b4"); line(r.signal_gyro, amax / gmax, "#2ca02c");
  ctx.fillStyle = "#2ca02c"; ctx.fillText(`|gyro| (rad/s, scaled: top = ${gmax.toFixed(1)})`, PAD.l + 6, PAD.t + 12);
  ctx.fillStyle = "#1f77b4"; ctx.fillText("|acc|", PAD.l + 6, PAD.t + 25);
}

export function drawProbs(r) {
  const g = canvasFor("probs"), { ctx } = g, w = r.windows, n = w.count;
  const { X, Y } = frame(g, [w.start_s[0], w.start_s[n - 1] + 1e-6], [0, 1], "window start (s)", "fall probability");
  ctx.setLineDash([5, 4]); ctx.strokeStyle = "#888"; ctx.beginPath(); ctx.moveTo(PAD.l, Y(r.threshold)); ctx.lineTo(PAD.l + g.pw, Y(r.threshold)); ctx.stroke(); ctx.setLineDash([]);
  const line = (key, color) => { ctx.beginPath(); ctx.strokeStyle = color; ctx.lineWidth = 2;
    for (let i = 0; i < n; i++) { const px = X(w.start_s[i]), py = Y(w[key][i]); i ? ctx.lineTo(px, py) : ctx.moveTo(px, py); } ctx.stroke(); ctx.lineWidth = 1; };
  line("prob", "#1f77b4"); if (w.prob_perturbed != null) line("prob_perturbed", "#ff7f0e");
  ctx.fillStyle = "#c0392b"; for (const a of r.alarms) { ctx.beginPath(); ctx.arc(X(a), Y(1) + 5, 4, 0, 7); ctx.fill(); }
}

export function drawAttention(r) {
  const g = canvasFor("attention"), { ctx } = g;
  // Long recordings carry attention only for the windows around the most probable one.
  const rows = r.attention_rows; if (!rows.length) return;
  const L = rows[0].length, cw = g.pw / L, rh = g.ph / rows.length;
  rows.forEach((row, i) => { const m = maxOfArr(row, 1e-12);
    row.forEach((a, j) => { ctx.fillStyle = `rgba(103,58,183,${(a / m).toFixed(3)})`; ctx.fillRect(PAD.l + j * cw, PAD.t + i * rh, cw + 0.5, rh + 0.5); }); });
  ctx.fillStyle = "#444"; ctx.textAlign = "center"; ctx.fillText("token (time inside the window)", PAD.l + g.pw / 2, g.H - 3);
  ctx.save(); ctx.translate(11, PAD.t + g.ph / 2); ctx.rotate(-Math.PI / 2); ctx.fillText("window", 0, 0); ctx.restore(); ctx.textAlign = "left";
}
