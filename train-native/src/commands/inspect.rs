//! `fallkd inspect FILE`: what a model file holds, its checksum and where it comes from.

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::tensor::Device;
use fallkd_core::data::gravity::Axes;
use fallkd_core::data::window::WindowLength;
use fallkd_core::model::{Student, StudentConfig};
use fallkd_core::model_file::from_bytes;

/// The report on `file` (the header as JSON with `json`). A damaged file is an error naming it.
pub fn run(file: &Path, json: bool) -> Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (h, model) = from_bytes(&bytes, &Device::flex())
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if json {
        let mut v = serde_json::to_value(&h)?;
        v["file"] = serde_json::json!({
            "format": h.file.format, "checked": h.file.checked, "sha256": h.file.sha256,
        });
        return Ok(serde_json::to_string_pretty(&v)? + "\n");
    }
    let params = match &model {
        Student::TimestampAware(m) => m.num_params(),
        Student::FixedRate(m) => m.num_params(),
    };
    let mut o = String::new();
    writeln!(o, "{}", file.display())?;
    line(&mut o, "file", &h.file.describe());
    let arch = match &h.arch {
        StudentConfig::TimestampAware(c) => format!(
            "timestamp-aware student, {params} parameters ({} tokens, {} layers, width {}{})",
            c.num_tokens,
            c.num_layers,
            c.embed_dim,
            if c.window_features {
                ", window-feature path"
            } else {
                ""
            }
        ),
        StudentConfig::FixedRate(_) => format!("fixed-rate baseline, {params} parameters"),
    };
    line(&mut o, "model", &arch);
    line(
        &mut o,
        "inputs",
        match h.stats.axes {
            Axes::Device => "the watch's own axes (the wrist and the watch's orientation matter)",
            Axes::Gravity => "gravity axes (either wrist, any watch orientation, g or m/s^2 alike)",
        },
    );
    let a = h.alarm_config();
    line(
        &mut o,
        "alarm",
        &format!(
            "fall probability >= {} on {} of {} windows, then {} s without a new alarm",
            a.threshold, a.k, a.n, a.refractory_s
        ),
    );
    let w = h.window_config();
    let mut win = match w.length {
        WindowLength::Duration { seconds } => format!("{seconds} s windows"),
        WindowLength::Count { events } => format!("windows of {events} events"),
    };
    if let Some(c) = w.feature_context_s {
        write!(win, ", window features over {c} s")?;
    }
    if w.context_ahead_s() > 0.0 {
        write!(
            win,
            " reaching {} s ahead (alarms come that much later)",
            w.context_ahead_s()
        )?;
    }
    if let Some(hz) = w.resample_hz {
        write!(win, ", on an even {hz} Hz clock")?;
    }
    line(&mut o, "windows", &win);
    line(
        &mut o,
        "gyroscope",
        &if h.gyro_dropout > 0.0 {
            format!(
                "optional (trained with it zeroed in {:.0} % of windows)",
                h.gyro_dropout * 100.0
            )
        } else {
            "expected (trained always with one)".into()
        },
    );
    if let Some(r) = &h.fall_replay {
        line(
            &mut o,
            "fall replay",
            &format!(
                "{} fall windows, kept alarming when a wearer personalises without labelling a fall: {}",
                r.windows.len(),
                r.source
            ),
        );
    }
    line(&mut o, "description", &h.description);
    provenance_lines(&mut o, h.provenance.as_ref());
    Ok(o)
}

/// One `  key value` line of the report.
fn line(o: &mut String, k: &str, v: &str) {
    writeln!(o, "  {k:<12} {v}").expect("writing to a string");
}

/// The provenance lines: run, export, commit, data, threshold, personalisation, figures.
fn provenance_lines(o: &mut String, provenance: Option<&fallkd_core::provenance::Provenance>) {
    match provenance {
        None => line(
            o,
            "provenance",
            "none (written before model files carried it)",
        ),
        Some(p) => {
            line(o, "run", &p.run);
            line(o, "exported", &p.exported);
            line(o, "commit", &p.commit);
            let d = &p.data;
            line(
                o,
                "data",
                &format!(
                    "sha256 {} over {} recordings of {}: train {}, validation {}, older adults {}",
                    d.sha256,
                    d.recordings,
                    d.source,
                    subjects(&d.train_subjects),
                    subjects(&d.val_subjects),
                    subjects(&d.old_adults)
                ),
            );
            line(o, "threshold", &p.threshold_choice);
            if !p.base_model.is_empty() {
                line(o, "adapted from", &p.base_model);
            }
            if let Some(r) = &p.personalization {
                line(
                    o,
                    "personal",
                    &format!(
                        "{} from {} labelled recordings ({} falls, {} windows) on {}, threshold {:.3}; {}",
                        r.adapted, r.recordings, r.falls, r.windows, r.date, r.threshold, r.why
                    ),
                );
            }
            for f in &p.figures {
                line(o, "figure", &format!("{}: {}", f.name, f.value));
            }
            line(
                o,
                "config",
                &format!(
                    "{} lines (`fallkd inspect --json` prints it)",
                    p.config.lines().count()
                ),
            );
        }
    }
}

fn subjects(s: &[u16]) -> String {
    if s.is_empty() {
        return "none".into();
    }
    s.iter()
        .map(|s| format!("S{s:02}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `fallkd inspect`: what a model file holds.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model file.
    pub file: std::path::PathBuf,
    /// Print the header as JSON instead (the configuration included).
    #[arg(long)]
    pub json: bool,
}

/// Runs `fallkd inspect`.
pub fn cli(a: &Args) -> Result<()> {
    print!("{}", run(&a.file, a.json)?);
    Ok(())
}
