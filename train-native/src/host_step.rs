//! The host training step ([`HostNet`]) wired to burn: the model's forward and backward on the
//! host, the losses and the optimiser in burn.
//!
//! [`HostStep::forward`] runs the model on the host and returns its outputs as leaf tensors on the
//! autodiff device, so that every loss (task, KD) is computed from them as from the tensor
//! forward's; [`HostStep::gradients`] reads the loss's gradients with respect to those outputs,
//! runs the host backward, and returns the gradients of every parameter (the model's from the host,
//! a KD projection's from burn) for burn's optimiser.

use anyhow::{Result, anyhow, bail};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use fallkd_core::model::{
    HostForward, HostInputs, HostNet, ModelOutput, OutputGrads, SkeletonTransformer, Student,
    TimestampAwareStudent,
};

use crate::batcher::Batch;
use crate::config::{RunConfig, StepKind};
use crate::model::Model;

/// One step's host forward, kept for its backward.
pub struct HostStep {
    net: HostNet,
    fwd: HostForward,
    leaves: ModelOutput,
    device: Device,
}

fn host_vec<const D: usize>(t: &Tensor<D>) -> Result<Vec<f32>> {
    t.clone()
        .inner()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| anyhow!("reading a batch tensor failed: {e:?}"))
}

/// Whether `device` is the CPU backend with autodiff, where the host step runs.
pub fn host_device(device: &Device) -> bool {
    device.is_autodiff() && device.clone().inner() == Device::flex()
}

/// The loss's gradient with respect to the leaf `t`, if the loss read it.
fn grad_of<const D: usize>(t: &Tensor<D>, grads: &Gradients) -> Result<Option<Vec<f32>>> {
    t.grad(grads).map(|g| host_vec(&g)).transpose()
}

/// Whether a run of `cfg` training `model` on `device` takes the host step.
pub fn takes_host_step(cfg: &RunConfig, model: &Model, device: &Device) -> bool {
    cfg.train.step == StepKind::Auto
        && host_device(device)
        && matches!(
            model,
            Model::Teacher(_) | Model::Student(Student::TimestampAware(_))
        )
}

fn leaf<const D: usize>(v: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::<D>::from_data(TensorData::new(v.to_vec(), shape), device).require_grad()
}

impl HostStep {
    /// The host forward of `model` on `b`, or `None` where the host step does not apply (a device
    /// other than the CPU backend, the fixed-rate baseline).
    pub fn forward(model: &Model, b: &Batch, device: &Device) -> Result<Option<HostStep>> {
        if !host_device(device) {
            return Ok(None);
        }
        match model {
            Model::Teacher(t) => {
                let frames = b
                    .frames
                    .as_ref()
                    .ok_or_else(|| anyhow!("teacher batch without frames"))?;
                Self::teacher(t, frames, device).map(Some)
            }
            Model::Student(Student::TimestampAware(s)) => {
                let sb = b
                    .student
                    .as_ref()
                    .ok_or_else(|| anyhow!("student batch without events"))?;
                Self::student(
                    s,
                    (&sb.events, &sb.timestamps, &sb.mask),
                    sb.features.as_ref(),
                    device,
                )
                .map(Some)
            }
            Model::Student(Student::FixedRate(_)) => Ok(None),
        }
    }

    /// The teacher's host forward on skeleton frames `(B, T, C)`.
    pub fn teacher(m: &SkeletonTransformer, frames: &Tensor<3>, device: &Device) -> Result<Self> {
        let net = HostNet::teacher(m)?;
        let x = host_vec(frames)?;
        let fwd = net.forward(HostInputs::Teacher {
            frames: &x,
            dims: frames.dims(),
        })?;
        Ok(Self::finish(net, fwd, device))
    }

    /// The student's host forward on events `(B, N, C)`, timestamps and mask `(B, N)`, and window
    /// features `(B, F)` for a student with the window-feature path.
    pub fn student(
        m: &TimestampAwareStudent,
        (events, timestamps, mask): (&Tensor<3>, &Tensor<2>, &Tensor<2>),
        features: Option<&Tensor<2>>,
        device: &Device,
    ) -> Result<Self> {
        let net = HostNet::student(m)?;
        let (ev, ts, mk) = (host_vec(events)?, host_vec(timestamps)?, host_vec(mask)?);
        let fs = features.map(host_vec).transpose()?;
        let fwd = net.forward(HostInputs::Student {
            events: &ev,
            timestamps: &ts,
            mask: &mk,
            features: fs.as_deref(),
            dims: events.dims(),
        })?;
        Ok(Self::finish(net, fwd, device))
    }

    fn finish(net: HostNet, fwd: HostForward, device: &Device) -> Self {
        let o = &fwd.outputs;
        let (b, t, d, g) = (o.batch, o.steps, o.dim, o.gram);
        let leaves = ModelOutput {
            logits: leaf(&o.logits, [b], device),
            features: leaf(&o.features, [b, d], device),
            tokens: leaf(&o.tokens, [b, t, d], device),
            pooled_tokens: leaf(&o.pooled_tokens, [b, g, d], device),
            attention: leaf(&o.attention, [b, t], device),
            attention_scores: leaf(&o.attention_scores, [b, t], device),
        };
        HostStep {
            net,
            fwd,
            leaves,
            device: device.clone(),
        }
    }

    /// The model's outputs, as leaf tensors the losses read.
    pub fn outputs(&self) -> ModelOutput {
        self.leaves.clone()
    }

    /// Every parameter's gradient from the loss's `grads`: the model's by the host backward, the
    /// rest of `module` (a KD projection) by burn's.
    pub fn gradients<M: Module>(self, grads: Gradients, module: &M) -> Result<GradientsParams> {
        let l = &self.leaves;
        let logits =
            grad_of(&l.logits, &grads)?.unwrap_or_else(|| vec![0.0; self.fwd.outputs.logits.len()]);
        let features = grad_of(&l.features, &grads)?;
        let tokens = grad_of(&l.tokens, &grads)?;
        let pooled = grad_of(&l.pooled_tokens, &grads)?;
        let attention = grad_of(&l.attention, &grads)?;
        let scores = grad_of(&l.attention_scores, &grads)?;
        let host = self.net.backward(
            &self.fwd,
            &OutputGrads {
                logits: &logits,
                features: features.as_deref(),
                tokens: tokens.as_deref(),
                pooled_tokens: pooled.as_deref(),
                attention: attention.as_deref(),
                attention_scores: scores.as_deref(),
            },
        );
        let mut params = GradientsParams::from_grads(grads, module);
        let inner = self.device.clone().inner();
        for p in host {
            let data = TensorData::new(p.grad, p.shape.clone());
            match p.shape.len() {
                1 => params.register::<1>(p.id, Tensor::from_data(data, &inner)),
                2 => params.register::<2>(p.id, Tensor::from_data(data, &inner)),
                n => bail!("a parameter of rank {n} in the host step"),
            }
        }
        Ok(params)
    }
}
