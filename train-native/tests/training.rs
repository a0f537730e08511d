//! The training loop on a tiny generated dataset: loss goes down, checkpoints round-trip, resume
//! continues where it stopped, KD runs with every loss, the KD teacher's cached outputs equal
//! running it, broken configs are rejected, export loads.

mod common;

use std::path::Path;

use common::{losses, opts, scratch, tiny};

use fallkd_core::batch::{EventWindow, student_batch};
use fallkd_core::burn::module::Module;
use fallkd_core::burn::tensor::{Device, Tensor, activation::sigmoid};
use fallkd_core::model::Student;
use fallkd_core::model_file::from_bytes;
use fallkd_train::batcher::Batcher;
use fallkd_train::checkpoint::{load_module, save_module};
use fallkd_train::config::RunConfig;
use fallkd_train::dataset::prepare;
use fallkd_train::host_step::HostStep;
use fallkd_train::model::Model;
use fallkd_train::run_dir::{Role, TrainState};
use fallkd_train::teacher_cache::{TeacherCache, load_kd_teacher};
use fallkd_train::trainer::train;

#[test]
fn teacher_loss_goes_down_and_checkpoints_round_trip() {
    let _serial = serial();
    let dir = scratch("teacher");
    let cfg = tiny(&dir, &[]);
    let data = prepare(&cfg, cfg.data.root.as_ref().unwrap()).unwrap();
    assert!(!data.train.is_empty() && !data.val.is_empty() && !data.test.is_empty());
    let out = dir.join("teacher");
    let summary = train(&cfg, Role::Teacher, &data, &Device::flex(), &opts(&out)).unwrap();
    let l = losses(&out);
    assert_eq!(l.len(), 5);
    assert!(l[4] < l[0], "training loss did not go down: {l:?}");
    assert!(summary.test.auc.is_finite() && summary.parameters > 0);
    for f in [
        "config.yaml",
        "norm.json",
        "metrics.csv",
        "metrics.json",
        "best.bpk",
        "last.bpk",
        "model.bpk",
        "optim.bpk",
        "state.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // Round trip: saved weights reload to the same outputs.
    let device = Device::flex();
    let model = load_module(cfg.teacher.init(&device), &out.join("model.bpk"), &device).unwrap();
    let copy = dir.join("copy.bpk");
    save_module(&model, &copy).unwrap();
    let again = load_module(cfg.teacher.init(&device), &copy, &device).unwrap();
    let x = fallkd_core::burn::tensor::Tensor::<3>::ones([2, 32, 96], &device);
    let a = model
        .valid()
        .forward(x.clone(), None)
        .unwrap()
        .logits
        .into_data();
    let b = again.valid().forward(x, None).unwrap().logits.into_data();
    assert_eq!(a, b);
    // A corrupt checkpoint is an error, not a panic.
    std::fs::write(&copy, b"not a checkpoint").unwrap();
    let err = load_module(cfg.teacher.init(&device), &copy, &device).unwrap_err();
    assert!(err.to_string().contains("copy.bpk"), "{err}");
}

#[test]
fn resume_continues_where_it_stopped() {
    let _serial = serial();
    let dir = scratch("resume");
    let cfg = tiny(&dir, &["train.epochs=4"]);
    let data = prepare(&cfg, cfg.data.root.as_ref().unwrap()).unwrap();
    let out = dir.join("student");
    let mut o = opts(&out);
    o.stop_after = Some(2);
    let err = train(&cfg, Role::Student, &data, &Device::flex(), &o).unwrap_err();
    assert!(err.to_string().contains("--resume"), "{err}");
    let state: TrainState =
        serde_json::from_slice(&std::fs::read(out.join("state.json")).unwrap()).unwrap();
    assert_eq!((state.epochs_done, state.finished), (2, false));
    let steps_before = state.steps;
    let mut o = opts(&out);
    o.resume = true;
    train(&cfg, Role::Student, &data, &Device::flex(), &o).unwrap();
    let state: TrainState =
        serde_json::from_slice(&std::fs::read(out.join("state.json")).unwrap()).unwrap();
    assert_eq!((state.epochs_done, state.finished), (4, true));
    assert_eq!(
        state.steps,
        2 * steps_before,
        "resumed run restarted its step count"
    );
    let epochs: Vec<usize> = std::fs::read_to_string(out.join("metrics.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(epochs, vec![1, 2, 3, 4]);
    // Nothing to resume elsewhere.
    let mut o = opts(&dir.join("empty"));
    o.resume = true;
    assert!(
        train(&cfg, Role::Student, &data, &Device::flex(), &o)
            .unwrap_err()
            .to_string()
            .contains("nothing to resume")
    );
}

/// The validation log loss of each epoch in a run's metrics.csv.
fn val_losses(run: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let mut lines = text.lines();
    let col = lines
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == "val_loss")
        .unwrap();
    lines
        .map(|l| l.split(',').nth(col).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn weight_average_validates_checkpoints_and_resumes_exactly() {
    let _serial = serial();
    let dir = scratch("ema");
    let cfg = tiny(&dir, &["train.epochs=3", "train.ema=0.9"]);
    let data = prepare(&cfg, cfg.data.root.as_ref().unwrap()).unwrap();
    let whole = dir.join("whole");
    train(&cfg, Role::Student, &data, &Device::flex(), &opts(&whole)).unwrap();
    assert!(whole.join("ema.bpk").is_file());
    // Interrupted after one epoch and resumed: the same epochs as the run never interrupted.
    let parts = dir.join("parts");
    let mut o = opts(&parts);
    o.stop_after = Some(1);
    assert!(train(&cfg, Role::Student, &data, &Device::flex(), &o).is_err());
    o.stop_after = None;
    o.resume = true;
    train(&cfg, Role::Student, &data, &Device::flex(), &o).unwrap();
    let (a, b) = (val_losses(&whole), val_losses(&parts));
    assert_eq!(a.len(), b.len());
    assert!(
        a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5),
        "{a:?} {b:?}"
    );
    // The average changes what validation scores, not the training itself: a run without it
    // takes the same steps (the same training losses) and validates otherwise.
    let raw = dir.join("raw");
    let plain = tiny(&dir, &["train.epochs=3"]);
    train(&plain, Role::Student, &data, &Device::flex(), &opts(&raw)).unwrap();
    assert!(!raw.join("ema.bpk").exists());
    assert_eq!(losses(&whole), losses(&raw));
    let c = val_losses(&raw);
    assert!(
        a.iter().zip(&c).all(|(x, y)| (x - y).abs() > 1e-6),
        "{a:?} {c:?}"
    );
    // A run with the average cannot resume without its file.
    std::fs::remove_file(parts.join("ema.bpk")).unwrap();
    let e = train(&cfg, Role::Student, &data, &Device::flex(), &o).unwrap_err();
    assert!(format!("{e:#}").contains("ema.bpk"), "{e:#}");
    let e = RunConfig::load(&[], &["train.ema=1".into()]).unwrap_err();
    assert!(format!("{e:#}").contains("train.ema"), "{e:#}");
}

/// `train.cut_copies`: each training recording gets a copy cut short around its impact, with
/// its label and a new trial number; validation and test are untouched; more than 8 is refused.
#[test]
fn cut_copies_add_training_recordings_only() {
    let _serial = serial();
    let dir = scratch("cuts");
    let plain = tiny(&dir, &[]);
    let root = plain.data.root.clone().unwrap();
    let a = prepare(&plain, &root).unwrap();
    let b = prepare(&tiny(&dir, &["train.cut_copies=1"]), &root).unwrap();
    let copies: Vec<_> = b.trials.iter().filter(|t| t.key.trial > 100).collect();
    let training = a
        .trials
        .iter()
        .filter(|t| a.split.train.contains(&t.key.subject))
        .count();
    assert_eq!(copies.len(), training);
    assert!(
        copies
            .iter()
            .all(|t| a.split.train.contains(&t.key.subject))
    );
    assert!(copies.iter().any(|t| t.is_fall()) && copies.iter().any(|t| !t.is_fall()));
    assert!(b.train.len() > a.train.len());
    assert_eq!((a.val.len(), a.test.len()), (b.val.len(), b.test.len()));
    let e = RunConfig::load(&[], &["train.cut_copies=9".into()]).unwrap_err();
    assert!(format!("{e:#}").contains("train.cut_copies"), "{e:#}");
}

#[test]
fn distillation_with_every_loss_and_export_round_trip() {
    let _serial = serial();
    let dir = scratch("kd");
    let cfg = tiny(&dir, &["train.epochs=2"]);
    let data = prepare(&cfg, cfg.data.root.as_ref().unwrap()).unwrap();
    let teacher = dir.join("teacher");
    train(&cfg, Role::Teacher, &data, &Device::flex(), &opts(&teacher)).unwrap();
    let kd = tiny(
        &dir,
        &[
            "train.epochs=2",
            "kd.enabled=true",
            &format!("kd.teacher={}", teacher.display()),
            "kd.weights={task: 1, embedding: 1, gram: 1, comodo: 0.5, attention: 1, response: 1}",
            "kd.response.where_teacher_right=false",
            "kd.comodo.queue_size=64",
            "kd.attention.divergence=js",
        ],
    );
    let out = dir.join("student-kd");
    train(&kd, Role::Student, &data, &Device::flex(), &opts(&out)).unwrap();
    let header = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let row: Vec<f64> = header
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    let columns: Vec<&str> = header.lines().next().unwrap().split(',').collect();
    for name in ["embedding", "gram", "comodo", "attention", "response"] {
        let i = columns.iter().position(|c| *c == name).unwrap();
        assert!(row[i] > 0.0, "{name} loss was not used: {row:?}");
    }
    // Export, reload from bytes, and compare probabilities with the native model.
    let file = dir.join("student.fallkd");
    fallkd_train::commands::export::run(&out, &file, &Default::default(), &Device::flex()).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let device = Device::flex();
    let (header, model) = from_bytes(&bytes, &device).unwrap();
    let Student::TimestampAware(student) = model else {
        panic!("wrong kind")
    };
    let native = fallkd_train::model::load_trained(&kd, Role::Student, &out, &device).unwrap();
    let w = EventWindow::from(&data.test[0]);
    let b = student_batch(&[&w], &[true], &header.stats, 16, &device);
    let p1 = sigmoid(
        student
            .forward(
                b.events.clone(),
                b.timestamps.clone(),
                b.mask.clone(),
                b.features.clone(),
            )
            .logits,
    )
    .into_data();
    let p2 = sigmoid(
        native
            .timestamp_aware()
            .unwrap()
            .forward(b.events, b.timestamps, b.mask, b.features)
            .logits,
    )
    .into_data();
    assert_eq!(p1, p2);
    // A truncated or foreign file gets a clear message.
    assert!(
        from_bytes(&bytes[..20], &device)
            .unwrap_err()
            .to_string()
            .contains("truncated")
    );
    assert!(
        from_bytes(b"PK\x03\x04zipfile", &device)
            .unwrap_err()
            .to_string()
            .contains("not a fallkd model file")
    );
    let mut corrupt = bytes.clone();
    let n = corrupt.len();
    corrupt.truncate(n - 100);
    assert!(from_bytes(&corrupt, &device).is_err());
    // The alarm threshold: the validation one unless given; nonsense refused.
    let state: TrainState =
        serde_json::from_slice(&std::fs::read(out.join("state.json")).unwrap()).unwrap();
    assert_eq!(header.threshold, state.best_threshold);
    let fixed = dir.join("fixed.fallkd");
    let alarm = fallkd_core::alarm::AlarmConfig {
        threshold: 0.0,
        k: 2,
        n: 3,
        refractory_s: 20.0,
    };
    fallkd_train::commands::export::run(
        &out,
        &fixed,
        &fallkd_train::commands::export::ExportOptions {
            threshold: Some(0.42),
            alarm: Some(alarm),
            ..Default::default()
        },
        &device,
    )
    .unwrap();
    let (h, _) = from_bytes(&std::fs::read(&fixed).unwrap(), &device).unwrap();
    assert_eq!(h.threshold, 0.42);
    // The file carries the alarm logic and every windowing setting of training.
    assert_eq!(
        h.alarm_config(),
        fallkd_core::alarm::AlarmConfig {
            threshold: 0.42,
            ..alarm
        }
    );
    assert_eq!(h.window.as_ref(), Some(&kd.window));
    let e = fallkd_train::commands::export::run(
        &out,
        &fixed,
        &fallkd_train::commands::export::ExportOptions {
            threshold: Some(1.0),
            ..Default::default()
        },
        &device,
    )
    .unwrap_err();
    assert!(e.to_string().contains("strictly between 0 and 1"), "{e}");
}

#[test]
fn validation_loss_picks_the_epoch_with_the_lowest_loss() {
    let _serial = serial();
    let dir = scratch("select");
    let cfg = tiny(&dir, &["train.epochs=4", "train.select=val-loss"]);
    let data = prepare(&cfg, cfg.data.root.as_ref().unwrap()).unwrap();
    let out = dir.join("teacher");
    train(&cfg, Role::Teacher, &data, &Device::flex(), &opts(&out)).unwrap();
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "val_loss").unwrap();
    let losses: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(col).unwrap().parse().unwrap())
        .collect();
    assert_eq!(losses.len(), 4);
    assert!(
        losses.iter().all(|l| l.is_finite() && *l > 0.0),
        "{losses:?}"
    );
    let state: TrainState =
        serde_json::from_slice(&std::fs::read(out.join("state.json")).unwrap()).unwrap();
    let (best, min) =
        losses.iter().enumerate().fold(
            (0, f64::INFINITY),
            |b, (i, &l)| if l < b.1 { (i, l) } else { b },
        );
    assert_eq!(state.best_epoch, best + 1, "{losses:?}");
    assert!((state.best_val_loss.unwrap() - min).abs() < 1e-5);
    assert_eq!(
        fallkd_core::metrics::log_loss(&[0.5, 0.5], &[true, false]),
        2f64.ln()
    );
    assert!(fallkd_core::metrics::log_loss(&[0.0], &[true]).is_finite());
}

/// A one-epoch student with `option` on (and gyroscope dropout), trained, exported and read back:
/// the prepared data, the exported header and student, the trained run's own student, and a
/// batch of four test windows built from the exported statistics.
fn exported_student(
    name: &str,
    option: &str,
) -> (
    fallkd_train::dataset::Prepared,
    fallkd_core::model_file::ModelHeader,
    fallkd_core::model::TimestampAwareStudent,
    fallkd_train::model::Net,
    fallkd_core::batch::StudentBatch,
) {
    let dir = scratch(name);
    let cfg = tiny(&dir, &["train.epochs=1", option, "train.gyro_dropout=0.5"]);
    let data = prepare(&cfg, cfg.data.root.as_ref().unwrap()).unwrap();
    let out = dir.join("student");
    train(&cfg, Role::Student, &data, &Device::flex(), &opts(&out)).unwrap();
    let file = dir.join("student.fallkd");
    fallkd_train::commands::export::run(&out, &file, &Default::default(), &Device::flex()).unwrap();
    let device = Device::flex();
    let (header, model) = from_bytes(&std::fs::read(&file).unwrap(), &device).unwrap();
    let Student::TimestampAware(student) = model else {
        panic!("wrong kind")
    };
    let native = fallkd_train::model::load_trained(&cfg, Role::Student, &out, &device).unwrap();
    let windows: Vec<EventWindow> = data.test.iter().take(4).map(EventWindow::from).collect();
    let refs: Vec<&EventWindow> = windows.iter().collect();
    let b = student_batch(&refs, &[true; 4][..refs.len()], &header.stats, 16, &device);
    // Without the option, no statistics of its own are fitted.
    let plain = tiny(&dir, &["train.epochs=1"]);
    let p = prepare(&plain, plain.data.root.as_ref().unwrap()).unwrap();
    assert!(p.stats.features.is_none() && p.stats.magnitude.is_none());
    // The fixed-rate student refuses the option, naming it.
    let key = option.split('=').next().unwrap();
    let e = RunConfig::load(&[], &[option.into(), "student.arch=fixed-rate".into()]).unwrap_err();
    assert!(format!("{e:#}").contains(key), "{e:#}");
    (data, header, student, native, b)
}

#[test]
fn window_feature_student_trains_exports_and_scores_the_same() {
    let _serial = serial();
    let (data, _header, student, native, b) =
        exported_student("wf", "student.window_features=true");
    let fs = data
        .stats
        .features
        .as_ref()
        .expect("feature scaling fitted");
    assert_eq!(fs.mean.len(), fallkd_core::features::NUM_FEATURES);
    assert!(student.uses_window_features());
    let f = b
        .features
        .clone()
        .expect("the exported statistics scale the features");
    let logits = |m: &fallkd_core::model::TimestampAwareStudent, f| {
        m.forward(
            b.events.clone(),
            b.timestamps.clone(),
            b.mask.clone(),
            Some(f),
        )
        .logits
        .into_data()
    };
    assert_eq!(
        logits(&student, f.clone()),
        logits(native.timestamp_aware().unwrap(), f.clone())
    );
    // The feature path is live: other features, other logits.
    assert_ne!(
        logits(&student, f.clone()),
        logits(&student, f.zeros_like())
    );
}

#[test]
fn magnitude_channel_student_trains_exports_and_scores_the_same() {
    let _serial = serial();
    let (data, header, student, native, b) =
        exported_student("mag", "student.magnitude_channels=true");
    assert!(data.stats.magnitude.is_some(), "magnitude scaling fitted");
    assert_eq!(header.stats.magnitude, data.stats.magnitude);
    assert_eq!(b.events.dims()[2], 8);
    let logits = |m: &fallkd_core::model::TimestampAwareStudent, events| {
        m.forward(events, b.timestamps.clone(), b.mask.clone(), None)
            .logits
            .into_data()
    };
    assert_eq!(
        logits(&student, b.events.clone()),
        logits(native.timestamp_aware().unwrap(), b.events.clone())
    );
    // The magnitude channels are read: other magnitudes, other logits.
    let [n_b, n, _] = b.events.dims();
    let six = b.events.clone().slice([0..n_b, 0..n, 0..6]);
    let other = Tensor::cat(vec![six.clone(), six.slice([0..n_b, 0..n, 0..2]) * 3.0], 2);
    assert_ne!(logits(&student, b.events.clone()), logits(&student, other));
}

#[test]
fn broken_configs_are_rejected_naming_the_key() {
    let _serial = serial();
    let dir = scratch("config");
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "train:\n  lrr: 0.1\n").unwrap();
    let e = RunConfig::load(std::slice::from_ref(&bad), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("lrr") && e.contains("bad.yaml"), "{e}");
    // Keys inside burn's Config types (which accept unknown fields) are checked too.
    for (text, key) in [
        ("teacher:\n  num_hedas: 4\n", "teacher.num_hedas"),
        ("student:\n  embed_dimm: 8\n", "student.embed_dimm"),
        ("kd:\n  comodo: {queue: 5}\n", "kd.comodo.queue"),
        ("kd:\n  weights: {grm: 1}\n", "kd.weights.grm"),
    ] {
        std::fs::write(&bad, text).unwrap();
        let e = RunConfig::load(std::slice::from_ref(&bad), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains(key) && e.contains("bad.yaml"), "{e}");
    }
    // A tagged value of another variant replaces the default instead of merging into it.
    std::fs::write(
        &bad,
        "train:\n  loss: {kind: focal, alpha: 0.25, gamma: 2}\n",
    )
    .unwrap();
    let cfg = RunConfig::load(std::slice::from_ref(&bad), &[]).unwrap();
    assert!(matches!(
        cfg.train.loss,
        fallkd_core::losses::TaskLossKind::Focal { .. }
    ));
    // A tag set by its dotted path switches the variant; the old variant's fields go.
    let cfg = RunConfig::load(
        &[],
        &[
            "train.loss.kind=focal".into(),
            "train.loss.alpha=0.25".into(),
            "train.loss.gamma=2".into(),
        ],
    )
    .unwrap();
    assert!(matches!(
        cfg.train.loss,
        fallkd_core::losses::TaskLossKind::Focal { .. }
    ));
    // Keys written before the KD losses' settings were nested still load (older run folders).
    std::fs::write(
        &bad,
        "kd:\n  comodo_queue: 64\n  attention_loss: js\n  response_where_teacher_right: false\n",
    )
    .unwrap();
    let cfg = RunConfig::load(std::slice::from_ref(&bad), &[]).unwrap();
    assert_eq!(cfg.kd.comodo.queue_size, 64);
    assert!(!cfg.kd.response.where_teacher_right);
    for (set, key) in [
        ("teacher.input_dim=64", "teacher.input_dim"),
        ("student.input_channels=3", "student.input_channels"),
        ("kd.comodo.queue_size=0", "kd.comodo.queue_size"),
        ("kd.response.temperature=0", "kd.response.temperature"),
        ("kd.attention.temperature=-1", "kd.attention.temperature"),
    ] {
        let e = RunConfig::load(&[], &[set.into()]).unwrap_err().to_string();
        assert!(e.contains(key), "{set}: {e}");
    }
    std::fs::write(&bad, "train:\n  lr: -1\n").unwrap();
    assert!(
        RunConfig::load(std::slice::from_ref(&bad), &[])
            .unwrap_err()
            .to_string()
            .contains("train.lr")
    );
    std::fs::write(&bad, "teacher:\n  num_heads: 5\n").unwrap();
    assert!(
        RunConfig::load(std::slice::from_ref(&bad), &[])
            .unwrap_err()
            .to_string()
            .contains("num_heads")
    );
    std::fs::write(&bad, "student:\n  time_mode: sundial\n").unwrap();
    assert!(
        RunConfig::load(std::slice::from_ref(&bad), &[])
            .unwrap_err()
            .to_string()
            .contains("sundial")
    );
    assert!(
        RunConfig::load(&[], &["kd.weights.gram=-2".into()])
            .unwrap_err()
            .to_string()
            .contains("kd.weights.gram")
    );
    assert!(
        RunConfig::load(&[], &["data.split={kind: loso}".into()])
            .unwrap_err()
            .to_string()
            .contains("data.split.fold")
    );
    assert!(
        RunConfig::load(&[], &["stress.kinds=[quake]".into()])
            .unwrap_err()
            .to_string()
            .contains("quake")
    );
    assert!(
        RunConfig::load(&[dir.join("missing.yaml")], &[])
            .unwrap_err()
            .to_string()
            .contains("missing.yaml")
    );
    // The shipped configs are valid.
    for f in ["teacher_skeleton.yaml", "student_kd.yaml"] {
        RunConfig::load(
            &[Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../kd_config")
                .join(f)],
            &[],
        )
        .unwrap();
    }
}

#[test]
fn stress_test_writes_curves() {
    let _serial = serial();
    let dir = scratch("stress");
    let cfg = tiny(&dir, &["train.epochs=1"]);
    let data = prepare(&cfg, cfg.data.root.as_ref().unwrap()).unwrap();
    let a = dir.join("student");
    train(&cfg, Role::Student, &data, &Device::flex(), &opts(&a)).unwrap();
    let b = dir.join("baseline");
    let base = tiny(&dir, &["train.epochs=1", "student.arch=fixed-rate"]);
    train(&base, Role::Student, &data, &Device::flex(), &opts(&b)).unwrap();
    let points = fallkd_train::commands::stress::run(
        &[a.clone(), b],
        &dir.join("stress"),
        &Device::flex(),
        false,
    )
    .unwrap();
    assert_eq!(points.len(), 2 * 2 * 2);
    assert!(
        dir.join("stress/stress.csv").is_file() && dir.join("stress/stress-jitter.svg").is_file()
    );
    assert!(points.iter().all(|p| (0.0..=1.0).contains(&p.f1)));
    // The windows are scaled with the run's own statistics (norm.json), not refitted ones.
    let norm = a.join("norm.json");
    let mut stats: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&norm).unwrap()).unwrap();
    stats["imu_mean"][2] = (stats["imu_mean"][2].as_f64().unwrap() + 50.0).into();
    std::fs::write(&norm, serde_json::to_vec(&stats).unwrap()).unwrap();
    let moved =
        fallkd_train::commands::stress::run(&[a], &dir.join("stress2"), &Device::flex(), false)
            .unwrap();
    assert!(
        moved.iter().zip(&points).any(|(m, p)| m.auc != p.auc),
        "{moved:?}"
    );
}

#[test]
fn recovery_publishes_a_committed_stage_once_and_tolerates_a_half_removed_one() {
    let _serial = serial();
    use fallkd_train::run_dir::recover_checkpoint;
    let dir = scratch("recover");
    let stage = dir.join("ckpt").join("2");
    std::fs::create_dir_all(&stage).unwrap();
    let state = TrainState {
        epochs_done: 2,
        best_epoch: 2,
        ..Default::default()
    };
    for f in ["last.bpk", "optim.bpk", "best.bpk", "model.bpk"] {
        std::fs::write(stage.join(f), format!("epoch 2 {f}")).unwrap();
    }
    recover_checkpoint(&dir, &state).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("model.bpk")).unwrap(),
        "epoch 2 model.bpk"
    );
    assert!(!dir.join("ckpt").exists());
    // Killed while removing the published stage: some files gone, the rest must not be
    // half-published again, and recovery must not fail.
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::write(stage.join("optim.bpk"), "leftover").unwrap();
    recover_checkpoint(&dir, &state).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("optim.bpk")).unwrap(),
        "epoch 2 optim.bpk"
    );
    assert!(!dir.join("ckpt").exists());
}

#[test]
fn the_cached_kd_teacher_outputs_are_the_teachers_own() {
    let _serial = serial();
    let dir = scratch("teacher-cache");
    let cfg = tiny(&dir, &["train.epochs=1"]);
    let data = prepare(&cfg, cfg.data.root.as_ref().unwrap()).unwrap();
    let out = dir.join("teacher");
    let device = Device::flex().autodiff();
    train(&cfg, Role::Teacher, &data, &Device::flex(), &opts(&out)).unwrap();
    let teacher = load_kd_teacher(&out, &device).unwrap();
    let batcher = Batcher {
        data: &data,
        stats: data.stats.clone(),
        teacher_stats: Some(teacher.stats.clone()),
        role: Role::Student,
        grid_len: cfg.student.model.num_tokens,
        frames: cfg.data.skeleton_frames,
    };
    let windows: Vec<_> = data.train.iter().collect();
    let cache = TeacherCache::build(
        &teacher,
        &batcher,
        &windows,
        7,
        TeacherCache::MAX_VALUES,
        &device,
    )
    .unwrap()
    .expect("a few partners fit");
    // A batch in another order and size than the cache was built in, against the teacher run on
    // the batch's own frames (what a step did before the cache).
    let some: Vec<_> = windows
        .iter()
        .rev()
        .step_by(3)
        .take(9)
        .copied()
        .filter(|w| w.skeleton_frames.is_some())
        .collect();
    assert!(some.len() > 3);
    let got = cache.rows(&some, &device).unwrap();
    let frames = batcher.batch(&some, true, &device).frames.unwrap();
    let want = teacher.model.forward(frames, None).unwrap();
    let close = |a: Vec<f32>, b: Vec<f32>| {
        assert_eq!(a.len(), b.len());
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-4, "cached and direct outputs differ by {worst}");
    };
    let v = |t: fallkd_core::burn::tensor::TensorData| {
        t.convert::<f32>().try_into_vec::<f32>().unwrap()
    };
    close(v(got.logits.into_data()), v(want.logits.into_data()));
    close(v(got.features.into_data()), v(want.features.into_data()));
    close(
        v(got.pooled_tokens.into_data()),
        v(want.pooled_tokens.into_data()),
    );
    close(
        v(got.attention_scores.into_data()),
        v(want.attention_scores.into_data()),
    );
    // A window the cache never saw is an error, not a wrong row.
    let mut stranger = some[0].clone();
    stranger.skeleton_frames = Some((0, 1));
    assert!(cache.rows(&[&stranger], &device).is_err());
    // Too large to keep: no cache (the teacher then runs at every step).
    let big = TeacherCache::build(&teacher, &batcher, &windows, 7, 1000, &device).unwrap();
    assert!(big.is_none());
}

/// The training losses of each epoch of two runs agree to `tol`, relative.
fn assert_losses_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: epochs");
    for (x, y) in a.iter().zip(b) {
        assert!(
            (x - y).abs() <= tol * y.abs().max(1e-3),
            "{what}: host step {a:?} against the run switched to the tensor step {b:?}"
        );
    }
}

#[test]
fn host_and_tensor_steps_train_alike() {
    let _serial = serial();
    // A run on the host step, against the same run switched to the tensor step after its first
    // epoch (resumed from the same weights and optimiser state): the same dropout masks, so the
    // two steps differ by float rounding only. And a run on the tensor step from the start: both
    // steps draw the same initial weights, so it trains alike too.
    let dir = scratch("steps");
    let run = |role: Role, name: &str, extra: &[&str]| {
        let cfg = tiny(&dir, extra);
        let data = prepare(&cfg, cfg.data.root.as_ref().unwrap()).unwrap();
        let out = dir.join(name);
        train(&cfg, role, &data, &Device::flex(), &opts(&out)).unwrap();
        let switched = dir.join(format!("{name}-switched"));
        let mut first = opts(&switched);
        first.stop_after = Some(1);
        assert!(train(&cfg, role, &data, &Device::flex(), &first).is_err());
        let tensor: Vec<&str> = extra.iter().copied().chain(["train.step=tensor"]).collect();
        let mut rest = opts(&switched);
        rest.resume = true;
        train(&tiny(&dir, &tensor), role, &data, &Device::flex(), &rest).unwrap();
        let from_start = dir.join(format!("{name}-tensor"));
        train(
            &tiny(&dir, &tensor),
            role,
            &data,
            &Device::flex(),
            &opts(&from_start),
        )
        .unwrap();
        (losses(&out), losses(&switched), losses(&from_start))
    };
    let (host, switched, tensor) = run(Role::Teacher, "teacher", &["train.epochs=3"]);
    assert_losses_close(&host, &switched, 1e-3, "teacher");
    assert_losses_close(&host, &tensor, 1e-3, "teacher, tensor step from the start");
    let teacher = format!("kd.teacher={}", dir.join("teacher").display());
    let kd = [
        "train.epochs=3",
        "student.dropout=0.1",
        "student.window_features=true",
        "kd.enabled=true",
        &teacher,
        // Every KD loss but COMODO, whose queue a resumed run refills (docs/cli.md).
        "kd.weights={task: 1, embedding: 1, gram: 1, comodo: 0, attention: 1, response: 1}",
    ];
    let (host, switched, tensor) = run(Role::Student, "student", &kd);
    assert_losses_close(&host, &switched, 1e-3, "KD student");
    assert_losses_close(
        &host,
        &tensor,
        1e-3,
        "KD student, tensor step from the start",
    );
}

#[test]
fn host_step_outputs_equal_the_tensor_forward_on_a_training_batch() {
    let _serial = serial();
    let dir = scratch("host-batch");
    let ad = Device::flex().autodiff();
    for role in [Role::Teacher, Role::Student] {
        let cfg = tiny(&dir, &["student.window_features=true"]);
        let data = prepare(&cfg, cfg.data.root.as_ref().unwrap()).unwrap();
        let batcher = Batcher {
            data: &data,
            stats: data.stats.clone(),
            teacher_stats: None,
            role,
            grid_len: cfg.student.model.num_tokens,
            frames: cfg.data.skeleton_frames,
        };
        let windows: Vec<_> = data.train.iter().take(8).collect();
        let b = batcher.batch(&windows, false, &ad);
        let model = Model::init(&cfg, role, &ad);
        // The same dropout masks on both.
        fallkd_core::model::seed_dropout(1);
        let host = HostStep::forward(&model, &b, &ad)
            .unwrap()
            .expect("the host step runs on the CPU backend");
        fallkd_core::model::seed_dropout(1);
        let want: Vec<f32> = model
            .forward(&b)
            .logits
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let got: Vec<f32> = host
            .outputs()
            .logits
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() < 1e-4,
                "{role:?}: host {got:?} against tensor {want:?}"
            );
        }
        // Without autodiff there is no training step to run on the host.
        let plain = Model::init(&cfg, role, &Device::flex());
        let b = batcher.batch(&windows, false, &Device::flex());
        assert!(
            HostStep::forward(&plain, &b, &Device::flex())
                .unwrap()
                .is_none()
        );
    }
}

/// burn's CPU device has one random generator per process, which every run seeds and draws its
/// initial weights and dropout from: tests that train here run one at a time, so that a run's
/// numbers are its seed's alone (run concurrently, another test's draws interleave, and two runs
/// of one seed differ: `host_and_tensor_steps_train_alike` failed 1 time in 3 so).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
