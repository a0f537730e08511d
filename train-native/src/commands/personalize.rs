//! `fallkd personalize --model BASE.fallkd --labels LABELS.csv --out PERSONAL.fallkd`: a wearer's
//! labelled recordings adapt an exported student (core's `personalize`, the code the page runs).

use std::path::{Path, PathBuf};

use crate::flags::Switch;
use anyhow::{Context, Result, bail};
use fallkd_core::batch::EventWindow;
use fallkd_core::inference::prepare_recording;
use fallkd_core::model_file::ModelHeader;
use fallkd_core::personalize::{Adapt, LabelledFiles, PersonalizeConfig, personalize_files};

use crate::checkpoint::write_atomic;

/// Flags of `fallkd personalize`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The base model (`.fallkd`).
    #[arg(long)]
    pub model: PathBuf,
    /// The labelled recordings: a CSV with the header `acc,gyro,label`, paths relative to its
    /// folder, `gyro` empty when there is none, `label` `fall` or `adl`.
    #[arg(long)]
    pub labels: PathBuf,
    /// The personal model to write.
    #[arg(long)]
    pub out: PathBuf,
    /// What adapts.
    #[arg(long, value_enum, default_value_t = Adapt::Auto)]
    pub adapt: Adapt,
    /// With no labelled fall, keep the fall windows shipped with the model that the base model
    /// catches alarming, all but `--replay-tolerance` of them (the threshold stays at or under
    /// their scores; results/personalize/RULE.md, rounds 4 and 5).
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub replay: Switch,
    /// The share of the replayed falls the base model catches that the threshold may pass.
    #[arg(long, default_value_t = PersonalizeConfig::default().replay_tolerance, value_parser = crate::flags::share)]
    pub replay_tolerance: f64,
}

/// One line of the labels file.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// The accelerometer file.
    pub acc: PathBuf,
    /// The gyroscope file, if any.
    pub gyro: Option<PathBuf>,
    /// Whether it holds a fall.
    pub fall: bool,
}

/// Reads a labels file: errors name the file, the line and what was expected.
pub fn read_labels(path: &Path) -> Result<Vec<Label>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let at = |n: usize, why: String| anyhow::anyhow!("{}:{}: {why}", path.display(), n + 1);
    match lines.next() {
        Some((_, h))
            if h.split(',')
                .map(|f| f.trim().trim_start_matches('\u{feff}').to_lowercase())
                .eq(["acc", "gyro", "label"]) => {}
        Some((n, h)) => bail!(at(
            n,
            format!("expected the header 'acc,gyro,label', found '{h}'")
        )),
        None => bail!(
            "{}: empty; expected the header 'acc,gyro,label'",
            path.display()
        ),
    }
    let mut out = Vec::new();
    for (n, line) in lines {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != 3 {
            bail!(at(
                n,
                format!("expected 3 fields (acc,gyro,label), found {}", f.len())
            ));
        }
        if f[0].is_empty() {
            bail!(at(n, "the accelerometer file is empty".into()));
        }
        let fall = match f[2].to_lowercase().as_str() {
            "fall" => true,
            "adl" => false,
            other => bail!(at(n, format!("label '{other}': expected 'fall' or 'adl'"))),
        };
        out.push(Label {
            acc: dir.join(f[0]),
            gyro: (!f[1].is_empty()).then(|| dir.join(f[1])),
            fall,
        });
    }
    if out.is_empty() {
        bail!("{}: no labelled recordings", path.display());
    }
    Ok(out)
}

/// The windows of one labelled recording, cut as the model cuts them.
pub fn recording_windows(
    header: &ModelHeader,
    acc: &Path,
    gyro: Option<&Path>,
) -> Result<Vec<EventWindow>> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    let (an, a) = (acc.display().to_string(), read(acc)?);
    let g = gyro
        .map(|g| Ok::<_, anyhow::Error>((g.display().to_string(), read(g)?)))
        .transpose()?;
    let r = prepare_recording(
        (&an, &a),
        g.as_ref().map(|(n, b)| (n.as_str(), b.as_slice())),
        &header.window_config(),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(r.windows.iter().map(EventWindow::from).collect())
}

/// Runs the command; returns what to print.
pub fn run(a: &Args) -> Result<String> {
    let base =
        std::fs::read(&a.model).with_context(|| format!("cannot read {}", a.model.display()))?;
    let labels = read_labels(&a.labels)?;
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    let mut owned = Vec::with_capacity(labels.len());
    for l in &labels {
        let gyro = l
            .gyro
            .as_deref()
            .map(|g| Ok::<_, anyhow::Error>((g.display().to_string(), read(g)?)))
            .transpose()?;
        owned.push((l.acc.display().to_string(), read(&l.acc)?, gyro, l.fall));
    }
    let files: Vec<LabelledFiles> = owned
        .iter()
        .map(|(an, a, g, fall)| LabelledFiles {
            acc: (an.as_str(), a.as_slice()),
            gyro: g.as_ref().map(|(n, b)| (n.as_str(), b.as_slice())),
            fall: *fall,
        })
        .collect();
    let cfg = PersonalizeConfig {
        adapt: a.adapt,
        replay: a.replay.on(),
        replay_tolerance: a.replay_tolerance,
        ..Default::default()
    };
    let (bytes, r) = personalize_files(&base, &files, &cfg, &crate::source::now_utc())
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.model.display()))?;
    write_atomic(&a.out, &bytes)?;
    let replayed = if r.replayed > 0 {
        format!(
            "; {} fall windows shipped with the model joined in (no fall was labelled)",
            r.replayed
        )
    } else {
        String::new()
    };
    Ok(format!(
        "{} labelled recordings ({} falls, {} windows{replayed}); adapted: {}; threshold {:.3}; {}\nwrote {}\n",
        r.recordings,
        r.falls,
        r.windows,
        r.adapted,
        r.threshold,
        r.why,
        a.out.display()
    ))
}

/// Runs `fallkd personalize` (prints what it wrote).
pub fn cli(a: &Args) -> Result<()> {
    print!("{}", run(a)?);
    Ok(())
}
