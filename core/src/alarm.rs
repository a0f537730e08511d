//! Alarm logic: from per-window fall probabilities to the alarms a wearer feels.
//!
//! One implementation, used by `fallkd predict`, the wearer-level evaluation and the browser, so
//! that the same recording raises the same alarms everywhere. A window *votes* when its
//! probability reaches the threshold; an alarm fires when at least `k` of the last `n`
//! consecutive windows vote; after an alarm, further votes are ignored until `refractory_s`
//! seconds have passed since it (one fall, one alarm).

use crate::error::Error;
use serde::{Deserialize, Serialize};

/// Operating point of the detector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlarmConfig {
    /// Probability at or above which a window votes for a fall.
    pub threshold: f64,
    /// Votes needed among the last `n` windows.
    pub k: usize,
    /// Windows looked at (consecutive, in time order).
    pub n: usize,
    /// Seconds after an alarm during which no new alarm fires.
    pub refractory_s: f64,
}

impl Default for AlarmConfig {
    fn default() -> Self {
        AlarmConfig {
            threshold: 0.5,
            k: 1,
            n: 1,
            refractory_s: 30.0,
        }
    }
}

impl AlarmConfig {
    /// Checks the settings; the error names the field.
    pub fn validate(&self) -> Result<(), Error> {
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(Error::config(
                "alarm.threshold",
                format!("must lie in [0, 1], got {}", self.threshold),
            ));
        }
        if self.k == 0 || self.n == 0 || self.k > self.n {
            return Err(Error::config(
                "alarm.k",
                format!(
                    "and alarm.n must satisfy 1 <= k <= n, got k {} and n {}",
                    self.k, self.n
                ),
            ));
        }
        if !(self.refractory_s >= 0.0 && self.refractory_s.is_finite()) {
            return Err(Error::config(
                "alarm.refractory_s",
                format!("must be a number >= 0, got {}", self.refractory_s),
            ));
        }
        Ok(())
    }
}

/// One alarm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    /// Index of the window that completed the vote.
    pub window: usize,
    /// Time of the alarm: the end of that window, seconds since the recording's first event.
    pub time_s: f64,
}

/// For each window (in time order, `(start_s, end_s, probability)`), whether the vote is met
/// there: the window votes and at least `k` of the last `n` windows do. NaN never votes.
pub fn votes_met(windows: &[(f64, f64, f64)], cfg: &AlarmConfig) -> Vec<bool> {
    let n = cfg.n.max(1);
    let k = cfg.k.clamp(1, n);
    (0..windows.len())
        .map(|i| {
            let from = (i + 1).saturating_sub(n);
            windows[i].2 >= cfg.threshold
                && windows[from..=i]
                    .iter()
                    .filter(|w| w.2 >= cfg.threshold)
                    .count()
                    >= k
        })
        .collect()
}

/// The alarms raised over windows given in time order as `(start_s, end_s, probability)`:
/// where the vote is met ([`votes_met`]), unless an alarm fired less than `refractory_s` before.
pub fn alarms(windows: &[(f64, f64, f64)], cfg: &AlarmConfig) -> Vec<Alarm> {
    let met = votes_met(windows, cfg);
    let mut out: Vec<Alarm> = Vec::new();
    for i in 0..windows.len() {
        let end = windows[i].1;
        if !met[i] {
            continue;
        }
        if out
            .last()
            .is_some_and(|a| end - a.time_s < cfg.refractory_s)
        {
            continue;
        }
        out.push(Alarm {
            window: i,
            time_s: end,
        });
    }
    out
}

/// The alarm logic over windows that arrive one at a time (live sensors): the same decisions as
/// [`alarms`] over the same windows, without keeping them.
#[derive(Debug, Clone)]
pub struct LiveAlarm {
    cfg: AlarmConfig,
    /// Whether each of the last `n` windows voted, oldest first.
    votes: std::collections::VecDeque<bool>,
    /// The time of the last alarm.
    last: Option<f64>,
    /// Windows seen.
    seen: usize,
}

impl LiveAlarm {
    /// A fresh state for `cfg`.
    pub fn new(cfg: AlarmConfig) -> LiveAlarm {
        LiveAlarm {
            cfg,
            votes: std::collections::VecDeque::with_capacity(cfg.n.max(1)),
            last: None,
            seen: 0,
        }
    }

    /// The settings it decides with.
    pub fn config(&self) -> AlarmConfig {
        self.cfg
    }

    /// The next window, ending at `end_s` (seconds on the stream's clock, non-decreasing) with
    /// fall probability `prob`: the alarm it raises, if any.
    pub fn push(&mut self, end_s: f64, prob: f64) -> Option<Alarm> {
        let n = self.cfg.n.max(1);
        let k = self.cfg.k.clamp(1, n);
        let vote = prob >= self.cfg.threshold;
        if self.votes.len() == n {
            self.votes.pop_front();
        }
        self.votes.push_back(vote);
        let window = self.seen;
        self.seen += 1;
        let met = vote && self.votes.iter().filter(|v| **v).count() >= k;
        if !met || self.last.is_some_and(|t| end_s - t < self.cfg.refractory_s) {
            return None;
        }
        self.last = Some(end_s);
        Some(Alarm {
            window,
            time_s: end_s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws(p: &[f64]) -> Vec<(f64, f64, f64)> {
        p.iter()
            .enumerate()
            .map(|(i, &p)| (2.0 * i as f64, 2.0 * i as f64 + 4.0, p))
            .collect()
    }

    #[test]
    fn one_vote_one_alarm_then_refractory() {
        let cfg = AlarmConfig {
            threshold: 0.5,
            k: 1,
            n: 1,
            refractory_s: 10.0,
        };
        // Votes at windows 1, 2 (inside the refractory period) and 8 (after it).
        let a = alarms(&ws(&[0.1, 0.9, 0.8, 0.2, 0.1, 0.1, 0.1, 0.1, 0.7]), &cfg);
        assert_eq!(a.iter().map(|a| a.window).collect::<Vec<_>>(), [1, 8]);
        assert_eq!(a[0].time_s, 6.0);
        let none = AlarmConfig {
            refractory_s: 0.0,
            ..cfg
        };
        assert_eq!(alarms(&ws(&[0.9, 0.9, 0.9]), &none).len(), 3);
    }

    #[test]
    fn k_of_n_needs_agreeing_neighbours() {
        let cfg = AlarmConfig {
            threshold: 0.5,
            k: 2,
            n: 3,
            refractory_s: 30.0,
        };
        // An isolated vote does not alarm; two votes within three windows do.
        assert!(alarms(&ws(&[0.9, 0.1, 0.1, 0.9, 0.1, 0.1]), &cfg).is_empty());
        let a = alarms(&ws(&[0.1, 0.9, 0.1, 0.6, 0.1]), &cfg);
        assert_eq!(a.iter().map(|a| a.window).collect::<Vec<_>>(), [3]);
        // The threshold is inclusive; NaN never votes.
        assert_eq!(alarms(&ws(&[0.5, 0.5]), &cfg).len(), 1);
        assert!(alarms(&ws(&[f64::NAN, 0.9]), &cfg).is_empty());
    }

    #[test]
    fn live_alarms_are_the_recordings_alarms() {
        let mut r = crate::rng::Rng::new(3);
        for (k, n, refractory_s) in [(1, 1, 10.0), (2, 3, 30.0), (3, 3, 0.0), (1, 4, 6.0)] {
            let cfg = AlarmConfig {
                threshold: 0.6,
                k,
                n,
                refractory_s,
            };
            let probs: Vec<f64> = (0..400).map(|_| r.uniform().powi(2)).collect();
            let windows = ws(&probs);
            let mut live = LiveAlarm::new(cfg);
            let streamed: Vec<Alarm> = windows.iter().filter_map(|w| live.push(w.1, w.2)).collect();
            let whole = alarms(&windows, &cfg);
            assert!(!whole.is_empty(), "k {k} n {n}: some alarms to compare");
            assert_eq!(streamed, whole, "k {k} n {n} refractory {refractory_s}");
        }
    }

    #[test]
    fn settings_are_checked() {
        assert!(AlarmConfig::default().validate().is_ok());
        let bad = AlarmConfig {
            k: 3,
            n: 2,
            ..Default::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("1 <= k <= n")
        );
        let bad = AlarmConfig {
            threshold: 1.5,
            ..Default::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("alarm.threshold")
        );
    }
}
