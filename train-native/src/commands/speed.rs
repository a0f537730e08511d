//! `fallkd speed`: training steps per second and batch-1 latency of the default teacher or
//! student on random inputs, as JSON (the Rust side of benches/compare).

use std::time::Instant;

use anyhow::Result;

use crate::trainer::Role;
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};
use fallkd_core::losses::TaskLoss;
use fallkd_core::model::{HostStudent, SkeletonTransformerConfig, TimestampAwareStudentConfig};

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

/// Times `steps` training steps at `batch` and 50 batch-1 forwards. `infer_ms_b1` is what
/// fallkd's inference runs on the device: for the student on the CPU backend the host forward
/// ([`HostStudent`]), with the tensor forward's latency beside it (`infer_ms_b1_tensor`).
pub fn run(model: Role, batch: usize, steps: usize, device: &Device) -> Result<serde_json::Value> {
    let ad = device.clone().autodiff();
    fallkd_core::model::seed_training(&ad, 0);
    let task = TaskLoss::default();
    let y = Tensor::<1>::random([batch], Distribution::Bernoulli(0.4), &ad);
    let mut optim = AdamWConfig::new().with_weight_decay(0.01).init();
    // The student's tensor-forward latency, where `infer_ms_b1` is the host forward's.
    let mut tensor_ms = None;
    let (params, train_sps, ms) = match model {
        Role::Teacher => {
            let x = Tensor::random([batch, 120, 96], Distribution::Normal(0.0, 1.0), &ad);
            let (m, sps) = train_rate(
                SkeletonTransformerConfig::new().init(&ad),
                steps,
                &ad,
                |m| {
                    let loss =
                        task.forward(m.forward(x.clone(), None).expect("T=120").logits, y.clone());
                    let g = GradientsParams::from_grads(loss.backward(), &m);
                    optim.step(1e-3, m, g)
                },
            );
            let v = m.valid();
            let x1 = Tensor::random([1, 120, 96], Distribution::Normal(0.0, 1.0), device);
            let ms = latency_ms(|| {
                let _ = v.forward(x1.clone(), None)?.logits.into_data();
                Ok(())
            })?;
            (v.num_params(), sps, ms)
        }
        Role::Student => {
            let (ev, ts, mask) = student_inputs(batch, &ad);
            let (m, sps) = train_rate(
                TimestampAwareStudentConfig::new().init(&ad),
                steps,
                &ad,
                |m| {
                    let loss = task.forward(
                        m.forward(ev.clone(), ts.clone(), mask.clone(), None).logits,
                        y.clone(),
                    );
                    let g = GradientsParams::from_grads(loss.backward(), &m);
                    optim.step(1e-3, m, g)
                },
            );
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
            (v.num_params(), sps, host_ms.unwrap_or(ms))
        }
    };
    Ok(serde_json::json!({
        "impl": format!("fallkd {} ({device:?})", env!("CARGO_PKG_VERSION")),
        "model": model, "params": params, "batch": batch,
        "train_steps_per_s": train_sps, "infer_ms_b1": ms,
        "infer_ms_b1_tensor": tensor_ms,
    }))
}
