//! Windows to tensors: student batches (padded events + mask, and the fixed-rate grid) and
//! teacher batches (the paired skeleton stretch resampled to a fixed frame count).

use burn::tensor::{Device, Tensor, TensorData};

use super::events::{CHANNELS, Interpolator};
use super::normalize::NormStats;
use super::skeleton_csv::{Frame, SKELETON_DIM};
use super::window::Window;

/// Student input for a batch of windows.
#[derive(Debug, Clone)]
pub struct StudentBatch {
    /// `(B, N, 6)` normalised events, zero-padded to the longest window.
    pub events: Tensor<3>,
    /// `(B, N)` seconds since each window's first event.
    pub timestamps: Tensor<2>,
    /// `(B, N)` 1 valid, 0 padded.
    pub mask: Tensor<2>,
    /// `(B, L, 6)` the same windows interpolated onto L even instants (fixed-rate baseline).
    pub grid: Tensor<3>,
    /// `(B)` 0/1 labels.
    pub labels: Tensor<1>,
}

/// Raw (host) form of a student window, used by the browser and perturbation code too.
#[derive(Debug, Clone, Default)]
pub struct EventWindow {
    /// Un-normalised events.
    pub events: Vec<[f32; CHANNELS]>,
    /// Seconds, sorted.
    pub timestamps: Vec<f64>,
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
    let mut ev = vec![0f32; b * n * CHANNELS];
    let mut ts = vec![0f32; b * n];
    let mut mask = vec![0f32; b * n];
    let mut grid = Vec::with_capacity(b * grid_len * CHANNELS);
    for (i, w) in windows.iter().enumerate() {
        let t0 = w.timestamps.first().copied().unwrap_or(0.0);
        let normed: Vec<[f32; CHANNELS]> = w.events.iter().map(|e| stats.imu(e)).collect();
        for (k, e) in normed.iter().enumerate() {
            ev[(i * n + k) * CHANNELS..(i * n + k + 1) * CHANNELS].copy_from_slice(e);
            ts[i * n + k] = (w.timestamps[k] - t0) as f32;
            mask[i * n + k] = 1.0;
        }
        for g in Interpolator::new(&normed, &w.timestamps).grid(grid_len) {
            grid.extend_from_slice(&g);
        }
    }
    StudentBatch {
        events: Tensor::from_data(TensorData::new(ev, [b, n, CHANNELS]), device),
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

impl From<&Window> for EventWindow {
    fn from(w: &Window) -> Self {
        EventWindow {
            events: w.events.clone(),
            timestamps: w.timestamps.clone(),
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
