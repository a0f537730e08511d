//! Attention KD: make the student's temporal-attention pattern follow the teacher's.
//!
//! Both patterns are distributions over (relative) time. When their lengths differ, each is
//! adaptive-average-pooled to the smaller length and renormalised, so any length ratio works.
//! The temperature acts on log-weights: `p = softmax(log(w) / T)`, which equals
//! `softmax(scores / T)` for unpooled weights; weights that are already a softmax are never
//! softmaxed again. KL and JS are scaled by `T^2` (Hinton) so gradients keep their size.

use burn::config::Config;
use burn::tensor::{Tensor, activation::log_softmax, module::adaptive_avg_pool1d};
use serde::{Deserialize, Serialize};

/// Divergence between attention distributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum AttentionDivergence {
    /// `KL(p_teacher || p_student)`.
    #[default]
    Kl,
    /// Mean squared difference of the distributions.
    Mse,
    /// Jensen-Shannon divergence.
    Js,
}

/// Configuration of [`AttentionKd`].
#[derive(Config, Debug)]
pub struct AttentionKdConfig {
    /// Which divergence.
    #[config(default = "AttentionDivergence::Kl")]
    pub divergence: AttentionDivergence,
    /// Temperature on log-weights.
    #[config(default = 1.0)]
    pub temperature: f64,
}

/// Attention distillation.
#[derive(Debug, Clone)]
pub struct AttentionKd {
    divergence: AttentionDivergence,
    temperature: f64,
}

impl AttentionKdConfig {
    /// Checks the configuration, naming the offending key.
    pub fn validate(&self) -> Result<(), crate::error::Error> {
        super::check_positive("attention.temperature", self.temperature)
    }

    /// Builds the loss.
    pub fn init(&self) -> AttentionKd {
        assert!(
            self.temperature > 0.0,
            "attention KD temperature must be > 0"
        );
        AttentionKd {
            divergence: self.divergence,
            temperature: self.temperature,
        }
    }
}

const EPS: f32 = 1e-8;

/// Pools a `(B, T)` distribution to `(B, len)` and renormalises it.
pub fn pool_distribution(w: Tensor<2>, len: usize) -> Tensor<2> {
    let [b, t] = w.dims();
    let w = if t == len {
        w
    } else {
        adaptive_avg_pool1d(w.reshape([b, 1, t]), len).reshape([b, len])
    };
    let total = w.clone().sum_dim(1).clamp_min(EPS);
    w / total
}

fn kl(p: Tensor<2>, log_p: Tensor<2>, log_q: Tensor<2>) -> Tensor<1> {
    (p * (log_p - log_q)).sum_dim(1).mean()
}

impl AttentionKd {
    /// Divergence of the student's temporal attention from the teacher's (teacher detached).
    ///
    /// # Shapes
    /// - student: `(B, Ts)` attention weights, each row a distribution
    /// - teacher: `(B, Tt)` attention weights, each row a distribution; both are pooled to
    ///   `min(Ts, Tt)`
    /// - output: `(1)`
    pub fn forward(&self, student: Tensor<2>, teacher: Tensor<2>) -> Tensor<1> {
        let len = student.dims()[1].min(teacher.dims()[1]);
        let t = self.temperature;
        let log_s = log_softmax(
            pool_distribution(student, len)
                .clamp_min(EPS)
                .log()
                .div_scalar(t),
            1,
        );
        let log_t = log_softmax(
            pool_distribution(teacher.detach(), len)
                .clamp_min(EPS)
                .log()
                .div_scalar(t),
            1,
        );
        match self.divergence {
            AttentionDivergence::Kl => kl(log_t.clone().exp(), log_t, log_s).mul_scalar(t * t),
            AttentionDivergence::Mse => (log_s.exp() - log_t.exp()).powf_scalar(2.0).mean(),
            AttentionDivergence::Js => {
                let (ps, pt) = (log_s.clone().exp(), log_t.clone().exp());
                let log_m = ((ps.clone() + pt.clone()) * 0.5).clamp_min(EPS).log();
                ((kl(pt, log_t, log_m.clone()) + kl(ps, log_s, log_m)) * 0.5).mul_scalar(t * t)
            }
        }
    }
}
