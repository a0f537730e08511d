//! Windows: fixed-duration (or fixed-count) pieces of a trial's event stream, each paired with a
//! stretch of the same trial's skeleton for KD.
//!
//! Long gaps (over `max_gap_s`) split a recording into segments first, so no window spans minutes
//! of silence. Training uses class-aware strides (falls denser than ADLs); evaluation a fixed
//! stride. Windows with more than `max_events` events are thinned evenly (bursty files can hold
//! hundreds of events a second).

use serde::{Deserialize, Serialize};

use super::events::Event;
use super::trial::{Trial, TrialKey};
use crate::error::Error;

/// How window length is measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "by")]
pub enum WindowLength {
    /// A fixed duration in seconds.
    Duration {
        /// Seconds.
        seconds: f64,
    },
    /// A fixed number of events.
    Count {
        /// Events.
        events: usize,
    },
}

/// How a window's skeleton partner is chosen (there is no common clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SkeletonPairing {
    /// The skeleton frames at the same relative position (tau) in the trial; falls back to the
    /// whole trial when that stretch holds fewer than 8 frames.
    #[default]
    Tau,
    /// Always the whole skeleton trial.
    WholeTrial,
}

/// Which windows of a fall trial are kept, labelled fall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FallWindows {
    /// Every window of a fall trial is a fall (the trial's label).
    #[default]
    All,
    /// Only the windows that hold the trial's impact (its event with the largest acceleration
    /// magnitude) at least `impact_margin_s` inside either edge. The fall trial's other windows
    /// (walking before, lying after) are dropped as ambiguous rather than called falls: on
    /// SmartFallMM's S43-S46 a fall recording spans about 57 s around a fall of about 1 s.
    Impact,
}

/// Windowing settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowConfig {
    /// Window length.
    pub length: WindowLength,
    /// Training stride for falls, as a fraction of the window length.
    pub fall_stride: f64,
    /// Training stride for ADLs, as a fraction of the window length.
    pub adl_stride: f64,
    /// Evaluation stride, as a fraction of the window length.
    pub eval_stride: f64,
    /// A gap longer than this (seconds) splits the recording.
    pub max_gap_s: f64,
    /// Windows with fewer events are dropped.
    pub min_events: usize,
    /// Windows with more events are thinned evenly to this many.
    pub max_events: usize,
    /// Skeleton pairing rule.
    pub pairing: SkeletonPairing,
    /// Which windows of a fall trial are kept (ADL trials keep all).
    pub fall_windows: FallWindows,
    /// With `fall_windows: impact`, the impact lies at least this far (seconds) inside the window.
    pub impact_margin_s: f64,
    /// Evaluation stride for fall trials, as a fraction of the window length (None: the same
    /// as `eval_stride`). The research group's protocol strides falls densely in test as well.
    pub eval_fall_stride: Option<f64>,
    /// Crop every trial to this many events either side of the peak of a rolling variance of
    /// |acceleration| (0: no crop). The research group's protocol uses about 100.
    pub crop_events: usize,
    /// The hand-made window features (the student's window-feature path, and a feature model's
    /// features) are computed over the last this many seconds up to each window's last event, within the window's segment (no
    /// gap over `max_gap_s`), thinned to `max_events` keeping its largest |a|, instead of over
    /// the window itself (None: the window). The learned path still reads the window. Left out
    /// of written files when None, so they stay readable by builds from before the option.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature_context_s: Option<f64>,
    /// With `feature_context_s`: the feature context reaches up to this many seconds past the
    /// window's last event (within its segment), and its `feature_context_s` seconds end at the
    /// last event it reaches. A live stream scores the window that ended this long ago, so its
    /// alarm comes this much later. None: the context ends at the window's last event. Left out
    /// of written files when None.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature_context_ahead_s: Option<f64>,
    /// Every recording is put on an even clock at this rate (Hz) before it is windowed, each
    /// gap-free segment from its first event, by linear interpolation (samples sharing a
    /// timestamp averaged; gaps over `max_gap_s` stay gaps): the model then sees the same
    /// stream from any watch's clock, bursts and rate (issue #32). Training, `fallkd predict`,
    /// the page and live mode all cut windows this way. None: the watch's own timestamps. Left
    /// out of written files when None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resample_hz: Option<f64>,
    /// With `resample_hz`: each instant of the even clock takes the mean of the recording over
    /// this many seconds around it (of the line through its samples) instead of its value at the
    /// instant, so that a watch sampling at 20 Hz and one at 100 Hz write nearly the same stream:
    /// a box filter, whose first zero at `1 / smooth_s` Hz lies at 20 Hz watches' Nyquist rate
    /// for 0.1 s (issue #32). None: the value at the instant. Left out of written files when None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smooth_s: Option<f64>,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            length: WindowLength::Duration { seconds: 4.0 },
            fall_stride: 0.125,
            adl_stride: 0.5,
            eval_stride: 0.5,
            max_gap_s: 1.0,
            min_events: 16,
            max_events: 256,
            pairing: SkeletonPairing::Tau,
            fall_windows: FallWindows::All,
            impact_margin_s: 0.5,
            eval_fall_stride: None,
            crop_events: 0,
            feature_context_s: None,
            feature_context_ahead_s: None,
            resample_hz: None,
            smooth_s: None,
        }
    }
}

impl WindowConfig {
    /// Seconds the feature context reaches past the window (`feature_context_ahead_s`, which
    /// counts only with `feature_context_s`; 0 without it): how much later than the window's end
    /// a live stream scores it.
    pub fn context_ahead_s(&self) -> f64 {
        match self.feature_context_s {
            Some(_) => self.feature_context_ahead_s.unwrap_or(0.0),
            None => 0.0,
        }
    }

    /// Seconds of a live stream [`last_window`] needs for windows of `window_s` seconds: the
    /// window, or its feature context, or the window and the seconds the context reaches past it.
    pub fn live_span_s(&self, window_s: f64) -> f64 {
        match self.feature_context_s {
            Some(c) => c.max(window_s + self.context_ahead_s()),
            None => window_s,
        }
    }

    /// Checks the settings, naming the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(hz) = self.resample_hz
            && !(1.0..=1000.0).contains(&hz)
        {
            return Err(Error::config(
                "window.resample_hz",
                format!("must lie in [1, 1000] Hz, got {hz}"),
            ));
        }
        if let Some(w) = self.smooth_s {
            if self.resample_hz.is_none() {
                return Err(Error::config(
                    "window.smooth_s",
                    "needs window.resample_hz (the even clock it smooths onto)",
                ));
            }
            if !(w > 0.0 && w <= 2.0) {
                return Err(Error::config(
                    "window.smooth_s",
                    format!("must be in (0, 2] seconds, got {w}"),
                ));
            }
        }
        match self.length {
            WindowLength::Duration { seconds } if !(seconds > 0.0 && seconds.is_finite()) => {
                return Err(Error::config(
                    "window.length.seconds",
                    format!("must be > 0, got {seconds}"),
                ));
            }
            WindowLength::Count { events } if events < 2 => {
                return Err(Error::config(
                    "window.length.events",
                    format!("must be >= 2, got {events}"),
                ));
            }
            _ => {}
        }
        for (k, v) in [
            ("fall_stride", self.fall_stride),
            ("adl_stride", self.adl_stride),
            ("eval_stride", self.eval_stride),
            (
                "eval_fall_stride",
                self.eval_fall_stride.unwrap_or(self.eval_stride),
            ),
        ] {
            // At least 1/100 of a window: a smaller stride only repeats windows, and a vanishing
            // one would make windowing run without end.
            if !(0.01..=4.0).contains(&v) {
                return Err(Error::config(
                    format!("window.{k}"),
                    format!("must be in [0.01, 4], got {v}"),
                ));
            }
        }
        if !(self.max_gap_s > 0.0 && self.max_gap_s <= 3600.0) {
            return Err(Error::config(
                "window.max_gap_s",
                format!("must be in (0, 3600] seconds, got {}", self.max_gap_s),
            ));
        }
        if !(self.impact_margin_s >= 0.0 && self.impact_margin_s.is_finite()) {
            return Err(Error::config(
                "window.impact_margin_s",
                format!("must be >= 0, got {}", self.impact_margin_s),
            ));
        }
        if let Some(c) = self.feature_context_s
            && !(c > 0.0 && c <= 3600.0)
        {
            return Err(Error::config(
                "window.feature_context_s",
                format!("must be in (0, 3600] seconds, got {c}"),
            ));
        }
        if let Some(a) = self.feature_context_ahead_s {
            if self.feature_context_s.is_none() {
                return Err(Error::config(
                    "window.feature_context_ahead_s",
                    "needs window.feature_context_s (the seconds the context holds)",
                ));
            }
            if !(a > 0.0 && a <= 3600.0) {
                return Err(Error::config(
                    "window.feature_context_ahead_s",
                    format!("must be in (0, 3600] seconds, got {a}"),
                ));
            }
        }
        if self.max_events < self.min_events.max(1) {
            return Err(Error::config(
                "window.max_events",
                "must be >= window.min_events",
            ));
        }
        Ok(())
    }
}

/// Training (class-aware strides) or evaluation (fixed stride).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Class-aware strides.
    Train,
    /// Fixed stride.
    Eval,
}

/// One window, referring to its trial by index.
#[derive(Debug, Clone)]
pub struct Window {
    /// Index of the trial in the list windowed.
    pub trial: usize,
    /// Subject, activity, trial.
    pub key: TrialKey,
    /// Fall label.
    pub label: bool,
    /// Events of the window.
    pub events: Vec<Event>,
    /// Seconds since the window's first event.
    pub timestamps: Vec<f64>,
    /// Start of the window in seconds since the trial's first event.
    pub start_s: f64,
    /// Relative position of the window's start and end in the trial, in [0, 1].
    pub tau: (f64, f64),
    /// Skeleton frame range `[start, end)` paired with the window (None without skeleton).
    pub skeleton_frames: Option<(usize, usize)>,
    /// The stretch the window features are computed over, with `window.feature_context_s`.
    pub context: Option<FeatureContext>,
}

/// The events the window features of a window are computed over (`window.feature_context_s`):
/// the last seconds of its segment up to the window's last event (or up to
/// `window.feature_context_ahead_s` past it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureContext {
    /// Events, thinned to `max_events` keeping the stretch's largest |acceleration|.
    pub events: Vec<Event>,
    /// Seconds since the first kept event of the stretch.
    pub timestamps: Vec<f64>,
}

/// How a window's feature context is cut (`window.feature_context_s`,
/// `window.feature_context_ahead_s`, and the gap rule it keeps to).
#[derive(Debug, Clone, Copy, PartialEq)]
struct ContextRule {
    seconds: f64,
    ahead: f64,
    max_gap: f64,
}

impl ContextRule {
    fn of(cfg: &WindowConfig) -> Option<Self> {
        cfg.feature_context_s.map(|seconds| ContextRule {
            seconds,
            ahead: cfg.feature_context_ahead_s.unwrap_or(0.0),
            max_gap: cfg.max_gap_s,
        })
    }

    /// The feature context of the window `r` of `trial`: from the window's last event on to
    /// the last event at most `ahead` seconds past it, then back `seconds` from there, never
    /// across a gap longer than `max_gap`; thinned to `max_events` keeping the largest
    /// |acceleration|.
    fn cut(&self, trial: &Trial, r: &std::ops::Range<usize>, max_events: usize) -> FeatureContext {
        let ts = &trial.timestamps;
        let n = ts.len().min(trial.events.len());
        let mut b = r.end;
        while b < n
            && ts[b] <= ts[r.end - 1] + self.ahead + 1e-9
            && ts[b] - ts[b - 1] <= self.max_gap
        {
            b += 1;
        }
        let t_hi = ts[b - 1];
        let mut a = b - 1;
        while a > 0 && ts[a - 1] >= t_hi - self.seconds - 1e-9 && ts[a] - ts[a - 1] <= self.max_gap
        {
            a -= 1;
        }
        let keep = thinned_range(trial, &(a..b), max_events);
        let t0 = ts[keep[0]];
        FeatureContext {
            events: keep.iter().map(|&i| trial.events[i]).collect(),
            timestamps: keep.iter().map(|&i| ts[i] - t0).collect(),
        }
    }
}

/// Index ranges of `timestamps` separated by gaps longer than `max_gap`.
pub fn segments(timestamps: &[f64], max_gap: f64) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..timestamps.len() {
        if timestamps[i] - timestamps[i - 1] > max_gap {
            out.push(start..i);
            start = i;
        }
    }
    if start < timestamps.len() {
        out.push(start..timestamps.len());
    }
    out
}

/// Indices `0..len` thinned evenly to `max`, always keeping `keep` (the window's impact: the
/// event with the largest |acceleration|, which even thinning of a bursty 100 Hz file would
/// otherwise drop about a third of the time). `keep` replaces the selected index nearest to it.
fn thin_indices(len: usize, max: usize, keep: usize) -> Vec<usize> {
    if len <= max {
        return (0..len).collect();
    }
    let mut idx: Vec<usize> = (0..max).map(|j| j * len / max).collect();
    if !idx.contains(&keep) {
        let nearest = (0..idx.len())
            .min_by_key(|&j| idx[j].abs_diff(keep))
            .expect("max >= 1");
        idx[nearest] = keep;
    }
    idx
}

/// Indices of `trial`'s events in `r` (non-empty) thinned evenly to `max`, keeping the one with
/// the largest |acceleration| ([`thin_indices`]); absolute, in order.
fn thinned_range(trial: &Trial, r: &std::ops::Range<usize>, max: usize) -> Vec<usize> {
    let peak = r
        .clone()
        .max_by(|&a, &b| {
            acc_magnitude2(&trial.events[a]).total_cmp(&acc_magnitude2(&trial.events[b]))
        })
        .expect("non-empty range")
        - r.start;
    thin_indices(r.len(), max, peak)
        .into_iter()
        .map(|i| r.start + i)
        .collect()
}

/// Skeleton frame range paired with trial-relative positions `tau`.
pub fn pair_skeleton(frames: usize, tau: (f64, f64), pairing: SkeletonPairing) -> (usize, usize) {
    if frames == 0 {
        return (0, 0);
    }
    let whole = (0, frames);
    if pairing == SkeletonPairing::WholeTrial {
        return whole;
    }
    let a = ((tau.0 * frames as f64).floor() as usize).min(frames - 1);
    let b = ((tau.1 * frames as f64).ceil() as usize).clamp(a + 1, frames);
    if b - a < 8 { whole } else { (a, b) }
}

/// Cuts one trial (index `trial_index` in the caller's list) into windows.
pub fn window_trial(
    trial_index: usize,
    trial: &Trial,
    cfg: &WindowConfig,
    purpose: Purpose,
) -> Vec<Window> {
    let plan = WindowPlan::new(trial_index, trial, cfg, purpose);
    (0..plan.len()).map(|i| plan.window(trial, i)).collect()
}

/// Where the windows of one trial lie, without their events: index ranges into the trial (into
/// its crop, when the configuration crops). A long recording is scored a batch of windows at a
/// time from its plan, so that no more than a batch of windows is ever held beside the
/// recording. [`WindowPlan::window`] cuts window `i` exactly as [`window_trial`] does.
#[derive(Debug, Clone)]
pub struct WindowPlan {
    trial_index: usize,
    /// The crop the ranges index into, when the configuration crops.
    crop: Option<Trial>,
    ranges: Vec<std::ops::Range<usize>>,
    /// Duration of the (cropped) trial, for the windows' relative positions.
    total: f64,
    max_events: usize,
    pairing: SkeletonPairing,
    /// How the windows' feature contexts are cut (`window.feature_context_s`).
    feature_context: Option<ContextRule>,
}

impl WindowPlan {
    /// The windows of `trial` as `cfg` and `purpose` cut them.
    pub fn new(trial_index: usize, trial: &Trial, cfg: &WindowConfig, purpose: Purpose) -> Self {
        if let Some(hz) = cfg.resample_hz {
            let even = even_clock(trial, hz, cfg.max_gap_s, cfg.smooth_s);
            let rest = WindowConfig {
                resample_hz: None,
                smooth_s: None,
                ..cfg.clone()
            };
            let mut plan = WindowPlan::new(trial_index, &even, &rest, purpose);
            if plan.crop.is_none() {
                plan.crop = Some(even);
            }
            return plan;
        }
        if cfg.crop_events > 0 {
            let r = variance_peak_crop(trial, cfg.crop_events);
            let cropped = Trial {
                key: trial.key,
                events: trial.events[r.clone()].to_vec(),
                timestamps: trial.timestamps[r].to_vec(),
                gyro_missing: trial.gyro_missing,
                skeleton: trial.skeleton.clone(),
            };
            let uncropped = WindowConfig {
                crop_events: 0,
                ..cfg.clone()
            };
            let mut plan = WindowPlan::new(trial_index, &cropped, &uncropped, purpose);
            plan.crop = Some(cropped);
            return plan;
        }
        WindowPlan::of_ranges(trial_index, trial, cfg, window_ranges(trial, cfg, purpose))
    }

    /// The plan of the given index ranges of an uncropped `trial`, cut with `cfg`'s settings.
    fn of_ranges(
        trial_index: usize,
        trial: &Trial,
        cfg: &WindowConfig,
        ranges: Vec<std::ops::Range<usize>>,
    ) -> Self {
        WindowPlan {
            trial_index,
            crop: None,
            ranges,
            total: trial.duration().max(1e-9),
            max_events: cfg.max_events,
            pairing: cfg.pairing,
            feature_context: ContextRule::of(cfg),
        }
    }

    /// The same windows, their feature contexts (`window.feature_context_s`) stopping at gaps
    /// longer than `max_gap` seconds: for a plan cut without a gap split (one window of a whole
    /// recording) whose contexts must still keep to the model's gap rule.
    pub fn with_context_gap(mut self, max_gap: f64) -> Self {
        if let Some(rule) = self.feature_context.as_mut() {
            rule.max_gap = max_gap;
        }
        self
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether there is no window.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Window `i` of `trial` (the trial the plan was made from). Panics when `i >= len()`.
    pub fn window(&self, trial: &Trial, i: usize) -> Window {
        let trial = self.crop.as_ref().unwrap_or(trial);
        let r = self.ranges[i].clone();
        let ts = &trial.timestamps;
        let keep = thinned_range(trial, &r, self.max_events);
        let ev: Vec<Event> = keep.iter().map(|&i| trial.events[i]).collect();
        let t_abs: Vec<f64> = keep.iter().map(|&i| ts[i]).collect();
        let start_s = t_abs[0];
        let tau = (
            start_s / self.total,
            (t_abs[t_abs.len() - 1] / self.total).min(1.0),
        );
        let skeleton_frames = trial
            .skeleton
            .as_ref()
            .map(|s| pair_skeleton(s.len(), tau, self.pairing));
        Window {
            trial: self.trial_index,
            key: trial.key,
            label: trial.is_fall(),
            events: ev,
            timestamps: t_abs.iter().map(|t| t - start_s).collect(),
            start_s,
            tau,
            skeleton_frames,
            context: self
                .feature_context
                .map(|rule| rule.cut(trial, &r, self.max_events)),
        }
    }
}

/// The index ranges of an uncropped trial's windows, in order (see [`WindowPlan`]).
fn window_ranges(
    trial: &Trial,
    cfg: &WindowConfig,
    purpose: Purpose,
) -> Vec<std::ops::Range<usize>> {
    let stride_frac = match purpose {
        Purpose::Eval if trial.is_fall() => cfg.eval_fall_stride.unwrap_or(cfg.eval_stride),
        Purpose::Eval => cfg.eval_stride,
        Purpose::Train if trial.is_fall() => cfg.fall_stride,
        Purpose::Train => cfg.adl_stride,
    };
    let ts = &trial.timestamps;
    let impact = if trial.is_fall() && cfg.fall_windows == FallWindows::Impact {
        match impact_time(trial) {
            Some(t) => Some(t),
            None => return Vec::new(),
        }
    } else {
        None
    };
    let mut out = Vec::new();
    for seg in segments(ts, cfg.max_gap_s) {
        let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
        match cfg.length {
            WindowLength::Duration { seconds } => {
                let stride = seconds * stride_frac;
                let (s0, s1) = (ts[seg.start], ts[seg.end - 1]);
                let cut = |start: f64| {
                    let a = seg.start + ts[seg.clone()].partition_point(|&t| t < start);
                    let b = seg.start + ts[seg.clone()].partition_point(|&t| t < start + seconds);
                    a..b
                };
                // Window k starts at s0 + k * stride, computed from k rather than summed: far
                // from zero a running sum can stop moving. Short segments give one window.
                let room = s1 - s0 - seconds + 1e-9;
                let n = if room >= 0.0 {
                    1 + (room / stride).floor() as usize
                } else {
                    1
                };
                ranges.extend(
                    (0..n)
                        .map(|k| cut(s0 + k as f64 * stride))
                        .filter(|r| r.len() >= cfg.min_events.max(1)),
                );
                // One more window aligned to the segment's end, so that its last seconds (a
                // fall at the end of a recording) are covered as in a continuous stream.
                let last = s1 - seconds;
                if last > s0 + (n - 1) as f64 * stride + 1e-9 {
                    ranges.push(cut(last));
                }
            }
            WindowLength::Count { events } => {
                let stride = ((events as f64 * stride_frac).round() as usize).max(1);
                let mut a = seg.start;
                loop {
                    let b = (a + events).min(seg.end);
                    ranges.push(a..b);
                    if b >= seg.end {
                        break;
                    }
                    a += stride;
                }
            }
        }
        for r in ranges {
            if r.len() < cfg.min_events.max(1) {
                continue;
            }
            if let Some(t) = impact {
                // The impact lies at least the margin inside the window, or as far inside as
                // the recording itself allows (an impact 0.2 s before the file ends).
                let (a, b) = (ts[r.start], ts[r.end - 1]);
                let (s0, s1) = (ts[seg.start], ts[seg.end - 1]);
                let m = cfg.impact_margin_s.min((b - a) / 2.0);
                if t < a || t > b || t < a + m.min(t - s0) || t > b - m.min(s1 - t) {
                    continue;
                }
            }
            out.push(r);
        }
    }
    out
}

/// Events `c - half ..= c + half` (clipped to the trial) around the centre `c` of the
/// 32-event stretch whose |acceleration| varies most: the research group's trial crop.
pub fn variance_peak_crop(trial: &Trial, half: usize) -> std::ops::Range<usize> {
    let n = trial.events.len();
    let mag: Vec<f64> = trial
        .events
        .iter()
        .map(|e| (acc_magnitude2(e) as f64).sqrt())
        .collect();
    let w = 32.min(n.max(1));
    let mut best = (f64::NEG_INFINITY, 0);
    for a in 0..=(n.saturating_sub(w)) {
        let s = &mag[a..(a + w).min(n)];
        let m = s.iter().sum::<f64>() / s.len().max(1) as f64;
        let v = s.iter().map(|x| (x - m).powi(2)).sum::<f64>();
        if v > best.0 {
            best = (v, a + w / 2);
        }
    }
    let c = best.1;
    c.saturating_sub(half)..(c + half + 1).min(n)
}

fn acc_magnitude2(e: &Event) -> f32 {
    let m = e[0] * e[0] + e[1] * e[1] + e[2] * e[2];
    if m.is_finite() { m } else { 0.0 }
}

/// Time of the trial's impact: its event with the largest accelerometer magnitude (None when
/// the trial has no events).
pub fn impact_time(trial: &Trial) -> Option<f64> {
    trial
        .events
        .iter()
        .zip(&trial.timestamps)
        .map(|(e, &t)| ((e[0] * e[0] + e[1] * e[1] + e[2] * e[2]) as f64, t))
        .filter(|(m, _)| m.is_finite())
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, t)| t)
}

/// The window a live stream scores when `trial`'s last event has arrived: the one that ends
/// there (or, with `feature_context_ahead_s`, at the last event at least that long before it,
/// so that its context can reach ahead to the newest event): its events less than
/// `window.length` before its end (or its last `events`; all of it when shorter; never reaching
/// back over a gap longer than `max_gap_s`), thinned to `max_events` keeping its largest
/// |acceleration|, with its feature context when `feature_context_s` is set. None when the trial
/// has no events.
pub fn last_window(trial: &Trial, cfg: &WindowConfig) -> Option<Window> {
    if let Some(hz) = cfg.resample_hz {
        let rest = WindowConfig {
            resample_hz: None,
            smooth_s: None,
            ..cfg.clone()
        };
        return last_window(&even_clock(trial, hz, cfg.max_gap_s, cfg.smooth_s), &rest);
    }
    let n = trial.events.len().min(trial.timestamps.len());
    if n == 0 {
        return None;
    }
    let ts = &trial.timestamps[..n];
    // Not across a gap longer than max_gap_s, as the windowing splits recordings there.
    let seg_start = segments(ts, cfg.max_gap_s).last().map_or(0, |r| r.start);
    let end = match cfg.feature_context_ahead_s {
        // The segment's first window at least: a stream younger than the look-ahead scores
        // the window its recording's windowing would start with, its context as far as it goes.
        Some(ahead) if cfg.feature_context_s.is_some() => {
            let first = match cfg.length {
                WindowLength::Duration { seconds } => {
                    ts.partition_point(|&t| t < ts[seg_start] + seconds)
                }
                WindowLength::Count { events } => seg_start + events.max(1),
            };
            ts.partition_point(|&t| t <= ts[n - 1] - ahead + 1e-9)
                .max(first)
        }
        _ => n,
    }
    .clamp(seg_start + 1, n);
    let start = match cfg.length {
        // Training's windows hold [s, s + L): the newest event and those less than L before it.
        WindowLength::Duration { seconds } => ts.partition_point(|&t| t <= ts[end - 1] - seconds),
        WindowLength::Count { events } => end.saturating_sub(events.max(1)),
    }
    .max(seg_start);
    let cfg = WindowConfig {
        max_events: cfg.max_events.max(1),
        ..cfg.clone()
    };
    Some(
        WindowPlan::of_ranges(0, trial, &cfg, std::iter::once(start..end).collect())
            .window(trial, 0),
    )
}

/// `trial` on an even clock at `hz` (`window.resample_hz`): each segment without a gap over
/// `max_gap_s` from its first event to its last, by linear interpolation of its samples (those
/// sharing a timestamp averaged), or with `smooth` seconds (`window.smooth_s`) the mean of that
/// line over `smooth` seconds centred on each instant (within the segment). Key, gyroscope flag
/// and skeleton stay.
pub fn even_clock(trial: &Trial, hz: f64, max_gap_s: f64, smooth: Option<f64>) -> Trial {
    let n = trial.events.len().min(trial.timestamps.len());
    let (mut events, mut timestamps) = (Vec::new(), Vec::new());
    for seg in segments(&trial.timestamps[..n], max_gap_s) {
        let interp = crate::data::events::Interpolator::new(
            &trial.events[seg.clone()],
            &trial.timestamps[seg.clone()],
        );
        let Some((t0, t1)) = interp.span() else {
            continue;
        };
        let count = ((t1 - t0) * hz + 1e-9).floor() as usize + 1;
        for i in 0..count {
            let t = t0 + i as f64 / hz;
            timestamps.push(t);
            events.push(match smooth {
                Some(w) => interp.mean((t - w / 2.0).max(t0), (t + w / 2.0).min(t1)),
                None => interp.at(t),
            });
        }
    }
    Trial {
        key: trial.key,
        events,
        timestamps,
        gyro_missing: trial.gyro_missing,
        skeleton: trial.skeleton.clone(),
    }
}

/// Windows of every trial.
pub fn window_trials(trials: &[Trial], cfg: &WindowConfig, purpose: Purpose) -> Vec<Window> {
    trials
        .iter()
        .enumerate()
        .flat_map(|(i, t)| window_trial(i, t, cfg, purpose))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(ts: Vec<f64>, activity: u16, skeleton: usize) -> Trial {
        Trial {
            key: TrialKey {
                subject: 1,
                activity,
                trial: 1,
            },
            events: ts.iter().map(|&t| [t as f32; 6]).collect(),
            timestamps: ts,
            gyro_missing: false,
            skeleton: (skeleton > 0).then(|| vec![[0.0; 96]; skeleton]),
        }
    }

    #[test]
    fn an_even_clock_keeps_gaps_and_feeds_every_window_path() {
        // Bursts (pairs of duplicates 50 ms apart), then a 100 s gap, then 3 s more.
        let mut ts: Vec<f64> = (0..200).map(|i| (i / 2) as f64 * 0.05).collect();
        ts.extend((0..120).map(|i| 105.0 + i as f64 * 0.025));
        let t = trial(ts, 1, 0);
        let even = even_clock(&t, 20.0, 1.0, None);
        // 4.95 s at 20 Hz is 100 instants, 2.975 s is 60.
        assert_eq!(even.events.len(), 100 + 60);
        assert!(
            even.timestamps[..100]
                .windows(2)
                .all(|w| (w[1] - w[0] - 0.05).abs() < 1e-9)
        );
        assert!((even.timestamps[100] - 105.0).abs() < 1e-12);
        // Interpolated values: each event holds its timestamp, so values follow the clock.
        assert!((even.events[3][0] - 0.15).abs() < 1e-5);
        let cfg = WindowConfig {
            resample_hz: Some(20.0),
            ..WindowConfig::default()
        };
        let w = window_trial(0, &t, &cfg, Purpose::Eval);
        assert!(!w.is_empty());
        for w in &w {
            assert!(
                w.timestamps
                    .windows(2)
                    .all(|p| (p[1] - p[0] - 0.05).abs() < 1e-9)
            );
        }
        let live = last_window(&t, &cfg).unwrap();
        assert!(
            live.timestamps
                .windows(2)
                .all(|p| (p[1] - p[0] - 0.05).abs() < 1e-9)
        );
        assert!(cfg.validate().is_ok());
        let bad = WindowConfig {
            resample_hz: Some(0.0),
            ..WindowConfig::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("resample_hz")
        );
    }

    #[test]
    fn gaps_split_recordings() {
        let mut ts: Vec<f64> = (0..200).map(|i| i as f64 * 0.03).collect();
        ts.extend((0..200).map(|i| 1500.0 + i as f64 * 0.03));
        let t = trial(ts, 1, 0);
        let w = window_trial(0, &t, &WindowConfig::default(), Purpose::Eval);
        assert!(!w.is_empty());
        for win in &w {
            assert!(
                *win.timestamps.last().unwrap() < 4.0 + 1e-9,
                "window spans the gap"
            );
        }
        assert!(w.iter().any(|x| x.start_s >= 1500.0));
    }

    #[test]
    fn windows_far_from_zero_end() {
        // A lone event far out (a corrupt timestamp line): a running start + stride stopped
        // moving there and the loop filled memory (found by tests/fuzz.rs).
        let mut ts: Vec<f64> = (0..200).map(|i| i as f64 * 0.03).collect();
        ts.push(1e20);
        let cfg = WindowConfig {
            min_events: 1,
            ..WindowConfig::default()
        };
        let w = window_trial(0, &trial(ts, 1, 0), &cfg, Purpose::Eval);
        // It ends; the normal part keeps its windows (the lone event is too far out for a
        // 4 s window to hold it: parse_timestamp refuses such times before they get here).
        assert!(!w.is_empty() && w.len() < 10, "{}", w.len());
        assert!(w.iter().all(|x| x.start_s < 10.0));
    }

    #[test]
    fn falls_get_denser_strides_in_training_only() {
        let ts: Vec<f64> = (0..400).map(|i| i as f64 * 0.03).collect();
        let cfg = WindowConfig::default();
        let fall = window_trial(0, &trial(ts.clone(), 11, 0), &cfg, Purpose::Train).len();
        let adl = window_trial(0, &trial(ts.clone(), 2, 0), &cfg, Purpose::Train).len();
        assert!(fall > 3 * adl, "{fall} vs {adl}");
        let fe = window_trial(0, &trial(ts.clone(), 11, 0), &cfg, Purpose::Eval).len();
        let ae = window_trial(0, &trial(ts, 2, 0), &cfg, Purpose::Eval).len();
        assert_eq!(fe, ae);
    }

    #[test]
    fn count_windows_and_thinning() {
        let ts: Vec<f64> = (0..100).map(|i| i as f64 * 0.01).collect();
        let cfg = WindowConfig {
            length: WindowLength::Count { events: 40 },
            min_events: 10,
            max_events: 20,
            ..Default::default()
        };
        let w = window_trial(0, &trial(ts, 1, 0), &cfg, Purpose::Eval);
        assert!(w.iter().all(|x| x.events.len() <= 20));
        assert!(w.len() >= 4);
    }

    #[test]
    fn group_protocol_crops_around_the_variance_peak_and_strides_falls_densely() {
        // 1000 events, a burst of variation around event 700.
        let ts: Vec<f64> = (0..1000).map(|i| i as f64 * 0.02).collect();
        let mut t = trial(ts, 11, 0);
        for (i, e) in t.events.iter_mut().enumerate() {
            let z = if (690..710).contains(&i) {
                if i % 2 == 0 { 40.0 } else { 2.0 }
            } else {
                9.8
            };
            *e = [0.0, 0.0, z, 0.0, 0.0, 0.0];
        }
        let r = variance_peak_crop(&t, 100);
        assert!(r.start >= 580 && r.start <= 620 && r.len() == 201, "{r:?}");
        let cfg = WindowConfig {
            length: WindowLength::Count { events: 128 },
            crop_events: 100,
            eval_fall_stride: Some(0.125),
            ..Default::default()
        };
        let w = window_trial(0, &t, &cfg, Purpose::Eval);
        assert!(w.len() >= 5, "{}", w.len());
        assert!(
            w.iter()
                .all(|w| w.start_s >= r.start as f64 * 0.02 - 1e-9 && w.label)
        );
        let adl = window_trial(0, &trial(t.timestamps.clone(), 2, 0), &cfg, Purpose::Eval);
        assert!(adl.len() < w.len());
    }

    #[test]
    fn thinning_keeps_the_impact() {
        // 400 events, the peak on an index even thinning to 256 skips.
        let ts: Vec<f64> = (0..400).map(|i| i as f64 * 0.01).collect();
        let mut t = trial(ts, 11, 0);
        for e in t.events.iter_mut() {
            *e = [0.0, 0.0, 9.8, 0.0, 0.0, 0.0];
        }
        let skipped = (0..400)
            .find(|i| !(0..256).any(|j| j * 400 / 256 == *i))
            .unwrap();
        t.events[skipped][2] = 70.0;
        let cfg = WindowConfig {
            max_events: 256,
            ..Default::default()
        };
        let w = window_trial(0, &t, &cfg, Purpose::Eval);
        assert_eq!(w[0].events.len(), 256);
        assert!(w[0].events.iter().any(|e| e[2] == 70.0));
        assert!(w[0].timestamps.windows(2).all(|p| p[0] <= p[1]));
        assert_eq!(thin_indices(5, 8, 2), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn skeleton_partner_comes_from_the_same_trial_at_the_same_tau() {
        let ts: Vec<f64> = (0..1000).map(|i| i as f64 * 0.02).collect(); // 20 s
        let trials = vec![trial(ts.clone(), 1, 300), trial(ts, 12, 600)];
        let ws = window_trials(&trials, &WindowConfig::default(), Purpose::Eval);
        for w in &ws {
            let frames = trials[w.trial].skeleton.as_ref().unwrap().len();
            assert_eq!(trials[w.trial].key, w.key);
            let (a, b) = w.skeleton_frames.unwrap();
            assert!(a < b && b <= frames);
            assert!(((a as f64 / frames as f64) - w.tau.0).abs() < 0.01);
        }
        assert_eq!(
            pair_skeleton(100, (0.5, 0.52), SkeletonPairing::Tau),
            (0, 100)
        );
        assert_eq!(
            pair_skeleton(100, (0.5, 0.7), SkeletonPairing::WholeTrial),
            (0, 100)
        );
        assert_eq!(
            pair_skeleton(100, (0.5, 0.7), SkeletonPairing::Tau),
            (50, 70)
        );
    }

    #[test]
    fn impact_windows_keep_only_fall_windows_around_the_peak() {
        // 40 s at 50 Hz, |acc| peak at t = 20 s.
        let ts: Vec<f64> = (0..2000).map(|i| i as f64 * 0.02).collect();
        let mut fall = trial(ts.clone(), 11, 0);
        for (e, &t) in fall.events.iter_mut().zip(&ts) {
            *e = [
                0.0,
                0.0,
                if (t - 20.0).abs() < 0.01 { 60.0 } else { 9.8 },
                0.0,
                0.0,
                0.0,
            ];
        }
        assert!((impact_time(&fall).unwrap() - 20.0).abs() < 0.02);
        let cfg = WindowConfig {
            fall_windows: FallWindows::Impact,
            ..Default::default()
        };
        let all = window_trial(0, &fall, &WindowConfig::default(), Purpose::Eval);
        let kept = window_trial(0, &fall, &cfg, Purpose::Eval);
        assert!(
            !kept.is_empty() && kept.len() < all.len() / 4,
            "{} of {}",
            kept.len(),
            all.len()
        );
        for w in &kept {
            let (a, b) = (w.start_s, w.start_s + w.timestamps.last().unwrap());
            assert!(a + 0.5 <= 20.0 + 1e-9 && 20.0 <= b - 0.5 + 1e-9, "{a}..{b}");
            assert!(w.label);
        }
        // ADL trials keep every window.
        let adl = trial(ts, 2, 0);
        assert_eq!(
            window_trial(0, &adl, &cfg, Purpose::Eval).len(),
            window_trial(0, &adl, &WindowConfig::default(), Purpose::Eval).len()
        );
    }

    #[test]
    fn feature_context_is_the_last_seconds_up_to_the_window_end() {
        // 30 s at 40 Hz, a 2 s gap at 12 s, a large |a| at 20 s.
        let mut ts: Vec<f64> = (0..480).map(|i| i as f64 * 0.025).collect();
        ts.extend((0..720).map(|i| 14.0 + i as f64 * 0.025));
        let mut t = trial(ts, 2, 0);
        let peak = t.timestamps.iter().position(|&x| x >= 20.0).unwrap();
        t.events[peak] = [900.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let plain = WindowConfig::default();
        let cfg = WindowConfig {
            feature_context_s: Some(10.0),
            max_events: 256,
            ..plain.clone()
        };
        let ws = window_trial(0, &t, &cfg, Purpose::Eval);
        let base = window_trial(0, &t, &plain, Purpose::Eval);
        assert_eq!(ws.len(), base.len(), "the context changes no window");
        assert!(base.iter().all(|w| w.context.is_none()));
        for (w, b) in ws.iter().zip(&base) {
            assert_eq!((w.start_s, &w.timestamps), (b.start_s, &b.timestamps));
            let c = w.context.as_ref().expect("a context");
            let end = w.start_s + w.timestamps.last().unwrap();
            let span = c.timestamps.last().unwrap();
            // It ends at the window's last event (the events are their own times; even
            // thinning may skip it, never more than one sample here), spans at most 10 s, never
            // reaches back over the gap, and holds at least the window.
            let last = c.events.last().unwrap()[1] as f64;
            assert!(
                last <= end + 1e-4 && last >= end - 0.025 - 1e-4,
                "{last} vs {end}"
            );
            assert!(*span <= 10.0 + 1e-9 && *span >= w.timestamps.last().unwrap() - 1e-9);
            let first = end - span;
            assert!(end < 12.0 + 1e-9 || first >= 14.0 - 1e-9, "{first}..{end}");
            if end >= 24.5 {
                assert!(*span > 9.9, "a full 10 s when the segment has it: {span}");
                assert!(c.events.len() <= 256, "thinned: {}", c.events.len());
            }
            if first <= 20.0 && end >= 20.0 {
                assert!(c.events.iter().any(|e| e[0] == 900.0), "keeps the peak");
            }
        }
        let bad = WindowConfig {
            feature_context_s: Some(0.0),
            ..plain
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("feature_context_s")
        );
    }

    #[test]
    fn last_window_ends_at_the_newest_event() {
        let ts: Vec<f64> = (0..800).map(|i| i as f64 * 0.025).collect();
        let t = trial(ts, 1, 0);
        let cfg = WindowConfig {
            feature_context_s: Some(10.0),
            max_events: 1000,
            ..Default::default()
        };
        let w = last_window(&t, &cfg).unwrap();
        let end = w.start_s + w.timestamps.last().unwrap();
        assert!((end - 19.975).abs() < 1e-9, "{end}");
        assert!((w.timestamps.last().unwrap() - 3.975).abs() < 1e-6);
        assert!((w.context.unwrap().timestamps.last().unwrap() - 10.0).abs() < 1e-6);
        // Shorter than a window: all of it; no events: none.
        let short = trial((0..50).map(|i| i as f64 * 0.025).collect(), 1, 0);
        assert_eq!(last_window(&short, &cfg).unwrap().events.len(), 50);
        assert!(last_window(&trial(vec![], 1, 0), &cfg).is_none());
        // A plan without a gap split (inference's whole-recording fallback) keeps its contexts
        // to the gap rule it is given.
        let mut ts: Vec<f64> = (0..200).map(|i| i as f64 * 0.025).collect();
        ts.extend((0..40).map(|i| 10.0 + i as f64 * 0.025));
        let gapped = trial(ts, 1, 0);
        let whole = WindowConfig {
            length: WindowLength::Count { events: 240 },
            max_gap_s: f64::MAX,
            ..cfg.clone()
        };
        let plan = WindowPlan::new(0, &gapped, &whole, Purpose::Eval);
        let across = plan.window(&gapped, 0).context.unwrap();
        let kept = plan
            .with_context_gap(1.0)
            .window(&gapped, 0)
            .context
            .unwrap();
        // 10 s back from 10.975 s: 161 events before the gap and the 40 after it, or only these.
        assert_eq!((across.events.len(), kept.events.len()), (201, 40));
        // A gap: the window starts after it.
        let mut ts: Vec<f64> = (0..200).map(|i| i as f64 * 0.025).collect();
        ts.extend((0..40).map(|i| 10.0 + i as f64 * 0.025));
        let w = last_window(&trial(ts, 1, 0), &cfg).unwrap();
        assert_eq!((w.start_s, w.events.len()), (10.0, 40));
    }

    #[test]
    fn a_context_ahead_reaches_past_the_window_and_live_scoring_waits_for_it() {
        // 40 s at 40 Hz (events are their own times), a 2 s gap at 30 s.
        let mut ts: Vec<f64> = (0..1200).map(|i| i as f64 * 0.025).collect();
        ts.extend((0..200).map(|i| 32.0 + i as f64 * 0.025));
        let t = trial(ts, 2, 0);
        let cfg = WindowConfig {
            feature_context_s: Some(10.0),
            feature_context_ahead_s: Some(6.0),
            max_events: 2000,
            ..Default::default()
        };
        let first_event = |c: &FeatureContext| c.events[0][1] as f64;
        let last_event = |c: &FeatureContext| c.events.last().unwrap()[1] as f64;
        let ws = window_trial(0, &t, &cfg, Purpose::Eval);
        for w in &ws {
            let end = w.start_s + w.timestamps.last().unwrap();
            let c = w.context.as_ref().unwrap();
            let (a, b) = (first_event(c), last_event(c));
            // Never across the gap; up to 6 s ahead; 10 s back from the last event reached.
            assert!(b <= 30.0 || a >= 32.0, "{a}..{b}");
            let seg_end = if end < 30.0 { 29.975 } else { 36.975 };
            let want_b = (end + 6.0).min(seg_end);
            assert!(
                (b - want_b).abs() < 0.03,
                "{b} vs {want_b} (window end {end})"
            );
            let seg_start = if end < 30.0 { 0.0 } else { 32.0 };
            assert!((a - (b - 10.0).max(seg_start)).abs() < 0.03, "{a} vs {b}");
        }
        // A 4 s window with 6 s ahead in a 10 s context: the context is the 10 s from its start.
        let mid = ws.iter().find(|w| (w.start_s - 10.0).abs() < 1e-9).unwrap();
        let c = mid.context.as_ref().unwrap();
        assert!((first_event(c) - 10.0).abs() < 0.03 && (last_event(c) - 20.0).abs() < 0.03);
        // Live: once the event at 25 s arrives, the window ending 6 s earlier is scored, with
        // the context a recording's windowing gives it.
        let upto = trial(t.timestamps[..=1000].to_vec(), 2, 0);
        let live = last_window(&upto, &cfg).unwrap();
        let end = live.start_s + live.timestamps.last().unwrap();
        assert!((end - 19.0).abs() < 1e-9, "{end}");
        let c = live.context.unwrap();
        assert!((first_event(&c) - 15.0).abs() < 1e-9 && (last_event(&c) - 25.0).abs() < 1e-9);
        // Less than 6 s of a new segment after a gap: the segment's first window (all of its
        // 50 events here, less than 4 s), its context as far as the stream goes.
        let upto = trial(t.timestamps[..1250].to_vec(), 2, 0);
        let live = last_window(&upto, &cfg).unwrap();
        assert_eq!((live.start_s, live.events.len()), (32.0, 50));
        let upto = trial(t.timestamps[..1400].to_vec(), 2, 0);
        let live = last_window(&upto, &cfg).unwrap();
        assert_eq!((live.start_s, live.events.len()), (32.0, 160));
        assert!((last_event(&live.context.unwrap()) - 36.975).abs() < 1e-4);
        // Ahead without a context is refused, naming the key.
        let bad = WindowConfig {
            feature_context_s: None,
            ..cfg
        };
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("feature_context_ahead_s"), "{e}");
    }
}
