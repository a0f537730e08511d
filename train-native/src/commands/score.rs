//! `fallkd score`: exported models on the recordings of subjects they never saw, as a wearer
//! feels them (issue #32): each recording's files go through the page's and `fallkd predict`'s
//! path (core's `analyze`), the model's alarm logic decides, and with `--invariance` every
//! recording is scored again as another watch or wearer would have written it
//! (`fallkd_core::invariance`). Several models (seeds) give mean +- std.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use fallkd_core::alarm::votes_met;
use fallkd_core::data::imu_csv::parse_imu_csv;
use fallkd_core::data::trial::TrialKey;
use fallkd_core::data::window::impact_time;
use fallkd_core::inference::{Analysis, Detector, analyze, prepare_recording};
use fallkd_core::invariance::{Recording, SensorFile, Transform};
use serde::Serialize;

use crate::checkpoint::write_atomic;
use crate::dataset::{Layout, read, read_recordings};

/// A fall the watch felt: its peak |a| is at least this (1.2 g, in m/s^2).
pub const FELT_M_S2: f64 = 1.2 * 9.80665;

/// What to score (`fallkd score`'s flags).
#[derive(clap::Args, Debug, Clone)]
pub struct ScoreOptions {
    /// Exported students (one per seed; mean +- std over them). Repeatable.
    #[arg(long = "model", required = true)]
    pub models: Vec<PathBuf>,
    /// Dataset root (holding young/, and old/ for older adults).
    #[arg(long)]
    pub data_root: PathBuf,
    /// Young subjects to score, e.g. 31,39,44.
    #[arg(long, value_delimiter = ',')]
    pub young: Vec<u16>,
    /// Older adults to score (their own numbers), e.g. 1,9.
    #[arg(long, value_delimiter = ',')]
    pub old: Vec<u16>,
    /// Also score every recording as another watch or wearer would write it (each of
    /// [`Transform::standard`]).
    #[arg(long)]
    pub invariance: bool,
    /// Folder for score.md and score.json.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `fallkd score`.
pub fn cli(a: &ScoreOptions) -> Result<()> {
    print!("{}", run(a, &Device::flex())?);
    Ok(())
}

/// One recording's files.
#[derive(Debug, Clone)]
struct Item {
    key: TrialKey,
    old: bool,
    acc: PathBuf,
    gyro: Option<PathBuf>,
}

impl Item {
    fn is_fall(&self) -> bool {
        !self.old && self.key.is_fall()
    }
}

/// One recording scored by one model under one variant.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    /// Trial name (`old-` in front for an older adult).
    pub name: String,
    /// Fall recording.
    pub fall: bool,
    /// Older adult's recording.
    pub old: bool,
    /// Peak |a| in m/s^2.
    pub peak: f64,
    /// Seconds of recording.
    pub duration_s: f64,
    /// Highest window probability.
    pub max_prob: f64,
    /// Highest probability of a window holding the impact (falls).
    pub impact_prob: f64,
    /// Alarm at 0.5: for a fall, on a window holding its impact; for an ADL, anywhere.
    pub alarm_05: bool,
    /// The same at the model's own threshold.
    pub alarm_model: bool,
    /// Window probabilities: windows holding the impact for falls, all windows for ADLs.
    pub window_probs: Vec<f64>,
    /// Scored with low confidence (shorter than a window).
    pub low_confidence: bool,
    /// Refused (the transform left too little), with the reason.
    pub error: Option<String>,
}

/// Figures of one model under one variant.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Figures {
    /// Fall recordings, caught at 0.5.
    pub falls: usize,
    /// Caught at 0.5.
    pub caught: usize,
    /// Falls the watch felt (peak >= 1.2 g).
    pub felt: usize,
    /// Of those, caught at 0.5.
    pub felt_caught: usize,
    /// Young ADL recordings.
    pub adl: usize,
    /// Alarming at 0.5.
    pub adl_alarms: usize,
    /// Older adults' recordings.
    pub old: usize,
    /// Alarming at 0.5.
    pub old_alarms: usize,
    /// Hours of older adults' recordings.
    pub old_hours: f64,
    /// Recording F1 at 0.5 (falls caught against young ADL alarms).
    pub f1: f64,
    /// Recording F1 at the model's own threshold.
    pub f1_model: f64,
    /// Falls caught at the model's threshold.
    pub caught_model: usize,
    /// Young ADL alarms at the model's threshold.
    pub adl_alarms_model: usize,
    /// Older adults' alarms at the model's threshold.
    pub old_alarms_model: usize,
    /// AUC of the highest window probability, felt falls against young ADLs.
    pub auc_felt: f64,
    /// Window AUC: windows holding an impact against young ADL windows.
    pub window_auc: f64,
    /// Share of recordings whose alarm at 0.5 equals the untransformed recording's.
    pub agreement: f64,
    /// Recordings refused under this variant.
    pub refused: usize,
}

fn f1(tp: usize, fn_: usize, fp: usize) -> f64 {
    let d = 2 * tp + fn_ + fp;
    if d == 0 {
        0.0
    } else {
        2.0 * tp as f64 / d as f64
    }
}

fn auc(pos: &[f64], neg: &[f64]) -> f64 {
    let scores: Vec<f64> = pos.iter().chain(neg).copied().collect();
    let labels: Vec<bool> = pos
        .iter()
        .map(|_| true)
        .chain(neg.iter().map(|_| false))
        .collect();
    fallkd_core::metrics::auc(&scores, &labels)
}

/// The figures of scored recordings; `base` (the untransformed ones, in the same order) for the
/// agreement.
pub fn figures(rs: &[Scored], base: Option<&[Scored]>) -> Figures {
    let mut f = Figures::default();
    let (mut felt_max, mut adl_max, mut fall_w, mut adl_w) = (vec![], vec![], vec![], vec![]);
    for r in rs {
        f.refused += r.error.is_some() as usize;
        if r.fall {
            f.falls += 1;
            f.caught += r.alarm_05 as usize;
            f.caught_model += r.alarm_model as usize;
            if r.peak >= FELT_M_S2 {
                f.felt += 1;
                f.felt_caught += r.alarm_05 as usize;
                felt_max.push(r.max_prob);
            }
            fall_w.extend(&r.window_probs);
        } else if r.old {
            f.old += 1;
            f.old_alarms += r.alarm_05 as usize;
            f.old_alarms_model += r.alarm_model as usize;
            f.old_hours += r.duration_s / 3600.0;
        } else {
            f.adl += 1;
            f.adl_alarms += r.alarm_05 as usize;
            f.adl_alarms_model += r.alarm_model as usize;
            adl_max.push(r.max_prob);
            adl_w.extend(&r.window_probs);
        }
    }
    f.f1 = f1(f.caught, f.falls - f.caught, f.adl_alarms);
    f.f1_model = f1(f.caught_model, f.falls - f.caught_model, f.adl_alarms_model);
    f.auc_felt = auc(&felt_max, &adl_max);
    f.window_auc = auc(&fall_w, &adl_w);
    f.agreement = match base {
        Some(b) if !rs.is_empty() => {
            rs.iter()
                .zip(b)
                .filter(|(a, b)| a.alarm_05 == b.alarm_05)
                .count() as f64
                / rs.len() as f64
        }
        _ => 1.0,
    };
    f
}

/// The recordings of the asked subjects: the archive's de-duplicated watch recordings (the copy
/// the training loader keeps), with the gyroscope file when there is one.
fn items(opts: &ScoreOptions) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    if !opts.young.is_empty() {
        let layout = Layout::find(&opts.data_root)?;
        let mut rec = read_recordings(&opts.data_root, true)?;
        rec.drop_duplicates();
        for key in rec.accelerometer.keys() {
            if !opts.young.contains(&key.subject) {
                continue;
            }
            let gyro = layout.gyroscope.join(format!("{key}.csv"));
            out.push(Item {
                key: *key,
                old: false,
                acc: layout.accelerometer.join(format!("{key}.csv")),
                gyro: rec.gyroscope.contains_key(key).then_some(gyro),
            });
        }
        for s in &opts.young {
            if !out.iter().any(|i| i.key.subject == *s) {
                bail!(
                    "young subject S{s:02} has no readable watch recording under {}",
                    opts.data_root.display()
                );
            }
        }
    }
    if !opts.old.is_empty() {
        let (old, _) = crate::dataset::load_old_adults(&opts.data_root, true)?;
        let dir = opts
            .data_root
            .join("old")
            .join("accelerometer")
            .join("watch");
        for s in &opts.old {
            let mine: Vec<_> = old
                .iter()
                .filter(|t| t.key.subject == s + crate::dataset::OLD_SUBJECT_OFFSET)
                .collect();
            if mine.is_empty() {
                bail!(
                    "older adult S{s:02} has no readable recording under {}",
                    dir.display()
                );
            }
            for t in mine {
                let key = TrialKey {
                    subject: *s,
                    ..t.key
                };
                out.push(Item {
                    key,
                    old: true,
                    acc: dir.join(format!("{key}.csv")),
                    gyro: None,
                });
            }
        }
    }
    Ok(out)
}

/// Scores one recording given as file bytes.
fn score_bytes(
    det: &Detector,
    item: &Item,
    acc: &[u8],
    gyro: Option<&[u8]>,
) -> Result<Scored, String> {
    let name = item.acc.display().to_string();
    let gname = item
        .gyro
        .as_ref()
        .map(|g| g.display().to_string())
        .unwrap_or_default();
    let gyro = gyro.map(|g| (gname.as_str(), g));
    let prepared = prepare_recording((&name, acc), gyro, &det.header.window_config())
        .map_err(|e| e.to_string())?;
    let a: Analysis =
        pollster::block_on(analyze(det, (&name, acc), gyro, None)).map_err(|e| e.to_string())?;
    let trial = &prepared.trial;
    let impact = impact_time(trial).unwrap_or(0.0);
    let peak = trial
        .events
        .iter()
        .map(|e| ((e[0] * e[0] + e[1] * e[1] + e[2] * e[2]) as f64).sqrt())
        .fold(0.0, f64::max);
    let windows: Vec<(f64, f64, f64)> = a
        .windows
        .iter()
        .map(|w| (w.start_s, w.end_s, w.prob))
        .collect();
    let holds = |w: &(f64, f64, f64)| !item.is_fall() || (w.0 <= impact && impact <= w.1);
    let alarm_at = |threshold: f64| {
        let cfg = fallkd_core::alarm::AlarmConfig {
            threshold,
            ..det.header.alarm_config()
        };
        votes_met(&windows, &cfg)
            .iter()
            .zip(&windows)
            .any(|(&m, w)| m && holds(w))
    };
    let window_probs: Vec<f64> = windows.iter().filter(|w| holds(w)).map(|w| w.2).collect();
    Ok(Scored {
        name: format!("{}{}", if item.old { "old-" } else { "" }, item.key),
        fall: item.is_fall(),
        old: item.old,
        peak,
        duration_s: trial.duration(),
        max_prob: windows.iter().map(|w| w.2).fold(0.0, f64::max),
        impact_prob: window_probs.iter().copied().fold(0.0, f64::max),
        alarm_05: alarm_at(0.5),
        alarm_model: alarm_at(det.header.threshold),
        window_probs,
        low_confidence: a.low_confidence,
        error: None,
    })
}

fn refused(item: &Item, why: String) -> Scored {
    Scored {
        name: format!("{}{}", if item.old { "old-" } else { "" }, item.key),
        fall: item.is_fall(),
        old: item.old,
        peak: 0.0,
        duration_s: 0.0,
        max_prob: 0.0,
        impact_prob: 0.0,
        alarm_05: false,
        alarm_model: false,
        window_probs: vec![],
        low_confidence: false,
        error: Some(why),
    }
}

/// One model's figures: untransformed first, then each transform.
#[derive(Debug, Clone, Serialize)]
pub struct ModelScore {
    /// The model file.
    pub model: String,
    /// Its own threshold.
    pub threshold: f64,
    /// Variant name (`original`, then the transforms) and its figures.
    pub variants: Vec<(String, Figures)>,
    /// Every recording of the untransformed variant.
    pub recordings: Vec<Scored>,
}

fn score_model(
    path: &Path,
    items: &[Item],
    invariance: bool,
    device: &Device,
) -> Result<ModelScore> {
    let det = Detector::from_bytes(&read(path)?, device)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let files: Vec<(Vec<u8>, Option<Vec<u8>>)> = items
        .iter()
        .map(|i| Ok((read(&i.acc)?, i.gyro.as_deref().map(read).transpose()?)))
        .collect::<Result<_>>()?;
    let base: Vec<Scored> = items
        .iter()
        .zip(&files)
        .map(|(i, (a, g))| score_bytes(&det, i, a, g.as_deref()).unwrap_or_else(|e| refused(i, e)))
        .collect();
    let mut variants = vec![("original".to_string(), figures(&base, None))];
    if invariance {
        let parsed: Vec<Option<Recording>> = items
            .iter()
            .zip(&files)
            .map(|(i, (a, g))| {
                let acc = parse_imu_csv(&i.acc.display().to_string(), a).ok()?;
                let gyro = g
                    .as_ref()
                    .and_then(|g| parse_imu_csv("gyro.csv", g).ok())
                    .map(|r| SensorFile::from(&r));
                Some(Recording {
                    acc: SensorFile::from(&acc),
                    gyro,
                })
            })
            .collect();
        for t in Transform::standard() {
            let (mut rs, mut bs) = (vec![], vec![]);
            for ((i, p), b) in items.iter().zip(&parsed).zip(&base) {
                if t.needs_impact() && !i.is_fall() {
                    // Nothing to cut around: the ADL recording as it was, so that the window
                    // AUC still has its negatives (the agreement counts falls only).
                    rs.push(b.clone());
                    bs.push(b.clone());
                    continue;
                }
                let r = match p {
                    Some(p) => {
                        let moved = t.apply(p);
                        let g = moved.gyro.as_ref().map(SensorFile::to_csv);
                        score_bytes(&det, i, &moved.acc.to_csv(), g.as_deref())
                            .unwrap_or_else(|e| refused(i, e))
                    }
                    None => refused(i, "the original does not parse".into()),
                };
                rs.push(r);
                bs.push(b.clone());
            }
            let mut f = figures(&rs, Some(&bs));
            if t.needs_impact() {
                let falls: Vec<(&Scored, &Scored)> =
                    rs.iter().zip(&bs).filter(|(r, _)| r.fall).collect();
                f.agreement = falls
                    .iter()
                    .filter(|(a, b)| a.alarm_05 == b.alarm_05)
                    .count() as f64
                    / falls.len().max(1) as f64;
            }
            variants.push((t.name(), f));
        }
    }
    Ok(ModelScore {
        model: path.display().to_string(),
        threshold: det.header.threshold,
        variants,
        recordings: base,
    })
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = if xs.len() > 1 {
        xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, v.sqrt())
}

fn pm(xs: &[f64], digits: usize) -> String {
    let (m, s) = mean_std(xs);
    if xs.len() > 1 {
        format!("{m:.digits$} +- {s:.digits$}")
    } else {
        format!("{m:.digits$}")
    }
}

/// The report of several models' scores (mean +- std over models).
pub fn report(opts: &ScoreOptions, scores: &[ModelScore]) -> String {
    let mut md = String::new();
    let fmt_list = |v: &[u16], p: &str| {
        v.iter()
            .map(|s| format!("{p}S{s:02}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let _ = writeln!(
        md,
        "# fallkd score\n\n{} model(s); young {}; older adults {}. Alarms by each model's alarm logic at 0.5 \
         (and at its own threshold); a fall is caught when a window holding its impact alarms.\n",
        scores.len(),
        fmt_list(&opts.young, ""),
        fmt_list(&opts.old, "old ")
    );
    let get = |v: usize, f: &dyn Fn(&Figures) -> f64| -> Vec<f64> {
        scores.iter().map(|s| f(&s.variants[v].1)).collect()
    };
    let o = &scores[0].variants[0].1;
    let _ = writeln!(
        md,
        "| figure | value |\n|---|---|\n\
         | falls caught (of {}) | {} |\n| falls the watch felt caught (of {}) | {} |\n\
         | young ADL recordings alarming (of {}) | {} |\n| older adults' recordings alarming (of {}, {:.2} h) | {} |\n\
         | recording F1 at 0.5 | {} |\n| recording F1 at the model's threshold ({}) | {} |\n\
         | falls caught / young ADL alarms / old alarms at the model's threshold | {} / {} / {} |\n\
         | AUC, highest window probability, felt falls vs young ADLs | {} |\n| window AUC | {} |\n",
        o.falls,
        pm(&get(0, &|f| f.caught as f64), 1),
        o.felt,
        pm(&get(0, &|f| f.felt_caught as f64), 1),
        o.adl,
        pm(&get(0, &|f| f.adl_alarms as f64), 1),
        o.old,
        o.old_hours,
        pm(&get(0, &|f| f.old_alarms as f64), 1),
        pm(&get(0, &|f| f.f1), 3),
        scores
            .iter()
            .map(|s| format!("{:.3}", s.threshold))
            .collect::<Vec<_>>()
            .join(", "),
        pm(&get(0, &|f| f.f1_model), 3),
        pm(&get(0, &|f| f.caught_model as f64), 1),
        pm(&get(0, &|f| f.adl_alarms_model as f64), 1),
        pm(&get(0, &|f| f.old_alarms_model as f64), 1),
        pm(&get(0, &|f| f.auc_felt), 3),
        pm(&get(0, &|f| f.window_auc), 3),
    );
    if scores[0].variants.len() > 1 {
        let _ = writeln!(
            md,
            "## Invariance\n\nThe same recordings rewritten as another watch or wearer would write them \
             (the cut variants change the falls only; their agreement is over falls). Pass: the same alarm on at least 98 % of recordings and \
             window AUC within 0.01 of the original's.\n\n\
             | variant | same alarm | window AUC change | falls caught | young ADL alarms | refused | pass |\n|---|---|---|---|---|---|---|"
        );
        for v in 1..scores[0].variants.len() {
            let agree = get(v, &|f| f.agreement);
            let dauc: Vec<f64> = scores
                .iter()
                .map(|s| s.variants[v].1.window_auc - s.variants[0].1.window_auc)
                .collect();
            let pass = mean_std(&agree).0 >= 0.98 && mean_std(&dauc).0.abs() <= 0.01;
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                scores[0].variants[v].0,
                pm(&agree.iter().map(|a| a * 100.0).collect::<Vec<_>>(), 1) + " %",
                pm(&dauc, 4),
                pm(&get(v, &|f| f.caught as f64), 1),
                pm(&get(v, &|f| f.adl_alarms as f64), 1),
                pm(&get(v, &|f| f.refused as f64), 1),
                if pass { "yes" } else { "**no**" }
            );
        }
    }
    md
}

/// Scores every model, writes `score.md` and `score.json` into `opts.out`, returns the report.
pub fn run(opts: &ScoreOptions, device: &Device) -> Result<String> {
    if opts.models.is_empty() {
        bail!("--model: give at least one exported model");
    }
    if opts.young.is_empty() && opts.old.is_empty() {
        bail!("--young or --old: name the subjects to score");
    }
    let items = items(opts)?;
    let scores: Vec<ModelScore> = opts
        .models
        .iter()
        .map(|m| score_model(m, &items, opts.invariance, device))
        .collect::<Result<_>>()?;
    let md = report(opts, &scores);
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create {}", opts.out.display()))?;
    write_atomic(&opts.out.join("score.md"), md.as_bytes())?;
    write_atomic(
        &opts.out.join("score.json"),
        serde_json::to_string(&scores)?.as_bytes(),
    )?;
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(fall: bool, old: bool, peak: f64, max: f64, alarm: bool) -> Scored {
        Scored {
            name: "x".into(),
            fall,
            old,
            peak,
            duration_s: 36.0,
            max_prob: max,
            impact_prob: max,
            alarm_05: alarm,
            alarm_model: alarm,
            window_probs: vec![max],
            low_confidence: false,
            error: None,
        }
    }

    #[test]
    fn figures_count_what_a_wearer_feels() {
        let rs = vec![
            s(true, false, 30.0, 0.9, true),
            s(true, false, 5.0, 0.2, false),
            s(true, false, 30.0, 0.4, false),
            s(false, false, 12.0, 0.6, true),
            s(false, false, 12.0, 0.1, false),
            s(false, true, 12.0, 0.7, true),
        ];
        let f = figures(&rs, None);
        assert_eq!((f.falls, f.caught, f.felt, f.felt_caught), (3, 1, 2, 1));
        assert_eq!((f.adl, f.adl_alarms, f.old, f.old_alarms), (2, 1, 1, 1));
        assert!((f.f1 - 2.0 / 5.0).abs() < 1e-12);
        assert!((f.old_hours - 0.01).abs() < 1e-12);
        // Felt falls' maxima 0.9 and 0.4 against ADL maxima 0.6 and 0.1: 3 of 4 pairs.
        assert!((f.auc_felt - 0.75).abs() < 1e-6);
        let mut moved = rs.clone();
        moved[0].alarm_05 = false;
        assert!((figures(&moved, Some(&rs)).agreement - 5.0 / 6.0).abs() < 1e-12);
    }
}
