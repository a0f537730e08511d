//! `fallkd predict --model FILE --acc CSV [--gyro CSV]`: an exported student on one recording,
//! natively (the same code path as the browser demo).

use std::path::Path;

use anyhow::Result;
use burn::tensor::Device;
use fallkd_core::data::units::Units;
use fallkd_core::inference::{Analysis, Detector, analyze_with_progress, is_information_note};

use crate::dataset::read;

/// A recording's files: the accelerometer's (it may hold the gyroscope too), the gyroscope's,
/// and the units given for them.
pub type Files<'a> = (&'a Path, Option<&'a Path>, Units);

/// Runs the model on the recording and returns the analysis.
pub fn run(model: &Path, files: Files<'_>, device: &Device) -> Result<Analysis> {
    analyze_files(&load(model, device)?, files)
}

/// Loads a model file; a file without a checksum (format 1) loads with a note on stderr.
fn load(model: &Path, device: &Device) -> Result<Detector> {
    let bytes = read(model)?;
    let det = Detector::from_bytes(&bytes, device)
        .map_err(|e| anyhow::anyhow!("{}: {e}", model.display()))?;
    if !det.header.file.checked {
        eprintln!("note: {}: {}", model.display(), det.header.file.describe());
    }
    Ok(det)
}

/// One recording's files through the page's path (`analyze`).
fn analyze_files(det: &Detector, (acc, gyro, units): Files<'_>) -> Result<Analysis> {
    let acc_bytes = read(acc)?;
    let gyro_bytes = gyro.map(read).transpose()?;
    let (an, gn) = (
        acc.display().to_string(),
        gyro.map(|g| g.display().to_string()).unwrap_or_default(),
    );
    Ok(pollster::block_on(analyze_with_progress(
        det,
        (
            (&an, &acc_bytes),
            gyro_bytes.as_deref().map(|g| (gn.as_str(), g)),
            units,
        ),
        None,
        &|_| {},
    ))?)
}

/// What became of one recording of a folder.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FolderItem {
    /// The accelerometer file.
    pub file: String,
    /// `read` (notes only that no gyroscope file was given), `repaired` (read, with repairs, a
    /// gyroscope file left out or a low-confidence result) or `refused`.
    pub outcome: &'static str,
    /// Highest window probability (read and repaired recordings).
    pub max_prob: Option<f64>,
    /// Alarm times in seconds.
    pub alarms: Vec<f64>,
    /// Notes, or the reason for refusal (naming the file and line).
    pub notes: Vec<String>,
}

/// A folder of recordings, scored one by one.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FolderSummary {
    /// Every recording, in file-name order.
    pub items: Vec<FolderItem>,
    /// Read without any note.
    pub read: usize,
    /// Read with repairs or notes.
    pub repaired: usize,
    /// Refused, each with its reason.
    pub refused: usize,
}

/// Scores every recording of `dir` (see [`recordings_in`](crate::dataset::recordings_in)); a refused recording is reported
/// with its reason and the rest go on.
pub fn run_folder(
    model: &Path,
    dir: &Path,
    units: Units,
    device: &Device,
) -> Result<FolderSummary> {
    let det = load(model, device)?;
    let mut items = Vec::new();
    for (acc, gyro) in crate::dataset::recordings_in(dir)? {
        let file = acc.display().to_string();
        let result = analyze_files(&det, (&acc, gyro.as_deref(), units));
        items.push(match result {
            Ok(a) => FolderItem {
                file,
                outcome: if a.notes.iter().all(|n| is_information_note(n)) {
                    "read"
                } else {
                    "repaired"
                },
                max_prob: Some(a.windows.iter().map(|w| w.prob).fold(0.0, f64::max)),
                alarms: a.alarms,
                notes: a.notes,
            },
            Err(e) => FolderItem {
                file,
                outcome: "refused",
                max_prob: None,
                alarms: vec![],
                notes: vec![format!("{e:#}")],
            },
        });
    }
    let count = |o: &str| items.iter().filter(|i| i.outcome == o).count();
    Ok(FolderSummary {
        read: count("read"),
        repaired: count("repaired"),
        refused: count("refused"),
        items,
    })
}

/// `fallkd predict`: an exported student on one watch recording or on every recording of a folder.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Exported student (fallkd export).
    #[arg(long, default_value = "web/assets/student.fallkd")]
    pub model: std::path::PathBuf,
    /// Accelerometer CSV.
    #[arg(long, required_unless_present = "dir", conflicts_with = "dir")]
    pub acc: Option<std::path::PathBuf>,
    /// A folder of recordings: accelerometer/watch/*.csv with gyroscope/watch/*.csv of the
    /// same names (the archive's layout), or *.csv accelerometer files.
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
    /// Gyroscope CSV (zeros when absent, unless the accelerometer file holds the gyroscope
    /// too).
    #[arg(long, conflicts_with = "dir")]
    pub gyro: Option<std::path::PathBuf>,
    /// The accelerometer's unit (default: detected from gravity; a note says when the values
    /// suggest the other).
    #[arg(long, value_enum)]
    pub acc_unit: Option<fallkd_core::data::units::AccUnit>,
    /// The gyroscope's unit (default: detected from the values' size; a note says when they
    /// suggest the other).
    #[arg(long, value_enum)]
    pub gyro_unit: Option<fallkd_core::data::units::GyroUnit>,
    /// Print every window as JSON too.
    #[arg(long)]
    pub json: bool,
}

/// Runs `fallkd predict`: the highest fall probability of one recording (its windows, threshold
/// and alarms on stderr), or one line per recording of a folder and the read / repaired /
/// refused counts.
pub fn cli(a: &Args) -> Result<()> {
    let units = Units {
        acc: a.acc_unit,
        gyro: a.gyro_unit,
    };
    let device = Device::flex();
    if let Some(dir) = &a.dir {
        let s = run_folder(&a.model, dir, units, &device)?;
        if a.json {
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
        let (n, r) = (s.items.len(), (s.read, s.repaired, s.refused));
        println!(
            "{n} recordings: {} read, {} repaired, {} refused",
            r.0, r.1, r.2
        );
        return Ok(());
    }
    let acc = anyhow::Context::context(a.acc.as_ref(), "--acc or --dir is needed")?;
    let an = run(&a.model, (acc, a.gyro.as_deref(), units), &device)?;
    if a.json {
        println!("{}", serde_json::to_string(&an)?);
    }
    for n in &an.notes {
        eprintln!("note: {n}");
    }
    let max = an.windows.iter().map(|w| w.prob).fold(0.0f64, f64::max);
    println!("{max:.6}");
    eprintln!(
        "{} windows, threshold {:.3}, alarms at {:?} s",
        an.windows.len(),
        an.threshold,
        an.alarms
    );
    Ok(())
}
