//! The networks a run trains ([`Model`], [`Net`] with its distillation head), loading a finished
//! run's model, and scoring windows with it.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use burn::module::Module;
use burn::tensor::{Device, Tensor, activation::sigmoid};
use fallkd_core::data::window::Window;
use fallkd_core::losses::{DistillationLoss, DistillationLossConfig};
use fallkd_core::model::{ModelOutput, SkeletonTransformer, Student, TimestampAwareStudent};

use crate::batcher::{Batch, Batcher};
use crate::checkpoint::{load_module, save_module};
use crate::config::RunConfig;
use crate::run_dir::{Role, RunDir};

/// The model a run trains: the skeleton teacher or a student.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // one per run
pub enum Model {
    /// The skeleton teacher.
    Teacher(SkeletonTransformer),
    /// A student of either architecture.
    Student(Student),
}

impl Model {
    /// A fresh model for `role`.
    pub fn init(cfg: &RunConfig, role: Role, device: &Device) -> Model {
        match role {
            Role::Teacher => Model::Teacher(cfg.teacher.init(device)),
            Role::Student => Model::Student(cfg.student.config().init(device)),
        }
    }

    /// Forward on a prepared batch.
    ///
    /// # Shapes
    /// - batch: skeleton `frames (B, T, 96)` for the teacher, a student batch for a student
    /// - output: `logits (B)` and the trunk's features (see [`ModelOutput`])
    pub fn forward(&self, b: &Batch) -> ModelOutput {
        match self {
            Model::Teacher(t) => t
                .forward(b.frames.clone().expect("teacher batch has frames"), None)
                .expect("window length checked by config"),
            Model::Student(s) => s.forward(b.student.as_ref().expect("student batch")),
        }
    }

    /// Saves the model alone (what `model.bpk` holds: the teacher's or student's own record,
    /// the format `export`, `evaluate` and KD read).
    pub fn save(&self, path: &Path) -> Result<()> {
        match self {
            Model::Teacher(t) => save_module(t, path),
            Model::Student(Student::TimestampAware(s)) => save_module(s, path),
            Model::Student(Student::FixedRate(s)) => save_module(s, path),
        }
    }

    /// Loads a model saved by [`Model::save`] into this one's architecture.
    pub fn load(self, path: &Path, device: &Device) -> Result<Model> {
        Ok(match self {
            Model::Teacher(t) => Model::Teacher(load_module(t, path, device)?),
            Model::Student(Student::TimestampAware(s)) => {
                Model::Student(Student::TimestampAware(load_module(s, path, device)?))
            }
            Model::Student(Student::FixedRate(s)) => {
                Model::Student(Student::FixedRate(load_module(s, path, device)?))
            }
        })
    }

    /// Parameters of the model.
    pub fn num_params(&self) -> usize {
        match self {
            Model::Teacher(t) => t.num_params(),
            Model::Student(s) => s.num_params(),
        }
    }
}

/// Everything trained in one run: the model and, for KD, the loss with its projection.
#[derive(Module, Debug)]
pub struct Net {
    /// The model.
    pub model: Model,
    pub(crate) kd: Option<DistillationLoss>,
}

impl Net {
    /// A fresh network for `role`, with the KD loss when the teacher's width is given.
    pub fn init(
        cfg: &RunConfig,
        role: Role,
        kd_teacher_dim: Option<usize>,
        device: &Device,
    ) -> Net {
        let net = Net {
            model: Model::init(cfg, role, device),
            kd: kd_teacher_dim.map(|td| {
                DistillationLossConfig::new(td, cfg.student.model.embed_dim)
                    .with_weights(cfg.kd.weights.clone())
                    .with_task(cfg.train.loss)
                    .with_embedding(cfg.kd.embedding.clone())
                    .with_attention(cfg.kd.attention.clone())
                    .with_response(cfg.kd.response.clone())
                    .init(device)
            }),
        };
        // burn draws a parameter's initial value when the parameter is first used, and the host
        // step reads them in another order than the tensor forward: all are drawn now, in the
        // module's order, so that both steps start from the same weights.
        struct Draw;
        impl burn::module::ModuleVisitor for Draw {
            fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
                let _ = param.val();
            }
        }
        net.visit(&mut Draw);
        net
    }

    /// Forward on a prepared batch (see [`Model::forward`]).
    pub fn forward(&self, b: &Batch) -> ModelOutput {
        self.model.forward(b)
    }

    /// The trained timestamp-aware student, if the run trained one.
    pub fn timestamp_aware(&self) -> Option<&TimestampAwareStudent> {
        match &self.model {
            Model::Student(s) => s.timestamp_aware(),
            Model::Teacher(_) => None,
        }
    }
}

/// Probabilities of `net` on `windows` (batched, no gradients).
pub fn predict(
    net: &Net,
    batcher: &Batcher,
    windows: &[Window],
    batch_size: usize,
    device: &Device,
) -> Vec<f64> {
    let net = net.valid();
    let mut out = Vec::with_capacity(windows.len());
    for chunk in windows.chunks(batch_size.max(1)) {
        let refs: Vec<&Window> = chunk.iter().collect();
        let b = batcher.batch(&refs, false, device);
        let p = sigmoid(net.forward(&b).logits)
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32 logits");
        out.extend(p.iter().map(|&x| x as f64));
    }
    out
}

/// Batch-1 inference time per window in milliseconds (batching included) over up to 64 of
/// `windows`, after one warm-up; 0 without windows.
pub fn latency_ms(net: &Net, batcher: &Batcher, windows: &[Window], device: &Device) -> f64 {
    let valid = net.valid();
    let sample: Vec<&Window> = windows.iter().take(64).collect();
    let Some(first) = sample.first() else {
        return 0.0;
    };
    let _ = valid
        .forward(&batcher.batch(&[first], false, device))
        .logits
        .into_data();
    let t0 = Instant::now();
    for w in &sample {
        let _ = valid
            .forward(&batcher.batch(&[w], false, device))
            .logits
            .into_data();
    }
    t0.elapsed().as_secs_f64() * 1000.0 / sample.len() as f64
}

/// The best model of a finished run (`model.bpk`), without any KD head.
pub fn load_trained(cfg: &RunConfig, role: Role, out: &Path, device: &Device) -> Result<Net> {
    let mut net = Net::init(cfg, role, None, device);
    net.model = net.model.load(&out.join(RunDir::MODEL), device)?;
    Ok(net)
}
