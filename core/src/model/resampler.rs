//! `EventTokenResampler`: turns any number N of irregularly timed events into L fixed tokens.
//!
//! L learned queries, anchored at `tau_j = j / (L - 1)` (a small MLP of `tau_j` plus a learned
//! bias per query), cross-attend to the N event embeddings. Each event embedding is
//! `SiLU(LayerNorm(Linear([event, time features])))`. Attention scores also carry a learned
//! per-head locality term `-c_h (tau_j - tau_i)^2`, so query j looks mostly at events near its
//! own relative time; heads start at different widths (multi-scale).
//!
//! Contract: timestamps are in seconds (any origin) and sorted within the valid events; valid
//! events form a prefix of each row (padding at the end); mask is 1 for valid, 0 for padded.
//! Padded events have no influence at all (their values and timestamps are zeroed before use
//! and they get exactly zero attention); a window without valid events gives a defined output.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData, activation::silu};
use serde::{Deserialize, Serialize};

use super::masking::{masked_softmax, padded};
use crate::error::Error;

/// How event times enter the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum TimeMode {
    /// Raw watch timestamps: `[clamp(dt, 0, 60 s), ln(1 + dt), tau]`, tau from time.
    #[default]
    Timestamps,
    /// Repaired timestamps: dt clamped to `[1e-4, 0.1]` s, tau from the cumulative cleaned dt
    /// (so a minute-long gap counts as 0.1 s).
    Cleaned,
    /// Ignore timestamps: tau from the event index, dt features zero.
    Position,
}

impl TimeMode {
    /// All modes, in the order reports list them.
    pub const ALL: [TimeMode; 3] = [TimeMode::Timestamps, TimeMode::Cleaned, TimeMode::Position];

    /// The lowercase name used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TimeMode::Timestamps => "timestamps",
            TimeMode::Cleaned => "cleaned",
            TimeMode::Position => "position",
        }
    }
}

/// Number of time features appended to each event.
pub const TIME_FEATURES: usize = 3;

/// Configuration of [`EventTokenResampler`].
#[derive(Config, Debug)]
pub struct EventTokenResamplerConfig {
    /// Channels per event (6: accelerometer xyz + gyroscope xyz).
    #[config(default = 6)]
    pub input_channels: usize,
    /// Token width D.
    #[config(default = 48)]
    pub embed_dim: usize,
    /// Output tokens L.
    #[config(default = 64)]
    pub num_tokens: usize,
    /// Cross-attention heads (must divide `embed_dim`).
    #[config(default = 4)]
    pub num_heads: usize,
    /// How timestamps are turned into features.
    #[config(default = "TimeMode::Timestamps")]
    pub time_mode: TimeMode,
    /// Learned locality bias between query anchors and event times.
    #[config(default = true)]
    pub locality_bias: bool,
}

/// See the module documentation.
#[derive(Module, Debug)]
pub struct EventTokenResampler {
    pub(crate) event_proj: Linear,
    pub(crate) event_norm: LayerNorm,
    pub(crate) query_mlp_in: Linear,
    pub(crate) query_mlp_out: Linear,
    pub(crate) query_bias: Param<Tensor<2>>,
    pub(crate) query_anchor: Tensor<2>,
    pub(crate) wq: Linear,
    pub(crate) wk: Linear,
    pub(crate) wv: Linear,
    pub(crate) wo: Linear,
    pub(crate) out_norm: LayerNorm,
    pub(crate) log_locality: Option<Param<Tensor<1>>>,
    pub(crate) num_heads: usize,
    #[module(skip)]
    pub(crate) time_mode: TimeMode,
}

/// Tokens and the cross-attention that built them.
#[derive(Debug, Clone)]
pub struct ResamplerOutput {
    /// `(B, L, D)`.
    pub tokens: Tensor<3>,
    /// Cross-attention, `(B, H, L, N)`; rows are distributions over valid events (0 if none).
    pub weights: Tensor<4>,
}

impl EventTokenResamplerConfig {
    /// Checks the configuration, naming the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        if self.input_channels == 0 {
            return Err(Error::config("input_channels", "must be > 0"));
        }
        if self.num_tokens == 0 {
            return Err(Error::config("num_tokens", "must be > 0"));
        }
        Error::check_heads(self.num_heads, self.embed_dim)?;
        Ok(())
    }

    /// Builds the resampler on `device`.
    pub fn init(&self, device: &Device) -> EventTokenResampler {
        if let Err(e) = self.validate() {
            panic!("invalid resampler configuration: {e}");
        }
        let d = self.embed_dim;
        let l = self.num_tokens;
        let anchors: Vec<f32> = (0..l).map(|j| query_anchor(j, l)).collect();
        // Head h starts with a Gaussian locality of width (2^h)/L in tau.
        let log_c: Vec<f32> = (0..self.num_heads)
            .map(|h| {
                let sigma = (1u64 << h.min(20)) as f32 / l as f32;
                (1.0 / (2.0 * sigma * sigma)).ln()
            })
            .collect();
        EventTokenResampler {
            event_proj: LinearConfig::new(self.input_channels + TIME_FEATURES, d).init(device),
            event_norm: LayerNormConfig::new(d).init(device),
            query_mlp_in: LinearConfig::new(1, d).init(device),
            query_mlp_out: LinearConfig::new(d, d).init(device),
            query_bias: Initializer::Normal {
                mean: 0.0,
                std: 0.02,
            }
            .init([l, d], device),
            query_anchor: Tensor::from_data(TensorData::new(anchors, [l, 1]), device),
            wq: LinearConfig::new(d, d).init(device),
            wk: LinearConfig::new(d, d).init(device),
            wv: LinearConfig::new(d, d).init(device),
            wo: LinearConfig::new(d, d).init(device),
            out_norm: LayerNormConfig::new(d).init(device),
            log_locality: self.locality_bias.then(|| {
                Param::from_tensor(Tensor::from_data(
                    TensorData::new(log_c, [self.num_heads]),
                    device,
                ))
            }),
            num_heads: self.num_heads,
            time_mode: self.time_mode,
        }
    }
}

/// Relative time `tau_j` of query `j` out of `l`.
pub fn query_anchor(j: usize, l: usize) -> f32 {
    if l <= 1 {
        0.5
    } else {
        j as f32 / (l - 1) as f32
    }
}

/// Per-event time features `(B, N, 3)` and the relative time `tau` `(B, N)` used for locality,
/// following `mode`. Padded entries are zero.
pub fn time_features(
    timestamps: Tensor<2>,
    mask: Tensor<2>,
    mode: TimeMode,
) -> (Tensor<3>, Tensor<2>) {
    let [b, n] = timestamps.dims();
    let device = timestamps.device();
    let pad = padded(mask.clone());
    let ts = timestamps.mask_fill(pad.clone(), 0.0);
    let count = mask.clone().sum_dim(1); // (B, 1)
    let has_any = count.clone().greater_elem(0.5).float();
    if n == 0 {
        return (
            Tensor::zeros([b, 0, TIME_FEATURES], &device),
            Tensor::zeros([b, 0], &device),
        );
    }
    // dt_i = t_i - t_{i-1}, dt_0 = 0, computed over the valid prefix.
    let prev = if n > 1 {
        Tensor::cat(
            vec![ts.clone().narrow(1, 0, 1), ts.clone().narrow(1, 0, n - 1)],
            1,
        )
    } else {
        ts.clone()
    };
    let raw_dt = (ts.clone() - prev).mask_fill(pad.clone(), 0.0);
    let (dt, tau) = match mode {
        TimeMode::Timestamps => {
            let dt = raw_dt.clamp(0.0, 60.0);
            let t0 = ts.clone().mask_fill(pad.clone(), f32::MAX).min_dim(1) * has_any.clone();
            let t_end = ts.clone().mask_fill(pad.clone(), f32::MIN).max_dim(1) * has_any.clone();
            let span = (t_end - t0.clone()).clamp_min(1e-6);
            let tau = ((ts - t0) / span).clamp(0.0, 1.0);
            (dt, tau)
        }
        TimeMode::Cleaned => {
            let first = Tensor::<2>::zeros([b, 1], &device);
            let dt = raw_dt.clamp(1e-4, 0.1);
            let dt = if n > 1 {
                Tensor::cat(vec![first, dt.narrow(1, 1, n - 1)], 1)
            } else {
                first
            }
            .mask_fill(pad.clone(), 0.0);
            let elapsed = dt.clone().cumsum(1);
            let span = elapsed.clone().max_dim(1).clamp_min(1e-6);
            let tau = (elapsed / span).clamp(0.0, 1.0);
            (dt, tau)
        }
        TimeMode::Position => {
            let index = mask.clone().cumsum(1) - 1.0;
            let span = (count - 1.0).clamp_min(1.0);
            let tau = (index / span).clamp(0.0, 1.0);
            (Tensor::zeros([b, n], &device), tau)
        }
    };
    let tau = tau.mask_fill(pad.clone(), 0.0);
    let dt = dt.mask_fill(pad, 0.0);
    let feats = Tensor::stack::<3>(vec![dt.clone(), dt.log1p(), tau.clone()], 2);
    (feats, tau)
}

impl EventTokenResampler {
    /// Number of output tokens L.
    pub fn num_tokens(&self) -> usize {
        self.query_anchor.dims()[0]
    }

    /// Time mode the resampler was built with.
    pub fn time_mode(&self) -> TimeMode {
        self.time_mode
    }

    /// L tokens cross-attended from a batch of irregularly timed events.
    ///
    /// # Shapes
    /// - events: `(B, N, C)` events, valid ones a prefix of each row
    /// - timestamps: `(B, N)` seconds, sorted within the valid events
    /// - mask: `(B, N)` 1 valid, 0 padded
    /// - output: `tokens (B, L, D)`, `weights (B, H, L, N)` cross-attention over H heads
    ///   (see [`ResamplerOutput`])
    pub fn forward(
        &self,
        events: Tensor<3>,
        timestamps: Tensor<2>,
        mask: Tensor<2>,
    ) -> ResamplerOutput {
        let [b, n, c] = events.dims();
        let device = events.device();
        let l = self.num_tokens();
        let h = self.num_heads;
        let [_, d] = self.query_bias.dims();
        let dk = d / h;

        // Queries: MLP(tau_j) + bias_j, shared across the batch.
        let q = self
            .query_mlp_out
            .forward(silu(self.query_mlp_in.forward(self.query_anchor.clone())))
            + self.query_bias.val();
        let q_tokens = q.clone().reshape([1, l, d]).expand([b, l, d]);

        if n == 0 {
            // No events at all: every token is its query passed through the output path.
            let zeros = Tensor::<3>::zeros([b, l, d], &device);
            let tokens = self.out_norm.forward(q_tokens + self.wo.forward(zeros));
            return ResamplerOutput {
                tokens,
                weights: Tensor::zeros([b, h, l, 0], &device),
            };
        }

        let pad3 = padded(mask.clone()).reshape([b, n, 1]).expand([b, n, c]);
        let events = events.mask_fill(pad3, 0.0);
        let (feats, tau_e) = time_features(timestamps, mask.clone(), self.time_mode);
        let e = silu(
            self.event_norm
                .forward(self.event_proj.forward(Tensor::cat(vec![events, feats], 2))),
        );

        let qh = self.wq.forward(q).reshape([1, l, h, dk]).swap_dims(1, 2); // (1,H,L,dk)
        let kh = self
            .wk
            .forward(e.clone())
            .reshape([b, n, h, dk])
            .swap_dims(1, 2); // (B,H,N,dk)
        let vh = self.wv.forward(e).reshape([b, n, h, dk]).swap_dims(1, 2);
        let mut scores = qh.expand([b, h, l, dk]).matmul(kh.transpose()) / (dk as f32).sqrt();
        if let Some(log_c) = &self.log_locality {
            let tq = self.query_anchor.clone().reshape([1, 1, l, 1]);
            let te = tau_e.reshape([b, 1, 1, n]);
            let dist2 = (tq - te).powf_scalar(2.0); // (B,1,L,N)
            let coef = log_c.val().exp().reshape([1, h, 1, 1]);
            scores = scores - dist2 * coef;
        }
        let mask4 = mask.reshape([b, 1, 1, n]).expand([b, h, l, n]);
        let weights = masked_softmax(scores, mask4, 3);
        let context = weights
            .clone()
            .matmul(vh)
            .swap_dims(1, 2)
            .reshape([b, l, d]);
        let tokens = self.out_norm.forward(q_tokens + self.wo.forward(context));
        ResamplerOutput { tokens, weights }
    }
}
