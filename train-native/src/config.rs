//! Run configuration: YAML files in `kd_config/`, overridden by `--set key=value` and CLI flags.
//! Unknown keys and invalid values are errors that name the key.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fallkd_core::data::augment::AugmentConfig;
use fallkd_core::data::gravity::Axes;
use fallkd_core::data::trial::GyroPolicy;
use fallkd_core::data::window::WindowConfig;
use fallkd_core::losses::{
    AttentionKdConfig, ComodoConfig, EmbeddingKdConfig, KdWeights, ResponseKdConfig, TaskLossKind,
};
use fallkd_core::model::{SkeletonTransformerConfig, StudentConfig, TimestampAwareStudentConfig};
use fallkd_core::perturb::PerturbConfig;
use serde::{Deserialize, Serialize};

/// Which training step a run takes (`train.step`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// The host step on the CPU backend for the teacher and the timestamp-aware student; the
    /// tensor step elsewhere (other devices, the fixed-rate baseline).
    #[default]
    Auto,
    /// Always burn's autodiff over the tensor forward.
    Tensor,
}

/// Everything a run needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Seed for initialisation, shuffling, splits and perturbations.
    pub seed: u64,
    /// Where the data comes from and how it is split.
    pub data: DataSection,
    /// Windowing.
    pub window: WindowConfig,
    /// Teacher architecture (`SkeletonTransformerConfig`, its defaults there).
    pub teacher: SkeletonTransformerConfig,
    /// Student architecture.
    pub student: StudentSection,
    /// Distillation.
    pub kd: KdSection,
    /// Optimisation.
    pub train: TrainSection,
    /// Stress tests.
    pub stress: StressSection,
    /// Feature-model reference rows (`fallkd train-features`).
    pub features: FeaturesSection,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            seed: 42,
            data: DataSection::default(),
            window: WindowConfig::default(),
            teacher: SkeletonTransformerConfig::new(),
            student: StudentSection::default(),
            kd: KdSection::default(),
            train: TrainSection::default(),
            stress: StressSection::default(),
            features: Default::default(),
        }
    }
}

/// Data source and split.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSection {
    /// SmartFallMM root (the folder holding `young/`); generated data when absent.
    pub root: Option<PathBuf>,
    /// Trials without a usable gyroscope: `drop` or `keep-missing`.
    pub gyro: GyroPolicy,
    /// Subject split.
    pub split: SplitSection,
    /// Skeleton frames per teacher window (4 s at 30 fps = 120).
    pub skeleton_frames: usize,
    /// Generated data: subjects.
    pub synth_subjects: u16,
    /// Generated data: trials per activity.
    pub synth_trials: u16,
    /// Drop identical copies of a watch recording filed under several trial names, keeping
    /// one (`fallkd_core::data::dedup`).
    pub dedup: bool,
    /// Older adults' daily living (`old/` beside `young/`).
    pub old_adults: OldAdultsSection,
    /// The lockbox subjects (`fallkd_core::data::lockbox`, results/lockbox/RULE.md): `exclude`
    /// (the default) drops their recordings at load time, so they train, validate and choose
    /// nothing; `include` keeps them (only to reproduce rounds made before the lockbox).
    pub lockbox: LockboxPolicy,
}

/// What a run does with the lockbox subjects.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LockboxPolicy {
    /// Their recordings are dropped at load time.
    #[default]
    Exclude,
    /// They load like any subject (rounds made before the lockbox).
    Include,
}

/// The older adults' daily-living recordings (accelerometer only, no falls).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OldAdultsSection {
    /// Older adults (their own numbers, 1 for old S01) this run scores for false alarms.
    pub test: Vec<u16>,
    /// Train on every other older adult's windows as extra negatives.
    pub train: bool,
    /// Older adults held out of training and predicted as validation (`old-val`): the
    /// false-alarm side of the operating threshold (`fallkd loso --old-alarm-budget`). Never one
    /// of `test`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub val: Vec<u16>,
}

impl Default for DataSection {
    fn default() -> Self {
        DataSection {
            root: None,
            gyro: GyroPolicy::Drop,
            split: SplitSection::default(),
            skeleton_frames: 120,
            synth_subjects: 8,
            synth_trials: 2,
            dedup: true,
            old_adults: OldAdultsSection::default(),
            lockbox: LockboxPolicy::Exclude,
        }
    }
}

/// How subjects are split.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SplitSection {
    /// `fixed` (lists below) or `loso` (fold below).
    pub kind: SplitKind,
    /// Validation subjects (fixed). Empty: chosen automatically (docs/cli.md, "Splits").
    pub val: Vec<u16>,
    /// Test subjects (fixed). Empty: chosen automatically (docs/cli.md, "Splits").
    pub test: Vec<u16>,
    /// Test subject of the leave-one-subject-out fold.
    pub fold: Option<u16>,
}

impl Default for SplitSection {
    fn default() -> Self {
        SplitSection {
            kind: SplitKind::Fixed,
            val: vec![],
            test: vec![],
            fold: None,
        }
    }
}

/// Split kinds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SplitKind {
    /// Subject lists.
    Fixed,
    /// Leave one subject out.
    Loso,
}

/// Which student a run trains.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum StudentArch {
    /// Event-token resampler student.
    #[default]
    TimestampAware,
    /// Fixed-rate interpolation baseline (the same trunk settings; `time_mode`, `locality_bias`,
    /// `window_features` and `magnitude_channels` do not apply).
    FixedRate,
}

/// The student: its architecture and the settings of `TimestampAwareStudentConfig` (defaults
/// there), flattened beside `arch` in YAML (`student.arch`, `student.num_tokens`, ...).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudentSection {
    /// `timestamp-aware` or `fixed-rate`.
    pub arch: StudentArch,
    /// The frame the student reads events in: `device` (the watch's axes) or `gravity`
    /// (lengths and gravity projections, the same on any wrist or watch frame;
    /// `fallkd_core::data::gravity`). Stored with the model's statistics.
    #[serde(default)]
    pub axes: Axes,
    /// The model's settings (the fixed-rate baseline takes the trunk's from them).
    #[serde(flatten)]
    pub model: TimestampAwareStudentConfig,
}

impl Default for StudentSection {
    fn default() -> Self {
        StudentSection {
            arch: StudentArch::default(),
            axes: Axes::Device,
            model: TimestampAwareStudentConfig::new(),
        }
    }
}

impl StudentSection {
    /// The core configuration of the chosen student.
    pub fn config(&self) -> StudentConfig {
        match self.arch {
            StudentArch::TimestampAware => StudentConfig::TimestampAware(self.model.clone()),
            StudentArch::FixedRate => StudentConfig::FixedRate(self.model.fixed_rate()),
        }
    }
}

/// Distillation settings; the loss weights and each loss's settings are core's configurations
/// (their defaults there).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KdSection {
    /// Distil from a teacher at all.
    pub enabled: bool,
    /// Teacher run directory (holding `config.yaml`, `model.bpk`, `norm.json`).
    pub teacher: Option<PathBuf>,
    /// Loss weights (`task`, `embedding`, `gram`, `comodo`, `attention`, `response`).
    pub weights: KdWeights,
    /// Embedding KD (`temperature`).
    pub embedding: EmbeddingKdConfig,
    /// Attention KD (`divergence`: kl, mse or js; `temperature`).
    pub attention: AttentionKdConfig,
    /// COMODO (`queue_size`, `teacher_temperature`, `student_temperature`).
    pub comodo: ComodoConfig,
    /// Response KD (`temperature`, `where_teacher_right`).
    pub response: ResponseKdConfig,
}

impl Default for KdSection {
    fn default() -> Self {
        KdSection {
            enabled: false,
            teacher: None,
            weights: KdWeights::new(),
            embedding: EmbeddingKdConfig::new(),
            attention: AttentionKdConfig::new(),
            comodo: ComodoConfig::new(),
            response: ResponseKdConfig::new(),
        }
    }
}

impl KdSection {
    /// Checks every setting, naming the key (`kd.weights.gram`, `kd.comodo.queue_size`, ...).
    pub fn validate(&self) -> Result<(), fallkd_core::Error> {
        self.weights.validate()?;
        self.embedding.validate()?;
        self.attention.validate()?;
        self.comodo.validate()?;
        self.response.validate()
    }
}

/// Which feature model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FeatureModel {
    /// Gradient-boosted trees on the window features.
    #[default]
    Gbm,
    /// Peak |acceleration| above a threshold.
    Peak,
    /// Every window is a fall: what a score means under a protocol (F1 of a classifier that
    /// knows nothing).
    AlwaysFall,
}

/// Settings of the feature models (`features:` in the configuration).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FeaturesSection {
    /// `gbm` or `peak`.
    pub model: FeatureModel,
    /// Trees.
    pub trees: usize,
    /// Tree depth.
    pub max_depth: usize,
    /// Shrinkage.
    pub learning_rate: f64,
}

impl Default for FeaturesSection {
    fn default() -> Self {
        FeaturesSection {
            model: FeatureModel::Gbm,
            trees: 300,
            max_depth: 4,
            learning_rate: 0.05,
        }
    }
}

/// What picks the best epoch of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Selection {
    /// Best-threshold F1 on the validation windows.
    #[default]
    ValF1,
    /// Mean log loss on the validation windows.
    ValLoss,
}

/// Optimisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSection {
    /// Maximum epochs.
    pub epochs: usize,
    /// Windows per batch.
    pub batch_size: usize,
    /// Peak learning rate (AdamW).
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Linear warm-up, in epochs (fractions allowed).
    pub warmup_epochs: f64,
    /// Gradient-norm clipping (0 disables).
    pub grad_clip: f64,
    /// Early stopping: epochs without improvement of the selection criterion.
    pub patience: usize,
    /// What picks the best epoch (and stops early): `val-f1` (best-threshold F1 of the validation
    /// windows; ties keep the earlier epoch) or `val-loss` (mean log loss of the validation
    /// windows, which keeps improving after a small validation subject's F1 reaches 1).
    pub select: Selection,
    /// Task loss: `{kind: bce, pos_weight}` or `{kind: focal, alpha, gamma}`.
    pub loss: TaskLossKind,
    /// Cap on training batches per epoch (0: no cap).
    pub max_batches_per_epoch: usize,
    /// Probability that a training window's gyroscope is zeroed and marked missing, so that one
    /// model works with and without a gyroscope (0: off).
    pub gyro_dropout: f64,
    /// Augmentation of training windows (students): `{probability, rotation_deg, gain}`, a
    /// random rotation of the watch frame and a random sensor gain; off by default.
    pub augment: AugmentConfig,
    /// Hard-negative copies of each training subject's daily-living trial: a table hit, claps
    /// or a jump's landing written in, labelled daily living (`fallkd_core::data::hard_negatives`;
    /// 0: none).
    pub hard_negatives: usize,
    /// Copies of each training recording cut short around its impact: kept from 0.5-2.5 s before
    /// it, or to 0.5-2.5 s after it, or both, with its label (`fallkd_core::data::cuts`; at most
    /// 8; 0: none). The older adults' recordings get none.
    pub cut_copies: usize,
    /// Exponential moving average of the weights, the weight the average keeps per step (for
    /// example 0.99); validation, the best checkpoint and the exported model use the average
    /// ([`crate::weight_average`]). 0: off.
    pub ema: f64,
    /// Timestamp perturbations of training windows (students): `{probability, max_severity}`,
    /// one of jitter, dropout, burst and warp per perturbed window; off by default.
    pub perturb: PerturbConfig,
    /// Which training step: `auto` (the host step, [`crate::host_step`], for the teacher and the
    /// timestamp-aware student on the CPU backend; burn's autodiff elsewhere) or `tensor` (burn's
    /// autodiff over the tensor forward everywhere). Both take the same dropout masks and give
    /// the same gradients up to float rounding.
    pub step: StepKind,
}

impl Default for TrainSection {
    fn default() -> Self {
        TrainSection {
            epochs: 12,
            batch_size: 32,
            lr: 1e-3,
            weight_decay: 0.01,
            warmup_epochs: 1.0,
            grad_clip: 1.0,
            patience: 4,
            select: Selection::ValF1,
            loss: TaskLossKind::Bce { pos_weight: 1.0 },
            max_batches_per_epoch: 0,
            gyro_dropout: 0.0,
            augment: AugmentConfig::default(),
            hard_negatives: 0,
            cut_copies: 0,
            ema: 0.0,
            perturb: PerturbConfig::default(),
            step: StepKind::Auto,
        }
    }
}

/// Stress tests.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StressSection {
    /// Perturbations: jitter, dropout, burst, warp.
    pub kinds: Vec<String>,
    /// Severities in [0, 1].
    pub severities: Vec<f64>,
}

impl Default for StressSection {
    fn default() -> Self {
        StressSection {
            kinds: ["jitter", "dropout", "burst", "warp"]
                .map(String::from)
                .to_vec(),
            severities: vec![0.0, 0.25, 0.5, 0.75, 1.0],
        }
    }
}

fn positive(key: &str, v: f64) -> Result<()> {
    if !(v > 0.0 && v.is_finite()) {
        bail!("{key} must be a number > 0, got {v}");
    }
    Ok(())
}

impl RunConfig {
    /// Checks every value; the error names the key.
    pub fn validate(&self) -> Result<()> {
        self.window.validate()?;
        self.teacher.validate().map_err(|e| e.under("teacher."))?;
        self.student
            .config()
            .validate()
            .map_err(|e| e.under("student."))?;
        self.kd.validate().map_err(|e| e.under("kd."))?;
        positive("train.lr", self.train.lr)?;
        // The data fixes the input widths: 32 joints x (x, y, z) and accelerometer + gyroscope.
        if self.teacher.input_dim != 96 {
            bail!(
                "teacher.input_dim must be 96 (32 skeleton joints x 3 coordinates), got {}",
                self.teacher.input_dim
            );
        }
        if self.student.model.input_channels != 6 {
            bail!(
                "student.input_channels must be 6 (accelerometer and gyroscope x, y, z), got {}",
                self.student.model.input_channels
            );
        }
        if self.student.model.window_features && self.student.arch != StudentArch::TimestampAware {
            bail!("student.window_features needs student.arch: timestamp-aware");
        }
        if self.student.model.magnitude_channels && self.student.arch != StudentArch::TimestampAware
        {
            bail!("student.magnitude_channels needs student.arch: timestamp-aware");
        }
        if self.train.batch_size == 0 {
            bail!("train.batch_size must be > 0");
        }
        if self.train.epochs == 0 {
            bail!("train.epochs must be > 0");
        }
        if !(0.0..=1.0).contains(&self.train.gyro_dropout) {
            bail!(
                "train.gyro_dropout must lie in [0, 1], got {}",
                self.train.gyro_dropout
            );
        }
        self.train.augment.validate()?;
        self.train.perturb.validate()?;
        if self.train.cut_copies > fallkd_core::data::cuts::MAX_CUT_COPIES {
            bail!(
                "train.cut_copies must be at most {}, got {}",
                fallkd_core::data::cuts::MAX_CUT_COPIES,
                self.train.cut_copies
            );
        }
        if !(0.0..1.0).contains(&self.train.ema) {
            bail!("train.ema must lie in [0, 1), got {}", self.train.ema);
        }
        if self.train.weight_decay.is_nan() || self.train.weight_decay < 0.0 {
            bail!("train.weight_decay must be >= 0");
        }
        if self.data.skeleton_frames < 2 || self.data.skeleton_frames > self.teacher.max_len {
            bail!(
                "data.skeleton_frames must be in [2, teacher.max_len], got {}",
                self.data.skeleton_frames
            );
        }
        if let Some(s) = self
            .data
            .old_adults
            .val
            .iter()
            .find(|s| self.data.old_adults.test.contains(s))
        {
            bail!(
                "data.old_adults.val and data.old_adults.test both hold older adult S{s:02}: a validation older adult cannot also be a test one"
            );
        }
        if self.data.split.kind == SplitKind::Loso && self.data.split.fold.is_none() {
            bail!("data.split.fold must name the test subject when data.split.kind is loso");
        }
        for k in &self.stress.kinds {
            fallkd_core::perturb::Perturbation::at_severity(k, 0.0)
                .map_err(|e| anyhow::anyhow!("stress.kinds: {e}"))?;
        }
        if let Some(s) = self
            .stress
            .severities
            .iter()
            .find(|s| !(0.0..=1.0).contains(*s))
        {
            bail!("stress.severities must lie in [0, 1], got {s}");
        }
        Ok(())
    }

    /// Loads YAML files in order (later override earlier), then `key=value` overrides.
    pub fn load(files: &[PathBuf], sets: &[String]) -> Result<RunConfig> {
        RunConfig::from_texts(&RunConfig::read_sources(files)?, sets)
    }

    /// The `(name, YAML text)` pairs of configuration files, as [`RunConfig::from_texts`] takes
    /// them (read once where several configurations layer over the same files).
    pub fn read_sources(files: &[PathBuf]) -> Result<Vec<(String, String)>> {
        files
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read config {}", f.display()))?;
                Ok((f.display().to_string(), text))
            })
            .collect()
    }

    /// As [`RunConfig::load`], from `(name, YAML text)` pairs already read.
    pub fn from_texts(sources: &[(String, String)], sets: &[String]) -> Result<RunConfig> {
        let mut value = serde_yaml::to_value(RunConfig::default())?;
        for (name, text) in sources {
            let mut v: serde_yaml::Value =
                serde_yaml::from_str(text).with_context(|| format!("{name} is not valid YAML"))?;
            upgrade_keys(&mut v);
            if !v.is_null() {
                merge(&mut value, v);
            }
        }
        for s in sets {
            let (key, raw) = s
                .split_once('=')
                .with_context(|| format!("--set {s}: expected key=value"))?;
            let v: serde_yaml::Value = serde_yaml::from_str(raw)
                .with_context(|| format!("--set {key}: bad value '{raw}'"))?;
            set_path(&mut value, key, v).with_context(|| format!("--set {s}"))?;
        }
        let names = sources
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let cfg: RunConfig = serde_yaml::from_value(value.clone()).map_err(|e| {
            anyhow::anyhow!(
                "invalid configuration ({}): {e}",
                if names.is_empty() {
                    "defaults and --set"
                } else {
                    names.as_str()
                }
            )
        })?;
        // burn's `Config` types accept unknown fields; a key the resolved configuration does not
        // write back is one no type read.
        if let Some(key) = unknown_key(&value, &serde_yaml::to_value(&cfg)?, "") {
            bail!(
                "unknown configuration key {key} ({})",
                if names.is_empty() {
                    "--set"
                } else {
                    names.as_str()
                }
            );
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Writes the resolved configuration.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::checkpoint::write_atomic(path, serde_yaml::to_string(self)?.as_bytes())
    }
}

/// The first key (dotted path) of `given` that `known` lacks.
fn unknown_key(given: &serde_yaml::Value, known: &serde_yaml::Value, at: &str) -> Option<String> {
    let (serde_yaml::Value::Mapping(g), serde_yaml::Value::Mapping(k)) = (given, known) else {
        return None;
    };
    g.iter().find_map(|(key, v)| {
        let name = match key {
            serde_yaml::Value::String(s) => s.clone(),
            other => format!("{other:?}"),
        };
        let path = if at.is_empty() {
            name
        } else {
            format!("{at}.{name}")
        };
        match k.get(key) {
            // An optional setting left unset is not written back (`skip_serializing_if`), and
            // builds before that wrote it as null: a null stands for the default either way.
            None if v.is_null() => None,
            None => Some(path),
            Some(kv) => unknown_key(v, kv, &path),
        }
    })
}

/// The tag keys of the configuration's tagged values (`train.loss.kind`, `window.length.by`): a
/// value of another variant replaces the old one instead of merging into it.
pub(crate) const TAGS: [&str; 2] = ["kind", "by"];

/// The keys (dotted paths) a user set explicitly: every leaf of the configuration files and every
/// `--set` key (a section named by `--set` covers its keys).
pub fn explicit_keys(files: &[PathBuf], sets: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read config {}", f.display()))?;
        let mut v: serde_yaml::Value = serde_yaml::from_str(&text)
            .with_context(|| format!("{} is not valid YAML", f.display()))?;
        upgrade_keys(&mut v);
        let mut leaves = std::collections::BTreeMap::new();
        flatten("", &v, &mut leaves);
        out.extend(leaves.into_keys());
    }
    out.extend(
        sets.iter()
            .filter_map(|s| s.split_once('=').map(|(k, _)| k.to_string())),
    );
    Ok(out)
}

/// The leaves of a YAML value as dotted keys with their values as one-line YAML text.
pub fn flatten(
    prefix: &str,
    v: &serde_yaml::Value,
    out: &mut std::collections::BTreeMap<String, String>,
) {
    match v {
        serde_yaml::Value::Mapping(m) => {
            for (k, v) in m {
                let k = k
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{k:?}"));
                let key = if prefix.is_empty() {
                    k
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => {
            let text = serde_yaml::to_string(other).unwrap_or_default();
            out.insert(prefix.to_string(), text.trim().to_string());
        }
    }
}

/// Renames the keys configurations written before the KD losses' settings were nested
/// (`kd.embedding_temperature` -> `kd.embedding.temperature`, ...), so that older run folders
/// (`config.yaml`) and files still load.
fn upgrade_keys(v: &mut serde_yaml::Value) {
    const MOVED: [(&str, &str, &str); 8] = [
        ("embedding_temperature", "embedding", "temperature"),
        ("attention_loss", "attention", "divergence"),
        ("attention_temperature", "attention", "temperature"),
        ("comodo_queue", "comodo", "queue_size"),
        (
            "comodo_teacher_temperature",
            "comodo",
            "teacher_temperature",
        ),
        (
            "comodo_student_temperature",
            "comodo",
            "student_temperature",
        ),
        ("response_temperature", "response", "temperature"),
        (
            "response_where_teacher_right",
            "response",
            "where_teacher_right",
        ),
    ];
    let Some(kd) = v.get_mut("kd").and_then(|k| k.as_mapping_mut()) else {
        return;
    };
    for (old, section, key) in MOVED {
        if let Some(x) = kd.remove(old) {
            let s = kd
                .entry(section.into())
                .or_insert_with(|| serde_yaml::Value::Mapping(Default::default()));
            if let Some(m) = s.as_mapping_mut() {
                m.insert(key.into(), x);
            }
        }
    }
}

fn merge(base: &mut serde_yaml::Value, over: serde_yaml::Value) {
    let other_variant = |b: &serde_yaml::Mapping, o: &serde_yaml::Mapping| {
        TAGS.iter()
            .any(|t| matches!((b.get(*t), o.get(*t)), (Some(x), Some(y)) if x != y))
    };
    match (base, over) {
        (serde_yaml::Value::Mapping(b), serde_yaml::Value::Mapping(o)) if !other_variant(b, &o) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn set_path(root: &mut serde_yaml::Value, key: &str, v: serde_yaml::Value) -> Result<()> {
    let mut cur = root;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        let map = cur
            .as_mapping_mut()
            .with_context(|| format!("'{}' is not a section", parts[..i].join(".")))?;
        let k = serde_yaml::Value::String(p.to_string());
        if i + 1 == parts.len() {
            // Another variant of a tagged value (`train.loss.kind=focal`): its old fields go.
            if TAGS.contains(p) && map.get(&k).is_some_and(|old| *old != v) {
                map.clear();
            }
            // A mapping merges into the section like a YAML file does (`teacher={num_layers: 1}`
            // changes one key); anything else replaces the value.
            match map.get_mut(&k) {
                Some(slot) => merge(slot, v),
                None => {
                    map.insert(k, v);
                }
            }
            return Ok(());
        }
        if !map.contains_key(&k) {
            map.insert(k.clone(), serde_yaml::Value::Mapping(Default::default()));
        }
        cur = map.get_mut(&k).expect("inserted");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<RunConfig> {
        RunConfig::from_texts(&[("config.yaml".into(), yaml.into())], &[])
    }

    #[test]
    fn unset_optional_settings_written_as_null_still_load_and_typos_do_not() {
        // Run files of builds that wrote an unset option as null (feature_context_s: null).
        let cfg =
            load("window:\n  feature_context_s: null\n  feature_context_ahead_s: null\n").unwrap();
        assert_eq!(cfg.window.feature_context_s, None);
        let cfg = load("window:\n  feature_context_s: 10\n").unwrap();
        assert_eq!(cfg.window.feature_context_s, Some(10.0));
        for (typo, key) in [
            ("window:\n  feature_context: 10\n", "feature_context"),
            ("train:\n  epochz: 3\n", "epochz"),
        ] {
            let e = format!("{:#}", load(typo).unwrap_err());
            assert!(e.contains("unknown") && e.contains(key), "{e}");
        }
    }
}
