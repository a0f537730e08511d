//! The weighted sum of the task loss and the KD losses (the four alignment-free feature losses
//! and response KD), with the trainable projection
//! `teacher_dim -> student_dim` that maps teacher embeddings into student space.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::attention::{AttentionKd, AttentionKdConfig};
use super::comodo::Comodo;
use super::embedding::{EmbeddingKd, EmbeddingKdConfig};
use super::gram::GramKd;
use super::response::{ResponseKd, ResponseKdConfig};
use super::task::{TaskLoss, TaskLossKind};
use crate::error::Error;
use crate::model::ModelOutput;

/// Weights of the loss terms (0 switches a term off). The defaults are the project's
/// distillation (the run configuration's `kd.weights`): task + embedding + Gram, the two feature
/// losses the ablations kept (RESULTS.md).
#[derive(Config, Debug, PartialEq)]
pub struct KdWeights {
    /// Task loss (BCE or focal).
    #[config(default = 1.0)]
    pub task: f64,
    /// Embedding (cosine) KD.
    #[config(default = 1.0)]
    pub embedding: f64,
    /// Gram (token similarity) KD.
    #[config(default = 1.0)]
    pub gram: f64,
    /// COMODO (queue distribution matching).
    #[config(default = 0.0)]
    pub comodo: f64,
    /// Attention KD.
    #[config(default = 0.0)]
    pub attention: f64,
    /// Response KD (the teacher's softened probability).
    #[config(default = 0.0)]
    pub response: f64,
}

impl KdWeights {
    /// Checks the weights, naming the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        for (name, w) in [
            ("task", self.task),
            ("embedding", self.embedding),
            ("gram", self.gram),
            ("comodo", self.comodo),
            ("attention", self.attention),
            ("response", self.response),
        ] {
            if !w.is_finite() || w < 0.0 {
                return Err(Error::config(
                    format!("weights.{name}"),
                    format!("must be a finite number >= 0, got {w}"),
                ));
            }
        }
        Ok(())
    }

    /// True when any KD term is on.
    pub fn uses_teacher(&self) -> bool {
        self.embedding > 0.0
            || self.gram > 0.0
            || self.comodo > 0.0
            || self.attention > 0.0
            || self.response > 0.0
    }
}

/// Configuration of [`DistillationLoss`].
#[derive(Config, Debug)]
pub struct DistillationLossConfig {
    /// Teacher feature width.
    pub teacher_dim: usize,
    /// Student feature width.
    pub student_dim: usize,
    /// Term weights.
    #[config(default = "KdWeights::new()")]
    pub weights: KdWeights,
    /// Task loss.
    #[config(default = "TaskLossKind::Bce { pos_weight: 1.0 }")]
    pub task: TaskLossKind,
    /// Embedding KD settings.
    #[config(default = "EmbeddingKdConfig::new()")]
    pub embedding: EmbeddingKdConfig,
    /// Attention KD settings.
    #[config(default = "AttentionKdConfig::new()")]
    pub attention: AttentionKdConfig,
    /// Response KD settings.
    #[config(default = "ResponseKdConfig::new()")]
    pub response: ResponseKdConfig,
}

/// The combined loss; its projection is trained together with the student.
#[derive(Module, Debug)]
pub struct DistillationLoss {
    projection: Linear,
    #[module(skip)]
    weights: KdWeights,
    #[module(skip)]
    task: TaskLoss,
    #[module(skip)]
    embedding: EmbeddingKd,
    #[module(skip)]
    gram: GramKd,
    #[module(skip)]
    attention: AttentionKd,
    #[module(skip)]
    response: ResponseKd,
}

/// What the combined loss needs for one batch.
pub struct KdInputs<'a> {
    /// Student output.
    pub student: &'a ModelOutput,
    /// Teacher output on the paired skeleton windows (`None` trains without KD).
    pub teacher: Option<&'a ModelOutput>,
    /// 0/1 fall labels `(B)`.
    pub targets: Tensor<1>,
}

/// The total and each weighted-in part (unweighted values, for logging).
#[derive(Debug, Clone)]
pub struct LossParts {
    /// Weighted sum to back-propagate.
    pub total: Tensor<1>,
    /// Task loss.
    pub task: Tensor<1>,
    /// Embedding KD, when on.
    pub embedding: Option<Tensor<1>>,
    /// Gram KD, when on.
    pub gram: Option<Tensor<1>>,
    /// COMODO, when on.
    pub comodo: Option<Tensor<1>>,
    /// Attention KD, when on.
    pub attention: Option<Tensor<1>>,
    /// Response KD, when on.
    pub response: Option<Tensor<1>>,
}

impl DistillationLossConfig {
    /// Builds the loss (and its projection) on `device`.
    pub fn init(&self, device: &Device) -> DistillationLoss {
        DistillationLoss {
            projection: LinearConfig::new(self.teacher_dim, self.student_dim).init(device),
            weights: self.weights.clone(),
            task: TaskLoss { kind: self.task },
            embedding: self.embedding.init(),
            gram: GramKd,
            attention: self.attention.init(),
            response: self.response.init(),
        }
    }
}

impl DistillationLoss {
    /// Term weights.
    pub fn weights(&self) -> &KdWeights {
        &self.weights
    }

    /// Maps teacher-space rows `(n, Dt)` to student space `(n, Ds)`.
    pub fn project(&self, teacher: Tensor<2>) -> Tensor<2> {
        self.projection.forward(teacher)
    }

    /// Computes every active term. KD terms need `inputs.teacher`; COMODO also needs `comodo`.
    ///
    /// # Shapes
    /// - inputs.student: [`ModelOutput`] of B windows, `features (B, Ds)`
    /// - inputs.teacher: [`ModelOutput`] of the paired B windows, `features (B, Dt)`; its token
    ///   and attention lengths may differ from the student's
    /// - inputs.targets: `(B)` 0/1 labels
    /// - output: `total` and every present term `(1)` (see [`LossParts`])
    ///
    /// # Panics
    /// When the COMODO weight is above 0 and `comodo` is `None` (the term would silently vanish).
    pub fn forward(&self, inputs: KdInputs<'_>, comodo: Option<&Comodo>) -> LossParts {
        let w = &self.weights;
        let task = self
            .task
            .forward(inputs.student.logits.clone(), inputs.targets.clone());
        let mut total = task.clone() * w.task;
        let (mut embedding, mut gram, mut comodo_term, mut attention) = (None, None, None, None);
        let mut response = None;
        if let Some(teacher) = inputs.teacher {
            let s = inputs.student;
            if w.embedding > 0.0 {
                let t = self.project(teacher.features.clone().detach());
                let v = self.embedding.forward(s.features.clone(), t);
                total = total + v.clone() * w.embedding;
                embedding = Some(v);
            }
            if w.gram > 0.0 {
                let v = self.gram.forward(
                    s.pooled_tokens.clone(),
                    teacher.pooled_tokens.clone().detach(),
                );
                total = total + v.clone() * w.gram;
                gram = Some(v);
            }
            if w.comodo > 0.0 {
                let c = comodo.expect(
                    "a COMODO weight above 0 needs its queue: pass the Comodo state to forward",
                );
                let v = c.forward(s.features.clone(), teacher.features.clone(), |x| {
                    self.project(x)
                });
                total = total + v.clone() * w.comodo;
                comodo_term = Some(v);
            }
            if w.attention > 0.0 {
                let v = self
                    .attention
                    .forward(s.attention.clone(), teacher.attention.clone().detach());
                total = total + v.clone() * w.attention;
                attention = Some(v);
            }
            if w.response > 0.0 {
                let v = self.response.forward(
                    s.logits.clone(),
                    teacher.logits.clone(),
                    inputs.targets.clone(),
                );
                total = total + v.clone() * w.response;
                response = Some(v);
            }
        }
        LossParts {
            total,
            task,
            embedding,
            gram,
            comodo: comodo_term,
            attention,
            response,
        }
    }
}
