//! The forward pass of burn's [`TransformerEncoder`] with fallkd's dropout.
//!
//! The modules are burn's own (`TransformerEncoder`, its layers, `MultiHeadAttention`,
//! `PositionWiseFeedForward`), so parameters and model files are unchanged; only the forward is
//! written out here, operation for operation as in burn-nn 0.22.1, with every dropout drawn by
//! [`super::dropout::dropout`] (attention weights, feed-forward activations, both residual
//! branches). Without dropout (inference, or the browser) the result is burn's to the bit (tested).

use burn::nn::attention::MultiHeadAttention;
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderLayer};
use burn::tensor::activation::{quiet_softmax, softmax};
use burn::tensor::{Bool, Tensor};

use super::dropout::dropout;

/// Runs `encoder` over `x`.
///
/// # Shapes
/// - x: `(B, T, D)`
/// - mask_pad: `(B, T)`, true at padded steps (keys there get no attention)
/// - output: `(B, T, D)`
pub fn encoder_forward(
    encoder: &TransformerEncoder,
    x: Tensor<3>,
    mask_pad: Option<Tensor<2, Bool>>,
) -> Tensor<3> {
    encoder
        .layers
        .iter()
        .fold(x, |x, layer| layer_forward(layer, x, mask_pad.clone()))
}

fn layer_forward(
    layer: &TransformerEncoderLayer,
    x: Tensor<3>,
    mask_pad: Option<Tensor<2, Bool>>,
) -> Tensor<3> {
    let residual = if layer.norm_first {
        layer.norm_2.forward(x.clone())
    } else {
        x.clone()
    };
    let residual = self_attention(&layer.mha, residual, mask_pad);
    let residual = dropout(&layer.dropout, residual);
    let mut x = x + residual;
    let residual = if layer.norm_first {
        layer.norm_1.forward(x.clone())
    } else {
        x = layer.norm_1.forward(x);
        x.clone()
    };
    let ff = &layer.pwff;
    let residual = ff.linear_inner.forward(residual);
    let residual = ff.activation.forward(residual);
    let residual = dropout(&ff.dropout, residual);
    let residual = ff.linear_outer.forward(residual);
    let residual = dropout(&layer.dropout, residual);
    let x = x + residual;
    if layer.norm_first {
        x
    } else {
        layer.norm_2.forward(x)
    }
}

fn self_attention(
    mha: &MultiHeadAttention,
    x: Tensor<3>,
    mask_pad: Option<Tensor<2, Bool>>,
) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let heads = |linear: &burn::nn::Linear| {
        linear
            .forward(x.clone())
            .reshape([b, t, mha.n_heads, mha.d_k])
            .swap_dims(1, 2)
    };
    let (q, k, v) = (heads(&mha.query), heads(&mha.key), heads(&mha.value));
    let mut scores = q.matmul(k.transpose()).div_scalar((mha.d_k as f32).sqrt());
    if let Some(mask) = mask_pad {
        scores = scores.mask_fill(mask.reshape([b, 1, 1, t]), mha.min_float);
    }
    let weights = if mha.quiet_softmax {
        quiet_softmax(scores, 3)
    } else {
        softmax(scores, 3)
    };
    let weights = dropout(&mha.dropout, weights);
    let context = weights.matmul(v).swap_dims(1, 2).reshape([b, t, d]);
    mha.output.forward(context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::nn::transformer::{TransformerEncoderConfig, TransformerEncoderInput};
    use burn::tensor::{Device, Distribution};

    fn inputs(device: &Device) -> (Tensor<3>, Tensor<2, Bool>) {
        let x = Tensor::<3>::random([3, 10, 16], Distribution::Normal(0.0, 1.0), device);
        let lens = Tensor::<2>::from_floats(
            [
                [0.0; 10],
                [0., 0., 0., 0., 0., 0., 0., 1., 1., 1.],
                [0., 0., 0., 0., 1., 1., 1., 1., 1., 1.],
            ],
            device,
        );
        (x, lens.greater_elem(0.5))
    }

    #[test]
    fn equals_burns_forward_without_dropout() {
        let device = Device::flex();
        for norm_first in [true, false] {
            let enc = TransformerEncoderConfig::new(16, 32, 4, 2)
                .with_norm_first(norm_first)
                .init(&device);
            let (x, mask) = inputs(&device);
            let ours = encoder_forward(&enc, x.clone(), Some(mask.clone()));
            let burns = enc.forward(TransformerEncoderInput::new(x).mask_pad(mask));
            assert_eq!(
                ours.into_data(),
                burns.into_data(),
                "norm_first {norm_first}"
            );
        }
    }

    #[test]
    fn training_forward_differs_from_inference_and_backpropagates() {
        let device = Device::flex().autodiff();
        let enc = TransformerEncoderConfig::new(16, 32, 4, 1)
            .with_dropout(0.3)
            .with_norm_first(true)
            .init(&device);
        let (x, mask) = inputs(&device);
        crate::model::dropout::seed_dropout(5);
        let trained = encoder_forward(&enc, x.clone(), Some(mask.clone()));
        let inferred = encoder_forward(&enc.valid(), x.clone().inner(), Some(mask.inner()));
        let a: Vec<f32> = trained
            .clone()
            .inner()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let b: Vec<f32> = inferred.into_data().try_to_vec::<f32>().unwrap();
        let diff = a
            .iter()
            .zip(&b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0f32, f32::max);
        assert!(
            diff > 1e-3,
            "dropout changed nothing (max difference {diff})"
        );
        let grads = trained.sum().backward();
        let g = enc.layers[0].mha.query.weight.grad(&grads).expect("grad");
        assert!(g.abs().sum().into_scalar::<f32>() > 0.0);
    }
}
