//! One training epoch: shuffled batches, augmentation, the task and distillation losses, the
//! host or tensor step, the optimiser step with the learning-rate schedule.

use anyhow::{Result, bail};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use fallkd_core::data::augment::AugmentConfig;
use fallkd_core::data::window::Window;
use fallkd_core::losses::{Comodo, KdInputs, LossParts, TaskLoss};
use fallkd_core::model::{ModelOutput, seed_training};
use fallkd_core::perturb::PerturbConfig;
use fallkd_core::rng::Rng;
use indicatif::{ProgressBar, ProgressStyle};

use crate::batcher::{Batch, Batcher};
use crate::config::{RunConfig, StepKind};
use crate::host_step::HostStep;
use crate::model::Net;
use crate::run_dir::{Role, TrainState};
use crate::teacher_cache::{KdTeacher, TeacherCache, select_rows};
use crate::weight_average::WeightAverage;

/// The loss terms of one step, or their mean over an epoch (0 where a term is off).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LossValues {
    pub(crate) total: f64,
    pub(crate) task: f64,
    pub(crate) embedding: f64,
    pub(crate) gram: f64,
    pub(crate) comodo: f64,
    pub(crate) attention: f64,
    pub(crate) response: f64,
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
pub(crate) struct EpochRun<'a> {
    pub(crate) cfg: &'a RunConfig,
    pub(crate) role: Role,
    pub(crate) batcher: &'a Batcher<'a>,
    pub(crate) kd_teacher: Option<&'a KdTeacher>,
    /// The KD teacher's outputs computed once (when they fit; else it runs at every step).
    pub(crate) teacher_cache: Option<&'a TeacherCache>,
    pub(crate) train_windows: &'a [&'a Window],
    pub(crate) steps_per_epoch: usize,
    pub(crate) task: TaskLoss,
    pub(crate) device: &'a Device,
    pub(crate) progress: bool,
    pub(crate) name: &'a str,
}

impl EpochRun<'_> {
    /// One epoch of optimiser steps: the trained network and optimiser, the mean loss terms and
    /// the number of steps.
    pub(crate) fn run(
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

fn scalar(t: Tensor<1>) -> f64 {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("scalar")[0] as f64
}
