//! The sequence trunk shared by the teacher and both students:
//! optional positional encoding -> pre-norm Transformer encoder -> LayerNorm ->
//! squeeze-excitation -> temporal attention pooling -> dropout -> one logit.

use burn::config::Config;
use burn::module::Module;
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, module::adaptive_avg_pool1d};

use super::attention_pooling::{TemporalAttentionPooling, TemporalAttentionPoolingConfig};
use super::dropout::dropout;
use super::encoder::encoder_forward;
use super::masking::padded;
use super::output::ModelOutput;
use super::positional::{LearnedPositionalEncoding, LearnedPositionalEncodingConfig};
use super::squeeze_excitation::{SqueezeExcitation, SqueezeExcitationConfig};
use crate::error::Error;

/// Configuration of [`Trunk`].
#[derive(Config, Debug)]
pub struct TrunkConfig {
    /// Model width D.
    pub embed_dim: usize,
    /// Transformer layers.
    #[config(default = 2)]
    pub num_layers: usize,
    /// Attention heads (must divide `embed_dim`).
    #[config(default = 4)]
    pub num_heads: usize,
    /// Feed-forward width as a multiple of D.
    #[config(default = 4)]
    pub ffn_mult: usize,
    /// Dropout in the encoder and before the classifier.
    #[config(default = 0.1)]
    pub dropout: f64,
    /// Add a learnable positional encoding before the encoder.
    #[config(default = true)]
    pub use_pos_enc: bool,
    /// Longest sequence the positional encoding covers.
    #[config(default = 1024)]
    pub max_len: usize,
    /// Squeeze-excitation reduction factor.
    #[config(default = 4)]
    pub se_reduction: usize,
    /// Length the tokens are average-pooled to for Gram KD.
    #[config(default = 64)]
    pub gram_tokens: usize,
}

/// Encoder, SE, pooling and classifier over embedded steps.
#[derive(Module, Debug)]
pub struct Trunk {
    pub(crate) pos_enc: Option<LearnedPositionalEncoding>,
    pub(crate) encoder: TransformerEncoder,
    pub(crate) final_norm: LayerNorm,
    pub(crate) se: SqueezeExcitation,
    pub(crate) pooling: TemporalAttentionPooling,
    pub(crate) dropout: Dropout,
    pub(crate) classifier: Linear,
    pub(crate) gram_tokens: usize,
}

impl TrunkConfig {
    /// Checks the configuration, naming the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        if self.embed_dim == 0 {
            return Err(Error::config("embed_dim", "must be > 0"));
        }
        Error::check_heads(self.num_heads, self.embed_dim)?;
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::config(
                "dropout",
                format!("must be in [0, 1), got {}", self.dropout),
            ));
        }
        if self.use_pos_enc && self.max_len == 0 {
            return Err(Error::config(
                "max_len",
                "must be > 0 when use_pos_enc is on",
            ));
        }
        if self.gram_tokens == 0 {
            return Err(Error::config("gram_tokens", "must be > 0"));
        }
        Ok(())
    }

    /// Builds the trunk on `device`. Panics on an invalid configuration; call
    /// [`TrunkConfig::validate`] first where the configuration comes from a user.
    pub fn init(&self, device: &Device) -> Trunk {
        if let Err(e) = self.validate() {
            panic!("invalid trunk configuration: {e}");
        }
        let d = self.embed_dim;
        Trunk {
            pos_enc: self
                .use_pos_enc
                .then(|| LearnedPositionalEncodingConfig::new(self.max_len, d).init(device)),
            encoder: TransformerEncoderConfig::new(
                d,
                d * self.ffn_mult,
                self.num_heads,
                self.num_layers,
            )
            .with_dropout(self.dropout)
            .with_norm_first(true)
            .init(device),
            final_norm: LayerNormConfig::new(d).init(device),
            se: SqueezeExcitationConfig::new(d)
                .with_reduction(self.se_reduction)
                .init(device),
            pooling: TemporalAttentionPoolingConfig::new(d).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            classifier: LinearConfig::new(d, 1).init(device),
            gram_tokens: self.gram_tokens,
        }
    }
}

impl Trunk {
    /// Longest sequence accepted (`usize::MAX` without positional encoding).
    pub fn max_len(&self) -> usize {
        self.pos_enc.as_ref().map_or(usize::MAX, |p| p.max_len())
    }

    /// Fall logits, pooled features and tokens of a batch of embedded steps.
    ///
    /// # Shapes
    /// - x: `(B, T, D)` embedded steps; `T` at most [`Self::max_len`]
    /// - mask: `(B, T)` 1 valid, 0 padded
    /// - output: `logits (B)`, `features (B, D)`, `tokens (B, T, D)` (zero at padded steps),
    ///   `pooled_tokens (B, G, D)`, `attention (B, T)`, `attention_scores (B, T)`
    ///   (see [`ModelOutput`])
    pub fn forward(&self, x: Tensor<3>, mask: Tensor<2>) -> ModelOutput {
        let [b, t, d] = x.dims();
        let x = match &self.pos_enc {
            Some(pe) => pe.forward(x),
            None => x,
        };
        let x = dropout(&self.dropout, x);
        let x = encoder_forward(&self.encoder, x, Some(padded(mask.clone())));
        let x = self.final_norm.forward(x);
        let tokens = self.se.forward(x, mask.clone()) * mask.clone().reshape([b, t, 1]);
        let pooled = self.pooling.forward(tokens.clone(), mask);
        let logits = self
            .classifier
            .forward(dropout(&self.dropout, pooled.features.clone()))
            .reshape([b]);
        let pooled_tokens =
            adaptive_avg_pool1d(tokens.clone().swap_dims(1, 2), self.gram_tokens).swap_dims(1, 2);
        debug_assert_eq!(pooled_tokens.dims(), [b, self.gram_tokens, d]);
        ModelOutput {
            logits,
            features: pooled.features,
            tokens,
            pooled_tokens,
            attention: pooled.weights,
            attention_scores: pooled.scores,
        }
    }
}
