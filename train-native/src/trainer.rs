//! The training loop shared by teacher, students and baseline: AdamW with linear warm-up and
//! cosine decay to 2 % of the peak rate, gradient clipping, early stopping on the validation
//! criterion (`train.select`: best-threshold F1 or log loss), atomic checkpoints, resume.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Bytes, Device, Int, Tensor, TensorData, activation::sigmoid};
use fallkd_core::data::augment::AugmentConfig;
use fallkd_core::data::batch::{EventWindow, student_batch, teacher_batch};
use fallkd_core::data::normalize::NormStats;
use fallkd_core::data::window::Window;
use fallkd_core::losses::{
    Comodo, DistillationLoss, DistillationLossConfig, KdInputs, LossParts, TaskLoss,
};
use fallkd_core::metrics::{BinaryMetrics, best_threshold, binary_metrics};
use fallkd_core::model::{
    ModelOutput, SkeletonTransformer, Student, TimestampAwareStudent, seed_training,
};
use fallkd_core::perturb::PerturbConfig;
use fallkd_core::rng::Rng;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{load_module, save_module, write_atomic};
use crate::config::{RunConfig, Selection};
use crate::dataset::Prepared;
use crate::host_step::{HostStep, StepKind, takes_host_step};
use crate::predictions::{Prediction, windows_to_predict};
use crate::run_dir::RunDir;
use crate::weight_average::WeightAverage;

/// What a run trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The skeleton teacher.
    Teacher,
    /// A student (timestamp-aware or fixed-rate, per `student.arch`).
    Student,
}

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
    kd: Option<DistillationLoss>,
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
        // step reads them in another order than the tensor forward: for the host step they are
        // all drawn now, in the module's order (the tensor step keeps its initial weights, so
        // runs made before the host step reproduce with `train.step: tensor`).
        if takes_host_step(cfg, &net.model, device) {
            struct Draw;
            impl burn::module::ModuleVisitor for Draw {
                fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
                    let _ = param.val();
                }
            }
            net.visit(&mut Draw);
        }
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

/// Tensors for one batch.
pub struct Batch {
    /// Student input (students only).
    pub student: Option<fallkd_core::data::batch::StudentBatch>,
    /// Skeleton frames: the teacher's input, or the KD teacher's for students.
    pub frames: Option<Tensor<3>>,
    /// Labels.
    pub labels: Tensor<1>,
}

/// Builds batches for a role.
pub struct Batcher<'a> {
    /// Data.
    pub data: &'a Prepared,
    /// Statistics for the model being trained.
    pub stats: NormStats,
    /// Statistics of the KD teacher (skeleton normalisation).
    pub teacher_stats: Option<NormStats>,
    /// Role.
    pub role: Role,
    /// Student grid length.
    pub grid_len: usize,
    /// Teacher frames per window.
    pub frames: usize,
}

impl Batcher<'_> {
    /// The skeleton frames paired with `w` (none without a partner).
    pub fn skeleton<'w>(&'w self, w: &Window) -> &'w [fallkd_core::data::skeleton_csv::Frame] {
        let (a, b) = w.skeleton_frames.unwrap_or((0, 0));
        self.data.trials[w.trial]
            .skeleton
            .as_deref()
            .map_or(&[][..], |s| &s[a..b])
    }

    /// Batch of `windows` on `device`; `with_frames` adds skeleton frames for students (KD).
    pub fn batch(&self, windows: &[&Window], with_frames: bool, device: &Device) -> Batch {
        let labels: Vec<bool> = windows.iter().map(|w| w.label).collect();
        match self.role {
            Role::Teacher => {
                let items: Vec<_> = windows.iter().map(|w| self.skeleton(w)).collect();
                let (frames, labels) =
                    teacher_batch(&items, &labels, &self.stats, self.frames, device);
                Batch {
                    student: None,
                    frames: Some(frames),
                    labels,
                }
            }
            Role::Student => {
                let ev: Vec<EventWindow> = windows.iter().map(|w| EventWindow::from(*w)).collect();
                let refs: Vec<&EventWindow> = ev.iter().collect();
                let sb = student_batch(&refs, &labels, &self.stats, self.grid_len, device);
                let frames = (with_frames).then(|| {
                    let items: Vec<_> = windows.iter().map(|w| self.skeleton(w)).collect();
                    teacher_batch(
                        &items,
                        &labels,
                        self.teacher_stats.as_ref().unwrap_or(&self.stats),
                        self.frames,
                        device,
                    )
                    .0
                });
                let labels = sb.labels.clone();
                Batch {
                    student: Some(sb),
                    frames,
                    labels,
                }
            }
        }
    }
}

/// The frozen teacher used for distillation.
pub struct KdTeacher {
    /// Teacher (no gradients, no dropout).
    pub model: SkeletonTransformer,
    /// Its normalisation statistics.
    pub stats: NormStats,
    /// Feature width.
    pub dim: usize,
    /// Tokens its Gram output is pooled to.
    pub gram_tokens: usize,
}

/// Loads a teacher run (`config.yaml`, `model.bpk`, `norm.json`) for distillation.
pub fn load_kd_teacher(dir: &Path, device: &Device) -> Result<KdTeacher> {
    let run = RunDir::new(dir);
    let cfg = run.config()?;
    let model = load_module(
        cfg.teacher.clone().with_dropout(0.0).init(device),
        &run.file(RunDir::MODEL),
        device,
    )?
    .no_grad();
    Ok(KdTeacher {
        model,
        stats: run.norm()?,
        dim: cfg.teacher.embed_dim,
        gram_tokens: cfg.teacher.gram_tokens,
    })
}

/// The frozen teacher's outputs on every distinct skeleton partner of the training windows,
/// computed once before training. The KD teacher has no dropout and no trainable parameters, so
/// its output on a partner is the same at every step: a step takes these rows instead of running
/// the teacher again (with whole-trial pairing the partners are the training trials, a few
/// hundred). Not built when the outputs would exceed [`TeacherCache::MAX_VALUES`].
pub struct TeacherCache {
    /// Row of each partner: (trial index, first frame, end frame).
    index: std::collections::HashMap<(usize, usize, usize), i64>,
    /// The teacher's outputs, one row per partner.
    out: ModelOutput,
}

impl TeacherCache {
    /// Most f32 values the cached outputs may hold (256 MiB).
    pub const MAX_VALUES: usize = 1 << 26;

    /// The outputs of `teacher` on the distinct partners of `windows`, `batch` partners at a
    /// time; `None` when they would hold more than `max_values` f32 values (the trainer passes
    /// [`Self::MAX_VALUES`]).
    pub fn build(
        teacher: &KdTeacher,
        batcher: &Batcher,
        windows: &[&Window],
        batch: usize,
        max_values: usize,
        device: &Device,
    ) -> Result<Option<TeacherCache>> {
        let mut index = std::collections::HashMap::new();
        let mut partners: Vec<&Window> = Vec::new();
        for w in windows {
            if let Some((a, b)) = w.skeleton_frames {
                index.entry((w.trial, a, b)).or_insert_with(|| {
                    partners.push(w);
                    partners.len() as i64 - 1
                });
            }
        }
        // Per partner: logit, features, attention weights and scores (frames each), tokens
        // (frames x dim) and Gram tokens.
        let (t, d) = (batcher.frames, teacher.dim);
        let per = 1 + d + 2 * t + t * d + teacher.gram_tokens * d;
        if partners.is_empty() || partners.len().saturating_mul(per) > max_values {
            return Ok(None);
        }
        let mut parts = Vec::new();
        for chunk in partners.chunks(batch.max(1)) {
            let items: Vec<_> = chunk.iter().map(|w| batcher.skeleton(w)).collect();
            let labels = vec![false; chunk.len()];
            let stats = batcher.teacher_stats.as_ref().unwrap_or(&batcher.stats);
            let (frames, _) = teacher_batch(&items, &labels, stats, batcher.frames, device);
            parts.push(teacher.model.forward(frames, None)?);
        }
        let cat2 = |f: fn(&ModelOutput) -> Tensor<2>| Tensor::cat(parts.iter().map(f).collect(), 0);
        let cat3 = |f: fn(&ModelOutput) -> Tensor<3>| Tensor::cat(parts.iter().map(f).collect(), 0);
        let out = ModelOutput {
            logits: Tensor::cat(parts.iter().map(|o| o.logits.clone()).collect(), 0),
            features: cat2(|o| o.features.clone()),
            tokens: cat3(|o| o.tokens.clone()),
            pooled_tokens: cat3(|o| o.pooled_tokens.clone()),
            attention: cat2(|o| o.attention.clone()),
            attention_scores: cat2(|o| o.attention_scores.clone()),
        };
        Ok(Some(TeacherCache { index, out }))
    }

    /// The teacher's outputs for `windows` (each with a skeleton partner seen by
    /// [`Self::build`]), in order.
    pub fn rows(&self, windows: &[&Window], device: &Device) -> Result<ModelOutput> {
        let idx = windows
            .iter()
            .map(|w| {
                let (a, b) = w
                    .skeleton_frames
                    .context("a KD window without a skeleton partner")?;
                self.index
                    .get(&(w.trial, a, b))
                    .copied()
                    .context("a KD window whose skeleton partner the teacher cache lacks")
            })
            .collect::<Result<Vec<i64>>>()?;
        let n = idx.len();
        Ok(select_rows(
            &self.out,
            Tensor::<1, Int>::from_data(TensorData::new(idx, [n]), device),
        ))
    }
}

/// One epoch's numbers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Mean training loss and its parts.
    pub loss: f64,
    /// Task part.
    pub task: f64,
    /// Embedding KD part.
    pub embedding: f64,
    /// Gram KD part.
    pub gram: f64,
    /// COMODO part.
    pub comodo: f64,
    /// Attention KD part.
    pub attention: f64,
    /// Validation metrics at 0.5.
    pub val: BinaryMetrics,
    /// Validation metrics at the best threshold.
    pub val_best: BinaryMetrics,
    /// Seconds for the epoch.
    pub seconds: f64,
    /// Training steps per second.
    pub steps_per_s: f64,
    /// Mean log loss of the validation windows.
    #[serde(default)]
    pub val_loss: f64,
    /// Mean response-KD loss.
    #[serde(default)]
    pub response: f64,
}

const CSV_HEADER: &str = "epoch,loss,task,embedding,gram,comodo,attention,val_f1,val_precision,val_recall,val_accuracy,val_auc,val_best_threshold,val_best_f1,val_best_precision,val_best_recall,val_best_accuracy,seconds,steps_per_s,val_loss,response";

/// Mean log loss of probabilities against labels (probabilities clamped to [1e-7, 1 - 1e-7]).
pub fn log_loss(probs: &[f64], labels: &[bool]) -> f64 {
    let n = probs.len().min(labels.len());
    if n == 0 {
        return 0.0;
    }
    let s: f64 = probs
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(1e-7, 1.0 - 1e-7);
            if y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    s / n as f64
}

impl EpochRecord {
    fn csv(&self) -> String {
        format!(
            "{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{:.2},{:.3},{:.6},{:.6}",
            self.epoch,
            self.loss,
            self.task,
            self.embedding,
            self.gram,
            self.comodo,
            self.attention,
            self.val.f1,
            self.val.precision,
            self.val.recall,
            self.val.accuracy,
            self.val.auc,
            self.val_best.threshold,
            self.val_best.f1,
            self.val_best.precision,
            self.val_best.recall,
            self.val_best.accuracy,
            self.seconds,
            self.steps_per_s,
            self.val_loss,
            self.response
        )
    }
}

/// Resume state, written with every `last` checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs finished.
    pub epochs_done: usize,
    /// Optimiser steps taken.
    pub steps: usize,
    /// Best validation F1 (best threshold) so far.
    pub best_f1: f64,
    /// Epoch of the best checkpoint.
    pub best_epoch: usize,
    /// Validation threshold of the best checkpoint.
    pub best_threshold: f64,
    /// Epochs since the best.
    pub since_best: usize,
    /// Validation log loss of the best checkpoint (`train.select: val-loss`).
    #[serde(default)]
    pub best_val_loss: Option<f64>,
    /// Stopped early or finished.
    pub finished: bool,
}

/// A run's name: its directory's.
pub fn run_name(out: &Path) -> String {
    out.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("run")
        .to_string()
}

/// Final numbers of a run (`metrics.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    /// Run name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Split name and subjects.
    pub split: fallkd_core::data::split::Split,
    /// Parameters of the trained model (projection excluded).
    pub parameters: usize,
    /// Best epoch.
    pub best_epoch: usize,
    /// Validation threshold used.
    pub threshold: f64,
    /// Best validation F1 (at that threshold): what model selection uses.
    pub val_f1: f64,
    /// Test metrics at 0.5.
    pub test: BinaryMetrics,
    /// Test metrics at the validation threshold.
    pub test_at_val_threshold: BinaryMetrics,
    /// Windows in train / val / test.
    pub windows: [usize; 3],
    /// Mean training steps per second.
    pub steps_per_s: f64,
    /// Inference milliseconds per window (batch 1, mean over test windows, up to 64).
    pub ms_per_window: f64,
}

impl RunSummary {
    /// The summary a finished run wrote into `dir` (`metrics.json`); `None` when the run has not
    /// finished.
    pub fn read(dir: &Path) -> Result<Option<RunSummary>> {
        let path = dir.join(RunDir::SUMMARY);
        if !path.is_file() {
            return Ok(None);
        }
        let b = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_slice(&b)
            .map(Some)
            .with_context(|| format!("{} is not a run summary", path.display()))
    }

    /// The one-line test result (`test.txt`, and what `train-teacher` / `train-student` print).
    pub fn test_line(&self) -> String {
        format!(
            "test F1 {:.4} precision {:.4} recall {:.4} accuracy {:.4} AUC {:.4} (threshold 0.5); F1 {:.4} at validation threshold {:.3}",
            self.test.f1,
            self.test.precision,
            self.test.recall,
            self.test.accuracy,
            self.test.auc,
            self.test_at_val_threshold.f1,
            self.threshold
        )
    }

    /// Header of `metric_fields`.
    pub const METRIC_FIELDS: &'static str =
        "test_f1,precision,recall,accuracy,auc,f1_at_val_threshold";

    /// Test F1, precision, recall, accuracy, AUC and F1 at the validation threshold as CSV fields.
    pub fn metric_fields(&self) -> String {
        let t = &self.test;
        format!(
            "{:.4},{:.4},{:.4},{:.4},{:.4},{:.4}",
            t.f1, t.precision, t.recall, t.accuracy, t.auc, self.test_at_val_threshold.f1
        )
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

fn lr_at(cfg: &RunConfig, step: usize, steps_per_epoch: usize) -> f64 {
    let total = (cfg.train.epochs * steps_per_epoch).max(1) as f64;
    let warm = (cfg.train.warmup_epochs * steps_per_epoch as f64).max(0.0);
    let s = step as f64;
    if s < warm {
        cfg.train.lr * (s + 1.0) / warm
    } else {
        let p = ((s - warm) / (total - warm).max(1.0)).min(1.0);
        cfg.train.lr * (0.02 + 0.98 * 0.5 * (1.0 + (std::f64::consts::PI * p).cos()))
    }
}

/// The rows `idx` of every part of a model output.
fn select_rows(o: &ModelOutput, idx: Tensor<1, Int>) -> ModelOutput {
    ModelOutput {
        logits: o.logits.clone().select(0, idx.clone()),
        features: o.features.clone().select(0, idx.clone()),
        tokens: o.tokens.clone().select(0, idx.clone()),
        pooled_tokens: o.pooled_tokens.clone().select(0, idx.clone()),
        attention: o.attention.clone().select(0, idx.clone()),
        attention_scores: o.attention_scores.clone().select(0, idx),
    }
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("scalar")[0] as f64
}

/// Options of one training run.
pub struct RunOptions {
    /// Run directory.
    pub out: PathBuf,
    /// Continue from `last.bpk` in `out`.
    pub resume: bool,
    /// Show progress bars.
    pub progress: bool,
    /// Stop after this many epochs in this invocation (tests use it to simulate an interruption).
    pub stop_after: Option<usize>,
}

/// Trains one model; returns the run summary (also written to `metrics.json`).
pub fn train(
    cfg: &RunConfig,
    role: Role,
    data: &Prepared,
    device: &Device,
    opts: &RunOptions,
) -> Result<RunSummary> {
    let out = &opts.out;
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create run directory {}", out.display()))?;
    let ad = device.clone().autodiff();
    seed_training(&ad, cfg.seed);
    let kd_teacher = match (role, cfg.kd.enabled) {
        (Role::Student, true) => {
            let dir = cfg.kd.teacher.as_ref().context(
                "kd.enabled needs kd.teacher (a teacher run directory; --teacher-weights DIR)",
            )?;
            Some(load_kd_teacher(dir, &ad)?)
        }
        _ => None,
    };
    if data.train.is_empty() || data.val.is_empty() {
        bail!(
            "the split leaves no training or validation windows ({} / {}): check data.split",
            data.train.len(),
            data.val.len()
        );
    }
    let train_windows: Vec<&Window> = match role {
        Role::Teacher => data
            .train
            .iter()
            .filter(|w| w.skeleton_frames.is_some())
            .collect(),
        Role::Student => data.train.iter().collect(),
    };
    let batcher = Batcher {
        data,
        stats: data.stats.clone(),
        teacher_stats: kd_teacher.as_ref().map(|t| t.stats.clone()),
        role,
        grid_len: cfg.student.model.num_tokens,
        frames: cfg.data.skeleton_frames,
    };
    let net = Net::init(cfg, role, kd_teacher.as_ref().map(|t| t.dim), &ad);
    let optim: ModuleOptimizer = AdamWConfig::new()
        .with_weight_decay(cfg.train.weight_decay as f32)
        .with_grad_clipping(
            (cfg.train.grad_clip > 0.0)
                .then_some(GradientClippingConfig::Norm(cfg.train.grad_clip as f32)),
        )
        .init();
    let (mut net, mut optim, mut state) = start_or_resume(cfg, data, opts, net, optim, &ad)?;
    let mut ema = weight_average(cfg, out, opts.resume, &net, &ad)?;
    let mut comodo = if let Some(t) = kd_teacher.as_ref()
        && cfg.kd.weights.comodo > 0.0
    {
        let mut c = cfg.kd.comodo.init();
        // Seed the queue with real teacher embeddings of training windows.
        for chunk in train_windows
            .chunks(cfg.train.batch_size)
            .take(cfg.kd.comodo.queue_size.div_ceil(cfg.train.batch_size))
        {
            let b = batcher.batch(chunk, true, &ad);
            c.enqueue(t.model.forward(b.frames.expect("frames"), None)?.features);
        }
        Some(c)
    } else {
        None
    };
    let teacher_cache = match kd_teacher.as_ref() {
        Some(t) => TeacherCache::build(
            t,
            &batcher,
            &train_windows,
            cfg.train.batch_size,
            TeacherCache::MAX_VALUES,
            &ad,
        )?,
        None => None,
    };
    let mut steps_per_epoch = train_windows.len().div_ceil(cfg.train.batch_size);
    if cfg.train.max_batches_per_epoch > 0 {
        steps_per_epoch = steps_per_epoch.min(cfg.train.max_batches_per_epoch);
    }
    let epoch_run = EpochRun {
        cfg,
        role,
        batcher: &batcher,
        kd_teacher: kd_teacher.as_ref(),
        teacher_cache: teacher_cache.as_ref(),
        train_windows: &train_windows,
        steps_per_epoch,
        task: TaskLoss {
            kind: cfg.train.loss,
        },
        device: &ad,
        progress: opts.progress,
        name: out.file_name().and_then(|n| n.to_str()).unwrap_or("run"),
    };
    let mut rates = Vec::new();
    let mut ran_here = 0;
    while state.epochs_done < cfg.train.epochs && !state.finished {
        if opts.stop_after.is_some_and(|n| ran_here >= n) {
            break;
        }
        let epoch = state.epochs_done + 1;
        let t0 = Instant::now();
        let (trained, optimised, losses, steps) =
            epoch_run.run(epoch, net, optim, &mut state, &mut comodo, &mut ema)?;
        (net, optim) = (trained, optimised);
        let secs = t0.elapsed().as_secs_f64();
        // The model validation picks from: the weight average when there is one.
        let picked = ema.as_ref().and_then(|a| a.average()).unwrap_or(&net);
        let (val, val_best, val_loss) = validate(picked, &batcher, role, data, device);
        let rec = EpochRecord {
            epoch,
            loss: losses.total,
            task: losses.task,
            embedding: losses.embedding,
            gram: losses.gram,
            comodo: losses.comodo,
            attention: losses.attention,
            response: losses.response,
            val,
            val_best,
            seconds: secs,
            steps_per_s: steps as f64 / secs.max(1e-9),
            val_loss,
        };
        rates.push(rec.steps_per_s);
        if opts.progress {
            eprintln!(
                "{} epoch {epoch}: loss {:.4}  val F1 {:.3} (best-threshold {:.3} at {:.2})  AUC {:.3}  {:.1} steps/s",
                epoch_run.name,
                rec.loss,
                rec.val.f1,
                rec.val_best.f1,
                rec.val_best.threshold,
                rec.val.auc,
                rec.steps_per_s
            );
        }
        commit_epoch(cfg, out, &rec, &net, ema.as_ref(), &optim, &mut state)?;
        ran_here += 1;
    }
    if !state.finished {
        bail!(
            "stopped after epoch {} as asked; continue with --resume",
            state.epochs_done
        );
    }
    summarize(cfg, role, data, device, out, &state, &rates)
}

/// The weight average of a run with `train.ema` on: continued from the last committed epoch's
/// `ema.bpk` when resuming, else empty until the first optimiser step (see
/// [`crate::weight_average`]: it must not draw the network's lazy initial weights).
fn weight_average(
    cfg: &RunConfig,
    out: &Path,
    resume: bool,
    net: &Net,
    device: &Device,
) -> Result<Option<WeightAverage<Net>>> {
    if cfg.train.ema <= 0.0 {
        return Ok(None);
    }
    if !resume {
        return Ok(Some(WeightAverage::new(cfg.train.ema)));
    }
    // A resumed run has committed an epoch, and with it the average.
    let saved = out.join(RunDir::EMA);
    if !saved.is_file() {
        bail!(
            "{} missing: the run's weight average (train.ema) cannot be resumed",
            saved.display()
        );
    }
    let avg = load_module(net.valid(), &saved, device)?;
    Ok(Some(WeightAverage::resume(&avg, cfg.train.ema)))
}

/// A fresh run writes its configuration, statistics and metrics header (removing whatever an
/// earlier run left in the folder); a resumed one reloads its state, last weights and optimiser.
fn start_or_resume(
    cfg: &RunConfig,
    data: &Prepared,
    opts: &RunOptions,
    net: Net,
    optim: ModuleOptimizer,
    device: &Device,
) -> Result<(Net, ModuleOptimizer, TrainState)> {
    let out = &opts.out;
    if !opts.resume {
        // A fresh run in a used folder: nothing of an earlier run may be resumed into it.
        for f in [
            RunDir::STATE,
            RunDir::SUMMARY,
            RunDir::LAST,
            RunDir::OPTIM,
            RunDir::EMA,
        ] {
            let _ = std::fs::remove_file(out.join(f));
        }
        let _ = std::fs::remove_dir_all(out.join(RunDir::STAGING));
        cfg.save(&out.join(RunDir::CONFIG))?;
        write_atomic(
            &out.join(RunDir::NORM),
            &serde_json::to_vec_pretty(&data.stats)?,
        )?;
        let origin = crate::run_dir::RunOrigin {
            data: crate::dataset::data_origin(data, cfg),
            commit: crate::source::source_commit(),
            started: crate::source::now_utc(),
        };
        write_atomic(
            &out.join(RunDir::ORIGIN),
            &serde_json::to_vec_pretty(&origin)?,
        )?;
        write_atomic(
            &out.join(RunDir::EPOCHS),
            format!("{CSV_HEADER}\n").as_bytes(),
        )?;
        return Ok((net, optim, TrainState::default()));
    }
    let dir = RunDir::new(out);
    if !dir.is_resumable() {
        bail!("nothing to resume in {}: state.json missing", out.display());
    }
    let state = dir.state()?;
    recover_checkpoint(out, &state)?;
    let net = load_module(net, &out.join(RunDir::LAST), device)?;
    let ob = std::fs::read(out.join(RunDir::OPTIM)).context("optim.bpk missing")?;
    let optim = optim
        .from_bytes(Bytes::from_bytes_vec(ob))
        .map_err(|e| anyhow::anyhow!("optim.bpk unreadable: {e}"))?;
    eprintln!(
        "resuming {} after epoch {}",
        out.display(),
        state.epochs_done
    );
    Ok((net, optim, state))
}

/// The loss terms of one step, or their mean over an epoch (0 where a term is off).
#[derive(Debug, Clone, Copy, Default)]
struct LossValues {
    total: f64,
    task: f64,
    embedding: f64,
    gram: f64,
    comodo: f64,
    attention: f64,
    response: f64,
}

impl LossValues {
    fn of(p: &LossParts) -> LossValues {
        let v = |t: &Option<Tensor<1>>| t.clone().map_or(0.0, scalar);
        LossValues {
            total: scalar(p.total.clone()),
            task: scalar(p.task.clone()),
            embedding: v(&p.embedding),
            gram: v(&p.gram),
            comodo: v(&p.comodo),
            attention: v(&p.attention),
            response: v(&p.response),
        }
    }

    fn task_only(v: f64) -> LossValues {
        LossValues {
            total: v,
            task: v,
            ..Default::default()
        }
    }

    fn add(&mut self, o: &LossValues) {
        self.total += o.total;
        self.task += o.task;
        self.embedding += o.embedding;
        self.gram += o.gram;
        self.comodo += o.comodo;
        self.attention += o.attention;
        self.response += o.response;
    }

    fn mean(&self, n: usize) -> LossValues {
        let k = 1.0 / n.max(1) as f64;
        LossValues {
            total: self.total * k,
            task: self.task * k,
            embedding: self.embedding * k,
            gram: self.gram * k,
            comodo: self.comodo * k,
            attention: self.attention * k,
            response: self.response * k,
        }
    }
}

/// What every training epoch of a run shares.
struct EpochRun<'a> {
    cfg: &'a RunConfig,
    role: Role,
    batcher: &'a Batcher<'a>,
    kd_teacher: Option<&'a KdTeacher>,
    /// The KD teacher's outputs computed once (when they fit; else it runs at every step).
    teacher_cache: Option<&'a TeacherCache>,
    train_windows: &'a [&'a Window],
    steps_per_epoch: usize,
    task: TaskLoss,
    device: &'a Device,
    progress: bool,
    name: &'a str,
}

impl EpochRun<'_> {
    /// One epoch of optimiser steps: the trained network and optimiser, the mean loss terms and
    /// the number of steps.
    fn run(
        &self,
        epoch: usize,
        mut net: Net,
        mut optim: ModuleOptimizer,
        state: &mut TrainState,
        comodo: &mut Option<Comodo>,
        ema: &mut Option<WeightAverage<Net>>,
    ) -> Result<(Net, ModuleOptimizer, LossValues, usize)> {
        let cfg = self.cfg;
        // Each epoch's randomness (dropout masks) from the seed and the epoch alone, so that a
        // run resumed after any interruption takes the same steps as one never interrupted.
        seed_training(
            self.device,
            cfg.seed ^ (epoch as u64).wrapping_mul(0xD1B5_4A32_D192_ED03),
        );
        let mut order: Vec<usize> = (0..self.train_windows.len()).collect();
        Rng::new(cfg.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9)).shuffle(&mut order);
        let bar = self.progress_bar(epoch);
        let mut aug_rng = Rng::new(cfg.seed ^ 0xa06 ^ (epoch as u64).wrapping_mul(0x2545_F491));
        // Its own stream, so that turning augmentation on leaves the dropout draws as they were.
        let mut augment_rng =
            Rng::new(cfg.seed ^ 0xa0_6a06 ^ (epoch as u64).wrapping_mul(0x2545_F491));
        let (augment, perturb) = match self.role {
            Role::Student => (cfg.train.augment, cfg.train.perturb),
            Role::Teacher => (AugmentConfig::default(), PerturbConfig::default()),
        };
        // Its own stream too, for the same reason.
        let mut perturb_rng =
            Rng::new(cfg.seed ^ 0x07e5_7a11 ^ (epoch as u64).wrapping_mul(0x2545_F491));
        let mut sums = LossValues::default();
        let mut n = 0usize;
        for chunk in order
            .chunks(cfg.train.batch_size)
            .take(self.steps_per_epoch)
        {
            let mut ws: Vec<&Window> = chunk.iter().map(|&i| self.train_windows[i]).collect();
            // Augmentation (a turned watch frame, another gain), timestamp perturbations, then
            // gyroscope dropout: the window as a watch without a gyroscope would give it.
            let changed: Vec<Window>;
            if cfg.train.gyro_dropout > 0.0 || augment.is_active() || perturb.is_active() {
                changed = ws
                    .iter()
                    .map(|w| {
                        let mut w = (*w).clone();
                        // The feature context (window.feature_context_s) gets the window's
                        // draws: the same turn and gain, the same kind of perturbation.
                        let (aug_draws, perturb_draws) = (augment_rng.clone(), perturb_rng.clone());
                        augment.apply_timed(
                            &mut w.events,
                            &mut w.timestamps,
                            cfg.window.max_events,
                            &mut augment_rng,
                        );
                        if perturb.is_active() {
                            perturb.apply(
                                &mut w.events,
                                &mut w.timestamps,
                                cfg.window.min_events,
                                &mut perturb_rng,
                            );
                        }
                        if let Some(c) = w.context.as_mut() {
                            augment.apply_timed(
                                &mut c.events,
                                &mut c.timestamps,
                                cfg.window.max_events,
                                &mut aug_draws.clone(),
                            );
                            if perturb.is_active() {
                                perturb.apply(
                                    &mut c.events,
                                    &mut c.timestamps,
                                    cfg.window.min_events,
                                    &mut perturb_draws.clone(),
                                );
                            }
                        }
                        if cfg.train.gyro_dropout > 0.0
                            && aug_rng.uniform() < cfg.train.gyro_dropout
                        {
                            w.events.iter_mut().for_each(|e| e[3..].fill(0.0));
                            if let Some(c) = w.context.as_mut() {
                                c.events.iter_mut().for_each(|e| e[3..].fill(0.0));
                            }
                        }
                        w
                    })
                    .collect();
                ws = changed.iter().collect();
            }
            let (loss, values, host) = self.loss(&net, &ws, comodo)?;
            if !values.total.is_finite() {
                bail!(
                    "the training loss became {} at epoch {epoch}: lower train.lr or check the data",
                    values.total
                );
            }
            let grads = match host {
                Some(h) => h.gradients(loss.backward(), &net)?,
                None => GradientsParams::from_grads(loss.backward(), &net),
            };
            let lr = lr_at(cfg, state.steps, self.steps_per_epoch);
            net = optim.step(lr, net, grads);
            if let Some(avg) = ema.as_mut() {
                avg.update(&net, state.steps);
            }
            state.steps += 1;
            sums.add(&values);
            n += 1;
            bar.set_message(format!("loss {:.4}", sums.total / n as f64));
            bar.inc(1);
        }
        bar.finish_and_clear();
        Ok((net, optim, sums.mean(n), n))
    }

    /// The loss of one batch to back-propagate, its terms, and the host step's forward when the
    /// host step ran it.
    fn loss(
        &self,
        net: &Net,
        ws: &[&Window],
        comodo: &mut Option<Comodo>,
    ) -> Result<(Tensor<1>, LossValues, Option<HostStep>)> {
        let b = self.batcher.batch(
            ws,
            self.kd_teacher.is_some() && self.teacher_cache.is_none(),
            self.device,
        );
        let host = match self.cfg.train.step {
            StepKind::Auto => HostStep::forward(&net.model, &b, self.device)?,
            StepKind::Tensor => None,
        };
        let out_s = match &host {
            Some(h) => h.outputs(),
            None => net.forward(&b),
        };
        let (loss, values) = self.loss_of(net, out_s, &b, ws, comodo)?;
        Ok((loss, values, host))
    }

    /// The loss of a batch `b` (of the windows `ws`) from the model's outputs on it.
    fn loss_of(
        &self,
        net: &Net,
        out_s: ModelOutput,
        b: &Batch,
        ws: &[&Window],
        comodo: &mut Option<Comodo>,
    ) -> Result<(Tensor<1>, LossValues)> {
        let ad = self.device;
        // Windows without a skeleton partner (older adults' daily living) take the task loss
        // only; the KD terms use the windows that have one.
        let paired: Vec<i64> = ws
            .iter()
            .enumerate()
            .filter(|(_, w)| w.skeleton_frames.is_some())
            .map(|(i, _)| i as i64)
            .collect();
        let (Some(kd), Some(t)) = (&net.kd, self.kd_teacher) else {
            let l = self.task.forward(out_s.logits, b.labels.clone());
            let v = scalar(l.clone());
            return Ok((l, LossValues::task_only(v)));
        };
        if paired.is_empty() {
            let l = self.task.forward(out_s.logits, b.labels.clone());
            let v = scalar(l.clone());
            return Ok((l, LossValues::task_only(v)));
        }
        let all_paired = paired.len() == ws.len();
        let rows = Tensor::<1, Int>::from_data(TensorData::new(paired.clone(), [paired.len()]), ad);
        let (sub, targets) = if all_paired {
            (None, b.labels.clone())
        } else {
            (
                Some(select_rows(&out_s, rows.clone())),
                b.labels.clone().select(0, rows.clone()),
            )
        };
        let t_out = match self.teacher_cache {
            Some(cache) => {
                let partnered: Vec<&Window> = paired.iter().map(|&i| ws[i as usize]).collect();
                cache.rows(&partnered, ad)?
            }
            None => {
                let frames = b.frames.clone().expect("frames");
                let frames = if all_paired {
                    frames
                } else {
                    frames.select(0, rows)
                };
                t.model.forward(frames, None)?
            }
        };
        let mut p = kd.forward(
            KdInputs {
                student: sub.as_ref().unwrap_or(&out_s),
                teacher: Some(&t_out),
                targets,
            },
            comodo.as_ref(),
        );
        if !all_paired {
            // The task term over the whole batch in place of the paired rows'.
            let full = self.task.forward(out_s.logits.clone(), b.labels.clone());
            let w = kd.weights().task;
            p.total = p.total - p.task.clone() * w + full.clone() * w;
            p.task = full;
        }
        if let Some(c) = comodo.as_mut() {
            c.enqueue(t_out.features.clone());
        }
        let values = LossValues::of(&p);
        Ok((p.total, values))
    }

    fn progress_bar(&self, epoch: usize) -> ProgressBar {
        let bar = if self.progress {
            ProgressBar::new(self.steps_per_epoch as u64)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} eta {eta}")
                .expect("template")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!(
            "{} epoch {epoch}/{}",
            self.name, self.cfg.train.epochs
        ));
        bar
    }
}

/// Validation metrics of `net` at 0.5 and at the best threshold, and the mean log loss (the
/// teacher is measured on the windows with a skeleton partner).
fn validate(
    net: &Net,
    batcher: &Batcher,
    role: Role,
    data: &Prepared,
    device: &Device,
) -> (BinaryMetrics, BinaryMetrics, f64) {
    let val_windows: Vec<Window> = match role {
        Role::Teacher => data
            .val
            .iter()
            .filter(|w| w.skeleton_frames.is_some())
            .cloned()
            .collect(),
        Role::Student => data.val.clone(),
    };
    let labels: Vec<bool> = val_windows.iter().map(|w| w.label).collect();
    let probs = predict(net, batcher, &val_windows, 64, device);
    (
        binary_metrics(&probs, &labels, 0.5),
        best_threshold(&probs, &labels),
        log_loss(&probs, &labels),
    )
}

/// Records an epoch: its metrics row, the best checkpoint when the selection criterion improved
/// (from the weight average when there is one), the last weights, weight average and optimiser,
/// staged under `ckpt/EPOCH/`; `state.json` then commits the epoch and the staged files are
/// published (see [`recover_checkpoint`]).
#[allow(clippy::too_many_arguments)] // one epoch's whole state
fn commit_epoch(
    cfg: &RunConfig,
    out: &Path,
    rec: &EpochRecord,
    net: &Net,
    ema: Option<&WeightAverage<Net>>,
    optim: &ModuleOptimizer,
    state: &mut TrainState,
) -> Result<()> {
    let epoch = rec.epoch;
    let stage = out.join(RunDir::STAGING).join(epoch.to_string());
    let metrics_path = out.join(RunDir::EPOCHS);
    write_atomic(
        &metrics_path,
        metrics_through(&metrics_path, epoch - 1, rec).as_bytes(),
    )?;
    state.epochs_done = epoch;
    let improved = match cfg.train.select {
        Selection::ValF1 => rec.val_best.f1 > state.best_f1,
        Selection::ValLoss => state.best_val_loss.is_none_or(|b| rec.val_loss < b),
    };
    if improved || state.best_epoch == 0 {
        state.best_val_loss = Some(rec.val_loss);
        state.best_f1 = rec.val_best.f1;
        state.best_epoch = epoch;
        state.best_threshold = rec.val_best.threshold;
        state.since_best = 0;
        let picked = ema.and_then(|a| a.average()).unwrap_or(net);
        save_module(picked, &stage.join(RunDir::BEST))?;
        picked.model.save(&stage.join(RunDir::MODEL))?;
    } else {
        state.since_best += 1;
        if state.since_best >= cfg.train.patience.max(1) {
            state.finished = true;
        }
    }
    if state.epochs_done >= cfg.train.epochs {
        state.finished = true;
    }
    save_module(net, &stage.join(RunDir::LAST))?;
    if let Some(avg) = ema.and_then(|a| a.average()) {
        save_module(avg, &stage.join(RunDir::EMA))?;
    }
    let bytes = optim
        .into_bytes()
        .map_err(|e| anyhow::anyhow!("cannot encode optimiser state: {e}"))?;
    write_atomic(&stage.join(RunDir::OPTIM), &bytes)?;
    write_atomic(
        &out.join(RunDir::STATE),
        &serde_json::to_vec_pretty(&state)?,
    )?;
    recover_checkpoint(out, state)
}

/// `metrics.csv` holding the header, the rows of epochs up to `done` already there (a row of a
/// later epoch is one an interrupted run wrote before it could commit that epoch), then `rec`.
fn metrics_through(path: &Path, done: usize, rec: &EpochRecord) -> String {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let mut csv = format!("{CSV_HEADER}\n");
    for line in old.lines().skip(1) {
        let epoch = line.split(',').next().and_then(|e| e.parse::<usize>().ok());
        if epoch.is_some_and(|e| e >= 1 && e <= done) {
            csv.push_str(line);
            csv.push('\n');
        }
    }
    csv.push_str(&rec.csv());
    csv.push('\n');
    csv
}

/// Brings a run directory in line with its committed `state.json`. An epoch's checkpoint files
/// are written to `ckpt/EPOCH/` before `state.json` commits the epoch; this publishes the
/// committed epoch's files under their usual names (`last.bpk`, `optim.bpk`, `ema.bpk` with
/// `train.ema` on, and `best.bpk` and `model.bpk` when it was the best) and removes every staged epoch, so that a process killed at
/// any moment leaves either the previous epoch or this one, never a mix. Idempotent; run after
/// each commit and before a resume.
pub fn recover_checkpoint(out: &Path, state: &TrainState) -> Result<()> {
    let ckpt = out.join(RunDir::STAGING);
    let stage = ckpt.join(state.epochs_done.to_string());
    let mut names = vec![RunDir::LAST, RunDir::OPTIM];
    // Staged only with `train.ema` on; publishing copies, so a stage whose removal had begun
    // after its copy holds at most files already published.
    if stage.join(RunDir::EMA).is_file() {
        names.push(RunDir::EMA);
    }
    if state.best_epoch == state.epochs_done {
        names.extend([RunDir::BEST, RunDir::MODEL]);
    }
    // A committed epoch's stage is complete until its removal starts, and its removal starts only
    // after it was published: a stage missing any file was published already.
    if names.iter().all(|n| stage.join(n).is_file()) {
        for name in names {
            let bytes = std::fs::read(stage.join(name))
                .with_context(|| format!("cannot read {}", stage.join(name).display()))?;
            write_atomic(&out.join(name), &bytes)?;
        }
    }
    if ckpt.is_dir() {
        std::fs::remove_dir_all(&ckpt)
            .with_context(|| format!("cannot remove {}", ckpt.display()))?;
    }
    Ok(())
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

/// Reloads the best checkpoint and measures it on the test windows.
pub fn summarize(
    cfg: &RunConfig,
    role: Role,
    data: &Prepared,
    device: &Device,
    out: &Path,
    state: &TrainState,
    rates: &[f64],
) -> Result<RunSummary> {
    let net = load_trained(cfg, role, out, device)?;
    let batcher = Batcher {
        data,
        stats: data.stats.clone(),
        teacher_stats: None,
        role,
        grid_len: cfg.student.model.num_tokens,
        frames: cfg.data.skeleton_frames,
    };
    let test: Vec<Window> = match role {
        Role::Teacher => data
            .test
            .iter()
            .filter(|w| w.skeleton_frames.is_some())
            .cloned()
            .collect(),
        Role::Student => data.test.clone(),
    };
    let labels: Vec<bool> = test.iter().map(|w| w.label).collect();
    let probs = predict(&net, &batcher, &test, 64, device);
    let ms = latency_ms(&net, &batcher, &test, device);
    let parameters = net.model.num_params();
    let summary = RunSummary {
        name: run_name(out),
        role,
        split: data.split.clone(),
        parameters,
        best_epoch: state.best_epoch,
        threshold: state.best_threshold,
        val_f1: state.best_f1,
        test: binary_metrics(&probs, &labels, 0.5),
        test_at_val_threshold: binary_metrics(&probs, &labels, state.best_threshold),
        windows: [data.train.len(), data.val.len(), test.len()],
        steps_per_s: if rates.is_empty() {
            0.0
        } else {
            rates.iter().sum::<f64>() / rates.len() as f64
        },
        ms_per_window: ms,
    };
    let (to_predict, recordings) = windows_to_predict(data, &cfg.window, |w| {
        role == Role::Student || w.skeleton_frames.is_some()
    });
    let windows: Vec<Window> = to_predict.iter().map(|(_, _, w)| w.clone()).collect();
    let all_probs = predict(&net, &batcher, &windows, 64, device);
    let preds: Vec<Prediction> = to_predict
        .iter()
        .zip(all_probs)
        .map(|((set, scored, w), prob)| Prediction::of(*set, *scored, w, prob))
        .collect();
    crate::predictions::write(out, &preds, &recordings)?;
    write_atomic(
        &out.join(RunDir::SUMMARY),
        &serde_json::to_vec_pretty(&summary)?,
    )?;
    // Rewritten, not appended: a summary rerun replaces the line instead of adding another.
    write_atomic(
        &out.join(RunDir::TEST_LINE),
        format!("{}\n", summary.test_line()).as_bytes(),
    )?;
    Ok(summary)
}
