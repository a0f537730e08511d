//! Binary classification metrics: F1, precision, recall, accuracy, AUC, best threshold.

use serde::{Deserialize, Serialize};

/// Metrics at one threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BinaryMetrics {
    /// Threshold on the fall probability.
    pub threshold: f64,
    /// F1 of the fall class.
    pub f1: f64,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// Accuracy.
    pub accuracy: f64,
    /// Area under the ROC curve (threshold-free).
    pub auc: f64,
}

/// Metrics of probabilities against labels at `threshold`.
pub fn binary_metrics(probs: &[f64], labels: &[bool], threshold: f64) -> BinaryMetrics {
    assert_eq!(
        probs.len(),
        labels.len(),
        "probabilities and labels differ in length"
    );
    let (mut tp, mut fp, mut tn, mut fneg) = (0usize, 0usize, 0usize, 0usize);
    for (&p, &y) in probs.iter().zip(labels) {
        match (p >= threshold, y) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fneg += 1,
        }
    }
    let precision = if tp + fp > 0 {
        tp as f64 / (tp + fp) as f64
    } else {
        0.0
    };
    let recall = if tp + fneg > 0 {
        tp as f64 / (tp + fneg) as f64
    } else {
        0.0
    };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    BinaryMetrics {
        threshold,
        f1,
        precision,
        recall,
        accuracy: if probs.is_empty() {
            0.0
        } else {
            (tp + tn) as f64 / probs.len() as f64
        },
        auc: auc(probs, labels),
    }
}

/// ROC AUC by ranks (ties share their mean rank); 0.5 when one class is absent.
pub fn auc(probs: &[f64], labels: &[bool]) -> f64 {
    let pos = labels.iter().filter(|&&y| y).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return 0.5;
    }
    let mut idx: Vec<usize> = (0..probs.len()).collect();
    idx.sort_by(|&a, &b| probs[a].total_cmp(&probs[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && probs[idx[j + 1]] == probs[idx[i]] {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += (i..=j).filter(|&k| labels[idx[k]]).count() as f64 * mean_rank;
        i = j + 1;
    }
    (rank_sum - (pos * (pos + 1)) as f64 / 2.0) / (pos * neg) as f64
}

/// The threshold (among the observed probabilities and 0.5) that maximises F1.
pub fn best_threshold(probs: &[f64], labels: &[bool]) -> BinaryMetrics {
    let mut candidates: Vec<f64> = probs.to_vec();
    candidates.push(0.5);
    candidates.sort_by(f64::total_cmp);
    candidates.dedup();
    let mut best = binary_metrics(probs, labels, 0.5);
    for &t in &candidates {
        let m = binary_metrics(probs, labels, t);
        if m.f1 > best.f1 {
            best = m;
        }
    }
    best
}

/// How a threshold is placed among the observed probabilities once the best F1 is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ThresholdRule {
    /// [`best_threshold`]: the lowest observed probability that reaches the best F1 (a kept
    /// fall scores exactly at it: no margin).
    #[default]
    Edge,
    /// The same split of the data, the threshold moved to the middle of the gap below it (half way
    /// to the next lower observed probability): the same F1 on these windows, with a margin.
    Margin,
}

/// The best-F1 threshold of `probs` placed by `rule` (see [`ThresholdRule`]).
pub fn choose_threshold(probs: &[f64], labels: &[bool], rule: ThresholdRule) -> BinaryMetrics {
    let best = best_threshold(probs, labels);
    if rule == ThresholdRule::Edge {
        return best;
    }
    let below = probs
        .iter()
        .copied()
        .filter(|&p| p < best.threshold)
        .fold(f64::NEG_INFINITY, f64::max);
    if below.is_finite() {
        binary_metrics(probs, labels, 0.5 * (below + best.threshold))
    } else {
        best
    }
}

/// Mean log loss of probabilities against labels (probabilities clamped to [1e-7, 1 - 1e-7]).
pub fn log_loss(probs: &[f64], labels: &[bool]) -> f64 {
    let n = probs.len().min(labels.len());
    if n == 0 {
        return 0.0;
    }
    let s: f64 = probs
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(1e-7, 1.0 - 1e-7);
            if y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    s / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_metrics() {
        let p = [0.9, 0.8, 0.3, 0.6, 0.1];
        let y = [true, true, true, false, false];
        let m = binary_metrics(&p, &y, 0.5);
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.accuracy - 0.6).abs() < 1e-12);
        // Pairs (pos, neg) ranked right: (0.9,0.6),(0.9,0.1),(0.8,0.6),(0.8,0.1),(0.3,0.1) = 5/6.
        assert!((m.auc - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(auc(&[0.5, 0.5], &[true, false]), 0.5);
        let b = best_threshold(&p, &y);
        assert!(b.f1 >= m.f1 && (b.threshold - 0.3).abs() < 1e-12);
        // The margin rule keeps the split (same metrics) and moves half way to 0.1.
        let g = choose_threshold(&p, &y, ThresholdRule::Margin);
        assert!((g.threshold - 0.2).abs() < 1e-12, "{}", g.threshold);
        assert_eq!((g.f1, g.precision, g.recall), (b.f1, b.precision, b.recall));
        assert_eq!(choose_threshold(&p, &y, ThresholdRule::Edge), b);
        // Nothing below the best threshold: it stays.
        let e = choose_threshold(&[0.9, 0.2], &[true, true], ThresholdRule::Margin);
        assert_eq!(
            e.threshold,
            best_threshold(&[0.9, 0.2], &[true, true]).threshold
        );
    }
}
