//! Inference on whole recordings, shared by the browser demo and native code: parse the watch
//! files, assemble, window, (optionally) perturb, and run an exported student over every window.
//! Tensor reads are async (`into_data_async`), as WebGPU requires; natively the futures are ready
//! at once.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use burn::tensor::{Device, Tensor, activation::sigmoid};
use serde::{Deserialize, Serialize};

use crate::alarm::alarms;
use crate::batch::{
    EventWindow, relative_times, student_batch, student_events, window_feature_row_in,
};
use crate::data::columns::Sensor;
use crate::data::imu_csv::{ImuParser, ImuRecording, parse_imu_csv, parse_imu_csv_for};
use crate::data::trial::{GyroPolicy, Skipped, Trial, TrialKey, assemble_trial};
use crate::data::units::Units;
use crate::data::window::{Purpose, WindowConfig, WindowLength, WindowPlan};
use crate::error::{DataError, Error};
use crate::model::{HostStudent, Student};
use crate::model_file::{ModelHeader, from_bytes};
use crate::perturb::Perturbation;

/// An exported student ready to run.
#[derive(Debug, Clone)]
pub struct Detector {
    /// The weights.
    pub model: Student,
    /// Architecture, statistics, threshold.
    pub header: ModelHeader,
    /// Where it runs.
    pub device: Device,
    /// Windows per forward pass (windows are zero-padded to the longest one in a batch).
    pub batch_size: usize,
    /// Awaited between batches. The browser sets it to yield to the page's event loop (on the CPU
    /// backend once about 40 ms have passed, on WebGPU after every batch), so that a long
    /// recording never blocks the page for long.
    pub pause: Option<Pause>,
    /// The host forward of a timestamp-aware student loaded on the CPU backend
    /// ([`HostStudent`]: the same arithmetic, one window at a time, without the tensor library's
    /// per-operation cost); `None` runs the tensor forward (other devices, the fixed-rate
    /// baseline, or a caller that clears it).
    pub host: Option<HostStudent>,
}

/// A future-returning hook awaited between batches and chunks of parsed lines (see
/// [`Detector::pause`](struct.Detector.html#structfield.pause)).
#[derive(Clone)]
pub struct Pause(pub Rc<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>>>);

impl std::fmt::Debug for Pause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pause(..)")
    }
}

/// A perturbation applied to every window before inference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stress {
    /// The perturbation.
    pub perturbation: Perturbation,
    /// Seed (window i uses `seed ^ i`).
    pub seed: u64,
}

/// Result of one window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WindowResult {
    /// Window start, seconds since the recording's first event.
    pub start_s: f64,
    /// Window end, seconds.
    pub end_s: f64,
    /// Events in the window.
    pub events: usize,
    /// Fall probability on the recorded events.
    pub prob: f64,
    /// Fall probability on the perturbed events, when a stress perturbation was given.
    pub prob_perturbed: Option<f64>,
    /// The student's temporal attention over its L tokens (clean input).
    pub attention: Vec<f32>,
}

/// Everything the page shows about one recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Analysis {
    /// Per-window results.
    pub windows: Vec<WindowResult>,
    /// Decision threshold (from the model file).
    pub threshold: f64,
    /// Start times of the windows that raised an alarm (clean input), by the model's alarm
    /// logic (`crate::alarm`: k of n windows at the threshold, refractory period).
    pub alarms: Vec<f64>,
    /// Event times (seconds, about 3,000 points at most: each plotted stretch of a long recording
    /// as its lowest and highest magnitudes) with accelerometer and gyroscope magnitude.
    pub signal_t: Vec<f64>,
    /// |acc| in m/s^2.
    pub signal_acc: Vec<f32>,
    /// |gyro| in rad/s.
    pub signal_gyro: Vec<f32>,
    /// Events after assembly.
    pub events: usize,
    /// The gyroscope was missing (zeros used).
    pub gyro_missing: bool,
    /// Repairs and notes, for the user.
    pub notes: Vec<String>,
    /// No window of the recording holds the events a window needs (too few, or too sparse):
    /// the probabilities come from less than the model was trained on (a note says why). A
    /// recording shorter than one window that holds them is scored as training scores it, and
    /// is not low-confidence.
    #[serde(default)]
    pub low_confidence: bool,
}

impl Analysis {
    /// Keeps the attention of at most `rows` windows, those centred on the most probable one,
    /// and empties the others: a page draws one row per window, and a day-long recording has
    /// tens of thousands of them (each row of 64 numbers).
    pub fn keep_attention_near_peak(&mut self, rows: usize) {
        let n = self.windows.len();
        if n <= rows {
            return;
        }
        let peak = self
            .windows
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.prob.total_cmp(&b.1.prob))
            .map_or(0, |(i, _)| i);
        let first = peak.saturating_sub(rows / 2).min(n - rows);
        for (i, w) in self.windows.iter_mut().enumerate() {
            if i < first || i >= first + rows {
                w.attention = Vec::new();
            }
        }
    }
}

impl Detector {
    /// Loads an exported student onto `device`.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Detector, Error> {
        let (header, model) = from_bytes(bytes, device)?;
        let host = match model.timestamp_aware() {
            Some(m) if *device == Device::flex() => Some(HostStudent::new(m)?),
            _ => None,
        };
        Ok(Detector {
            model,
            header,
            device: device.clone(),
            batch_size: 32,
            pause: None,
            host,
        })
    }

    /// Fall probabilities and attention of host windows, `batch_size` at a time.
    pub async fn run(&self, windows: &[EventWindow]) -> Result<Vec<(f64, Vec<f32>)>, Error> {
        let mut out = Vec::with_capacity(windows.len());
        for (k, chunk) in windows.chunks(self.batch_size.max(1)).enumerate() {
            if k > 0 {
                self.pause().await;
            }
            out.extend(self.run_batch(chunk).await?);
        }
        Ok(out)
    }

    /// Awaits the [`Detector::pause`] hook, if any.
    async fn pause(&self) {
        if let Some(Pause(pause)) = &self.pause {
            pause().await;
        }
    }

    /// Fall probabilities and attention of one batch of host windows, in one forward pass.
    async fn run_batch(&self, chunk: &[EventWindow]) -> Result<Vec<(f64, Vec<f32>)>, Error> {
        if let Some(host) = &self.host {
            return chunk.iter().map(|w| self.run_host(host, w)).collect();
        }
        let mut out = Vec::with_capacity(chunk.len());
        let refs: Vec<&EventWindow> = chunk.iter().collect();
        let labels = vec![false; chunk.len()];
        let b = student_batch(
            &refs,
            &labels,
            &self.header.stats,
            self.model.num_tokens(),
            &self.device,
        );
        let o = self.model.forward(&b);
        let [n, l] = o.attention.dims();
        let probs = read(sigmoid(o.logits)).await?;
        if probs.iter().any(|p| !p.is_finite()) {
            return Err(corrupt_weights());
        }
        let att = read(o.attention.reshape([n * l])).await?;
        for (i, p) in probs.iter().enumerate() {
            out.push((*p as f64, att[i * l..(i + 1) * l].to_vec()));
        }
        Ok(out)
    }
}

impl Detector {
    /// One window through the host forward, prepared as [`student_batch`] prepares it
    /// (normalised events, seconds from the window's first event, scaled window features).
    fn run_host(&self, host: &HostStudent, w: &EventWindow) -> Result<(f64, Vec<f32>), Error> {
        let stats = &self.header.stats;
        let events = student_events(w, stats);
        let ts = relative_times(w);
        let features = stats
            .features
            .as_ref()
            .map(|fs| fs.apply(&window_feature_row_in(w, stats.axes)));
        let (logit, attention) = host.forward(&events, &ts, features.as_deref())?;
        let p = 1.0 / (1.0 + (-logit).exp());
        if !p.is_finite() {
            return Err(corrupt_weights());
        }
        Ok((p as f64, attention))
    }
}

/// The error of a forward that gave a non-finite fall probability (either forward path).
fn corrupt_weights() -> Error {
    Error::Inference(
        "the model gave a non-finite fall probability: its weights are corrupt (export it again)"
            .into(),
    )
}

async fn read<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, Error> {
    let data = t
        .into_data_async()
        .await
        .map_err(|e| Error::Inference(format!("reading results from the device failed: {e:?}")))?;
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| Error::Inference(format!("unexpected result type: {e:?}")))
}

/// The note on a recording given without a gyroscope file (information, not a repair).
pub const NO_GYROSCOPE_FILE: &str = "no gyroscope file: gyroscope channels set to zero";

/// How the note begins that says a model trained with gyroscope dropout ran without a gyroscope
/// (information, not a repair).
pub const GYRO_DROPOUT_PATH: &str = "this model was trained with gyroscope dropout";

/// How the note ends on a recording shorter than one window that still holds a window's
/// events: information, not a reason to trust the result less (training cuts such recordings
/// into the same one window).
pub const SHORT_WINDOW_NOTE: &str =
    "scored as one window of all it holds, as training windows such recordings";

/// Whether a note only informs (no gyroscope file given, and a model made to work without one),
/// rather than reporting a repair or a reason to trust the result less.
pub fn is_information_note(note: &str) -> bool {
    note == NO_GYROSCOPE_FILE
        || note.starts_with(GYRO_DROPOUT_PATH)
        || note.contains(": acceleration read as g") && !note.contains("although")
        || note.ends_with(SHORT_WINDOW_NOTE)
}

/// Fewest events a recording needs to be scored at all (the accelerometer samples that remain
/// after parsing and assembly).
///
/// Shorter or sparser recordings than one full window are still scored, as one low-confidence
/// window of all their events, down to this count. Below it there is too little for the model
/// to look at: the timestamp-aware student's resampler builds each of its L tokens by attending
/// to the events near the token's relative time, and with a handful of events every token is a
/// copy of one or two samples (the fixed-rate baseline likewise interpolates its grid from
/// them). 8 events are half the 16 a training window needs (`WindowConfig::min_events`) and
/// about 0.2 s of the watch's 40 Hz stream, the length of a fall's impact: the least that can
/// still show one. The number is a judgement, not a measured operating point.
pub const MIN_SCORABLE_EVENTS: usize = 8;

/// The windows of one recording and what the user should know about them.
#[derive(Debug, Clone)]
pub struct RecordingWindows {
    /// Windows, cut as the model's [`WindowConfig`] says (one window of the whole recording
    /// when none of them holds enough events).
    pub windows: Vec<crate::data::window::Window>,
    /// The assembled recording.
    pub trial: crate::data::trial::Trial,
    /// Repairs and notes, for the user.
    pub notes: Vec<String>,
    /// No window held enough events: the results come from less than the model was trained on
    /// (a recording merely shorter than one window is not; see [`Analysis::low_confidence`]).
    pub low_confidence: bool,
}

/// Fall probability of the window a live stream scores now: `events` holds n x 6 values (acc
/// xyz m/s^2, gyro xyz rad/s) of the last seconds of the stream (a model's
/// [`ModelHeader::window_config`] says how many: the window, or its feature context), `timestamps`
/// n seconds in any order (sorted here). The window is [`last_window`]'s: the one ending at the
/// newest event, or `window.feature_context_ahead_s` before it, cut as the model's windowing
/// cuts it. The browser's live mode and the web fixture's native side both call this.
///
/// [`last_window`]: crate::data::window::last_window
pub async fn predict_live(
    detector: &Detector,
    events: &[f32],
    timestamps: &[f64],
) -> Result<f64, Error> {
    if events.len() != timestamps.len() * 6 {
        return Err(Error::Invalid(format!(
            "{} values for {} timestamps: expected 6 per event",
            events.len(),
            timestamps.len()
        )));
    }
    if timestamps.iter().any(|t| !t.is_finite()) || events.iter().any(|v| !v.is_finite()) {
        return Err(Error::Invalid(
            "the window holds NaN or infinite values".into(),
        ));
    }
    let mut ev: Vec<[f32; 6]> = events
        .chunks_exact(6)
        .map(|c| [c[0], c[1], c[2], c[3], c[4], c[5]])
        .collect();
    let mut ts = timestamps.to_vec();
    crate::data::events::sort_events(&mut ev, &mut ts);
    let t0 = ts.first().copied().unwrap_or(0.0);
    let trial = crate::data::trial::Trial {
        key: TrialKey {
            subject: 0,
            activity: 0,
            trial: 0,
        },
        events: ev,
        timestamps: ts.iter().map(|t| t - t0).collect(),
        gyro_missing: false,
        skeleton: None,
    };
    let Some(w) = crate::data::window::last_window(&trial, &detector.header.window_config()) else {
        return Err(Error::Invalid("the window holds no events".into()));
    };
    let r = detector.run(&[EventWindow::from(&w)]).await?;
    Ok(r[0].0)
}

/// Windows of one uploaded recording (accelerometer and optional gyroscope files), cut as
/// `cfg` says (a model's [`ModelHeader::window_config`]). See [`prepare_recording`], which
/// also says whether the result is low-confidence.
pub fn recording_windows(
    acc: (&str, &[u8]),
    gyro: Option<(&str, &[u8])>,
    cfg: &WindowConfig,
) -> Result<
    (
        Vec<crate::data::window::Window>,
        crate::data::trial::Trial,
        Vec<String>,
    ),
    Error,
> {
    let r = prepare_recording(acc, gyro, cfg)?;
    Ok((r.windows, r.trial, r.notes))
}

fn window_length_text(cfg: &WindowConfig) -> String {
    match cfg.length {
        WindowLength::Duration { seconds } => format!("{seconds} s"),
        WindowLength::Count { events } => format!("{events}-event"),
    }
}

fn too_few_events(file: &str, n: usize, what: &str) -> Error {
    Error::Data(DataError::file(
        file,
        format!(
            "{what} {n} {}; at least {MIN_SCORABLE_EVENTS} are needed to score a recording",
            if n == 1 { "sample" } else { "samples" }
        ),
    ))
}

/// Windows of one uploaded recording (accelerometer and optional gyroscope files), cut as
/// `cfg` says, with notes for the user.
///
/// Never silent, and refusing only what cannot be scored: an unusable gyroscope file (header
/// only, a bad line, too little overlap with the accelerometer) is left out with a note naming
/// it and why; every repair of either file is a note; a recording shorter than one window or
/// too sparse for any window is scored as one window of all its events and marked
/// low-confidence. Errors: an unusable accelerometer file, or fewer than
/// [`MIN_SCORABLE_EVENTS`] events.
pub fn prepare_recording(
    acc: (&str, &[u8]),
    gyro: Option<(&str, &[u8])>,
    cfg: &WindowConfig,
) -> Result<RecordingWindows, Error> {
    prepare_recording_in(acc, gyro, cfg, Units::default())
}

/// [`prepare_recording`] with the files' units given (`None` in `units`: detected).
pub fn prepare_recording_in(
    acc: (&str, &[u8]),
    gyro: Option<(&str, &[u8])>,
    cfg: &WindowConfig,
    units: Units,
) -> Result<RecordingWindows, Error> {
    let p = prepare_plan(acc, gyro, cfg, units)?;
    Ok(RecordingWindows {
        windows: (0..p.plan.len())
            .map(|i| p.plan.window(&p.trial, i))
            .collect(),
        trial: p.trial,
        notes: p.notes,
        low_confidence: p.low_confidence,
    })
}

/// The largest watch file (accelerometer or gyroscope) a recording may have: 256 MiB, about
/// 6.5 million samples, a day and a half at the watch's 40 Hz. Scoring one holds the file, its
/// parsed samples and the assembled recording at once (about 2.5 times the file in all, the
/// windows cut a batch at a time), so the cap bounds the memory a recording can take, in the
/// browser as on the command line. A longer recording is split into parts first.
pub const MAX_FILE_BYTES: usize = 256 << 20;

/// [`prepare_recording`] without cutting the windows: what [`analyze`] scores a batch at a time.
struct RecordingPlan {
    plan: WindowPlan,
    trial: crate::data::trial::Trial,
    notes: Vec<String>,
    low_confidence: bool,
}

fn prepare_plan(
    acc: (&str, &[u8]),
    gyro: Option<(&str, &[u8])>,
    cfg: &WindowConfig,
    units: Units,
) -> Result<RecordingPlan, Error> {
    check_file_sizes(acc, gyro)?;
    // An unusable accelerometer file is the answer: the gyroscope's is not read then.
    let acc_rec = parse_imu_csv(acc.0, acc.1)?;
    let gyro_rec = match gyro {
        Some((name, bytes)) => Some((name, parse_imu_csv(name, bytes))),
        // A file holding both sensors: its gyroscope too.
        None if acc_rec.gyroscope_too => {
            Some((acc.0, parse_imu_csv_for(acc.0, acc.1, Sensor::Gyroscope)))
        }
        None => None,
    };
    plan_parsed(acc.0, acc_rec, gyro_rec, cfg, units)
}

/// Refuses a file over [`MAX_FILE_BYTES`] before anything reads it.
fn check_file_sizes(acc: (&str, &[u8]), gyro: Option<(&str, &[u8])>) -> Result<(), Error> {
    for (name, bytes) in std::iter::once(acc).chain(gyro) {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(DataError::file(
                name,
                format!(
                    "{:.1} MiB is over the {} MiB a watch file may have (about a day and a \
                     half at 40 Hz); split the recording into parts",
                    bytes.len() as f64 / (1 << 20) as f64,
                    MAX_FILE_BYTES >> 20
                ),
            )
            .into());
        }
    }
    Ok(())
}

/// The windows of a recording's trial, and whether its result is of low confidence: a recording
/// with no full window is scored as one window of all its events, with a note saying why.
fn cut_recording(
    acc_name: &str,
    trial: &Trial,
    cfg: &WindowConfig,
    notes: &mut Vec<String>,
) -> Result<(WindowPlan, bool), Error> {
    let n = trial.events.len();
    let duration = trial.duration();
    let shorter_than_a_window = match cfg.length {
        // The span of n events plus one mean interval: a full 4 s of samples spans 4 s less one
        // interval, and is not short.
        WindowLength::Duration { seconds } => {
            duration + duration / ((n - 1) as f64) < seconds - 1e-9
        }
        WindowLength::Count { events } => n < events,
    };
    let length = window_length_text(cfg);
    let lasts = format!("lasts {duration:.2} s ({n} events)");
    let mut plan = WindowPlan::new(0, trial, cfg, Purpose::Eval);
    let mut low_confidence = shorter_than_a_window;
    if plan.is_empty() {
        // One window of every event: no gap split, no crop, thinned to max_events as usual.
        let whole = WindowConfig {
            length: WindowLength::Count { events: n },
            max_gap_s: f64::MAX,
            min_events: 1,
            max_events: cfg.max_events.max(1),
            crop_events: 0,
            fall_windows: crate::data::window::FallWindows::All,
            ..cfg.clone()
        };
        // The window features' context (window.feature_context_s) still stops at the model's gaps.
        plan = WindowPlan::new(0, trial, &whole, Purpose::Eval).with_context_gap(cfg.max_gap_s);
        if plan.len() != 1 {
            return Err(DataError::file(
                acc_name,
                "the recording could not be cut into one window of all its events",
            )
            .into());
        }
        low_confidence = true;
        let why = if shorter_than_a_window {
            format!("it {lasts}, shorter than one {length} window")
        } else {
            format!(
                "no {length} window of it holds the {} events a window needs (it {lasts}{})",
                cfg.min_events,
                if crate::data::window::segments(&trial.timestamps, cfg.max_gap_s).len() > 1 {
                    format!(", broken by gaps over {} s", cfg.max_gap_s)
                } else {
                    String::new()
                }
            )
        };
        let thinned = if n > cfg.max_events.max(1) {
            format!(", thinned evenly to {}", cfg.max_events.max(1))
        } else {
            String::new()
        };
        notes.push(format!(
            "{}: low confidence: {why}; it was scored as one window of all its events{thinned}",
            acc_name
        ));
    } else if shorter_than_a_window {
        // Training windows such a recording the same way (a segment shorter than a window is
        // one window of all its events), so the result is not less certain (issue #32).
        low_confidence = false;
        notes.push(format!(
            "{}: the recording {lasts}, shorter than one {length} window: {SHORT_WINDOW_NOTE}",
            acc_name
        ));
    }
    Ok((plan, low_confidence))
}

/// [`prepare_plan`] from the parsed accelerometer file and the gyroscope file's name and parse
/// result.
fn plan_parsed(
    acc_name: &str,
    mut acc_rec: ImuRecording,
    gyro_parsed: Option<(&str, Result<ImuRecording, DataError>)>,
    cfg: &WindowConfig,
    units: Units,
) -> Result<RecordingPlan, Error> {
    let acc = (acc_name, ());
    let gyro = gyro_parsed.as_ref().map(|(name, _)| (*name, ()));
    let mut notes = Vec::new();
    // Acceleration written in g (another brand of watch, many loggers): to the m/s^2 the
    // models read, with a note.
    if let Some(note) = crate::data::units::acc_to_si(&mut acc_rec.values, units.acc) {
        notes.push(format!("{acc_name}: {note}"));
    }
    // Whether a note already says why the gyroscope is not used.
    let mut gyro_explained = false;
    let gyro_rec = match gyro_parsed {
        Some((name, parsed)) => match parsed {
            Ok(mut r) => {
                // Rotation written in degrees per second: to the rad/s the models read.
                if let Some(note) = crate::data::units::gyro_to_si(&mut r.values, units.gyro) {
                    notes.push(format!("{name}: {note}"));
                }
                Some(r)
            }
            Err(e) => {
                let at = e.line.map(|l| format!("line {l}: ")).unwrap_or_default();
                notes.push(format!(
                    "{name}: gyroscope file not used ({at}{}); gyroscope channels set to zero",
                    e.reason
                ));
                gyro_explained = true;
                None
            }
        },
        None => None,
    };
    for (name, r) in
        std::iter::once((acc.0, &acc_rec)).chain(gyro.map(|g| g.0).zip(gyro_rec.as_ref()))
    {
        notes.extend(
            r.repairs
                .describe()
                .into_iter()
                .map(|s| format!("{name}: {s}")),
        );
        let back = r.timestamps.windows(2).filter(|w| w[1] < w[0]).count();
        if back > 0 {
            notes.push(format!("{name}: {back} backwards timestamp steps sorted"));
        }
    }
    if acc_rec.values.len() < MIN_SCORABLE_EVENTS {
        return Err(too_few_events(acc.0, acc_rec.values.len(), "holds"));
    }
    // Times of day and dates have no common clock: such a gyroscope cannot be merged.
    let gyro_rec = match (gyro_rec, gyro) {
        (Some(g), Some((name, _)))
            if (acc_rec.repairs.time_of_day_lines > 0) != (g.repairs.time_of_day_lines > 0) =>
        {
            let (a, b) = if g.repairs.time_of_day_lines > 0 {
                ("a time of day only", "dates")
            } else {
                ("dates", "a time of day only")
            };
            notes.push(format!(
                "{name}: gyroscope file not used (its timestamps hold {a}, the accelerometer's \
                 {b}, so the two cannot be aligned); gyroscope channels set to zero"
            ));
            gyro_explained = true;
            None
        }
        (g, _) => g,
    };
    let key = TrialKey::parse(acc.0).unwrap_or(TrialKey {
        subject: 0,
        activity: 0,
        trial: 0,
    });
    let assemble = |g: Option<&crate::data::imu_csv::ImuRecording>| {
        assemble_trial(key, &acc_rec, g, None, GyroPolicy::KeepMissing)
    };
    let trial = match (assemble(gyro_rec.as_ref()), gyro) {
        (Ok(t), _) if t.events.len() >= MIN_SCORABLE_EVENTS => t,
        // The gyroscope overlaps the accelerometer too little: score without it.
        (Ok(_) | Err(Skipped::TooShort), Some((name, _))) if gyro_rec.is_some() => {
            notes.push(format!(
                "{name}: gyroscope file not used (it overlaps the accelerometer for fewer than \
                 {MIN_SCORABLE_EVENTS} of its samples); gyroscope channels set to zero"
            ));
            gyro_explained = true;
            assemble(None).map_err(|e| DataError::file(acc.0, e.to_string()))?
        }
        (Ok(t), _) => return Err(too_few_events(acc.0, t.events.len(), "assembles to")),
        (Err(e), _) => return Err(DataError::file(acc.0, e.to_string()).into()),
    };
    if trial.gyro_missing && !gyro_explained {
        notes.push(if gyro.is_some() {
            "the gyroscope does not overlap the accelerometer in time: gyroscope channels set to zero".into()
        } else {
            NO_GYROSCOPE_FILE.into()
        });
    }
    // The parsed files are in the trial now: let them go before the windows are cut.
    drop((acc_rec, gyro_rec));
    let (plan, low_confidence) = cut_recording(acc.0, &trial, cfg, &mut notes)?;
    Ok(RecordingPlan {
        plan,
        trial,
        notes,
        low_confidence,
    })
}

/// A recording's files as [`analyze_with_progress`] takes them: the accelerometer file's name and
/// bytes (it may hold the gyroscope too), the gyroscope file's, and the units given for them.
pub type Recording<'a> = ((&'a str, &'a [u8]), Option<(&'a str, &'a [u8])>, Units);

/// Analyses a recording with `detector`, optionally under a stress perturbation (units detected;
/// [`analyze_with_progress`] takes them given).
pub async fn analyze(
    detector: &Detector,
    acc: (&str, &[u8]),
    gyro: Option<(&str, &[u8])>,
    stress: Option<Stress>,
) -> Result<Analysis, Error> {
    analyze_with_progress(detector, (acc, gyro, Units::default()), stress, &|_| {}).await
}

/// How far [`analyze_with_progress`] has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress<'a> {
    /// Reading a file's lines: bytes of its text read so far, of all.
    Parsing {
        /// The file.
        file: &'a str,
        /// Bytes read.
        done: usize,
        /// Bytes in all.
        total: usize,
    },
    /// Scoring the windows: windows scored so far, of all.
    Scoring {
        /// Windows scored.
        done: usize,
        /// Windows in all.
        total: usize,
    },
}

/// Lines parsed between two awaits of the detector's pause hook: about 2 MB of a watch file,
/// a few tens of milliseconds of work in the browser.
pub const PARSE_CHUNK_LINES: usize = 50_000;

/// [`parse_imu_csv`], awaiting the detector's pause hook every [`PARSE_CHUNK_LINES`] lines and
/// reporting [`Progress::Parsing`] there, so that a long file never blocks the page for long.
async fn parse_in_chunks(
    detector: &Detector,
    (file, bytes): (&str, &[u8]),
    sensor: Sensor,
    progress: &dyn Fn(Progress),
) -> Result<ImuRecording, DataError> {
    let text = crate::error::csv_text(file, bytes)?;
    let total = text.len();
    let mut parser = ImuParser::for_sensor(file, text, sensor);
    while parser.parse(PARSE_CHUNK_LINES)? {
        progress(Progress::Parsing {
            file,
            done: parser.bytes_read(),
            total,
        });
        detector.pause().await;
    }
    progress(Progress::Parsing {
        file,
        done: total,
        total,
    });
    parser.finish()
}

/// [`analyze`], reporting its [`Progress`]: while each file is parsed (a chunk of lines at a
/// time, awaiting the detector's pause hook between chunks), then after each batch of windows
/// (the page shows both). Windows are cut a batch at a time from the recording, so that beside
/// the recording only one batch of windows and the per-window results are held.
pub async fn analyze_with_progress(
    detector: &Detector,
    (acc, gyro, units): Recording<'_>,
    stress: Option<Stress>,
    progress: &dyn Fn(Progress),
) -> Result<Analysis, Error> {
    check_file_sizes(acc, gyro)?;
    let acc_rec = parse_in_chunks(detector, acc, Sensor::Accelerometer, progress).await?;
    let gyro_rec = match gyro {
        Some(g) => Some((
            g.0,
            parse_in_chunks(detector, g, Sensor::Gyroscope, progress).await,
        )),
        // A file holding both sensors: its gyroscope too.
        None if acc_rec.gyroscope_too => Some((
            acc.0,
            parse_in_chunks(detector, acc, Sensor::Gyroscope, progress).await,
        )),
        None => None,
    };
    let RecordingPlan {
        plan,
        trial,
        mut notes,
        low_confidence,
    } = plan_parsed(
        acc.0,
        acc_rec,
        gyro_rec,
        &detector.header.window_config(),
        units,
    )?;
    if trial.gyro_missing {
        notes.push(if detector.header.gyro_dropout > 0.0 {
            format!(
                "{GYRO_DROPOUT_PATH} ({}) so that it works without a gyroscope: the accelerometer-only path",
                detector.header.gyro_dropout
            )
        } else {
            "this model was trained with a gyroscope: without one its results are less reliable"
                .into()
        });
    }
    let total = plan.len();
    let bs = detector.batch_size.max(1);
    let mut out: Vec<WindowResult> = Vec::with_capacity(total);
    for first in (0..total).step_by(bs) {
        if first > 0 {
            detector.pause().await;
        }
        let idx = first..(first + bs).min(total);
        let (starts, clean): (Vec<f64>, Vec<EventWindow>) = idx
            .clone()
            .map(|i| {
                let w = plan.window(&trial, i);
                let events = EventWindow {
                    events: w.events,
                    timestamps: w.timestamps,
                    context: w.context,
                };
                (w.start_s, events)
            })
            .unzip();
        let results = detector.run_batch(&clean).await?;
        let perturbed = match stress {
            Some(s) => {
                let pw: Vec<EventWindow> = clean
                    .iter()
                    .zip(idx.clone())
                    .map(|(w, i)| w.perturbed(&s.perturbation, s.seed ^ i as u64))
                    .collect();
                Some(detector.run_batch(&pw).await?)
            }
            None => None,
        };
        for (k, ((w, start_s), (p, att))) in clean.iter().zip(starts).zip(results).enumerate() {
            out.push(WindowResult {
                start_s,
                end_s: start_s + w.timestamps.last().copied().unwrap_or(0.0),
                events: w.events.len(),
                prob: p,
                prob_perturbed: perturbed.as_ref().map(|v| v[k].0),
                attention: att,
            });
        }
        progress(Progress::Scoring {
            done: out.len(),
            total,
        });
    }
    Ok(analysis_of(detector, &trial, out, notes, low_confidence))
}

/// The analysis of a recording from its windows' results: the alarms, and the signal for the plot
/// ([`thinned_signal`]).
fn analysis_of(
    detector: &Detector,
    trial: &Trial,
    out: Vec<WindowResult>,
    notes: Vec<String>,
    low_confidence: bool,
) -> Analysis {
    let alarm = detector.header.alarm_config();
    let threshold = alarm.threshold;
    let spans: Vec<(f64, f64, f64)> = out.iter().map(|w| (w.start_s, w.end_s, w.prob)).collect();
    let (signal_t, signal_acc, signal_gyro) = thinned_signal(trial, SIGNAL_POINTS);
    Analysis {
        alarms: alarms(&spans, &alarm)
            .iter()
            .map(|a| out[a.window].start_s)
            .collect(),
        windows: out,
        threshold,
        signal_t,
        signal_acc,
        signal_gyro,
        events: trial.events.len(),
        gyro_missing: trial.gyro_missing,
        notes,
        low_confidence,
    }
}

/// About how many points the plotted signal keeps.
const SIGNAL_POINTS: usize = 3000;

/// The trial's times and acceleration and rotation magnitudes in at most about `points` points:
/// every event when there are that few, else for each stretch of events two points, the stretch's
/// lowest magnitudes at its first time and its highest at its last, so that a peak (an impact)
/// survives however long the recording.
fn thinned_signal(trial: &Trial, points: usize) -> (Vec<f64>, Vec<f32>, Vec<f32>) {
    let mag = |v: &[f32]| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    let n = trial.events.len();
    if n <= points {
        let acc = trial.events.iter().map(|e| mag(&e[0..3])).collect();
        let gyro = trial.events.iter().map(|e| mag(&e[3..6])).collect();
        return (trial.timestamps.clone(), acc, gyro);
    }
    let step = n.div_ceil(points / 2).max(1);
    let (mut t, mut acc, mut gyro) = (Vec::new(), Vec::new(), Vec::new());
    for (ev, ts) in trial.events.chunks(step).zip(trial.timestamps.chunks(step)) {
        let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
        for e in ev {
            for (k, m) in [mag(&e[0..3]), mag(&e[3..6])].into_iter().enumerate() {
                lo[k] = lo[k].min(m);
                hi[k] = hi[k].max(m);
            }
        }
        t.extend([ts[0], ts[ts.len() - 1]]);
        acc.extend([lo[0], hi[0]]);
        gyro.extend([lo[1], hi[1]]);
    }
    (t, acc, gyro)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thinned_signal_keeps_every_peak() {
        let n = 20_000;
        let mut events: Vec<[f32; 6]> = (0..n).map(|_| [0.0, 9.8, 0.0, 0.1, 0.0, 0.0]).collect();
        events[12_345] = [0.0, 60.0, 0.0, 0.0, 0.0, 7.0];
        let trial = Trial {
            key: TrialKey {
                subject: 1,
                activity: 10,
                trial: 1,
            },
            timestamps: (0..n).map(|i| i as f64 * 0.01).collect(),
            events,
            skeleton: None,
            gyro_missing: false,
        };
        let (t, acc, gyro) = thinned_signal(&trial, 3000);
        assert!(t.len() <= 3000 && t.len() == acc.len() && t.len() == gyro.len());
        assert!(t.windows(2).all(|w| w[0] <= w[1]), "times in order");
        assert_eq!(acc.iter().cloned().fold(0.0, f32::max), 60.0);
        assert_eq!(gyro.iter().cloned().fold(0.0, f32::max), 7.0);
        // Taking every k-th event, the old thinning, missed it.
        assert!(trial.events.iter().step_by(7).all(|e| e[1] < 60.0));
        let short = Trial {
            events: trial.events[..100].to_vec(),
            timestamps: trial.timestamps[..100].to_vec(),
            ..trial
        };
        assert_eq!(thinned_signal(&short, 3000).0.len(), 100);
    }

    /// `n` samples from Unix time 1000 s, `dt` apart, as a watch CSV.
    fn csv(n: usize, dt: f64) -> Vec<u8> {
        (0..n)
            .map(|i| format!("{:.4},{},0.5,9.8\n", 1000.0 + i as f64 * dt, i % 7))
            .collect::<String>()
            .into_bytes()
    }

    fn cfg() -> WindowConfig {
        WindowConfig::default()
    }

    /// A gyroscope file of `n` samples `dt` apart, turning at up to 0.6 rad/s.
    fn gyro_csv(n: usize, dt: f64) -> Vec<u8> {
        (0..n)
            .map(|i| {
                format!(
                    "{:.4},{},0.2,0.05\n",
                    1000.0 + i as f64 * dt,
                    (i % 7) as f64 * 0.1
                )
            })
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn a_normal_recording_is_not_low_confidence() {
        let (acc, gyro) = (csv(400, 0.025), gyro_csv(400, 0.025));
        let r = prepare_recording(("a.csv", &acc), Some(("g.csv", &gyro)), &cfg()).unwrap();
        assert!(r.windows.len() > 1);
        assert!(!r.low_confidence && !r.trial.gyro_missing);
        assert!(r.notes.is_empty(), "{:?}", r.notes);
    }

    #[test]
    fn an_unusable_gyroscope_is_left_out_with_a_note() {
        let acc = csv(400, 0.025);
        let header_only = b"-0.08425667,0.23323223,-0.0048844446,Unnamed: 3\n";
        let r = prepare_recording(("a.csv", &acc), Some(("g.csv", header_only)), &cfg()).unwrap();
        assert!(r.trial.gyro_missing && !r.windows.is_empty());
        assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
        assert!(
            r.notes[0].starts_with("g.csv: gyroscope file not used (holds only a header line"),
            "{:?}",
            r.notes
        );
        let bad = b"1000.0,1,2,3\n1000.1,1,x,3\n";
        let (w, trial, notes) =
            recording_windows(("a.csv", &acc), Some(("g.csv", bad)), &cfg()).unwrap();
        assert!(trial.gyro_missing && !w.is_empty());
        assert!(
            notes[0].contains("g.csv: gyroscope file not used (line 2: column 3 ('x')"),
            "{notes:?}"
        );
        // A gyroscope that overlaps the accelerometer for a handful of samples only.
        let late: Vec<u8> = (0..50)
            .map(|i| format!("{:.3},1,1,1\n", 1009.9 + i as f64 * 0.02))
            .collect::<String>()
            .into_bytes();
        let r = prepare_recording(("a.csv", &acc), Some(("g.csv", &late)), &cfg()).unwrap();
        assert!(r.trial.gyro_missing && r.trial.events.len() == 400);
        assert!(
            r.notes[0].contains("overlaps the accelerometer for fewer than 8"),
            "{:?}",
            r.notes
        );
        // Dates beside times of day.
        let tod = b"12:00:00.0,1,1,1\n12:00:00.1,1,1,1\n";
        let r = prepare_recording(("a.csv", &acc), Some(("g.csv", tod)), &cfg()).unwrap();
        assert!(r.trial.gyro_missing);
        assert!(
            r.notes.iter().any(|n| n.contains("cannot be aligned")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn repairs_are_notes_in_words() {
        let mut acc = b"0.1,0.2,0.3,Unnamed: 3\n".to_vec();
        for i in 0..400 {
            let t = 12.0 * 3600.0 + i as f64 * 0.025;
            let (h, m, s) = ((t / 3600.0) as u32, (t / 60.0) as u32 % 60, t % 60.0);
            acc.extend(format!("1,{h:02}.{m:02}.{s:06.3},2,3\n").bytes());
        }
        acc.extend(b"1.05,1.00,-0.64,Unnamed: 3\n");
        let r = prepare_recording(("a.csv", &acc), None, &cfg()).unwrap();
        assert_eq!(r.trial.events.len(), 400);
        let all = r.notes.join("\n");
        for want in [
            "a.csv: skipped 1 header line",
            "a.csv: the timestamp is in column 2, not column 1",
            "a.csv: timestamps hold a time of day only, no date (400 lines)",
            "a.csv: dropped 1 trailing line at the end of the file",
            "no gyroscope file",
        ] {
            assert!(all.contains(want), "missing {want:?} in\n{all}");
        }
        assert!(!all.contains("Repairs {"), "{all}");
    }

    #[test]
    fn a_recording_shorter_than_a_window_is_scored_for_what_it_holds() {
        // 10 events over 0.45 s: fewer than a window's 16.
        let acc = csv(10, 0.05);
        let r = prepare_recording(("a.csv", &acc), None, &cfg()).unwrap();
        assert_eq!(r.windows.len(), 1);
        assert_eq!(r.windows[0].events.len(), 10);
        assert!(r.low_confidence);
        let note = r
            .notes
            .iter()
            .find(|n| n.contains("low confidence"))
            .unwrap();
        assert!(
            note.contains("lasts 0.45 s (10 events), shorter than one 4 s window"),
            "{note}"
        );
        // Enough events for a window but shorter than one: windowed as training windows it
        // (one window of all of it), not flagged, with a note that only informs.
        let acc = csv(80, 0.025);
        let r = prepare_recording(("a.csv", &acc), None, &cfg()).unwrap();
        assert_eq!((r.windows.len(), r.windows[0].events.len()), (1, 80));
        assert!(!r.low_confidence);
        let note = r
            .notes
            .iter()
            .find(|n| n.contains("shorter than one"))
            .unwrap();
        assert!(
            note.contains("lasts 1.98 s (80 events)") && is_information_note(note),
            "{note}"
        );
        // A full window's worth of samples (160 at 40 Hz span 3.975 s) is not short.
        let r = prepare_recording(("a.csv", &csv(160, 0.025)), None, &cfg()).unwrap();
        assert!(!r.low_confidence, "{:?}", r.notes);
    }

    #[test]
    fn a_sparse_recording_is_scored_as_one_window_of_all_events() {
        // 12 events 2 s apart: every gap splits the recording, no window holds 16 events.
        let acc = csv(12, 2.0);
        let r = prepare_recording(("a.csv", &acc), None, &cfg()).unwrap();
        assert_eq!(r.windows.len(), 1);
        assert_eq!(r.windows[0].events.len(), 12);
        assert!((r.windows[0].timestamps[11] - 22.0).abs() < 1e-9);
        assert!(r.low_confidence);
        let note = r
            .notes
            .iter()
            .find(|n| n.contains("low confidence"))
            .unwrap();
        assert!(
            note.contains("no 4 s window of it holds the 16 events"),
            "{note}"
        );
        assert!(note.contains("gaps over 1 s"), "{note}");
        // Thinned to max_events when there are more.
        let c = WindowConfig {
            max_events: 10,
            ..cfg()
        };
        let r = prepare_recording(("a.csv", &acc), None, &c).unwrap();
        assert_eq!(r.windows[0].events.len(), 10);
        assert!(r.notes.iter().any(|n| n.contains("thinned evenly to 10")));
    }

    #[test]
    fn a_file_over_the_size_cap_is_refused_before_it_is_read() {
        let big = vec![b'1'; MAX_FILE_BYTES + 1];
        let e = prepare_recording(("day.csv", &big), None, &cfg())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("day.csv: 256.0 MiB is over the 256 MiB"),
            "{e}"
        );
        let acc = csv(400, 0.025);
        let e = prepare_recording(("a.csv", &acc), Some(("g.csv", &big)), &cfg())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("g.csv: "), "{e}");
    }

    #[test]
    fn attention_is_kept_around_the_most_probable_window() {
        let w = |prob: f64| WindowResult {
            start_s: 0.0,
            end_s: 1.0,
            events: 1,
            prob,
            prob_perturbed: None,
            attention: vec![1.0; 4],
        };
        let mut a = Analysis {
            windows: (0..10).map(|i| w(if i == 8 { 0.9 } else { 0.1 })).collect(),
            threshold: 0.5,
            alarms: vec![],
            signal_t: vec![],
            signal_acc: vec![],
            signal_gyro: vec![],
            events: 10,
            gyro_missing: false,
            notes: vec![],
            low_confidence: false,
        };
        a.keep_attention_near_peak(4);
        let kept: Vec<usize> = (0..10)
            .filter(|&i| !a.windows[i].attention.is_empty())
            .collect();
        assert_eq!(kept, [6, 7, 8, 9]);
        a.keep_attention_near_peak(20);
        assert_eq!(
            a.windows.iter().filter(|w| !w.attention.is_empty()).count(),
            4
        );
    }

    #[test]
    fn too_few_events_are_refused_naming_the_file_and_the_counts() {
        let acc = csv(MIN_SCORABLE_EVENTS - 1, 0.05);
        let e = prepare_recording(("S01A01T01.csv", &acc), None, &cfg()).unwrap_err();
        assert!(matches!(e, Error::Data(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "S01A01T01.csv: holds 7 samples; at least 8 are needed to score a recording"
        );
        assert!(
            prepare_recording(("a.csv", &csv(MIN_SCORABLE_EVENTS, 0.05)), None, &cfg()).is_ok()
        );
    }
}
