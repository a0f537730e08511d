// The page's entry: its modules (one job each) and the start once the wasm bindings are loaded (the
// loader trunk injects, or scripts/build-page.sh's, sets window.wasmBindings and sends
// TrunkApplicationStarted).

import { start } from "./model.js";
import "./input.js";
import "./scoring.js";
import "./personalize.js";
import "./live.js";
import "./calibrate.js";
import "./offline.js";

addEventListener("TrunkApplicationStarted", () => start(window.wasmBindings));
if (window.wasmBindings) start(window.wasmBindings);
