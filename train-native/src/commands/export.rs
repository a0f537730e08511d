//! `fallkd export --run DIR --out FILE`: the student as one file for the browser.

use std::path::Path;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::Device;
use fallkd_core::alarm::AlarmConfig;
use fallkd_core::batch::EventWindow;
use fallkd_core::data::trial::TrialKey;
use fallkd_core::data::window::WindowLength;
use fallkd_core::fall_replay::FallReplay;
use fallkd_core::inference::prepare_recording;
use fallkd_core::model::{Student, TimestampAwareStudent};
use fallkd_core::model_file::{ModelHeader, to_bytes};
use fallkd_core::personalize;
use fallkd_core::provenance::{Figure, Provenance};

use crate::checkpoint::write_atomic;
use crate::config::RunConfig;
use crate::dataset::{data_origin, data_root, prepare, recordings_in};
use crate::model::{Model, load_trained};
use crate::run_dir::Role;
use crate::run_dir::{RunDir, RunOrigin};
use crate::source::now_utc;

/// What an export adds to the run's model.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Alarm threshold (default: the run's validation threshold).
    pub threshold: Option<f64>,
    /// Alarm logic (its threshold is replaced by the one above).
    pub alarm: Option<AlarmConfig>,
    /// What the page says of the model before its provenance.
    pub note: Option<String>,
    /// The figures that chose the model (lockbox, across-watch, folds), as reported.
    pub figures: Vec<Figure>,
}

/// Parses `NAME=VALUE` (a figure of `--figure`).
pub fn parse_figure(s: &str) -> Result<Figure, String> {
    match s.split_once('=') {
        Some((n, v)) if !n.trim().is_empty() && !v.trim().is_empty() => Ok(Figure {
            name: n.trim().into(),
            value: v.trim().into(),
        }),
        _ => Err(format!(
            "`{s}`: a figure is NAME=VALUE, e.g. 'lockbox recording F1=0.812 +- 0.009'"
        )),
    }
}

/// Exports a student run with its alarm threshold (`threshold`, else the one that maximised
/// validation F1) and its provenance; returns the file size in bytes.
pub fn run(run: &Path, out: &Path, opts: &ExportOptions, device: &Device) -> Result<usize> {
    let ExportOptions {
        threshold,
        alarm,
        note,
        figures,
    } = opts.clone();
    if let Some(t) = threshold
        && !(t > 0.0 && t < 1.0)
    {
        bail!("--threshold {t}: a fall probability threshold lies strictly between 0 and 1");
    }
    let dir = RunDir::new(run);
    if dir.role()? == Role::Teacher {
        bail!(
            "{} is a teacher run: export a student run (the browser has no skeleton)",
            run.display()
        );
    }
    let cfg = dir.config()?;
    let stats = dir.norm()?;
    let state = dir.state()?;
    let summary = dir.summary().ok();
    let origin = match dir.origin()? {
        Some(o) => o,
        None => origin_now(&cfg, run)?,
    };
    let net = load_trained(&cfg, Role::Student, run, device)?;
    let student = match net.model {
        Model::Student(s) => s,
        Model::Teacher(_) => bail!("{} holds a teacher", run.display()),
    };
    let arch = cfg.student.config();
    let window_seconds = match cfg.window.length {
        WindowLength::Duration { seconds } => seconds,
        WindowLength::Count { .. } => 4.0,
    };
    let threshold_choice = match threshold {
        Some(t) => format!("{t} given at export (--threshold)"),
        None => format!(
            "{:.4}: the best F1 on the run's validation windows (subjects {:?})",
            state.best_threshold, origin.data.val_subjects
        ),
    };
    let threshold = threshold.unwrap_or(state.best_threshold);
    let alarm = AlarmConfig {
        threshold,
        ..alarm.unwrap_or_default()
    };
    alarm.validate()?;
    let val_subjects = origin.data.val_subjects.clone();
    let mut header = ModelHeader {
        arch,
        stats,
        threshold,
        window_seconds,
        window: Some(cfg.window.clone()),
        alarm: Some(alarm),
        gyro_dropout: cfg.train.gyro_dropout,
        description: format!(
            "{}run {} ({}), split {}{}",
            note.as_deref().map_or(String::new(), |n| format!("{n}; ")),
            run.display(),
            cfg.data
                .root
                .as_ref()
                .map_or("generated data".into(), |r| r.display().to_string()),
            summary.as_ref().map_or("?", |s| s.split.name.as_str()),
            // A run without test subjects has no test figures to give (not an F1 of 0).
            match summary.as_ref() {
                Some(s) if !s.split.test.is_empty() =>
                    format!(", test F1 {:.3} AUC {:.3}", s.test.f1, s.test.auc),
                _ => ", no test subjects".into(),
            }
        ),
        provenance: Some(Provenance {
            run: run.display().to_string(),
            data: origin.data,
            config: serde_yaml::to_string(&cfg)?,
            commit: origin.commit,
            exported: now_utc(),
            threshold_choice,
            figures,
            base_model: String::new(),
            personalization: None,
        }),
        fall_replay: None,
        file: Default::default(),
    };
    let record = match student {
        Student::TimestampAware(m) => {
            header.fall_replay = fall_replay(&cfg, run, &val_subjects, &m, &header)?;
            m.into_record()
        }
        Student::FixedRate(m) => m.into_record(),
    };
    let bytes = to_bytes(&header, record)?;
    write_atomic(out, &bytes)?;
    Ok(bytes.len())
}

/// The fall replay of an exported student ([`fallkd_core::fall_replay`]): the fall recordings
/// of the run's validation subjects, read from its data folder through the path `fallkd predict`
/// takes (identical files once). None, with a note, when there are none or the data is gone.
fn fall_replay(
    cfg: &RunConfig,
    run: &Path,
    val_subjects: &[u16],
    student: &TimestampAwareStudent,
    header: &ModelHeader,
) -> Result<Option<FallReplay>> {
    let root = data_root(cfg, run.parent().unwrap_or(Path::new(".")))?;
    let young = root.join("young");
    let files = match recordings_in(&young) {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "note: {e:#}: the model carries no fall replay, so personalisation cannot keep a \
                 wearer's fall sensitivity without labelled falls"
            );
            return Ok(None);
        }
    };
    let window = header.window_config();
    let mut seen = std::collections::HashSet::new();
    let mut falls = Vec::new();
    for (acc_path, gyro_path) in &files {
        let key = acc_path
            .file_name()
            .and_then(|n| TrialKey::parse(&n.to_string_lossy()));
        if !key.is_some_and(|k| k.is_fall() && val_subjects.contains(&k.subject)) {
            continue;
        }
        let acc =
            std::fs::read(acc_path).with_context(|| format!("reading {}", acc_path.display()))?;
        if !seen.insert(fallkd_core::provenance::sha256_hex(&acc)) {
            continue;
        }
        let gyro = gyro_path.as_ref().and_then(|g| std::fs::read(g).ok());
        let acc_name = acc_path.display().to_string();
        let gyro_name = gyro_path
            .as_ref()
            .map(|g| g.display().to_string())
            .unwrap_or_default();
        let r = prepare_recording(
            (&acc_name, &acc),
            gyro.as_deref().map(|g| (gyro_name.as_str(), g)),
            &window,
        )?;
        falls.push(r.windows.iter().map(EventWindow::from).collect::<Vec<_>>());
    }
    if falls.is_empty() {
        eprintln!(
            "note: the run's validation subjects {val_subjects:?} have no fall recording under {}: \
             the model carries no fall replay",
            young.display()
        );
        return Ok(None);
    }
    let source = format!(
        "the highest-scoring window of each of the {} fall recordings of validation subjects {:?}",
        falls.len(),
        val_subjects
    );
    Ok(Some(personalize::fall_replay(
        student, header, &falls, source,
    )?))
}

/// The origin of a run trained before runs recorded it: its data loaded and hashed again now
/// (the commit is then unknown).
fn origin_now(cfg: &RunConfig, run: &Path) -> Result<RunOrigin> {
    let root = match &cfg.data.root {
        Some(r) => r.clone(),
        None => bail!(
            "{} has no {} and trained on generated data that is gone: train it again to export it with its provenance",
            run.display(),
            RunDir::ORIGIN
        ),
    };
    let prepared = prepare(cfg, &root).with_context(|| {
        format!(
            "hashing the data of {} (it has no {})",
            run.display(),
            RunDir::ORIGIN
        )
    })?;
    Ok(RunOrigin {
        data: data_origin(&prepared, cfg),
        commit: "unknown (trained before runs recorded it)".into(),
        started: String::new(),
    })
}

/// `fallkd export`: a student run as a model file for the page and `fallkd predict`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Student run directory.
    #[arg(long)]
    pub run: std::path::PathBuf,
    /// Output file.
    #[arg(long, default_value = "student.fallkd")]
    pub out: std::path::PathBuf,
    /// Alarm threshold on the fall probability (default: the run's validation threshold).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Alarm logic shipped with the model.
    #[command(flatten)]
    pub alarm: crate::flags::AlarmArgs,
    /// What the page says of the model before its provenance (e.g. its
    /// leave-one-subject-out figures).
    #[arg(long)]
    pub note: Option<String>,
    /// A figure that chose the model, written into its provenance: NAME=VALUE, e.g.
    /// 'lockbox recording F1=0.812 +- 0.009'. Repeatable.
    #[arg(long = "figure", value_parser = parse_figure)]
    pub figures: Vec<Figure>,
}

/// Runs `fallkd export`.
pub fn cli(a: &Args) -> Result<()> {
    let opts = ExportOptions {
        threshold: a.threshold,
        alarm: Some(a.alarm.config()?),
        note: a.note.clone(),
        figures: a.figures.clone(),
    };
    let n = run(&a.run, &a.out, &opts, &Device::flex())?;
    println!(
        "exported {} ({:.1} KiB)",
        a.out.display(),
        n as f64 / 1024.0
    );
    Ok(())
}
