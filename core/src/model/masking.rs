//! Masked reductions shared by the models. A mask is a float tensor of 1 (valid) and 0 (padded).

use burn::tensor::{Bool, Tensor, activation::softmax};

/// Score given to masked positions before a softmax: large enough to vanish after `exp`, small
/// enough to stay finite in f32 arithmetic.
pub const MASKED_SCORE: f32 = -1.0e9;

/// `true` where the float mask marks a padded position.
pub fn padded<const D: usize>(mask: Tensor<D>) -> Tensor<D, Bool> {
    mask.lower_elem(0.5)
}

/// Softmax over `dim` that gives exactly zero weight to masked positions and an all-zero row
/// (not NaN, not uniform) when no position is valid.
pub fn masked_softmax<const D: usize>(scores: Tensor<D>, mask: Tensor<D>, dim: usize) -> Tensor<D> {
    let scores = scores.mask_fill(padded(mask.clone()), MASKED_SCORE);
    let weights = softmax(scores, dim) * mask;
    // Rows with at least one valid entry already sum to one; empty rows stay zero.
    let total = weights.clone().sum_dim(dim).clamp_min(1e-12);
    let nonzero = weights.clone().sum_dim(dim).greater_elem(0.0).float();
    weights / total * nonzero
}

/// Mean over time of `(B, T, D)` tokens counting valid steps only; zero for an empty window.
pub fn masked_mean(tokens: Tensor<3>, mask: Tensor<2>) -> Tensor<2> {
    let [b, t, _] = tokens.dims();
    let m = mask.reshape([b, t, 1]);
    let sum = (tokens * m.clone()).sum_dim(1).squeeze_dim::<2>(1);
    let count = m.sum_dim(1).squeeze_dim::<2>(1).clamp_min(1.0);
    sum / count
}
