//! Gradient-boosted decision trees for binary classification (logistic loss).
//!
//! A small, deterministic, histogram-based booster in plain `std`:
//!
//! - every feature is cut into at most [`GbmConfig::bins`] quantile bins of the training data;
//!   each cut is stored as a raw `f32` threshold halfway between two neighbouring training
//!   values, so at predict time a row goes left when `value <= threshold` (NaN, or a feature
//!   missing from a short row, goes right);
//! - the initial score is the log-odds of the weighted base rate (positives weigh
//!   [`GbmConfig::pos_weight`]);
//! - each tree sees a row subsample and a column subsample drawn with a seeded SplitMix64, fits
//!   the gradients and hessians of the weighted logistic loss, splits on the histogram gain
//!   `G_L^2/(H_L+l2) + G_R^2/(H_R+l2) - G^2/(H+l2)` while respecting `max_depth` and
//!   `min_samples_leaf`, and gets leaves `-G/(H+l2) * learning_rate`.
//!
//! Training is single-threaded and every sum runs in a fixed order, so the same data,
//! configuration and seed give a bit-identical model on every platform.

use fallkd_core::error::Error;

/// Hyperparameters.
#[derive(Debug, Clone, PartialEq)]
pub struct GbmConfig {
    /// Number of boosting rounds (trees).
    pub trees: usize,
    /// Shrinkage applied to every leaf value (> 0).
    pub learning_rate: f64,
    /// Maximum tree depth (0 gives single-leaf trees).
    pub max_depth: usize,
    /// Fewest training rows a leaf may hold (0 is read as 1).
    pub min_samples_leaf: usize,
    /// L2 regularisation of the leaf values (>= 0).
    pub l2: f64,
    /// Most histogram bins per feature (2..=256).
    pub bins: usize,
    /// Share of rows each tree is fitted on, in (0, 1].
    pub subsample: f64,
    /// Share of features each tree may split on, in (0, 1].
    pub colsample: f64,
    /// Seed of the row and column sampling.
    pub seed: u64,
    /// Weight of positive samples in the loss (> 0).
    pub pos_weight: f64,
}

impl Default for GbmConfig {
    fn default() -> Self {
        GbmConfig {
            trees: 300,
            learning_rate: 0.05,
            max_depth: 4,
            min_samples_leaf: 10,
            l2: 1.0,
            bins: 64,
            subsample: 0.8,
            colsample: 0.8,
            seed: 42,
            pos_weight: 1.0,
        }
    }
}

/// Marks a leaf in [`Node::feature`].
const LEAF: u32 = u32::MAX;

/// One tree node; a leaf when `feature == LEAF`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    feature: u32,
    /// Rows with `value <= threshold` go left.
    threshold: f32,
    /// Training bin of the threshold (rows with `bin <= this` go left).
    bin: u8,
    left: u32,
    right: u32,
    /// Leaf value (learning rate included).
    value: f64,
}

/// A trained model.
#[derive(Debug, Clone)]
pub struct Gbm {
    base_score: f64,
    n_features: usize,
    trees: Vec<Vec<Node>>,
    importance: Vec<f64>,
}

/// SplitMix64: a tiny seeded generator, identical on every platform.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        fallkd_core::rng::mix64(self.0)
    }

    /// Uniform integer in [0, n) for n > 0.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Sorted sample of `k` distinct indices out of `perm.len()`, by a partial Fisher-Yates
    /// shuffle of `perm` (which carries its order over to the next call).
    fn sample(&mut self, perm: &mut [u32], k: usize) -> Vec<u32> {
        let n = perm.len();
        if k >= n {
            return (0..n as u32).collect();
        }
        for i in 0..k {
            let j = i + self.below(n - i);
            perm.swap(i, j);
        }
        let mut s = perm[..k].to_vec();
        s.sort_unstable();
        s
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// A split threshold `t` with `a <= t < b`, halfway when `f32` allows.
fn midpoint(a: f32, b: f32) -> f32 {
    let m = ((f64::from(a) + f64::from(b)) * 0.5) as f32;
    if m >= a && m < b { m } else { a }
}

/// Ascending thresholds cutting `values` (finite) into at most `bins` quantile bins. Bin of a
/// value = number of thresholds below it.
fn bin_thresholds(values: &mut [f32], bins: usize) -> Vec<f32> {
    values.sort_unstable_by(f32::total_cmp);
    let n = values.len();
    // Distinct values with counts (-0.0 and 0.0 are one value).
    let mut uniq: Vec<(f32, usize)> = Vec::new();
    for &v in values.iter() {
        match uniq.last_mut() {
            Some((u, c)) if *u == v => *c += 1,
            _ => uniq.push((v, 1)),
        }
    }
    if uniq.len() < 2 {
        return Vec::new();
    }
    let cuts: Vec<usize> = if uniq.len() <= bins {
        (0..uniq.len() - 1).collect()
    } else {
        // Cut after the distinct value where the cumulative count reaches the next k*n/bins.
        let mut cuts = Vec::with_capacity(bins - 1);
        let mut cum = 0usize;
        let mut next_k = 1usize;
        for (i, &(_, c)) in uniq[..uniq.len() - 1].iter().enumerate() {
            cum += c;
            if cum * bins >= next_k * n {
                cuts.push(i);
                while next_k * n <= cum * bins {
                    next_k += 1;
                }
            }
        }
        cuts
    };
    cuts.into_iter()
        .map(|i| midpoint(uniq[i].0, uniq[i + 1].0))
        .collect()
}

/// Per-bin gradient sums.
#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

/// The best split found for one node.
struct Split {
    feature: usize,
    bin: usize,
    gain: f64,
}

/// Grows one tree on the sampled rows.
struct TreeBuilder<'a> {
    binned: &'a [Vec<u8>],
    thresholds: &'a [Vec<f32>],
    grad: &'a [f64],
    hess: &'a [f64],
    cols: &'a [usize],
    /// Offset of each sampled column's histogram in `hist`.
    offsets: Vec<usize>,
    hist: Vec<Bin>,
    scratch: Vec<u32>,
    max_depth: usize,
    min_leaf: usize,
    l2: f64,
    learning_rate: f64,
    nodes: Vec<Node>,
    importance: &'a mut [f64],
}

impl TreeBuilder<'_> {
    fn leaf_value(&self, g: f64, h: f64) -> f64 {
        let v = -g / (h + self.l2) * self.learning_rate;
        if v.is_finite() { v } else { 0.0 }
    }

    fn best_split(&mut self, rows: &[u32], g_sum: f64, h_sum: f64) -> Option<Split> {
        for b in self.hist.iter_mut() {
            *b = Bin::default();
        }
        for (ci, &f) in self.cols.iter().enumerate() {
            let col = &self.binned[f];
            let hist = &mut self.hist[self.offsets[ci]..self.offsets[ci + 1]];
            for &r in rows {
                let r = r as usize;
                let b = &mut hist[col[r] as usize];
                b.g += self.grad[r];
                b.h += self.hess[r];
                b.n += 1;
            }
        }
        let parent = g_sum * g_sum / (h_sum + self.l2);
        let n = rows.len();
        let mut best: Option<Split> = None;
        for (ci, &f) in self.cols.iter().enumerate() {
            let hist = &self.hist[self.offsets[ci]..self.offsets[ci + 1]];
            let (mut gl, mut hl, mut nl) = (0.0, 0.0, 0usize);
            // The last bin cannot be a left side (nothing would go right).
            for (b, bin) in hist[..hist.len().saturating_sub(1)].iter().enumerate() {
                gl += bin.g;
                hl += bin.h;
                nl += bin.n as usize;
                if nl < self.min_leaf {
                    continue;
                }
                if n - nl < self.min_leaf {
                    break;
                }
                let (gr, hr) = (g_sum - gl, h_sum - hl);
                let gain = gl * gl / (hl + self.l2) + gr * gr / (hr + self.l2) - parent;
                if gain.is_finite() && gain > best.as_ref().map_or(1e-12, |s| s.gain) {
                    best = Some(Split {
                        feature: f,
                        bin: b,
                        gain,
                    });
                }
            }
        }
        best
    }

    /// Grows the subtree of `rows` (sorted) and returns its node index.
    fn grow(&mut self, rows: &mut [u32], depth: usize) -> u32 {
        let (mut g_sum, mut h_sum) = (0.0, 0.0);
        for &r in rows.iter() {
            g_sum += self.grad[r as usize];
            h_sum += self.hess[r as usize];
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(Node {
            feature: LEAF,
            threshold: 0.0,
            bin: 0,
            left: 0,
            right: 0,
            value: self.leaf_value(g_sum, h_sum),
        });
        if depth >= self.max_depth || rows.len() < 2 * self.min_leaf {
            return id;
        }
        let Some(split) = self.best_split(rows, g_sum, h_sum) else {
            return id;
        };
        self.importance[split.feature] += split.gain;
        // Stable partition: left rows first, both halves stay sorted.
        let col = &self.binned[split.feature];
        self.scratch.clear();
        let mut nl = 0;
        for i in 0..rows.len() {
            let r = rows[i];
            if col[r as usize] as usize <= split.bin {
                rows[nl] = r;
                nl += 1;
            } else {
                self.scratch.push(r);
            }
        }
        rows[nl..].copy_from_slice(&self.scratch);
        let (left_rows, right_rows) = rows.split_at_mut(nl);
        let left = self.grow(left_rows, depth + 1);
        let right = self.grow(right_rows, depth + 1);
        self.nodes[id as usize] = Node {
            feature: split.feature as u32,
            threshold: self.thresholds[split.feature][split.bin],
            bin: split.bin as u8,
            left,
            right,
            value: 0.0,
        };
        id
    }
}

fn check_config(cfg: &GbmConfig) -> Result<(), Error> {
    if !(cfg.learning_rate.is_finite() && cfg.learning_rate > 0.0) {
        return Err(Error::Invalid(format!(
            "gbm: learning_rate must be finite and > 0, got {}",
            cfg.learning_rate
        )));
    }
    if !(cfg.l2.is_finite() && cfg.l2 >= 0.0) {
        return Err(Error::Invalid(format!(
            "gbm: l2 must be finite and >= 0, got {}",
            cfg.l2
        )));
    }
    if !(2..=256).contains(&cfg.bins) {
        return Err(Error::Invalid(format!(
            "gbm: bins must be in 2..=256, got {}",
            cfg.bins
        )));
    }
    if !(cfg.subsample > 0.0 && cfg.subsample <= 1.0) {
        return Err(Error::Invalid(format!(
            "gbm: subsample must be in (0, 1], got {}",
            cfg.subsample
        )));
    }
    if !(cfg.colsample > 0.0 && cfg.colsample <= 1.0) {
        return Err(Error::Invalid(format!(
            "gbm: colsample must be in (0, 1], got {}",
            cfg.colsample
        )));
    }
    if !(cfg.pos_weight.is_finite() && cfg.pos_weight > 0.0) {
        return Err(Error::Invalid(format!(
            "gbm: pos_weight must be finite and > 0, got {}",
            cfg.pos_weight
        )));
    }
    Ok(())
}

impl Gbm {
    /// Trains on rows `x` (each of equal length) and labels `y` (`true` = fall).
    ///
    /// Errors (with a message naming the problem, and the row and column where there is one) on
    /// empty input, a label count that differs from the row count, rows of unequal length,
    /// non-finite feature values and out-of-range hyperparameters. Labels all of one class are
    /// allowed: the model then has no trees and predicts the base rate (within 1e-12).
    pub fn fit(x: &[Vec<f32>], y: &[bool], cfg: &GbmConfig) -> Result<Gbm, Error> {
        check_config(cfg)?;
        let d = check_rows(x, y)?;
        let n = x.len();
        let weight: Vec<f64> = y
            .iter()
            .map(|&l| if l { cfg.pos_weight } else { 1.0 })
            .collect();
        let w_pos: f64 = weight
            .iter()
            .zip(y)
            .filter(|(_, l)| **l)
            .map(|(w, _)| w)
            .sum();
        let w_all: f64 = weight.iter().sum();
        let rate = (w_pos / w_all).clamp(1e-12, 1.0 - 1e-12);
        let base_score = (rate / (1.0 - rate)).ln();
        let mut model = Gbm {
            base_score,
            n_features: d,
            trees: Vec::new(),
            importance: vec![0.0; d],
        };
        let one_class = y.iter().all(|&l| l) || y.iter().all(|&l| !l);
        if one_class || d == 0 || cfg.trees == 0 {
            return Ok(model);
        }

        let (thresholds, binned) = quantile_bins(x, d, cfg.bins);
        // Features with a single distinct value can never split.
        let usable: Vec<usize> = (0..d).filter(|&f| !thresholds[f].is_empty()).collect();
        if usable.is_empty() {
            return Ok(model);
        }

        let mut rng = SplitMix64(cfg.seed);
        let n_rows = ((cfg.subsample * n as f64).round() as usize).clamp(1, n);
        let n_cols =
            ((cfg.colsample * usable.len() as f64).round() as usize).clamp(1, usable.len());
        let mut row_perm: Vec<u32> = (0..n as u32).collect();
        let mut col_perm: Vec<u32> = (0..usable.len() as u32).collect();
        let mut score = vec![base_score; n];
        let mut grad = vec![0.0; n];
        let mut hess = vec![0.0; n];
        let mut scratch = Vec::with_capacity(n);
        for _ in 0..cfg.trees {
            for i in 0..n {
                let p = sigmoid(score[i]);
                let t = if y[i] { 1.0 } else { 0.0 };
                grad[i] = weight[i] * (p - t);
                hess[i] = (weight[i] * p * (1.0 - p)).max(1e-16);
            }
            let mut rows = rng.sample(&mut row_perm, n_rows);
            let cols: Vec<usize> = rng
                .sample(&mut col_perm, n_cols)
                .into_iter()
                .map(|c| usable[c as usize])
                .collect();
            let mut offsets = Vec::with_capacity(cols.len() + 1);
            offsets.push(0);
            for &f in &cols {
                offsets.push(offsets.last().copied().unwrap_or(0) + thresholds[f].len() + 1);
            }
            let mut builder = TreeBuilder {
                binned: &binned,
                thresholds: &thresholds,
                grad: &grad,
                hess: &hess,
                cols: &cols,
                hist: vec![Bin::default(); offsets.last().copied().unwrap_or(0)],
                offsets,
                scratch: std::mem::take(&mut scratch),
                max_depth: cfg.max_depth,
                min_leaf: cfg.min_samples_leaf.max(1),
                l2: cfg.l2,
                learning_rate: cfg.learning_rate,
                nodes: Vec::new(),
                importance: &mut model.importance,
            };
            builder.grow(&mut rows, 0);
            let nodes = std::mem::take(&mut builder.nodes);
            scratch = std::mem::take(&mut builder.scratch);
            // Update every training row's score (binned routing equals threshold routing).
            for (i, s) in score.iter_mut().enumerate() {
                let mut k = 0usize;
                loop {
                    let node = &nodes[k];
                    if node.feature == LEAF {
                        *s += node.value;
                        break;
                    }
                    k = if binned[node.feature as usize][i] <= node.bin {
                        node.left as usize
                    } else {
                        node.right as usize
                    };
                }
            }
            model.trees.push(nodes);
        }
        Ok(model)
    }

    /// Raw score (log-odds) of one row: the initial score plus every tree's leaf value.
    ///
    /// A row goes left where `value <= threshold`; NaN values and features missing from a short
    /// row go right.
    pub fn raw_score(&self, row: &[f32]) -> f64 {
        let mut s = self.base_score;
        for tree in &self.trees {
            let mut k = 0usize;
            loop {
                let node = &tree[k];
                if node.feature == LEAF {
                    s += node.value;
                    break;
                }
                let v = row.get(node.feature as usize).copied().unwrap_or(f32::NAN);
                k = if v <= node.threshold {
                    node.left as usize
                } else {
                    node.right as usize
                };
            }
        }
        s
    }

    /// Fall probability of one row (sigmoid of the summed raw scores).
    pub fn predict_proba(&self, row: &[f32]) -> f64 {
        sigmoid(self.raw_score(row))
    }

    /// Per-feature total split gain over all trees (for reports); one entry per feature.
    pub fn feature_importance(&self) -> Vec<f64> {
        self.importance.clone()
    }

    /// Number of features the model was trained on.
    pub fn num_features(&self) -> usize {
        self.n_features
    }

    /// Number of trees (0 when the labels were all one class).
    pub fn num_trees(&self) -> usize {
        self.trees.len()
    }
}

/// The width of the training rows `x`, checked: rows there, as many labels, every row as wide as
/// the first, every value finite.
fn check_rows(x: &[Vec<f32>], y: &[bool]) -> Result<usize, Error> {
    if x.is_empty() {
        return Err(Error::Invalid("gbm: no training rows".to_string()));
    }
    if y.len() != x.len() {
        return Err(Error::Invalid(format!(
            "gbm: {} training rows but {} labels",
            x.len(),
            y.len()
        )));
    }
    let d = x[0].len();
    for (r, row) in x.iter().enumerate() {
        if row.len() != d {
            return Err(Error::Invalid(format!(
                "gbm: row {r} has {} features but row 0 has {d}",
                row.len()
            )));
        }
        if let Some(c) = row.iter().position(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!(
                "gbm: non-finite feature value {} at row {r}, column {c}",
                row[c]
            )));
        }
    }
    Ok(d)
}

/// Quantile bins per feature: each feature's thresholds, and the data stored column-major as bin
/// indices.
fn quantile_bins(x: &[Vec<f32>], d: usize, bins: usize) -> (Vec<Vec<f32>>, Vec<Vec<u8>>) {
    let n = x.len();
    let mut thresholds = Vec::with_capacity(d);
    let mut binned = Vec::with_capacity(d);
    let mut column = vec![0f32; n];
    for f in 0..d {
        for (c, row) in column.iter_mut().zip(x) {
            *c = row[f];
        }
        let thr = bin_thresholds(&mut column, bins);
        binned.push(
            x.iter()
                .map(|row| thr.partition_point(|&t| t < row[f]) as u8)
                .collect::<Vec<u8>>(),
        );
        thresholds.push(thr);
    }
    (thresholds, binned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uniform f32 in [lo, hi).
    fn unif(rng: &mut SplitMix64, lo: f32, hi: f32) -> f32 {
        let u = (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }

    fn accuracy(m: &Gbm, x: &[Vec<f32>], y: &[bool]) -> f64 {
        let ok = x
            .iter()
            .zip(y)
            .filter(|(r, l)| (m.predict_proba(r) >= 0.5) == **l)
            .count();
        ok as f64 / x.len() as f64
    }

    /// Rank AUC (ties count half).
    fn auc(p: &[f64], y: &[bool]) -> f64 {
        let (mut num, mut pairs) = (0.0, 0.0);
        for (i, &yi) in y.iter().enumerate() {
            if !yi {
                continue;
            }
            for (j, &yj) in y.iter().enumerate() {
                if yj {
                    continue;
                }
                pairs += 1.0;
                if p[i] > p[j] {
                    num += 1.0;
                } else if p[i] == p[j] {
                    num += 0.5;
                }
            }
        }
        num / pairs
    }

    #[test]
    fn separable_threshold() {
        // Training x0 on a grid with a margin around 0.3; noise in x1, x2.
        let mut rng = SplitMix64(1);
        let grid: Vec<f32> = (0..=50)
            .map(|k| k as f32 / 50.0)
            .filter(|v| (v - 0.3).abs() >= 0.05)
            .collect();
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..600 {
            let x0 = grid[i % grid.len()];
            x.push(vec![
                x0,
                unif(&mut rng, 0.0, 1.0),
                unif(&mut rng, -1.0, 1.0),
            ]);
            y.push(x0 > 0.3);
        }
        let m = Gbm::fit(&x, &y, &GbmConfig::default()).expect("fit");
        // Held-out points: continuous x0 outside the margin.
        let mut xt = Vec::new();
        let mut yt = Vec::new();
        while xt.len() < 500 {
            let x0 = unif(&mut rng, 0.0, 1.0);
            if (x0 - 0.3).abs() < 0.05 {
                continue;
            }
            xt.push(vec![
                x0,
                unif(&mut rng, 0.0, 1.0),
                unif(&mut rng, -1.0, 1.0),
            ]);
            yt.push(x0 > 0.3);
        }
        let p: Vec<f64> = xt.iter().map(|r| m.predict_proba(r)).collect();
        assert_eq!(accuracy(&m, &xt, &yt), 1.0);
        assert_eq!(auc(&p, &yt), 1.0);
        let imp = m.feature_importance();
        assert_eq!(imp.len(), 3);
        assert!(imp[0] > 10.0 * (imp[1] + imp[2]), "importance {imp:?}");
        assert_eq!(m.num_features(), 3);
        assert_eq!(m.num_trees(), 300);
    }

    fn xor_data(seed: u64, n: usize) -> (Vec<Vec<f32>>, Vec<bool>) {
        let mut rng = SplitMix64(seed);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n {
            let r = vec![
                unif(&mut rng, -1.0, 1.0),
                unif(&mut rng, -1.0, 1.0),
                unif(&mut rng, -1.0, 1.0),
            ];
            y.push((r[0] > 0.0) != (r[1] > 0.0));
            x.push(r);
        }
        (x, y)
    }

    #[test]
    fn xor_interaction() {
        let (x, y) = xor_data(7, 2000);
        let (xt, yt) = xor_data(8, 1000);
        for depth in [2, 4] {
            let cfg = GbmConfig {
                max_depth: depth,
                ..GbmConfig::default()
            };
            let m = Gbm::fit(&x, &y, &cfg).expect("fit");
            let acc = accuracy(&m, &xt, &yt);
            assert!(acc > 0.95, "depth {depth}: accuracy {acc}");
        }
    }

    #[test]
    fn deterministic_per_seed() {
        let (x, y) = xor_data(3, 500);
        let (xt, _) = xor_data(4, 200);
        let cfg = GbmConfig {
            trees: 50,
            ..GbmConfig::default()
        };
        let a = Gbm::fit(&x, &y, &cfg).expect("fit");
        let b = Gbm::fit(&x, &y, &cfg).expect("fit");
        let c = Gbm::fit(
            &x,
            &y,
            &GbmConfig {
                seed: cfg.seed + 1,
                ..cfg.clone()
            },
        )
        .expect("fit");
        let pa: Vec<u64> = xt.iter().map(|r| a.predict_proba(r).to_bits()).collect();
        let pb: Vec<u64> = xt.iter().map(|r| b.predict_proba(r).to_bits()).collect();
        let pc: Vec<u64> = xt.iter().map(|r| c.predict_proba(r).to_bits()).collect();
        assert_eq!(pa, pb);
        assert_eq!(a.trees, b.trees);
        assert_ne!(pa, pc);
    }

    #[test]
    fn input_errors() {
        let cfg = GbmConfig::default();
        let e = Gbm::fit(&[], &[], &cfg).unwrap_err().to_string();
        assert!(e.contains("no training rows"), "{e}");

        let x = vec![vec![1.0, 2.0], vec![1.0], vec![3.0, 4.0]];
        let e = Gbm::fit(&x, &[true, false, true], &cfg)
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 1"), "{e}");

        let x = vec![vec![1.0, 2.0], vec![1.0, 2.0], vec![3.0, f32::NAN]];
        let e = Gbm::fit(&x, &[true, false, true], &cfg)
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 2") && e.contains("column 1"), "{e}");

        let x = vec![vec![1.0, 2.0], vec![f32::INFINITY, 2.0]];
        let e = Gbm::fit(&x, &[true, false], &cfg).unwrap_err().to_string();
        assert!(e.contains("row 1") && e.contains("column 0"), "{e}");

        let e = Gbm::fit(&[vec![1.0]], &[true, false], &cfg)
            .unwrap_err()
            .to_string();
        assert!(e.contains("labels"), "{e}");

        let bad = GbmConfig {
            bins: 1,
            ..cfg.clone()
        };
        assert!(Gbm::fit(&[vec![1.0]], &[true], &bad).is_err());
        let bad = GbmConfig {
            subsample: 0.0,
            ..cfg
        };
        assert!(Gbm::fit(&[vec![1.0]], &[true], &bad).is_err());
    }

    #[test]
    fn one_class_predicts_base_rate() {
        let x: Vec<Vec<f32>> = (0..50).map(|i| vec![i as f32, (i % 7) as f32]).collect();
        let cfg = GbmConfig::default();
        let m = Gbm::fit(&x, &[false; 50], &cfg).expect("fit");
        assert_eq!(m.num_trees(), 0);
        assert!(m.predict_proba(&[3.0, 1.0]) < 1e-9);
        let m = Gbm::fit(&x, &[true; 50], &cfg).expect("fit");
        assert!(m.predict_proba(&[3.0, 1.0]) > 1.0 - 1e-9);
        assert!(m.feature_importance().iter().all(|&g| g == 0.0));

        // Weighted base rate: 25 % positives weighing 3 give 0.5 before any tree.
        let y: Vec<bool> = (0..40).map(|i| i % 4 == 0).collect();
        let x: Vec<Vec<f32>> = (0..40).map(|i| vec![i as f32]).collect();
        let cfg = GbmConfig {
            trees: 0,
            pos_weight: 3.0,
            ..GbmConfig::default()
        };
        let m = Gbm::fit(&x, &y, &cfg).expect("fit");
        assert!((m.predict_proba(&[1.0]) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn binning_and_thresholds() {
        // Few distinct values: one bin each, thresholds halfway.
        let mut v = vec![3.0, 1.0, 2.0, 2.0, -0.0, 0.0];
        assert_eq!(bin_thresholds(&mut v, 64), vec![0.5, 1.5, 2.5]);
        // Many values: at most `bins` bins, roughly equal counts.
        let mut v: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let t = bin_thresholds(&mut v, 4);
        assert_eq!(t, vec![249.5, 499.5, 749.5]);
        let mut v: Vec<f32> = (0..1000).map(|i| (i * 37 % 1000) as f32).collect();
        let t = bin_thresholds(&mut v, 64);
        assert!(t.len() <= 63 && t.len() >= 60, "{}", t.len());
        assert!(t.windows(2).all(|w| w[0] < w[1]));
        // Adjacent floats: threshold stays >= the lower value and below the upper one.
        let a = 1.0f32;
        let b = f32::from_bits(a.to_bits() + 1);
        assert_eq!(midpoint(a, b), a);
        // Constant feature: no thresholds; the model still trains.
        let x: Vec<Vec<f32>> = (0..30).map(|i| vec![5.0, i as f32]).collect();
        let y: Vec<bool> = (0..30).map(|i| i >= 15).collect();
        let m = Gbm::fit(&x, &y, &GbmConfig::default()).expect("fit");
        assert!(m.predict_proba(&[5.0, 29.0]) > 0.5);
        assert!(m.predict_proba(&[5.0, 0.0]) < 0.5);
        // Short rows and NaN do not panic.
        assert!(m.predict_proba(&[]).is_finite());
        assert!(m.predict_proba(&[f32::NAN, f32::NAN]).is_finite());
    }
}
