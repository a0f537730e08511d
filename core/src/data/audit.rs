//! Timestamp audit of watch recordings: how unreliable are the clocks?

use serde::{Deserialize, Serialize};

/// Interval statistics of one or many recordings (sums, so they aggregate).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IntervalStats {
    /// Recordings.
    pub files: usize,
    /// Samples.
    pub samples: usize,
    /// Intervals between consecutive samples (in file order).
    pub intervals: usize,
    /// Intervals of exactly zero.
    pub duplicates: usize,
    /// Intervals below zero.
    pub backwards: usize,
    /// Intervals over 0.1 s.
    pub gaps_over_100ms: usize,
    /// Intervals over 1 s.
    pub gaps_over_1s: usize,
    /// Files with at least one gap over 1 s.
    pub files_with_gap_over_1s: usize,
    /// Largest interval, seconds.
    pub largest_gap_s: f64,
    /// Where the largest interval is (file name).
    pub largest_gap_file: String,
    /// Sum of recording spans (last - first, sorted), seconds.
    pub total_span_s: f64,
    /// Recorded time without gaps over 1 s (sum of the intervals in [0, 1] s), seconds.
    pub active_span_s: f64,
}

impl IntervalStats {
    /// Statistics of one recording's timestamps, in file order.
    pub fn of(file: &str, timestamps: &[f64]) -> IntervalStats {
        let mut s = IntervalStats {
            files: 1,
            samples: timestamps.len(),
            ..Default::default()
        };
        for w in timestamps.windows(2) {
            let dt = w[1] - w[0];
            s.intervals += 1;
            if dt == 0.0 {
                s.duplicates += 1;
            } else if dt < 0.0 {
                s.backwards += 1;
            }
            if dt > 0.1 {
                s.gaps_over_100ms += 1;
            }
            if dt > 1.0 {
                s.gaps_over_1s += 1;
            } else if dt > 0.0 {
                s.active_span_s += dt;
            }
            if dt > s.largest_gap_s {
                s.largest_gap_s = dt;
                s.largest_gap_file = file.to_string();
            }
        }
        s.files_with_gap_over_1s = usize::from(s.gaps_over_1s > 0);
        let (lo, hi) = timestamps
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &t| {
                (a.min(t), b.max(t))
            });
        if timestamps.len() > 1 {
            s.total_span_s = hi - lo;
        }
        s
    }

    /// Adds another recording's statistics.
    pub fn add(&mut self, o: &IntervalStats) {
        self.files += o.files;
        self.samples += o.samples;
        self.intervals += o.intervals;
        self.duplicates += o.duplicates;
        self.backwards += o.backwards;
        self.gaps_over_100ms += o.gaps_over_100ms;
        self.gaps_over_1s += o.gaps_over_1s;
        self.files_with_gap_over_1s += o.files_with_gap_over_1s;
        self.total_span_s += o.total_span_s;
        self.active_span_s += o.active_span_s;
        if o.largest_gap_s > self.largest_gap_s {
            self.largest_gap_s = o.largest_gap_s;
            self.largest_gap_file = o.largest_gap_file.clone();
        }
    }

    /// Fraction of intervals that are exact duplicates.
    pub fn duplicate_fraction(&self) -> f64 {
        self.duplicates as f64 / self.intervals.max(1) as f64
    }

    /// Fraction of intervals that go backwards.
    pub fn backwards_fraction(&self) -> f64 {
        self.backwards as f64 / self.intervals.max(1) as f64
    }

    /// Samples per second while recording: intervals up to 1 s over the time they cover
    /// (gaps over 1 s excluded; duplicates count as samples).
    pub fn effective_rate_hz(&self) -> f64 {
        if self.active_span_s > 0.0 {
            (self.intervals - self.gaps_over_1s) as f64 / self.active_span_s
        } else {
            0.0
        }
    }
}

/// Accelerometer/gyroscope agreement of trials that have both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairStats {
    /// Trials with both files.
    pub trials: usize,
    /// Trials whose two files have different row counts.
    pub row_count_mismatch: usize,
    /// Mean |gyro start - acc start|, seconds.
    pub mean_abs_start_offset_s: f64,
    /// Largest |gyro start - acc start|, seconds.
    pub max_abs_start_offset_s: f64,
}

impl PairStats {
    /// Adds one trial.
    pub fn add_trial(&mut self, acc: &[f64], gyro: &[f64]) {
        let first = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
        let off = (first(gyro) - first(acc)).abs();
        let n = self.trials as f64;
        self.mean_abs_start_offset_s = (self.mean_abs_start_offset_s * n + off) / (n + 1.0);
        self.max_abs_start_offset_s = self.max_abs_start_offset_s.max(off);
        self.trials += 1;
        self.row_count_mismatch += usize::from(acc.len() != gyro.len());
    }

    /// Merges another subject's statistics.
    pub fn add(&mut self, o: &PairStats) {
        let n = (self.trials + o.trials).max(1) as f64;
        self.mean_abs_start_offset_s = (self.mean_abs_start_offset_s * self.trials as f64
            + o.mean_abs_start_offset_s * o.trials as f64)
            / n;
        self.max_abs_start_offset_s = self.max_abs_start_offset_s.max(o.max_abs_start_offset_s);
        self.trials += o.trials;
        self.row_count_mismatch += o.row_count_mismatch;
    }
}

/// Audit of one subject (or of everything).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    /// `S29` or `overall`.
    pub name: String,
    /// Watch accelerometer.
    pub accelerometer: IntervalStats,
    /// Watch gyroscope.
    pub gyroscope: IntervalStats,
    /// Accelerometer/gyroscope pairs.
    pub pairs: PairStats,
}

impl AuditRow {
    /// Adds another row.
    pub fn add(&mut self, o: &AuditRow) {
        self.accelerometer.add(&o.accelerometer);
        self.gyroscope.add(&o.gyroscope);
        self.pairs.add(&o.pairs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_pathologies() {
        let s = IntervalStats::of("f", &[0.0, 0.0, 0.03, 0.02, 0.2, 1.5, 1.55]);
        assert_eq!(
            (
                s.intervals,
                s.duplicates,
                s.backwards,
                s.gaps_over_100ms,
                s.gaps_over_1s
            ),
            (6, 1, 1, 2, 1)
        );
        assert!((s.largest_gap_s - 1.3).abs() < 1e-9);
        // 5 intervals up to 1 s cover 0.03 + 0.18 + 0.05 = 0.26 s (the backwards step counts as a sample, not time).
        assert!((s.effective_rate_hz() - 5.0 / 0.26).abs() < 1e-9);
        let mut p = PairStats::default();
        p.add_trial(&[1.0, 2.0], &[3.0, 4.0, 5.0]);
        p.add_trial(&[1.0], &[1.0]);
        assert_eq!((p.trials, p.row_count_mismatch), (2, 1));
        assert!((p.mean_abs_start_offset_s - 1.0).abs() < 1e-12);
    }
}
