//! [`jitter`]: every weight of a module moved off its initial value, for tests that compare two
//! computations of one model (the host step against the tensor forward, ONNX against native).
//!
//! Freshly initialised weights hide mistakes: layer norm scales start at one and shifts at zero, so
//! swapping them goes unseen, and a layer initialised at zero contributes nothing, so a copy that
//! forgets it agrees anyway.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Distribution, Tensor};

/// Adds normal noise of standard deviation `std` to every float parameter, drawn from the
/// device's generator (`seed_training` makes it repeatable). A parameter that required gradients
/// still does, as a leaf.
pub fn jitter<M: Module>(module: M, std: f64) -> M {
    module.map(&mut Jitter { std })
}

struct Jitter {
    std: f64,
}

impl ModuleMapper for Jitter {
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let std = self.std;
        p.map(|t| {
            let grad = t.is_require_grad();
            let noise = Tensor::random(t.shape(), Distribution::Normal(0.0, std), &t.device());
            let moved = (t + noise).detach();
            if grad { moved.require_grad() } else { moved }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{LayerNormConfig, LinearConfig};
    use burn::tensor::Device;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()
    }

    #[test]
    fn every_weight_moves_and_stays_trainable() {
        let ad = Device::flex().autodiff();
        crate::model::seed_training(&ad, 1);
        let norm = LayerNormConfig::new(8).init(&ad);
        let moved = jitter(norm.clone(), 0.2);
        assert_ne!(values(norm.gamma.val()), values(moved.gamma.val()));
        let beta = moved.beta.as_ref().unwrap().val();
        assert!(values(beta.clone()).iter().all(|v| *v != 0.0));
        assert!(beta.is_require_grad(), "a trainable weight stays trainable");
        let lin = jitter(LinearConfig::new(4, 3).init(&ad), 0.2);
        let grads = lin.forward(Tensor::<2>::ones([2, 4], &ad)).sum().backward();
        assert!(
            lin.weight.val().grad(&grads).is_some(),
            "gradients reach it"
        );
    }
}
