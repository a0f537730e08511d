//! `fallkd export --run DIR --out FILE`: the student as one file for the browser.

use std::path::Path;

use anyhow::{Result, bail};
use burn::module::Module;
use burn::tensor::Device;
use fallkd_core::alarm::AlarmConfig;
use fallkd_core::data::window::WindowLength;
use fallkd_core::model::Student;
use fallkd_core::model_file::{ModelHeader, to_bytes};

use crate::checkpoint::write_atomic;
use crate::run_dir::RunDir;
use crate::trainer::{Model, Role, load_trained};

/// Exports a student run with its alarm threshold (`threshold`, else the one that maximised
/// validation F1); returns the file size in bytes.
pub fn run(
    run: &Path,
    out: &Path,
    threshold: Option<f64>,
    alarm: Option<AlarmConfig>,
    note: Option<&str>,
    device: &Device,
) -> Result<usize> {
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
    let net = load_trained(&cfg, Role::Student, run, device)?;
    let record = match net.model {
        Model::Student(Student::TimestampAware(m)) => m.into_record(),
        Model::Student(Student::FixedRate(m)) => m.into_record(),
        Model::Teacher(_) => bail!("{} holds a teacher", run.display()),
    };
    let arch = cfg.student.config();
    let window_seconds = match cfg.window.length {
        WindowLength::Duration { seconds } => seconds,
        WindowLength::Count { .. } => 4.0,
    };
    let threshold = threshold.unwrap_or(state.best_threshold);
    let alarm = AlarmConfig {
        threshold,
        ..alarm.unwrap_or_default()
    };
    alarm.validate()?;
    let header = ModelHeader {
        arch,
        stats,
        threshold,
        window_seconds,
        window: Some(cfg.window.clone()),
        alarm: Some(alarm),
        gyro_dropout: cfg.train.gyro_dropout,
        description: format!(
            "{}run {} ({}), split {}{}",
            note.map_or(String::new(), |n| format!("{n}; ")),
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
    };
    let bytes = to_bytes(&header, record)?;
    write_atomic(out, &bytes)?;
    Ok(bytes.len())
}
