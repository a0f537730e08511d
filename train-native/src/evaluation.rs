//! The detector as a wearer feels it: per-recording alarms, falls the watch felt, older adults'
//! false alarms, and paired significance tests, computed from finished runs' predictions
//! (`predictions`) across folds and seeds.
//!
//! Protocol (the same for every row):
//! - **Operating threshold** of a run: the threshold that maximises F1 on the *pooled* validation
//!   windows of the same row and seed over every fold, leaving out every window of the run's own
//!   test subject (no test subject ever chooses its threshold).
//! - **Window scores**: the scored test windows, at 0.5 and at the operating threshold.
//! - **Per recording**: the run's alarm logic (`fallkd_core::alarm`: k of n windows, refractory
//!   period) over every window of each test recording in time order. A fall recording is
//!   detected when the vote is met on a window that holds its fall (a scored window; a fall
//!   recording without one is a missed fall; a false alarm earlier in the recording does not
//!   mask it); an ADL recording with any alarm is a false alarm.
//! - **Falls the watch felt**: recall on fall recordings whose |a| peaks above 2 g.
//! - **Older adults**: share of their recordings with an alarm and alarm episodes per hour of
//!   recording, each older adult scored by a model that never trained on them.
//! - **Significance**: paired across folds x seeds, Wilcoxon signed-rank and the Nadeau-Bengio
//!   corrected resampled t-test (`fallkd_core::stats`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use fallkd_core::alarm::{AlarmConfig, alarms, votes_met};
use fallkd_core::metrics::{BinaryMetrics, ThresholdRule, binary_metrics, choose_threshold};
use fallkd_core::stats::{format_p, mean_std, paired};

use crate::predictions::{Prediction, Recording, Set};
use crate::trainer::RunSummary;

/// One finished run of a study.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Row name.
    pub row: String,
    /// Seed.
    pub seed: u64,
    /// Test subject.
    pub fold: u16,
    /// Its summary.
    pub summary: RunSummary,
    /// Its window predictions.
    pub preds: Vec<Prediction>,
    /// Its recordings.
    pub recs: Vec<Recording>,
}

/// Per-recording counts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RecordingCounts {
    /// Fall recordings detected.
    pub tp: usize,
    /// Fall recordings missed (including those with no scoreable window).
    pub fn_: usize,
    /// ADL recordings with an alarm.
    pub fp: usize,
    /// ADL recordings without an alarm.
    pub tn: usize,
    /// Fall recordings without any scoreable window (counted in `fn_`).
    pub unscoreable_falls: usize,
    /// Fall recordings peaking above 2 g.
    pub felt: usize,
    /// Of those, detected.
    pub felt_detected: usize,
}

impl RecordingCounts {
    fn add(&mut self, o: &RecordingCounts) {
        self.tp += o.tp;
        self.fn_ += o.fn_;
        self.fp += o.fp;
        self.tn += o.tn;
        self.unscoreable_falls += o.unscoreable_falls;
        self.felt += o.felt;
        self.felt_detected += o.felt_detected;
    }

    /// Precision, recall, F1 of fall recordings.
    pub fn prf(&self) -> (f64, f64, f64) {
        let p = ratio(self.tp, self.tp + self.fp);
        let r = ratio(self.tp, self.tp + self.fn_);
        let f = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        (p, r, f)
    }

    /// Recall on falls peaking above 2 g.
    pub fn felt_recall(&self) -> f64 {
        ratio(self.felt_detected, self.felt)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

/// Older adults' false alarms.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OldCounts {
    /// Recordings scored.
    pub recordings: usize,
    /// Recordings with at least one alarm.
    pub alarmed: usize,
    /// Alarm episodes.
    pub alarms: usize,
    /// Hours of recording.
    pub hours: f64,
}

impl OldCounts {
    fn add(&mut self, o: &OldCounts) {
        self.recordings += o.recordings;
        self.alarmed += o.alarmed;
        self.alarms += o.alarms;
        self.hours += o.hours;
    }
}

/// The wearer-level scores of one run.
#[derive(Debug, Clone)]
pub struct RunScores {
    /// Seed.
    pub seed: u64,
    /// Test subject.
    pub fold: u16,
    /// Operating threshold (pooled validation, own test subject left out).
    pub threshold: f64,
    /// Scored test windows at 0.5.
    pub window_05: BinaryMetrics,
    /// Scored test windows at the operating threshold.
    pub window: BinaryMetrics,
    /// Per-recording counts at the operating point.
    pub recordings: RecordingCounts,
    /// Older adults.
    pub old: OldCounts,
    /// Scored test windows (probability, label), for pooled scores.
    pub pooled: Vec<(f64, bool)>,
}

/// The operating threshold of `run`: best F1 on the pooled validation windows of every run of the
/// same row and seed, leaving out the windows of `run`'s test subject. 0.5 without any.
pub fn operating_threshold(all: &[RunResult], run: &RunResult, rule: ThresholdRule) -> f64 {
    let mut probs = Vec::new();
    let mut labels = Vec::new();
    for r in all
        .iter()
        .filter(|r| r.row == run.row && r.seed == run.seed)
    {
        for p in r
            .preds
            .iter()
            .filter(|p| p.set == Set::Val && p.key.subject != run.fold)
        {
            probs.push(p.prob);
            labels.push(p.label);
        }
    }
    if probs.is_empty() {
        return 0.5;
    }
    choose_threshold(&probs, &labels, rule).threshold
}

/// Windows of each recording of `set`, in time order, as `(start, end, prob, scored)`.
fn by_recording(
    preds: &[Prediction],
    set: Set,
) -> BTreeMap<fallkd_core::data::trial::TrialKey, Vec<(f64, f64, f64, bool)>> {
    let mut m: BTreeMap<_, Vec<(f64, f64, f64, bool)>> = BTreeMap::new();
    for p in preds.iter().filter(|p| p.set == set) {
        m.entry(p.key)
            .or_default()
            .push((p.start_s, p.end_s, p.prob, p.scored));
    }
    for v in m.values_mut() {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    m
}

/// Scores one run at its operating point with the alarm logic `alarm` (its threshold replaced).
pub fn score_run(
    all: &[RunResult],
    run: &RunResult,
    alarm: &AlarmConfig,
    rule: ThresholdRule,
) -> RunScores {
    let threshold = operating_threshold(all, run, rule);
    let cfg = AlarmConfig {
        threshold,
        ..*alarm
    };
    let scored: Vec<&Prediction> = run
        .preds
        .iter()
        .filter(|p| p.set == Set::Test && p.scored)
        .collect();
    let probs: Vec<f64> = scored.iter().map(|p| p.prob).collect();
    let labels: Vec<bool> = scored.iter().map(|p| p.label).collect();
    let windows = by_recording(&run.preds, Set::Test);
    let mut rc = RecordingCounts::default();
    for r in run.recs.iter().filter(|r| r.set == Set::Test) {
        let ws = windows.get(&r.key).map(Vec::as_slice).unwrap_or(&[]);
        let triples: Vec<(f64, f64, f64)> = ws.iter().map(|w| (w.0, w.1, w.2)).collect();
        if r.key.is_fall() {
            // Caught when the vote is met on a window holding the fall; an earlier false alarm's
            // refractory period does not hide it (the wearer would have cancelled that alarm).
            let detected = votes_met(&triples, &cfg)
                .iter()
                .zip(ws)
                .any(|(&met, w)| met && w.3);
            if !ws.iter().any(|w| w.3) {
                rc.unscoreable_falls += 1;
            }
            if detected {
                rc.tp += 1;
            } else {
                rc.fn_ += 1;
            }
            if r.peak_g > 2.0 {
                rc.felt += 1;
                rc.felt_detected += detected as usize;
            }
        } else if alarms(&triples, &cfg).is_empty() {
            rc.tn += 1;
        } else {
            rc.fp += 1;
        }
    }
    let old_windows = by_recording(&run.preds, Set::Old);
    let mut old = OldCounts::default();
    for r in run.recs.iter().filter(|r| r.set == Set::Old) {
        let ws = old_windows.get(&r.key).map(Vec::as_slice).unwrap_or(&[]);
        let triples: Vec<(f64, f64, f64)> = ws.iter().map(|w| (w.0, w.1, w.2)).collect();
        let fired = alarms(&triples, &cfg).len();
        old.recordings += 1;
        old.alarmed += (fired > 0) as usize;
        old.alarms += fired;
        old.hours += r.duration_s / 3600.0;
    }
    RunScores {
        seed: run.seed,
        fold: run.fold,
        threshold,
        window_05: binary_metrics(&probs, &labels, 0.5),
        window: binary_metrics(&probs, &labels, threshold),
        recordings: rc,
        old,
        pooled: probs.into_iter().zip(labels).collect(),
    }
}

/// Scores of every run of a row, in (seed, fold) order.
pub fn score_row(
    all: &[RunResult],
    row: &str,
    alarm: &AlarmConfig,
    rule: ThresholdRule,
) -> Vec<RunScores> {
    let mut v: Vec<RunScores> = all
        .iter()
        .filter(|r| r.row == row)
        .map(|r| score_run(all, r, alarm, rule))
        .collect();
    v.sort_by_key(|s| (s.seed, s.fold));
    v
}

/// `mean +- sample std` of the finite values with 3 decimals, `-` when there are none: the cell
/// format of every study table.
pub fn ms(xs: &[f64]) -> String {
    let xs: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if xs.is_empty() {
        return "-".into();
    }
    let (m, s) = mean_std(&xs);
    format!("{m:.3} +- {s:.3}")
}

/// Per seed: pooled numbers over the folds of that seed.
fn per_seed<T: Default>(scores: &[RunScores], mut f: impl FnMut(&mut T, &RunScores)) -> Vec<T> {
    let seeds: BTreeSet<u64> = scores.iter().map(|s| s.seed).collect();
    seeds
        .iter()
        .map(|&seed| {
            let mut acc = T::default();
            for s in scores.iter().filter(|s| s.seed == seed) {
                f(&mut acc, s);
            }
            acc
        })
        .collect()
}

/// The wearer-level report of a study: one table of window and recording scores per row, the
/// older adults' false alarms, and the paired tests of `comparisons` (row A, row B: "A beats B").
pub fn report(
    all: &[RunResult],
    rows: &[String],
    alarm: &AlarmConfig,
    rule: ThresholdRule,
    comparisons: &[(String, String)],
) -> String {
    let mut md = String::new();
    let scored: Vec<(&String, Vec<RunScores>)> = rows
        .iter()
        .map(|r| (r, score_row(all, r, alarm, rule)))
        .filter(|(_, s)| !s.is_empty())
        .collect();
    let seeds: BTreeSet<u64> = all.iter().map(|r| r.seed).collect();
    let folds: BTreeSet<u16> = all.iter().map(|r| r.fold).collect();
    let _ = writeln!(
        md,
        "Seeds {:?}, {} folds. Operating threshold: best F1 on the pooled validation windows of the same row and seed over all folds, the test subject's own windows left out{}. Alarm: {} of {} consecutive windows at or above it, {} s refractory.\n",
        seeds,
        folds.len(),
        match rule {
            ThresholdRule::Edge => "",
            ThresholdRule::Margin =>
                ", moved half way down to the next lower validation probability (the margin rule: same validation F1)",
        },
        alarm.k,
        alarm.n,
        alarm.refractory_s
    );
    md.push_str("### Windows (mean +- std over folds x seeds; pooled: all test windows of a seed, mean +- std over seeds)\n\n");
    md.push_str("| row | runs | F1 @ 0.5 | F1 | precision | recall | AUC | pooled F1 | pooled AUC | threshold |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for (row, s) in &scored {
        let pooled: Vec<(f64, f64)> = seeds
            .iter()
            .filter_map(|&seed| {
                let runs: Vec<&RunScores> = s.iter().filter(|x| x.seed == seed).collect();
                if runs.is_empty() {
                    return None;
                }
                // Each window at its own run's operating threshold.
                let (mut tp, mut fp, mut fneg) = (0usize, 0usize, 0usize);
                let mut probs = Vec::new();
                let mut labels = Vec::new();
                for r in &runs {
                    for &(p, y) in &r.pooled {
                        match (p >= r.threshold, y) {
                            (true, true) => tp += 1,
                            (true, false) => fp += 1,
                            (false, true) => fneg += 1,
                            _ => {}
                        }
                        probs.push(p);
                        labels.push(y);
                    }
                }
                let f1 = 2.0 * tp as f64 / (2 * tp + fp + fneg).max(1) as f64;
                Some((f1, fallkd_core::metrics::auc(&probs, &labels)))
            })
            .collect();
        let col = |f: &dyn Fn(&RunScores) -> f64| ms(&s.iter().map(f).collect::<Vec<_>>());
        let _ = writeln!(
            md,
            "| {row} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.len(),
            col(&|x| x.window_05.f1),
            col(&|x| x.window.f1),
            col(&|x| x.window.precision),
            col(&|x| x.window.recall),
            col(&|x| x.window.auc),
            ms(&pooled.iter().map(|p| p.0).collect::<Vec<_>>()),
            ms(&pooled.iter().map(|p| p.1).collect::<Vec<_>>()),
            col(&|x| x.threshold),
        );
    }
    md.push_str("\n### Recordings (a fall recording is caught when the alarm vote is met on a window holding the fall; an ADL recording with any alarm is a false alarm). Pooled over all folds of a seed, mean +- std over seeds; \"per fold\": F1 of each fold's recordings, mean +- std over folds x seeds\n\n");
    md.push_str("| row | fall recordings | caught | missed (no window) | ADL recordings | false alarms | precision | recall | F1 | F1 per fold | recall, falls > 2 g |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (row, s) in &scored {
        let seeds_rc: Vec<RecordingCounts> =
            per_seed(s, |acc: &mut RecordingCounts, x| acc.add(&x.recordings));
        let c = seeds_rc.first().copied().unwrap_or_default();
        let col =
            |f: &dyn Fn(&RecordingCounts) -> f64| ms(&seeds_rc.iter().map(f).collect::<Vec<_>>());
        let _ = writeln!(
            md,
            "| {row} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.tp + c.fn_,
            col(&|c| c.tp as f64),
            c.unscoreable_falls,
            c.fp + c.tn,
            col(&|c| c.fp as f64),
            col(&|c| c.prf().0),
            col(&|c| c.prf().1),
            col(&|c| c.prf().2),
            ms(&s.iter().map(|x| x.recordings.prf().2).collect::<Vec<_>>()),
            col(&|c| c.felt_recall()),
        );
    }
    let with_old: Vec<&(&String, Vec<RunScores>)> = scored
        .iter()
        .filter(|(_, s)| s.iter().any(|x| x.old.recordings > 0))
        .collect();
    if !with_old.is_empty() {
        md.push_str("\n### Older adults' daily living (each older adult scored by the fold model that never trained on them; pooled per seed, mean +- std over seeds)\n\n");
        md.push_str("| row | recordings | hours | recordings with an alarm | share alarmed | alarm episodes per hour |\n|---|---|---|---|---|---|\n");
        for (row, s) in with_old {
            let per: Vec<OldCounts> = per_seed(s, |acc: &mut OldCounts, x| acc.add(&x.old));
            let c = per.first().copied().unwrap_or_default();
            let _ = writeln!(
                md,
                "| {row} | {} | {:.2} | {} | {} | {} |",
                c.recordings,
                c.hours,
                ms(&per.iter().map(|c| c.alarmed as f64).collect::<Vec<_>>()),
                ms(&per
                    .iter()
                    .map(|c| ratio(c.alarmed, c.recordings))
                    .collect::<Vec<_>>()),
                ms(&per
                    .iter()
                    .map(|c| c.alarms as f64 / c.hours.max(1e-9))
                    .collect::<Vec<_>>()),
            );
        }
    }
    if !comparisons.is_empty() {
        md.push_str("\n### Paired tests (A - B over the same folds x seeds; Wilcoxon signed-rank and Nadeau-Bengio corrected resampled t, two-sided)\n\n");
        md.push_str(
            "| A | B | metric | difference, pairs, wins / losses, p-values |\n|---|---|---|---|\n",
        );
        for (a, b) in comparisons {
            let (Some(sa), Some(sb)) = (
                scored.iter().find(|(r, _)| *r == a),
                scored.iter().find(|(r, _)| *r == b),
            ) else {
                continue;
            };
            let pairs: Vec<(&RunScores, &RunScores)> =
                sa.1.iter()
                    .filter_map(|x| {
                        sb.1.iter()
                            .find(|y| y.seed == x.seed && y.fold == x.fold)
                            .map(|y| (x, y))
                    })
                    .collect();
            let ratio = test_train_ratio(all, a);
            for (metric, f) in [
                (
                    "window F1 (operating point)",
                    (&|x: &RunScores| x.window.f1) as &dyn Fn(&RunScores) -> f64,
                ),
                ("window F1 @ 0.5", &|x: &RunScores| x.window_05.f1),
                ("window AUC", &|x: &RunScores| x.window.auc),
                ("recording F1 per fold", &|x: &RunScores| {
                    x.recordings.prf().2
                }),
            ] {
                let va: Vec<f64> = pairs.iter().map(|p| f(p.0)).collect();
                let vb: Vec<f64> = pairs.iter().map(|p| f(p.1)).collect();
                let cell = paired(&va, &vb, ratio).map_or("too few pairs".into(), |c| {
                    format!(
                        "{:+.3} +- {:.3}, {} pairs, {} / {}, Wilcoxon p {}, corrected t p {}",
                        c.mean_diff,
                        c.std_diff,
                        c.n,
                        c.wins,
                        c.losses,
                        format_p(c.wilcoxon_p),
                        format_p(c.corrected_p)
                    )
                });
                let _ = writeln!(md, "| {a} | {b} | {metric} | {cell} |");
            }
        }
    }
    md
}

/// Mean test/train window ratio of a row's runs (the corrected t-test's n_test / n_train).
fn test_train_ratio(all: &[RunResult], row: &str) -> f64 {
    let v: Vec<f64> = all
        .iter()
        .filter(|r| r.row == row && r.summary.windows[0] > 0)
        .map(|r| r.summary.windows[2] as f64 / r.summary.windows[0] as f64)
        .collect();
    if v.is_empty() {
        0.1
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fallkd_core::data::trial::TrialKey;

    fn pred(set: Set, key: &str, start: f64, label: bool, scored: bool, prob: f64) -> Prediction {
        Prediction {
            set,
            key: TrialKey::parse(key).unwrap(),
            start_s: start,
            end_s: start + 4.0,
            label,
            scored,
            prob,
        }
    }

    fn rec(set: Set, key: &str, peak_g: f64) -> Recording {
        Recording {
            set,
            key: TrialKey::parse(key).unwrap(),
            peak_g,
            duration_s: 1800.0,
            windows: 3,
            gyro_missing: false,
        }
    }

    fn run(fold: u16, preds: Vec<Prediction>, recs: Vec<Recording>) -> RunResult {
        let summary: RunSummary = serde_json::from_value(serde_json::json!({
            "name": "r", "role": "student",
            "split": {"name": "x", "train": [1], "val": [2], "test": [fold]},
            "parameters": 1, "best_epoch": 1, "threshold": 0.5, "val_f1": 1.0,
            "test": BinaryMetrics::default(), "test_at_val_threshold": BinaryMetrics::default(),
            "windows": [100, 10, 10], "steps_per_s": 1.0, "ms_per_window": 1.0
        }))
        .unwrap();
        RunResult {
            row: "m".into(),
            seed: 1,
            fold,
            summary,
            preds,
            recs,
        }
    }

    #[test]
    fn thresholds_never_look_at_the_test_subject_and_recordings_score_as_a_wearer_feels() {
        // Fold 31 validates on S32; fold 32 validates on S31. S31's windows separate at 0.3,
        // S32's at 0.8, so each fold's threshold must come from the other subject only.
        let a = run(
            31,
            vec![
                pred(Set::Val, "S32A10T01", 0.0, true, true, 0.9),
                pred(Set::Val, "S32A01T01", 0.0, false, true, 0.7),
                // Test: a fall recording whose fall window scores 0.85 and whose walking
                // window (not scored) 0.95; an ADL recording at 0.75.
                pred(Set::Test, "S31A10T01", 0.0, true, false, 0.95),
                pred(Set::Test, "S31A10T01", 2.0, true, true, 0.85),
                pred(Set::Test, "S31A01T01", 0.0, false, true, 0.75),
                pred(Set::Old, "S101A01T01", 0.0, false, true, 0.95),
                pred(Set::Old, "S101A01T01", 2.0, false, true, 0.1),
            ],
            vec![
                rec(Set::Test, "S31A10T01", 3.0),
                rec(Set::Test, "S31A11T01", 1.5), // no window at all: a missed fall
                rec(Set::Test, "S31A01T01", 1.1),
                rec(Set::Old, "S101A01T01", 1.0),
            ],
        );
        let b = run(
            32,
            vec![
                pred(Set::Val, "S31A10T01", 0.0, true, true, 0.4),
                pred(Set::Val, "S31A01T01", 0.0, false, true, 0.2),
            ],
            vec![],
        );
        let all = vec![a.clone(), b.clone()];
        assert_eq!(operating_threshold(&all, &a, ThresholdRule::Edge), 0.9);
        assert_eq!(operating_threshold(&all, &b, ThresholdRule::Edge), 0.4);
        let alarm = AlarmConfig {
            refractory_s: 0.0,
            ..Default::default()
        };
        let s = score_run(&all, &a, &alarm, ThresholdRule::Edge);
        // Only the unscored walking window crosses 0.9: the fall is not caught there.
        assert_eq!(
            (
                s.recordings.tp,
                s.recordings.fn_,
                s.recordings.unscoreable_falls
            ),
            (0, 2, 1)
        );
        assert_eq!((s.recordings.fp, s.recordings.tn), (0, 1));
        assert_eq!((s.recordings.felt, s.recordings.felt_detected), (1, 0));
        assert_eq!((s.old.recordings, s.old.alarmed, s.old.alarms), (1, 1, 1));
        // With validation windows that 0.5 already separates, the threshold stays 0.5 (the
        // first best): the fall window catches the fall, and the ADL recording alarms.
        let low = run(
            31,
            a.preds
                .iter()
                .cloned()
                .map(|mut p| {
                    if p.set == Set::Val && p.label {
                        p.prob = 0.8;
                        p.key = TrialKey::parse("S32A10T01").unwrap();
                    }
                    if p.set == Set::Val && !p.label {
                        p.prob = 0.1;
                    }
                    p
                })
                .collect(),
            a.recs.clone(),
        );
        let s = score_run(&[low.clone(), b], &low, &alarm, ThresholdRule::Edge);
        assert_eq!(s.threshold, 0.5);
        assert_eq!((s.recordings.tp, s.recordings.fn_), (1, 1));
        assert_eq!((s.recordings.fp, s.recordings.tn), (1, 0));
        assert_eq!(s.recordings.felt_detected, 1);
        let md = report(&[low], &["m".into()], &alarm, ThresholdRule::Edge, &[]);
        assert!(md.contains("| m | 1 |"), "{md}");
    }
}
