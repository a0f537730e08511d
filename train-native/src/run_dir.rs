//! A run directory: the names of the files a training run writes, and typed reads of them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fallkd_core::data::normalize::NormStats;

use crate::config::RunConfig;
use crate::trainer::{RunSummary, TrainState};

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
    pub fn role(&self) -> Result<crate::trainer::Role> {
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
