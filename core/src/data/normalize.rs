//! Normalisation statistics, computed on training subjects only and stored with the model.

use serde::{Deserialize, Serialize};

use super::events::{CHANNELS, Event};
use super::skeleton_csv::{Frame, SKELETON_DIM};

/// Per-channel statistics of the IMU and per-axis statistics of the (root-centred) skeleton.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormStats {
    /// Mean of each IMU channel.
    pub imu_mean: [f32; CHANNELS],
    /// Standard deviation of each IMU channel (at least 1e-3).
    pub imu_std: [f32; CHANNELS],
    /// Standard deviation of root-centred skeleton coordinates per axis x, y, z.
    pub skeleton_std: [f32; 3],
}

impl Default for NormStats {
    fn default() -> Self {
        NormStats {
            imu_mean: [0.0; CHANNELS],
            imu_std: [1.0; CHANNELS],
            skeleton_std: [1.0; 3],
        }
    }
}

impl NormStats {
    /// Statistics of the given training events and skeleton frames.
    pub fn fit<'a>(
        events: impl Iterator<Item = &'a Event>,
        frames: impl Iterator<Item = &'a Frame>,
    ) -> NormStats {
        let mut n = 0f64;
        let mut s = [0f64; CHANNELS];
        let mut s2 = [0f64; CHANNELS];
        for e in events {
            n += 1.0;
            for c in 0..CHANNELS {
                s[c] += e[c] as f64;
                s2[c] += (e[c] as f64).powi(2);
            }
        }
        let mut out = NormStats::default();
        if n > 0.0 {
            for c in 0..CHANNELS {
                let m = s[c] / n;
                out.imu_mean[c] = m as f32;
                out.imu_std[c] = ((s2[c] / n - m * m).max(0.0).sqrt() as f32).max(1e-3);
            }
        }
        let mut m = 0f64;
        let mut q = [0f64; 3];
        for f in frames {
            for j in 0..SKELETON_DIM / 3 {
                for a in 0..3 {
                    q[a] += ((f[j * 3 + a] - f[a]) as f64).powi(2);
                }
            }
            m += (SKELETON_DIM / 3) as f64;
        }
        if m > 0.0 {
            for a in 0..3 {
                out.skeleton_std[a] = ((q[a] / m).sqrt() as f32).max(1e-3);
            }
        }
        out
    }

    /// Normalised copy of one event.
    pub fn imu(&self, e: &Event) -> Event {
        let mut o = [0.0; CHANNELS];
        for c in 0..CHANNELS {
            o[c] = (e[c] - self.imu_mean[c]) / self.imu_std[c];
        }
        o
    }

    /// Skeleton frame centred on `root` (the first joint of the window's first frame) and scaled.
    pub fn skeleton(&self, f: &Frame, root: [f32; 3]) -> Frame {
        let mut o = [0.0; SKELETON_DIM];
        for (k, v) in f.iter().enumerate() {
            o[k] = (v - root[k % 3]) / self.skeleton_std[k % 3];
        }
        o
    }
}
