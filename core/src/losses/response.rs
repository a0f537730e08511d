//! Response KD: the student's fall probability learns the teacher's, softened by a temperature.
//!
//! `T^2 * mean(BCE(sigmoid(s / T), sigmoid(t / T)))` with the teacher's logit `t` on the paired
//! skeleton window and the student's `s` (Hinton et al.'s distillation for a single logit; `T^2`
//! keeps the gradient's size independent of `T`). Optionally only where the teacher is right:
//! windows whose teacher probability is on the wrong side of 0.5 for the label give nothing.

use crate::error::Error;
use burn::config::Config;
use burn::tensor::{Tensor, activation::log_sigmoid, activation::sigmoid};

/// Configuration of [`ResponseKd`].
#[derive(Config, Debug)]
pub struct ResponseKdConfig {
    /// Softening temperature T (> 0).
    #[config(default = 2.0)]
    pub temperature: f64,
    /// Distil only the windows the teacher classifies correctly.
    #[config(default = true)]
    pub where_teacher_right: bool,
}

/// Response (logit) distillation.
#[derive(Debug, Clone)]
pub struct ResponseKd {
    temperature: f64,
    where_teacher_right: bool,
}

impl ResponseKdConfig {
    /// Checks the settings, naming the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        super::check_positive("response.temperature", self.temperature)
    }

    /// Builds the loss.
    pub fn init(&self) -> ResponseKd {
        ResponseKd {
            temperature: self.temperature,
            where_teacher_right: self.where_teacher_right,
        }
    }
}

impl ResponseKd {
    /// The loss of a batch.
    ///
    /// # Shapes
    /// - student, teacher: `(B)` logits
    /// - targets: `(B)` 0/1 labels
    /// - output: `(1)`
    pub fn forward(&self, student: Tensor<1>, teacher: Tensor<1>, targets: Tensor<1>) -> Tensor<1> {
        let t = self.temperature;
        let soft = sigmoid(teacher.detach() / t);
        let z = student / t;
        // BCE with soft targets, from log-sigmoids (stable for large |z|).
        let per = (soft.clone() * log_sigmoid(z.clone())
            + (soft.clone().neg() + 1.0) * log_sigmoid(z.neg()))
        .neg();
        let weight = if self.where_teacher_right {
            // 1 where the teacher's side of 0.5 matches the label.
            soft.greater_equal_elem(0.5).float().equal(targets).float()
        } else {
            per.ones_like()
        };
        let n = weight.clone().sum().clamp_min(1.0);
        (per * weight).sum() / n * (t * t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn t(v: &[f32]) -> Tensor<1> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &Device::flex())
    }

    fn value(x: Tensor<1>) -> f32 {
        x.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()[0]
    }

    #[test]
    fn matches_the_formula_and_is_smallest_at_the_teacher() {
        let kd = ResponseKdConfig::new()
            .with_where_teacher_right(false)
            .init();
        // One window: s = t = 0 gives T^2 * ln 2.
        let l = value(kd.forward(t(&[0.0]), t(&[0.0]), t(&[1.0])));
        assert!((l - 4.0 * 2f32.ln()).abs() < 1e-5, "{l}");
        // The loss over s is smallest where s equals the teacher's logit.
        let at = |s: f32| value(kd.forward(t(&[s]), t(&[3.0]), t(&[1.0])));
        assert!(at(3.0) < at(2.5) && at(3.0) < at(3.5));
        assert!(at(60.0).is_finite() && at(-60.0).is_finite());
    }

    #[test]
    fn windows_the_teacher_gets_wrong_give_nothing() {
        let kd = ResponseKdConfig::new().init();
        // Teacher says fall (logit 4) on an ADL window (label 0): ignored, loss 0.
        assert_eq!(value(kd.forward(t(&[-2.0]), t(&[4.0]), t(&[0.0]))), 0.0);
        // With a right window beside it, only that one counts.
        let both = value(kd.forward(t(&[-2.0, 1.0]), t(&[4.0, 4.0]), t(&[0.0, 1.0])));
        let right = value(kd.forward(t(&[1.0]), t(&[4.0]), t(&[1.0])));
        assert!((both - right).abs() < 1e-6, "{both} vs {right}");
        assert!(
            ResponseKdConfig::new()
                .with_temperature(0.0)
                .validate()
                .is_err()
        );
    }
}
