//! `fallkd export-onnx`'s graph run by an independent runtime (tract): the same fall
//! probabilities as the native forward, within 1e-4, for the shipped student on generated
//! recordings (through the documented pre-processing, `onnx::prepare_window`), and for students of
//! every variant the exporter covers (time modes, locality, positions, magnitude channels, the
//! window-feature path) on windows from one event to full, one at a time and batched.

use fallkd_core::batch::EventWindow;
use fallkd_core::burn::tensor::Device;
use fallkd_core::inference::{Detector, prepare_recording};
use fallkd_core::model::{HostStudent, TimeMode, TimestampAwareStudentConfig, jitter};
use fallkd_core::onnx::graph::OPSET;
use fallkd_core::onnx::student::{GraphSizes, student_graph};
use fallkd_core::onnx::{OnnxInputs, export_student, prepare_window, proto};
use fallkd_core::synth::{SynthConfig, generate, watch_files};
use tract_onnx::prelude::*;

type Runnable = std::sync::Arc<TypedRunnableModel>;

fn load(bytes: &[u8]) -> Runnable {
    tract_onnx::onnx()
        .model_for_read(&mut std::io::Cursor::new(bytes))
        .expect("tract reads the exported model")
        .into_optimized()
        .expect("tract optimises it")
        .into_runnable()
        .expect("tract runs it")
}

/// Probabilities of a batch of prepared windows.
fn run(model: &Runnable, windows: &[&OnnxInputs], n: usize) -> Vec<f32> {
    let b = windows.len();
    let c = windows[0].events.len() / n;
    let cat = |f: &dyn Fn(&OnnxInputs) -> &Vec<f32>| -> Vec<f32> {
        windows.iter().flat_map(|w| f(w).iter().copied()).collect()
    };
    let mut inputs: TVec<TValue> = tvec![
        tract_ndarray::Array3::from_shape_vec((b, n, c), cat(&|w| &w.events))
            .unwrap()
            .into_tvalue(),
        tract_ndarray::Array2::from_shape_vec((b, n), cat(&|w| &w.timestamps))
            .unwrap()
            .into_tvalue(),
        tract_ndarray::Array2::from_shape_vec((b, n), cat(&|w| &w.mask))
            .unwrap()
            .into_tvalue(),
    ];
    let f = windows[0].window_features.len();
    if f > 0 {
        inputs.push(
            tract_ndarray::Array2::from_shape_vec((b, f), cat(&|w| &w.window_features))
                .unwrap()
                .into_tvalue(),
        );
    }
    let out = model.run(inputs).expect("the ONNX model runs");
    let p = out[1].to_plain_array_view::<f32>().unwrap();
    assert_eq!(p.shape(), &[b, 1]);
    p.iter().copied().collect()
}

fn generated(name: &str) -> (Vec<u8>, Vec<u8>) {
    let files = generate(&SynthConfig {
        subjects: 3,
        trials: 1,
        seed: 7,
        subject_without_gyro: false,
    });
    let (acc, gyro) = watch_files(&files, name).unwrap();
    (acc.to_vec(), gyro.to_vec())
}

#[test]
fn the_shipped_student_gives_the_native_probabilities() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join("web/assets/student.fallkd")).unwrap();
    let det = Detector::from_bytes(&bytes, &Device::flex()).unwrap();
    let onnx = export_student(&det.model, &det.header).unwrap();
    let model = load(&onnx);
    let n = fallkd_core::onnx::max_events(&det.header);
    let cfg = det.header.window_config();
    // A fall and a daily activity of a 35-45 Hz subject, and of an 80-110 Hz one (subject 3),
    // whose windows the windowing thins to `max_events`.
    let mut windows = Vec::new();
    for name in [
        "S01A10T01.csv",
        "S01A01T01.csv",
        "S03A12T01.csv",
        "S03A04T01.csv",
    ] {
        let (acc, gyro) = generated(name);
        let r = prepare_recording((name, &acc), Some((name, &gyro)), &cfg).unwrap();
        windows.extend(r.windows.iter().map(EventWindow::from));
    }
    assert!(windows.iter().any(|w| w.events.len() == n), "a full window");
    // Without a gyroscope, as the page and the CLI run a recording without one.
    let no_gyro: Vec<EventWindow> = windows
        .iter()
        .take(3)
        .map(|w| {
            let mut w = w.clone();
            w.events.iter_mut().for_each(|e| e[3..].fill(0.0));
            if let Some(c) = &mut w.context {
                c.events.iter_mut().for_each(|e| e[3..].fill(0.0));
            }
            w
        })
        .collect();
    windows.extend(no_gyro);
    let native = pollster::block_on(det.run(&windows)).unwrap();
    let inputs: Vec<OnnxInputs> = windows
        .iter()
        .map(|w| prepare_window(w, &det.header).unwrap())
        .collect();
    let refs: Vec<&OnnxInputs> = inputs.iter().collect();
    let batched = run(&model, &refs, n);
    let (mut lo, mut hi) = (1.0f64, 0.0f64);
    for (i, (p, _)) in native.iter().enumerate() {
        let alone = run(&model, &refs[i..=i], n)[0];
        for got in [alone, batched[i]] {
            assert!(
                (f64::from(got) - p).abs() < 1e-4,
                "window {i}: ONNX {got}, native {p}"
            );
        }
        (lo, hi) = (lo.min(*p), hi.max(*p));
    }
    assert!(lo < 0.2 && hi > 0.8, "windows both sides of the threshold");
}

/// `n` valid events of `c` channels with bursty, duplicated and gapped timestamps, padded to
/// `max` (features `f` long).
fn window(n: usize, max: usize, c: usize, f: usize, seed: u32) -> OnnxInputs {
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        (s as f32 / u32::MAX as f32) * 2.0 - 1.0
    };
    let mut events: Vec<f32> = (0..n * c).map(|_| next() * 2.0).collect();
    events.resize(max * c, 0.0);
    let mut t = 0.0f32;
    let mut timestamps: Vec<f32> = (0..n)
        .map(|i| {
            let at = t;
            t += match i % 7 {
                0 => 0.0,
                3 => 0.5,
                _ => 0.03 + 0.01 * next().abs(),
            };
            at
        })
        .collect();
    timestamps.resize(max, 0.0);
    let mut mask = vec![1.0; n];
    mask.resize(max, 0.0);
    OnnxInputs {
        events,
        timestamps,
        mask,
        window_features: (0..f).map(|_| next()).collect(),
    }
}

#[test]
fn every_student_variant_gives_the_host_forward() {
    let device = Device::flex();
    let max = 40;
    for (mode, features, locality, positions, magnitude, layers) in [
        (TimeMode::Timestamps, true, true, true, false, 2),
        (TimeMode::Timestamps, false, false, false, false, 1),
        (TimeMode::Cleaned, false, true, true, false, 2),
        (TimeMode::Position, true, true, true, false, 1),
        (TimeMode::Timestamps, true, true, true, true, 2),
    ] {
        let cfg = TimestampAwareStudentConfig::new()
            .with_time_mode(mode)
            .with_window_features(features)
            .with_locality_bias(locality)
            .with_use_pos_enc(positions)
            .with_magnitude_channels(magnitude)
            .with_num_layers(layers)
            .with_embed_dim(24)
            .with_num_tokens(16)
            .with_num_heads(3);
        let student = jitter(cfg.init(&device), 0.2);
        let host = HostStudent::new(&student).unwrap();
        let f = if features {
            fallkd_core::features::NUM_FEATURES
        } else {
            0
        };
        let sizes = GraphSizes {
            max_events: max,
            features: f,
        };
        let graph = student_graph(&host, sizes, "test").unwrap();
        let model = load(&proto::model(&graph, OPSET, ("fallkd", "test"), &[]));
        let c = cfg.event_channels();
        let windows: Vec<OnnxInputs> = [1, 2, 17, max]
            .iter()
            .map(|&n| window(n, max, c, f, n as u32 + 3))
            .collect();
        let refs: Vec<&OnnxInputs> = windows.iter().collect();
        let batched = run(&model, &refs, max);
        for (i, w) in windows.iter().enumerate() {
            let valid = w.mask.iter().filter(|&&m| m > 0.0).count();
            let feats = features.then_some(&w.window_features[..]);
            let (logit, _) = host
                .forward(&w.events[..valid * c], &w.timestamps[..valid], feats)
                .unwrap();
            let want = 1.0 / (1.0 + (-logit).exp());
            let alone = run(&model, &refs[i..=i], max)[0];
            for got in [alone, batched[i]] {
                assert!(
                    (got - want).abs() < 1e-4,
                    "{mode:?} features {features} locality {locality} positions {positions} \
                     magnitude {magnitude}, {valid} events: ONNX {got}, host {want}"
                );
            }
        }
    }
}

#[test]
fn the_fixed_rate_baseline_is_refused_with_a_reason() {
    let device = Device::flex();
    let cfg = fallkd_core::model::StudentConfig::FixedRate(
        fallkd_core::model::TimestampAwareStudentConfig::new().fixed_rate(),
    );
    let model = cfg.init(&device);
    let header: fallkd_core::model_file::ModelHeader = serde_json::from_value(serde_json::json!({
        "arch": serde_json::to_value(&cfg).unwrap(),
        "stats": serde_json::to_value(fallkd_core::data::normalize::NormStats::default()).unwrap(),
        "threshold": 0.5,
        "window_seconds": 4.0,
        "description": "",
    }))
    .unwrap();
    let e = export_student(&model, &header).unwrap_err().to_string();
    assert!(e.contains("fixed-rate baseline"), "{e}");
}
