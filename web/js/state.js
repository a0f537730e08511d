// What the page's modules share: the element lookup, the loaded bindings and model, the input and
// the last result, and the error line.

export const $ = (id) => document.getElementById(id);

// fk: the bindings of the loaded bundle (CPU first); gpu: those of the WebGPU bundle once it runs;
// detector: the model in use; modelBytes: its file (null for the default); baseBytes: the model a
// personal one adapts (an uploaded one, else null for the default); input: the recording to score;
// busy: an analysis or a personalisation is running; lastResult: the last analysis shown.
export const app = {
  fk: null, gpu: null, detector: null, modelBytes: null, baseBytes: null,
  input: null, busy: false, lastResult: null,
};

export function showError(e) { $("error").textContent = e ? String(e.message || e) : ""; }
