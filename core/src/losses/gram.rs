//! Gram KD: match the token-similarity structure `G = X X^T` (X L2-normalised per token).
//! The two sequences need not share a clock or a length: when L differs, both are
//! adaptive-average-pooled to the smaller L first.

use burn::tensor::{Tensor, module::adaptive_avg_pool1d};

use super::l2_normalize;

/// Gram-matrix distillation (no settings).
#[derive(Debug, Clone, Default)]
pub struct GramKd;

/// `X X^T` of L2-normalised tokens, `(B, L, L)`.
pub fn gram(tokens: Tensor<3>) -> Tensor<3> {
    let x = l2_normalize(tokens, 1e-8);
    x.clone().matmul(x.transpose())
}

fn pool_to(tokens: Tensor<3>, len: usize) -> Tensor<3> {
    if tokens.dims()[1] == len {
        tokens
    } else {
        adaptive_avg_pool1d(tokens.swap_dims(1, 2), len).swap_dims(1, 2)
    }
}

impl GramKd {
    /// Mean squared difference of the student's and the teacher's token Gram matrices.
    ///
    /// # Shapes
    /// - student: `(B, Gs, Ds)` tokens
    /// - teacher: `(B, Gt, Dt)` tokens; widths may differ, and both are pooled to `min(Gs, Gt)`
    /// - output: `(1)`
    pub fn forward(&self, student: Tensor<3>, teacher: Tensor<3>) -> Tensor<1> {
        let len = student.dims()[1].min(teacher.dims()[1]);
        let gs = gram(pool_to(student, len));
        let gt = gram(pool_to(teacher, len));
        (gs - gt).powf_scalar(2.0).mean()
    }
}
