//! The skeleton teacher: `SkeletonTransformer`.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::joint_embedding::{JointEmbedding, JointEmbeddingConfig};
use super::output::ModelOutput;
use super::trunk::{Trunk, TrunkConfig};
use crate::error::Error;

/// Configuration of [`SkeletonTransformer`]. Defaults are the reference design (about 341K
/// parameters).
#[derive(Config, Debug)]
pub struct SkeletonTransformerConfig {
    /// Features per frame: 32 joints x (x, y, z).
    #[config(default = 96)]
    pub input_dim: usize,
    /// Model width D.
    #[config(default = 96)]
    pub embed_dim: usize,
    /// Transformer layers.
    #[config(default = 2)]
    pub num_layers: usize,
    /// Attention heads.
    #[config(default = 4)]
    pub num_heads: usize,
    /// Dropout.
    #[config(default = 0.3)]
    pub dropout: f64,
    /// Learnable positional encoding on/off.
    #[config(default = true)]
    pub use_pos_enc: bool,
    /// Longest window in frames (size of the positional table).
    #[config(default = 1024)]
    pub max_len: usize,
    /// Token count the features are pooled to for Gram KD.
    #[config(default = 64)]
    pub gram_tokens: usize,
}

/// Skeleton sequence classifier: JointEmbedding -> [positional encoding] -> encoder -> SE ->
/// temporal attention pooling -> logit.
#[derive(Module, Debug)]
pub struct SkeletonTransformer {
    pub(crate) embedding: JointEmbedding,
    pub(crate) trunk: Trunk,
}

impl SkeletonTransformerConfig {
    fn trunk(&self) -> TrunkConfig {
        TrunkConfig::new(self.embed_dim)
            .with_num_layers(self.num_layers)
            .with_num_heads(self.num_heads)
            .with_dropout(self.dropout)
            .with_use_pos_enc(self.use_pos_enc)
            .with_max_len(self.max_len)
            .with_gram_tokens(self.gram_tokens)
    }

    /// Checks the configuration, naming the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        if self.input_dim == 0 {
            return Err(Error::config("input_dim", "must be > 0"));
        }
        self.trunk().validate()
    }

    /// Builds the teacher on `device`.
    pub fn init(&self, device: &Device) -> SkeletonTransformer {
        SkeletonTransformer {
            embedding: JointEmbeddingConfig::new(self.input_dim, self.embed_dim).init(device),
            trunk: self.trunk().init(device),
        }
    }
}

impl SkeletonTransformer {
    /// Fall logits and trunk outputs of a batch of skeleton windows.
    ///
    /// # Shapes
    /// - x: `(B, T, C)` skeleton frames, `C = input_dim` (96: 32 joints x (x, y, z))
    /// - mask: `(B, T)` 1 valid, 0 padded; `None` treats every frame as valid
    /// - output: `logits (B)`, `features (B, D)`, `tokens (B, T, D)`, `pooled_tokens (B, G, D)`,
    ///   `attention (B, T)`, `attention_scores (B, T)` (see [`ModelOutput`])
    ///
    /// # Errors
    /// When `T` exceeds the positional table: crop or resample the window first.
    pub fn forward(&self, x: Tensor<3>, mask: Option<Tensor<2>>) -> Result<ModelOutput, Error> {
        let [b, t, _] = x.dims();
        if t > self.trunk.max_len() {
            return Err(Error::Shape(format!(
                "skeleton window has {t} frames but the teacher's positional encoding covers {}; \
                 use shorter windows or a larger max_len",
                self.trunk.max_len()
            )));
        }
        let mask = mask.unwrap_or_else(|| Tensor::ones([b, t], &x.device()));
        Ok(self.trunk.forward(self.embedding.forward(x), mask))
    }
}
