//! `fallkd stress-test`: robustness curves (F1 against perturbation severity).

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::tensor::Device;
use fallkd_core::batch::EventWindow;
use fallkd_core::data::window::Window;
use fallkd_core::metrics::binary_metrics;
use fallkd_core::perturb::Perturbation;
use serde::{Deserialize, Serialize};

use crate::batcher::Batcher;
use crate::checkpoint::write_atomic;
use crate::config::{RunConfig, StudentArch};
use crate::dataset::{data_root, prepare};
use crate::model::{load_trained, predict};
use crate::plot::{Series, line_chart};
use crate::run_dir::Role;

/// One point of a robustness curve.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StressPoint {
    /// Model label (run name and time mode).
    pub model: String,
    /// Perturbation.
    pub kind: String,
    /// Severity in [0, 1].
    pub severity: f64,
    /// F1 at the run's validation threshold.
    pub f1: f64,
    /// AUC.
    pub auc: f64,
}

fn label(cfg: &RunConfig, run: &Path) -> String {
    let name = run.file_name().and_then(|n| n.to_str()).unwrap_or("run");
    match cfg.student.arch {
        StudentArch::FixedRate => format!("{name} (fixed-rate)"),
        StudentArch::TimestampAware => format!("{name} ({})", cfg.student.model.time_mode.name()),
    }
}

/// Curves for every run in `runs`; writes `stress.csv` and one SVG per perturbation into `out`.
pub fn run(
    runs: &[PathBuf],
    out: &Path,
    device: &Device,
    progress: bool,
) -> Result<Vec<StressPoint>> {
    let mut points = Vec::new();
    for run in runs {
        let dir = crate::run_dir::RunDir::new(run);
        let cfg = dir.config()?;
        let root = data_root(&cfg, run.parent().unwrap_or(Path::new(".")))?;
        let data = prepare(&cfg, &root)?;
        let net = load_trained(&cfg, Role::Student, run, device)?;
        let state = dir.state()?;
        let batcher = Batcher {
            data: &data,
            stats: dir.norm()?,
            teacher_stats: None,
            role: Role::Student,
            grid_len: cfg.student.model.num_tokens,
            frames: cfg.data.skeleton_frames,
        };
        let labels: Vec<bool> = data.test.iter().map(|w| w.label).collect();
        let model = label(&cfg, run);
        for kind in &cfg.stress.kinds {
            for &sev in &cfg.stress.severities {
                let p = Perturbation::at_severity(kind, sev)?;
                let perturbed: Vec<Window> = data
                    .test
                    .iter()
                    .enumerate()
                    .map(|(i, w)| {
                        // As the page's stress test perturbs a window (EventWindow::perturbed).
                        let e = EventWindow::from(w).perturbed(
                            &p,
                            cfg.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                        );
                        Window {
                            events: e.events,
                            timestamps: e.timestamps,
                            context: e.context,
                            ..w.clone()
                        }
                    })
                    .collect();
                let probs = predict(&net, &batcher, &perturbed, 64, device);
                let m = binary_metrics(&probs, &labels, state.best_threshold);
                if progress {
                    eprintln!(
                        "{model}: {kind} {sev:.2} -> F1 {:.3} AUC {:.3}",
                        m.f1, m.auc
                    );
                }
                points.push(StressPoint {
                    model: model.clone(),
                    kind: kind.clone(),
                    severity: sev,
                    f1: m.f1,
                    auc: m.auc,
                });
            }
        }
    }
    std::fs::create_dir_all(out)?;
    let mut csv = String::from("model,kind,severity,f1,auc\n");
    for p in &points {
        csv.push_str(&format!(
            "\"{}\",{},{:.3},{:.4},{:.4}\n",
            p.model, p.kind, p.severity, p.f1, p.auc
        ));
    }
    write_atomic(&out.join("stress.csv"), csv.as_bytes())?;
    let kinds: Vec<String> = points
        .iter()
        .map(|p| p.kind.clone())
        .fold(Vec::new(), |mut v, k| {
            if !v.contains(&k) {
                v.push(k);
            }
            v
        });
    for kind in kinds {
        let mut models: Vec<String> = Vec::new();
        for p in points.iter().filter(|p| p.kind == kind) {
            if !models.contains(&p.model) {
                models.push(p.model.clone());
            }
        }
        let series: Vec<Series> = models
            .iter()
            .map(|m| Series {
                name: m.clone(),
                points: points
                    .iter()
                    .filter(|p| &p.model == m && p.kind == kind)
                    .map(|p| (p.severity, p.f1))
                    .collect(),
            })
            .collect();
        let svg = line_chart(
            &format!("Robustness to {kind}"),
            "severity",
            "test F1",
            &series,
            (0.0, 1.0),
        );
        write_atomic(&out.join(format!("stress-{kind}.svg")), svg.as_bytes())?;
    }
    Ok(points)
}

/// `fallkd stress-test`: robustness curves of trained students under timestamp perturbations.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Student run directories.
    #[arg(long = "run", required = true)]
    pub runs: Vec<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "runs/stress")]
    pub out: PathBuf,
    /// The device.
    #[command(flatten)]
    pub device: crate::flags::DeviceArg,
}

/// Runs `fallkd stress-test`.
pub fn cli(a: &Args) -> Result<()> {
    run(&a.runs, &a.out, a.device.get(), true)?;
    println!("written {}", a.out.join("stress.csv").display());
    Ok(())
}
