//! The detector as a wearer feels it: per-recording alarms, falls the watch felt, older adults'
//! false alarms, and paired significance tests, computed from finished runs' predictions
//! (`predictions`) across folds and seeds.
//!
//! Protocol (the same for every row):
//! - **Operating threshold** of a run ([`ThresholdChoice`]): by default the threshold that
//!   maximises F1 on the *pooled* validation windows of the same row and seed over every fold,
//!   leaving out every window of the run's own test subject (no test subject ever chooses its
//!   threshold); or 0.5; or whichever of the two wins a leave-one-validation-subject-out
//!   comparison of recording F1 on those same validation windows.
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

use crate::stats::{format_p, mean_std, paired};
use fallkd_core::alarm::{AlarmConfig, alarms, votes_met};
use fallkd_core::data::trial::TrialKey;
use fallkd_core::metrics::{BinaryMetrics, ThresholdRule, binary_metrics, choose_threshold};

use crate::predictions::{Prediction, Recording, Set};
use crate::run_dir::RunSummary;

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
    /// Operating threshold (never from the test subject).
    pub threshold: f64,
    /// How it was chosen (`val-f1` or `fixed`).
    pub choice: ThresholdChoice,
    /// Whether the older-adult alarm budget raised it.
    pub raised: bool,
    /// A budget was asked for but could not be applied (no validation older adult in the pool).
    pub unbudgeted: bool,
    /// Scored test windows at 0.5.
    pub window_05: BinaryMetrics,
    /// Scored test windows at the operating threshold.
    pub window: BinaryMetrics,
    /// Per-recording counts at the operating point.
    pub recordings: RecordingCounts,
    /// The same on the run's own validation recordings (judged on its validation windows): what
    /// a choice between rows may look at.
    pub val_recordings: RecordingCounts,
    /// Older adults.
    pub old: OldCounts,
    /// Scored test windows (probability, label), for pooled scores.
    pub pooled: Vec<(f64, bool)>,
}

/// How a run's operating threshold is chosen. None of them looks at the run's test subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ThresholdChoice {
    /// Best F1 on the pooled validation windows of the same row and seed over every fold, the
    /// test subject's own windows left out, placed by the [`ThresholdRule`] (RESULTS.md's
    /// protocol so far).
    #[default]
    ValF1,
    /// 0.5, the decision boundary the model was trained for: chooses nothing.
    Fixed,
    /// Whichever of `val-f1` and `fixed` gives the better recording F1 when each validation
    /// subject of the pool is scored at the threshold the rule finds on the *other* validation
    /// subjects (leave one validation subject out; a tie keeps `fixed`, which chooses less).
    /// With fewer than two validation subjects: `fixed`. Validation recordings are judged on the
    /// windows the run validated on (with `window.fall_windows: impact`, a fall recording's
    /// impact windows only), test recordings on all their windows: the same verdicts with one-
    /// window alarms, stricter on validation falls with k-of-n votes.
    Nested,
}

impl ThresholdChoice {
    /// Its command-line name.
    pub fn name(self) -> &'static str {
        match self {
            ThresholdChoice::ValF1 => "val-f1",
            ThresholdChoice::Fixed => "fixed",
            ThresholdChoice::Nested => "nested",
        }
    }
}

/// The scoring protocol of a report: the same for every row.
#[derive(Debug, Clone, Copy, Default)]
pub struct Protocol {
    /// Alarm logic (its threshold is replaced by each run's operating threshold).
    pub alarm: AlarmConfig,
    /// How the operating threshold is chosen.
    pub choice: ThresholdChoice,
    /// Where a validation-F1 threshold sits among the validation probabilities.
    pub rule: ThresholdRule,
    /// Raise the threshold, where needed, until at most this share of the validation older
    /// adults' recordings alarm (runs made with `--old-adult-val`).
    pub old_alarm_budget: Option<f64>,
}

/// A run's operating threshold and how it came about.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperatingPoint {
    /// The threshold.
    pub threshold: f64,
    /// The choice that gave it before any raise (`val-f1` or `fixed`; `nested` resolves to one).
    pub choice: ThresholdChoice,
    /// Whether the older-adult alarm budget raised it.
    pub raised: bool,
    /// A budget was asked for but the pool held no validation older adult's recording (runs made
    /// without `--old-adult-val`, or folds without one): the budget could not be applied.
    pub unbudgeted: bool,
}

/// One validation window of the pool: the fold whose model predicted it, and the prediction.
type Pooled<'a> = (u16, &'a Prediction);

/// Whose threshold is being chosen: a row and seed's runs pool their validation predictions,
/// and what the model will be tested on is left out of the pool.
#[derive(Debug, Clone, PartialEq)]
struct Scope<'a> {
    row: &'a str,
    seed: u64,
    /// The test subject (left out of the validation pool); `None` for a model trained on every
    /// subject, which has none.
    test_subject: Option<u16>,
    /// The test older adults (left out of the validation older adults).
    test_old: BTreeSet<u16>,
}

impl<'a> Scope<'a> {
    /// A fold's run: its test subject and test older adults left out.
    fn of(run: &'a RunResult) -> Self {
        Self {
            row: &run.row,
            seed: run.seed,
            test_subject: Some(run.fold),
            test_old: run
                .preds
                .iter()
                .filter(|p| p.set == Set::Old)
                .map(|p| p.key.subject)
                .collect(),
        }
    }

    /// A model of `row` and `seed` with no test subject (nothing left out).
    fn deployed(row: &'a str, seed: u64) -> Self {
        Self {
            row,
            seed,
            test_subject: None,
            test_old: BTreeSet::new(),
        }
    }

    /// Whether `r` is one of the row and seed's runs.
    fn pools(&self, r: &RunResult) -> bool {
        r.row == self.row && r.seed == self.seed
    }
}

/// The validation windows of every run of the scope's row and seed, its test subject's left out.
fn validation_pool<'a>(all: &'a [RunResult], scope: &Scope) -> Vec<Pooled<'a>> {
    all.iter()
        .filter(|r| scope.pools(r))
        .flat_map(|r| {
            r.preds
                .iter()
                .filter(|p| p.set == Set::Val && Some(p.key.subject) != scope.test_subject)
                .map(move |p| (r.fold, p))
        })
        .collect()
}

/// Best-F1 threshold of the pooled windows placed by `rule`; 0.5 without any.
fn val_f1_threshold(pool: &[Pooled], rule: ThresholdRule) -> f64 {
    if pool.is_empty() {
        return 0.5;
    }
    let probs: Vec<f64> = pool.iter().map(|(_, p)| p.prob).collect();
    let labels: Vec<bool> = pool.iter().map(|(_, p)| p.label).collect();
    choose_threshold(&probs, &labels, rule).threshold
}

/// Recording counts of the pooled validation windows at `cfg`: each (fold, recording) is one
/// recording, judged as a test recording is (fall recordings only appear here with a window).
fn pool_recording_counts(pool: &[Pooled], cfg: &AlarmConfig) -> RecordingCounts {
    let recs = group_windows(pool.iter().map(|&(fold, p)| ((fold, p.key), p)));
    let mut c = RecordingCounts::default();
    for ((_, key), ws) in recs {
        match (key.is_fall(), judge(&ws, key.is_fall(), cfg)) {
            (true, true) => c.tp += 1,
            (true, false) => c.fn_ += 1,
            (false, true) => c.fp += 1,
            (false, false) => c.tn += 1,
        }
    }
    c
}

/// The lowest threshold at which at most `budget` of the validation older adults' recordings
/// alarm: those of every run of the scope's row and seed (each (fold, recording) once), its test
/// older adults left out. `None` without any such recording.
fn old_alarm_threshold(
    all: &[RunResult],
    scope: &Scope,
    alarm: &AlarmConfig,
    budget: f64,
) -> Option<f64> {
    let recs = group_windows(all.iter().filter(|r| scope.pools(r)).flat_map(|r| {
        r.preds
            .iter()
            .filter(|p| p.set == Set::OldVal && !scope.test_old.contains(&p.key.subject))
            .map(move |p| ((r.fold, p.key), p))
    }));
    if recs.is_empty() {
        return None;
    }
    // Each recording's alarm level: the highest threshold at which it still alarms (alarming
    // only gets rarer as the threshold rises), -inf when it never does.
    let mut levels: Vec<f64> = recs
        .into_values()
        .map(|ws| {
            let mut probs: Vec<f64> = ws.iter().map(|w| w.2).collect();
            probs.sort_by(|a, b| b.total_cmp(a));
            probs.dedup();
            probs
                .into_iter()
                .find(|&t| {
                    judge(
                        &ws,
                        false,
                        &AlarmConfig {
                            threshold: t,
                            ..*alarm
                        },
                    )
                })
                .unwrap_or(f64::NEG_INFINITY)
        })
        .collect();
    levels.sort_by(|a, b| b.total_cmp(a));
    let allowed = (budget * levels.len() as f64 + 1e-9).floor() as usize;
    Some(match levels.get(allowed) {
        // Just above the level of the first recording beyond the budget.
        Some(&l) if l.is_finite() => l.next_up(),
        _ => f64::NEG_INFINITY,
    })
}

/// The operating point of `run` under `protocol`.
pub fn operating_threshold(
    all: &[RunResult],
    run: &RunResult,
    protocol: &Protocol,
) -> OperatingPoint {
    operating_point(all, &Scope::of(run), protocol)
}

/// The operating point `protocol` gives a model of `row` trained with `seed` with no test subject
/// (the shipped model): the same choice as for a fold's run, from the validation predictions of
/// every fold's run of that row and seed, none left out (such a model has no test subject).
pub fn deployment_point(
    all: &[RunResult],
    row: &str,
    seed: u64,
    protocol: &Protocol,
) -> OperatingPoint {
    operating_point(all, &Scope::deployed(row, seed), protocol)
}

fn operating_point(all: &[RunResult], scope: &Scope, protocol: &Protocol) -> OperatingPoint {
    let (threshold, choice) = chosen_threshold(all, scope, protocol);
    let floor = protocol
        .old_alarm_budget
        .map(|b| old_alarm_threshold(all, scope, &protocol.alarm, b));
    let raise = floor.flatten().filter(|&f| f > threshold);
    OperatingPoint {
        threshold: raise.unwrap_or(threshold),
        choice,
        raised: raise.is_some(),
        unbudgeted: floor.is_some_and(|f| f.is_none()),
    }
}

/// The threshold `protocol.choice` gives `run`, and the choice that gave it (`val-f1` or
/// `fixed`; `nested` resolves to one of them).
fn chosen_threshold(
    all: &[RunResult],
    scope: &Scope,
    protocol: &Protocol,
) -> (f64, ThresholdChoice) {
    let pool = validation_pool(all, scope);
    let pick = |c: ThresholdChoice, pool: &[Pooled]| match c {
        ThresholdChoice::ValF1 => val_f1_threshold(pool, protocol.rule),
        _ => 0.5,
    };
    match protocol.choice {
        ThresholdChoice::Nested => {
            let subjects: BTreeSet<u16> = pool.iter().map(|(_, p)| p.key.subject).collect();
            if subjects.len() < 2 {
                return (0.5, ThresholdChoice::Fixed);
            }
            let nested_f1 = |c: ThresholdChoice| {
                let mut counts = RecordingCounts::default();
                for &v in &subjects {
                    let (held, inner): (Vec<Pooled>, Vec<Pooled>) =
                        pool.iter().partition(|(_, p)| p.key.subject == v);
                    let cfg = AlarmConfig {
                        threshold: pick(c, &inner),
                        ..protocol.alarm
                    };
                    counts.add(&pool_recording_counts(&held, &cfg));
                }
                counts.prf().2
            };
            let c = if nested_f1(ThresholdChoice::ValF1) > nested_f1(ThresholdChoice::Fixed) {
                ThresholdChoice::ValF1
            } else {
                ThresholdChoice::Fixed
            };
            (pick(c, &pool), c)
        }
        c => (pick(c, &pool), c),
    }
}

/// One window of a recording: `(start, end, prob, scored)`.
type Window = (f64, f64, f64, bool);

/// A recording's verdict at `cfg` over its windows in time order: for a fall recording, whether
/// the vote is met on a window holding the fall (an earlier false alarm's refractory period does
/// not hide it: the wearer would have cancelled that alarm); for an ADL recording, whether any
/// alarm fires.
fn judge(ws: &[Window], fall: bool, cfg: &AlarmConfig) -> bool {
    let triples: Vec<(f64, f64, f64)> = ws.iter().map(|w| (w.0, w.1, w.2)).collect();
    if fall {
        votes_met(&triples, cfg)
            .iter()
            .zip(ws)
            .any(|(&met, w)| met && w.3)
    } else {
        !alarms(&triples, cfg).is_empty()
    }
}

/// Windows of each recording of `set`, in time order, as `(start, end, prob, scored)`.
fn by_recording(preds: &[Prediction], set: Set) -> BTreeMap<TrialKey, Vec<Window>> {
    group_windows(preds.iter().filter(|p| p.set == set).map(|p| (p.key, p)))
}

/// Predictions grouped by recording key `K`, each recording's windows in time order (by start,
/// then end) as `(start, end, prob, scored)`.
fn group_windows<'a, K: Ord>(
    preds: impl IntoIterator<Item = (K, &'a Prediction)>,
) -> BTreeMap<K, Vec<Window>> {
    let mut m: BTreeMap<K, Vec<Window>> = BTreeMap::new();
    for (key, p) in preds {
        m.entry(key)
            .or_default()
            .push((p.start_s, p.end_s, p.prob, p.scored));
    }
    for v in m.values_mut() {
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    }
    m
}

/// Scores one run at its operating point under `protocol`.
pub fn score_run(all: &[RunResult], run: &RunResult, protocol: &Protocol) -> RunScores {
    let OperatingPoint {
        threshold,
        choice,
        raised,
        unbudgeted,
    } = operating_threshold(all, run, protocol);
    let cfg = AlarmConfig {
        threshold,
        ..protocol.alarm
    };
    let scored: Vec<&Prediction> = run
        .preds
        .iter()
        .filter(|p| p.set == Set::Test && p.scored)
        .collect();
    let probs: Vec<f64> = scored.iter().map(|p| p.prob).collect();
    let labels: Vec<bool> = scored.iter().map(|p| p.label).collect();
    let windows = by_recording(&run.preds, Set::Test);
    let own_val: Vec<Pooled> = run
        .preds
        .iter()
        .filter(|p| p.set == Set::Val)
        .map(|p| (run.fold, p))
        .collect();
    let val_recordings = pool_recording_counts(&own_val, &cfg);
    let mut rc = RecordingCounts::default();
    for r in run.recs.iter().filter(|r| r.set == Set::Test) {
        let ws = windows.get(&r.key).map(Vec::as_slice).unwrap_or(&[]);
        let hit = judge(ws, r.key.is_fall(), &cfg);
        if r.key.is_fall() {
            if !ws.iter().any(|w| w.3) {
                rc.unscoreable_falls += 1;
            }
            if hit {
                rc.tp += 1;
            } else {
                rc.fn_ += 1;
            }
            if r.peak_g > 2.0 {
                rc.felt += 1;
                rc.felt_detected += hit as usize;
            }
        } else if hit {
            rc.fp += 1;
        } else {
            rc.tn += 1;
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
        choice,
        raised,
        unbudgeted,
        window_05: binary_metrics(&probs, &labels, 0.5),
        window: binary_metrics(&probs, &labels, threshold),
        recordings: rc,
        val_recordings,
        old,
        pooled: probs.into_iter().zip(labels).collect(),
    }
}

/// Scores of every run of a row, in (seed, fold) order.
pub fn score_row(all: &[RunResult], row: &str, protocol: &Protocol) -> Vec<RunScores> {
    let mut v: Vec<RunScores> = all
        .iter()
        .filter(|r| r.row == row)
        .map(|r| score_run(all, r, protocol))
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
    protocol: &Protocol,
    comparisons: &[(String, String)],
) -> String {
    let scored: Vec<(&String, Vec<RunScores>)> = rows
        .iter()
        .map(|r| (r, score_row(all, r, protocol)))
        .filter(|(_, s)| !s.is_empty())
        .collect();
    let seeds: BTreeSet<u64> = all.iter().map(|r| r.seed).collect();
    let folds: BTreeSet<u16> = all.iter().map(|r| r.fold).collect();
    let mut md = protocol_line(protocol, &seeds, folds.len());
    windows_table(&mut md, &scored, &seeds);
    threshold_notes(&mut md, &scored, protocol);
    recordings_table(&mut md, &scored);
    older_adults_table(&mut md, &scored);
    paired_tests(&mut md, all, &scored, comparisons);
    md
}

/// The report's first line: seeds, folds, how the operating threshold was chosen, the alarm.
fn protocol_line(protocol: &Protocol, seeds: &BTreeSet<u64>, folds: usize) -> String {
    let mut md = String::new();
    let val_f1 = format!(
        "best F1 on the pooled validation windows of the same row and seed over all folds, the test subject's own windows left out{}",
        match protocol.rule {
            ThresholdRule::Edge => "",
            ThresholdRule::Margin =>
                ", moved half way down to the next lower validation probability (the margin rule: same validation F1)",
        }
    );
    let threshold = match protocol.choice {
        ThresholdChoice::ValF1 => val_f1,
        ThresholdChoice::Fixed => "0.5 (fixed: chosen by nothing)".into(),
        ThresholdChoice::Nested => format!(
            "per run, whichever of {{{val_f1}}} and 0.5 scores the better recording F1 when each validation subject of that pool is scored at the threshold found on the other validation subjects (nested; a tie keeps 0.5)"
        ),
    };
    let threshold = match protocol.old_alarm_budget {
        Some(b) => format!(
            "{threshold}; then raised, where needed, until at most {:.1} % of the validation older adults' recordings alarm (each fold's validation older adults, pooled over the row's folds of the seed, the run's own test older adults left out)",
            b * 100.0
        ),
        None => threshold,
    };
    let alarm = &protocol.alarm;
    let _ = writeln!(
        md,
        "Seeds {:?}, {} folds. Operating threshold: {threshold}. Alarm: {} of {} consecutive windows at or above it, {} s refractory.\n",
        seeds, folds, alarm.k, alarm.n, alarm.refractory_s
    );
    md
}

/// The window metrics of every row.
fn windows_table(md: &mut String, scored: &[(&String, Vec<RunScores>)], seeds: &BTreeSet<u64>) {
    md.push_str("### Windows (mean +- std over folds x seeds; pooled: all test windows of a seed, mean +- std over seeds)\n\n");
    md.push_str("| row | runs | F1 @ 0.5 | F1 | precision | recall | AUC | pooled F1 | pooled AUC | threshold |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for (row, s) in scored {
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
}

/// How often the nested choice and the older-adult budget moved each row's threshold.
fn threshold_notes(md: &mut String, scored: &[(&String, Vec<RunScores>)], protocol: &Protocol) {
    if protocol.choice == ThresholdChoice::Nested {
        let picks: Vec<String> = scored
            .iter()
            .map(|(row, s)| {
                let v = s
                    .iter()
                    .filter(|x| x.choice == ThresholdChoice::ValF1)
                    .count();
                format!("{row} {v} of {}", s.len())
            })
            .collect();
        let _ = writeln!(
            md,
            "\nThe nested choice took the validation-F1 threshold (else 0.5) in: {}.",
            picks.join("; ")
        );
    }
    if protocol.old_alarm_budget.is_some() {
        let raised: Vec<String> = scored
            .iter()
            .map(|(row, s)| {
                let none = s.iter().filter(|x| x.unbudgeted).count();
                format!(
                    "{row} {} of {}{}",
                    s.iter().filter(|x| x.raised).count(),
                    s.len(),
                    if none > 0 {
                        format!(" ({none} with no validation older adult to apply it to)")
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        let _ = writeln!(
            md,
            "\nThe older-adult alarm budget raised the threshold in: {}.",
            raised.join("; ")
        );
    }
}

/// The recording metrics of every row.
fn recordings_table(md: &mut String, scored: &[(&String, Vec<RunScores>)]) {
    md.push_str("\n### Recordings (a fall recording is caught when the alarm vote is met on a window holding the fall; an ADL recording with any alarm is a false alarm). Pooled over all folds of a seed, mean +- std over seeds; \"per fold\": F1 of each fold's recordings, mean +- std over folds x seeds; \"validation F1\": the same pooled F1 on the runs' own validation recordings, at the same thresholds (no test recording in it: what a choice between rows may look at)\n\n");
    md.push_str("| row | fall recordings | caught | missed (no window) | ADL recordings | false alarms | precision | recall | F1 | F1 per fold | recall, falls > 2 g | validation F1 |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (row, s) in scored {
        let seeds_rc: Vec<RecordingCounts> =
            per_seed(s, |acc: &mut RecordingCounts, x| acc.add(&x.recordings));
        let seeds_val: Vec<RecordingCounts> =
            per_seed(s, |acc: &mut RecordingCounts, x| acc.add(&x.val_recordings));
        let c = seeds_rc.first().copied().unwrap_or_default();
        let col =
            |f: &dyn Fn(&RecordingCounts) -> f64| ms(&seeds_rc.iter().map(f).collect::<Vec<_>>());
        let _ = writeln!(
            md,
            "| {row} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
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
            ms(&seeds_val.iter().map(|c| c.prf().2).collect::<Vec<_>>()),
        );
    }
}

/// The older adults' false alarms of the rows that scored them.
fn older_adults_table(md: &mut String, scored: &[(&String, Vec<RunScores>)]) {
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
}

/// The paired tests "A beats B".
fn paired_tests(
    md: &mut String,
    all: &[RunResult],
    scored: &[(&String, Vec<RunScores>)],
    comparisons: &[(String, String)],
) {
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
}

/// One row and seed's [`deployment_point`].
pub type DeploymentPoint = (String, u64, OperatingPoint);

/// [`deployment_point`] of every row and seed of `all` that has validation predictions, in
/// `rows` then seed order.
pub fn deployment_points(
    all: &[RunResult],
    rows: &[String],
    protocol: &Protocol,
) -> Vec<DeploymentPoint> {
    let seeds: BTreeSet<u64> = all.iter().map(|r| r.seed).collect();
    rows.iter()
        .flat_map(|row| seeds.iter().map(move |&seed| (row, seed)))
        .filter(|&(row, seed)| {
            let scope = Scope::deployed(row, seed);
            all.iter()
                .any(|r| scope.pools(r) && r.preds.iter().any(|p| p.set == Set::Val))
        })
        .map(|(row, seed)| {
            (
                row.clone(),
                seed,
                deployment_point(all, row, seed, protocol),
            )
        })
        .collect()
}

/// `points` as the report's markdown section (empty without any).
pub fn deployment_markdown(points: &[DeploymentPoint]) -> String {
    let mut md = String::new();
    if points.is_empty() {
        return md;
    }
    md.push_str("\n### For a model with no test subject (as the shipped one, trained on the folds' subjects but a validation subject): the operating threshold the same protocol gives from every fold's validation predictions of the row and seed, none left out (also in `operating-points.csv`)\n\n");
    md.push_str("| row | seed | threshold | choice | raised by the older-adult budget |\n|---|---|---|---|---|\n");
    for (row, seed, p) in points {
        let _ = writeln!(
            md,
            "| {row} | {seed} | {:.4} | {} | {} |",
            p.threshold,
            p.choice.name(),
            if p.unbudgeted {
                "no validation older adult"
            } else if p.raised {
                "yes"
            } else {
                "no"
            }
        );
    }
    md
}

/// `points` as `operating-points.csv` (thresholds at full precision, to be used as they are).
pub fn deployment_csv(points: &[DeploymentPoint]) -> String {
    let mut csv = String::from("row,seed,threshold,choice,raised,unbudgeted\n");
    for (row, seed, p) in points {
        let _ = writeln!(
            csv,
            "{row},{seed},{},{},{},{}",
            p.threshold,
            p.choice.name(),
            p.raised,
            p.unbudgeted
        );
    }
    csv
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
    fn a_model_with_no_test_subject_pools_every_validation_subject() {
        // Fold 31 validates on S32 (falls 0.8 and 0.2, an ADL at 0.6): alone, 0.2 is best (F1
        // 0.8). Fold 32 validates on S31 (a fall at 0.9, an ADL at 0.7): alone, 0.9. Pooled, 0.8
        // is best (F1 0.8; 0.2 gives 0.75): neither fold's pool, so leaving out either subject
        // would show.
        let a = run(
            31,
            vec![
                pred(Set::Val, "S32A10T01", 0.0, true, true, 0.8),
                pred(Set::Val, "S32A11T01", 0.0, true, true, 0.2),
                pred(Set::Val, "S32A01T01", 0.0, false, true, 0.6),
            ],
            vec![],
        );
        let b = run(
            32,
            vec![
                pred(Set::Val, "S31A10T01", 0.0, true, true, 0.9),
                pred(Set::Val, "S31A01T01", 0.0, false, true, 0.7),
            ],
            vec![],
        );
        let all = vec![a.clone(), b.clone()];
        let protocol = Protocol::default();
        assert_eq!(operating_threshold(&all, &a, &protocol).threshold, 0.2);
        assert_eq!(operating_threshold(&all, &b, &protocol).threshold, 0.9);
        assert_eq!(deployment_point(&all, "m", 1, &protocol).threshold, 0.8);
        // Only rows and seeds with validation predictions get one.
        assert_eq!(
            deployment_points(&all, &["m".into(), "other".into()], &protocol)
                .iter()
                .map(|(r, s, p)| (r.as_str(), *s, p.threshold))
                .collect::<Vec<_>>(),
            vec![("m", 1, 0.8)]
        );
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
        let alarm = AlarmConfig {
            refractory_s: 0.0,
            ..Default::default()
        };
        let protocol = Protocol {
            alarm,
            ..Default::default()
        };
        assert_eq!(operating_threshold(&all, &a, &protocol).threshold, 0.9);
        assert_eq!(operating_threshold(&all, &b, &protocol).threshold, 0.4);
        let s = score_run(&all, &a, &protocol);
        // Its own validation recordings at 0.9: the fall (0.9) caught, the ADL (0.7) quiet.
        let v = s.val_recordings;
        assert_eq!((v.tp, v.fn_, v.fp, v.tn), (1, 0, 0, 1));
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
        let s = score_run(&[low.clone(), b], &low, &protocol);
        assert_eq!(s.threshold, 0.5);
        assert_eq!((s.recordings.tp, s.recordings.fn_), (1, 1));
        assert_eq!((s.recordings.fp, s.recordings.tn), (1, 0));
        assert_eq!(s.recordings.felt_detected, 1);
        let md = report(&[low], &["m".into()], &protocol, &[]);
        assert!(md.contains("| m | 1 |"), "{md}");
    }

    #[test]
    fn the_nested_choice_keeps_a_validation_threshold_only_when_it_carries_to_other_subjects() {
        // Fold 31 validates on S32, fold 32 on S33, fold 33 on S31 (left out of fold 31's pool).
        let val = |fold: u16, rows: &[(&str, bool, f64)]| {
            run(
                fold,
                rows.iter()
                    .map(|&(k, y, p)| pred(Set::Val, k, 0.0, y, true, p))
                    .collect(),
                vec![],
            )
        };
        let protocol = |choice| Protocol {
            choice,
            ..Default::default()
        };
        let c = val(33, &[("S31A10T01", true, 0.99), ("S31A01T01", false, 0.98)]);
        // S32 needs 0.9 to keep its ADL quiet, S33 separates at 0.5: a threshold found on one
        // subject does not carry to the other, and 0.5 scores better on each held-out subject.
        let a = val(31, &[("S32A10T01", true, 0.9), ("S32A01T01", false, 0.7)]);
        let b = val(32, &[("S33A10T01", true, 0.6), ("S33A01T01", false, 0.3)]);
        let all = vec![a.clone(), b, c.clone()];
        assert_eq!(
            chosen_threshold(&all, &Scope::of(&a), &protocol(ThresholdChoice::Nested)),
            (0.5, ThresholdChoice::Fixed)
        );
        // Both subjects need 0.9 (their ADLs score 0.7 and 0.75): the validation threshold
        // carries, and the nested choice keeps it.
        let a = val(31, &[("S32A10T01", true, 0.9), ("S32A01T01", false, 0.7)]);
        let b = val(32, &[("S33A10T01", true, 0.9), ("S33A01T01", false, 0.75)]);
        let all = vec![a.clone(), b, c];
        assert_eq!(
            chosen_threshold(&all, &Scope::of(&a), &protocol(ThresholdChoice::Nested)),
            (0.9, ThresholdChoice::ValF1)
        );
        assert_eq!(
            chosen_threshold(&all, &Scope::of(&a), &protocol(ThresholdChoice::Fixed)),
            (0.5, ThresholdChoice::Fixed)
        );
        // One validation subject: nothing to nest over.
        assert_eq!(
            chosen_threshold(
                &all[..1],
                &Scope::of(&a),
                &protocol(ThresholdChoice::Nested)
            ),
            (0.5, ThresholdChoice::Fixed)
        );
        let md = report(&all, &["m".into()], &protocol(ThresholdChoice::Nested), &[]);
        assert!(
            md.contains("validation-F1 threshold (else 0.5) in: m 1 of 3"),
            "{md}"
        );
    }

    #[test]
    fn the_older_adult_budget_raises_the_threshold_over_validation_older_adults_only() {
        // Fold 31 tests older adult S101 and validates on S102; fold 32 tests S102 and
        // validates on S103. Validation F1 puts both thresholds at 0.5.
        let mut a = run(
            31,
            vec![
                pred(Set::Val, "S32A10T01", 0.0, true, true, 0.9),
                pred(Set::Val, "S32A01T01", 0.0, false, true, 0.1),
                pred(Set::Old, "S101A01T01", 0.0, false, true, 0.99),
                // S102: one recording peaks at 0.7, one at 0.6, two never pass 0.2.
                pred(Set::OldVal, "S102A01T01", 0.0, false, true, 0.7),
                pred(Set::OldVal, "S102A01T01", 2.0, false, true, 0.1),
                pred(Set::OldVal, "S102A02T01", 0.0, false, true, 0.6),
                pred(Set::OldVal, "S102A03T01", 0.0, false, true, 0.2),
                pred(Set::OldVal, "S102A04T01", 0.0, false, true, 0.1),
                pred(Set::OldVal, "S102A05T01", 0.0, false, true, 0.99),
            ],
            vec![rec(Set::Old, "S101A01T01", 1.0)],
        );
        let mut b = run(
            32,
            vec![
                pred(Set::Val, "S31A10T01", 0.0, true, true, 0.8),
                pred(Set::Val, "S31A01T01", 0.0, false, true, 0.2),
                pred(Set::Old, "S102A01T01", 0.0, false, true, 0.3),
                pred(Set::OldVal, "S103A01T01", 0.0, false, true, 0.95),
                // S101 is fold 31's test older adult: in fold 32's pool, not in fold 31's.
                pred(Set::OldVal, "S101A02T01", 0.0, false, true, 0.8),
            ],
            vec![],
        );
        for r in [&mut a, &mut b] {
            r.recs.retain(|r| r.set == Set::Old);
        }
        let all = vec![a.clone(), b.clone()];
        let protocol = |budget| Protocol {
            alarm: AlarmConfig {
                refractory_s: 0.0,
                ..Default::default()
            },
            old_alarm_budget: budget,
            ..Default::default()
        };
        assert!(!operating_threshold(&all, &a, &protocol(None)).raised);
        // Fold 31's pool: S102's five recordings and S103's one (S101's, fold 32's validation
        // older adult's, left out: S101 is fold 31's own test older adult). A budget of 34 %
        // allows two of the six (levels 0.99, 0.95): the threshold goes just above the third
        // highest level, 0.7.
        let p = operating_threshold(&all, &a, &protocol(Some(0.34)));
        assert!(
            p.raised && p.threshold > 0.7 && p.threshold < 0.7 + 1e-12,
            "{p:?}"
        );
        // Fold 32 tests S102: its pool is S103's and S101's recordings (0.95, 0.8); S102's
        // (fold 31's validation older adult, one at 0.99) are left out. 0 % puts it just above
        // 0.95.
        let p = operating_threshold(&all, &b, &protocol(Some(0.0)));
        assert!(
            p.raised && p.threshold > 0.95 && p.threshold < 0.95 + 1e-12,
            "{p:?}"
        );
        // A model with no test older adult pools all seven recordings (levels 0.99, 0.95, 0.8,
        // 0.7, 0.6, 0.2, 0.1): 30 % allows two, so just above 0.8 (fold 31's pool of six allows
        // one, above 0.95; fold 32's of two none, above 0.95).
        let p = deployment_point(&all, "m", 1, &protocol(Some(0.3)));
        assert!(
            p.raised && p.threshold > 0.8 && p.threshold < 0.8 + 1e-12,
            "{p:?}"
        );
        let p = operating_threshold(&all, &a, &protocol(Some(0.3)));
        assert!(p.threshold > 0.95 && p.threshold < 0.95 + 1e-12, "{p:?}");
        // A budget every recording fits under leaves the threshold where the choice put it.
        let p = operating_threshold(&all, &a, &protocol(Some(1.0)));
        assert_eq!((p.threshold, p.raised), (0.5, false));
        // Without validation older adults (runs made without --old-adult-val): unchanged.
        let bare: Vec<RunResult> = all
            .iter()
            .cloned()
            .map(|mut r| {
                r.preds.retain(|p| p.set != Set::OldVal);
                r
            })
            .collect();
        let p = operating_threshold(&bare, &bare[0], &protocol(Some(0.0)));
        assert!(!p.raised && p.unbudgeted, "{p:?}");
        let md = report(&all, &["m".into()], &protocol(Some(0.34)), &[]);
        assert!(
            md.contains("until at most 34.0 % of the validation older adults' recordings alarm")
                && md.contains("budget raised the threshold in: m 2 of 2."),
            "{md}"
        );
        let md = report(&bare, &["m".into()], &protocol(Some(0.34)), &[]);
        assert!(
            md.contains("m 0 of 2 (2 with no validation older adult to apply it to)"),
            "{md}"
        );
        // With 2-of-2 votes a recording alarms only where two neighbouring windows pass: its
        // level is 0.7 (the pair 0.8, 0.7), not its highest window, 0.9.
        let votes = run(
            33,
            vec![
                pred(Set::OldVal, "S104A01T01", 0.0, false, true, 0.9),
                pred(Set::OldVal, "S104A01T01", 2.0, false, true, 0.1),
                pred(Set::OldVal, "S104A01T01", 4.0, false, true, 0.8),
                pred(Set::OldVal, "S104A01T01", 6.0, false, true, 0.7),
            ],
            vec![],
        );
        let two_of_two = AlarmConfig {
            k: 2,
            n: 2,
            refractory_s: 0.0,
            ..Default::default()
        };
        let f = old_alarm_threshold(
            std::slice::from_ref(&votes),
            &Scope::of(&votes),
            &two_of_two,
            0.0,
        );
        assert_eq!(f, Some(0.7f64.next_up()));
    }
}
