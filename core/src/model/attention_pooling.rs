//! Temporal attention pooling: a learned score per step, softmax over valid steps.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, activation::tanh};

use super::masking::{MASKED_SCORE, masked_softmax, padded};

/// Configuration of [`TemporalAttentionPooling`].
#[derive(Config, Debug)]
pub struct TemporalAttentionPoolingConfig {
    /// Feature size D (the hidden layer is D/2).
    pub embed_dim: usize,
}

/// `score_t = w2 . tanh(W1 x_t)`, `a = softmax(score)`, `pooled = sum_t a_t x_t`.
#[derive(Module, Debug)]
pub struct TemporalAttentionPooling {
    pub(crate) hidden: Linear,
    pub(crate) score: Linear,
}

/// Pooled features with the attention that produced them.
#[derive(Debug, Clone)]
pub struct Pooled {
    /// `(B, D)`.
    pub features: Tensor<2>,
    /// `(B, T)`, rows sum to 1 (0 for an empty window).
    pub weights: Tensor<2>,
    /// `(B, T)` scores before the softmax, masked steps set to a large negative value.
    pub scores: Tensor<2>,
}

impl TemporalAttentionPoolingConfig {
    /// Builds the module on `device`.
    pub fn init(&self, device: &Device) -> TemporalAttentionPooling {
        let hidden = (self.embed_dim / 2).max(1);
        TemporalAttentionPooling {
            hidden: LinearConfig::new(self.embed_dim, hidden).init(device),
            score: LinearConfig::new(hidden, 1).init(device),
        }
    }
}

impl TemporalAttentionPooling {
    /// Attention-weighted sum of the valid steps of each sequence.
    ///
    /// # Shapes
    /// - x: `(B, T, D)` tokens
    /// - mask: `(B, T)` 1 valid, 0 padded
    /// - output: `features (B, D)`, `weights (B, T)`, `scores (B, T)` (see [`Pooled`])
    pub fn forward(&self, x: Tensor<3>, mask: Tensor<2>) -> Pooled {
        let [b, t, d] = x.dims();
        let scores = self
            .score
            .forward(tanh(self.hidden.forward(x.clone())))
            .reshape([b, t]);
        let weights = masked_softmax(scores.clone(), mask.clone(), 1);
        let features = (x * weights.clone().reshape([b, t, 1]))
            .sum_dim(1)
            .reshape([b, d]);
        let scores = scores.mask_fill(padded(mask), MASKED_SCORE);
        Pooled {
            features,
            weights,
            scores,
        }
    }
}
