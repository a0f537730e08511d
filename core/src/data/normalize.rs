//! Normalisation statistics, computed on training subjects only and stored with the model.

use serde::{Deserialize, Serialize};

use super::events::{CHANNELS, Event};
use super::gravity::Axes;
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
    /// Statistics of the hand-made window features, for a student with the window-feature
    /// path (`None` for every other model; older model files have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<FeatureStats>,
    /// Statistics of the two magnitude channels, for a student with `magnitude_channels` on
    /// (`None` for every other model; older model files have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub magnitude: Option<MagnitudeStats>,
    /// The frame the student reads events in ([`Axes`]); the IMU statistics above are of the
    /// events in that frame. Older model files have none: the device frame.
    #[serde(default, skip_serializing_if = "Axes::is_device")]
    pub axes: Axes,
}

/// Number of magnitude channels a student with `magnitude_channels` reads after the six IMU
/// channels: `ln(1 + |a|)` and `ln(1 + |g|)`.
pub const MAGNITUDE_CHANNELS: usize = 2;

/// Scaling of the two magnitude channels `ln(1 + |a|)` and `ln(1 + |g|)`, z-scored with the
/// mean and standard deviation of the training events.
///
/// Why compressed: the event embedding is `SiLU(LayerNorm(Linear(...)))`, and a layer norm
/// keeps little of its input's overall scale: once an impact's channels dwarf the bias and the
/// time features, a 3 g and a 10 g impact in the same direction embed nearly alike. A
/// logarithmic channel grows slower than the raw ones, so the direction of the event vector,
/// which the layer norm keeps, changes with the impact's size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MagnitudeStats {
    /// Mean of `ln(1 + |a|)` and `ln(1 + |g|)`.
    pub mean: [f32; MAGNITUDE_CHANNELS],
    /// Their standard deviations (at least 1e-3).
    pub std: [f32; MAGNITUDE_CHANNELS],
}

/// `ln(1 + |a|)` and `ln(1 + |g|)` of one raw event.
fn log_magnitudes(e: &Event) -> [f32; MAGNITUDE_CHANNELS] {
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    [norm(&e[..3]).ln_1p(), norm(&e[3..]).ln_1p()]
}

impl MagnitudeStats {
    /// Statistics of the given raw training events (non-finite magnitudes skipped).
    pub fn fit<'a>(events: impl Iterator<Item = &'a Event>) -> MagnitudeStats {
        let mut n = [0f64; MAGNITUDE_CHANNELS];
        let mut s = [0f64; MAGNITUDE_CHANNELS];
        let mut s2 = [0f64; MAGNITUDE_CHANNELS];
        for e in events {
            for (c, v) in log_magnitudes(e).into_iter().enumerate() {
                if v.is_finite() {
                    n[c] += 1.0;
                    s[c] += v as f64;
                    s2[c] += (v as f64).powi(2);
                }
            }
        }
        let mut out = MagnitudeStats {
            mean: [0.0; MAGNITUDE_CHANNELS],
            std: [1.0; MAGNITUDE_CHANNELS],
        };
        for c in 0..MAGNITUDE_CHANNELS {
            if n[c] > 0.0 {
                let m = s[c] / n[c];
                out.mean[c] = m as f32;
                out.std[c] = ((s2[c] / n[c] - m * m).max(0.0).sqrt() as f32).max(1e-3);
            }
        }
        out
    }

    /// The two scaled magnitude channels of one raw event.
    pub fn apply(&self, e: &Event) -> [f32; MAGNITUDE_CHANNELS] {
        let v = log_magnitudes(e);
        std::array::from_fn(|c| (v[c] - self.mean[c]) / self.std[c])
    }
}

/// Scaling of the hand-made window features ([`crate::features`]) for a neural input: each
/// value is compressed by `sign(x) ln(1 + |x|)` (jerk and energy span orders of magnitude and a
/// fall's value must not dwarf the rest), then z-scored with the mean and standard deviation of
/// the training windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureStats {
    /// Mean of each compressed feature.
    pub mean: Vec<f32>,
    /// Standard deviation of each compressed feature (at least 1e-3).
    pub std: Vec<f32>,
}

fn compress(x: f32) -> f32 {
    x.signum() * x.abs().ln_1p()
}

impl FeatureStats {
    /// Statistics of the feature vectors of the training windows (non-finite values read as 0,
    /// as [`FeatureStats::apply`] reads them).
    pub fn fit<'a>(rows: impl Iterator<Item = &'a [f32]>) -> FeatureStats {
        let mut n = 0f64;
        let (mut s, mut s2): (Vec<f64>, Vec<f64>) = (vec![], vec![]);
        for r in rows {
            if s.is_empty() {
                s = vec![0.0; r.len()];
                s2 = vec![0.0; r.len()];
            }
            n += 1.0;
            for (k, &v) in r.iter().enumerate().take(s.len()) {
                let c = compress(if v.is_finite() { v } else { 0.0 }) as f64;
                s[k] += c;
                s2[k] += c * c;
            }
        }
        let mean: Vec<f64> = s.iter().map(|v| v / n.max(1.0)).collect();
        FeatureStats {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std: s2
                .iter()
                .zip(&mean)
                .map(|(q, m)| ((q / n.max(1.0) - m * m).max(0.0).sqrt() as f32).max(1e-3))
                .collect(),
        }
    }

    /// Scaled copy of one feature vector (features past the fitted count are dropped, missing
    /// ones read as 0).
    pub fn apply(&self, row: &[f32]) -> Vec<f32> {
        (0..self.mean.len())
            .map(|k| {
                let v = row.get(k).copied().unwrap_or(0.0);
                let v = if v.is_finite() { v } else { 0.0 };
                (compress(v) - self.mean[k]) / self.std[k]
            })
            .collect()
    }
}

impl Default for NormStats {
    fn default() -> Self {
        NormStats {
            imu_mean: [0.0; CHANNELS],
            imu_std: [1.0; CHANNELS],
            skeleton_std: [1.0; 3],
            features: None,
            magnitude: None,
            axes: Axes::Device,
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
            for (sd, q) in out.skeleton_std.iter_mut().zip(q) {
                *sd = ((q / m).sqrt() as f32).max(1e-3);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_scaling_compresses_then_standardises() {
        let rows = [
            vec![0.0f32, 1.0, -5.0],
            vec![2.0, 1.0, 1e6],
            vec![4.0, 1.0, 7.0],
        ];
        let fs = FeatureStats::fit(rows.iter().map(|r| &r[..]));
        // Column 0: ln(1+x) of 0, 2, 4.
        let c: Vec<f64> = [0.0f64, 2.0, 4.0].iter().map(|x| x.ln_1p()).collect();
        let m = c.iter().sum::<f64>() / 3.0;
        assert!((fs.mean[0] as f64 - m).abs() < 1e-6);
        // A constant column gets the 1e-3 floor, not a division by zero.
        assert_eq!(fs.std[1], 1e-3);
        let out = fs.apply(&rows[1]);
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|v| v.is_finite()));
        // 1e6 is compressed to ~13.8 before scaling: a large but bounded value.
        assert!(out[2] > 0.0 && out[2] < 3.0, "{out:?}");
        // Non-finite inputs read as 0; short rows are padded with 0.
        let z = fs.apply(&[f32::NAN]);
        assert_eq!(z.len(), 3);
        assert!(z.iter().all(|v| v.is_finite()));
        assert_eq!(z[0], fs.apply(&[0.0])[0]);
    }

    #[test]
    fn statistics_without_feature_scaling_round_trip_as_before() {
        let s = NormStats::default();
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("features"), "{json}");
        let back: NormStats = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn magnitude_channels_are_log_compressed_then_standardised() {
        // |a| = 5 and 0 (ln 6 and ln 1 = 0), |g| = 1 and 3 (ln 2 and ln 4).
        let events = [
            [3.0, 4.0, 0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0, -3.0],
        ];
        let m = MagnitudeStats::fit(events.iter());
        let close = |a: f32, b: f32| (a - b).abs() < 1e-5;
        assert!(close(m.mean[0], 6f32.ln() / 2.0), "{m:?}");
        assert!(close(m.std[0], 6f32.ln() / 2.0), "{m:?}");
        assert!(close(m.mean[1], (2f32.ln() + 4f32.ln()) / 2.0), "{m:?}");
        assert!(close(m.apply(&events[0])[0], 1.0) && close(m.apply(&events[1])[0], -1.0));
        assert!(close(m.apply(&events[0])[1], -1.0) && close(m.apply(&events[1])[1], 1.0));
        // A bigger impact along the same direction moves the log channel by less than the raw
        // ones: the direction of the whole event vector changes with the size.
        let small = m.apply(&[30.0, 40.0, 0.0, 0.0, 0.0, 0.0])[0];
        let big = m.apply(&[90.0, 120.0, 0.0, 0.0, 0.0, 0.0])[0];
        assert!(big > small && big < 3.0 * small, "{small} {big}");
        // Statistics with the channels survive a round trip; those without do not name them.
        let s = NormStats {
            magnitude: Some(m),
            ..NormStats::default()
        };
        let back: NormStats = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        let plain = serde_json::to_string(&NormStats::default()).unwrap();
        assert!(!plain.contains("magnitude"), "{plain}");
    }
}
