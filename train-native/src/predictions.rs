//! A finished run's per-window predictions (`predictions.csv`) and the recordings they come from
//! (`recordings.csv`): what the wearer-level evaluation (`evaluation`) reads, so that a study's
//! tables can be recomputed from finished runs without retraining.
//!
//! Sets: `test` (every evaluation window of the test subjects' recordings, including the fall
//! recordings' windows that window scores leave out: `scored` says which count in window scores),
//! `val` (the validation windows that chose the epoch and threshold) and `old` (the older adults
//! the run scores for false alarms).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use fallkd_core::data::trial::{Trial, TrialKey};
use fallkd_core::data::window::{FallWindows, Purpose, Window, WindowConfig, window_trial};

use crate::checkpoint::write_atomic;
use crate::dataset::Prepared;

/// File of window predictions in a run directory.
pub const PREDICTIONS: &str = "predictions.csv";
/// File of recording facts in a run directory.
pub const RECORDINGS: &str = "recordings.csv";

/// Which part of the data a prediction belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Set {
    /// Test subjects.
    Test,
    /// Validation subjects.
    Val,
    /// Older adults scored for false alarms.
    Old,
    /// Validation older adults (the false-alarm side of the operating threshold).
    OldVal,
}

impl Set {
    fn name(self) -> &'static str {
        match self {
            Set::Test => "test",
            Set::Val => "val",
            Set::Old => "old",
            Set::OldVal => "old-val",
        }
    }

    fn parse(s: &str) -> Option<Set> {
        match s {
            "test" => Some(Set::Test),
            "val" => Some(Set::Val),
            "old" => Some(Set::Old),
            "old-val" => Some(Set::OldVal),
            _ => None,
        }
    }
}

/// One window's prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Set.
    pub set: Set,
    /// Recording.
    pub key: TrialKey,
    /// Window start and end, seconds since the recording's first event.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Fall label of the window.
    pub label: bool,
    /// Counts in window scores (for fall recordings with `fall_windows: impact`, only the
    /// windows holding the impact do).
    pub scored: bool,
    /// Fall probability (or a score in [0, 1] where 0.5 is the model's own cut).
    pub prob: f64,
}

impl Prediction {
    /// The prediction `prob` for window `w`.
    pub fn of(set: Set, scored: bool, w: &Window, prob: f64) -> Prediction {
        Prediction {
            set,
            key: w.key,
            start_s: w.start_s,
            end_s: w.start_s + w.timestamps.last().copied().unwrap_or(0.0),
            label: w.label,
            scored,
            prob,
        }
    }
}

/// Facts about one recording, for per-recording scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// Set.
    pub set: Set,
    /// Recording.
    pub key: TrialKey,
    /// Largest |acceleration| in g (9.81 m/s^2): falls the watch never felt peak low.
    pub peak_g: f64,
    /// Seconds from first to last event.
    pub duration_s: f64,
    /// Number of evaluation windows (0: nothing the model could score).
    pub windows: usize,
    /// The gyroscope was missing.
    pub gyro_missing: bool,
}

fn peak_g(t: &Trial) -> f64 {
    t.events
        .iter()
        .map(|e| ((e[0] * e[0] + e[1] * e[1] + e[2] * e[2]) as f64).sqrt())
        .fold(0.0, f64::max)
        / 9.81
}

/// The windows a run predicts, with their set and `scored` flag, and the recordings: every
/// evaluation window of each test recording (all of a fall recording, `scored` marking the
/// windows the window scores use), the validation windows, and the older adults' windows (test
/// and validation ones).
/// `keep` filters windows a model cannot score (the teacher needs skeleton frames).
pub fn windows_to_predict(
    data: &Prepared,
    window: &WindowConfig,
    keep: impl Fn(&Window) -> bool,
) -> (Vec<(Set, bool, Window)>, Vec<Recording>) {
    let all_cfg = WindowConfig {
        fall_windows: FallWindows::All,
        ..window.clone()
    };
    let mut out = Vec::new();
    let mut recs = Vec::new();
    for (i, t) in data.trials.iter().enumerate() {
        if !data.split.test.contains(&t.key.subject) {
            continue;
        }
        let ws: Vec<Window> = window_trial(i, t, &all_cfg, Purpose::Eval)
            .into_iter()
            .filter(|w| keep(w))
            .collect();
        recs.push(Recording {
            set: Set::Test,
            key: t.key,
            peak_g: peak_g(t),
            duration_s: t.duration(),
            windows: ws.len(),
            gyro_missing: t.gyro_missing,
        });
        for w in ws {
            let scored = data
                .test
                .iter()
                .any(|s| s.trial == i && (s.start_s - w.start_s).abs() < 1e-9);
            out.push((Set::Test, scored, w));
        }
    }
    for (set, windows) in [
        (Set::Val, &data.val),
        (Set::Old, &data.old_test),
        (Set::OldVal, &data.old_val),
    ] {
        let mut seen = std::collections::BTreeSet::new();
        for w in windows.iter().filter(|w| keep(w)) {
            if set != Set::Val && seen.insert(w.trial) {
                let t = &data.trials[w.trial];
                recs.push(Recording {
                    set,
                    key: t.key,
                    peak_g: peak_g(t),
                    duration_s: t.duration(),
                    windows: windows.iter().filter(|x| x.trial == w.trial).count(),
                    gyro_missing: t.gyro_missing,
                });
            }
            out.push((set, true, w.clone()));
        }
    }
    (out, recs)
}

/// Writes `predictions.csv` and `recordings.csv` into `dir`.
pub fn write(dir: &Path, preds: &[Prediction], recs: &[Recording]) -> Result<()> {
    let mut p = String::from("set,subject,activity,trial,start_s,end_s,label,scored,prob\n");
    for x in preds {
        let _ = writeln!(
            p,
            "{},{},{},{},{:.3},{:.3},{},{},{:.6}",
            x.set.name(),
            x.key.subject,
            x.key.activity,
            x.key.trial,
            x.start_s,
            x.end_s,
            x.label as u8,
            x.scored as u8,
            x.prob
        );
    }
    write_atomic(&dir.join(PREDICTIONS), p.as_bytes())?;
    let mut r = String::from("set,subject,activity,trial,peak_g,duration_s,windows,gyro_missing\n");
    for x in recs {
        let _ = writeln!(
            r,
            "{},{},{},{},{:.4},{:.3},{},{}",
            x.set.name(),
            x.key.subject,
            x.key.activity,
            x.key.trial,
            x.peak_g,
            x.duration_s,
            x.windows,
            x.gyro_missing as u8
        );
    }
    write_atomic(&dir.join(RECORDINGS), r.as_bytes())
}

fn fields<'a>(path: &Path, line_no: usize, line: &'a str, n: usize) -> Result<Vec<&'a str>> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() != n {
        bail!(
            "{} line {line_no}: expected {n} fields, found {}",
            path.display(),
            f.len()
        );
    }
    Ok(f)
}

fn num<T: std::str::FromStr>(path: &Path, line_no: usize, s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| anyhow::anyhow!("{} line {line_no}: bad number {s:?}", path.display()))
}

fn key_and_set(path: &Path, line_no: usize, f: &[&str]) -> Result<(Set, TrialKey)> {
    let set = Set::parse(f[0])
        .with_context(|| format!("{} line {line_no}: unknown set {:?}", path.display(), f[0]))?;
    Ok((
        set,
        TrialKey {
            subject: num(path, line_no, f[1])?,
            activity: num(path, line_no, f[2])?,
            trial: num(path, line_no, f[3])?,
        },
    ))
}

/// Reads a run's predictions and recordings; `None` when the run wrote none (an older run).
pub fn read(dir: &Path) -> Result<Option<(Vec<Prediction>, Vec<Recording>)>> {
    let (pp, rp) = (dir.join(PREDICTIONS), dir.join(RECORDINGS));
    if !pp.is_file() || !rp.is_file() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&pp).with_context(|| format!("cannot read {}", pp.display()))?;
    let mut preds = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f = fields(&pp, i + 1, line, 9)?;
        let (set, key) = key_and_set(&pp, i + 1, &f)?;
        preds.push(Prediction {
            set,
            key,
            start_s: num(&pp, i + 1, f[4])?,
            end_s: num(&pp, i + 1, f[5])?,
            label: f[6] == "1",
            scored: f[7] == "1",
            prob: num(&pp, i + 1, f[8])?,
        });
    }
    let text =
        std::fs::read_to_string(&rp).with_context(|| format!("cannot read {}", rp.display()))?;
    let mut recs = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f = fields(&rp, i + 1, line, 8)?;
        let (set, key) = key_and_set(&rp, i + 1, &f)?;
        recs.push(Recording {
            set,
            key,
            peak_g: num(&rp, i + 1, f[4])?,
            duration_s: num(&rp, i + 1, f[5])?,
            windows: num(&rp, i + 1, f[6])?,
            gyro_missing: f[7] == "1",
        });
    }
    Ok(Some((preds, recs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = std::env::temp_dir().join(format!("fallkd-pred-{}", std::process::id()));
        let key = TrialKey::parse("S31A10T02").unwrap();
        let preds = vec![
            Prediction {
                set: Set::Test,
                key,
                start_s: 2.0,
                end_s: 6.0,
                label: true,
                scored: false,
                prob: 0.25,
            },
            Prediction {
                set: Set::Old,
                key: TrialKey::parse("S101A01T01").unwrap(),
                start_s: 0.0,
                end_s: 4.0,
                label: false,
                scored: true,
                prob: 0.75,
            },
        ];
        let recs = vec![Recording {
            set: Set::Test,
            key,
            peak_g: 3.5,
            duration_s: 12.25,
            windows: 5,
            gyro_missing: false,
        }];
        write(&dir, &preds, &recs).unwrap();
        let (p, r) = read(&dir).unwrap().unwrap();
        assert_eq!((p, r), (preds, recs));
        std::fs::write(dir.join(PREDICTIONS), "header\ntest,1,2\n").unwrap();
        let e = read(&dir).unwrap_err().to_string();
        assert!(e.contains("line 2: expected 9 fields"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(read(&dir).unwrap().is_none());
    }
}
