//! Ensemble rows of a study: `NAME=A+B[+C...]` is the mean fall probability of rows A, B, ... on
//! every window, one ensemble run per seed and fold where all of its rows finished. The runs are
//! built from the rows' prediction files, so an ensemble costs no training; it is then scored by
//! the same protocol as any row (its operating threshold from its own pooled validation windows).

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use fallkd_core::metrics::{best_threshold, binary_metrics};

use crate::evaluation::RunResult;
use crate::predictions::{Prediction, Set};

/// One ensemble row.
#[derive(Debug, Clone, PartialEq)]
pub struct Ensemble {
    /// Row name in the report.
    pub name: String,
    /// The rows averaged (two or more).
    pub parts: Vec<String>,
}

impl Ensemble {
    /// Parses `NAME=A+B[+C...]`.
    pub fn parse(spec: &str) -> Result<Ensemble> {
        let Some((name, parts)) = spec.split_once('=') else {
            bail!("--ensemble {spec:?}: expected NAME=ROW+ROW[+ROW...]");
        };
        let parts: Vec<String> = parts.split('+').map(|p| p.trim().to_string()).collect();
        if name.trim().is_empty() || parts.len() < 2 || parts.iter().any(String::is_empty) {
            bail!(
                "--ensemble {spec:?}: expected NAME=ROW+ROW[+ROW...] (a name and two rows or more)"
            );
        }
        if let Some(c) = name
            .trim()
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-_+.".contains(*c)))
        {
            bail!(
                "--ensemble {spec:?}: the name may hold letters, digits and - _ + . only, not {c:?} (it names a table row and a CSV field)"
            );
        }
        Ok(Ensemble {
            name: name.trim().to_string(),
            parts,
        })
    }

    /// The ensemble's runs: for every (seed, fold) where each part has a finished run, the mean
    /// of the parts' probabilities on each window. A window one part scored and another did not
    /// is an error naming both (the rows must window the data alike).
    pub fn combine(&self, results: &[RunResult]) -> Result<Vec<RunResult>> {
        let mut out = Vec::new();
        let first: Vec<&RunResult> = results.iter().filter(|r| r.row == self.parts[0]).collect();
        'runs: for base in first {
            let mut others = Vec::new();
            for part in &self.parts[1..] {
                match results
                    .iter()
                    .find(|r| &r.row == part && r.seed == base.seed && r.fold == base.fold)
                {
                    Some(r) => others.push(r),
                    None => continue 'runs,
                }
            }
            let here = |what: &str| {
                format!(
                    "--ensemble {}: seed {} fold S{:02}: {what}",
                    self.name, base.seed, base.fold
                )
            };
            for part in std::iter::once(base).chain(others.iter().copied()) {
                for set in [Set::Val, Set::Test] {
                    if !part.preds.iter().any(|p| p.set == set) {
                        bail!(here(&format!(
                            "{} has no {set:?} window predictions (predictions.csv missing or empty): an ensemble needs every part's",
                            part.row
                        )));
                    }
                }
            }
            let mut sums: Vec<f64> = base.preds.iter().map(|p| p.prob).collect();
            let mut index = BTreeMap::new();
            for (i, p) in base.preds.iter().enumerate() {
                if index
                    .insert((p.set, p.key, p.start_s.to_bits(), p.end_s.to_bits()), i)
                    .is_some()
                {
                    bail!(here(&format!(
                        "{} has two predictions for the window of {:?} at {:.3}-{:.3} s",
                        base.row, p.key, p.start_s, p.end_s
                    )));
                }
            }
            for other in &others {
                // Each of the base's windows matched exactly once (equal counts alone would let
                // one window counted twice stand in for a missing one).
                let mut matched = vec![false; base.preds.len()];
                if other.preds.len() != base.preds.len() {
                    bail!(here(&format!(
                        "{} has {} window predictions, {} has {}: the rows must window the data alike",
                        base.row,
                        base.preds.len(),
                        other.row,
                        other.preds.len()
                    )));
                }
                for p in &other.preds {
                    let q = index
                        .get(&(p.set, p.key, p.start_s.to_bits(), p.end_s.to_bits()))
                        .map(|&i| (i, &base.preds[i]));
                    match q {
                        Some((i, q))
                            if !matched[i] && q.label == p.label && q.scored == p.scored =>
                        {
                            matched[i] = true;
                            sums[i] += p.prob
                        }
                        _ => bail!(here(&format!(
                            "{} has a window of {:?} at {:.3}-{:.3} s that {} does not have alike (start, end, label, scored), or has it twice: the rows must window the data alike",
                            other.row, p.key, p.start_s, p.end_s, base.row
                        ))),
                    }
                }
            }
            let n = self.parts.len() as f64;
            let preds: Vec<Prediction> = base
                .preds
                .iter()
                .zip(&sums)
                .map(|(p, s)| Prediction {
                    prob: s / n,
                    ..p.clone()
                })
                .collect();
            let mut summary = base.summary.clone();
            summary.name = self.name.clone();
            summary.parameters += others.iter().map(|o| o.summary.parameters).sum::<usize>();
            summary.ms_per_window += others.iter().map(|o| o.summary.ms_per_window).sum::<f64>();
            summary.steps_per_s = 0.0;
            let pick = |set: Set, scored_only: bool| -> (Vec<f64>, Vec<bool>) {
                preds
                    .iter()
                    .filter(|p| p.set == set && (p.scored || !scored_only))
                    .map(|p| (p.prob, p.label))
                    .unzip()
            };
            // The summary's metrics are the ensemble's own (split and window counts are the
            // parts' common ones; parameters the parts' sum; epochs mean nothing here).
            let (vp, vl) = pick(Set::Val, false);
            let best = best_threshold(&vp, &vl);
            summary.threshold = best.threshold;
            summary.val_f1 = best.f1;
            summary.best_epoch = 0;
            let (tp, tl) = pick(Set::Test, true);
            summary.test = binary_metrics(&tp, &tl, 0.5);
            summary.test_at_val_threshold = binary_metrics(&tp, &tl, summary.threshold);
            out.push(RunResult {
                row: self.name.clone(),
                seed: base.seed,
                fold: base.fold,
                summary,
                preds,
                recs: base.recs.clone(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_dir::RunSummary;
    use fallkd_core::data::trial::TrialKey;
    use fallkd_core::metrics::BinaryMetrics;

    fn run(row: &str, probs: &[f64]) -> RunResult {
        let summary: RunSummary = serde_json::from_value(serde_json::json!({
            "name": row, "role": "student", "split": {"name": "loso", "train": [1], "val": [2], "test": [3]},
            "parameters": 10, "best_epoch": 1, "threshold": 0.5, "val_f1": 0.0,
            "test": BinaryMetrics::default(), "test_at_val_threshold": BinaryMetrics::default(),
            "windows": [1, 2, 2], "steps_per_s": 1.0, "ms_per_window": 1.0
        }))
        .unwrap();
        let sets = [Set::Val, Set::Val, Set::Test, Set::Test];
        let preds = probs
            .iter()
            .zip(sets)
            .enumerate()
            .map(|(i, (&prob, set))| Prediction {
                set,
                key: TrialKey {
                    subject: if set == Set::Test { 3 } else { 2 },
                    activity: if i % 2 == 0 { 10 } else { 1 },
                    trial: 1,
                },
                start_s: 0.0,
                end_s: 4.0,
                label: i % 2 == 0,
                scored: true,
                prob,
            })
            .collect();
        RunResult {
            row: row.into(),
            seed: 42,
            fold: 3,
            summary,
            preds,
            recs: vec![],
        }
    }

    #[test]
    fn parses_and_refuses() {
        let e = Ensemble::parse("mix=a+b").unwrap();
        assert_eq!((e.name.as_str(), e.parts.len()), ("mix", 2));
        for bad in ["mix", "mix=a", "=a+b", "mix=a+", "m|x=a+b", "m,x=a+b"] {
            assert!(Ensemble::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn averages_matching_windows_and_rescores() {
        // a ranks the test windows wrongly, b rightly and more confidently: the mean ranks rightly.
        let all = vec![
            run("a", &[0.6, 0.4, 0.4, 0.6]),
            run("b", &[0.9, 0.1, 1.0, 0.0]),
        ];
        let e = Ensemble::parse("ab=a+b").unwrap();
        let out = e.combine(&all).unwrap();
        assert_eq!(out.len(), 1);
        let p: Vec<f64> = out[0].preds.iter().map(|p| p.prob).collect();
        assert_eq!(p, vec![0.75, 0.25, 0.7, 0.3]);
        assert_eq!(out[0].summary.test.auc, 1.0);
        assert_eq!(out[0].summary.parameters, 20);
        assert_eq!(out[0].row, "ab");
        // A missing part: no ensemble run; a window only one part has: an error.
        assert!(e.combine(&all[..1]).unwrap().is_empty());
        let mut c = run("b", &[0.9, 0.1, 1.0, 0.0]);
        c.preds[3].start_s = 2.0;
        assert!(e.combine(&[all[0].clone(), c]).is_err());
        // Windows that start alike but differ otherwise, a part without predictions: errors.
        let mut c = run("b", &[0.9, 0.1, 1.0, 0.0]);
        c.preds[2].scored = false;
        assert!(e.combine(&[all[0].clone(), c]).is_err());
        // One window twice in place of another: refused, not summed twice.
        let mut c = run("b", &[0.9, 0.1, 1.0, 0.0]);
        c.preds[3] = c.preds[2].clone();
        assert!(e.combine(&[all[0].clone(), c]).is_err());
        let mut c = run("b", &[0.9, 0.1, 1.0, 0.0]);
        c.preds.clear();
        let err = e.combine(&[all[0].clone(), c]).unwrap_err().to_string();
        assert!(err.contains("no Val window predictions"), "{err}");
        // Two windows of one recording that start alike and end apart (a recording's last
        // regular window and its end-aligned one, after a gap): two windows, each averaged.
        let (mut a, mut b) = (all[0].clone(), all[1].clone());
        for r in [&mut a, &mut b] {
            r.preds[3] = Prediction {
                end_s: 4.5,
                ..r.preds[2].clone()
            };
        }
        b.preds[3].prob = 0.5;
        let out = e.combine(&[a, b]).unwrap();
        let p: Vec<f64> = out[0].preds.iter().map(|p| p.prob).collect();
        assert_eq!(p, vec![0.75, 0.25, 0.7, 0.45]);
    }
}
