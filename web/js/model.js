// The model in use: loading the default, an uploaded or a personal one, on the CPU backend and then
// on WebGPU where the browser offers it, and its card (checksum and provenance).

import { $, app, showError } from "./state.js";
import { keptPersonal, forgetPersonal } from "./storage.js";

// The model file's checksum and provenance (what `fallkd inspect` prints), as text nodes.
export function showModel(d) {
  $("model-check").textContent = d.file_check;
  const dl = $("provenance"); dl.replaceChildren();
  const add = (k, v) => { const t = document.createElement("dt"), x = document.createElement("dd"); t.textContent = k; x.textContent = v; dl.append(t, x); };
  const rule = d.live_alarm(); add("alarm", rule.rule); rule.free();
  add("without a gyroscope", d.gyro_dropout > 0 ? `works: trained with the gyroscope zeroed in ${Math.round(d.gyro_dropout * 100)} % of windows` : "less reliable: trained always with one");
  const p = JSON.parse(d.provenance_json);
  if (!p) { add("provenance", "none (the file was written before model files carried it)"); return; }
  // The figures that chose the model, measured on wearers it never saw (the lockbox, the other
  // sampling-rate group), as export wrote them into the file.
  for (const f of p.figures) add(f.name, f.value);
  const subjects = (s) => s.length ? s.map((n) => "S" + String(n).padStart(2, "0")).join(" ") : "none";
  add("training data", `${p.data.source}: ${p.data.recordings} recordings, train ${subjects(p.data.train_subjects)}, validation ${subjects(p.data.val_subjects)}, older adults ${subjects(p.data.old_adults)} (sha256 ${p.data.sha256})`);
  add("threshold", p.threshold_choice);
  add("trained from", `${p.run}, commit ${p.commit}, exported ${p.exported}`);
  if (p.base_model) add("adapted from", p.base_model);
  const r = p.personalization;
  if (r) add("personal", `${r.adapted} from ${r.recordings} labelled recordings (${r.falls} falls, ${r.windows} windows) on ${r.date}, threshold ${r.threshold.toFixed(3)}; ${r.why}`);
}

export function useModel(bytes, label) {
  const d = (app.gpu || app.fk).Detector.load(bytes);
  app.detector = d; app.modelBytes = bytes;
  $("model-desc").textContent = label + " — " + d.description;
  showModel(d);
}

function restorePersonal() {
  const kept = keptPersonal();
  if (!kept) return;
  try {
    useModel(kept, "personal model (kept in this browser)");
    $("download-personal").disabled = false; $("reset-personal").disabled = false;
  } catch (e) { forgetPersonal(); showError("the kept personal model could not be loaded and was removed: " + (e.message || e)); }
}

export async function start(bindings) {
  if (app.fk) return;
  app.fk = bindings;
  try {
    const params = new URLSearchParams(location.search);
    if (params.has("cpu")) $("prefer-gpu").checked = false;
    $("prefer-gpu").onchange = () => { location.search = $("prefer-gpu").checked ? "" : "?cpu"; };
    // The CPU backend first: the page answers as soon as the small bundle is loaded.
    $("backend").textContent = await app.fk.init_backend(false);
    app.detector = app.fk.Detector.load_default();
    $("model-desc").textContent = "default student — " + app.detector.description;
    showModel(app.detector);
    restorePersonal();
    $("backend").dataset.ready = "1";
    if ($("prefer-gpu").checked) upgradeToWebGpu(); else $("backend").dataset.final = "1";
  } catch (e) { showError(e); }
}

// WebGPU when the browser offers an adapter: the bundle with burn's WebGPU backend is fetched in the
// background (unless the loaded one has it, as under `trunk serve`), the model loaded on it and
// warmed with one window (the shaders compile then, not on the user's first window), and the next
// analysis runs there. Until then, and if anything fails, the CPU backend answers.
async function upgradeToWebGpu() {
  const shown = $("backend");
  try {
    if (!navigator.gpu || !(await navigator.gpu.requestAdapter())) { shown.textContent = "cpu (this browser offers no WebGPU adapter)"; return; }
    shown.textContent = "cpu (loading WebGPU…)";
    let mod = app.fk;
    if (!app.fk.has_webgpu()) {
      mod = await import("../fallkd-web.js");
      await mod.default({ module_or_path: "./fallkd-web_bg.wasm" });
    }
    const name = await mod.init_webgpu();
    if (name !== "webgpu") { shown.textContent = name; return; }
    // The model in use, loaded again on WebGPU; if another is uploaded meanwhile, that one.
    let bytes, d;
    do {
      bytes = app.modelBytes;
      d = bytes ? mod.Detector.load(bytes) : mod.Detector.load_default();
      await d.warm();
    } while (app.modelBytes !== bytes);
    app.gpu = mod; app.detector = d; shown.textContent = "webgpu";
  } catch (e) {
    // Later uploads go to the CPU again (in a one-bundle page init_webgpu had switched them).
    try { app.fk.use_cpu(); } catch (_) {}
    shown.textContent = "cpu (WebGPU failed: " + (e.message || e) + ")";
  }
  finally { shown.dataset.final = "1"; }
}

$("model-file").onchange = async (ev) => {
  const f = ev.target.files[0]; if (!f) return;
  try {
    const bytes = new Uint8Array(await f.arrayBuffer());
    const d = (app.gpu || app.fk).Detector.load(bytes);
    app.detector = d; app.modelBytes = bytes; app.baseBytes = bytes; showError("");
    $("model-desc").textContent = f.name + " — " + d.description;
    showModel(d);
  } catch (e) { showError(f.name + ": " + (e.message || e)); }
};
