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

/// Timestamp perturbations at training time (`train.perturb`): with `probability`, a training
/// window gets one of the four kinds, drawn uniformly, at a severity drawn uniformly from
/// `[0, max_severity]`, so that a student meets the watch's bursts, lost events, jitter and
/// rate drift while it learns. The default (all zero) leaves windows untouched.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PerturbConfig {
    /// Probability that a training window is perturbed (0: off).
    pub probability: f64,
    /// Largest severity, in [0, 1] (the scale of [`Perturbation::at_severity`]).
    pub max_severity: f64,
}

impl PerturbConfig {
    /// Whether any window can change.
    pub fn is_active(&self) -> bool {
        self.probability > 0.0 && self.max_severity > 0.0
    }

    /// Checks the ranges, naming the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        for (key, v) in [
            ("train.perturb.probability", self.probability),
            ("train.perturb.max_severity", self.max_severity),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::config(key, format!("must be in [0, 1], got {v}")));
            }
        }
        Ok(())
    }

    /// Perturbs one window's events and timestamps in place (or leaves them, with probability
    /// `1 - probability`). Draws the same number of random numbers from `rng` either way. Two
    /// things stay as the window was cut: at least `min_keep` events (or all, if it had fewer;
    /// the windowing's `min_events`), and the event with the largest accelerometer magnitude
    /// (the first three channels), so that a fall window keeps its impact, as the windowing's
    /// thinning keeps it.
    pub fn apply<const C: usize>(
        &self,
        events: &mut Vec<[f32; C]>,
        timestamps: &mut Vec<f64>,
        min_keep: usize,
        rng: &mut Rng,
    ) {
        let (hit, pick, severity, seed) = (
            rng.uniform(),
            rng.below(Perturbation::KINDS.len()),
            rng.uniform() * self.max_severity,
            rng.next_u64(),
        );
        if !self.is_active() || hit >= self.probability || events.is_empty() {
            return;
        }
        let mut p = Perturbation::at_severity(Perturbation::KINDS[pick], severity)
            .expect("one of the known kinds");
        if let Perturbation::Dropout { min_keep: k, .. } = &mut p {
            *k = (*k).max(min_keep);
        }
        let size = |e: &[f32; C]| e.iter().take(3).map(|v| v * v).sum::<f32>();
        let peak = (0..events.len())
            .max_by(|&a, &b| size(&events[a]).total_cmp(&size(&events[b])))
            .expect("not empty");
        let (peak_event, peak_time) = (events[peak], timestamps[peak]);
        let (mut ev, mut ts) = p.apply(events, timestamps, seed);
        if !ev.contains(&peak_event) {
            let at = ts.partition_point(|&t| t <= peak_time);
            ev.insert(at, peak_event);
            ts.insert(at, peak_time);
        }
        (*events, *timestamps) = (ev, ts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> (Vec<[f32; 2]>, Vec<f64>) {
        let ts: Vec<f64> = (0..128).map(|i| i as f64 / 32.0).collect();
        (ts.iter().map(|&t| [t as f32, 1.0]).collect(), ts)
    }

    #[test]
    fn training_perturbations_hit_their_share_of_windows_and_keep_them_sorted() {
        let mut rng = Rng::new(7);
        let off = PerturbConfig::default();
        let (mut e, mut t) = window();
        off.apply(&mut e, &mut t, 16, &mut rng);
        assert_eq!((e, t), window());
        let cfg = PerturbConfig {
            probability: 0.3,
            max_severity: 1.0,
        };
        let mut changed = 0;
        for _ in 0..1000 {
            let (mut e, mut t) = window();
            cfg.apply(&mut e, &mut t, 16, &mut rng);
            assert!(t.windows(2).all(|w| w[0] <= w[1]));
            assert_eq!(e.len(), t.len());
            assert!(e.len() >= 16 && e.len() <= 128);
            changed += usize::from((e.clone(), t.clone()) != window());
        }
        // About 30 % of windows (a drawn severity near 0 can leave one as it was).
        assert!((230..=330).contains(&changed), "{changed}");
        assert!(cfg.validate().is_ok());
        let bad = PerturbConfig {
            probability: 1.5,
            ..cfg
        };
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("train.perturb.probability"), "{e}");
    }

    #[test]
    fn a_perturbed_short_window_keeps_its_floor_and_its_impact() {
        // 20 events, the 11th the impact (the largest of the first three channels).
        let ts: Vec<f64> = (0..20).map(|i| i as f64 / 32.0).collect();
        let ev: Vec<[f32; 4]> = (0..20)
            .map(|i| [1.0, 0.0, if i == 10 { 30.0 } else { 9.8 }, 100.0])
            .collect();
        let cfg = PerturbConfig {
            probability: 1.0,
            max_severity: 1.0,
        };
        let mut rng = Rng::new(3);
        let mut shortest = usize::MAX;
        for _ in 0..400 {
            let (mut e, mut t) = (ev.clone(), ts.clone());
            cfg.apply(&mut e, &mut t, 16, &mut rng);
            assert!(e.len() >= 16, "{}", e.len());
            assert!(e.contains(&ev[10]), "the impact was lost");
            assert!(t.windows(2).all(|w| w[0] <= w[1]));
            shortest = shortest.min(e.len());
        }
        // Dropout did thin some windows down to the floor (so the floor was what held them).
        assert!(shortest <= 17, "{shortest}");
    }
}
