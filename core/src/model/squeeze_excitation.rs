//! Squeeze-and-excitation over time: channel gates from the masked temporal mean.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{
    Device, Tensor,
    activation::{relu, sigmoid},
};

use super::masking::masked_mean;

/// Configuration of [`SqueezeExcitation`].
#[derive(Config, Debug)]
pub struct SqueezeExcitationConfig {
    /// Channels.
    pub channels: usize,
    /// Bottleneck reduction factor.
    #[config(default = 4)]
    pub reduction: usize,
}

/// `x * sigmoid(W2 relu(W1 mean_t(x)))`, channel-wise.
#[derive(Module, Debug)]
pub struct SqueezeExcitation {
    pub(crate) squeeze: Linear,
    pub(crate) excite: Linear,
}

impl SqueezeExcitationConfig {
    /// Builds the module on `device`.
    pub fn init(&self, device: &Device) -> SqueezeExcitation {
        let hidden = (self.channels / self.reduction.max(1)).max(1);
        SqueezeExcitation {
            squeeze: LinearConfig::new(self.channels, hidden).init(device),
            excite: LinearConfig::new(hidden, self.channels).init(device),
        }
    }
}

impl SqueezeExcitation {
    /// Gates each channel by a squeeze of the masked temporal mean.
    ///
    /// # Shapes
    /// - x: `(B, T, D)` tokens
    /// - mask: `(B, T)` 1 valid, 0 padded
    /// - output: `(B, T, D)` `x` scaled channel-wise
    pub fn forward(&self, x: Tensor<3>, mask: Tensor<2>) -> Tensor<3> {
        let [b, _, d] = x.dims();
        let summary = masked_mean(x.clone(), mask);
        let gates = sigmoid(self.excite.forward(relu(self.squeeze.forward(summary))));
        x * gates.reshape([b, 1, d])
    }
}
