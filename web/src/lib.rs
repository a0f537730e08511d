//! fallkd in the browser. JavaScript calls (see `index.html`):
//!
//! - `init_backend(prefer_gpu)`: picks WebGPU when the browser gives an adapter, else the CPU
//!   backend (burn-flex); the choice is cached, and later `Detector.load` calls use it.
//! - `has_webgpu()`: whether this bundle holds burn's WebGPU backend. The page loads a CPU-only
//!   bundle first (built without the `webgpu` feature: a fraction of the size) and, when the
//!   browser offers an adapter, the full bundle in the background (scripts/build-page.sh).
//! - `init_webgpu()`: switches the cached choice to WebGPU (initialised once per page: wgpu can
//!   be initialised only once) when an adapter exists; resolves to the backend's name.
//! - `use_cpu()`: back to the CPU backend for later loads (a failed upgrade).
//! - `detector.warm()`: runs one window, so that the first user window does not pay for the
//!   WebGPU shader compilation.
//! - `Detector.load_default()` / `Detector.load(bytes)`: the bundled distilled student or a user's
//!   exported `.fallkd` file; a wrong or corrupt file is a clear error.
//! - `detector.analyze(acc, acc_name, gyro, gyro_name, units, stress_kind, severity, seed,
//!   on_progress)`: parses the watch CSV (with `units` as JSON, `{"acc": "g", "gyro": null}`;
//!   empty: detected; a file holding both sensors gives the gyroscope too) with the same
//!   `fallkd-core` code as the CLI (a chunk of lines at a
//!   time, yielding to the page between chunks; on the CPU backend once about 40 ms have passed),
//!   windows it, runs the student on the clean and
//!   (optionally) perturbed events a batch at a time, calling `on_progress(done, total, phase,
//!   file)` as it goes (`parsing`: bytes of `file`; `scoring`: windows), and returns
//!   probabilities, alarms, signals, attention.
//! - `detector.predict_window(events, timestamps)`: the window ending at the newest event of a
//!   live buffer of `detector.buffer_seconds`, or `detector.delay_seconds` before it (live sensor
//!   mode).
//! - `sample_recording(activity, seed)`: a generated recording (not SmartFallMM data).
#![cfg(target_arch = "wasm32")]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use serde::Serialize;

use burn::tensor::Device;
use fallkd_core::Error as CoreError;
use fallkd_core::batch::EventWindow;
use fallkd_core::data::units::Units;
use fallkd_core::inference::{
    Analysis, Detector as CoreDetector, Pause, Progress, Stress, analyze_with_progress,
    predict_live,
};
use fallkd_core::perturb::Perturbation;
use fallkd_core::synth::{SynthConfig, generate};
use wasm_bindgen::prelude::*;

/// The largest watch file the page and the CLI take, in bytes (`fallkd_core::inference::MAX_FILE_BYTES`):
/// the page checks it before reading a file into memory.
#[wasm_bindgen]
pub fn max_file_bytes() -> f64 {
    fallkd_core::inference::MAX_FILE_BYTES as f64
}

/// Windows whose attention the page gets (those around the most probable window): its heat map
/// has one row per window and 180 pixels.
pub const ATTENTION_ROWS: usize = 600;

/// The default student shipped with the page.
pub const DEFAULT_MODEL: &[u8] = include_bytes!("../assets/student.fallkd");

thread_local! {
    static BACKEND: RefCell<Option<(Device, String)>> = const { RefCell::new(None) };
}

/// `object[name]`, unless it is missing, undefined or null.
fn property(object: &JsValue, name: &str) -> Option<JsValue> {
    js_sys::Reflect::get(object, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// A property of the global object (`window` on a page, `self` in a worker).
fn global(name: &str) -> Option<JsValue> {
    property(&js_sys::global(), name)
}

fn now_ms() -> f64 {
    global("performance")
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// Resolves on the event loop's next turn (a zero-delay timer), so that a long computation on
/// the CPU backend lets the page repaint and answer between batches.
fn next_turn() -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async {
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            let timer = global("setTimeout").and_then(|f| f.dyn_into::<js_sys::Function>().ok());
            let scheduled = timer
                .map(|f| {
                    f.call2(&js_sys::global(), &resolve, &JsValue::from(0))
                        .is_ok()
                })
                .unwrap_or(false);
            if !scheduled {
                let _ = resolve.call0(&JsValue::NULL);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    })
}

/// How long, in milliseconds, the CPU backend computes between yields to the event loop (checked
/// between steps, so a stretch runs this plus one step: a chunk of parsed lines or a batch of 8
/// windows); chosen under the 50 ms a task may take before browsers count it as a long task.
const SLICE_MS: f64 = 40.0;

/// The CPU backend's pause hook: yields ([`next_turn`]) once [`SLICE_MS`] have passed since the
/// last yield and returns at once before that. Yielding after every batch had the page wait out a
/// zero-delay timer per batch, which browsers clamp to 4 ms once timers nest five deep (the HTML
/// standard's timer rule): about 750 of them for a 21 MB recording.
fn sliced_pause() -> Pause {
    let last = Rc::new(Cell::new(now_ms()));
    Pause(Rc::new(move || {
        if now_ms() - last.get() < SLICE_MS {
            return Box::pin(std::future::ready(()));
        }
        let last = Rc::clone(&last);
        Box::pin(async move {
            next_turn().await;
            last.set(now_ms());
        })
    }))
}

fn err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// Chooses the backend once: WebGPU if `prefer_gpu` and an adapter exists, else CPU. Returns
/// its name (`webgpu` or `cpu`, with the reason for a fallback).
#[wasm_bindgen]
pub async fn init_backend(prefer_gpu: bool) -> String {
    console_error_panic_hook::set_once();
    if let Some(name) = BACKEND.with(|b| b.borrow().as_ref().map(|(_, n)| n.clone())) {
        return name;
    }
    if prefer_gpu {
        return init_webgpu().await;
    }
    BACKEND.with(|b| *b.borrow_mut() = Some((Device::flex(), "cpu".to_string())));
    "cpu".to_string()
}

#[cfg(feature = "webgpu")]
async fn webgpu_device() -> Result<Device, String> {
    Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| format!("{e:?}"))
}

#[cfg(not(feature = "webgpu"))]
async fn webgpu_device() -> Result<Device, String> {
    Err("this bundle is built without WebGPU".into())
}

/// Whether this bundle was built with burn's WebGPU backend (the `webgpu` feature).
#[wasm_bindgen]
pub fn has_webgpu() -> bool {
    cfg!(feature = "webgpu")
}

/// Makes WebGPU the backend of later `Detector.load` calls when this bundle has it and the
/// browser offers an adapter; resolves to `webgpu`, or to `cpu (reason)` with the CPU backend
/// kept.
#[wasm_bindgen]
pub async fn init_webgpu() -> String {
    console_error_panic_hook::set_once();
    let current = BACKEND.with(|b| b.borrow().clone());
    if let Some((_, name)) = &current
        && name == "webgpu"
    {
        return name.clone();
    }
    let reason = if !cfg!(feature = "webgpu") {
        "this bundle is built without WebGPU".to_string()
    } else if !gpu_adapter_available().await {
        "this browser offers no WebGPU adapter".to_string()
    } else {
        match webgpu_device().await {
            Ok(d) => {
                BACKEND.with(|b| *b.borrow_mut() = Some((d, "webgpu".to_string())));
                return "webgpu".to_string();
            }
            Err(e) => format!("WebGPU initialisation failed: {e}"),
        }
    };
    let name = format!("cpu ({reason})");
    if current.is_none() {
        // Nothing chosen yet: the CPU, under the name that says why.
        BACKEND.with(|b| *b.borrow_mut() = Some((Device::flex(), name.clone())));
    }
    name
}

/// Makes the CPU backend the one of later `Detector.load` calls again (the page calls it when the
/// WebGPU upgrade fails after [`init_webgpu`] switched).
#[wasm_bindgen]
pub fn use_cpu() {
    BACKEND.with(|b| *b.borrow_mut() = Some((Device::flex(), "cpu".to_string())));
}

/// `navigator.gpu.requestAdapter()` resolves to an adapter (not just: `navigator.gpu` exists).
async fn gpu_adapter_available() -> bool {
    let Some(gpu) = global("navigator").and_then(|n| property(&n, "gpu")) else {
        return false;
    };
    let Some(request) =
        property(&gpu, "requestAdapter").and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    else {
        return false;
    };
    let Ok(promise) = request.call0(&gpu) else {
        return false;
    };
    match wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise)).await {
        Ok(adapter) => !adapter.is_null() && !adapter.is_undefined(),
        Err(_) => false,
    }
}

/// The device chosen by [`init_backend`], if it ran.
pub fn backend_device() -> Option<Device> {
    BACKEND.with(|b| b.borrow().as_ref().map(|(d, _)| d.clone()))
}

fn device() -> Result<(Device, String), JsError> {
    BACKEND
        .with(|b| b.borrow().clone())
        .ok_or_else(|| JsError::new("call init_backend() before loading a model"))
}

/// A loaded student on the chosen backend. Methods that compute return Promises.
#[wasm_bindgen]
pub struct Detector {
    inner: Rc<CoreDetector>,
    backend: String,
    warm: Rc<Cell<bool>>,
}

/// The analysis as the page reads it: the per-window numbers as typed arrays (one copy each;
/// a day-long recording has tens of thousands of windows, and one JS object per window took
/// minutes to build through the bindings), the attention rows that were kept, and the rest as
/// plain values.
///
/// `{backend, latency_ms_per_window, threshold, alarms, events, gyro_missing, low_confidence,
/// notes, signal_t, signal_acc, signal_gyro, windows: {count, start_s, end_s, events, prob,
/// prob_perturbed (or null)}, attention_first, attention_rows}`
fn page_result(a: &Analysis, backend: &str, latency: f64) -> JsValue {
    let set = |o: &js_sys::Object, k: &str, v: &JsValue| {
        let _ = js_sys::Reflect::set(o, &k.into(), v);
    };
    let f64s = |v: Vec<f64>| JsValue::from(js_sys::Float64Array::from(&v[..]));
    let w = &a.windows;
    let windows = js_sys::Object::new();
    set(&windows, "count", &w.len().into());
    set(
        &windows,
        "start_s",
        &f64s(w.iter().map(|x| x.start_s).collect()),
    );
    set(
        &windows,
        "end_s",
        &f64s(w.iter().map(|x| x.end_s).collect()),
    );
    set(&windows, "prob", &f64s(w.iter().map(|x| x.prob).collect()));
    let events: Vec<u32> = w.iter().map(|x| x.events as u32).collect();
    set(
        &windows,
        "events",
        &js_sys::Uint32Array::from(&events[..]).into(),
    );
    let perturbed: Option<Vec<f64>> = w.iter().map(|x| x.prob_perturbed).collect();
    set(
        &windows,
        "prob_perturbed",
        &perturbed.map_or(JsValue::NULL, f64s),
    );
    let first = w.iter().position(|x| !x.attention.is_empty()).unwrap_or(0);
    let rows = js_sys::Array::new();
    for x in w.iter().skip(first).take_while(|x| !x.attention.is_empty()) {
        rows.push(&js_sys::Float32Array::from(&x.attention[..]));
    }
    let notes = js_sys::Array::new();
    for n in &a.notes {
        notes.push(&n.into());
    }
    let o = js_sys::Object::new();
    set(&o, "backend", &backend.into());
    set(&o, "latency_ms_per_window", &latency.into());
    set(&o, "threshold", &a.threshold.into());
    set(&o, "alarms", &f64s(a.alarms.clone()));
    set(&o, "events", &a.events.into());
    set(&o, "gyro_missing", &a.gyro_missing.into());
    set(&o, "low_confidence", &a.low_confidence.into());
    set(&o, "notes", &notes.into());
    set(&o, "signal_t", &f64s(a.signal_t.clone()));
    set(
        &o,
        "signal_acc",
        &js_sys::Float32Array::from(&a.signal_acc[..]).into(),
    );
    set(
        &o,
        "signal_gyro",
        &js_sys::Float32Array::from(&a.signal_gyro[..]).into(),
    );
    set(&o, "windows", &windows.into());
    set(&o, "attention_first", &first.into());
    set(&o, "attention_rows", &rows.into());
    o.into()
}

async fn warm_up(inner: &CoreDetector, warm: &Cell<bool>) -> Result<(), CoreError> {
    if warm.get() {
        return Ok(());
    }
    let w = EventWindow {
        events: (0..64)
            .map(|i| [0.1 * i as f32, 9.8, 0.0, 0.0, 0.0, 0.0])
            .collect(),
        timestamps: (0..64).map(|i| i as f64 * 0.03).collect(),
        context: None,
    };
    inner.run(&[w]).await?;
    warm.set(true);
    Ok(())
}

#[wasm_bindgen]
impl Detector {
    /// The bundled default student.
    pub fn load_default() -> Result<Detector, JsError> {
        Detector::load(DEFAULT_MODEL)
    }

    /// A user's exported student (`fallkd export`).
    pub fn load(bytes: &[u8]) -> Result<Detector, JsError> {
        let (device, backend) = device()?;
        let mut inner = CoreDetector::from_bytes(bytes, &device).map_err(err)?;
        inner.pause = Some(if backend.starts_with("webgpu") {
            Pause(Rc::new(next_turn))
        } else {
            // Short synchronous steps on the CPU backend, and a yield every few of them; see
            // `sliced_pause`.
            inner.batch_size = 8;
            sliced_pause()
        });
        Ok(Detector {
            inner: Rc::new(inner),
            backend,
            warm: Rc::new(Cell::new(false)),
        })
    }

    /// Runs one window (once per detector), so that the first user window does not pay for the
    /// backend's start-up (WebGPU compiles its shaders then); `analyze` calls it too.
    pub fn warm(&self) -> js_sys::Promise {
        let (inner, warm) = (self.inner.clone(), self.warm.clone());
        wasm_bindgen_futures::future_to_promise(async move {
            warm_up(&inner, &warm)
                .await
                .map(|()| JsValue::UNDEFINED)
                .map_err(|e| JsValue::from(err(e)))
        })
    }

    /// Backend in use.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Provenance recorded at export.
    #[wasm_bindgen(getter)]
    pub fn description(&self) -> String {
        self.inner.header.description.clone()
    }

    /// The model file's format and checksum, in words (a format-1 file says it is unchecked).
    #[wasm_bindgen(getter)]
    pub fn file_check(&self) -> String {
        self.inner.header.file.describe()
    }

    /// Where the model comes from, as JSON (`null` for files written before provenance):
    /// run, data hash and subjects, configuration, commit, export date, threshold choice, the
    /// figures that chose it.
    #[wasm_bindgen(getter)]
    pub fn provenance_json(&self) -> String {
        serde_json::to_string(&self.inner.header.provenance).unwrap_or_else(|_| "null".into())
    }

    /// Decision threshold of the model's alarm logic.
    #[wasm_bindgen(getter)]
    pub fn threshold(&self) -> f64 {
        self.inner.header.alarm_config().threshold
    }

    /// Window length in seconds.
    #[wasm_bindgen(getter)]
    pub fn window_seconds(&self) -> f64 {
        self.inner.header.window_seconds
    }

    /// Seconds between the windows of an uploaded recording (the window's length times
    /// `window.eval_stride`): live mode scores windows this far apart on the sensor clock, so that
    /// its alarm logic (k of n windows) counts windows as an upload's and `fallkd predict`'s does.
    #[wasm_bindgen(getter)]
    pub fn stride_seconds(&self) -> f64 {
        self.inner.header.window_seconds * self.inner.header.window_config().eval_stride
    }

    /// Seconds of a live stream `predict_window` needs: the window, or the longer stretch its
    /// window features are computed over (`window.feature_context_s`), or the window and the
    /// seconds its context reaches past it (`window.feature_context_ahead_s`).
    #[wasm_bindgen(getter)]
    pub fn buffer_seconds(&self) -> f64 {
        self.inner
            .header
            .window_config()
            .live_span_s(self.inner.header.window_seconds)
    }

    /// Seconds between the end of the window live mode scores and the newest event: how far
    /// the window features' context reaches past the window (`window.feature_context_ahead_s`;
    /// 0 without it). An alarm comes this much after the window that raised it.
    #[wasm_bindgen(getter)]
    pub fn delay_seconds(&self) -> f64 {
        self.inner.header.window_config().context_ahead_s()
    }

    /// Analyses an uploaded recording; `stress_kind` is `none` or jitter/dropout/burst/warp;
    /// `on_progress(done, total, phase, file)`, when given, is called after each chunk of a file's
    /// lines (`phase` "parsing", bytes of `file`) and after each batch of windows ("scoring").
    /// Resolves to the analysis (see `page_result`: the per-window numbers as typed arrays) with
    /// `backend` and `latency_ms_per_window` (measured after a warm-up window). Attention is kept
    /// for the [`ATTENTION_ROWS`] windows around the most probable one.
    #[allow(clippy::too_many_arguments)]
    pub fn analyze(
        &self,
        acc: Vec<u8>,
        acc_name: String,
        gyro: Option<Vec<u8>>,
        gyro_name: String,
        units: String,
        stress_kind: String,
        severity: f64,
        seed: u64,
        on_progress: Option<js_sys::Function>,
    ) -> js_sys::Promise {
        let (inner, warm, backend) = (self.inner.clone(), self.warm.clone(), self.backend.clone());
        wasm_bindgen_futures::future_to_promise(async move {
            let fail = |e: &dyn std::fmt::Display| JsValue::from(err(e));
            warm_up(&inner, &warm).await.map_err(|e| fail(&e))?;
            let stress = if stress_kind == "none" {
                None
            } else {
                Some(Stress {
                    perturbation: Perturbation::at_severity(&stress_kind, severity)
                        .map_err(|e| fail(&e))?,
                    seed,
                })
            };
            let units = parse_units(&units).map_err(|e| fail(&e))?;
            let t0 = now_ms();
            let progress = |p: Progress| {
                if let Some(f) = &on_progress {
                    let (phase, file, done, total) = match p {
                        Progress::Parsing { file, done, total } => ("parsing", file, done, total),
                        Progress::Scoring { done, total } => ("scoring", "", done, total),
                    };
                    let args = js_sys::Array::of4(
                        &done.into(),
                        &total.into(),
                        &phase.into(),
                        &file.into(),
                    );
                    let _ = f.apply(&JsValue::NULL, &args);
                }
            };
            let mut result = analyze_with_progress(
                &inner,
                (
                    (&acc_name, &acc),
                    gyro.as_deref().map(|g| (gyro_name.as_str(), g)),
                    units,
                ),
                stress,
                &progress,
            )
            .await
            .map_err(|e| fail(&e))?;
            drop((acc, gyro));
            result.keep_attention_near_peak(ATTENTION_ROWS);
            let elapsed = now_ms() - t0;
            let passes = if stress.is_some() { 2.0 } else { 1.0 };
            let latency = elapsed / (passes * result.windows.len().max(1) as f64);
            Ok(page_result(&result, &backend, latency))
        })
    }

    /// Fall probability of the window ending at the newest event, or `delay_seconds` before it
    /// (cut as the model's windowing cuts it: `window_seconds`, thinned; the window features
    /// over their context when the model has one): `events` holds n x 6 values (acc xyz m/s^2,
    /// gyro xyz rad/s) of the last `buffer_seconds`, `timestamps` n seconds (any order; sorted
    /// here).
    pub fn predict_window(&self, events: Vec<f32>, timestamps: Vec<f64>) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            predict_live(&inner, &events, &timestamps)
                .await
                .map(JsValue::from)
                .map_err(|e| JsValue::from(err(e)))
        })
    }

    /// The share of training windows the model saw with its gyroscope zeroed (0: it was trained
    /// always with one, and is less reliable without).
    #[wasm_bindgen(getter)]
    pub fn gyro_dropout(&self) -> f64 {
        self.inner.header.gyro_dropout
    }

    /// The alarms (the start times of the windows that raised them) of the model's alarm logic
    /// over windows `(start_s[i], end_s[i], prob[i])` at `threshold` in place of the model's:
    /// the page's sensitivity control.
    pub fn alarms_at(
        &self,
        threshold: f64,
        start_s: Vec<f64>,
        end_s: Vec<f64>,
        prob: Vec<f64>,
    ) -> Result<Vec<f64>, JsError> {
        let mut cfg = self.inner.header.alarm_config();
        cfg.threshold = threshold;
        cfg.validate().map_err(err)?;
        if start_s.len() != end_s.len() || end_s.len() != prob.len() {
            return Err(JsError::new(
                "start_s, end_s and prob must be as long as each other",
            ));
        }
        let spans: Vec<(f64, f64, f64)> = (0..prob.len())
            .map(|i| (start_s[i], end_s[i], prob[i]))
            .collect();
        Ok(fallkd_core::alarm::alarms(&spans, &cfg)
            .iter()
            .map(|a| start_s[a.window])
            .collect())
    }

    /// A fresh [`LiveAlarm`] with the model's alarm logic (threshold, k of n, refractory), for
    /// live mode: the same decisions as the alarms of an uploaded recording and `fallkd predict`.
    pub fn live_alarm(&self) -> LiveAlarm {
        LiveAlarm(fallkd_core::alarm::LiveAlarm::new(
            self.inner.header.alarm_config(),
        ))
    }
}

/// The alarm logic over live windows (core's `alarm::LiveAlarm`): feed it each scored window.
#[wasm_bindgen]
pub struct LiveAlarm(fallkd_core::alarm::LiveAlarm);

#[wasm_bindgen]
impl LiveAlarm {
    /// The next window, ending at `end_s` seconds (the sensor clock) with fall probability
    /// `prob`: whether it raises an alarm (the vote met, outside the refractory period).
    pub fn push(&mut self, end_s: f64, prob: f64) -> bool {
        self.0.push(end_s, prob).is_some()
    }

    /// The threshold a window votes at.
    #[wasm_bindgen(getter)]
    pub fn threshold(&self) -> f64 {
        self.0.config().threshold
    }

    /// The alarm logic in words: "k of n windows, r s apart".
    #[wasm_bindgen(getter)]
    pub fn rule(&self) -> String {
        let c = self.0.config();
        format!(
            "{} of {} windows at or above {:.3}, then {} s before another alarm",
            c.k, c.n, c.threshold, c.refractory_s
        )
    }
}

/// Adapts a model to its wearer (core's `personalize_files`, what `fallkd personalize` runs):
/// `base` the model file's bytes; per labelled recording its accelerometer file (`accs[i]`, a
/// `Uint8Array`, named `acc_names[i]`), its gyroscope file (`gyros[i]`, a `Uint8Array` or null,
/// named `gyro_names[i]`) and `falls[i]` (1 for a fall); `adapt` is `auto`, `threshold` or `head`;
/// `date` goes into the provenance; `progress`, if given, is called as `progress(stage, done,
/// of)` after each step (`reading` each labelled recording, then `adapting`: each fold of the
/// check and the final fit), and the page's event loop gets a turn after a step or an Adam step
/// once 40 ms have passed since the last, so that it can show the progress and stay responsive
/// (reading one long recording is one step). Resolves to `{bytes, report}`: the personal
/// model file (load it with `Detector.load`) and what was done, as JSON (`adapted`,
/// `recordings`, `falls`, `windows`, `threshold`, `base_errors`, `personal_errors`, `used`,
/// `why`, `date`, `replayed`). Runs on the CPU backend (burn's autodiff); nothing leaves the
/// page.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen]
pub async fn personalize(
    base: Vec<u8>,
    accs: js_sys::Array,
    acc_names: Vec<String>,
    gyros: js_sys::Array,
    gyro_names: Vec<String>,
    falls: Vec<u8>,
    adapt: String,
    date: String,
    progress: Option<js_sys::Function>,
) -> Result<JsValue, JsError> {
    use fallkd_core::personalize::{
        Adapt, LabelledFiles, PersonalizeConfig, Progress, personalize_files_with,
    };
    let n = falls.len();
    if accs.length() as usize != n
        || acc_names.len() != n
        || gyros.length() as usize != n
        || gyro_names.len() != n
    {
        return Err(JsError::new(
            "personalize: one accelerometer file, gyroscope entry, name and label per recording",
        ));
    }
    let bytes = |v: JsValue| {
        (!v.is_null() && !v.is_undefined()).then(|| js_sys::Uint8Array::new(&v).to_vec())
    };
    let acc: Vec<Vec<u8>> = (0..n)
        .map(|i| bytes(accs.get(i as u32)).unwrap_or_default())
        .collect();
    let gyro: Vec<Option<Vec<u8>>> = (0..n).map(|i| bytes(gyros.get(i as u32))).collect();
    let files: Vec<LabelledFiles> = (0..n)
        .map(|i| LabelledFiles {
            acc: (acc_names[i].as_str(), acc[i].as_slice()),
            gyro: gyro[i].as_deref().map(|g| (gyro_names[i].as_str(), g)),
            fall: falls[i] != 0,
        })
        .collect();
    let adapt = match adapt.as_str() {
        "auto" | "" => Adapt::Auto,
        "threshold" => Adapt::Threshold,
        "head" => Adapt::Head,
        other => {
            return Err(JsError::new(&format!(
                "adapt '{other}': expected auto, threshold or head"
            )));
        }
    };
    let cfg = PersonalizeConfig {
        adapt,
        ..Default::default()
    };
    let progress = Progress {
        report: progress.map(|f| {
            Rc::new(move |stage: &str, done: usize, of: usize| {
                let _ = f.call3(
                    &JsValue::NULL,
                    &stage.into(),
                    &JsValue::from(done as u32),
                    &JsValue::from(of as u32),
                );
            }) as fallkd_core::personalize::StepReport
        }),
        pause: Some(sliced_pause()),
    };
    let (model, report) = personalize_files_with(&base, &files, &cfg, &date, &progress)
        .await
        .map_err(err)?;
    let out = js_sys::Object::new();
    let _ = js_sys::Reflect::set(
        &out,
        &"bytes".into(),
        &js_sys::Uint8Array::from(&model[..]).into(),
    );
    let _ = js_sys::Reflect::set(
        &out,
        &"report".into(),
        &serde_json::to_string(&report).map_err(err)?.into(),
    );
    Ok(out.into())
}

/// Live mode's note when the motion looks like a phone in a trouser pocket rather than a watch
/// on the wrist (core's `wear`), or `undefined`: read from the last 10 s of `events` (6 channels
/// each, accelerometer first, as live mode buffers them) at `timestamps` (seconds).
#[wasm_bindgen]
pub fn pocket_note(events: &[f32], timestamps: &[f64]) -> Option<String> {
    use fallkd_core::wear::{PocketRule, pocket_note};
    let n = timestamps.len().min(events.len() / 6);
    let end = *timestamps[..n].last()?;
    let from = timestamps[..n].partition_point(|&t| t < end - 10.0);
    let acc: Vec<[f32; 3]> = (from..n)
        .map(|i| [events[6 * i], events[6 * i + 1], events[6 * i + 2]])
        .collect();
    pocket_note(&acc, &timestamps[from..n], &PocketRule::default())
}

/// The bundled default student's file (the base a personal model adapts when no other model was
/// loaded).
#[wasm_bindgen]
pub fn default_model() -> Vec<u8> {
    DEFAULT_MODEL.to_vec()
}

/// A generated recording of `activity` (1-14): `{name, accelerometer, gyroscope}` CSV text.
#[wasm_bindgen]
pub fn sample_recording(activity: u16, seed: u64) -> Result<JsValue, JsError> {
    if !(1..=14).contains(&activity) {
        return Err(JsError::new("activity must be 1-14"));
    }
    let files = generate(&SynthConfig {
        subjects: 1,
        trials: 1,
        seed,
        subject_without_gyro: false,
    });
    let name = format!("S01A{activity:02}T01.csv");
    let pick = |folder: &str| {
        files
            .iter()
            .find(|(p, _)| p == &format!("young/{folder}/{name}"))
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    };
    let v = serde_json::json!({ "name": name, "accelerometer": pick("accelerometer/watch"), "gyroscope": pick("gyroscope/watch") });
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(err)
}

/// The units the page's choices give, as JSON (`{"acc": "g" | "m/s^2" | null, "gyro": "rad/s" |
/// "deg/s" | null}`; empty: both detected), as `fallkd predict --acc-unit/--gyro-unit` take them.
fn parse_units(json: &str) -> Result<Units, String> {
    if json.trim().is_empty() {
        return Ok(Units::default());
    }
    serde_json::from_str(json).map_err(|e| format!("units {json}: {e}"))
}
