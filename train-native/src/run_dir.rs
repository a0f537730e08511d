//! A run directory: the names of the files a training run writes, and typed reads of them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fallkd_core::data::normalize::NormStats;

use fallkd_core::metrics::BinaryMetrics;
use serde::{Deserialize, Serialize};

use crate::checkpoint::write_atomic;
use crate::config::RunConfig;

/// The folder of one run (`fallkd train-teacher`, `train-student`, `train-features --out DIR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir(PathBuf);

impl RunDir {
    /// The resolved configuration.
    pub const CONFIG: &'static str = "config.yaml";
    /// Normalisation statistics of the training subjects.
    pub const NORM: &'static str = "norm.json";
    /// Resume state, the commit point of each epoch.
    pub const STATE: &'static str = "state.json";
    /// Final numbers; written last, so its presence means the run finished.
    pub const SUMMARY: &'static str = "metrics.json";
    /// Per-epoch metrics.
    pub const EPOCHS: &'static str = "metrics.csv";
    /// The best model alone (what `evaluate`, `export` and KD load).
    pub const MODEL: &'static str = "model.bpk";
    /// The best checkpoint with any KD head.
    pub const BEST: &'static str = "best.bpk";
    /// The last epoch's weights.
    pub const LAST: &'static str = "last.bpk";
    /// The last epoch's optimiser state.
    pub const OPTIM: &'static str = "optim.bpk";
    /// The last epoch's weight average (`train.ema` on; [`crate::weight_average`]).
    pub const EMA: &'static str = "ema.bpk";
    /// Staged checkpoints of an epoch not yet published (`ckpt/EPOCH/`).
    pub const STAGING: &'static str = "ckpt";
    /// Where the run's model comes from: the data it trained on (hashed) and the source
    /// revision ([`RunOrigin`]); written when training starts.
    pub const ORIGIN: &'static str = "origin.json";
    /// The one-line test result.
    pub const TEST_LINE: &'static str = "test.txt";

    /// The run directory at `path`.
    pub fn new(path: impl Into<PathBuf>) -> RunDir {
        RunDir(path.into())
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The path of one of its files.
    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Whether the run finished (it wrote its summary).
    pub fn is_finished(&self) -> bool {
        self.file(Self::SUMMARY).is_file()
    }

    /// Whether an interrupted run can be resumed from it.
    pub fn is_resumable(&self) -> bool {
        self.file(Self::STATE).is_file()
    }

    /// The resolved configuration the run was trained with.
    pub fn config(&self) -> Result<RunConfig> {
        let path = self.file(Self::CONFIG);
        if !path.is_file() {
            anyhow::bail!(
                "{} holds no {}: is it a run directory (fallkd train-teacher/train-student --out DIR)?",
                self.0.display(),
                Self::CONFIG
            );
        }
        RunConfig::load(&[path], &[])
    }

    /// The resume state.
    pub fn state(&self) -> Result<TrainState> {
        self.json(Self::STATE, "did the run start training?")
    }

    /// The normalisation statistics.
    pub fn norm(&self) -> Result<NormStats> {
        self.json(Self::NORM, "did the run start training?")
    }

    /// What a finished run trained (from its summary).
    pub fn role(&self) -> Result<Role> {
        Ok(self.summary()?.role)
    }

    /// The final summary of a finished run.
    pub fn summary(&self) -> Result<RunSummary> {
        self.json(Self::SUMMARY, "did its training finish?")
    }

    /// Where the run comes from; `None` for runs trained before runs recorded it.
    pub fn origin(&self) -> Result<Option<RunOrigin>> {
        if !self.file(Self::ORIGIN).is_file() {
            return Ok(None);
        }
        self.json(Self::ORIGIN, "").map(Some)
    }

    fn json<T: serde::de::DeserializeOwned>(&self, name: &str, hint: &str) -> Result<T> {
        let path = self.file(name);
        let bytes = std::fs::read(&path)
            .with_context(|| format!("{} has no {name}: {hint}", self.0.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("{} is unreadable", path.display()))
    }
}

/// Where a run comes from (`origin.json`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RunOrigin {
    /// The data it trained and validated on.
    pub data: fallkd_core::provenance::DataOrigin,
    /// The source revision ([`crate::source::source_commit`]).
    pub commit: String,
    /// When training started (UTC).
    pub started: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_are_named_with_the_folder() {
        let d = RunDir::new(std::env::temp_dir().join("fallkd-no-such-run"));
        assert!(!d.is_finished() && !d.is_resumable());
        let e = format!("{:#}", d.state().unwrap_err());
        assert!(
            e.contains("fallkd-no-such-run") && e.contains("state.json"),
            "{e}"
        );
        let e = format!("{:#}", d.config().unwrap_err());
        assert!(e.contains("config.yaml"), "{e}");
    }
}

/// What a run trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The skeleton teacher.
    Teacher,
    /// A student (timestamp-aware or fixed-rate, per `student.arch`).
    Student,
}

/// One epoch's numbers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Mean training loss and its parts.
    pub loss: f64,
    /// Task part.
    pub task: f64,
    /// Embedding KD part.
    pub embedding: f64,
    /// Gram KD part.
    pub gram: f64,
    /// COMODO part.
    pub comodo: f64,
    /// Attention KD part.
    pub attention: f64,
    /// Validation metrics at 0.5.
    pub val: BinaryMetrics,
    /// Validation metrics at the best threshold.
    pub val_best: BinaryMetrics,
    /// Seconds for the epoch.
    pub seconds: f64,
    /// Training steps per second.
    pub steps_per_s: f64,
    /// Mean log loss of the validation windows.
    #[serde(default)]
    pub val_loss: f64,
    /// Mean response-KD loss.
    #[serde(default)]
    pub response: f64,
}

pub(crate) const CSV_HEADER: &str = "epoch,loss,task,embedding,gram,comodo,attention,val_f1,val_precision,val_recall,val_accuracy,val_auc,val_best_threshold,val_best_f1,val_best_precision,val_best_recall,val_best_accuracy,seconds,steps_per_s,val_loss,response";

impl EpochRecord {
    /// The line a run prints after the epoch (after its name).
    pub fn progress_line(&self) -> String {
        format!(
            "epoch {}: loss {:.4}  val F1 {:.3} (best-threshold {:.3} at {:.2})  AUC {:.3}  {:.1} steps/s",
            self.epoch,
            self.loss,
            self.val.f1,
            self.val_best.f1,
            self.val_best.threshold,
            self.val.auc,
            self.steps_per_s
        )
    }

    /// The record as a row of `metrics.csv` (columns as [`CSV_HEADER`]).
    pub(crate) fn csv(&self) -> String {
        format!(
            "{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{:.2},{:.3},{:.6},{:.6}",
            self.epoch,
            self.loss,
            self.task,
            self.embedding,
            self.gram,
            self.comodo,
            self.attention,
            self.val.f1,
            self.val.precision,
            self.val.recall,
            self.val.accuracy,
            self.val.auc,
            self.val_best.threshold,
            self.val_best.f1,
            self.val_best.precision,
            self.val_best.recall,
            self.val_best.accuracy,
            self.seconds,
            self.steps_per_s,
            self.val_loss,
            self.response
        )
    }
}

/// Resume state, written with every `last` checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs finished.
    pub epochs_done: usize,
    /// Optimiser steps taken.
    pub steps: usize,
    /// Best validation F1 (best threshold) so far.
    pub best_f1: f64,
    /// Epoch of the best checkpoint.
    pub best_epoch: usize,
    /// Validation threshold of the best checkpoint.
    pub best_threshold: f64,
    /// Epochs since the best.
    pub since_best: usize,
    /// Validation log loss of the best checkpoint (`train.select: val-loss`).
    #[serde(default)]
    pub best_val_loss: Option<f64>,
    /// Stopped early or finished.
    pub finished: bool,
}

/// A run's name: its directory's.
pub fn run_name(out: &Path) -> String {
    out.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("run")
        .to_string()
}

/// Final numbers of a run (`metrics.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    /// Run name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Split name and subjects.
    pub split: fallkd_core::data::split::Split,
    /// Parameters of the trained model (projection excluded).
    pub parameters: usize,
    /// Best epoch.
    pub best_epoch: usize,
    /// Validation threshold used.
    pub threshold: f64,
    /// Best validation F1 (at that threshold): what model selection uses.
    pub val_f1: f64,
    /// Test metrics at 0.5.
    pub test: BinaryMetrics,
    /// Test metrics at the validation threshold.
    pub test_at_val_threshold: BinaryMetrics,
    /// Windows in train / val / test.
    pub windows: [usize; 3],
    /// Mean training steps per second.
    pub steps_per_s: f64,
    /// Inference milliseconds per window (batch 1, mean over test windows, up to 64).
    pub ms_per_window: f64,
}

impl RunSummary {
    /// The summary a finished run wrote into `dir` (`metrics.json`); `None` when the run has not
    /// finished.
    pub fn read(dir: &Path) -> Result<Option<RunSummary>> {
        let path = dir.join(RunDir::SUMMARY);
        if !path.is_file() {
            return Ok(None);
        }
        let b = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_slice(&b)
            .map(Some)
            .with_context(|| format!("{} is not a run summary", path.display()))
    }

    /// The one-line test result (`test.txt`, and what `train-teacher` / `train-student` print).
    pub fn test_line(&self) -> String {
        format!(
            "test F1 {:.4} precision {:.4} recall {:.4} accuracy {:.4} AUC {:.4} (threshold 0.5); F1 {:.4} at validation threshold {:.3}",
            self.test.f1,
            self.test.precision,
            self.test.recall,
            self.test.accuracy,
            self.test.auc,
            self.test_at_val_threshold.f1,
            self.threshold
        )
    }

    /// Header of `metric_fields`.
    pub const METRIC_FIELDS: &'static str =
        "test_f1,precision,recall,accuracy,auc,f1_at_val_threshold";

    /// Test F1, precision, recall, accuracy, AUC and F1 at the validation threshold as CSV fields.
    pub fn metric_fields(&self) -> String {
        let t = &self.test;
        format!(
            "{:.4},{:.4},{:.4},{:.4},{:.4},{:.4}",
            t.f1, t.precision, t.recall, t.accuracy, t.auc, self.test_at_val_threshold.f1
        )
    }
}

/// Brings a run directory in line with its committed `state.json`. An epoch's checkpoint files
/// are written to `ckpt/EPOCH/` before `state.json` commits the epoch; this publishes the
/// committed epoch's files under their usual names (`last.bpk`, `optim.bpk`, `ema.bpk` with
/// `train.ema` on, and `best.bpk` and `model.bpk` when it was the best) and removes every staged epoch, so that a process killed at
/// any moment leaves either the previous epoch or this one, never a mix. Idempotent; run after
/// each commit and before a resume.
pub fn recover_checkpoint(out: &Path, state: &TrainState) -> Result<()> {
    let ckpt = out.join(RunDir::STAGING);
    let stage = ckpt.join(state.epochs_done.to_string());
    let mut names = vec![RunDir::LAST, RunDir::OPTIM];
    // Staged only with `train.ema` on; publishing copies, so a stage whose removal had begun
    // after its copy holds at most files already published.
    if stage.join(RunDir::EMA).is_file() {
        names.push(RunDir::EMA);
    }
    if state.best_epoch == state.epochs_done {
        names.extend([RunDir::BEST, RunDir::MODEL]);
    }
    // A committed epoch's stage is complete until its removal starts, and its removal starts only
    // after it was published: a stage missing any file was published already.
    if names.iter().all(|n| stage.join(n).is_file()) {
        for name in names {
            let bytes = std::fs::read(stage.join(name))
                .with_context(|| format!("cannot read {}", stage.join(name).display()))?;
            write_atomic(&out.join(name), &bytes)?;
        }
    }
    if ckpt.is_dir() {
        std::fs::remove_dir_all(&ckpt)
            .with_context(|| format!("cannot remove {}", ckpt.display()))?;
    }
    Ok(())
}
