//! Personalisation: a wearer's labelled recordings adapt an exported student to that wearer
//! (issue #33), on the device: natively (`fallkd personalize`) and, with the same code, in the
//! browser.
//!
//! What adapts ([`Adapt`]):
//! - **threshold**: the alarm threshold, chosen on the labelled recordings (the best recording
//!   F1; with no labelled fall, just above the highest daily-living score, never above
//!   [`PersonalizeConfig::max_threshold`]);
//! - **head**: the trunk's classifier and the window-feature path, fine-tuned with burn's
//!   autodiff on the frozen trunk's pooled features, each recording scored by a smooth maximum
//!   over its windows (an alarm is any window over the threshold), pulled toward the base
//!   weights (an L2 anchor) with clipped steps; then the threshold as above.
//!
//! Safeguards:
//! - with no labelled fall, the fall windows the model file carries
//!   ([`crate::fall_replay`]) stay caught, all but a share
//!   [`PersonalizeConfig::replay_tolerance`] of those the base model catches: the threshold stays
//!   at or under their scores ([`crate::fall_replay::threshold_cap`]), and a fine-tuned head
//!   learns from them as falls;
//! - the adapted model is scored by cross-validation on the wearer's own labels
//!   (recordings held out in turn, adapted on the rest); when it makes more errors than the
//!   base model there, the base model is kept and the report says why.
//!
//! Only the timestamp-aware student adapts; its trunk is frozen, so every window's pooled
//! features are computed once ([`represent`]).

use std::rc::Rc;

use burn::module::Module;
use burn::nn::{DropoutConfig, Linear};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData, activation::log_sigmoid};
use serde::{Deserialize, Serialize};

use crate::batch::{EventWindow, relative_times, student_events, window_feature_row_in};
use crate::error::Error;
use crate::inference::Pause;
use crate::model::student::FeatureHead;
use crate::model::{HostStudent, Student, TimestampAwareStudent};
use crate::model_file::ModelHeader;

/// The step of [`personalize_files_with`] that reads (and represents) the labelled recordings.
pub const READING: &str = "reading";
/// The steps that adapt: each fold of the cross-validation check, then the final fit.
pub const ADAPTING: &str = "adapting";

/// Hears a step of personalisation: the stage, the steps done, the stage's steps.
pub type StepReport = Rc<dyn Fn(&str, usize, usize)>;

/// What personalisation tells its caller while it runs, and where it lets the caller's event
/// loop in (the page's progress bar; nothing natively).
#[derive(Clone, Default)]
pub struct Progress {
    /// Called after each step with the stage ([`READING`] or [`ADAPTING`]), the steps done and
    /// the stage's steps.
    pub report: Option<StepReport>,
    /// Awaited after each step.
    pub pause: Option<Pause>,
}

impl Progress {
    /// Reports a step done, then lets the caller in.
    async fn step(&self, stage: &str, done: usize, of: usize) {
        if let Some(r) = &self.report {
            r(stage, done, of);
        }
        self.breathe().await;
    }

    /// Lets the caller in (its pause decides whether it is time to).
    async fn breathe(&self) {
        if let Some(Pause(p)) = &self.pause {
            p().await;
        }
    }
}

/// Runs `f`, a computation whose hooks never wait (the synchronous calls' empty
/// [`Progress`]), to its end.
fn finish_now<T>(f: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(r) => r,
        std::task::Poll::Pending => Err(Error::Invalid(
            "personalisation waited on a hook outside an event loop".into(),
        )),
    }
}

/// What adapts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Adapt {
    /// The alarm threshold only.
    Threshold,
    /// The classifier and window-feature path, then the threshold.
    Head,
    /// The head and the threshold when a fall is labelled; the threshold alone otherwise (a
    /// head fine-tuned on daily living alone lost 13-30 % of falls in the study).
    #[default]
    Auto,
}

/// Settings of [`personalize`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersonalizeConfig {
    /// What adapts.
    pub adapt: Adapt,
    /// Full-batch Adam steps of the head.
    pub steps: usize,
    /// Learning rate.
    pub lr: f64,
    /// Weight of the L2 pull toward the base weights (per parameter, summed).
    pub anchor: f64,
    /// Largest gradient norm of a step.
    pub clip: f64,
    /// Temperature of the smooth maximum over a recording's windows (logit units).
    pub temperature: f64,
    /// The highest threshold adaptation may choose.
    pub max_threshold: f64,
    /// Folds of the cross-validation safeguard (at most one per labelled recording).
    pub folds: usize,
    /// With no labelled fall, keep the fall windows the model file carries caught
    /// ([`crate::fall_replay`]).
    #[serde(default = "yes")]
    pub replay: bool,
    /// The share of the replayed falls the base model catches that the personal threshold may
    /// pass ([`crate::fall_replay::threshold_cap`]).
    #[serde(default = "replay_tolerance")]
    pub replay_tolerance: f64,
}

fn yes() -> bool {
    true
}

fn replay_tolerance() -> f64 {
    PersonalizeConfig::default().replay_tolerance
}

impl Default for PersonalizeConfig {
    fn default() -> Self {
        PersonalizeConfig {
            adapt: Adapt::Auto,
            // Chosen on the fold wearers (results/personalize/grid-round3.md).
            steps: 60,
            lr: 0.05,
            anchor: 0.01,
            clip: 1.0,
            temperature: 0.5,
            max_threshold: 0.9,
            folds: 5,
            // Chosen on the fold wearers (results/personalize/RULE.md, rounds 4 and 5).
            replay: true,
            replay_tolerance: 0.05,
        }
    }
}

pub use crate::fall_replay::WindowRep;

/// A labelled recording's windows.
#[derive(Debug, Clone)]
pub struct LabelledRecording {
    /// Its windows.
    pub windows: Vec<WindowRep>,
    /// Whether it holds a fall.
    pub fall: bool,
}

/// The frozen part of the forward for each window of a recording.
pub fn represent(
    host: &HostStudent,
    header: &ModelHeader,
    windows: &[EventWindow],
) -> Result<Vec<WindowRep>, Error> {
    let stats = &header.stats;
    windows
        .iter()
        .map(|w| {
            let features = stats
                .features
                .as_ref()
                .map(|fs| fs.apply(&window_feature_row_in(w, stats.axes)))
                .unwrap_or_default();
            let parts = host.forward_parts(
                &student_events(w, stats),
                &relative_times(w),
                (!features.is_empty()).then_some(&features[..]),
            )?;
            Ok(WindowRep {
                pooled: parts.pooled,
                features,
            })
        })
        .collect()
}

/// The adapted part of the student: its classifier and window-feature path.
#[derive(Module, Debug)]
pub struct Head {
    classifier: Linear,
    feature_head: Option<FeatureHead>,
}

impl Head {
    /// The head of `student`, without dropout.
    pub fn of(student: &TimestampAwareStudent) -> Head {
        Head {
            classifier: student.trunk.classifier.clone(),
            feature_head: student.feature_head.as_ref().map(|h| FeatureHead {
                hidden: h.hidden.clone(),
                dropout: DropoutConfig::new(0.0).init(),
                out: h.out.clone(),
            }),
        }
    }

    /// `student` with this head.
    pub fn into_student(self, mut student: TimestampAwareStudent) -> TimestampAwareStudent {
        student.trunk.classifier = self.classifier;
        if let (Some(mine), Some(theirs)) = (self.feature_head, student.feature_head.as_mut()) {
            theirs.hidden = mine.hidden;
            theirs.out = mine.out;
        }
        student
    }

    /// The squared L2 distance of the weights from `base`'s (a head of the same shape), `(1)`.
    pub fn distance(&self, base: &Head) -> Tensor<1> {
        fn linear(a: &Linear, b: &Linear) -> Tensor<1> {
            let w = (a.weight.val() - b.weight.val().detach())
                .powf_scalar(2.0)
                .sum();
            match (&a.bias, &b.bias) {
                (Some(x), Some(y)) => w + (x.val() - y.val().detach()).powf_scalar(2.0).sum(),
                _ => w,
            }
        }
        let mut d = linear(&self.classifier, &base.classifier);
        if let (Some(a), Some(b)) = (&self.feature_head, &base.feature_head) {
            d = d + linear(&a.hidden, &b.hidden) + linear(&a.out, &b.out);
        }
        d
    }

    /// Window logits.
    ///
    /// # Shapes
    /// - pooled: `(W, D)`; features: `(W, F)` (a head with the window-feature path)
    /// - output: `(W)`
    pub fn forward(&self, pooled: Tensor<2>, features: Option<Tensor<2>>) -> Tensor<1> {
        let [w, _] = pooled.dims();
        let mut logits = self.classifier.forward(pooled).reshape([w]);
        if let (Some(h), Some(f)) = (&self.feature_head, features) {
            logits = logits + h.forward(f);
        }
        logits
    }
}

/// The head's logits of every window of `recs`, on the CPU backend (no autodiff).
fn window_logits(head: &Head, recs: &[&LabelledRecording]) -> Result<Vec<Vec<f32>>, Error> {
    if recs.iter().all(|r| r.windows.is_empty()) {
        return Ok(vec![Vec::new(); recs.len()]);
    }
    let device = Device::flex();
    let head = head.clone().fork(&device);
    let (pooled, features, sizes) = stack(recs, &device);
    let logits = crate::model::host_forward::values(head.forward(pooled, features))?;
    let mut out = Vec::with_capacity(recs.len());
    let mut at = 0;
    for n in sizes {
        out.push(logits[at..at + n].to_vec());
        at += n;
    }
    Ok(out)
}

/// The windows of `recs` as `(W, D)` and `(W, F)` tensors, with each recording's window count.
fn stack(
    recs: &[&LabelledRecording],
    device: &Device,
) -> (Tensor<2>, Option<Tensor<2>>, Vec<usize>) {
    let sizes: Vec<usize> = recs.iter().map(|r| r.windows.len()).collect();
    let all: Vec<&WindowRep> = recs.iter().flat_map(|r| &r.windows).collect();
    let w = all.len();
    let d = all.first().map_or(0, |x| x.pooled.len());
    let f = all.first().map_or(0, |x| x.features.len());
    let pooled: Vec<f32> = all.iter().flat_map(|x| x.pooled.iter().copied()).collect();
    let pooled = Tensor::from_data(TensorData::new(pooled, [w, d]), device);
    let features = (f > 0).then(|| {
        let v: Vec<f32> = all
            .iter()
            .flat_map(|x| x.features.iter().copied())
            .collect();
        Tensor::from_data(TensorData::new(v, [w, f]), device)
    });
    (pooled, features, sizes)
}

/// A recording's score: its highest window probability (the alarm logic of one window over the
/// threshold).
fn score(logits: &[f32]) -> f64 {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    1.0 / (1.0 + (-(m as f64)).exp())
}

/// Fine-tunes `head` on `recs` (see the module documentation).
async fn fine_tune(
    head: &Head,
    recs: &[&LabelledRecording],
    cfg: &PersonalizeConfig,
    progress: &Progress,
) -> Result<Head, Error> {
    let ad = Device::flex().autodiff();
    let base = head.clone().fork(&ad).no_grad();
    let mut head = head.clone().fork(&ad).train();
    let (pooled, features, sizes) = stack(recs, &ad);
    let r = recs.len();
    let m = sizes.iter().copied().max().unwrap_or(0);
    let w: usize = sizes.iter().sum();
    if r == 0 || w == 0 {
        return Ok(head.fork(&Device::flex()));
    }
    // Window k of recording i at (i, k) of an (R, M) grid; empty cells read a far-negative
    // logit (index w of the logits padded by one).
    let mut index = Vec::with_capacity(r * m);
    let mut at = 0i64;
    for &n in &sizes {
        for k in 0..m {
            index.push(if k < n { at + k as i64 } else { w as i64 });
        }
        at += n as i64;
    }
    let index = Tensor::<1, burn::tensor::Int>::from_data(TensorData::new(index, [r * m]), &ad);
    let counts: Vec<f32> = sizes.iter().map(|&n| (n.max(1) as f32).ln()).collect();
    let log_counts = Tensor::<1>::from_data(TensorData::new(counts, [r]), &ad);
    let falls = recs.iter().filter(|x| x.fall).count();
    let (pos, neg) = (falls.max(1) as f32, (r - falls).max(1) as f32);
    let targets: Vec<f32> = recs.iter().map(|x| x.fall as u8 as f32).collect();
    // Each class weighs half of the loss.
    let weights: Vec<f32> = recs
        .iter()
        .map(|x| if x.fall { 0.5 / pos } else { 0.5 / neg })
        .collect();
    let targets = Tensor::<1>::from_data(TensorData::new(targets, [r]), &ad);
    let weights = Tensor::<1>::from_data(TensorData::new(weights, [r]), &ad);
    let tau = cfg.temperature as f32;
    let mut optim = AdamConfig::new()
        .with_grad_clipping(Some(burn::grad_clipping::GradientClippingConfig::Norm(
            cfg.clip as f32,
        )))
        .init();
    for _ in 0..cfg.steps {
        let logits = head.forward(pooled.clone(), features.clone());
        let padded = Tensor::cat(vec![logits, Tensor::full([1], -1e4, &ad)], 0);
        let grid = padded.select(0, index.clone()).reshape([r, m]) / tau;
        // Smooth maximum: tau log mean exp(logit / tau) over the recording's windows.
        let top = grid.clone().max_dim(1).detach();
        let lse = (grid - top.clone()).exp().sum_dim(1).log() + top;
        let z = (lse.reshape([r]) - log_counts.clone()) * tau;
        let bce = (targets.clone() * log_sigmoid(z.clone())
            + (targets.clone().neg() + 1.0) * log_sigmoid(z.neg()))
        .neg();
        let loss = (bce * weights.clone()).sum() + head.distance(&base) * cfg.anchor as f32;
        let grads = GradientsParams::from_grads(loss.backward(), &head);
        head = optim.step(cfg.lr, head, grads);
        progress.breathe().await;
    }
    Ok(head.fork(&Device::flex()))
}

/// The threshold adaptation chooses from recordings' scores: the best recording F1 (ties: the
/// one nearest `base`), or with no fall, just above the highest daily-living score; never below
/// the lowest score a threshold can split at, never above `max`.
pub fn choose_threshold(scores: &[(f64, bool)], base: f64, max: f64) -> f64 {
    let falls = scores.iter().filter(|s| s.1).count();
    if falls == 0 {
        let top = scores.iter().map(|s| s.0).fold(0.0, f64::max);
        return base.max((top + 0.02).min(max));
    }
    let mut sorted: Vec<f64> = scores.iter().map(|s| s.0).collect();
    sorted.sort_by(f64::total_cmp);
    let mut candidates: Vec<f64> = sorted.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
    candidates.push(base);
    let f1 = |t: f64| {
        let tp = scores.iter().filter(|s| s.1 && s.0 >= t).count() as f64;
        let fp = scores.iter().filter(|s| !s.1 && s.0 >= t).count() as f64;
        let fn_ = falls as f64 - tp;
        2.0 * tp / (2.0 * tp + fp + fn_).max(1.0)
    };
    candidates
        .into_iter()
        .filter(|&t| t <= max)
        .map(|t| (f1(t), -(t - base).abs(), t))
        .max_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)))
        .map_or(base.min(max), |c| c.2)
}

/// Whether the head adapts to `recs` under `adapt`.
fn head_adapts(adapt: Adapt, recs: &[&LabelledRecording]) -> bool {
    match adapt {
        Adapt::Threshold => false,
        Adapt::Head => true,
        Adapt::Auto => recs.iter().any(|r| r.fall),
    }
}

/// The replayed fall windows, each as a one-window fall recording, and the base model's score
/// of each.
struct Replay {
    recordings: Vec<LabelledRecording>,
    base_scores: Vec<f64>,
}

impl Replay {
    /// The replay `header` carries, checked against the shape of `like` (a labelled window);
    /// empty when there is none or `cfg.replay` is off.
    fn of(
        header: &ModelHeader,
        base: &Head,
        like: &WindowRep,
        cfg: &PersonalizeConfig,
    ) -> Result<Replay, Error> {
        let recordings: Vec<LabelledRecording> = match &header.fall_replay {
            Some(r) if cfg.replay => {
                r.check(like.pooled.len(), like.features.len())?;
                r.windows
                    .iter()
                    .map(|w| LabelledRecording {
                        windows: vec![w.clone()],
                        fall: true,
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        let base_scores = recording_scores(base, &recordings.iter().collect::<Vec<_>>())?;
        Ok(Replay {
            recordings,
            base_scores,
        })
    }
}

/// A fitted head, its threshold, and the cap the replayed falls put on it (when they lowered
/// it).
struct Fit {
    head: Head,
    threshold: f64,
    capped: Option<f64>,
}

/// A head and its threshold fitted to `recs` (with `replay` when no fall is labelled).
async fn fit(
    base: &Head,
    base_threshold: f64,
    recs: &[&LabelledRecording],
    replay: &Replay,
    cfg: &PersonalizeConfig,
    progress: &Progress,
) -> Result<Fit, Error> {
    let replaying = !replay.recordings.is_empty() && !recs.iter().any(|r| r.fall);
    let adapts = head_adapts(cfg.adapt, recs);
    let head = if adapts {
        let mut all = recs.to_vec();
        if replaying {
            all.extend(replay.recordings.iter());
        }
        fine_tune(base, &all, cfg, progress).await?
    } else {
        base.clone()
    };
    let scores: Vec<(f64, bool)> = window_logits(&head, recs)?
        .iter()
        .zip(recs)
        .map(|(l, r)| (score(l), r.fall))
        .collect();
    let mut threshold = choose_threshold(&scores, base_threshold, cfg.max_threshold);
    let mut capped = None;
    if replaying {
        // The base head scores the replay as it did when the replay was read.
        let adapted = if adapts {
            recording_scores(&head, &replay.recordings.iter().collect::<Vec<_>>())?
        } else {
            replay.base_scores.clone()
        };
        if let Some(cap) = crate::fall_replay::threshold_cap(
            &replay.base_scores,
            &adapted,
            base_threshold,
            cfg.replay_tolerance,
        ) && cap < threshold
        {
            threshold = cap;
            capped = Some(cap);
        }
    }
    Ok(Fit {
        head,
        threshold,
        capped,
    })
}

/// Missed falls plus alarming daily-living recordings of `head` at `threshold` on `recs`.
fn errors(head: &Head, threshold: f64, recs: &[&LabelledRecording]) -> Result<usize, Error> {
    Ok(window_logits(head, recs)?
        .iter()
        .zip(recs)
        .filter(|(l, r)| (score(l) >= threshold) != r.fall)
        .count())
}

/// A personal model: the adapted student, its header and what was done.
#[derive(Debug, Clone)]
pub struct Personal {
    /// The student (the base model's when the safeguard kept it).
    pub model: Student,
    /// Its header: the personal threshold, the provenance of the adaptation.
    pub header: ModelHeader,
    /// What was done, and whether it is used.
    pub report: crate::provenance::Personalization,
}

/// Adapts `model` (with `header`, the file's SHA-256 `base_sha256`) to a wearer's labelled
/// recordings; `date` is written into the provenance. See the module documentation.
///
/// Errors: a model other than the timestamp-aware student, fewer than 2 labelled recordings,
/// or weights the host forward cannot read.
pub fn personalize(
    model: &Student,
    header: &ModelHeader,
    recordings: &[LabelledRecording],
    cfg: &PersonalizeConfig,
    date: &str,
) -> Result<Personal, Error> {
    finish_now(personalize_with(
        model,
        header,
        recordings,
        cfg,
        date,
        &Progress::default(),
    ))
}

/// [`personalize`], telling `progress` of each step (`adapting`: each fold of the check, then
/// the final fit) and letting its pause in between.
pub async fn personalize_with(
    model: &Student,
    header: &ModelHeader,
    recordings: &[LabelledRecording],
    cfg: &PersonalizeConfig,
    date: &str,
    progress: &Progress,
) -> Result<Personal, Error> {
    let Some(student) = model.timestamp_aware() else {
        return Err(Error::Invalid(
            "only the timestamp-aware student personalises, not the fixed-rate baseline".into(),
        ));
    };
    let recs: Vec<&LabelledRecording> = recordings
        .iter()
        .filter(|r| !r.windows.is_empty())
        .collect();
    if recs.len() < 2 {
        return Err(Error::Invalid(format!(
            "{} labelled recording{} with windows: personalisation needs at least 2 (it checks \
             itself on recordings it did not learn from)",
            recs.len(),
            if recs.len() == 1 { "" } else { "s" }
        )));
    }
    let base = Head::of(student);
    let base_threshold = header.alarm_config().threshold;
    let replay = Replay::of(header, &base, &recs[0].windows[0], cfg)?;
    // The safeguard: each recording held out once (in `folds` folds), adapted on the rest.
    let k = cfg.folds.clamp(2, recs.len());
    let (mut base_errors, mut personal_errors) = (0, 0);
    for fold in 0..k {
        let (held, rest): (Vec<_>, Vec<_>) =
            recs.iter().enumerate().partition(|(i, _)| i % k == fold);
        let held: Vec<&LabelledRecording> = held.into_iter().map(|(_, r)| *r).collect();
        let rest: Vec<&LabelledRecording> = rest.into_iter().map(|(_, r)| *r).collect();
        let f = fit(&base, base_threshold, &rest, &replay, cfg, progress).await?;
        base_errors += errors(&base, base_threshold, &held)?;
        personal_errors += errors(&f.head, f.threshold, &held)?;
        progress.step(ADAPTING, fold + 1, k + 1).await;
    }
    let Fit {
        head,
        threshold,
        capped,
    } = fit(&base, base_threshold, &recs, &replay, cfg, progress).await?;
    progress.step(ADAPTING, k + 1, k + 1).await;
    let used = personal_errors <= base_errors;
    let falls = recs.iter().filter(|r| r.fall).count();
    let adapted = if head_adapts(cfg.adapt, &recs) {
        "head and threshold"
    } else {
        "threshold"
    };
    let replayed = if falls == 0 {
        replay.recordings.len()
    } else {
        0
    };
    let kept = match capped {
        Some(c) => format!(
            "; with no labelled fall the threshold stays at {c:.3}, so that the fall windows \
             shipped with the model that the base model catches still alarm (all but {:.0} % \
             of them)",
            100.0 * cfg.replay_tolerance
        ),
        None => String::new(),
    };
    let why = if used {
        format!(
            "on the labelled recordings, each held out in turn, the personal model made \
             {personal_errors} error{} and the base model {base_errors}{kept}",
            if personal_errors == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "not used: on the labelled recordings, each held out in turn, the personal model made \
             {personal_errors} errors and the base model {base_errors}; the base model is kept"
        )
    };
    let report = crate::provenance::Personalization {
        recordings: recs.len(),
        falls,
        windows: recs.iter().map(|r| r.windows.len()).sum(),
        adapted: adapted.into(),
        threshold: if used { threshold } else { base_threshold },
        base_errors,
        personal_errors,
        used,
        why,
        date: date.into(),
        replayed,
        replay_cap: capped.filter(|_| used),
    };
    let mut out = header.clone();
    let mut provenance = out.provenance.clone().unwrap_or_default();
    provenance.base_model = header.file.sha256.clone();
    provenance.personalization = Some(report.clone());
    provenance.exported = date.into();
    out.provenance = Some(provenance);
    let model = if used {
        let t = threshold;
        out.threshold = t;
        if let Some(a) = out.alarm.as_mut() {
            a.threshold = t;
        }
        Student::TimestampAware(head.into_student(student.clone()))
    } else {
        model.clone()
    };
    Ok(Personal {
        model,
        header: out,
        report,
    })
}

/// A labelled recording's files as the user gives them: the accelerometer file (it may hold the
/// gyroscope too), the gyroscope file, and whether it holds a fall.
#[derive(Debug, Clone, Copy)]
pub struct LabelledFiles<'a> {
    /// The accelerometer file's name and bytes.
    pub acc: (&'a str, &'a [u8]),
    /// The gyroscope file's, if any.
    pub gyro: Option<(&'a str, &'a [u8])>,
    /// Whether it holds a fall.
    pub fall: bool,
}

/// The whole of personalisation as `fallkd personalize` and the page run it: the base model
/// file's bytes and the labelled recordings' files in, the personal model file's bytes (format
/// 2, with its provenance) and what was done out. `date` goes into the provenance.
///
/// Errors: a damaged base model, an unreadable recording (naming its file and line), too few
/// labelled recordings.
pub fn personalize_files(
    base: &[u8],
    files: &[LabelledFiles<'_>],
    cfg: &PersonalizeConfig,
    date: &str,
) -> Result<(Vec<u8>, crate::provenance::Personalization), Error> {
    finish_now(personalize_files_with(
        base,
        files,
        cfg,
        date,
        &Progress::default(),
    ))
}

/// [`personalize_files`], telling `progress` of each step (`reading` each labelled recording,
/// then `adapting`) and letting its pause in between: the page shows a progress bar and stays
/// responsive.
pub async fn personalize_files_with(
    base: &[u8],
    files: &[LabelledFiles<'_>],
    cfg: &PersonalizeConfig,
    date: &str,
    progress: &Progress,
) -> Result<(Vec<u8>, crate::provenance::Personalization), Error> {
    let (header, model) = crate::model_file::from_bytes(base, &Device::flex())?;
    let student = model.timestamp_aware().ok_or_else(|| {
        Error::Invalid(
            "only the timestamp-aware student personalises, not the fixed-rate baseline".into(),
        )
    })?;
    let host = HostStudent::new(student)?;
    let window = header.window_config();
    let mut recs = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let r = crate::inference::prepare_recording(f.acc, f.gyro, &window)?;
        let windows: Vec<EventWindow> = r.windows.iter().map(EventWindow::from).collect();
        recs.push(LabelledRecording {
            windows: represent(&host, &header, &windows)?,
            fall: f.fall,
        });
        progress.step(READING, i + 1, files.len()).await;
    }
    let p = personalize_with(&model, &header, &recs, cfg, date, progress).await?;
    let record = match p.model {
        Student::TimestampAware(m) => m.into_record(),
        Student::FixedRate(m) => m.into_record(),
    };
    Ok((crate::model_file::to_bytes(&p.header, record)?, p.report))
}

/// The fall replay a model file carries ([`crate::fall_replay`]): of each recording in `falls`
/// (its windows, cut as `header` says), the window `student` scores highest. Recordings without
/// a window are left out.
pub fn fall_replay(
    student: &TimestampAwareStudent,
    header: &ModelHeader,
    falls: &[Vec<EventWindow>],
    source: String,
) -> Result<crate::fall_replay::FallReplay, Error> {
    let host = HostStudent::new(student)?;
    let head = Head::of(student);
    let mut windows = Vec::with_capacity(falls.len());
    for f in falls {
        let mut rec = LabelledRecording {
            windows: represent(&host, header, f)?,
            fall: true,
        };
        let logits = window_logits(&head, &[&rec])?.swap_remove(0);
        if let Some(best) = (0..logits.len()).max_by(|&a, &b| logits[a].total_cmp(&logits[b])) {
            windows.push(rec.windows.swap_remove(best));
        }
    }
    Ok(crate::fall_replay::FallReplay { source, windows })
}

/// Each recording's score under `head`: its highest window probability.
pub fn recording_scores(head: &Head, recs: &[&LabelledRecording]) -> Result<Vec<f64>, Error> {
    Ok(window_logits(head, recs)?
        .iter()
        .map(|l| score(l))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{StudentConfig, TimestampAwareStudentConfig};

    /// A small student with the window-feature path, and a header for it.
    fn base() -> (Student, ModelHeader) {
        let cfg = StudentConfig::TimestampAware(
            TimestampAwareStudentConfig::new()
                .with_embed_dim(16)
                .with_num_tokens(8)
                .with_num_heads(2)
                .with_num_layers(1)
                .with_window_features(true),
        );
        let model = cfg.init(&Device::flex());
        let header: ModelHeader = serde_json::from_value(serde_json::json!({
            "arch": serde_json::to_value(&cfg).unwrap(),
            "stats": serde_json::to_value(crate::data::normalize::NormStats::default()).unwrap(),
            "threshold": 0.5,
            "window_seconds": 4.0,
            "description": "test",
        }))
        .unwrap();
        (model, header)
    }

    /// Recordings of 3 windows: falls along +u in the pooled features, daily living along -u,
    /// and `hard` daily-living recordings that look like falls (along +u too).
    fn recordings(falls: usize, adls: usize, hard: usize) -> Vec<LabelledRecording> {
        let rep = |sign: f32, k: usize| WindowRep {
            pooled: (0..16)
                .map(|i| {
                    sign * 2.0 * if i % 2 == 0 { 1.0 } else { -0.5 }
                        + 0.05 * ((i * 7 + k * 3) % 5) as f32
                })
                .collect(),
            features: (0..crate::features::NUM_FEATURES)
                .map(|i| sign * if i % 3 == 0 { 1.0 } else { 0.0 })
                .collect(),
        };
        let rec = |sign: f32, fall: bool, k: usize| LabelledRecording {
            windows: (0..3).map(|j| rep(sign, k + j)).collect(),
            fall,
        };
        (0..falls)
            .map(|k| rec(1.0, true, k))
            .chain((0..adls).map(|k| rec(-1.0, false, k)))
            .chain((0..hard).map(|k| rec(0.9, false, k)))
            .collect()
    }

    #[test]
    fn a_labelled_false_alarm_stops_alarming_and_the_falls_still_do() {
        let (model, header) = base();
        let student = model.timestamp_aware().unwrap();
        // Make the base model alarm on everything that looks like a fall: set the head so that
        // +u scores high (the hard daily-living recordings then alarm too).
        let recs = recordings(4, 4, 2);
        let cfg = PersonalizeConfig {
            adapt: Adapt::Head,
            steps: 150,
            lr: 0.05,
            ..Default::default()
        };
        let p = personalize(&model, &header, &recs, &cfg, "2026-12-07T00:00:00Z").unwrap();
        let all: Vec<&LabelledRecording> = recs.iter().collect();
        let head = Head::of(p.model.timestamp_aware().unwrap());
        let scores = recording_scores(&head, &all).unwrap();
        let t = p.header.alarm_config().threshold;
        assert!(p.report.used, "{:?}", p.report);
        for (s, r) in scores.iter().zip(&recs) {
            assert_eq!(*s >= t, r.fall, "score {s} at threshold {t}: {:?}", scores);
        }
        assert_eq!(p.report.adapted, "head and threshold");
        assert_eq!(
            p.header
                .provenance
                .as_ref()
                .unwrap()
                .personalization
                .as_ref(),
            Some(&p.report)
        );
        // The same inputs give the same model.
        let again = personalize(&model, &header, &recs, &cfg, "2026-12-07T00:00:00Z").unwrap();
        let again =
            recording_scores(&Head::of(again.model.timestamp_aware().unwrap()), &all).unwrap();
        assert_eq!(scores, again);
        // The base head differs from the personal one.
        let base_scores = recording_scores(&Head::of(student), &all).unwrap();
        assert_ne!(scores, base_scores);
    }

    #[test]
    fn without_a_labelled_fall_auto_adapts_the_threshold_only() {
        let (model, header) = base();
        let recs = recordings(0, 3, 0);
        let p = personalize(&model, &header, &recs, &PersonalizeConfig::default(), "d").unwrap();
        assert_eq!(p.report.adapted, "threshold");
        let before = Head::of(model.timestamp_aware().unwrap());
        let after = Head::of(p.model.timestamp_aware().unwrap());
        let all: Vec<&LabelledRecording> = recs.iter().collect();
        assert_eq!(
            recording_scores(&before, &all).unwrap(),
            recording_scores(&after, &all).unwrap()
        );
        // One recording is too few to check itself on.
        let e = personalize(
            &model,
            &header,
            &recs[..1],
            &PersonalizeConfig::default(),
            "d",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("at least 2"), "{e}");
    }

    #[test]
    fn without_a_labelled_fall_the_replayed_falls_keep_alarming() {
        let (model, mut header) = base();
        let student = model.timestamp_aware().unwrap();
        let head = Head::of(student);
        // Three daily-living recordings, two of them look like falls (they alarm).
        let recs = recordings(0, 1, 2);
        // Replayed falls: the first window of each fall-like recording, so each scores at most
        // as high as a labelled daily-living recording.
        let replay: Vec<WindowRep> = recs[1..].iter().map(|r| r.windows[0].clone()).collect();
        let one: Vec<LabelledRecording> = replay
            .iter()
            .map(|w| LabelledRecording {
                windows: vec![w.clone()],
                fall: true,
            })
            .collect();
        let replay_scores = recording_scores(&head, &one.iter().collect::<Vec<_>>()).unwrap();
        let lowest = replay_scores.iter().copied().fold(1.0, f64::min);
        // The base model catches every replayed fall.
        header.threshold = lowest - 1e-3;
        header.fall_replay = Some(crate::fall_replay::FallReplay {
            source: "test".into(),
            windows: replay.clone(),
        });
        let cfg = PersonalizeConfig {
            max_threshold: 0.999,
            ..Default::default()
        };
        let off = PersonalizeConfig {
            replay: false,
            ..cfg.clone()
        };
        let without = personalize(&model, &header, &recs, &off, "d").unwrap();
        let with = personalize(&model, &header, &recs, &cfg, "d").unwrap();
        let t_without = without.header.alarm_config().threshold;
        let t_with = with.header.alarm_config().threshold;
        // Without the replay the threshold clears the labelled daily living and loses the
        // replayed falls; with it, it stays at the lowest of their scores.
        assert!(t_without > lowest, "{t_without} {lowest}");
        assert_eq!(without.report.replayed, 0);
        assert!(with.report.used, "{:?}", with.report);
        assert_eq!(with.report.replayed, 2);
        assert_eq!(with.report.replay_cap, Some(lowest));
        assert_eq!(t_with, lowest);
        assert!(replay_scores.iter().all(|s| *s >= t_with));
        assert!(
            with.report.why.contains("fall windows shipped"),
            "{}",
            with.report.why
        );
        // A labelled fall: the wearer's own falls guide, the replay stays out.
        let mut mixed = recs.clone();
        mixed.extend(recordings(1, 0, 0));
        let labelled = personalize(&model, &header, &mixed, &cfg, "d").unwrap();
        assert_eq!(labelled.report.replayed, 0);
        assert_eq!(labelled.report.replay_cap, None);
        // A replay of another model's shape is refused, naming it.
        header.fall_replay.as_mut().unwrap().windows[0].pooled.pop();
        let e = personalize(&model, &header, &recs, &cfg, "d")
            .unwrap_err()
            .to_string();
        assert!(e.contains("fall replay is damaged"), "{e}");
    }

    #[test]
    fn the_replay_keeps_each_fall_recordings_highest_window() {
        // Without the window-feature path (the default statistics carry no feature scaling).
        let (_, mut header) = base();
        let cfg = StudentConfig::TimestampAware(
            TimestampAwareStudentConfig::new()
                .with_embed_dim(16)
                .with_num_tokens(8)
                .with_num_heads(2)
                .with_num_layers(1),
        );
        let model = cfg.init(&Device::flex());
        header.arch = cfg;
        let student = model.timestamp_aware().unwrap();
        let synth = crate::synth::generate(&crate::synth::SynthConfig::one_subject(1, 3));
        let window = header.window_config();
        let mut falls = Vec::new();
        for (rel, text) in synth.iter().filter(|(rel, _)| {
            rel.contains("accelerometer")
                && crate::data::trial::TrialKey::parse(rel).is_some_and(|k| k.is_fall())
        }) {
            let r =
                crate::inference::prepare_recording((rel, text.as_bytes()), None, &window).unwrap();
            falls.push(r.windows.iter().map(EventWindow::from).collect::<Vec<_>>());
        }
        assert!(falls.len() >= 2, "{} generated falls", falls.len());
        let r = fall_replay(student, &header, &falls, "generated".into()).unwrap();
        assert_eq!(r.windows.len(), falls.len());
        let host = HostStudent::new(student).unwrap();
        let head = Head::of(student);
        for (f, kept) in falls.iter().zip(&r.windows) {
            let rec = LabelledRecording {
                windows: represent(&host, &header, f).unwrap(),
                fall: true,
            };
            let top = recording_scores(&head, &[&rec]).unwrap()[0];
            let one = LabelledRecording {
                windows: vec![kept.clone()],
                fall: true,
            };
            assert_eq!(recording_scores(&head, &[&one]).unwrap()[0], top);
        }
    }

    #[test]
    fn progress_hears_every_step_and_the_answer_is_the_same() {
        let (model, header) = base();
        let recs = recordings(3, 3, 0);
        let seen = Rc::new(std::cell::RefCell::new(Vec::new()));
        let log = Rc::clone(&seen);
        let progress = Progress {
            report: Some(Rc::new(move |stage: &str, done, of| {
                log.borrow_mut().push((stage.to_string(), done, of))
            })),
            pause: None,
        };
        let cfg = PersonalizeConfig::default();
        let with = finish_now(personalize_with(
            &model, &header, &recs, &cfg, "d", &progress,
        ))
        .unwrap();
        let without = personalize(&model, &header, &recs, &cfg, "d").unwrap();
        assert_eq!(with.report, without.report);
        // 5 folds of the check, then the final fit.
        let want: Vec<(String, usize, usize)> =
            (1..=6).map(|i| (ADAPTING.to_string(), i, 6)).collect();
        assert_eq!(*seen.borrow(), want);
    }

    #[test]
    fn thresholds_split_the_labelled_scores_or_clear_the_daily_living() {
        // Falls at 0.4 and 0.6, daily living at 0.1 and 0.3: a threshold between 0.3 and 0.4.
        let s = [(0.4, true), (0.6, true), (0.1, false), (0.3, false)];
        let t = choose_threshold(&s, 0.5, 0.9);
        assert!((t - 0.35).abs() < 1e-12, "{t}");
        // No fall: just above the highest daily-living score, not below the base, capped.
        assert!((choose_threshold(&[(0.7, false), (0.2, false)], 0.5, 0.9) - 0.72).abs() < 1e-12);
        assert_eq!(choose_threshold(&[(0.2, false)], 0.5, 0.9), 0.5);
        assert_eq!(choose_threshold(&[(0.99, false)], 0.5, 0.9), 0.9);
    }
}
