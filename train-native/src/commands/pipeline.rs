//! `fallkd pipeline`: teacher -> student without KD -> student with KD (each time mode) ->
//! fixed-rate baseline -> stress tests -> export -> report. Generated data when no data root.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use burn::tensor::Device;

use crate::checkpoint::write_atomic;
use crate::commands::{export, stress, train};
use crate::config::{RunConfig, StudentArch};
use crate::run_dir::{Role, RunSummary};
use crate::sweep::{Variant, summary_table};
use fallkd_core::model::TimeMode;

/// Runs the whole plan into `out`; returns the report path.
pub fn run(
    base: &RunConfig,
    out: &Path,
    device: &Device,
    progress: bool,
    command_line: &str,
) -> Result<PathBuf> {
    let start = Instant::now();
    std::fs::create_dir_all(out)?;
    let mut rows: Vec<(Variant, RunSummary)> = Vec::new();
    let v = |name: &str, set: &[&str]| Variant {
        name: name.into(),
        set: set.iter().map(|s| s.to_string()).collect(),
    };

    let teacher_dir = out.join("teacher");
    rows.push((
        v("teacher", &["(skeleton)"]),
        train::run(base, Role::Teacher, &teacher_dir, device, None, progress)?,
    ));

    let mut nokd = base.clone();
    nokd.kd.enabled = false;
    rows.push((
        v("student-nokd", &["kd.enabled=false"]),
        train::run(
            &nokd,
            Role::Student,
            &out.join("student-nokd"),
            device,
            None,
            progress,
        )?,
    ));

    let mut kd_runs = Vec::new();
    for mode in TimeMode::ALL {
        let mut c = base.clone();
        c.kd.enabled = true;
        c.kd.teacher = Some(teacher_dir.clone());
        c.student.model.time_mode = mode;
        let name = if mode == TimeMode::Timestamps {
            "student-kd".to_string()
        } else {
            format!("student-kd-{}", mode.name())
        };
        let dir = out.join(&name);
        let set = format!("kd.enabled=true student.time_mode={}", mode.name());
        rows.push((
            v(&name, &[&set]),
            train::run(&c, Role::Student, &dir, device, None, progress)?,
        ));
        kd_runs.push(dir);
    }

    let mut baseline = base.clone();
    baseline.kd.enabled = false;
    baseline.student.arch = StudentArch::FixedRate;
    let baseline_dir = out.join("baseline-fixed-rate");
    rows.push((
        v("baseline-fixed-rate", &["student.arch=fixed-rate"]),
        train::run(
            &baseline,
            Role::Student,
            &baseline_dir,
            device,
            None,
            progress,
        )?,
    ));

    let mut stress_runs = kd_runs.clone();
    stress_runs.push(baseline_dir);
    let points = stress::run(&stress_runs, &out.join("stress"), device, progress)?;

    // Export the distilled student with the best validation F1 (test numbers never pick).
    let best = kd_runs
        .iter()
        .zip(
            rows.iter()
                .filter(|(v, _)| v.name.starts_with("student-kd")),
        )
        .max_by(|a, b| a.1.1.val_f1.total_cmp(&b.1.1.val_f1))
        .map(|(d, _)| d.clone())
        .expect("three KD runs");
    let model_path = out.join("student.fallkd");
    let size = export::run(&best, &model_path, &Default::default(), device)?;

    let md = report_markdown(
        base,
        command_line,
        start,
        &rows,
        &points,
        (best.as_path(), size),
    );
    let report = out.join("report.md");
    write_atomic(&report, md.as_bytes())?;
    println!(
        "report: {} ({:.1} min)",
        report.display(),
        start.elapsed().as_secs_f64() / 60.0
    );
    Ok(report)
}

/// The pipeline's report: data and split, the test table, the robustness curves, the export.
fn report_markdown(
    base: &RunConfig,
    command_line: &str,
    start: Instant,
    rows: &[(Variant, RunSummary)],
    points: &[stress::StressPoint],
    (best, size): (&Path, usize),
) -> String {
    let mut md = String::new();
    md.push_str("# fallkd pipeline report\n\n");
    md.push_str(&format!("Command: `{command_line}`\n\n"));
    md.push_str(&format!(
        "Data: {}. Split: {} (train {:?}, validation {:?}, test {:?}). Wall time {:.1} min on this machine.\n\n",
        base.data.root.as_ref().map_or("generated SmartFallMM look-alike (`fallkd generate`)".to_string(), |r| format!("`{}`", r.display())),
        rows[0].1.split.name,
        rows[0].1.split.train,
        rows[0].1.split.val,
        rows[0].1.split.test,
        start.elapsed().as_secs_f64() / 60.0
    ));
    md.push_str("## Test results\n\nF1, precision, recall and accuracy at threshold 0.5; AUC threshold-free; \"F1 @ val thr\" at the threshold that maximised validation F1. ms/window: batch-1 inference on this CPU.\n\n");
    md.push_str(&summary_table(rows));
    md.push_str(
        "\n## Robustness (test F1 at the validation threshold against perturbation severity)\n\n",
    );
    let mut kinds: Vec<&str> = Vec::new();
    for p in points {
        if !kinds.contains(&p.kind.as_str()) {
            kinds.push(p.kind.as_str());
        }
    }
    for k in &kinds {
        md.push_str(&format!("![{k}](stress/stress-{k}.svg)\n\n"));
    }
    md.push_str("| model | perturbation | severity | F1 | AUC |\n|---|---|---|---|---|\n");
    for p in points {
        md.push_str(&format!(
            "| {} | {} | {:.2} | {:.3} | {:.3} |\n",
            p.model, p.kind, p.severity, p.f1, p.auc
        ));
    }
    md.push_str(&format!(
        "\n## Exported student\n\n`student.fallkd` ({:.1} KiB) from `{}` (best validation F1 among the distilled students).\n\nPer-epoch metrics: `*/metrics.csv`; resolved configurations: `*/config.yaml`.\n",
        size as f64 / 1024.0,
        best.display()
    ));
    md
}

/// `fallkd pipeline`: the main job.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Configuration, data, device, seed, epochs.
    #[command(flatten)]
    pub common: crate::flags::Common,
    /// Output folder.
    #[arg(long, default_value = "runs/pipeline")]
    pub out: std::path::PathBuf,
}

/// Runs `fallkd pipeline`.
pub fn cli(a: &Args) -> Result<()> {
    let (cfg, _) = a.common.config(&[])?;
    let line = std::env::args().collect::<Vec<_>>().join(" ");
    let c = &a.common;
    run(&cfg, &a.out, c.device.get(), !c.quiet, &line)?;
    Ok(())
}
