//! `TimestampAwareStudent`: events + timestamps + mask -> resampler -> trunk -> logit.
//!
//! With `window_features` on, a small MLP over the window's hand-made features (peak |a|, jerk,
//! stillness after the peak, orientation change, ...; [`crate::features`]) adds its logit to the
//! trunk's ("wide and deep"): the learned path no longer has to rediscover what the features
//! state outright, and KD still shapes the learned path.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, activation::gelu};

use super::dropout::dropout;
use super::output::ModelOutput;
use super::resampler::{EventTokenResampler, EventTokenResamplerConfig, ResamplerOutput, TimeMode};
use super::trunk::{Trunk, TrunkConfig};
use crate::error::Error;

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
    /// Add the window-feature path (an MLP over the hand-made window features).
    #[config(default = false)]
    pub window_features: bool,
    /// Hidden width of the window-feature MLP.
    #[config(default = 32)]
    pub feature_hidden: usize,
    /// Read two more channels per event after the `input_channels`: the scaled `ln(1 + |a|)` and
    /// `ln(1 + |g|)` ([`crate::data::normalize::MagnitudeStats`]), so that an impact's size
    /// survives the event embedding's layer norm.
    #[config(default = false)]
    pub magnitude_channels: bool,
}

/// The window-feature path: `Linear(F, H) -> GELU -> dropout -> Linear(H, 1)`.
#[derive(Module, Debug)]
pub struct FeatureHead {
    pub(crate) hidden: Linear,
    pub(crate) dropout: Dropout,
    pub(crate) out: Linear,
}

impl FeatureHead {
    /// One logit per window.
    ///
    /// # Shapes
    /// - features: `(B, F)` scaled window features
    /// - output: `(B)`
    pub fn forward(&self, features: Tensor<2>) -> Tensor<1> {
        let h = dropout(&self.dropout, gelu(self.hidden.forward(features)));
        let [b, _] = h.dims();
        self.out.forward(h).reshape([b])
    }
}

/// See the module documentation.
#[derive(Module, Debug)]
pub struct TimestampAwareStudent {
    pub(crate) resampler: EventTokenResampler,
    pub(crate) trunk: Trunk,
    pub(crate) feature_head: Option<FeatureHead>,
}

impl TimestampAwareStudentConfig {
    /// Channels of each event the student reads: `input_channels`, plus the two magnitude
    /// channels when they are on.
    pub fn event_channels(&self) -> usize {
        self.input_channels
            + if self.magnitude_channels {
                crate::data::normalize::MAGNITUDE_CHANNELS
            } else {
                0
            }
    }

    fn resampler(&self) -> EventTokenResamplerConfig {
        EventTokenResamplerConfig::new()
            .with_input_channels(self.event_channels())
            .with_embed_dim(self.embed_dim)
            .with_num_tokens(self.num_tokens)
            .with_num_heads(self.num_heads)
            .with_time_mode(self.time_mode)
            .with_locality_bias(self.locality_bias)
    }

    /// The trunk's settings (positional encoding over the `num_tokens` tokens).
    pub fn trunk(&self) -> TrunkConfig {
        TrunkConfig::new(self.embed_dim)
            .with_num_layers(self.num_layers)
            .with_num_heads(self.num_heads)
            .with_dropout(self.dropout)
            .with_use_pos_enc(self.use_pos_enc)
            .with_max_len(self.num_tokens)
            .with_gram_tokens(self.gram_tokens)
    }

    /// Checks the configuration, naming the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        self.resampler().validate()?;
        if self.window_features && self.feature_hidden == 0 {
            return Err(Error::config(
                "feature_hidden",
                "must be > 0 when window_features is on",
            ));
        }
        self.trunk().validate()
    }

    /// Builds the student on `device`.
    pub fn init(&self, device: &Device) -> TimestampAwareStudent {
        TimestampAwareStudent {
            resampler: self.resampler().init(device),
            trunk: self.trunk().init(device),
            feature_head: self.window_features.then(|| FeatureHead {
                hidden: LinearConfig::new(crate::features::NUM_FEATURES, self.feature_hidden)
                    .init(device),
                dropout: DropoutConfig::new(self.dropout).init(),
                out: LinearConfig::new(self.feature_hidden, 1).init(device),
            }),
        }
    }
}

impl TimestampAwareStudent {
    /// Fall logits and trunk outputs of a batch of windows.
    ///
    /// # Shapes
    /// - events: `(B, N, C)` normalised events, C the configuration's
    ///   [`TimestampAwareStudentConfig::event_channels`]
    /// - timestamps: `(B, N)` seconds
    /// - mask: `(B, N)` 1 valid, 0 padded
    /// - features: `(B, F)` scaled window features; read only by a student with the
    ///   window-feature path, which then needs them (see [`Self::uses_window_features`])
    pub fn forward(
        &self,
        events: Tensor<3>,
        timestamps: Tensor<2>,
        mask: Tensor<2>,
        features: Option<Tensor<2>>,
    ) -> ModelOutput {
        self.forward_with_resampler(events, timestamps, mask, features)
            .0
    }

    /// As [`Self::forward`], also returning the resampler's tokens and cross-attention.
    ///
    /// # Panics
    /// When the student has the window-feature path and `features` is `None` (callers build
    /// batches from the model's own statistics, which carry the feature scaling exactly when the
    /// path is there; the model file loader checks that pairing).
    pub fn forward_with_resampler(
        &self,
        events: Tensor<3>,
        timestamps: Tensor<2>,
        mask: Tensor<2>,
        features: Option<Tensor<2>>,
    ) -> (ModelOutput, ResamplerOutput) {
        let r = self.resampler.forward(events, timestamps, mask);
        let [b, l, _] = r.tokens.dims();
        let token_mask = Tensor::ones([b, l], &r.tokens.device());
        let mut out = self.trunk.forward(r.tokens.clone(), token_mask);
        if let Some(head) = &self.feature_head {
            let f = features.expect("a student with the window-feature path needs features");
            out.logits = out.logits + head.forward(f);
        }
        (out, r)
    }

    /// Whether the student has the window-feature path.
    pub fn uses_window_features(&self) -> bool {
        self.feature_head.is_some()
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
