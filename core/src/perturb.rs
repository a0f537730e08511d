//! Stress perturbations of IMU event streams (seeded, deterministic). Severity 0 is the
//! identity for every kind. Timestamps are seconds; outputs stay sorted.

use crate::error::Error;
use serde::{Deserialize, Serialize};

use crate::data::events::sort_events;
use crate::rng::Rng;

/// A perturbation and its severity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Perturbation {
    /// Gaussian timestamp noise with `sigma_ms`, then a stable re-sort.
    Jitter {
        /// Standard deviation in milliseconds.
        sigma_ms: f64,
    },
    /// Remove a `fraction` of events at random, keeping at least `min_keep`.
    Dropout {
        /// Fraction removed, in [0, 1].
        fraction: f64,
        /// Events always kept.
        min_keep: usize,
    },
    /// Move a `fraction` of events into one burst `span_ms` long (as a watch flushing a buffer).
    Burst {
        /// Fraction moved, in [0, 1].
        fraction: f64,
        /// Length of the burst in milliseconds.
        span_ms: f64,
    },
    /// Sinusoidal time warp `t + a T/(2 pi k) sin(2 pi k t / T)`, monotonic for `amplitude < 1`.
    Warp {
        /// Relative rate change, in [0, 1).
        amplitude: f64,
        /// Sine cycles over the window.
        cycles: f64,
    },
}

impl Perturbation {
    /// Names used in reports and on the command line.
    pub const KINDS: [&'static str; 4] = ["jitter", "dropout", "burst", "warp"];

    /// The perturbation `kind` at `severity` in [0, 1] (the scale reports sweep).
    pub fn at_severity(kind: &str, severity: f64) -> Result<Perturbation, Error> {
        let s = severity.clamp(0.0, 1.0);
        Ok(match kind {
            "jitter" => Perturbation::Jitter {
                sigma_ms: 100.0 * s,
            },
            "dropout" => Perturbation::Dropout {
                fraction: 0.9 * s,
                min_keep: 4,
            },
            "burst" => Perturbation::Burst {
                fraction: 0.8 * s,
                span_ms: 50.0,
            },
            "warp" => Perturbation::Warp {
                amplitude: 0.9 * s,
                cycles: 1.0,
            },
            o => {
                return Err(Error::Invalid(format!(
                    "unknown perturbation '{o}': expected jitter, dropout, burst or warp"
                )));
            }
        })
    }

    /// Applies the perturbation to one window.
    pub fn apply<const C: usize>(
        &self,
        events: &[[f32; C]],
        timestamps: &[f64],
        seed: u64,
    ) -> (Vec<[f32; C]>, Vec<f64>) {
        let mut rng = Rng::new(seed);
        let mut ev = events.to_vec();
        let mut ts = timestamps.to_vec();
        let n = ts.len();
        match *self {
            Perturbation::Jitter { sigma_ms } => {
                if sigma_ms > 0.0 {
                    ts.iter_mut()
                        .for_each(|t| *t += rng.normal() * sigma_ms / 1000.0);
                    sort_events(&mut ev, &mut ts);
                }
            }
            Perturbation::Dropout { fraction, min_keep } => {
                let remove = ((n as f64 * fraction.clamp(0.0, 1.0)).round() as usize)
                    .min(n.saturating_sub(min_keep));
                if remove > 0 {
                    let mut idx: Vec<usize> = (0..n).collect();
                    rng.shuffle(&mut idx);
                    let mut keep = vec![true; n];
                    idx[..remove].iter().for_each(|&i| keep[i] = false);
                    let (e2, t2) = ev
                        .iter()
                        .zip(&ts)
                        .zip(&keep)
                        .filter(|(_, k)| **k)
                        .map(|((e, t), _)| (*e, *t))
                        .unzip();
                    ev = e2;
                    ts = t2;
                }
            }
            Perturbation::Burst { fraction, span_ms } => {
                let k = (n as f64 * fraction.clamp(0.0, 1.0)).round() as usize;
                if k > 0 && n > 1 {
                    let (t0, t1) = (ts[0], ts[n - 1]);
                    let span = span_ms / 1000.0;
                    let start = rng.range(t0, (t1 - span).max(t0));
                    let mut idx: Vec<usize> = (0..n).collect();
                    rng.shuffle(&mut idx);
                    for &i in &idx[..k] {
                        ts[i] = start + rng.uniform() * span;
                    }
                    sort_events(&mut ev, &mut ts);
                }
            }
            Perturbation::Warp { amplitude, cycles } => {
                let a = amplitude.clamp(0.0, 0.99);
                if a > 0.0 && n > 1 && cycles > 0.0 {
                    let (t0, span) = (ts[0], (ts[n - 1] - ts[0]).max(1e-9));
                    let w = 2.0 * std::f64::consts::PI * cycles / span;
                    ts.iter_mut()
                        .for_each(|t| *t += a / w * (w * (*t - t0)).sin());
                }
            }
        }
        (ev, ts)
    }
}
