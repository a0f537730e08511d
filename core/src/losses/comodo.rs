//! COMODO: cross-modal distribution matching against a queue of teacher embeddings.
//!
//! The teacher's similarity distribution over a FIFO queue of its own (L2-normalised) embeddings,
//! `p_t = softmax(z_t Q^T / tau_t)`, is the target for the student's distribution over the same
//! queue seen through the projection, `log_softmax(z_s P(Q)^T / tau_s)`. The current teacher batch
//! is appended to the queue before scoring; afterwards it enters the queue (FIFO). The queue is
//! seeded from real teacher embeddings before training (see [`Comodo::enqueue`]).

use burn::config::Config;
use burn::tensor::{
    Tensor,
    activation::{log_softmax, softmax},
};

use super::l2_normalize;
use crate::error::Error;

/// Configuration of [`Comodo`]. Defaults follow the published COMODO.
#[derive(Config, Debug)]
pub struct ComodoConfig {
    /// Queue length K.
    #[config(default = 4096)]
    pub queue_size: usize,
    /// Teacher temperature.
    #[config(default = 0.1)]
    pub teacher_temperature: f64,
    /// Student temperature.
    #[config(default = 0.05)]
    pub student_temperature: f64,
}

/// Queue state and temperatures.
#[derive(Debug, Clone)]
pub struct Comodo {
    config: ComodoConfig,
    /// `(k, Dt)` normalised teacher embeddings, oldest first. `None` until seeded.
    queue: Option<Tensor<2>>,
}

impl ComodoConfig {
    /// Checks the configuration, naming the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        if self.queue_size == 0 {
            return Err(Error::config("comodo.queue_size", "must be > 0"));
        }
        super::check_positive("comodo.teacher_temperature", self.teacher_temperature)?;
        super::check_positive("comodo.student_temperature", self.student_temperature)
    }

    /// Builds an empty (unseeded) COMODO loss.
    pub fn init(&self) -> Comodo {
        Comodo {
            config: self.clone(),
            queue: None,
        }
    }
}

impl Comodo {
    /// Number of embeddings in the queue.
    pub fn len(&self) -> usize {
        self.queue.as_ref().map_or(0, |q| q.dims()[0])
    }

    /// True before the queue holds anything.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `(n, Dt)` embeddings (detached, normalised) and drops the oldest beyond K.
    pub fn enqueue(&mut self, teacher_embeddings: Tensor<2>) {
        let z = l2_normalize(teacher_embeddings.detach(), 1e-8);
        let q = match self.queue.take() {
            Some(q) => Tensor::cat(vec![q, z], 0),
            None => z,
        };
        let n = q.dims()[0];
        let k = self.config.queue_size;
        self.queue = Some(if n > k { q.narrow(0, n - k, k) } else { q });
    }

    /// The queue, oldest first.
    pub fn queue(&self) -> Option<&Tensor<2>> {
        self.queue.as_ref()
    }

    /// Cross-entropy of the student's similarity distribution over the queue (plus the current
    /// teacher batch) against the teacher's. Does not update the queue: call [`Comodo::enqueue`]
    /// with the teacher batch after the optimiser step.
    ///
    /// # Shapes
    /// - student: `(B, Ds)` embeddings
    /// - teacher: `(B, Dt)` embeddings (detached)
    /// - project: `(Q + B, Dt)` -> `(Q + B, Ds)`, maps teacher-space rows (queue, then batch) to
    ///   student space (identity when the widths agree); `Q` is 0 before seeding
    /// - output: `(1)`
    pub fn forward(
        &self,
        student: Tensor<2>,
        teacher: Tensor<2>,
        project: impl Fn(Tensor<2>) -> Tensor<2>,
    ) -> Tensor<1> {
        let zt = l2_normalize(teacher.detach(), 1e-8);
        let bank = match &self.queue {
            Some(q) => Tensor::cat(vec![q.clone(), zt.clone()], 0),
            None => zt.clone(),
        };
        let p_t = softmax(
            zt.matmul(bank.clone().transpose())
                .div_scalar(self.config.teacher_temperature),
            1,
        );
        let zs = l2_normalize(student, 1e-8);
        let bank_s = l2_normalize(project(bank), 1e-8);
        let log_q = log_softmax(
            zs.matmul(bank_s.transpose())
                .div_scalar(self.config.student_temperature),
            1,
        );
        (p_t * log_q).sum_dim(1).neg().mean()
    }
}
