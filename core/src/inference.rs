//! Inference on whole recordings, shared by the browser demo and native code: parse the watch
//! files, assemble, window, (optionally) perturb, and run an exported student over every window.
//! Tensor reads are async (`into_data_async`), as WebGPU requires; natively the futures are ready
//! at once.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use burn::tensor::{Device, Tensor, activation::sigmoid};
use serde::{Deserialize, Serialize};

use crate::data::batch::{EventWindow, student_batch};
use crate::data::imu_csv::parse_imu_csv;
use crate::data::trial::{GyroPolicy, TrialKey, assemble_trial};
use crate::data::window::{Purpose, WindowConfig, WindowLength, window_trial};
use crate::model_file::{LoadedStudent, ModelFileError, ModelHeader, from_bytes};
use crate::perturb::Perturbation;

/// An exported student ready to run.
#[derive(Debug, Clone)]
pub struct Detector {
    /// The weights.
    pub model: LoadedStudent,
    /// Architecture, statistics, threshold.
    pub header: ModelHeader,
    /// Where it runs.
    pub device: Device,
    /// Windows per forward pass (windows are zero-padded to the longest one in a batch).
    pub batch_size: usize,
    /// Awaited between batches. The browser sets it to a zero-delay timer so that a long
    /// recording on the CPU backend never blocks the page's event loop for more than one batch.
    pub pause: Option<Pause>,
}

/// A future-returning hook awaited between batches (see [`Detector::pause`]).
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
    /// Start times of windows at or above the threshold (clean input).
    pub alarms: Vec<f64>,
    /// Event times (seconds, at most ~3000 points) with accelerometer and gyroscope magnitude.
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
}

impl Detector {
    /// Loads an exported student onto `device`.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Detector, ModelFileError> {
        let (header, model) = from_bytes(bytes, device)?;
        Ok(Detector {
            model,
            header,
            device: device.clone(),
            batch_size: 32,
            pause: None,
        })
    }

    fn grid_len(&self) -> usize {
        match &self.model {
            LoadedStudent::TimestampAware(s) => s.num_tokens(),
            LoadedStudent::FixedRate(s) => s.num_tokens(),
        }
    }

    /// Fall probabilities and attention of host windows, `batch_size` at a time.
    pub async fn run(&self, windows: &[EventWindow]) -> Result<Vec<(f64, Vec<f32>)>, String> {
        let mut out = Vec::with_capacity(windows.len());
        for (k, chunk) in windows.chunks(self.batch_size.max(1)).enumerate() {
            if k > 0
                && let Some(Pause(pause)) = &self.pause
            {
                pause().await;
            }
            let refs: Vec<&EventWindow> = chunk.iter().collect();
            let labels = vec![false; chunk.len()];
            let b = student_batch(
                &refs,
                &labels,
                &self.header.stats,
                self.grid_len(),
                &self.device,
            );
            let o = match &self.model {
                LoadedStudent::TimestampAware(s) => s.forward(b.events, b.timestamps, b.mask),
                LoadedStudent::FixedRate(s) => s.forward(b.grid),
            };
            let [n, l] = o.attention.dims();
            let probs = read(sigmoid(o.logits)).await?;
            let att = read(o.attention.reshape([n * l])).await?;
            for (i, p) in probs.iter().enumerate() {
                out.push((*p as f64, att[i * l..(i + 1) * l].to_vec()));
            }
        }
        Ok(out)
    }
}

async fn read<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, String> {
    let data = t
        .into_data_async()
        .await
        .map_err(|e| format!("reading results from the device failed: {e:?}"))?;
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| format!("unexpected result type: {e:?}"))
}

/// Windows of one uploaded recording (accelerometer and optional gyroscope files).
pub fn recording_windows(
    acc: (&str, &[u8]),
    gyro: Option<(&str, &[u8])>,
    window_seconds: f64,
) -> Result<
    (
        Vec<crate::data::window::Window>,
        crate::data::trial::Trial,
        Vec<String>,
    ),
    String,
> {
    let acc_rec = parse_imu_csv(acc.0, acc.1).map_err(|e| e.to_string())?;
    let gyro_rec = match gyro {
        Some((name, bytes)) => Some(parse_imu_csv(name, bytes).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut notes = Vec::new();
    for (name, r) in
        std::iter::once((acc.0, &acc_rec)).chain(gyro.map(|g| g.0).zip(gyro_rec.as_ref()))
    {
        if !r.repairs.is_empty() {
            notes.push(format!("{name}: repaired {:?}", r.repairs));
        }
        let back = r.timestamps.windows(2).filter(|w| w[1] < w[0]).count();
        if back > 0 {
            notes.push(format!("{name}: {back} backwards timestamp steps sorted"));
        }
    }
    let key = TrialKey::parse(acc.0).unwrap_or(TrialKey {
        subject: 0,
        activity: 0,
        trial: 0,
    });
    let trial = assemble_trial(
        key,
        &acc_rec,
        gyro_rec.as_ref(),
        None,
        GyroPolicy::KeepMissing,
    )
    .map_err(|e| format!("{}: {e}", acc.0))?;
    if trial.gyro_missing {
        notes.push(if gyro.is_some() {
            "the gyroscope does not overlap the accelerometer in time: gyroscope channels set to zero".into()
        } else {
            "no gyroscope file: gyroscope channels set to zero (the model was trained with them)".into()
        });
    }
    let cfg = WindowConfig {
        length: WindowLength::Duration {
            seconds: window_seconds,
        },
        ..Default::default()
    };
    let windows = window_trial(0, &trial, &cfg, Purpose::Eval);
    if windows.is_empty() {
        return Err(format!(
            "{}: no window of {window_seconds} s holds at least {} events; the recording is too short or too sparse",
            acc.0, cfg.min_events
        ));
    }
    Ok((windows, trial, notes))
}

/// Analyses a recording with `detector`, optionally under a stress perturbation.
pub async fn analyze(
    detector: &Detector,
    acc: (&str, &[u8]),
    gyro: Option<(&str, &[u8])>,
    stress: Option<Stress>,
) -> Result<Analysis, String> {
    let (windows, trial, notes) = recording_windows(acc, gyro, detector.header.window_seconds)?;
    let clean: Vec<EventWindow> = windows.iter().map(EventWindow::from).collect();
    let results = detector.run(&clean).await?;
    let perturbed = match stress {
        Some(s) => {
            let pw: Vec<EventWindow> = clean
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let (events, timestamps) =
                        s.perturbation
                            .apply(&w.events, &w.timestamps, s.seed ^ i as u64);
                    EventWindow { events, timestamps }
                })
                .collect();
            Some(detector.run(&pw).await?)
        }
        None => None,
    };
    let threshold = detector.header.threshold;
    let out: Vec<WindowResult> = windows
        .iter()
        .zip(&results)
        .enumerate()
        .map(|(i, (w, (p, att)))| WindowResult {
            start_s: w.start_s,
            end_s: w.start_s + w.timestamps.last().copied().unwrap_or(0.0),
            events: w.events.len(),
            prob: *p,
            prob_perturbed: perturbed.as_ref().map(|v| v[i].0),
            attention: att.clone(),
        })
        .collect();
    let step = trial.events.len().div_ceil(3000).max(1);
    let mag = |v: &[f32]| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    Ok(Analysis {
        alarms: out
            .iter()
            .filter(|w| w.prob >= threshold)
            .map(|w| w.start_s)
            .collect(),
        windows: out,
        threshold,
        signal_t: trial.timestamps.iter().step_by(step).copied().collect(),
        signal_acc: trial
            .events
            .iter()
            .step_by(step)
            .map(|e| mag(&e[0..3]))
            .collect(),
        signal_gyro: trial
            .events
            .iter()
            .step_by(step)
            .map(|e| mag(&e[3..6]))
            .collect(),
        events: trial.events.len(),
        gyro_missing: trial.gyro_missing,
        notes,
    })
}
