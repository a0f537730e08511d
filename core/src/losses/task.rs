//! Task losses on fall logits: binary cross-entropy and focal loss.

use burn::tensor::{
    Tensor,
    activation::{log_sigmoid, sigmoid},
};
use serde::{Deserialize, Serialize};

/// Which task loss to train with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TaskLossKind {
    /// Binary cross-entropy with logits, optional positive-class weight.
    Bce {
        /// Weight of the positive (fall) term.
        #[serde(default = "one")]
        pos_weight: f64,
    },
    /// Focal loss `-alpha_t (1 - p_t)^gamma log p_t`.
    Focal {
        /// Weight of the positive class (negatives get 1 - alpha).
        #[serde(default = "quarter")]
        alpha: f64,
        /// Focusing exponent.
        #[serde(default = "two")]
        gamma: f64,
    },
}

fn one() -> f64 {
    1.0
}
fn quarter() -> f64 {
    0.25
}
fn two() -> f64 {
    2.0
}

impl Default for TaskLossKind {
    fn default() -> Self {
        TaskLossKind::Bce { pos_weight: 1.0 }
    }
}

/// The task loss.
#[derive(Debug, Clone, Copy, Default)]
pub struct TaskLoss {
    /// Which loss.
    pub kind: TaskLossKind,
}

impl TaskLoss {
    /// Mean task loss (BCE or focal) of fall logits against their labels.
    ///
    /// # Shapes
    /// - logits: `(B)` fall logits
    /// - targets: `(B)` 0/1 labels
    /// - output: `(1)`
    pub fn forward(&self, logits: Tensor<1>, targets: Tensor<1>) -> Tensor<1> {
        let log_p = log_sigmoid(logits.clone());
        let log_not_p = log_sigmoid(logits.clone().neg());
        match self.kind {
            TaskLossKind::Bce { pos_weight } => {
                let pos = targets.clone() * log_p * pos_weight;
                let neg = (targets.neg() + 1.0) * log_not_p;
                (pos + neg).neg().mean()
            }
            TaskLossKind::Focal { alpha, gamma } => {
                let p = sigmoid(logits);
                let pos =
                    targets.clone() * (p.clone().neg() + 1.0).powf_scalar(gamma) * log_p * alpha;
                let neg = (targets.neg() + 1.0) * p.powf_scalar(gamma) * log_not_p * (1.0 - alpha);
                (pos + neg).neg().mean()
            }
        }
    }
}
