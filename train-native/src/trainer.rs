//! The training loop shared by teacher, students and baseline: AdamW with linear warm-up and
//! cosine decay to 2 % of the peak rate, gradient clipping, early stopping on the validation
//! criterion (`train.select`: best-threshold F1 or log loss), atomic checkpoints, resume.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamWConfig, ModuleOptimizer};
use burn::tensor::{Bytes, Device};
use fallkd_core::data::window::Window;
use fallkd_core::losses::{Comodo, TaskLoss};
use fallkd_core::metrics::{BinaryMetrics, best_threshold, binary_metrics, log_loss};
use fallkd_core::model::seed_training;

use crate::batcher::Batcher;
use crate::checkpoint::{load_module, save_module, write_atomic};
use crate::config::{RunConfig, Selection};
use crate::dataset::Prepared;
use crate::epoch::EpochRun;
use crate::model::{Net, latency_ms, load_trained, predict};
use crate::predictions::{Prediction, windows_to_predict};
use crate::run_dir::{
    CSV_HEADER, EpochRecord, Role, RunDir, RunSummary, TrainState, recover_checkpoint, run_name,
};
use crate::teacher_cache::{KdTeacher, TeacherCache, load_kd_teacher};
use crate::weight_average::WeightAverage;

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
    let (mut comodo, teacher_cache) =
        distillation_state(cfg, kd_teacher.as_ref(), &batcher, &train_windows, &ad)?;
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
            eprintln!("{} {}", epoch_run.name, rec.progress_line());
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

/// The COMODO queue, seeded with real teacher embeddings of training windows (with its weight on),
/// and the KD teacher's outputs computed once ([`TeacherCache`], when they fit).
fn distillation_state(
    cfg: &RunConfig,
    kd_teacher: Option<&KdTeacher>,
    batcher: &Batcher,
    train_windows: &[&Window],
    device: &Device,
) -> Result<(Option<Comodo>, Option<TeacherCache>)> {
    let Some(t) = kd_teacher else {
        return Ok((None, None));
    };
    let comodo = if cfg.kd.weights.comodo > 0.0 {
        let mut c = cfg.kd.comodo.init();
        for chunk in train_windows
            .chunks(cfg.train.batch_size)
            .take(cfg.kd.comodo.queue_size.div_ceil(cfg.train.batch_size))
        {
            let b = batcher.batch(chunk, true, device);
            c.enqueue(t.model.forward(b.frames.expect("frames"), None)?.features);
        }
        Some(c)
    } else {
        None
    };
    let cache = TeacherCache::build(
        t,
        batcher,
        train_windows,
        cfg.train.batch_size,
        TeacherCache::MAX_VALUES,
        device,
    )?;
    Ok((comodo, cache))
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
