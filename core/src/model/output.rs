//! What every fallkd model returns.

use burn::tensor::Tensor;

/// Output of the teacher and of both students.
#[derive(Debug, Clone)]
pub struct ModelOutput {
    /// One fall logit per window, `(B)`.
    pub logits: Tensor<1>,
    /// Attention-pooled features, `(B, D)`.
    pub features: Tensor<2>,
    /// Per-step token features after the encoder and squeeze-excitation, `(B, T, D)`.
    pub tokens: Tensor<3>,
    /// Tokens average-pooled to a fixed length G for Gram KD, `(B, G, D)`.
    pub pooled_tokens: Tensor<3>,
    /// Temporal-attention weights of the pooling (a distribution over steps), `(B, T)`.
    pub attention: Tensor<2>,
    /// Pre-softmax attention scores (masked steps hold a large negative number), `(B, T)`.
    pub attention_scores: Tensor<2>,
}
