// The recording to score: uploaded files (checked against the core's size cap before reading) or a
// generated sample.

import { $, app, showError } from "./state.js";

export async function readInput() {
  const a = $("acc-file").files[0];
  if (a) {
    const g = $("gyro-file").files[0];
    // The cap of the core (MAX_FILE_BYTES), checked before a file is read into memory at all.
    const cap = app.fk.max_file_bytes();
    for (const f of [a, g]) if (f && f.size > cap)
      throw new Error(`${f.name}: ${(f.size / 1048576).toFixed(1)} MiB is over the ${cap / 1048576} MiB a watch file may have (about a day and a half at 40 Hz); split the recording into parts`);
    $("analyze").textContent = `Reading ${((a.size + (g ? g.size : 0)) / 1048576).toFixed(1)} MiB…`;
    app.input = { accName: a.name, acc: new Uint8Array(await a.arrayBuffer()),
              gyroName: g ? g.name : "", gyro: g ? new Uint8Array(await g.arrayBuffer()) : undefined };
  }
  return app.input;
}
$("acc-file").onchange = () => { app.input = null; $("input-name").textContent = ""; };

$("load-sample").onclick = () => {
  try {
    const s = app.fk.sample_recording(Number($("sample").value), 7n);
    const enc = new TextEncoder();
    app.input = { accName: s.name, acc: enc.encode(s.accelerometer), gyroName: s.name, gyro: enc.encode(s.gyroscope) };
    $("acc-file").value = ""; $("gyro-file").value = "";
    $("input-name").textContent = "generated " + s.name;
    showError("");
  } catch (e) { showError(e); }
};
