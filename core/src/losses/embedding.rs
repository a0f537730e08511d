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
    /// Checks the configuration, naming the offending key.
    pub fn validate(&self) -> Result<(), crate::error::Error> {
        super::check_positive("embedding.temperature", self.temperature)
    }

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
    /// Mean cosine distance between student and teacher embeddings, divided by the temperature.
    ///
    /// # Shapes
    /// - student: `(B, D)` embeddings
    /// - teacher: `(B, D)` embeddings, already projected to the student's width
    /// - output: `(1)`
    pub fn forward(&self, student: Tensor<2>, teacher: Tensor<2>) -> Tensor<1> {
        let s = l2_normalize(student, 1e-8);
        let t = l2_normalize(teacher, 1e-8);
        let cos = (s * t).sum_dim(1);
        (cos.neg() + 1.0).mean().div_scalar(self.temperature)
    }
}
