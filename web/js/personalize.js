// Personalisation: the wearer labels recordings, the page fine-tunes the model in the browser (core's
// personalize), keeps the personal model, downloads it, and resets to the base model.

import { $, app, showError } from "./state.js";
import { keepPersonal, forgetPersonal, keptLabels, keepLabels } from "./storage.js";
import { showModel, useModel } from "./model.js";

// Personalisation: the labelled recordings (kept in this browser across visits, until forgotten),
// the personal model in localStorage.
export const labelled = [];

// The labels of earlier visits, once at start (before any save, so that none is lost).
const restored = keptLabels().then((kept) => { labelled.unshift(...kept); showLabelled(); return kept.length; }, () => 0);
window.labelsRestored = restored;

// Keeps the labelled recordings in this browser; says so when storage refuses them.
function saveLabels() {
  restored.then(() => keepLabels(labelled)).then(() => { window.labelsSaved = labelled.length; },
    (e) => showError("the labelled recordings could not be kept in this browser (they stay for this visit): " + (e.message || e)));
}

// A labelled recording from elsewhere in the page (live mode's log, the guided calibration).
export function addLabelled(r) { labelled.push(r); saveLabels(); showLabelled(); }

export function showLabelled() {
  const ul = $("labelled"); ul.replaceChildren();
  for (const r of labelled) { const li = document.createElement("li"); li.textContent = `${r.accName}: ${r.fall ? "a fall" : "not a fall"}`; ul.append(li); }
  const falls = labelled.filter((r) => r.fall).length;
  $("label-count").textContent = labelled.length ? `${labelled.length} labelled recordings (${falls} falls)` : "no labelled recordings yet";
}

function label(fall) {
  if (!app.input) { showError("analyse a recording first, then label it"); return; }
  if (!labelled.some((r) => r.accName === app.input.accName && r.acc.length === app.input.acc.length)) labelled.push({ ...app.input, fall });
  else labelled.find((r) => r.accName === app.input.accName && r.acc.length === app.input.acc.length).fall = fall;
  showError(""); saveLabels(); showLabelled();
}
$("label-adl").onclick = () => label(false);
$("label-fall").onclick = () => label(true);
$("forget-labels").onclick = () => { labelled.length = 0; saveLabels(); showLabelled(); };

$("personalize").onclick = async () => {
  if (app.busy || !app.fk) return;
  let drawing = false;
  app.busy = true; showError(""); $("personalize").disabled = true; $("personalize").textContent = "Personalising…";
  try {
    await new Promise((r) => setTimeout(r, 0));
    const t0 = performance.now();
    const base = app.baseBytes || app.fk.default_model();
    // The progress bar, and a count of the frames the page drew meanwhile (kept for the
    // end-to-end test: the page stays responsive while it adapts).
    const bar = $("personal-progress"), step = $("personal-step");
    const seen = window.personalizeProgress = [];
    let frames = 0;
    drawing = true;
    const draw = () => { if (drawing) { frames++; requestAnimationFrame(draw); } };
    requestAnimationFrame(draw);
    bar.hidden = false; bar.value = 0;
    const stages = { reading: "reading the labelled recordings", adapting: "adapting and checking itself" };
    const out = await app.fk.personalize(base, labelled.map((r) => r.acc), labelled.map((r) => r.accName),
      labelled.map((r) => r.gyro || null), labelled.map((r) => r.gyroName || ""),
      Uint8Array.from(labelled.map((r) => r.fall ? 1 : 0)), "auto", new Date().toISOString(),
      (stage, done, of) => {
        seen.push([stage, done, of]);
        bar.max = of; bar.value = done;
        step.textContent = `${stages[stage] || stage}: ${done} of ${of}`;
      });
    window.personalizeFrames = frames;
    const rep = JSON.parse(out.report);
    // Kept for the measurement scripts (scripts/e2e.py prints it).
    window.lastPersonalizeMs = performance.now() - t0;
    $("personal-report").textContent = `${rep.used ? "Personal model in use" : "Base model kept"}: ${rep.adapted} from ${rep.recordings} labelled recordings (${rep.falls} falls${rep.replayed && rep.used ? `; ${rep.replayed} fall windows shipped with the model joined in, so that it keeps catching falls` : ""}), threshold ${rep.threshold.toFixed(3)}; ${rep.why} (${(window.lastPersonalizeMs / 1000).toFixed(1)} s in this browser).`;
    if (rep.used) {
      useModel(out.bytes, "personal model");
      keepPersonal(out.bytes);
      $("download-personal").disabled = false; $("reset-personal").disabled = false;
    }
  } catch (e) { showError(e); }
  finally { drawing = false; $("personal-progress").hidden = true; $("personal-step").textContent = ""; app.busy = false; $("personalize").disabled = false; $("personalize").textContent = "Personalise"; }
};

$("download-personal").onclick = () => {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([app.modelBytes], { type: "application/octet-stream" }));
  a.download = "personal.fallkd"; a.click(); URL.revokeObjectURL(a.href);
};

$("reset-personal").onclick = () => {
  forgetPersonal();
  try {
    if (app.baseBytes) useModel(app.baseBytes, "your model");
    else { app.detector = (app.gpu || app.fk).Detector.load_default(); app.modelBytes = null; $("model-desc").textContent = "default student — " + app.detector.description; showModel(app.detector); }
    $("personal-report").textContent = "Back to the base model.";
    $("download-personal").disabled = true; $("reset-personal").disabled = true;
  } catch (e) { showError(e); }
};
