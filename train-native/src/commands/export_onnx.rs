//! `fallkd export-onnx`: the student's scoring path as an ONNX model for watch apps, with test
//! vectors of the pre-processing that stays outside the graph (docs/deploy.md).

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::Device;
use fallkd_core::batch::EventWindow;
use fallkd_core::inference::prepare_recording;
use fallkd_core::model::HostStudent;
use fallkd_core::model_file::from_bytes;
use fallkd_core::onnx::{TestVector, export_student, max_events, test_vector};
use fallkd_core::synth::{SynthConfig, generate};
use serde::Serialize;

use crate::checkpoint::write_atomic;

/// Flags of `fallkd export-onnx`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The exported student (`.fallkd`).
    #[arg(long)]
    pub model: PathBuf,
    /// The ONNX file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write test vectors (JSON): raw windows, the inputs the pre-processing makes of them,
    /// and the native forward's logit and probability.
    #[arg(long)]
    pub vectors: Option<PathBuf>,
    /// Accelerometer file the test vectors' windows come from (default: a generated recording
    /// with a fall).
    #[arg(long, requires = "vectors")]
    pub acc: Option<PathBuf>,
    /// Its gyroscope file.
    #[arg(long, requires = "acc")]
    pub gyro: Option<PathBuf>,
}

/// The test vectors file.
#[derive(Serialize)]
struct Vectors<'a> {
    /// What the file is.
    about: &'static str,
    /// The model file's SHA-256.
    model_sha256: &'a str,
    /// Events per window the graph takes.
    max_events: usize,
    /// The model's header (normalisation, windowing, threshold).
    header: &'a fallkd_core::model_file::ModelHeader,
    /// Where the windows come from.
    recording: String,
    windows: Vec<TestVector>,
}

/// Runs the command; returns what to print.
pub fn run(a: &Args) -> Result<String> {
    let bytes =
        std::fs::read(&a.model).with_context(|| format!("cannot read {}", a.model.display()))?;
    let (header, model) = from_bytes(&bytes, &Device::flex())
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.model.display()))?;
    let onnx = export_student(&model, &header)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.model.display()))?;
    write_atomic(&a.out, &onnx)?;
    let mut said = format!(
        "exported {} ({:.1} KiB; windows of up to {} events)\n",
        a.out.display(),
        onnx.len() as f64 / 1024.0,
        max_events(&header)
    );
    if let Some(path) = &a.vectors {
        let student = model
            .timestamp_aware()
            .context("only the timestamp-aware student exports")?;
        let host = HostStudent::new(student)?;
        let (recording, windows) = windows(a, &header)?;
        let windows = windows
            .iter()
            .map(|w| test_vector(&host, &header, w))
            .collect::<Result<Vec<_>, _>>()?;
        let file = Vectors {
            about: "fallkd ONNX test vectors: `raw` is a window as a watch app holds it (acc xyz \
                    m/s^2, gyro xyz rad/s, seconds; the feature context when the model has one), \
                    `inputs` what fallkd-core's onnx::prepare_window makes of it (the ONNX \
                    model's inputs, padded to max_events), `logit` and `probability` the native \
                    forward's (docs/deploy.md)",
            model_sha256: &header.file.sha256,
            max_events: max_events(&header),
            header: &header,
            recording,
            windows,
        };
        write_atomic(path, &serde_json::to_vec(&file)?)?;
        said += &format!(
            "wrote {} test vectors to {}\n",
            file.windows.len(),
            path.display()
        );
    }
    Ok(said)
}

/// The windows the test vectors come from: those of the given recording, or of two generated
/// recordings, a fall (S01A10T01) and a daily activity (S01A01T01).
fn windows(
    a: &Args,
    header: &fallkd_core::model_file::ModelHeader,
) -> Result<(String, Vec<EventWindow>)> {
    let cfg = header.window_config();
    let cut = |name: &str, acc: &[u8], gyro: Option<(&str, &[u8])>| {
        prepare_recording((name, acc), gyro, &cfg)
            .map(|r| r.windows.iter().map(EventWindow::from).collect::<Vec<_>>())
            .map_err(|e| anyhow::anyhow!("{e}"))
    };
    if let Some(acc) = &a.acc {
        let w = super::personalize::recording_windows(header, acc, a.gyro.as_deref())?;
        return Ok((acc.display().to_string(), w));
    }
    let files = generate(&SynthConfig::one_subject(1, 7));
    let mut out = Vec::new();
    for name in ["S01A10T01.csv", "S01A01T01.csv"] {
        let (acc, gyro) = fallkd_core::synth::watch_files(&files, name)
            .with_context(|| format!("the generated data has no {name}"))?;
        out.extend(cut(name, acc, Some((name, gyro)))?);
    }
    Ok((
        "generated recordings S01A10T01 (a fall) and S01A01T01 (daily living) of \
         `fallkd generate --subjects 1 --trials 1 --seed 7`"
            .into(),
        out,
    ))
}

/// Runs `fallkd export-onnx` (prints what it wrote).
pub fn cli(a: &Args) -> Result<()> {
    print!("{}", run(a)?);
    Ok(())
}
