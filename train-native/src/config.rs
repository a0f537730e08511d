//! Run configuration: YAML files in `kd_config/`, overridden by `--set key=value` and CLI flags.
//! Unknown keys and invalid values are errors that name the key.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fallkd_core::data::augment::AugmentConfig;
use fallkd_core::data::trial::GyroPolicy;
use fallkd_core::data::window::WindowConfig;
use fallkd_core::losses::{AttentionDivergence, KdWeights, TaskLossKind};
use fallkd_core::model::{
    FixedRateStudentConfig, SkeletonTransformerConfig, TimeMode, TimestampAwareStudentConfig,
};
use serde::{Deserialize, Serialize};

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
    /// Teacher architecture.
    pub teacher: TeacherSection,
    /// Student architecture.
    pub student: StudentSection,
    /// Distillation.
    pub kd: KdSection,
    /// Optimisation.
    pub train: TrainSection,
    /// Stress tests.
    pub stress: StressSection,
    /// Feature-model reference rows (`fallkd train-features`).
    pub features: crate::commands::features::FeaturesSection,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            seed: 42,
            data: DataSection::default(),
            window: WindowConfig::default(),
            teacher: TeacherSection::default(),
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
}

/// The older adults' daily-living recordings (accelerometer only, no falls).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OldAdultsSection {
    /// Older adults (their own numbers, 1 for old S01) this run scores for false alarms.
    pub test: Vec<u16>,
    /// Train on every other older adult's windows as extra negatives.
    pub train: bool,
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
        }
    }
}

/// How subjects are split.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SplitSection {
    /// `fixed` (lists below) or `loso` (fold below).
    pub kind: SplitKind,
    /// Validation subjects (fixed). Empty: chosen automatically (README "Splits").
    pub val: Vec<u16>,
    /// Test subjects (fixed). Empty: chosen automatically (README "Splits").
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

/// Teacher architecture (see `SkeletonTransformerConfig`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TeacherSection {
    /// Width D.
    pub embed_dim: usize,
    /// Encoder layers.
    pub num_layers: usize,
    /// Heads.
    pub num_heads: usize,
    /// Dropout.
    pub dropout: f64,
    /// Learnable positional encoding.
    pub use_pos_enc: bool,
    /// Positional table length.
    pub max_len: usize,
}

impl Default for TeacherSection {
    fn default() -> Self {
        TeacherSection {
            embed_dim: 96,
            num_layers: 2,
            num_heads: 4,
            dropout: 0.3,
            use_pos_enc: true,
            max_len: 1024,
        }
    }
}

impl TeacherSection {
    /// The model configuration.
    pub fn model(&self) -> SkeletonTransformerConfig {
        SkeletonTransformerConfig::new()
            .with_embed_dim(self.embed_dim)
            .with_num_layers(self.num_layers)
            .with_num_heads(self.num_heads)
            .with_dropout(self.dropout)
            .with_use_pos_enc(self.use_pos_enc)
            .with_max_len(self.max_len)
    }
}

/// Which student.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum StudentArchKind {
    /// Event-token resampler student.
    TimestampAware,
    /// Fixed-rate interpolation baseline.
    FixedRate,
}

/// Student architecture.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StudentSection {
    /// `timestamp-aware` or `fixed-rate`.
    pub arch: StudentArchKind,
    /// Width D.
    pub embed_dim: usize,
    /// Tokens L.
    pub num_tokens: usize,
    /// Heads.
    pub num_heads: usize,
    /// Encoder layers.
    pub num_layers: usize,
    /// Dropout.
    pub dropout: f64,
    /// Positional encoding over tokens.
    pub use_pos_enc: bool,
    /// `timestamps`, `cleaned` or `position`.
    pub time_mode: TimeMode,
    /// Locality bias in the resampler.
    pub locality_bias: bool,
    /// Add the window-feature path: an MLP over the hand-made window features whose logit is
    /// added to the trunk's (timestamp-aware student only).
    pub window_features: bool,
}

impl Default for StudentSection {
    fn default() -> Self {
        StudentSection {
            arch: StudentArchKind::TimestampAware,
            embed_dim: 48,
            num_tokens: 64,
            num_heads: 4,
            num_layers: 2,
            dropout: 0.1,
            use_pos_enc: true,
            time_mode: TimeMode::Timestamps,
            locality_bias: true,
            window_features: false,
        }
    }
}

impl StudentSection {
    /// Timestamp-aware configuration.
    pub fn timestamp_aware(&self) -> TimestampAwareStudentConfig {
        TimestampAwareStudentConfig::new()
            .with_embed_dim(self.embed_dim)
            .with_num_tokens(self.num_tokens)
            .with_num_heads(self.num_heads)
            .with_num_layers(self.num_layers)
            .with_dropout(self.dropout)
            .with_use_pos_enc(self.use_pos_enc)
            .with_time_mode(self.time_mode)
            .with_locality_bias(self.locality_bias)
            .with_window_features(self.window_features)
    }

    /// Baseline configuration.
    pub fn fixed_rate(&self) -> FixedRateStudentConfig {
        FixedRateStudentConfig::new()
            .with_embed_dim(self.embed_dim)
            .with_num_tokens(self.num_tokens)
            .with_num_heads(self.num_heads)
            .with_num_layers(self.num_layers)
            .with_dropout(self.dropout)
            .with_use_pos_enc(self.use_pos_enc)
    }
}

/// Distillation settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KdSection {
    /// Distil from a teacher at all.
    pub enabled: bool,
    /// Teacher run directory (holding `config.yaml`, `model.bpk`, `norm.json`).
    pub teacher: Option<PathBuf>,
    /// Loss weights.
    pub weights: WeightsSection,
    /// Embedding KD temperature.
    pub embedding_temperature: f64,
    /// Attention KD divergence: `kl`, `mse` or `js`.
    pub attention_loss: AttentionDivergence,
    /// Attention KD temperature.
    pub attention_temperature: f64,
    /// COMODO queue length.
    pub comodo_queue: usize,
    /// COMODO teacher temperature.
    pub comodo_teacher_temperature: f64,
    /// COMODO student temperature.
    pub comodo_student_temperature: f64,
    /// Response KD temperature.
    pub response_temperature: f64,
    /// Response KD only on the windows the teacher classifies correctly.
    pub response_where_teacher_right: bool,
}

impl Default for KdSection {
    fn default() -> Self {
        KdSection {
            enabled: false,
            teacher: None,
            weights: WeightsSection::default(),
            embedding_temperature: 1.0,
            attention_loss: AttentionDivergence::Kl,
            attention_temperature: 1.0,
            comodo_queue: 4096,
            comodo_teacher_temperature: 0.1,
            comodo_student_temperature: 0.05,
            response_temperature: 2.0,
            response_where_teacher_right: true,
        }
    }
}

/// Loss weights (YAML form of `KdWeights`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WeightsSection {
    /// Task loss.
    pub task: f64,
    /// Embedding KD.
    pub embedding: f64,
    /// Gram KD.
    pub gram: f64,
    /// COMODO.
    pub comodo: f64,
    /// Attention KD.
    pub attention: f64,
    /// Response KD: the teacher's softened fall probability on the paired skeleton window.
    pub response: f64,
}

impl Default for WeightsSection {
    fn default() -> Self {
        WeightsSection {
            task: 1.0,
            embedding: 1.0,
            gram: 1.0,
            comodo: 0.0,
            attention: 0.0,
            response: 0.0,
        }
    }
}

impl WeightsSection {
    /// As core weights.
    pub fn kd_weights(&self) -> KdWeights {
        KdWeights::new()
            .with_task(self.task)
            .with_embedding(self.embedding)
            .with_gram(self.gram)
            .with_comodo(self.comodo)
            .with_attention(self.attention)
            .with_response(self.response)
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
        self.teacher
            .model()
            .validate()
            .map_err(|e| e.under("teacher."))?;
        self.student
            .timestamp_aware()
            .validate()
            .map_err(|e| e.under("student."))?;
        self.kd
            .weights
            .kd_weights()
            .validate()
            .map_err(|e| e.under("kd."))?;
        positive("train.lr", self.train.lr)?;
        positive("kd.embedding_temperature", self.kd.embedding_temperature)?;
        positive("kd.attention_temperature", self.kd.attention_temperature)?;
        positive(
            "kd.comodo_teacher_temperature",
            self.kd.comodo_teacher_temperature,
        )?;
        positive(
            "kd.comodo_student_temperature",
            self.kd.comodo_student_temperature,
        )?;
        fallkd_core::losses::ResponseKdConfig::new()
            .with_temperature(self.kd.response_temperature)
            .validate()?;
        if self.kd.comodo_queue == 0 {
            bail!("kd.comodo_queue must be > 0");
        }
        if self.student.window_features && self.student.arch != StudentArchKind::TimestampAware {
            bail!("student.window_features needs student.arch: timestamp-aware");
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
        if self.train.weight_decay.is_nan() || self.train.weight_decay < 0.0 {
            bail!("train.weight_decay must be >= 0");
        }
        if self.data.skeleton_frames < 2 || self.data.skeleton_frames > self.teacher.max_len {
            bail!(
                "data.skeleton_frames must be in [2, teacher.max_len], got {}",
                self.data.skeleton_frames
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
        let mut sources = Vec::with_capacity(files.len());
        for f in files {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read config {}", f.display()))?;
            sources.push((f.display().to_string(), text));
        }
        RunConfig::from_texts(&sources, sets)
    }

    /// As [`RunConfig::load`], from `(name, YAML text)` pairs already read.
    pub fn from_texts(sources: &[(String, String)], sets: &[String]) -> Result<RunConfig> {
        let mut value = serde_yaml::to_value(RunConfig::default())?;
        for (name, text) in sources {
            let v: serde_yaml::Value =
                serde_yaml::from_str(text).with_context(|| format!("{name} is not valid YAML"))?;
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
        let cfg: RunConfig = serde_yaml::from_value(value).map_err(|e| {
            anyhow::anyhow!(
                "invalid configuration ({}): {e}",
                if names.is_empty() {
                    "defaults and --set".into()
                } else {
                    names
                }
            )
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Writes the resolved configuration.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::checkpoint::write_atomic(path, serde_yaml::to_string(self)?.as_bytes())
    }
}

fn merge(base: &mut serde_yaml::Value, over: serde_yaml::Value) {
    match (base, over) {
        (serde_yaml::Value::Mapping(b), serde_yaml::Value::Mapping(o)) => {
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
            map.insert(k, v);
            return Ok(());
        }
        if !map.contains_key(&k) {
            map.insert(k.clone(), serde_yaml::Value::Mapping(Default::default()));
        }
        cur = map.get_mut(&k).expect("inserted");
    }
    Ok(())
}
