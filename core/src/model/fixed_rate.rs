//! The fixed-rate baseline: linear interpolation of the window onto L evenly spaced instants,
//! then the same trunk as the student. It is what a model that trusts a nominal sample rate does.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::joint_embedding::{JointEmbedding, JointEmbeddingConfig};
use super::output::ModelOutput;
use super::trunk::{Trunk, TrunkConfig};
use crate::error::Error;

/// Configuration of [`FixedRateStudent`]: the grid and the trunk. A run's `student.arch:
/// fixed-rate` takes the trunk of its timestamp-aware settings
/// ([`TimestampAwareStudentConfig::fixed_rate`](super::TimestampAwareStudentConfig::fixed_rate)).
#[derive(Config, Debug)]
pub struct FixedRateStudentConfig {
    /// The trunk (width, heads, layers, dropout, positional encoding over at least the grid,
    /// Gram tokens).
    pub trunk: TrunkConfig,
    /// Channels per sample.
    #[config(default = 6)]
    pub input_channels: usize,
    /// Grid length L.
    #[config(default = 64)]
    pub num_tokens: usize,
}

/// See the module documentation.
#[derive(Module, Debug)]
pub struct FixedRateStudent {
    embedding: JointEmbedding,
    trunk: Trunk,
    num_tokens: usize,
}

impl FixedRateStudentConfig {
    /// Checks the configuration, naming the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        if self.num_tokens == 0 {
            return Err(Error::config("num_tokens", "must be > 0"));
        }
        if self.trunk.use_pos_enc && self.num_tokens > self.trunk.max_len {
            return Err(Error::config(
                "num_tokens",
                format!(
                    "({}) exceeds the positional encoding's max_len ({})",
                    self.num_tokens, self.trunk.max_len
                ),
            ));
        }
        self.trunk.validate()
    }

    /// Builds the baseline on `device`.
    pub fn init(&self, device: &Device) -> FixedRateStudent {
        FixedRateStudent {
            embedding: JointEmbeddingConfig::new(self.input_channels, self.trunk.embed_dim)
                .init(device),
            trunk: self.trunk.init(device),
            num_tokens: self.num_tokens,
        }
    }
}

/// The configuration as model files exported before the trunk was nested wrote it (every trunk
/// setting beside the grid's); read into [`FixedRateStudentConfig`] on load.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct FlatFixedRateConfig {
    input_channels: usize,
    embed_dim: usize,
    num_tokens: usize,
    num_heads: usize,
    num_layers: usize,
    dropout: f64,
    use_pos_enc: bool,
    gram_tokens: usize,
}

impl From<FlatFixedRateConfig> for FixedRateStudentConfig {
    fn from(f: FlatFixedRateConfig) -> Self {
        FixedRateStudentConfig::new(
            TrunkConfig::new(f.embed_dim)
                .with_num_layers(f.num_layers)
                .with_num_heads(f.num_heads)
                .with_dropout(f.dropout)
                .with_use_pos_enc(f.use_pos_enc)
                .with_max_len(f.num_tokens)
                .with_gram_tokens(f.gram_tokens),
        )
        .with_input_channels(f.input_channels)
        .with_num_tokens(f.num_tokens)
    }
}

impl FixedRateStudent {
    /// Grid length L the input must have.
    pub fn num_tokens(&self) -> usize {
        self.num_tokens
    }

    /// Fall logits and trunk outputs of a batch of windows already interpolated onto the grid.
    ///
    /// # Shapes
    /// - grid: `(B, L, C)` samples on the even grid (see [`interpolate_to_grid`]), all valid
    /// - output: `logits (B)`, `features (B, D)`, `tokens (B, L, D)`, `pooled_tokens (B, G, D)`,
    ///   `attention (B, L)`, `attention_scores (B, L)` (see [`ModelOutput`])
    pub fn forward(&self, grid: Tensor<3>) -> ModelOutput {
        let [b, l, _] = grid.dims();
        let mask = Tensor::ones([b, l], &grid.device());
        self.trunk.forward(self.embedding.forward(grid), mask)
    }
}

/// Linearly interpolates `events` (sorted by `timestamps`, seconds) onto `l` instants evenly
/// spaced between the first and last timestamp. Duplicate timestamps are averaged first, so the
/// result does not depend on their order. An empty window gives zeros; a single event (or zero
/// time span) is repeated.
pub fn interpolate_to_grid<const C: usize>(
    events: &[[f32; C]],
    timestamps: &[f64],
    l: usize,
) -> Vec<[f32; C]> {
    crate::data::events::Interpolator::new(events, timestamps).grid(l)
}
