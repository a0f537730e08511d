//! `fallkd evaluate --run DIR`: test metrics and batch-1 inference time of a finished run.

use std::path::Path;

use anyhow::Result;
use burn::tensor::Device;
use fallkd_core::metrics::binary_metrics;

use crate::batcher::Batcher;
use crate::dataset::{data_root, prepare};
use crate::model::{latency_ms, load_trained, predict};
use crate::run_dir::Role;
use crate::run_dir::RunDir;

/// Evaluates `run` on its test split (or on `data_root_override`).
pub fn run(run: &Path, data_root_override: Option<&Path>, device: &Device) -> Result<()> {
    let dir = RunDir::new(run);
    let mut cfg = dir.config()?;
    if let Some(r) = data_root_override {
        cfg.data.root = Some(r.to_path_buf());
    }
    let role = dir.role()?;
    let root = data_root(&cfg, run.parent().unwrap_or(Path::new(".")))?;
    let data = prepare(&cfg, &root)?;
    let net = load_trained(&cfg, role, run, device)?;
    let batcher = Batcher {
        data: &data,
        // The run's own statistics: refitted on another data root they would scale the windows
        // otherwise than the model was trained with.
        stats: dir.norm()?,
        teacher_stats: None,
        role,
        grid_len: cfg.student.model.num_tokens,
        frames: cfg.data.skeleton_frames,
    };
    let state = dir.state()?;
    let test: Vec<_> = data
        .test
        .iter()
        .filter(|w| role == Role::Student || w.skeleton_frames.is_some())
        .cloned()
        .collect();
    let labels: Vec<bool> = test.iter().map(|w| w.label).collect();
    let probs = predict(&net, &batcher, &test, 64, device);
    for (name, t) in [("0.5", 0.5), ("validation", state.best_threshold)] {
        let m = binary_metrics(&probs, &labels, t);
        println!(
            "{} on {} test windows of {:?}, threshold {name} ({:.3}): F1 {:.4} precision {:.4} recall {:.4} accuracy {:.4} AUC {:.4}",
            run.display(),
            test.len(),
            data.split.test,
            t,
            m.f1,
            m.precision,
            m.recall,
            m.accuracy,
            m.auc
        );
    }
    println!(
        "{}: {:.3} ms per window (batch 1, batching included, {} CPU threads)",
        run.display(),
        latency_ms(&net, &batcher, &test, device),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .to_string())
    );
    Ok(())
}

/// `fallkd evaluate`: test metrics and batch-1 inference time of a finished run.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run directory.
    #[arg(long)]
    pub run: std::path::PathBuf,
    /// Evaluate on another data root (same split subjects).
    #[arg(long)]
    pub data_root: Option<std::path::PathBuf>,
    /// The device.
    #[command(flatten)]
    pub device: crate::flags::DeviceArg,
}

/// Runs `fallkd evaluate`.
pub fn cli(a: &Args) -> Result<()> {
    run(&a.run, a.data_root.as_deref(), a.device.get())
}
