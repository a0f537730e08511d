//! Learnable absolute positional encoding.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{Device, Tensor};

/// Configuration of [`LearnedPositionalEncoding`].
#[derive(Config, Debug)]
pub struct LearnedPositionalEncodingConfig {
    /// Longest sequence the table covers.
    pub max_len: usize,
    /// Embedding size.
    pub embed_dim: usize,
}

/// A `(max_len, D)` table added to the first `T` steps of the input.
#[derive(Module, Debug)]
pub struct LearnedPositionalEncoding {
    pub(crate) table: Param<Tensor<2>>,
}

impl LearnedPositionalEncodingConfig {
    /// Builds the table (normal, std 0.02) on `device`.
    pub fn init(&self, device: &Device) -> LearnedPositionalEncoding {
        LearnedPositionalEncoding {
            table: Initializer::Normal {
                mean: 0.0,
                std: 0.02,
            }
            .init([self.max_len, self.embed_dim], device),
        }
    }
}

impl LearnedPositionalEncoding {
    /// Longest sequence this encoding accepts.
    pub fn max_len(&self) -> usize {
        self.table.dims()[0]
    }

    /// Adds the first `T` rows of the table to every sequence of the batch.
    ///
    /// # Shapes
    /// - x: `(B, T, D)` embedded steps; `T` must not exceed `max_len` (callers check first)
    /// - output: `(B, T, D)`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [_, t, d] = x.dims();
        let pe = self.table.val().narrow(0, 0, t).reshape([1, t, d]);
        x + pe
    }
}
