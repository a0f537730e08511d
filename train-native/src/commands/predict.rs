//! `fallkd predict --model FILE --acc CSV [--gyro CSV]`: an exported student on one recording,
//! natively (the same code path as the browser demo).

use std::path::Path;

use anyhow::Result;
use burn::tensor::Device;
use fallkd_core::inference::{Analysis, Detector, analyze};

use crate::dataset::read;

/// Runs the model on the recording and returns the analysis.
pub fn run(model: &Path, acc: &Path, gyro: Option<&Path>, device: &Device) -> Result<Analysis> {
    let bytes = read(model)?;
    let det = Detector::from_bytes(&bytes, device)
        .map_err(|e| anyhow::anyhow!("{}: {e}", model.display()))?;
    let acc_bytes = read(acc)?;
    let gyro_bytes = gyro.map(read).transpose()?;
    let (an, gn) = (
        acc.display().to_string(),
        gyro.map(|g| g.display().to_string()).unwrap_or_default(),
    );
    pollster::block_on(analyze(
        &det,
        (&an, &acc_bytes),
        gyro_bytes.as_deref().map(|g| (gn.as_str(), g)),
        None,
    ))
    .map_err(anyhow::Error::msg)
}
