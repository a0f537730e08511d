//! Tensor helpers shared by core's integration tests.
#![allow(dead_code)]

use fallkd_core::burn::tensor::{Device, Tensor, TensorData};

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
