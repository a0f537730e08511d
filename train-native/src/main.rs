//! `fallkd`: wearable fall detection by cross-modal knowledge distillation.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use fallkd_core::losses::AttentionDivergence;
use fallkd_core::model::TimeMode;
use fallkd_train::config::{RunConfig, StudentArch, explicit_keys};
use fallkd_train::run_dir::Role;
use fallkd_train::{commands, device};

#[derive(Parser)]
#[command(
    name = "fallkd",
    version,
    about = "Fall detection from smartwatch IMU, distilled from a skeleton teacher"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

/// Where models run: the one `--device` flag of every command that runs one.
#[derive(Args, Clone)]
struct DeviceArg {
    /// cpu (default), cuda, cuda:N or libtorch (the last three need --features tch).
    #[arg(long = "device", default_value = "cpu")]
    name: String,
}

impl DeviceArg {
    fn get(&self) -> Result<burn::tensor::Device> {
        device::parse_device(&self.name)
    }
}

/// Options shared by commands that train.
#[derive(Args, Clone)]
struct Common {
    /// YAML configuration file(s), later ones override earlier ones.
    #[arg(long = "config")]
    configs: Vec<PathBuf>,
    /// Override one key, e.g. --set train.epochs=5 (repeatable).
    #[arg(long = "set")]
    sets: Vec<String>,
    /// SmartFallMM root (the folder holding young/); generated data when absent.
    #[arg(long)]
    data_root: Option<PathBuf>,
    #[command(flatten)]
    device: DeviceArg,
    /// Seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Maximum epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

impl Common {
    fn config(&self, extra: &[String]) -> Result<RunConfig> {
        let mut sets = self.overrides()?;
        sets.extend_from_slice(extra);
        RunConfig::load(&self.configs, &sets)
    }

    /// `--set` overrides with --data-root, --seed and --epochs folded in.
    fn overrides(&self) -> Result<Vec<String>> {
        let mut sets = self.sets.clone();
        if let Some(r) = &self.data_root {
            sets.push(format!("data.root={}", yaml(&r.display().to_string())?));
        }
        if let Some(s) = self.seed {
            sets.push(format!("seed={s}"));
        }
        if let Some(e) = self.epochs {
            sets.push(format!("train.epochs={e}"));
        }
        Ok(sets)
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Write the generated SmartFallMM look-alike dataset.
    Generate {
        /// Output folder (gets young/...).
        #[arg(long)]
        out: PathBuf,
        /// Subjects.
        #[arg(long, default_value_t = 8)]
        subjects: u16,
        /// Trials per activity and subject.
        #[arg(long, default_value_t = 2)]
        trials: u16,
        /// Seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Audit watch timestamps: duplicates, backwards steps, gaps, rates, acc/gyro offsets.
    AnalyzeTimestamps {
        /// SmartFallMM root.
        #[arg(long)]
        data_root: PathBuf,
        /// JSON output.
        #[arg(long, default_value = "timestamp_audit.json")]
        json: PathBuf,
    },
    /// Train the skeleton teacher.
    TrainTeacher {
        #[command(flatten)]
        common: Common,
        /// Run directory.
        #[arg(long, default_value = "runs/teacher")]
        out: PathBuf,
        /// Continue an interrupted run in --out.
        #[arg(long)]
        resume: bool,
    },
    /// Train a student, with or without distillation.
    TrainStudent {
        #[command(flatten)]
        common: Common,
        /// Distil from the teacher (--teacher-weights or kd.teacher). Without --kd or --no-kd: KD
        /// when --teacher-weights is given, else the configuration's kd.enabled. A --set of
        /// kd.enabled wins over both.
        #[arg(long, overrides_with = "no_kd")]
        kd: bool,
        /// Train without distillation.
        #[arg(long, overrides_with = "kd")]
        no_kd: bool,
        /// Teacher run directory for KD.
        #[arg(long)]
        teacher_weights: Option<PathBuf>,
        /// Use the fixed-rate (interpolating) baseline architecture.
        #[arg(long)]
        fixed_rate: bool,
        /// How timestamps enter the student.
        #[arg(long, value_enum)]
        time_mode: Option<TimeMode>,
        /// Tokens L.
        #[arg(long)]
        num_tokens: Option<usize>,
        /// Add attention KD.
        #[arg(long)]
        attention_kd: bool,
        /// Attention KD weight.
        #[arg(long)]
        attention_weight: Option<f64>,
        /// Divergence of attention KD.
        #[arg(long, value_enum)]
        attention_loss: Option<AttentionDivergence>,
        /// Embedding KD weight.
        #[arg(long)]
        embedding_weight: Option<f64>,
        /// Gram KD weight.
        #[arg(long)]
        gram_weight: Option<f64>,
        /// COMODO weight.
        #[arg(long)]
        comodo_weight: Option<f64>,
        /// Run directory.
        #[arg(long, default_value = "runs/student")]
        out: PathBuf,
        /// Continue an interrupted run in --out.
        #[arg(long)]
        resume: bool,
    },
    /// Train a feature-model reference row: the peak-|a| rule or gradient-boosted trees on
    /// hand-made window features (features.model: peak | gbm).
    TrainFeatures {
        #[command(flatten)]
        common: Common,
        /// Run directory.
        #[arg(long, default_value = "runs/features")]
        out: PathBuf,
    },
    /// Ablation sweep from kd_config/ablation_kd.yaml: the teacher's variants, or the student's
    /// (tokens, time features, KD combinations).
    Ablation(AblationArgs),
    /// Robustness curves of trained students under timestamp perturbations.
    StressTest {
        /// Student run directories.
        #[arg(long = "run", required = true)]
        runs: Vec<PathBuf>,
        /// Output folder.
        #[arg(long, default_value = "runs/stress")]
        out: PathBuf,
        #[command(flatten)]
        device: DeviceArg,
    },
    /// Test metrics and batch-1 inference time of a finished run.
    Evaluate {
        /// Run directory.
        #[arg(long)]
        run: PathBuf,
        /// Evaluate on another data root (same split subjects).
        #[arg(long)]
        data_root: Option<PathBuf>,
        #[command(flatten)]
        device: DeviceArg,
    },
    /// Export a student run for the browser demo.
    Export {
        /// Student run directory.
        #[arg(long)]
        run: PathBuf,
        /// Output file.
        #[arg(long, default_value = "student.fallkd")]
        out: PathBuf,
        /// Alarm threshold on the fall probability (default: the run's validation threshold).
        #[arg(long)]
        threshold: Option<f64>,
        /// Alarm logic shipped with the model.
        #[command(flatten)]
        alarm: AlarmArgs,
        /// What the page says of the model before its provenance (e.g. its
        /// leave-one-subject-out figures).
        #[arg(long)]
        note: Option<String>,
        /// A figure that chose the model, written into its provenance: NAME=VALUE, e.g.
        /// 'lockbox recording F1=0.812 +- 0.009'. Repeatable.
        #[arg(long = "figure", value_parser = commands::export::parse_figure)]
        figures: Vec<fallkd_core::provenance::Figure>,
    },
    /// Write an exported student as ONNX for watch apps (windows of up to the model's
    /// `max_events` events with their timestamps and a mask, to the fall probability), with test
    /// vectors of the pre-processing that stays outside the graph (docs/deploy.md).
    ExportOnnx(commands::export_onnx::Args),
    /// Adapt an exported student to its wearer from labelled recordings (a CSV of
    /// `acc,gyro,label`): the alarm threshold, or the head and the threshold, checked by
    /// cross-validation on the wearer's labels (the base model is kept when the personal one
    /// does worse).
    Personalize(commands::personalize::Args),
    /// The personalisation protocols (full calibration, ADL-only calibration, feedback) on every
    /// fold and lockbox wearer, each variant against the base models (results/personalize/).
    PersonalizeStudy(commands::personalize_study::Args),
    /// Print what a model file holds: its format and checksum, architecture, threshold and
    /// alarm logic, windowing, and provenance (data hash, configuration, commit, figures).
    Inspect {
        /// The model file.
        file: PathBuf,
        /// Print the header as JSON instead (the configuration included).
        #[arg(long)]
        json: bool,
    },
    /// Score exported students on the recordings of subjects they never saw, as a wearer feels
    /// them (falls caught, ADL recordings alarming, recording F1, AUC), through the page's path;
    /// with --invariance also on the same recordings resampled, mirrored, turned, in g and cut
    /// around the impact (issue #32; the lockbox and across-watch splits of
    /// results/lockbox/RULE.md).
    Score {
        /// Exported students (one per seed; mean +- std over them). Repeatable.
        #[arg(long = "model", required = true)]
        models: Vec<PathBuf>,
        /// Dataset root (holding young/ and old/).
        #[arg(long)]
        data_root: PathBuf,
        /// Young subjects to score, e.g. 31,39,44.
        #[arg(long, value_delimiter = ',')]
        young: Vec<u16>,
        /// Older adults to score (their own numbers), e.g. 1,9.
        #[arg(long, value_delimiter = ',')]
        old: Vec<u16>,
        /// Also score every recording as another watch or wearer would write it.
        #[arg(long)]
        invariance: bool,
        /// Folder for score.md and score.json.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run an exported student on one watch recording (prints the highest fall probability), or
    /// on every recording of a folder (one line each, then read / repaired / refused counts).
    Predict {
        /// Exported student (fallkd export).
        #[arg(long, default_value = "web/assets/student.fallkd")]
        model: PathBuf,
        /// Accelerometer CSV.
        #[arg(long, required_unless_present = "dir", conflicts_with = "dir")]
        acc: Option<PathBuf>,
        /// A folder of recordings: accelerometer/watch/*.csv with gyroscope/watch/*.csv of the
        /// same names (the archive's layout), or *.csv accelerometer files.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Gyroscope CSV (zeros when absent, unless the accelerometer file holds the gyroscope
        /// too).
        #[arg(long, conflicts_with = "dir")]
        gyro: Option<PathBuf>,
        /// The accelerometer's unit (default: detected from gravity; a note says when the values
        /// suggest the other).
        #[arg(long, value_enum)]
        acc_unit: Option<fallkd_core::data::units::AccUnit>,
        /// The gyroscope's unit (default: detected from the values' size; a note says when they
        /// suggest the other).
        #[arg(long, value_enum)]
        gyro_unit: Option<fallkd_core::data::units::GyroUnit>,
        /// Print every window as JSON too.
        #[arg(long)]
        json: bool,
    },
    /// Training steps/s and batch-1 latency of the default teacher or student (JSON).
    Speed {
        /// Which default model.
        #[arg(long, value_enum, default_value_t = Role::Student)]
        model: Role,
        /// Training batch size.
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// Timed training steps (after 3 warm-up steps).
        #[arg(long, default_value_t = 20)]
        steps: usize,
        /// Time the host step alone (without the tensor step's rate beside it).
        #[arg(long)]
        no_tensor_baseline: bool,
        #[command(flatten)]
        device: DeviceArg,
    },
    /// Leave-one-subject-out study: per fold a teacher, students with and without KD and the
    /// baseline; mean +- std over folds (loso.md, loso.csv). Finished runs are kept.
    Loso {
        #[command(flatten)]
        common: Common,
        /// Output folder (one sub-folder per fold).
        #[arg(long, default_value = "runs/loso")]
        out: PathBuf,
        /// Test subjects, e.g. 29,30 (default: every subject with both falls and ADLs left after
        /// de-duplication; the others only train).
        #[arg(long, value_delimiter = ',')]
        folds: Vec<u16>,
        /// Rows (default: teacher, student-nokd, student-kd, student-kd-position,
        /// baseline-fixed-rate; also student-kd-cleaned, student-kd-tokens32,
        /// student-kd-tokens128).
        #[arg(long, value_delimiter = ',')]
        rows: Vec<String>,
        /// A further distilled-student row, NAME=KEY=VALUE[;KEY=VALUE...] (repeatable), e.g.
        /// --kd-row 'student-kd-posw4=train.loss={kind: bce, pos_weight: 4}'.
        #[arg(long = "kd-row")]
        kd_rows: Vec<String>,
        /// A further feature-model row, NAME=KEY=VALUE[;KEY=VALUE...] (repeatable), e.g.
        /// --features-row 'features-gbm-w6=features.model=gbm;window.length={by: duration, seconds: 6}'.
        #[arg(long = "features-row")]
        features_rows: Vec<String>,
        /// A further student row trained without distillation (kd.enabled=false, then these
        /// overrides; no teacher needed), NAME=KEY=VALUE[;KEY=VALUE...] (repeatable), e.g.
        /// --student-row 'student-nokd-posw4=train.loss={kind: bce, pos_weight: 4}'.
        #[arg(long = "student-row")]
        student_rows: Vec<String>,
        /// Runs at a time (on CPU each gets its share of the cores).
        #[arg(long, default_value_t = 1)]
        parallel: usize,
        /// Spread runs over this many GPUs (0: --device for every run).
        #[arg(long, default_value_t = 0)]
        num_gpus: usize,
        /// Seeds: every row trains once per seed in every fold (default: the config's seed).
        #[arg(long, value_delimiter = ',')]
        seeds: Vec<u64>,
        /// Do not score the older adults (old/ under the data root) for false alarms.
        #[arg(long)]
        no_old_adults: bool,
        /// Hold each fold's next fold's older adults out of training as validation older adults
        /// (`data.old_adults.val`), the false-alarm side of --old-alarm-budget (changes what the
        /// rows that train on older adults train on).
        #[arg(long)]
        old_adult_val: bool,
        /// Raise each run's operating threshold, where needed, until at most this share of the
        /// validation older adults' recordings (pooled over the row's folds of the seed, the run's
        /// own test older adults left out) alarm; needs runs made with --old-adult-val.
        #[arg(long)]
        old_alarm_budget: Option<f64>,
        /// Alarm logic of the per-recording scores.
        #[command(flatten)]
        alarm: AlarmArgs,
        /// A paired test "A beats B" as A:B (repeatable; default: KD against no KD,
        /// student-kd-wearer:student-nokd-wearer and student-kd:student-nokd, then every student
        /// row against features-gbm, where those rows run).
        #[arg(long)]
        compare: Vec<String>,
        /// Only write the report from the runs that finished (train nothing).
        #[arg(long)]
        report_only: bool,
        /// An ensemble row NAME=A+B[+C...]: the mean fall probability of rows A, B, ... of the
        /// same seed and fold, scored like any row (repeatable; trains nothing).
        #[arg(long = "ensemble")]
        ensembles: Vec<String>,
        /// Where each run's operating threshold sits once the best validation F1 is found: edge
        /// (the lowest validation probability reaching it, the protocol of RESULTS.md so far) or
        /// margin (half way down to the next lower validation probability: the same validation
        /// F1, with a margin for new wearers).
        #[arg(long, value_enum, default_value = "edge")]
        threshold_rule: fallkd_core::metrics::ThresholdRule,
        /// How each run's operating threshold is chosen (never from its test subject): val-f1
        /// (best F1 on the pooled validation windows, placed by --threshold-rule; RESULTS.md's
        /// protocol so far), fixed (0.5, chooses nothing) or nested (per run, whichever of the two
        /// gives the better recording F1 on each validation subject scored at the threshold the
        /// other validation subjects give).
        #[arg(long, value_enum, default_value = "val-f1")]
        threshold_choice: fallkd_train::evaluation::ThresholdChoice,
    },
    /// The main job: teacher, students with and without KD, baseline, stress tests, report.
    Pipeline {
        #[command(flatten)]
        common: Common,
        /// Output folder.
        #[arg(long, default_value = "runs/pipeline")]
        out: PathBuf,
    },
}

/// The alarm logic (`fallkd_core::alarm`): a window votes at the threshold; an alarm needs K of
/// the last N windows; after one, none for the refractory period.
#[derive(Args, Clone)]
struct AlarmArgs {
    /// Votes needed among the last --alarm-n windows.
    #[arg(long, default_value_t = 1)]
    alarm_k: usize,
    /// Windows looked at.
    #[arg(long, default_value_t = 1)]
    alarm_n: usize,
    /// Seconds after an alarm during which no new one fires.
    #[arg(long, default_value_t = 30.0)]
    refractory_s: f64,
}

impl AlarmArgs {
    /// The checked configuration (its threshold is set where the operating point is known).
    fn config(&self) -> Result<fallkd_core::alarm::AlarmConfig> {
        let a = fallkd_core::alarm::AlarmConfig {
            threshold: 0.5,
            k: self.alarm_k,
            n: self.alarm_n,
            refractory_s: self.refractory_s,
        };
        a.validate()?;
        Ok(a)
    }
}

#[derive(Args)]
struct AblationArgs {
    /// Whose variants: teacher or student.
    #[arg(long, value_enum)]
    role: AblationRole,
    /// Ablation file.
    #[arg(long, default_value = "kd_config/ablation_kd.yaml")]
    file: PathBuf,
    /// Extra overrides for every run (e.g. --set data.root=data).
    #[arg(long = "set")]
    sets: Vec<String>,
    /// Output folder (default runs/teacher-ablation or runs/student-ablation).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Runs at a time.
    #[arg(long, default_value_t = 1)]
    parallel: usize,
    /// Spread runs over this many GPUs (0: CPU).
    #[arg(long, default_value_t = 0)]
    num_gpus: usize,
    /// Only these variants (comma-separated names).
    #[arg(long)]
    only: Option<String>,
}

/// The two sweeps of an ablation file.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum AblationRole {
    Teacher,
    Student,
}

impl AblationRole {
    fn name(self) -> &'static str {
        match self {
            AblationRole::Teacher => "teacher",
            AblationRole::Student => "student",
        }
    }
}

/// `v` as a one-line YAML value for a `--set key=value`.
fn yaml<T: serde::Serialize>(v: &T) -> Result<String> {
    Ok(serde_yaml::to_string(v)?.trim().to_string())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Generate {
            out,
            subjects,
            trials,
            seed,
        } => {
            let t0 = std::time::Instant::now();
            let n = commands::generate::run(&out, subjects, trials, seed)?;
            println!(
                "wrote {n} files under {} in {:.1} s",
                out.join("young").display(),
                t0.elapsed().as_secs_f64()
            );
        }
        Cmd::AnalyzeTimestamps { data_root, json } => commands::audit::run(&data_root, &json)?,
        Cmd::TrainTeacher {
            common,
            out,
            resume,
        } => {
            // With --resume the flags are still read: train::run refuses any it would ignore.
            let cfg = common.config(&[])?;
            let explicit = explicit_keys(&common.configs, &common.overrides()?)?;
            commands::train::run(
                &cfg,
                Role::Teacher,
                &out,
                &common.device.get()?,
                resume.then_some(&explicit[..]),
                !common.quiet,
            )?;
        }
        Cmd::TrainStudent {
            common,
            kd,
            no_kd,
            teacher_weights,
            fixed_rate,
            time_mode,
            num_tokens,
            attention_kd,
            attention_weight,
            attention_loss,
            embedding_weight,
            gram_weight,
            comodo_weight,
            out,
            resume,
        } => {
            let mut sets = Vec::new();
            if kd || (!no_kd && teacher_weights.is_some()) {
                sets.push("kd.enabled=true".to_string());
            } else if no_kd {
                sets.push("kd.enabled=false".to_string());
            }
            if let Some(t) = teacher_weights {
                sets.push(format!("kd.teacher={}", yaml(&t.display().to_string())?));
            }
            if fixed_rate {
                sets.push("student.arch=fixed-rate".into());
            }
            if let Some(m) = time_mode {
                sets.push(format!("student.time_mode={}", yaml(&m)?));
            }
            if let Some(l) = num_tokens {
                sets.push(format!("student.num_tokens={l}"));
            }
            if attention_kd {
                sets.push(format!(
                    "kd.weights.attention={}",
                    attention_weight.unwrap_or(1.0)
                ));
            } else if let Some(w) = attention_weight {
                sets.push(format!("kd.weights.attention={w}"));
            }
            if let Some(l) = attention_loss {
                sets.push(format!("kd.attention.divergence={}", yaml(&l)?));
            }
            for (k, v) in [
                ("embedding", embedding_weight),
                ("gram", gram_weight),
                ("comodo", comodo_weight),
            ] {
                if let Some(v) = v {
                    sets.push(format!("kd.weights.{k}={v}"));
                }
            }
            // The flags above first, so that an explicit --set (from a file of sweeps) wins.
            sets.extend(common.overrides()?);
            let cfg = RunConfig::load(&common.configs, &sets)?;
            let explicit = explicit_keys(&common.configs, &sets)?;
            if cfg.kd.enabled && cfg.student.arch == StudentArch::FixedRate {
                eprintln!("note: distilling into the fixed-rate baseline");
            }
            commands::train::run(
                &cfg,
                Role::Student,
                &out,
                &common.device.get()?,
                resume.then_some(&explicit[..]),
                !common.quiet,
            )?;
        }
        Cmd::TrainFeatures { common, out } => {
            commands::features::run(&common.config(&[])?, &out)?;
        }
        Cmd::Ablation(a) => {
            let role = a.role.name();
            let out = a
                .out
                .clone()
                .unwrap_or_else(|| format!("runs/{role}-ablation").into());
            commands::ablation::run(
                role,
                &a.file,
                &a.sets,
                &out,
                a.parallel,
                a.num_gpus,
                a.only.as_deref(),
            )?;
        }
        Cmd::StressTest { runs, out, device } => {
            commands::stress::run(&runs, &out, &device.get()?, true)?;
            println!("written {}", out.join("stress.csv").display());
        }
        Cmd::Evaluate {
            run,
            data_root,
            device,
        } => commands::evaluate::run(&run, data_root.as_deref(), &device.get()?)?,
        Cmd::Export {
            run,
            out,
            threshold,
            alarm,
            note,
            figures,
        } => {
            let opts = commands::export::ExportOptions {
                threshold,
                alarm: Some(alarm.config()?),
                note,
                figures,
            };
            let n = commands::export::run(&run, &out, &opts, &burn::tensor::Device::flex())?;
            println!("exported {} ({:.1} KiB)", out.display(), n as f64 / 1024.0);
        }
        Cmd::ExportOnnx(a) => print!("{}", commands::export_onnx::run(&a)?),
        Cmd::Personalize(a) => print!("{}", commands::personalize::run(&a)?),
        Cmd::PersonalizeStudy(a) => print!("{}", commands::personalize_study::run(&a)?),
        Cmd::Inspect { file, json } => print!("{}", commands::inspect::run(&file, json)?),
        Cmd::Score {
            models,
            data_root,
            young,
            old,
            invariance,
            out,
        } => {
            let opts = commands::score::ScoreOptions {
                models,
                data_root,
                young,
                old,
                invariance,
                out,
            };
            print!(
                "{}",
                commands::score::run(&opts, &burn::tensor::Device::flex())?
            );
        }
        Cmd::Predict {
            model,
            acc: None,
            dir: Some(dir),
            json,
            acc_unit,
            gyro_unit,
            ..
        } => {
            let units = fallkd_core::data::units::Units {
                acc: acc_unit,
                gyro: gyro_unit,
            };
            let s =
                commands::predict::run_folder(&model, &dir, units, &burn::tensor::Device::flex())?;
            if json {
                println!("{}", serde_json::to_string(&s)?);
            }
            for i in &s.items {
                match i.max_prob {
                    Some(p) => println!(
                        "{}: {} max {p:.6}, alarms at {:?} s",
                        i.file, i.outcome, i.alarms
                    ),
                    None => println!("{}: refused", i.file),
                }
                for n in &i.notes {
                    println!("  {n}");
                }
            }
            println!(
                "{} recordings: {} read, {} repaired, {} refused",
                s.items.len(),
                s.read,
                s.repaired,
                s.refused
            );
        }
        Cmd::Predict {
            model,
            acc,
            gyro,
            json,
            acc_unit,
            gyro_unit,
            ..
        } => {
            let acc = acc.context("--acc or --dir is needed")?;
            let units = fallkd_core::data::units::Units {
                acc: acc_unit,
                gyro: gyro_unit,
            };
            let a = commands::predict::run(
                &model,
                (&acc, gyro.as_deref(), units),
                &burn::tensor::Device::flex(),
            )?;
            if json {
                println!("{}", serde_json::to_string(&a)?);
            }
            for n in &a.notes {
                eprintln!("note: {n}");
            }
            let max = a.windows.iter().map(|w| w.prob).fold(0.0f64, f64::max);
            println!("{max:.6}");
            eprintln!(
                "{} windows, threshold {:.3}, alarms at {:?} s",
                a.windows.len(),
                a.threshold,
                a.alarms
            );
        }
        Cmd::Speed {
            model,
            batch,
            steps,
            no_tensor_baseline,
            device,
        } => {
            let json =
                commands::speed::run(model, batch, steps, !no_tensor_baseline, &device.get()?)?;
            println!("{json}");
        }
        Cmd::Loso {
            common,
            out,
            folds,
            rows,
            kd_rows,
            features_rows,
            student_rows,
            parallel,
            num_gpus,
            seeds,
            no_old_adults,
            old_adult_val,
            old_alarm_budget,
            alarm,
            compare,
            report_only,
            ensembles,
            threshold_rule,
            threshold_choice,
        } => {
            let alarm = alarm.config()?;
            if let Some(b) = old_alarm_budget
                && !(0.0..=1.0).contains(&b)
            {
                anyhow::bail!(
                    "--old-alarm-budget must lie in [0, 1] (a share of recordings), got {b}"
                );
            }
            let compare = compare
                .iter()
                .map(|c| {
                    c.split_once(':')
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .ok_or_else(|| anyhow::anyhow!("--compare {c}: expected A:B (row names)"))
                })
                .collect::<Result<Vec<_>>>()?;
            commands::loso::run(
                &commands::loso::LosoOptions {
                    configs: common.configs.clone(),
                    sets: common.overrides()?,
                    folds,
                    rows,
                    kd_rows,
                    features_rows,
                    student_rows,
                    parallel,
                    num_gpus,
                    device: common.device.name.clone(),
                    seeds,
                    protocol: fallkd_train::evaluation::Protocol {
                        alarm,
                        choice: threshold_choice,
                        rule: threshold_rule,
                        old_alarm_budget,
                    },
                    old_adults: !no_old_adults,
                    old_adult_val,
                    compare,
                    report_only,
                    ensembles: ensembles
                        .iter()
                        .map(|e| fallkd_train::ensemble::Ensemble::parse(e))
                        .collect::<Result<_>>()?,
                },
                &out,
            )?;
        }
        Cmd::Pipeline { common, out } => {
            let cfg = common.config(&[])?;
            let line = std::env::args().collect::<Vec<_>>().join(" ");
            commands::pipeline::run(&cfg, &out, &common.device.get()?, !common.quiet, &line)?;
        }
    }
    Ok(())
}
