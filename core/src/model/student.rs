//! `TimestampAwareStudent`: events + timestamps + mask -> resampler -> trunk -> logit.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::output::ModelOutput;
use super::resampler::{EventTokenResampler, EventTokenResamplerConfig, ResamplerOutput, TimeMode};
use super::trunk::{Trunk, TrunkConfig};

/// Configuration of [`TimestampAwareStudent`].
#[derive(Config, Debug)]
pub struct TimestampAwareStudentConfig {
    /// Channels per event (accelerometer xyz + gyroscope xyz).
    #[config(default = 6)]
    pub input_channels: usize,
    /// Model width D.
    #[config(default = 48)]
    pub embed_dim: usize,
    /// Tokens L produced by the resampler.
    #[config(default = 64)]
    pub num_tokens: usize,
    /// Attention heads (resampler and encoder).
    #[config(default = 4)]
    pub num_heads: usize,
    /// Transformer layers.
    #[config(default = 2)]
    pub num_layers: usize,
    /// Dropout.
    #[config(default = 0.1)]
    pub dropout: f64,
    /// Learnable positional encoding over the L tokens.
    #[config(default = true)]
    pub use_pos_enc: bool,
    /// How timestamps enter the model.
    #[config(default = "TimeMode::Timestamps")]
    pub time_mode: TimeMode,
    /// Locality bias in the resampler's cross-attention.
    #[config(default = true)]
    pub locality_bias: bool,
    /// Tokens pooled for Gram KD.
    #[config(default = 64)]
    pub gram_tokens: usize,
}

/// See the module documentation.
#[derive(Module, Debug)]
pub struct TimestampAwareStudent {
    resampler: EventTokenResampler,
    trunk: Trunk,
}

impl TimestampAwareStudentConfig {
    fn resampler(&self) -> EventTokenResamplerConfig {
        EventTokenResamplerConfig::new()
            .with_input_channels(self.input_channels)
            .with_embed_dim(self.embed_dim)
            .with_num_tokens(self.num_tokens)
            .with_num_heads(self.num_heads)
            .with_time_mode(self.time_mode)
            .with_locality_bias(self.locality_bias)
    }

    fn trunk(&self) -> TrunkConfig {
        TrunkConfig::new(self.embed_dim)
            .with_num_layers(self.num_layers)
            .with_num_heads(self.num_heads)
            .with_dropout(self.dropout)
            .with_use_pos_enc(self.use_pos_enc)
            .with_max_len(self.num_tokens)
            .with_gram_tokens(self.gram_tokens)
    }

    /// Checks the configuration, naming the offending key.
    pub fn validate(&self) -> Result<(), String> {
        self.resampler().validate()?;
        self.trunk().validate()
    }

    /// Builds the student on `device`.
    pub fn init(&self, device: &Device) -> TimestampAwareStudent {
        TimestampAwareStudent {
            resampler: self.resampler().init(device),
            trunk: self.trunk().init(device),
        }
    }
}

impl TimestampAwareStudent {
    /// Events `(B, N, C)`, timestamps `(B, N)` (seconds), mask `(B, N)`.
    pub fn forward(
        &self,
        events: Tensor<3>,
        timestamps: Tensor<2>,
        mask: Tensor<2>,
    ) -> ModelOutput {
        self.forward_with_resampler(events, timestamps, mask).0
    }

    /// As [`Self::forward`], also returning the resampler's tokens and cross-attention.
    pub fn forward_with_resampler(
        &self,
        events: Tensor<3>,
        timestamps: Tensor<2>,
        mask: Tensor<2>,
    ) -> (ModelOutput, ResamplerOutput) {
        let r = self.resampler.forward(events, timestamps, mask);
        let [b, l, _] = r.tokens.dims();
        let token_mask = Tensor::ones([b, l], &r.tokens.device());
        (self.trunk.forward(r.tokens.clone(), token_mask), r)
    }

    /// Time mode of the resampler.
    pub fn time_mode(&self) -> TimeMode {
        self.resampler.time_mode()
    }

    /// Tokens L.
    pub fn num_tokens(&self) -> usize {
        self.resampler.num_tokens()
    }
}
