//! Recordings cut short around their impact (issue #32): a watch that starts recording a
//! second before a fall, or a file that ends a second after it, must give the same alarm. A
//! copy of a training recording cut there teaches the model that the stretch before or after
//! the impact may be missing.
//!
//! The impact is the event with the largest |acceleration| ([`impact_time`]), as in the
//! invariance test's cuts (`crate::invariance::Transform::StartBeforeImpact`).

use super::trial::Trial;
use super::window::impact_time;
use crate::rng::Rng;

/// Most copies per recording: copy `c` takes trial number `trial + 100 * (c + 1)`, below the
/// hard negatives' `1000 * (copy + 1)`.
pub const MAX_CUT_COPIES: usize = 8;

/// How one copy is cut: seconds kept before and after the impact (`None`: that side whole).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cut {
    /// Seconds kept before the impact.
    pub before: Option<f64>,
    /// Seconds kept after the impact.
    pub after: Option<f64>,
}

impl Cut {
    /// A cut drawn from `rng`: the start, the end or both (one chance in three each), each side
    /// kept for 0.5-2.5 s.
    pub fn draw(rng: &mut Rng) -> Cut {
        let side = rng.uniform();
        let before = rng.range(0.5, 2.5);
        let after = rng.range(0.5, 2.5);
        Cut {
            before: (side < 2.0 / 3.0).then_some(before),
            after: (side >= 1.0 / 3.0).then_some(after),
        }
    }

    /// `trial` cut: its events within the kept stretch around the impact, the skeleton's
    /// frames in the same share of the recording (at least one). None when the trial has no
    /// events.
    pub fn apply(&self, trial: &Trial) -> Option<Trial> {
        let at = impact_time(trial)?;
        let from = self.before.map_or(f64::NEG_INFINITY, |s| at - s);
        let to = self.after.map_or(f64::INFINITY, |s| at + s);
        let n = trial.events.len().min(trial.timestamps.len());
        let ts = &trial.timestamps[..n];
        let lo = ts.partition_point(|&t| t < from);
        let hi = ts.partition_point(|&t| t <= to);
        let (t0, t1) = (ts[0], ts[n - 1]);
        let share = |t: f64| {
            if t1 > t0 {
                ((t - t0) / (t1 - t0)).clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        let skeleton = trial.skeleton.as_ref().map(|frames| {
            let len = frames.len();
            let a = ((share(ts[lo]) * len as f64) as usize).min(len.saturating_sub(1));
            let b = ((share(ts[hi - 1]) * len as f64).ceil() as usize).clamp(a + 1, len.max(a + 1));
            frames[a..b.min(len)].to_vec()
        });
        Some(Trial {
            key: trial.key,
            events: trial.events[lo..hi].to_vec(),
            timestamps: ts[lo..hi].to_vec(),
            gyro_missing: trial.gyro_missing,
            skeleton,
        })
    }
}

/// `copies` cut copies of each trial in `trials` (falls and daily living alike; at most
/// [`MAX_CUT_COPIES`]), each with the trial number raised by `100 * (copy + 1)` so that it never
/// takes a real trial's name; each keeps its recording's label.
pub fn cut_copies(trials: &[Trial], copies: usize, seed: u64) -> Vec<Trial> {
    let mut out = Vec::new();
    for (i, t) in trials.iter().enumerate() {
        for c in 0..copies.min(MAX_CUT_COPIES) {
            let mut rng =
                Rng::new(seed ^ crate::rng::mix64(((i as u64) << 8) | c as u64 | 1 << 40));
            if let Some(mut copy) = Cut::draw(&mut rng).apply(t) {
                copy.key.trial = copy.key.trial.saturating_add(100 * (c as u16 + 1));
                out.push(copy);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::trial::TrialKey;

    /// 20 s at 50 Hz with an impact at 12 s and 60 skeleton frames.
    fn fall() -> Trial {
        let ts: Vec<f64> = (0..1000).map(|i| i as f64 * 0.02).collect();
        let events = ts
            .iter()
            .map(|&t| {
                let a = if (t - 12.0).abs() < 0.011 { 40.0 } else { 9.8 };
                [0.0, 0.0, a, 0.0, 0.0, 0.0]
            })
            .collect();
        Trial {
            key: TrialKey {
                subject: 30,
                activity: 10,
                trial: 2,
            },
            events,
            timestamps: ts,
            gyro_missing: false,
            skeleton: Some(vec![[0.0; 96]; 60]),
        }
    }

    #[test]
    fn a_cut_keeps_the_stretch_around_the_impact() {
        let t = fall();
        let start = Cut {
            before: Some(1.0),
            after: None,
        }
        .apply(&t)
        .unwrap();
        assert!((start.timestamps[0] - 11.0).abs() < 0.021);
        assert_eq!(start.timestamps.last(), t.timestamps.last());
        // 11 s of 20 in: the last 45 % of the frames, about.
        let frames = start.skeleton.as_ref().unwrap().len();
        assert!((26..=28).contains(&frames), "{frames}");
        let both = Cut {
            before: Some(0.5),
            after: Some(2.0),
        }
        .apply(&t)
        .unwrap();
        let (a, b) = (both.timestamps[0], *both.timestamps.last().unwrap());
        assert!(
            (a - 11.5).abs() < 0.021 && (b - 14.0).abs() < 0.021,
            "{a} {b}"
        );
        assert!(both.events.iter().any(|e| e[2] > 30.0));
        assert!(!both.skeleton.unwrap().is_empty());
    }

    #[test]
    fn copies_keep_their_label_take_new_names_and_repeat_with_the_seed() {
        let mut adl = fall();
        adl.key.activity = 4;
        let trials = vec![fall(), adl];
        let cuts = cut_copies(&trials, 2, 7);
        assert_eq!(cuts.len(), 4);
        let names: Vec<u16> = cuts.iter().map(|t| t.key.trial).collect();
        assert_eq!(names, [102, 202, 102, 202]);
        assert!(cuts[0].is_fall() && !cuts[2].is_fall());
        assert!(
            cuts.iter()
                .all(|c| c.events.len() < 1000 && c.events.len() > 20)
        );
        let again = cut_copies(&trials, 2, 7);
        assert!(
            cuts.iter()
                .zip(&again)
                .all(|(a, b)| a.timestamps == b.timestamps)
        );
        assert_ne!(cut_copies(&trials, 2, 8)[0].timestamps, cuts[0].timestamps);
        // Every drawn cut shortens the recording on at least one side.
        for s in 0..50 {
            let c = Cut::draw(&mut Rng::new(s));
            assert!(c.before.is_some() || c.after.is_some());
            assert!(
                [c.before, c.after]
                    .iter()
                    .flatten()
                    .all(|&x| (0.5..=2.5).contains(&x))
            );
        }
    }
}
