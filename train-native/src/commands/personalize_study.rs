//! `fallkd personalize-study`: the three personalisation protocols of issue #33 on every fold
//! and lockbox subject, for each variant, against the base models (results/personalize/RULE.md).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::flags::Switch;
use crate::stats::{format_p, mean_std, wilcoxon_signed_rank};
use anyhow::{Context, Result};
use burn::tensor::Device;
use fallkd_core::model::HostStudent;
use fallkd_core::model_file::from_bytes;
use fallkd_core::personalize::{
    Adapt, Head, LabelledRecording, PersonalizeConfig, personalize, recording_scores, represent,
};
use serde::Serialize;

use super::personalize::recording_windows;
use crate::checkpoint::write_atomic;

/// Flags of `fallkd personalize-study`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Dataset root (holding young/ and old/).
    #[arg(long, default_value = "data")]
    pub data_root: PathBuf,
    /// The yardstick's runs (fold-Sxx/RECIPE/sNN/student.fallkd, lockbox/RECIPE/sNN/...).
    #[arg(long, default_value = "runs/yardstick")]
    pub runs: PathBuf,
    /// The recipe whose base models adapt.
    #[arg(long, default_value = "gravity-long")]
    pub recipe: String,
    /// Seeds (base models) per subject.
    #[arg(long, value_delimiter = ',', default_value = "42,43,44")]
    pub seeds: Vec<u64>,
    /// Output folder (study.md, study.json).
    #[arg(long, default_value = "results/personalize")]
    pub out: PathBuf,
    /// Which wearers: `folds`, `lockbox` or `all` (a setting is chosen on the folds alone).
    #[arg(long, default_value = "all")]
    pub wearers: String,
    /// Adam steps of the head (default: `PersonalizeConfig::default()`'s).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Weight of the pull toward the base weights.
    #[arg(long)]
    pub anchor: Option<f64>,
    /// Temperature of the smooth maximum over a recording's windows.
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Fall windows shipped with the model for wearers who label no fall.
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub replay: Switch,
    /// The share of the replayed falls the base model catches that the threshold may pass.
    #[arg(long, default_value_t = PersonalizeConfig::default().replay_tolerance, value_parser = crate::flags::share)]
    pub replay_tolerance: f64,
}

impl Args {
    /// The settings every variant runs with.
    fn config(&self, adapt: Adapt) -> PersonalizeConfig {
        let d = PersonalizeConfig::default();
        PersonalizeConfig {
            adapt,
            steps: self.steps.unwrap_or(d.steps),
            lr: self.lr.unwrap_or(d.lr),
            anchor: self.anchor.unwrap_or(d.anchor),
            temperature: self.temperature.unwrap_or(d.temperature),
            replay: self.replay.on(),
            replay_tolerance: self.replay_tolerance,
            ..d
        }
    }
}

/// One recording of a wearer.
struct Recording {
    activity: u32,
    trial: u32,
    fall: bool,
    acc: PathBuf,
    gyro: Option<PathBuf>,
}

/// A wearer and the base models trained without them.
struct Wearer {
    name: String,
    group: &'static str,
    old: bool,
    models: Vec<PathBuf>,
    recordings: Vec<Recording>,
}

/// Base and personal figures of one wearer, protocol, variant and seed.
#[derive(Debug, Clone, Serialize)]
struct Row {
    wearer: String,
    group: &'static str,
    protocol: &'static str,
    variant: &'static str,
    seed: u64,
    labelled: usize,
    used: bool,
    falls: usize,
    adls: usize,
    base_caught: usize,
    base_adl_alarms: usize,
    personal_caught: usize,
    personal_adl_alarms: usize,
}

impl Row {
    fn f1(caught: usize, alarms: usize, falls: usize) -> f64 {
        let d = 2 * caught + alarms + (falls - caught);
        if d == 0 {
            f64::NAN
        } else {
            2.0 * caught as f64 / d as f64
        }
    }
    fn base_f1(&self) -> f64 {
        Row::f1(self.base_caught, self.base_adl_alarms, self.falls)
    }
    fn personal_f1(&self) -> f64 {
        Row::f1(self.personal_caught, self.personal_adl_alarms, self.falls)
    }
}

/// The recordings of `subject` under `dir` (a `young/` or `old/` folder), by activity and trial.
fn recordings(dir: &Path, subject: u32, old: bool) -> Result<Vec<Recording>> {
    let mut out = Vec::new();
    for (acc, gyro) in crate::dataset::recordings_in(dir)? {
        let name = acc.file_name().map(|n| n.to_string_lossy().to_string());
        let Some(key) = name.and_then(|n| fallkd_core::data::trial::TrialKey::parse(&n)) else {
            continue;
        };
        if u32::from(key.subject) != subject {
            continue;
        }
        out.push(Recording {
            activity: key.activity.into(),
            trial: key.trial.into(),
            fall: !old && key.activity >= 10,
            acc,
            gyro,
        });
    }
    out.sort_by_key(|r| (r.activity, r.trial));
    Ok(out)
}

fn wearers(a: &Args) -> Result<Vec<Wearer>> {
    let young = a.data_root.join("young");
    let old = a.data_root.join("old");
    let models = |split: &str| -> Vec<PathBuf> {
        a.seeds
            .iter()
            .map(|s| {
                a.runs
                    .join(split)
                    .join(&a.recipe)
                    .join(format!("s{s}"))
                    .join("student.fallkd")
            })
            .collect()
    };
    let mut out = Vec::new();
    for s in [30, 34, 36, 37, 38, 43, 45, 46, 31, 39, 44] {
        let lockbox = [31, 39, 44].contains(&s);
        out.push(Wearer {
            name: format!("S{s}"),
            group: if lockbox { "lockbox" } else { "folds" },
            old: false,
            models: if lockbox {
                models("lockbox")
            } else {
                models(&format!("fold-S{s}"))
            },
            recordings: recordings(&young, s, false)?,
        });
    }
    for s in [1, 9] {
        out.push(Wearer {
            name: format!("old S{s:02}"),
            group: "lockbox",
            old: true,
            models: models("lockbox"),
            recordings: recordings(&old, s, true)?,
        });
    }
    Ok(out)
}

/// Labelled and test recordings of a protocol (indices into the wearer's recordings).
fn split(
    w: &Wearer,
    protocol: &str,
    base_scores: &[f64],
    threshold: f64,
) -> (Vec<usize>, Vec<usize>) {
    let n = w.recordings.len();
    let first_of_activity = |i: usize| {
        let r = &w.recordings[i];
        !w.recordings
            .iter()
            .any(|o| o.activity == r.activity && o.trial < r.trial)
    };
    let labelled: Vec<usize> = match protocol {
        "full" => (0..n).filter(|&i| first_of_activity(i)).collect(),
        "adl-only" => (0..n)
            .filter(|&i| !w.recordings[i].fall && first_of_activity(i))
            .collect(),
        _ => {
            let mut adl: Vec<usize> = (0..n).filter(|&i| !w.recordings[i].fall).collect();
            adl.sort_by_key(|&i| (w.recordings[i].trial, w.recordings[i].activity));
            let half = adl.len() / 2;
            let (first, second) = adl.split_at(half);
            let alarms: Vec<usize> = first
                .iter()
                .copied()
                .filter(|&i| base_scores[i] >= threshold)
                .collect();
            let test: Vec<usize> = second
                .iter()
                .copied()
                .chain((0..n).filter(|&i| w.recordings[i].fall))
                .collect();
            return (alarms, test);
        }
    };
    let test = (0..n).filter(|i| !labelled.contains(i)).collect();
    (labelled, test)
}

/// Runs the study; returns the report's path.
pub fn run(a: &Args) -> Result<String> {
    let mut rows = Vec::new();
    for w in wearers(a)?
        .into_iter()
        .filter(|w| a.wearers == "all" || a.wearers == w.group)
    {
        for (model_path, &seed) in w.models.iter().zip(&a.seeds) {
            let bytes = std::fs::read(model_path)
                .with_context(|| format!("cannot read {}", model_path.display()))?;
            let (header, model) = from_bytes(&bytes, &Device::flex())
                .map_err(|e| anyhow::anyhow!("{}: {e}", model_path.display()))?;
            let student = model
                .timestamp_aware()
                .context("a timestamp-aware student")?;
            let host = HostStudent::new(student)?;
            let mut reps = Vec::with_capacity(w.recordings.len());
            for r in &w.recordings {
                let windows =
                    recording_windows(&header, &r.acc, r.gyro.as_deref()).unwrap_or_default();
                reps.push(LabelledRecording {
                    windows: represent(&host, &header, &windows)?,
                    fall: r.fall,
                });
            }
            let all: Vec<&LabelledRecording> = reps.iter().collect();
            let base_head = Head::of(student);
            let base_t = header.alarm_config().threshold;
            let base_scores = recording_scores(&base_head, &all)?;
            for protocol in ["full", "adl-only", "feedback"] {
                if protocol == "full" && w.old {
                    continue;
                }
                let (lab, test) = split(&w, protocol, &base_scores, base_t);
                let test: Vec<usize> = test
                    .into_iter()
                    .filter(|&i| !reps[i].windows.is_empty())
                    .collect();
                let cal: Vec<LabelledRecording> = lab
                    .iter()
                    .map(|&i| reps[i].clone())
                    .filter(|r| !r.windows.is_empty())
                    .collect();
                let tests: Vec<&LabelledRecording> = test.iter().map(|&i| &reps[i]).collect();
                let count = |scores: &[f64], t: f64| {
                    let caught = tests
                        .iter()
                        .zip(scores)
                        .filter(|(r, s)| r.fall && **s >= t)
                        .count();
                    let alarms = tests
                        .iter()
                        .zip(scores)
                        .filter(|(r, s)| !r.fall && **s >= t)
                        .count();
                    (caught, alarms)
                };
                let base_test: Vec<f64> = test.iter().map(|&i| base_scores[i]).collect();
                let (bc, ba) = count(&base_test, base_t);
                for (variant, adapt) in [
                    ("threshold", Adapt::Threshold),
                    ("head", Adapt::Head),
                    ("auto", Adapt::Auto),
                ] {
                    let cfg = a.config(adapt);
                    let (used, (pc, pa)) = if cal.len() < 2 {
                        (false, (bc, ba))
                    } else {
                        let p = personalize(&model, &header, &cal, &cfg, "study")?;
                        let head = Head::of(p.model.timestamp_aware().expect("a student"));
                        let s = recording_scores(&head, &tests)?;
                        (p.report.used, count(&s, p.header.alarm_config().threshold))
                    };
                    rows.push(Row {
                        wearer: w.name.clone(),
                        group: w.group,
                        protocol,
                        variant,
                        seed,
                        labelled: cal.len(),
                        used,
                        falls: tests.iter().filter(|r| r.fall).count(),
                        adls: tests.iter().filter(|r| !r.fall).count(),
                        base_caught: bc,
                        base_adl_alarms: ba,
                        personal_caught: pc,
                        personal_adl_alarms: pa,
                    });
                }
            }
        }
        eprintln!("{}: done", w.name);
    }
    std::fs::create_dir_all(&a.out)?;
    write_atomic(
        &a.out.join("study.json"),
        &serde_json::to_vec_pretty(&rows)?,
    )?;
    let mut md = report(&rows, &a.recipe, a.seeds.len());
    let c = a.config(Adapt::Auto);
    md = md.replacen(
        "\n\n",
        &format!(
            "\n\nSettings: {} steps, lr {}, anchor {}, temperature {}, fall replay {} (tolerance {}) (wearers: {}).\n\n",
            c.steps,
            c.lr,
            c.anchor,
            c.temperature,
            if c.replay { "on" } else { "off" },
            c.replay_tolerance,
            a.wearers
        ),
        1,
    );
    write_atomic(&a.out.join("study.md"), md.as_bytes())?;
    Ok(md)
}

/// Per-wearer means over seeds, then mean +- std over wearers and paired tests.
fn report(rows: &[Row], recipe: &str, seeds: usize) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Personalisation study (results/personalize/RULE.md)\n\nCommand: `fallkd personalize-study \
         --recipe {recipe}` (base models: the yardstick's {recipe} folds and lockbox, {seeds} seeds \
         each). Per wearer the mean over seeds; mean +- std over wearers; Wilcoxon signed-rank over \
         wearers, personal against base. F1 is recording F1 on the wearer's test recordings.\n"
    );
    for group in ["folds", "lockbox"] {
        for protocol in ["full", "adl-only", "feedback"] {
            for variant in ["threshold", "head", "auto"] {
                let sel: Vec<&Row> = rows
                    .iter()
                    .filter(|r| r.group == group && r.protocol == protocol && r.variant == variant)
                    .collect();
                if sel.is_empty() {
                    continue;
                }
                let mut wearers: Vec<&str> = sel.iter().map(|r| r.wearer.as_str()).collect();
                wearers.dedup();
                let _ = writeln!(
                    o,
                    "## {group}, {protocol} calibration, adapt {variant}\n\n| wearer | labelled | used | falls caught base -> personal | ADL alarming base -> personal | F1 base -> personal |\n|---|---|---|---|---|---|"
                );
                let (mut fb, mut fp, mut ab, mut ap, mut cb, mut cp, mut falls_all) =
                    (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
                for w in &wearers {
                    let rs: Vec<&&Row> = sel.iter().filter(|r| r.wearer == *w).collect();
                    let m = |f: &dyn Fn(&Row) -> f64| {
                        rs.iter().map(|r| f(r)).sum::<f64>() / rs.len() as f64
                    };
                    let (b1, p1) = (m(&|r| r.base_f1()), m(&|r| r.personal_f1()));
                    let (bc, pc) = (
                        m(&|r| r.base_caught as f64),
                        m(&|r| r.personal_caught as f64),
                    );
                    let (ba, pa) = (
                        m(&|r| r.base_adl_alarms as f64),
                        m(&|r| r.personal_adl_alarms as f64),
                    );
                    let falls = m(&|r| r.falls as f64);
                    let adls = m(&|r| r.adls as f64);
                    let _ = writeln!(
                        o,
                        "| {w} | {:.1} | {}/{} | {bc:.1} -> {pc:.1} of {falls:.0} | {ba:.1} -> {pa:.1} of {adls:.0} | {b1:.3} -> {p1:.3} |",
                        m(&|r| r.labelled as f64),
                        rs.iter().filter(|r| r.used).count(),
                        rs.len()
                    );
                    fb.push(b1);
                    fp.push(p1);
                    ab.push(ba);
                    ap.push(pa);
                    cb.push(bc);
                    cp.push(pc);
                    falls_all.push(falls);
                }
                let ms = |v: &[f64]| {
                    let v: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
                    let (m, s) = mean_std(&v);
                    format!("{m:.3} +- {s:.3}")
                };
                let d = |a: &[f64], b: &[f64]| -> Vec<f64> {
                    a.iter().zip(b).map(|(x, y)| x - y).collect()
                };
                let (sa, sp, sc, scp, sf) = (
                    ab.iter().sum::<f64>(),
                    ap.iter().sum::<f64>(),
                    cb.iter().sum::<f64>(),
                    cp.iter().sum::<f64>(),
                    falls_all.iter().sum::<f64>(),
                );
                let worst = fp
                    .iter()
                    .zip(&fb)
                    .map(|(p, b)| p - b)
                    .filter(|x| !x.is_nan())
                    .fold(f64::INFINITY, f64::min);
                let _ = writeln!(
                    o,
                    "\nF1 {} -> {} (change {}; worst wearer {worst:+.3}; Wilcoxon p = {}). ADL alarms {sa:.1} -> {sp:.1} \
                     (Wilcoxon p = {}); falls caught {sc:.1} -> {scp:.1} of {sf:.0} ({:+.1} %).\n",
                    ms(&fb),
                    ms(&fp),
                    ms(&d(&fp, &fb)),
                    format_p(wilcoxon_signed_rank(&d(&fp, &fb))),
                    format_p(wilcoxon_signed_rank(&d(&ap, &ab))),
                    if sf > 0.0 {
                        100.0 * (scp - sc) / sf
                    } else {
                        0.0
                    },
                );
            }
        }
    }
    o
}

/// Runs `fallkd personalize-study` (prints what it wrote).
pub fn cli(a: &Args) -> Result<()> {
    print!("{}", run(a)?);
    Ok(())
}
