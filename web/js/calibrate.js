// The guided calibration (issue #33): on the device the wearer wears, the page asks for everyday
// movements one at a time and records each as a recording labelled "not a fall", then a practice
// fall onto a mattress where that is safe (skipped otherwise), labelled "a fall". The recordings
// join the labelled ones; "Personalise" then adapts the model to them.

import { $, app } from "./state.js";
import { addLabelled } from "./personalize.js";
import { listen, motionPermission, recordingCsv } from "./sensors.js";

// What to do, and whether it is a fall.
const STEPS = [
  ["Sit down on a chair and stay seated", false],
  ["Stand up and stay standing", false],
  ["Walk around the room", false],
  ["Reach up for something high, then down for something low", false],
  ["Clap your hands a few times", false],
  ["Put your arm down firmly on a table", false],
  ["Only where it is safe, on a mattress: fall onto it as in a real fall. Otherwise press Skip", true],
];

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
let run = null;   // { stop: bool, skip: bool } while a calibration runs

// Waits `seconds`, showing what is left, unless the step is skipped or the calibration stopped.
async function countdown(text, seconds) {
  for (let left = seconds; left > 0; left -= 1) {
    if (run.stop || run.skip) return false;
    $("calib-status").textContent = `${text}: ${left} s`;
    await sleep(Math.min(1, left));
  }
  return !(run.stop || run.skip);
}

async function calibrate() {
  const refused = await motionPermission();
  if (refused) { $("calib-status").textContent = refused; return; }
  const seconds = Math.min(60, Math.max(1, Math.round(+$("calib-seconds").value) || 10));
  let added = 0;
  run = { stop: false, skip: false };
  $("calibrate").textContent = "Stop the calibration"; $("calib-skip").disabled = false;
  try {
    for (const [i, [what, fall]] of STEPS.entries()) {
      if (run.stop) break;
      run.skip = false;
      $("calib-prompt").textContent = `Step ${i + 1} of ${STEPS.length}: ${what}`;
      if (!(await countdown("Get ready", Math.min(3, seconds)))) continue;
      const sensors = listen();
      const done = await countdown("Recording", seconds);
      sensors.stop();
      if (!done) continue;
      if (sensors.ts.length < 16) { $("calib-status").textContent = "No motion events arrived: this device has no motion sensors, or the page may not read them (phones need HTTPS)."; break; }
      const slug = what.split(/[ ,.:]/)[0].toLowerCase();
      addLabelled({ acc: new TextEncoder().encode(recordingCsv(sensors.ev, sensors.ts)), accName: `calibration-${i + 1}-${slug}.csv`, gyro: null, gyroName: "", fall });
      added += 1;
    }
  } finally {
    const stopped = run.stop;
    run = null;
    $("calibrate").textContent = "Start guided calibration"; $("calib-skip").disabled = true;
    $("calib-prompt").textContent = stopped ? "Calibration stopped." : "Calibration done.";
    if (!$("calib-status").textContent.startsWith("No motion")) $("calib-status").textContent = `${added} recordings labelled; press Personalise to adapt the model to them.`;
  }
}

$("calibrate").onclick = () => { if (run) run.stop = true; else if (app.detector) calibrate(); };
$("calib-skip").onclick = () => { if (run) run.skip = true; };
