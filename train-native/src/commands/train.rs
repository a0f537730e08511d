//! `fallkd train-teacher` and `fallkd train-student`.

use std::path::Path;

use anyhow::Result;
use burn::tensor::Device;

use crate::config::RunConfig;
use crate::dataset::{data_root, prepare};
use crate::trainer::{Role, RunOptions, RunSummary, train};

/// Loads data for `cfg` and trains one model into `out`.
pub fn run(
    cfg: &RunConfig,
    role: Role,
    out: &Path,
    device: &Device,
    resume: bool,
    progress: bool,
) -> Result<RunSummary> {
    let cfg = if resume {
        RunConfig::load(&[out.join("config.yaml")], &[])?
    } else {
        cfg.clone()
    };
    let runs_root = out.parent().unwrap_or(Path::new("."));
    let root = data_root(&cfg, runs_root)?;
    let data = prepare(&cfg, &root)?;
    if progress {
        eprintln!(
            "{}: {} (split {}: train {:?} val {:?} test {:?}; windows {} / {} / {})",
            out.display(),
            data.report.summary(),
            data.split.name,
            data.split.train,
            data.split.val,
            data.split.test,
            data.train.len(),
            data.val.len(),
            data.test.len()
        );
    }
    let s = train(
        &cfg,
        role,
        &data,
        device,
        &RunOptions {
            out: out.to_path_buf(),
            resume,
            progress,
            stop_after: None,
        },
    )?;
    println!(
        "{}: test F1 {:.3} precision {:.3} recall {:.3} accuracy {:.3} AUC {:.3} (threshold 0.5); F1 {:.3} at validation threshold {:.2}",
        out.display(),
        s.test.f1,
        s.test.precision,
        s.test.recall,
        s.test.accuracy,
        s.test.auc,
        s.test_at_val_threshold.f1,
        s.threshold
    );
    Ok(s)
}
