//! Trials: the accelerometer, gyroscope and skeleton recordings of one `SxxAyyTzz`.

use serde::{Deserialize, Serialize};

use super::events::{Event, Interpolator, sort_events};
use super::imu_csv::ImuRecording;
use super::skeleton_csv::Frame;

/// Subject, activity and trial numbers of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TrialKey {
    /// Subject number (29 for S29).
    pub subject: u16,
    /// Activity 1-14; 10 and above are falls.
    pub activity: u16,
    /// Trial number.
    pub trial: u16,
}

impl TrialKey {
    /// Parses `SxxAyyTzz` (an optional `.csv` and leading folders are ignored).
    pub fn parse(name: &str) -> Option<TrialKey> {
        let base = name.rsplit(['/', '\\']).next()?;
        let base = base.strip_suffix(".csv").unwrap_or(base);
        let rest = base.strip_prefix('S')?;
        let (s, rest) = rest.split_once('A')?;
        let (a, t) = rest.split_once('T')?;
        Some(TrialKey {
            subject: s.parse().ok()?,
            activity: a.parse().ok()?,
            trial: t.parse().ok()?,
        })
    }

    /// Fall iff activity >= 10.
    pub fn is_fall(&self) -> bool {
        self.activity >= 10
    }
}

impl std::fmt::Display for TrialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "S{:02}A{:02}T{:02}",
            self.subject, self.activity, self.trial
        )
    }
}

/// What to do with a trial whose gyroscope is missing or does not overlap the accelerometer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum GyroPolicy {
    /// Leave the trial out.
    #[default]
    Drop,
    /// Keep it with gyroscope channels zero and `gyro_missing` set.
    KeepMissing,
}

/// One assembled trial: a 6-channel event stream and, for training, its skeleton.
#[derive(Debug, Clone)]
pub struct Trial {
    /// Which recording.
    pub key: TrialKey,
    /// Accelerometer xyz + gyroscope xyz (interpolated at accelerometer times).
    pub events: Vec<Event>,
    /// Seconds since the first event, sorted (duplicates kept: they are real watch behaviour).
    pub timestamps: Vec<f64>,
    /// Gyroscope channels are zeros because the gyroscope was missing.
    pub gyro_missing: bool,
    /// Skeleton frames at a nominal 30 fps, if recorded.
    pub skeleton: Option<Vec<Frame>>,
}

impl Trial {
    /// Fall label.
    pub fn is_fall(&self) -> bool {
        self.key.is_fall()
    }

    /// Duration of the event stream in seconds.
    pub fn duration(&self) -> f64 {
        self.timestamps.last().copied().unwrap_or(0.0)
    }
}

/// Why a trial was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// No gyroscope file (or none usable) under [`GyroPolicy::Drop`].
    NoGyroscope,
    /// Gyroscope and accelerometer do not overlap in time, under [`GyroPolicy::Drop`].
    NoOverlap,
    /// Fewer than two accelerometer samples in the usable span.
    TooShort,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Skipped::NoGyroscope => {
                "no usable gyroscope (set data.gyro: keep-missing to keep such trials)"
            }
            Skipped::NoOverlap => "accelerometer and gyroscope do not overlap in time",
            Skipped::TooShort => "fewer than two accelerometer samples",
        })
    }
}

/// Merges accelerometer and gyroscope by timestamp (never by row index): both are stably sorted
/// (repairing backwards steps), the stream keeps the accelerometer's event times inside the span
/// both sensors cover, and the gyroscope is linearly interpolated at those times.
pub fn assemble_trial(
    key: TrialKey,
    acc: &ImuRecording,
    gyro: Option<&ImuRecording>,
    skeleton: Option<Vec<Frame>>,
    policy: GyroPolicy,
) -> Result<Trial, Skipped> {
    let mut acc_v = acc.values.clone();
    let mut acc_t = acc.timestamps.clone();
    sort_events(&mut acc_v, &mut acc_t);
    let gyro = gyro.map(|g| {
        let mut v = g.values.clone();
        let mut t = g.timestamps.clone();
        sort_events(&mut v, &mut t);
        Interpolator::new(&v, &t)
    });
    let (lo, hi, interp) = match gyro.as_ref().and_then(|g| g.span().map(|s| (g, s))) {
        Some((g, (g0, g1))) => {
            let lo = acc_t[0].max(g0);
            let hi = acc_t[acc_t.len() - 1].min(g1);
            if hi <= lo {
                if policy == GyroPolicy::Drop {
                    return Err(Skipped::NoOverlap);
                }
                (f64::NEG_INFINITY, f64::INFINITY, None)
            } else {
                (lo, hi, Some(g))
            }
        }
        None => {
            if policy == GyroPolicy::Drop {
                return Err(Skipped::NoGyroscope);
            }
            (f64::NEG_INFINITY, f64::INFINITY, None)
        }
    };
    let mut events = Vec::with_capacity(acc_v.len());
    let mut timestamps = Vec::with_capacity(acc_v.len());
    for (v, &t) in acc_v.iter().zip(&acc_t) {
        if t < lo || t > hi {
            continue;
        }
        let g = interp.map_or([0.0; 3], |g| g.at(t));
        events.push([v[0], v[1], v[2], g[0], g[1], g[2]]);
        timestamps.push(t);
    }
    if events.len() < 2 {
        return Err(Skipped::TooShort);
    }
    let t0 = timestamps[0];
    timestamps.iter_mut().for_each(|t| *t -= t0);
    Ok(Trial {
        key,
        events,
        timestamps,
        gyro_missing: interp.is_none(),
        skeleton,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(t: &[f64], v: &[f32]) -> ImuRecording {
        ImuRecording {
            timestamps: t.to_vec(),
            values: v.iter().map(|&x| [x, x, x]).collect(),
            lines: (1..=t.len()).collect(),
            repairs: Default::default(),
            gyroscope_too: false,
        }
    }

    #[test]
    fn parses_keys() {
        let k = TrialKey::parse("young/accelerometer/watch/S29A10T03.csv").unwrap();
        assert_eq!(
            (k.subject, k.activity, k.trial, k.is_fall()),
            (29, 10, 3, true)
        );
        assert_eq!(k.to_string(), "S29A10T03");
        assert!(TrialKey::parse("notes.csv").is_none());
        assert!(!TrialKey::parse("S01A09T01").unwrap().is_fall());
    }

    #[test]
    fn merges_by_timestamp_not_row_index() {
        let key = TrialKey::parse("S01A01T01").unwrap();
        // Gyro starts 1 s later and has a different row count.
        let acc = rec(
            &[0.0, 0.5, 1.0, 1.5, 2.0, 2.5],
            &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        );
        let gyro = rec(&[1.0, 3.0], &[10.0, 30.0]);
        let t = assemble_trial(key, &acc, Some(&gyro), None, GyroPolicy::Drop).unwrap();
        assert_eq!(t.timestamps, vec![0.0, 0.5, 1.0, 1.5]);
        let gx: Vec<f32> = t.events.iter().map(|e| e[3]).collect();
        assert_eq!(gx, vec![10.0, 15.0, 20.0, 25.0]);
        assert_eq!(t.events[0][0], 2.0);
        assert!(!t.gyro_missing);
    }

    #[test]
    fn missing_gyroscope_follows_the_policy() {
        let key = TrialKey::parse("S32A10T01").unwrap();
        let acc = rec(&[0.0, 0.5, 0.4], &[0.0, 1.0, 2.0]);
        assert_eq!(
            assemble_trial(key, &acc, None, None, GyroPolicy::Drop).unwrap_err(),
            Skipped::NoGyroscope
        );
        let t = assemble_trial(key, &acc, None, None, GyroPolicy::KeepMissing).unwrap();
        assert!(t.gyro_missing);
        // Backwards step repaired by the stable sort.
        assert_eq!(t.timestamps.len(), 3);
        assert!(t.timestamps.windows(2).all(|w| w[0] <= w[1]));
        let far = rec(&[100.0, 101.0], &[0.0, 0.0]);
        assert_eq!(
            assemble_trial(key, &acc, Some(&far), None, GyroPolicy::Drop).unwrap_err(),
            Skipped::NoOverlap
        );
    }
}
