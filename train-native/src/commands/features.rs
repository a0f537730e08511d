//! `fallkd train-features`: the reference rows every neural row is read against, trained on the
//! same windows and split and writing the same run files (`metrics.json`, `predictions.csv`,
//! `recordings.csv`), so that `fallkd loso` scores them with the same protocol.
//!
//! - `features.model: peak`: one rule, "peak |acceleration| above a threshold", the threshold
//!   chosen for F1 on the training windows. Its score is `sigmoid(4 (peak_g - threshold_g))`,
//!   so 0.5 is the rule's own cut and the ranking (AUC) is the peak's.
//! - `features.model: gbm`: gradient-boosted trees (`fallkd_core::gbm`) on the hand-made window
//!   features of `fallkd_core::features`.
//! - `features.model: always-fall`: every window a fall, the floor a protocol's score is read
//!   against.
//!
//! With `train.gyro_dropout` p > 0, each training window also enters once more with its
//! gyroscope marked missing with probability p, so the model learns to work without one. With
//! `train.augment` on, each training window enters once more turned and re-scaled (with the
//! augmentation's probability), the copies the students see in training.

use std::path::Path;
use std::time::Instant;

use crate::gbm::{Gbm, GbmConfig};
use anyhow::{Result, bail};
use fallkd_core::data::window::Window;
use fallkd_core::features::{NUM_FEATURES, feature_index, window_features};
use fallkd_core::metrics::{best_threshold, binary_metrics};
use fallkd_core::rng::Rng;

use crate::checkpoint::write_atomic;
use crate::config::{FeatureModel, RunConfig};
use crate::dataset::{Prepared, data_root, prepare};
use crate::predictions::{Prediction, windows_to_predict};
use crate::run_dir::RunDir;
use crate::run_dir::{Role, RunSummary, run_name};

/// The window's features, over its feature context when it has one (`window.feature_context_s`).
fn features(data: &Prepared, w: &Window, gyro_missing: bool) -> Vec<f32> {
    let missing = gyro_missing || data.trials[w.trial].gyro_missing;
    let (events, timestamps) = match &w.context {
        Some(c) => (&c.events, &c.timestamps),
        None => (&w.events, &w.timestamps),
    };
    let events: Vec<[f32; 6]> = if missing {
        events
            .iter()
            .map(|e| [e[0], e[1], e[2], 0.0, 0.0, 0.0])
            .collect()
    } else {
        events.clone()
    };
    window_features(&events, timestamps, missing).to_vec()
}

/// A trained feature model.
enum Fitted {
    Always,
    Peak { threshold_g: f64 },
    Gbm(Gbm),
}

const PEAK: &str = "acc_peak_g";

impl Fitted {
    fn score(&self, x: &[f32]) -> f64 {
        match self {
            Fitted::Peak { threshold_g } => {
                let p = x[feature_index(PEAK).expect("peak feature")] as f64;
                1.0 / (1.0 + (-4.0 * (p - threshold_g)).exp())
            }
            Fitted::Gbm(g) => g.predict_proba(x),
            Fitted::Always => 1.0,
        }
    }
}

/// The training windows' feature rows and labels: each window once, again with its gyroscope
/// zeroed (`train.gyro_dropout`, drawn per window), and again turned and re-scaled
/// (`train.augment`).
fn training_rows(cfg: &RunConfig, data: &Prepared) -> (Vec<Vec<f32>>, Vec<bool>) {
    let mut rng = Rng::new(cfg.seed ^ 0xfea7);
    let mut x: Vec<Vec<f32>> = Vec::new();
    let mut y: Vec<bool> = Vec::new();
    for w in &data.train {
        x.push(features(data, w, false));
        y.push(w.label);
        if cfg.train.gyro_dropout > 0.0 && rng.uniform() < cfg.train.gyro_dropout {
            x.push(features(data, w, true));
            y.push(w.label);
        }
    }
    // Augmentation: every training window enters once more, turned and re-scaled with the
    // configured probability (its own random stream, so the dropout draws stay as they were).
    let augment = cfg.train.augment;
    if augment.is_active() {
        let mut arng = Rng::new(cfg.seed ^ 0xa0_6a06);
        for w in &data.train {
            let mut turned = w.clone();
            // The feature context (window.feature_context_s) gets the window's turn and gain.
            let draws = arng.clone();
            augment.apply(&mut turned.events, &mut arng);
            if let Some(c) = turned.context.as_mut() {
                augment.apply(&mut c.events, &mut draws.clone());
            }
            if turned.events != w.events || turned.context != w.context {
                x.push(features(data, &turned, false));
                y.push(w.label);
            }
        }
    }
    (x, y)
}

/// The configured feature model fitted on `x`, `y`.
fn fit(cfg: &RunConfig, x: &[Vec<f32>], y: &[bool]) -> Result<Fitted> {
    let f = &cfg.features;
    Ok(match f.model {
        FeatureModel::AlwaysFall => Fitted::Always,
        FeatureModel::Peak => {
            let i = feature_index(PEAK).expect("peak feature");
            let peaks: Vec<f64> = x.iter().map(|r| r[i] as f64).collect();
            // Best F1 over the observed peaks, on the training windows.
            let m = best_threshold(&peaks, y);
            Fitted::Peak {
                threshold_g: m.threshold,
            }
        }
        FeatureModel::Gbm => Fitted::Gbm(Gbm::fit(
            x,
            y,
            &GbmConfig {
                trees: f.trees,
                max_depth: f.max_depth,
                learning_rate: f.learning_rate,
                seed: cfg.seed,
                ..Default::default()
            },
        )?),
    })
}

/// Trains the configured feature model on `cfg`'s split into `out`; returns its summary.
pub fn run(cfg: &RunConfig, out: &Path) -> Result<RunSummary> {
    let runs_root = out.parent().unwrap_or(Path::new("."));
    let root = data_root(cfg, runs_root)?;
    let data = prepare(cfg, &root)?;
    if data.train.is_empty() || data.val.is_empty() {
        bail!(
            "the split leaves no training or validation windows ({} / {}): check data.split",
            data.train.len(),
            data.val.len()
        );
    }
    std::fs::create_dir_all(out)?;
    cfg.save(&out.join(RunDir::CONFIG))?;
    let t0 = Instant::now();
    let (x, y) = training_rows(cfg, &data);
    let model = fit(cfg, &x, &y)?;
    let train_s = t0.elapsed().as_secs_f64();
    let score = |w: &Window| model.score(&features(&data, w, false));
    let val_probs: Vec<f64> = data.val.iter().map(score).collect();
    let val_labels: Vec<bool> = data.val.iter().map(|w| w.label).collect();
    let val = best_threshold(&val_probs, &val_labels);
    let t1 = Instant::now();
    let probs: Vec<f64> = data.test.iter().map(score).collect();
    let ms = t1.elapsed().as_secs_f64() * 1000.0 / data.test.len().max(1) as f64;
    let labels: Vec<bool> = data.test.iter().map(|w| w.label).collect();
    let (to_predict, recordings) = windows_to_predict(&data, &cfg.window, |_| true);
    let preds: Vec<Prediction> = to_predict
        .iter()
        .map(|(set, scored, w)| Prediction::of(*set, *scored, w, score(w)))
        .collect();
    crate::predictions::write(out, &preds, &recordings)?;
    let summary = RunSummary {
        name: run_name(out),
        role: Role::Student,
        split: data.split.clone(),
        parameters: match &model {
            Fitted::Always => 0,
            Fitted::Peak { .. } => 1,
            Fitted::Gbm(g) => g.num_trees(),
        },
        best_epoch: 0,
        threshold: val.threshold,
        val_f1: val.f1,
        test: binary_metrics(&probs, &labels, 0.5),
        test_at_val_threshold: binary_metrics(&probs, &labels, val.threshold),
        windows: [x.len(), data.val.len(), data.test.len()],
        steps_per_s: 1.0 / train_s.max(1e-9),
        ms_per_window: ms,
    };
    if let Fitted::Peak { threshold_g } = &model {
        write_atomic(
            &out.join("rule.json"),
            format!("{{\"peak_threshold_g\": {threshold_g}}}\n").as_bytes(),
        )?;
    }
    write_atomic(
        &out.join(RunDir::SUMMARY),
        &serde_json::to_vec_pretty(&summary)?,
    )?;
    debug_assert_eq!(NUM_FEATURES, x.first().map_or(NUM_FEATURES, Vec::len));
    println!(
        "{}: test F1 {:.3} AUC {:.3} (threshold 0.5); F1 {:.3} at validation threshold {:.2}; trained in {:.1} s",
        out.display(),
        summary.test.f1,
        summary.test.auc,
        summary.test_at_val_threshold.f1,
        summary.threshold,
        train_s
    );
    Ok(summary)
}

/// `fallkd train-features`: a feature-model reference row.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Configuration, data, seed.
    #[command(flatten)]
    pub common: crate::flags::Common,
    /// Run directory.
    #[arg(long, default_value = "runs/features")]
    pub out: std::path::PathBuf,
}

/// Runs `fallkd train-features`.
pub fn cli(a: &Args) -> Result<()> {
    run(&a.common.config(&[])?.0, &a.out)?;
    Ok(())
}
