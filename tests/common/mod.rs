//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use fallkd_core::burn::tensor::{Device, Tensor, TensorData};
use fallkd_train::dataset::write_dataset;
use fallkd_train::config::RunConfig;
use fallkd_train::trainer::RunOptions;

/// The CPU device the tests run on, seeded.
pub fn device(seed: u64) -> Device {
    let d = Device::flex();
    d.seed(seed);
    d
}

/// Flat f32 values of a tensor.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

/// Tensor from flat values and a shape.
pub fn tensor<const D: usize>(v: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// Largest absolute difference.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Deterministic pseudo-random values in [-1, 1).
pub fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// A batch of `b` event windows of `n` events with slightly irregular timestamps (~32 Hz).
pub fn events(b: usize, n: usize, seed: u64, device: &Device) -> (Tensor<3>, Tensor<2>, Tensor<2>) {
    let ev = tensor(noise(b * n * 6, seed), [b, n, 6], device);
    let jit = noise(b * n, seed + 1);
    let mut ts = Vec::with_capacity(b * n);
    for bi in 0..b {
        let mut t = 0.0f32;
        for i in 0..n {
            ts.push(t);
            t += 0.031 + 0.01 * jit[bi * n + i].abs();
        }
    }
    let ts = tensor(ts, [b, n], device);
    let mask = Tensor::ones([b, n], device);
    (ev, ts, mask)
}

/// The default timestamp-aware student with `mode`, `l` tokens and no dropout.
pub fn student(
    mode: fallkd_core::model::TimeMode,
    l: usize,
    device: &Device,
) -> fallkd_core::model::TimestampAwareStudent {
    fallkd_core::model::TimestampAwareStudentConfig::new()
        .with_time_mode(mode)
        .with_num_tokens(l)
        .with_dropout(0.0)
        .init(device)
}

// Training runs on a small generated dataset (tests/training.rs, tests/augmentation.rs).

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
