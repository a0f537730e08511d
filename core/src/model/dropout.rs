//! Dropout with a cheap, counter-based mask generator.
//!
//! burn's [`Dropout`] draws its Bernoulli mask element by element from burn-flex's ChaCha20 RNG
//! (`Tensor::random_like`), which was the largest single cost of a CPU training step after the
//! matrix products (BENCHMARKS.md, "Where the training time goes"). [`dropout`] keeps burn's
//! `Dropout` module (its probability and training flag, so model files do not change) and, on the
//! CPU backend, draws the mask from SplitMix64 over a counter instead: two mask elements per
//! 64-bit hash, written straight as the kept value's scale `1 / (1 - p)` or 0, so the layer is one
//! multiplication. On other devices (libtorch, CUDA, WebGPU) it is burn's own `Dropout::forward`,
//! so the mask stays on the device.
//!
//! The stream is per thread: [`seed_dropout`] resets it, and each call takes the next stream
//! number. One training run on one thread therefore draws the same masks for the same seed,
//! whatever other threads (other tests, other runs) do.

use std::cell::Cell;

use burn::nn::Dropout;
use burn::tensor::{Device, Tensor, TensorData};

use crate::rng::mix64;

thread_local! {
    /// (seed, next stream number) of this thread's masks.
    static STREAM: Cell<(u64, u64)> = const { Cell::new((0x853C_49E6_748F_EA9B, 0)) };
}

/// Restarts this thread's dropout masks from `seed`.
pub fn seed_dropout(seed: u64) {
    STREAM.set((mix64(seed ^ 0x6A09_E667_F3BC_C909), 0));
}

/// Seeds all the randomness of training on `device` from `seed`: burn's device generator
/// (initialisation, burn's own dropout off the CPU) and this thread's dropout masks. The trainer
/// calls it at the start of a run and of every epoch.
pub fn seed_training(device: &Device, seed: u64) {
    device.seed(seed);
    seed_dropout(seed);
}

/// The base of this thread's next mask (each call takes the next stream number).
pub(super) fn next_base() -> u64 {
    let (seed, stream) = STREAM.get();
    STREAM.set((seed, stream.wrapping_add(1)));
    mix64(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Elements `start..start + out.len()` (`start` even) of the mask drawn from `base`: each is
/// `scale` with probability `keep`, else 0. Element `2i` and `2i + 1` are the two halves of the
/// 64-bit hash of `i`, so any range can be filled on its own (the host training step fills a
/// mask's ranges on several threads) and gives the same mask.
pub(super) fn fill_mask(base: u64, keep: f64, scale: f32, start: usize, out: &mut [f32]) {
    debug_assert!(start.is_multiple_of(2));
    // Kept when a uniform 32-bit draw is below keep * 2^32.
    let threshold = (keep * 4_294_967_296.0).min(4_294_967_295.0) as u32;
    let first = (start / 2) as u64;
    let pick = |half: u32| if half < threshold { scale } else { 0.0 };
    let mut pairs = out.chunks_exact_mut(2);
    let mut i = first;
    for pair in &mut pairs {
        let h = mix64(base.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        pair[0] = pick(h as u32);
        pair[1] = pick((h >> 32) as u32);
        i += 1;
    }
    if let [last] = pairs.into_remainder() {
        let h = mix64(base.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        *last = pick(h as u32);
    }
}

/// The next mask of `n` elements: each is `scale` with probability `keep`, else 0.
pub(super) fn next_mask(n: usize, keep: f64, scale: f32) -> Vec<f32> {
    let mut mask = vec![0.0; n];
    fill_mask(next_base(), keep, scale, 0, &mut mask);
    mask
}

/// Whether masks are drawn on the host (the CPU backend) rather than by the device.
fn host_masks(device: &Device) -> bool {
    device.clone().inner() == Device::flex()
}

/// Applies `layer` (burn's [`Dropout`]: its probability and training flag) to `x`.
///
/// Identity outside training, on a device without autodiff, or with probability 0, exactly as
/// burn's `Dropout::forward`; otherwise each element is zeroed with probability `p` and the kept
/// ones are scaled by `1 / (1 - p)`.
///
/// # Shapes
/// - x: any shape
/// - output: the shape of `x`
pub fn dropout<const D: usize>(layer: &Dropout, x: Tensor<D>) -> Tensor<D> {
    if !layer.training.is_enabled() || !x.device().is_autodiff() || layer.prob == 0.0 {
        return x;
    }
    let device = x.device();
    if !host_masks(&device) {
        return layer.forward(x);
    }
    let keep = 1.0 - layer.prob;
    let shape = x.shape();
    let mask = next_mask(shape.num_elements(), keep, (1.0 / keep) as f32);
    x * Tensor::<D>::from_data(TensorData::new(mask, shape), &device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::nn::DropoutConfig;

    #[test]
    fn keeps_the_expected_share_and_scales_it() {
        seed_dropout(1);
        let m = next_mask(100_001, 0.9, 1.0 / 0.9);
        assert_eq!(m.len(), 100_001);
        let kept = m.iter().filter(|&&v| v > 0.0).count() as f64 / m.len() as f64;
        assert!((kept - 0.9).abs() < 0.005, "kept share {kept}");
        assert!(m.iter().all(|&v| v == 0.0 || v == (1.0f64 / 0.9) as f32));
    }

    #[test]
    fn a_mask_filled_by_ranges_is_the_same_mask() {
        seed_dropout(2);
        let whole = next_mask(1001, 0.7, 2.0);
        seed_dropout(2);
        let base = next_base();
        let mut parts = vec![0.0; 1001];
        for (c, out) in parts.chunks_mut(64).enumerate() {
            fill_mask(base, 0.7, 2.0, c * 64, out);
        }
        assert_eq!(whole, parts);
    }

    #[test]
    fn same_seed_same_masks_and_streams_differ() {
        seed_dropout(7);
        let a = (next_mask(64, 0.5, 2.0), next_mask(64, 0.5, 2.0));
        seed_dropout(7);
        let b = (next_mask(64, 0.5, 2.0), next_mask(64, 0.5, 2.0));
        assert_eq!(a, b);
        assert_ne!(a.0, a.1, "two calls must draw different masks");
        seed_dropout(8);
        assert_ne!(next_mask(64, 0.5, 2.0), a.0);
    }

    #[test]
    fn identity_outside_training_and_gradient_flows_through_kept_elements() {
        let layer = DropoutConfig::new(0.5).init();
        let plain = Device::flex();
        let x = Tensor::<2>::ones([4, 8], &plain);
        let y = dropout(&layer, x.clone());
        assert_eq!(y.into_data(), x.into_data(), "no autodiff: identity");

        let ad = Device::flex().autodiff();
        let frozen = layer.clone().valid();
        let x = Tensor::<2>::ones([4, 8], &ad);
        assert_eq!(dropout(&frozen, x.clone()).into_data(), x.into_data());

        seed_dropout(3);
        let x = Tensor::<2>::ones([16, 32], &ad).require_grad();
        let y = dropout(&layer, x.clone());
        let out: Vec<f32> = y.clone().into_data().try_to_vec::<f32>().unwrap();
        assert!(out.iter().all(|&v| v == 0.0 || v == 2.0));
        assert!(out.contains(&0.0) && out.contains(&2.0));
        let grads = y.sum().backward();
        let g: Vec<f32> = x
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(g, out, "d(sum)/dx is the mask itself");
    }
}
