//! `fallkd speed`: training steps per second and batch-1 latency of the default teacher or
//! student on random inputs, as JSON (the Rust side of benches/compare).

use std::time::Instant;

use anyhow::Result;

use crate::host_step::{HostStep, host_device};
use crate::run_dir::Role;
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};
use fallkd_core::losses::TaskLoss;
use fallkd_core::model::{
    HostStudent, SkeletonTransformer, SkeletonTransformerConfig, TimestampAwareStudent,
    TimestampAwareStudentConfig,
};

fn student_inputs(b: usize, d: &Device) -> (Tensor<3>, Tensor<2>, Tensor<2>) {
    let ev = Tensor::random([b, 160, 6], Distribution::Normal(0.0, 1.0), d);
    let ts = Tensor::<2>::random([b, 160], Distribution::Uniform(0.0, 0.05), d).cumsum(1);
    (ev, ts, Tensor::ones([b, 160], d))
}

fn sync(d: &Device) {
    let _ = d.sync();
}

/// Three warm-up steps, then `steps` timed ones: the model after them and steps per second.
fn train_rate<M>(mut m: M, steps: usize, d: &Device, mut step: impl FnMut(M) -> M) -> (M, f64) {
    for _ in 0..3 {
        m = step(m);
    }
    sync(d);
    let t0 = Instant::now();
    for _ in 0..steps {
        m = step(m);
    }
    sync(d);
    (m, steps as f64 / t0.elapsed().as_secs_f64())
}

/// A model's host step on the benchmark's batch.
type HostStepOf<'a, M> = dyn Fn(&M) -> Result<HostStep> + 'a;

/// How [`Rates::run`] times training steps.
struct Rates<'a> {
    steps: usize,
    device: &'a Device,
    task: TaskLoss,
    labels: &'a Tensor<1>,
    tensor_baseline: bool,
}

impl Rates<'_> {
    /// The trained model and the steps per second of the step fallkd trains with (`host_step`
    /// where it applies, else `tensor_step`), and of the tensor step from the same `init` when
    /// the host step ran and the baseline is asked for.
    fn run<M: Module>(
        &self,
        init: M,
        host_step: Option<&HostStepOf<'_, M>>,
        tensor_step: &dyn Fn(&M) -> GradientsParams,
    ) -> (M, f64, Option<f64>) {
        let optimiser = || AdamWConfig::new().with_weight_decay(0.01).init();
        let mut optim = optimiser();
        let (m, sps) = train_rate(init.clone(), self.steps, self.device, |m| {
            let g = match host_step {
                Some(h) => {
                    let h = h(&m).expect("host step");
                    let loss = self.task.forward(h.outputs().logits, self.labels.clone());
                    h.gradients(loss.backward(), &m).expect("host gradients")
                }
                None => tensor_step(&m),
            };
            optim.step(1e-3, m, g)
        });
        let tensor = (host_step.is_some() && self.tensor_baseline).then(|| {
            let mut optim = optimiser();
            let run = train_rate(init, self.steps, self.device, |m| {
                let g = tensor_step(&m);
                optim.step(1e-3, m, g)
            });
            run.1
        });
        (m, sps, tensor)
    }
}

/// Mean milliseconds of `f` over 50 calls after 5 warm-up calls.
fn latency_ms(mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    for _ in 0..5 {
        f()?;
    }
    let t0 = Instant::now();
    for _ in 0..50 {
        f()?;
    }
    Ok(t0.elapsed().as_secs_f64() * 1000.0 / 50.0)
}

/// Times `steps` training steps at `batch` and 50 batch-1 forwards. `train_steps_per_s` is the
/// step fallkd trains with on the device: on the CPU backend the host step ([`HostStep`]), with
/// the tensor step's rate beside it (`train_steps_per_s_tensor`, from the same initial weights)
/// when `tensor_baseline` is set. `infer_ms_b1` is what
/// fallkd's inference runs on the device: for the student on the CPU backend the host forward
/// ([`HostStudent`]), with the tensor forward's latency beside it (`infer_ms_b1_tensor`).
pub fn run(
    model: Role,
    batch: usize,
    steps: usize,
    tensor_baseline: bool,
    device: &Device,
) -> Result<serde_json::Value> {
    let ad = device.clone().autodiff();
    fallkd_core::model::seed_training(&ad, 0);
    let task = TaskLoss::default();
    let y = Tensor::<1>::random([batch], Distribution::Bernoulli(0.4), &ad);
    let rates = Rates {
        steps,
        device: &ad,
        task,
        labels: &y,
        tensor_baseline,
    };
    // The student's tensor-forward latency, where `infer_ms_b1` is the host forward's.
    let mut tensor_ms = None;
    // On the CPU backend fallkd trains with the host step; the tensor step's rate goes beside it.
    let host = host_device(&ad);
    let (params, train_sps, tensor_sps, ms) = match model {
        Role::Teacher => {
            let x = Tensor::random([batch, 120, 96], Distribution::Normal(0.0, 1.0), &ad);
            let init = SkeletonTransformerConfig::new().init(&ad);
            let tensor_step = |m: &SkeletonTransformer| {
                let logits = m.forward(x.clone(), None).expect("T=120").logits;
                let loss = task.forward(logits, y.clone());
                GradientsParams::from_grads(loss.backward(), m)
            };
            let host_step = |m: &SkeletonTransformer| HostStep::teacher(m, &x, &ad);
            let (m, sps, tensor) = rates.run(init, host.then_some(&host_step), &tensor_step);
            let v = m.valid();
            let x1 = Tensor::random([1, 120, 96], Distribution::Normal(0.0, 1.0), device);
            let ms = latency_ms(|| {
                let _ = v.forward(x1.clone(), None)?.logits.into_data();
                Ok(())
            })?;
            (v.num_params(), sps, tensor, ms)
        }
        Role::Student => {
            let (ev, ts, mask) = student_inputs(batch, &ad);
            let init = TimestampAwareStudentConfig::new().init(&ad);
            let tensor_step = |m: &TimestampAwareStudent| {
                let logits = m.forward(ev.clone(), ts.clone(), mask.clone(), None).logits;
                let loss = task.forward(logits, y.clone());
                GradientsParams::from_grads(loss.backward(), m)
            };
            let host_step =
                |m: &TimestampAwareStudent| HostStep::student(m, (&ev, &ts, &mask), None, &ad);
            let (m, sps, tensor) = rates.run(init, host.then_some(&host_step), &tensor_step);
            let v = m.valid();
            let (e1, t1, m1) = student_inputs(1, device);
            let ms = latency_ms(|| {
                let _ = v
                    .forward(e1.clone(), t1.clone(), m1.clone(), None)
                    .logits
                    .into_data();
                Ok(())
            })?;
            // On the CPU backend `fallkd predict` and the page run the host forward.
            let host_ms = if *device == Device::flex() {
                let host = HostStudent::new(&v)?;
                let events: Vec<f32> = e1.into_data().convert::<f32>().try_into_vec()?;
                let ts: Vec<f32> = t1.into_data().convert::<f32>().try_into_vec()?;
                Some(latency_ms(|| {
                    host.forward(&events, &ts, None)?;
                    Ok(())
                })?)
            } else {
                None
            };
            tensor_ms = Some(ms);
            (v.num_params(), sps, tensor, host_ms.unwrap_or(ms))
        }
    };
    Ok(serde_json::json!({
        "impl": format!("fallkd {} ({device:?})", env!("CARGO_PKG_VERSION")),
        "model": model, "params": params, "batch": batch,
        "train_steps_per_s": train_sps, "infer_ms_b1": ms,
        "infer_ms_b1_tensor": tensor_ms,
        "train_steps_per_s_tensor": tensor_sps,
    }))
}

/// `fallkd speed`: training steps/s and batch-1 latency of the default teacher or student.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Which default model.
    #[arg(long, value_enum, default_value_t = Role::Student)]
    pub model: Role,
    /// Training batch size.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Timed training steps (after 3 warm-up steps).
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Time the host step alone (without the tensor step's rate beside it).
    #[arg(long)]
    pub no_tensor_baseline: bool,
    /// The device.
    #[command(flatten)]
    pub device: crate::flags::DeviceArg,
}

/// Runs `fallkd speed` (prints JSON).
pub fn cli(a: &Args) -> Result<()> {
    let json = run(
        a.model,
        a.batch,
        a.steps,
        !a.no_tensor_baseline,
        a.device.get(),
    )?;
    println!("{json}");
    Ok(())
}
