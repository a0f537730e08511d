//! Criterion benches of fallkd's hot paths on the CPU (burn-flex). Throughput is reported as
//! windows/s (or events/s for the resampler). Run: `cargo bench` (BENCHMARKS.md has numbers).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use fallkd_core::burn::optim::{AdamWConfig, GradientsParams};
use fallkd_core::burn::tensor::{Device, Distribution, Tensor};
use fallkd_core::losses::*;
use fallkd_core::model::*;
use fallkd_train::host_step::HostStep;

fn device() -> Device {
    let d = Device::flex();
    d.seed(1);
    d
}

fn events(b: usize, n: usize, device: &Device) -> (Tensor<3>, Tensor<2>, Tensor<2>) {
    let ev = Tensor::random([b, n, 6], Distribution::Normal(0.0, 1.0), device);
    // ~40 Hz with bursts: cumulative sum of non-negative steps.
    let steps = Tensor::<2>::random([b, n], Distribution::Uniform(0.0, 0.05), device);
    let ts = steps.cumsum(1);
    (ev, ts, Tensor::ones([b, n], device))
}

fn resampler(c: &mut Criterion) {
    let d = device();
    let r = EventTokenResamplerConfig::new().init(&d);
    let mut g = c.benchmark_group("resampler_forward_L64");
    for n in [64usize, 256, 1024, 4096] {
        let (ev, ts, m) = events(1, n, &d);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |bch, _| {
            bch.iter(|| {
                r.forward(ev.clone(), ts.clone(), m.clone())
                    .tokens
                    .into_data()
            })
        });
    }
    g.finish();
}

fn inference(c: &mut Criterion) {
    let d = device();
    let student = TimestampAwareStudentConfig::new()
        .with_dropout(0.0)
        .init(&d);
    let baseline = TimestampAwareStudentConfig::new()
        .with_dropout(0.0)
        .fixed_rate()
        .init(&d);
    let teacher = SkeletonTransformerConfig::new().with_dropout(0.0).init(&d);
    let mut g = c.benchmark_group("inference");
    for b in [1usize, 64] {
        let (ev, ts, m) = events(b, 160, &d);
        g.throughput(Throughput::Elements(b as u64));
        g.bench_function(BenchmarkId::new("student_N160", b), |bch| {
            bch.iter(|| {
                student
                    .forward(ev.clone(), ts.clone(), m.clone(), None)
                    .logits
                    .into_data()
            })
        });
        let grid = Tensor::random([b, 64, 6], Distribution::Normal(0.0, 1.0), &d);
        g.bench_function(BenchmarkId::new("fixed_rate_L64", b), |bch| {
            bch.iter(|| baseline.forward(grid.clone()).logits.into_data())
        });
        let x = Tensor::random([b, 120, 96], Distribution::Normal(0.0, 1.0), &d);
        g.bench_function(BenchmarkId::new("teacher_T120", b), |bch| {
            bch.iter(|| teacher.forward(x.clone(), None).unwrap().logits.into_data())
        });
    }
    g.finish();
}

fn training_step(c: &mut Criterion) {
    let d = device().autodiff();
    let mut g = c.benchmark_group("train_step_B32");
    g.throughput(Throughput::Elements(32));
    g.sample_size(10);
    let task = TaskLoss::default();
    let y = Tensor::<1>::random([32], Distribution::Bernoulli(0.4), &d);
    {
        let mut model = SkeletonTransformerConfig::new().init(&d);
        let mut optim = AdamWConfig::new().init();
        let x = Tensor::random([32, 120, 96], Distribution::Normal(0.0, 1.0), &d);
        g.bench_function("teacher_T120", |bch| {
            bch.iter(|| {
                let loss = task.forward(model.forward(x.clone(), None).unwrap().logits, y.clone());
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(1e-3, model.clone(), grads);
            })
        });
    }
    {
        let mut model = TimestampAwareStudentConfig::new().init(&d);
        let mut optim = AdamWConfig::new().init();
        let (ev, ts, m) = events(32, 160, &d);
        g.bench_function("student_N160", |bch| {
            bch.iter(|| {
                let loss = task.forward(
                    model
                        .forward(ev.clone(), ts.clone(), m.clone(), None)
                        .logits,
                    y.clone(),
                );
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(1e-3, model.clone(), grads);
            })
        });
    }
    // The host step (what `fallkd` trains with on the CPU backend): the same steps.
    {
        let mut model = SkeletonTransformerConfig::new().init(&d);
        let mut optim = AdamWConfig::new().init();
        let x = Tensor::random([32, 120, 96], Distribution::Normal(0.0, 1.0), &d);
        g.bench_function("teacher_T120_host", |bch| {
            bch.iter(|| {
                let h = HostStep::teacher(&model, &x, &d).unwrap();
                let loss = task.forward(h.outputs().logits, y.clone());
                let grads = h.gradients(loss.backward(), &model).unwrap();
                model = optim.step(1e-3, model.clone(), grads);
            })
        });
    }
    {
        let mut model = TimestampAwareStudentConfig::new().init(&d);
        let mut optim = AdamWConfig::new().init();
        let (ev, ts, m) = events(32, 160, &d);
        g.bench_function("student_N160_host", |bch| {
            bch.iter(|| {
                let h = HostStep::student(&model, (&ev, &ts, &m), None, &d).unwrap();
                let loss = task.forward(h.outputs().logits, y.clone());
                let grads = h.gradients(loss.backward(), &model).unwrap();
                model = optim.step(1e-3, model.clone(), grads);
            })
        });
    }
    g.finish();
}

fn kd_losses(c: &mut Criterion) {
    let d = device();
    let b = 32;
    let s_feat = Tensor::<2>::random([b, 48], Distribution::Normal(0.0, 1.0), &d);
    let t_feat = Tensor::<2>::random([b, 96], Distribution::Normal(0.0, 1.0), &d);
    let s_tok = Tensor::<3>::random([b, 64, 48], Distribution::Normal(0.0, 1.0), &d);
    let t_tok = Tensor::<3>::random([b, 64, 96], Distribution::Normal(0.0, 1.0), &d);
    let s_att = fallkd_core::burn::tensor::activation::softmax(
        Tensor::<2>::random([b, 64], Distribution::Normal(0.0, 1.0), &d),
        1,
    );
    let t_att = fallkd_core::burn::tensor::activation::softmax(
        Tensor::<2>::random([b, 120], Distribution::Normal(0.0, 1.0), &d),
        1,
    );
    let proj = fallkd_core::burn::nn::LinearConfig::new(96, 48).init(&d);
    let emb = EmbeddingKdConfig::new().init();
    let gram = GramKd;
    let att = AttentionKdConfig::new().init();
    let mut comodo = ComodoConfig::new().init();
    comodo.enqueue(Tensor::random(
        [4096, 96],
        Distribution::Normal(0.0, 1.0),
        &d,
    ));
    let mut g = c.benchmark_group("kd_loss_B32");
    g.throughput(Throughput::Elements(b as u64));
    g.bench_function("embedding", |bch| {
        bch.iter(|| {
            emb.forward(s_feat.clone(), proj.forward(t_feat.clone()))
                .into_data()
        })
    });
    g.bench_function("gram_L64", |bch| {
        bch.iter(|| gram.forward(s_tok.clone(), t_tok.clone()).into_data())
    });
    g.bench_function("comodo_K4096", |bch| {
        bch.iter(|| {
            comodo
                .forward(s_feat.clone(), t_feat.clone(), |x| proj.forward(x))
                .into_data()
        })
    });
    g.bench_function("attention_kl_64_vs_120", |bch| {
        bch.iter(|| att.forward(s_att.clone(), t_att.clone()).into_data())
    });
    g.finish();
}

/// Personalisation of the shipped student on 20 labelled generated recordings (14 activities of
/// one subject's first trial, 6 of its second; 10 falls), from the files' bytes to the personal
/// model's: parsing, windowing, the frozen forward of every window, the head's fine-tuning and
/// the 5-fold safeguard (what `fallkd personalize` and the page run).
fn personalisation(c: &mut Criterion) {
    use fallkd_core::personalize::{LabelledFiles, PersonalizeConfig, personalize_files};
    let model = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/web/assets/student.fallkd"
    ))
    .expect("the shipped student");
    let files = fallkd_core::synth::generate(&fallkd_core::synth::SynthConfig::one_subject(2, 7));
    let names: Vec<(String, bool)> = (1..=14)
        .map(|a| (format!("S01A{a:02}T01.csv"), a >= 10))
        .chain((9..=14).map(|a| (format!("S01A{a:02}T02.csv"), a >= 10)))
        .collect();
    let labelled: Vec<LabelledFiles> = names
        .iter()
        .map(|(n, fall)| {
            let (acc, gyro) = fallkd_core::synth::watch_files(&files, n).expect("a generated file");
            LabelledFiles {
                acc: (n.as_str(), acc),
                gyro: Some((n.as_str(), gyro)),
                fall: *fall,
            }
        })
        .collect();
    let mut g = c.benchmark_group("personalize");
    g.sample_size(10);
    g.bench_function("20_recordings", |bch| {
        bch.iter(|| {
            personalize_files(&model, &labelled, &PersonalizeConfig::default(), "bench")
                .expect("personalised")
                .0
                .len()
        })
    });
    g.finish();
}

/// Every bench of this file (what `criterion_group!` would write, with a doc comment).
pub fn benches() {
    let mut c = Criterion::default().configure_from_args();
    resampler(&mut c);
    inference(&mut c);
    training_step(&mut c);
    kd_losses(&mut c);
    personalisation(&mut c);
}

criterion_main!(benches);
