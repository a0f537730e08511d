//! The frozen teacher of a distillation run, and its outputs computed once for every skeleton
//! partner of the training windows.

use std::path::Path;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use fallkd_core::batch::teacher_batch;
use fallkd_core::data::normalize::NormStats;
use fallkd_core::data::window::Window;
use fallkd_core::model::{ModelOutput, SkeletonTransformer};

use crate::batcher::Batcher;
use crate::checkpoint::load_module;
use crate::run_dir::RunDir;

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

/// The rows `idx` of every part of a model output.
pub(crate) fn select_rows(o: &ModelOutput, idx: Tensor<1, Int>) -> ModelOutput {
    ModelOutput {
        logits: o.logits.clone().select(0, idx.clone()),
        features: o.features.clone().select(0, idx.clone()),
        tokens: o.tokens.clone().select(0, idx.clone()),
        pooled_tokens: o.pooled_tokens.clone().select(0, idx.clone()),
        attention: o.attention.clone().select(0, idx.clone()),
        attention_scores: o.attention_scores.clone().select(0, idx),
    }
}
