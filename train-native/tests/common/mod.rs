//! Training helpers shared by the training tests: runs on a small generated dataset.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use fallkd_train::config::RunConfig;
use fallkd_train::dataset::write_dataset;
use fallkd_train::trainer::RunOptions;

pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fallkd-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A small, fast configuration over a 4-subject generated dataset.
pub fn tiny(dir: &Path, extra: &[&str]) -> RunConfig {
    let data = dir.join("data");
    if !data.join("young").is_dir() {
        write_dataset(&data, 4, 1, 3).unwrap();
    }
    let mut sets: Vec<String> = [
        format!("data.root={}", data.display()),
        "data.skeleton_frames=32".into(),
        "teacher={embed_dim: 32, num_layers: 1, num_heads: 2, dropout: 0.1, use_pos_enc: true, max_len: 64}".into(),
        "student={embed_dim: 16, num_tokens: 16, num_heads: 2, num_layers: 1, dropout: 0.0}".into(),
        "train={epochs: 5, batch_size: 16, lr: 0.003, warmup_epochs: 0.5, patience: 10, max_batches_per_epoch: 6}".into(),
        "window.max_events=96".into(),
        "stress={kinds: [jitter, dropout], severities: [0.0, 1.0]}".into(),
    ]
    .to_vec();
    sets.extend(extra.iter().map(|s| s.to_string()));
    RunConfig::load(&[], &sets).unwrap()
}

pub fn losses(run: &Path) -> Vec<f64> {
    std::fs::read_to_string(run.join("metrics.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect()
}

pub fn opts(out: &Path) -> RunOptions {
    RunOptions {
        out: out.to_path_buf(),
        resume: false,
        progress: false,
        stop_after: None,
    }
}
