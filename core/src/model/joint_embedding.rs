//! Per-step input embedding: Linear + LayerNorm + SiLU.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, activation::silu};

/// Configuration of [`JointEmbedding`].
#[derive(Config, Debug)]
pub struct JointEmbeddingConfig {
    /// Input features per step (96 for 32 joints x xyz).
    pub input_dim: usize,
    /// Output embedding size.
    pub embed_dim: usize,
}

/// Linear projection of each step's features, layer-normalised, SiLU-activated.
#[derive(Module, Debug)]
pub struct JointEmbedding {
    pub(crate) linear: Linear,
    pub(crate) norm: LayerNorm,
}

impl JointEmbeddingConfig {
    /// Builds the module on `device`.
    pub fn init(&self, device: &Device) -> JointEmbedding {
        JointEmbedding {
            linear: LinearConfig::new(self.input_dim, self.embed_dim).init(device),
            norm: LayerNormConfig::new(self.embed_dim).init(device),
        }
    }
}

impl JointEmbedding {
    /// Embeds each step's features independently.
    ///
    /// # Shapes
    /// - x: `(B, T, C)` per-step features, `C = input_dim`
    /// - output: `(B, T, D)` embeddings, `D = embed_dim`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        silu(self.norm.forward(self.linear.forward(x)))
    }
}
