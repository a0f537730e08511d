//! Windows to tensors: student batches (padded events + mask, and the fixed-rate grid) and
//! teacher batches (the paired skeleton stretch resampled to a fixed frame count).

use burn::tensor::{Device, Tensor, TensorData};

use crate::data::events::{CHANNELS, Event, Interpolator};
use crate::data::gravity::{Axes, to_gravity_axes};
use crate::data::normalize::{MAGNITUDE_CHANNELS, NormStats};
use crate::data::skeleton_csv::{Frame, SKELETON_DIM};
use crate::data::window::{FeatureContext, Window};
use crate::perturb::Perturbation;

/// Student input for a batch of windows.
#[derive(Debug, Clone)]
pub struct StudentBatch {
    /// `(B, N, C)` normalised events, zero-padded to the longest window: C = 6, or 8 when the
    /// statistics carry magnitude scaling (a student with `magnitude_channels`: the six
    /// channels, then `ln(1 + |a|)` and `ln(1 + |g|)` scaled).
    pub events: Tensor<3>,
    /// `(B, N)` seconds since each window's first event.
    pub timestamps: Tensor<2>,
    /// `(B, N)` 1 valid, 0 padded.
    pub mask: Tensor<2>,
    /// `(B, L, 6)` the same windows interpolated onto L even instants (fixed-rate baseline).
    pub grid: Tensor<3>,
    /// `(B)` 0/1 labels.
    pub labels: Tensor<1>,
    /// `(B, F)` scaled hand-made window features, when the statistics carry feature scaling
    /// (a student with the window-feature path); `None` otherwise.
    pub features: Option<Tensor<2>>,
}

/// The hand-made features ([`crate::features::window_features`]) of one raw window, over its
/// feature context when it has one (`window.feature_context_s`), else over the window. A window
/// whose gyroscope channels are all exactly zero (no gyroscope, or gyroscope dropout in
/// training) counts as one without a gyroscope. The device frame's features; see
/// [`window_feature_row_in`].
pub fn window_feature_row(w: &EventWindow) -> [f32; crate::features::NUM_FEATURES] {
    window_feature_row_in(w, Axes::Device)
}

/// [`window_feature_row`] for a student that reads `axes`: in gravity axes the features tied to
/// the watch's own axes or to its sampling rate are replaced
/// ([`crate::features::frame_free`]).
pub fn window_feature_row_in(w: &EventWindow, axes: Axes) -> [f32; crate::features::NUM_FEATURES] {
    let gyro_missing = w.events.iter().all(|e| e[3..].iter().all(|&v| v == 0.0));
    let (events, timestamps) = match &w.context {
        Some(c) => (&c.events, &c.timestamps),
        None => (&w.events, &w.timestamps),
    };
    let mut row = crate::features::window_features(events, timestamps, gyro_missing);
    if axes == Axes::Gravity {
        crate::features::frame_free(&mut row, events, timestamps, gyro_missing);
    }
    row
}

/// One window's events in the frame `axes` (borrowed in the device frame).
pub fn events_in(w: &EventWindow, axes: Axes) -> std::borrow::Cow<'_, [Event]> {
    match axes {
        Axes::Device => std::borrow::Cow::Borrowed(&w.events[..]),
        Axes::Gravity => std::borrow::Cow::Owned(to_gravity_axes(&w.events, &w.timestamps)),
    }
}

/// Channels per event of the student batches built from `stats`: the six IMU channels, and the
/// two magnitude channels when the statistics scale them.
pub fn event_channels(stats: &NormStats) -> usize {
    CHANNELS
        + if stats.magnitude.is_some() {
            MAGNITUDE_CHANNELS
        } else {
            0
        }
}

/// One window's events as the student reads them, event by event: the six normalised channels,
/// then the scaled magnitudes when the statistics carry them ([`event_channels`] values each).
pub fn student_events(w: &EventWindow, stats: &NormStats) -> Vec<f32> {
    let mut out = Vec::with_capacity(w.events.len() * event_channels(stats));
    let framed = events_in(w, stats.axes);
    for (e, f) in w.events.iter().zip(framed.iter()) {
        out.extend_from_slice(&stats.imu(f));
        if let Some(m) = &stats.magnitude {
            out.extend_from_slice(&m.apply(e));
        }
    }
    out
}

/// A window's event times in seconds since its first event, as the student reads them.
pub fn relative_times(w: &EventWindow) -> Vec<f32> {
    let t0 = w.timestamps.first().copied().unwrap_or(0.0);
    w.timestamps.iter().map(|t| (t - t0) as f32).collect()
}

/// Raw (host) form of a student window, used by the browser and perturbation code too.
#[derive(Debug, Clone, Default)]
pub struct EventWindow {
    /// Un-normalised events.
    pub events: Vec<[f32; CHANNELS]>,
    /// Seconds, sorted.
    pub timestamps: Vec<f64>,
    /// What the window features are computed over, with `window.feature_context_s` (None: the
    /// window itself).
    pub context: Option<FeatureContext>,
}

/// Builds a student batch from host windows. `grid_len` is the baseline's L.
pub fn student_batch(
    windows: &[&EventWindow],
    labels: &[bool],
    stats: &NormStats,
    grid_len: usize,
    device: &Device,
) -> StudentBatch {
    let b = windows.len();
    let n = windows.iter().map(|w| w.events.len()).max().unwrap_or(0);
    let c = event_channels(stats);
    let mut ev = vec![0f32; b * n * c];
    let mut ts = vec![0f32; b * n];
    let mut mask = vec![0f32; b * n];
    let mut grid = Vec::with_capacity(b * grid_len * CHANNELS);
    for (i, w) in windows.iter().enumerate() {
        let len = w.events.len();
        let rows = student_events(w, stats);
        ev[i * n * c..(i * n + len) * c].copy_from_slice(&rows);
        let normed: Vec<[f32; CHANNELS]> = rows
            .chunks_exact(c)
            .map(|r| r[..CHANNELS].try_into().expect("six channels first"))
            .collect();
        ts[i * n..i * n + len].copy_from_slice(&relative_times(w));
        mask[i * n..i * n + len].fill(1.0);
        for g in Interpolator::new(&normed, &w.timestamps).grid(grid_len) {
            grid.extend_from_slice(&g);
        }
    }
    let features = stats.features.as_ref().map(|fs| {
        let rows: Vec<f32> = windows
            .iter()
            .flat_map(|w| fs.apply(&window_feature_row_in(w, stats.axes)))
            .collect();
        Tensor::from_data(TensorData::new(rows, [b, fs.mean.len()]), device)
    });
    StudentBatch {
        features,
        events: Tensor::from_data(TensorData::new(ev, [b, n, c]), device),
        timestamps: Tensor::from_data(TensorData::new(ts, [b, n]), device),
        mask: Tensor::from_data(TensorData::new(mask, [b, n]), device),
        grid: Tensor::from_data(TensorData::new(grid, [b, grid_len, CHANNELS]), device),
        labels: Tensor::from_data(
            TensorData::new(
                labels.iter().map(|&y| y as u8 as f32).collect::<Vec<_>>(),
                [b],
            ),
            device,
        ),
    }
}

impl EventWindow {
    /// The window as a stress perturbation leaves it: `perturbation` applied to its events with
    /// `seed`, and to its feature context (when it has one) with a seed derived from it (not
    /// `seed + 1`, which is a neighbouring window's seed when callers use `base ^ index`).
    pub fn perturbed(&self, perturbation: &Perturbation, seed: u64) -> EventWindow {
        let (events, timestamps) = perturbation.apply(&self.events, &self.timestamps, seed);
        let context = self.context.as_ref().map(|c| {
            let (events, timestamps) =
                perturbation.apply(&c.events, &c.timestamps, seed ^ 0x9E37_79B9_7F4A_7C15);
            FeatureContext { events, timestamps }
        });
        EventWindow {
            events,
            timestamps,
            context,
        }
    }
}

impl From<&Window> for EventWindow {
    fn from(w: &Window) -> Self {
        EventWindow {
            events: w.events.clone(),
            timestamps: w.timestamps.clone(),
            context: w.context.clone(),
        }
    }
}

/// `frames` resampled by linear interpolation of the frame index onto `t` frames.
pub fn resample_frames(frames: &[Frame], t: usize) -> Vec<Frame> {
    if frames.is_empty() {
        return vec![[0.0; SKELETON_DIM]; t];
    }
    (0..t)
        .map(|j| {
            let x = if t == 1 {
                0.0
            } else {
                j as f64 * (frames.len() - 1) as f64 / (t - 1) as f64
            };
            let a = x.floor() as usize;
            let b = (a + 1).min(frames.len() - 1);
            let w = (x - a as f64) as f32;
            let mut f = [0.0; SKELETON_DIM];
            for (k, v) in f.iter_mut().enumerate() {
                *v = frames[a][k] * (1.0 - w) + frames[b][k] * w;
            }
            f
        })
        .collect()
}

/// Teacher input: `(B, T, 96)` frames and `(B)` labels. Each item is the skeleton stretch paired
/// with a window, resampled to `frames_per_window` frames, root-centred and scaled.
pub fn teacher_batch(
    items: &[&[Frame]],
    labels: &[bool],
    stats: &NormStats,
    frames_per_window: usize,
    device: &Device,
) -> (Tensor<3>, Tensor<1>) {
    let b = items.len();
    let mut data = Vec::with_capacity(b * frames_per_window * SKELETON_DIM);
    for frames in items {
        let rs = resample_frames(frames, frames_per_window);
        let root = [rs[0][0], rs[0][1], rs[0][2]];
        for f in &rs {
            data.extend_from_slice(&stats.skeleton(f, root));
        }
    }
    (
        Tensor::from_data(
            TensorData::new(data, [b, frames_per_window, SKELETON_DIM]),
            device,
        ),
        Tensor::from_data(
            TensorData::new(
                labels.iter().map(|&y| y as u8 as f32).collect::<Vec<_>>(),
                [b],
            ),
            device,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::normalize::FeatureStats;

    fn window(gyro: f32) -> EventWindow {
        EventWindow {
            events: (0..40)
                .map(|i| [0.1 * i as f32, 0.0, 9.81, gyro, gyro, gyro])
                .collect(),
            timestamps: (0..40).map(|i| 0.025 * i as f64).collect(),
            context: None,
        }
    }

    #[test]
    fn feature_rows_mark_an_all_zero_gyroscope_as_missing() {
        let idx = crate::features::feature_index("gyro_missing").unwrap();
        assert_eq!(window_feature_row(&window(0.0))[idx], 1.0);
        assert_eq!(window_feature_row(&window(0.5))[idx], 0.0);
    }

    #[test]
    fn feature_rows_read_the_context_when_there_is_one() {
        let dur = crate::features::feature_index("duration_s").unwrap();
        let missing = crate::features::feature_index("gyro_missing").unwrap();
        let mut w = window(0.5);
        assert!((window_feature_row(&w)[dur] - 0.975).abs() < 1e-6);
        let long = window(0.0);
        w.context = Some(FeatureContext {
            events: long.events.clone(),
            timestamps: long.timestamps.iter().map(|t| t * 10.0).collect(),
        });
        assert!((window_feature_row(&w)[dur] - 9.75).abs() < 1e-5);
        // Whether the gyroscope is missing is the window's own (gyroscope dropout zeroes both).
        assert_eq!(window_feature_row(&w)[missing], 0.0);
        // A stress perturbation reaches the context too.
        let p = Perturbation::at_severity("dropout", 1.0).unwrap();
        let q = w.perturbed(&p, 7);
        assert!(q.events.len() < w.events.len());
        assert!(q.context.unwrap().events.len() < long.events.len());
    }

    #[test]
    fn batches_carry_features_exactly_when_the_statistics_scale_them() {
        let d = Device::flex();
        let (a, b) = (window(0.0), window(0.5));
        let mut stats = NormStats::default();
        assert!(
            student_batch(&[&a, &b], &[true, false], &stats, 8, &d)
                .features
                .is_none()
        );
        let rows = [window_feature_row(&a), window_feature_row(&b)];
        stats.features = Some(FeatureStats::fit(rows.iter().map(|r| &r[..])));
        let f = student_batch(&[&a, &b], &[true, false], &stats, 8, &d)
            .features
            .expect("features");
        assert_eq!(f.dims(), [2, crate::features::NUM_FEATURES]);
        let v = f
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap();
        let want = stats.features.as_ref().unwrap().apply(&rows[1]);
        assert_eq!(&v[crate::features::NUM_FEATURES..], &want[..]);
    }

    #[test]
    fn batches_carry_magnitude_channels_exactly_when_the_statistics_scale_them() {
        let d = Device::flex();
        let (a, b) = (window(0.0), window(0.5));
        let mut stats = NormStats::default();
        let plain = student_batch(&[&a, &b], &[true, false], &stats, 8, &d);
        assert_eq!(plain.events.dims()[2], CHANNELS);
        let m = crate::data::normalize::MagnitudeStats::fit(a.events.iter().chain(&b.events));
        stats.magnitude = Some(m.clone());
        let with = student_batch(&[&a, &b], &[true, false], &stats, 8, &d);
        let [_, n, c] = with.events.dims();
        assert_eq!(c, CHANNELS + MAGNITUDE_CHANNELS);
        let v: Vec<f32> = with
            .events
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap();
        let p: Vec<f32> = plain
            .events
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap();
        // Window b, event 1: the six normalised channels as before, then the magnitudes.
        let (k, pk) = ((n + 1) * c, (n + 1) * CHANNELS);
        assert_eq!(&v[k..k + CHANNELS], &p[pk..pk + CHANNELS]);
        assert_eq!(&v[k + CHANNELS..k + c], &m.apply(&b.events[1])[..]);
        // The grid of the fixed-rate baseline keeps six channels.
        assert_eq!(with.grid.dims()[2], CHANNELS);
    }
}
