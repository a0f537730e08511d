//! Embedding KD: `mean(1 - cos(s, t)) / temperature` on pooled features.

use burn::config::Config;
use burn::tensor::Tensor;

use super::l2_normalize;

/// Configuration of [`EmbeddingKd`].
#[derive(Config, Debug)]
pub struct EmbeddingKdConfig {
    /// Divides the loss (a smaller temperature weighs it more).
    #[config(default = 1.0)]
    pub temperature: f64,
}

/// Cosine embedding distillation.
#[derive(Debug, Clone)]
pub struct EmbeddingKd {
    temperature: f64,
}

impl EmbeddingKdConfig {
    /// Builds the loss.
    pub fn init(&self) -> EmbeddingKd {
        assert!(
            self.temperature > 0.0,
            "embedding KD temperature must be > 0"
        );
        EmbeddingKd {
            temperature: self.temperature,
        }
    }
}

impl EmbeddingKd {
    /// Student `(B, D)` against teacher `(B, D)` (already projected to the same width).
    pub fn forward(&self, student: Tensor<2>, teacher: Tensor<2>) -> Tensor<1> {
        let s = l2_normalize(student, 1e-8);
        let t = l2_normalize(teacher, 1e-8);
        let cos = (s * t).sum_dim(1);
        (cos.neg() + 1.0).mean().div_scalar(self.temperature)
    }
}
