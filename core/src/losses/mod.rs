//! Alignment-free knowledge-distillation losses and the task losses.
//!
//! There is no common clock between skeleton and watch, so no loss here compares step `t` of the
//! teacher with step `t` of the student: they compare pooled embeddings, token-similarity
//! structure, distributions over a queue of teacher embeddings, or length-normalised attention.

pub mod attention;
pub mod combined;
pub mod comodo;
pub mod embedding;
pub mod gram;
pub mod response;
pub mod task;

pub use attention::{AttentionDivergence, AttentionKd, AttentionKdConfig};
pub use combined::{DistillationLoss, DistillationLossConfig, KdInputs, KdWeights, LossParts};
pub use comodo::{Comodo, ComodoConfig};
pub use embedding::{EmbeddingKd, EmbeddingKdConfig};
pub use gram::GramKd;
pub use response::{ResponseKd, ResponseKdConfig};
pub use task::{TaskLoss, TaskLossKind};

use burn::tensor::Tensor;

/// L2-normalises the last dimension (`eps` guards zero vectors).
pub fn l2_normalize<const D: usize>(x: Tensor<D>, eps: f32) -> Tensor<D> {
    let norm = x
        .clone()
        .powf_scalar(2.0)
        .sum_dim(D - 1)
        .sqrt()
        .clamp_min(eps);
    x / norm
}

/// `Ok` when a temperature (or any scale that divides) is a finite number above 0; else a
/// configuration error naming `key`.
pub(crate) fn check_positive(key: &str, v: f64) -> Result<(), crate::error::Error> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(crate::error::Error::config(
            key,
            format!("must be a finite number > 0, got {v}"),
        ))
    }
}
