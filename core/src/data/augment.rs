//! Training-time augmentation of raw watch windows: a random rotation of the watch frame and a
//! random sensor gain, so that a model learns falls rather than the way the training subjects wore
//! their watch. Applied to the un-normalised events before the window features are computed, so
//! both student paths (events and window features) see the same augmented window.

use serde::{Deserialize, Serialize};

use super::events::{Event, Interpolator};
use crate::error::Error;
use crate::rng::Rng;

/// How training windows are augmented. The default (all zero) leaves them untouched.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AugmentConfig {
    /// Probability that a training window is augmented at all (0: off).
    pub probability: f64,
    /// Largest rotation of the watch frame, in degrees, about a uniformly random axis; the
    /// accelerometer and the gyroscope turn together.
    pub rotation_deg: f64,
    /// Largest relative change of the sensor gain: 0.1 scales a window by a factor drawn
    /// uniformly from [0.9, 1.1].
    pub gain: f64,
    /// Probability that an augmented window is mirrored as the other wrist would record it
    /// (x of the acceleration negated; y and z of the rotation rate, a pseudo-vector). 0: never.
    pub mirror: f64,
    /// Probability that an augmented window is resampled onto an even clock at a rate drawn
    /// uniformly from `resample_hz`, by linear interpolation (another watch's rate). 0: never.
    pub resample: f64,
    /// Lowest and highest rate of `resample`, in Hz.
    pub resample_hz: [f64; 2],
}

impl Default for AugmentConfig {
    fn default() -> Self {
        AugmentConfig {
            probability: 0.0,
            rotation_deg: 0.0,
            gain: 0.0,
            mirror: 0.0,
            resample: 0.0,
            resample_hz: [20.0, 100.0],
        }
    }
}

impl AugmentConfig {
    /// Whether any window can change.
    pub fn is_active(&self) -> bool {
        self.probability > 0.0
            && (self.rotation_deg > 0.0
                || self.gain > 0.0
                || self.mirror > 0.0
                || self.resample > 0.0)
    }

    /// Checks the ranges, naming the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(Error::config(
                "train.augment.probability",
                format!("must be in [0, 1], got {}", self.probability),
            ));
        }
        if !(0.0..=180.0).contains(&self.rotation_deg) {
            return Err(Error::config(
                "train.augment.rotation_deg",
                format!("must be in [0, 180], got {}", self.rotation_deg),
            ));
        }
        for (key, p) in [("mirror", self.mirror), ("resample", self.resample)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(Error::config(
                    format!("train.augment.{key}"),
                    format!("must be in [0, 1], got {p}"),
                ));
            }
        }
        let [lo, hi] = self.resample_hz;
        if !(lo.is_finite() && hi.is_finite() && 1.0 <= lo && lo <= hi && hi <= 1000.0) {
            return Err(Error::config(
                "train.augment.resample_hz",
                format!("must be [low, high] with 1 <= low <= high <= 1000 Hz, got [{lo}, {hi}]"),
            ));
        }
        if !(0.0..1.0).contains(&self.gain) {
            return Err(Error::config(
                "train.augment.gain",
                format!("must be in [0, 1), got {}", self.gain),
            ));
        }
        Ok(())
    }

    /// Augments one window's events in place (accelerometer in channels 0-2, gyroscope in 3-5):
    /// turn, gain and mirror; [`AugmentConfig::apply_timed`] also resamples. A window left
    /// unaugmented still draws one number, so each window's draw does not depend on the others'
    /// outcomes. An all-zero gyroscope (missing) stays all zero.
    pub fn apply(&self, events: &mut [Event], rng: &mut Rng) {
        let _ = self.turn(events, rng);
    }

    /// [`AugmentConfig::apply`], then the resampling (`resample`), which changes the events'
    /// count and times: at most `max_events` events come out (the rate is lowered to fit).
    /// Windows augmented with the same `rng` state get the same draws, so a window and its
    /// feature context change alike.
    pub fn apply_timed(
        &self,
        events: &mut Vec<Event>,
        timestamps: &mut Vec<f64>,
        max_events: usize,
        rng: &mut Rng,
    ) {
        let Some(hz) = self.turn(events, rng) else {
            return;
        };
        let (Some(&t0), Some(&t1)) = (timestamps.first(), timestamps.last()) else {
            return;
        };
        let span = t1 - t0;
        if span.is_nan() || span <= 0.0 || events.len() != timestamps.len() {
            return;
        }
        // An even clock at `hz` from the first event; slower when that would exceed max_events.
        let full = (span * hz).floor() as usize + 1;
        let n = full.clamp(2, max_events.max(2));
        let step = if n == full {
            1.0 / hz
        } else {
            span / (n - 1) as f64
        };
        let interp = Interpolator::new(events, timestamps);
        let grid: Vec<f64> = (0..n).map(|i| t0 + i as f64 * step).collect();
        *events = grid.iter().map(|&t| interp.at(t)).collect();
        *timestamps = grid;
    }

    /// Turn, gain and mirror in place; the resampling rate when this window is to be resampled.
    fn turn(&self, events: &mut [Event], rng: &mut Rng) -> Option<f64> {
        if !self.is_active() || rng.uniform() >= self.probability {
            return None;
        }
        let r = rotation(
            [rng.normal(), rng.normal(), rng.normal()],
            rng.range(-self.rotation_deg, self.rotation_deg)
                .to_radians(),
        );
        let g = rng.range(1.0 - self.gain, 1.0 + self.gain) as f32;
        // Draws only when these are on, so that runs made without them keep their draws.
        let mirror = self.mirror > 0.0 && rng.uniform() < self.mirror;
        let hz = (self.resample > 0.0 && rng.uniform() < self.resample)
            .then(|| rng.range(self.resample_hz[0], self.resample_hz[1]));
        for e in events.iter_mut() {
            if mirror {
                e[0] = -e[0];
                e[4] = -e[4];
                e[5] = -e[5];
            }
            let (acc, gyro) = e.split_at_mut(3);
            for v in [acc, gyro] {
                let x = [v[0], v[1], v[2]];
                for (i, row) in r.iter().enumerate() {
                    v[i] = g * (row[0] * x[0] + row[1] * x[1] + row[2] * x[2]);
                }
            }
        }
        hz
    }
}

/// The rotation by `angle` radians about `axis` (Rodrigues' formula); the identity for a
/// zero-length axis or angle.
fn rotation(axis: [f64; 3], angle: f64) -> [[f32; 3]; 3] {
    let n = (axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]).sqrt();
    if n < 1e-12 || angle == 0.0 {
        return [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    }
    let [x, y, z] = axis.map(|a| a / n);
    let (s, c) = angle.sin_cos();
    let t = 1.0 - c;
    [
        [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
        [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
        [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
    ]
    .map(|row| row.map(|v| v as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(v: &[f32]) -> f32 {
        v.iter().map(|x| x * x).sum::<f32>().sqrt()
    }

    fn window() -> Vec<Event> {
        (0..50)
            .map(|i| {
                let t = i as f32 * 0.1;
                [t.sin() * 3.0, 9.8, t.cos(), 0.5, -t, 0.25]
            })
            .collect()
    }

    #[test]
    fn the_default_changes_nothing_and_draws_nothing() {
        let mut w = window();
        let mut rng = Rng::new(1);
        AugmentConfig::default().apply(&mut w, &mut rng);
        assert_eq!(w, window());
        assert_eq!(rng.next_u64(), Rng::new(1).next_u64());
    }

    #[test]
    fn rotation_keeps_magnitudes_and_angles_between_the_sensors() {
        let cfg = AugmentConfig {
            probability: 1.0,
            rotation_deg: 90.0,
            gain: 0.0,
            ..AugmentConfig::default()
        };
        let before = window();
        let mut w = before.clone();
        cfg.apply(&mut w, &mut Rng::new(7));
        assert_ne!(w, before, "a 90 degree rotation moved nothing");
        for (a, b) in before.iter().zip(&w) {
            assert!((norm(&a[..3]) - norm(&b[..3])).abs() < 1e-4);
            assert!((norm(&a[3..]) - norm(&b[3..])).abs() < 1e-4);
            let dot = |e: &Event| e[0] * e[3] + e[1] * e[4] + e[2] * e[5];
            assert!(
                (dot(a) - dot(b)).abs() < 1e-3,
                "the two sensors turned apart"
            );
        }
    }

    #[test]
    fn gain_scales_within_its_bound_and_a_missing_gyroscope_stays_missing() {
        let cfg = AugmentConfig {
            probability: 1.0,
            rotation_deg: 30.0,
            gain: 0.2,
            ..AugmentConfig::default()
        };
        let mut rng = Rng::new(3);
        for _ in 0..100 {
            let mut w = window();
            w.iter_mut().for_each(|e| e[3..].fill(0.0));
            let before = w.clone();
            cfg.apply(&mut w, &mut rng);
            for (a, b) in before.iter().zip(&w) {
                let ratio = norm(&b[..3]) / norm(&a[..3]);
                assert!((0.8 - 1e-4..=1.2 + 1e-4).contains(&ratio), "gain {ratio}");
                assert!(b[3..].iter().all(|&v| v == 0.0));
            }
        }
    }

    #[test]
    fn probability_is_the_share_of_windows_augmented() {
        let cfg = AugmentConfig {
            probability: 0.3,
            rotation_deg: 0.0,
            gain: 0.5,
            ..AugmentConfig::default()
        };
        let mut rng = Rng::new(5);
        let changed = (0..2000)
            .filter(|_| {
                let mut w = window();
                cfg.apply(&mut w, &mut rng);
                w != window()
            })
            .count();
        assert!((500..700).contains(&changed), "{changed} of 2000");
    }

    #[test]
    fn resampling_puts_a_window_on_an_even_clock_within_its_span() {
        let cfg = AugmentConfig {
            probability: 1.0,
            resample: 1.0,
            resample_hz: [20.0, 20.0],
            mirror: 1.0,
            ..AugmentConfig::default()
        };
        let mut ev = window();
        let mut ts: Vec<f64> = (0..50).map(|i| (i / 2) as f64 * 0.08).collect();
        let last = *ts.last().unwrap();
        cfg.apply_timed(&mut ev, &mut ts, 256, &mut Rng::new(2));
        assert_eq!(ts.len(), (last * 20.0).floor() as usize + 1);
        assert!(ts.windows(2).all(|w| (w[1] - w[0] - 0.05).abs() < 1e-9));
        assert_eq!((ts[0], ev.len()), (0.0, ts.len()));
        // Mirrored: x of the acceleration and y of the rotation change sign (the first instant
        // is on the clock; its two samples share a timestamp and are averaged).
        let w = window();
        assert!(
            (ev[0][0] + (w[0][0] + w[1][0]) / 2.0).abs() < 1e-5,
            "{:?}",
            ev[0]
        );
        assert!(
            (ev[0][4] + (w[0][4] + w[1][4]) / 2.0).abs() < 1e-5,
            "{:?}",
            ev[0]
        );
        // At most max_events come out.
        let (mut ev, mut ts) = (
            window(),
            (0..50).map(|i| i as f64 * 0.1).collect::<Vec<_>>(),
        );
        let fast = AugmentConfig {
            resample_hz: [1000.0, 1000.0],
            ..cfg
        };
        fast.apply_timed(&mut ev, &mut ts, 64, &mut Rng::new(2));
        assert_eq!((ev.len(), ts.len()), (64, 64));
    }

    #[test]
    fn out_of_range_settings_name_their_key() {
        let bad = |c: AugmentConfig| c.validate().unwrap_err().to_string();
        let base = AugmentConfig::default();
        assert!(
            bad(AugmentConfig {
                probability: 1.5,
                ..base
            })
            .contains("probability")
        );
        assert!(
            bad(AugmentConfig {
                rotation_deg: -1.0,
                ..base
            })
            .contains("rotation_deg")
        );
        assert!(bad(AugmentConfig { gain: 1.0, ..base }).contains("gain"));
        assert!(
            bad(AugmentConfig {
                mirror: 2.0,
                ..base
            })
            .contains("mirror")
        );
        assert!(
            bad(AugmentConfig {
                resample_hz: [50.0, 20.0],
                ..base
            })
            .contains("resample_hz")
        );
        assert!(base.validate().is_ok());
    }
}
