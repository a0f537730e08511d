//! Exponential moving average of a network's weights (`train.ema`): training steps the raw
//! weights; validation, the best checkpoint and the exported model use the average, which
//! smooths the last steps' noise out of the model a small validation subject picks.
//!
//! After optimiser step `t` (counted from 0) the average becomes
//! `d_t avg + (1 - d_t) w` with `d_t = min(decay, (1 + t) / (10 + t))`: the short warm-up keeps
//! the freshly initialised weights from dominating the first epoch's average.
//!
//! An average that starts fresh takes its first value from the first update, not from the
//! untrained module: reading a burn module's parameters draws its lazily initialised weights, and
//! drawing them before training would take other random numbers than a run without the average
//! (another initialisation, so a comparison of the two would not isolate the average).

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// The running average of a module's float parameters (held without autodiff).
#[derive(Debug, Clone)]
pub struct WeightAverage<M: Module> {
    avg: Option<M>,
    decay: f64,
}

impl<M: Module> WeightAverage<M> {
    /// An average without a value yet: the first [`Self::update`] gives it one.
    pub fn new(decay: f64) -> Self {
        WeightAverage { avg: None, decay }
    }

    /// Continues from an average saved earlier (loaded from disk).
    pub fn resume(avg: &M, decay: f64) -> Self {
        WeightAverage {
            avg: Some(avg.valid()),
            decay,
        }
    }

    /// The weight the average keeps after optimiser step `step` (0-based).
    pub fn decay_at(&self, step: usize) -> f64 {
        self.decay.min((1.0 + step as f64) / (10.0 + step as f64))
    }

    /// Folds `module`'s weights, as they are after optimiser step `step`, into the average (the
    /// first update takes them as they are).
    pub fn update(&mut self, module: &M, step: usize) {
        let Some(avg) = self.avg.take() else {
            self.avg = Some(module.valid());
            return;
        };
        let mut take = Take(Vec::new());
        module.visit(&mut take);
        let mut blend = Blend {
            weights: take.0.into_iter(),
            decay: self.decay_at(step),
        };
        self.avg = Some(avg.map(&mut blend));
        assert!(
            blend.weights.next().is_none(),
            "the averaged module has the trained module's parameters"
        );
    }

    /// The averaged module (validation mode); `None` before the first update.
    pub fn average(&self) -> Option<&M> {
        self.avg.as_ref()
    }
}

/// Collects every float parameter, flattened and without autodiff, in visiting order.
struct Take(Vec<Tensor<1>>);

impl ModuleVisitor for Take {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let v = param.val().inner();
        let n = v.shape().num_elements();
        self.0.push(v.reshape([n]));
    }
}

/// Replaces each float parameter `a` by `decay a + (1 - decay) w`, `w` the next collected one.
struct Blend {
    weights: std::vec::IntoIter<Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let w = self
            .weights
            .next()
            .expect("the averaged module has the trained module's parameters");
        let d = self.decay;
        param.map(|a| {
            let dims = a.dims();
            a.mul_scalar(d) + w.reshape(dims).mul_scalar(1.0 - d)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, TensorData};

    fn weights(m: &Linear) -> Vec<f32> {
        let mut t = Take(Vec::new());
        m.visit(&mut t);
        t.0.into_iter()
            .flat_map(|x| {
                x.into_data()
                    .convert::<f32>()
                    .try_into_vec::<f32>()
                    .unwrap()
            })
            .collect()
    }

    fn filled(m: &Linear, v: f32) -> Linear {
        struct Fill(f32);
        impl ModuleMapper for Fill {
            fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
                let v = self.0;
                p.map(|a| a.zeros_like().add_scalar(v))
            }
        }
        m.clone().map(&mut Fill(v))
    }

    #[test]
    fn the_average_follows_the_formula_after_its_warm_up() {
        let device = Device::flex().autodiff();
        let m = LinearConfig::new(3, 2).init(&device);
        let zero = filled(&m, 0.0);
        let mut avg = WeightAverage::new(0.9);
        assert!(avg.average().is_none());
        assert_eq!(avg.decay_at(0), 0.1);
        assert_eq!(avg.decay_at(1000), 0.9);
        // The first update takes the weights; then step 1: d = 2 / 11, 0 * d + 1 * (1 - d) = 9 / 11;
        // step 1000: 0.9 * 9 / 11 + 0.1 * 3.
        avg.update(&zero, 0);
        avg.update(&filled(&m, 1.0), 1);
        let got = |a: &WeightAverage<Linear>| weights(a.average().unwrap());
        assert!(got(&avg).iter().all(|&v| (v - 9.0 / 11.0).abs() < 1e-6));
        avg.update(&filled(&m, 3.0), 1000);
        assert!(
            got(&avg)
                .iter()
                .all(|&v| (v - (0.9 * 9.0 / 11.0 + 0.3)).abs() < 1e-6)
        );
        // The average is a plain (inference) module and the trained one is left as it was.
        assert!(!avg.average().unwrap().weight.val().is_autodiff());
        assert!(weights(&zero).iter().all(|&v| v == 0.0));
        // Resumed from a saved average, it continues from it.
        let mut back = WeightAverage::resume(avg.average().unwrap(), 0.9);
        back.update(&filled(&m, 3.0), 1000);
        assert!(
            got(&back)
                .iter()
                .all(|&v| (v - (0.81 * 9.0 / 11.0 + 0.57)).abs() < 1e-5)
        );
    }

    #[test]
    fn each_parameter_is_blended_with_its_own_counterpart() {
        let device = Device::flex();
        let m = LinearConfig::new(2, 2).init(&device);
        let w = Tensor::<2>::from_data(TensorData::new(vec![1f32, 2., 3., 4.], [2, 2]), &device);
        let target = Linear {
            weight: Param::from_tensor(w),
            bias: Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(vec![10f32, 20.], [2]),
                &device,
            ))),
        };
        let mut avg = WeightAverage::new(0.5);
        avg.update(&filled(&m, 0.0), 0);
        avg.update(&target, 1000);
        assert_eq!(
            weights(avg.average().unwrap()),
            vec![0.5, 1.0, 1.5, 2.0, 5.0, 10.0]
        );
    }
}
