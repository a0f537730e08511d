//! `fallkd generate --out DIR`: the generated SmartFallMM look-alike.

use std::path::Path;

use anyhow::Result;
use fallkd_core::synth::{SynthConfig, generate};

use crate::checkpoint::write_atomic;

/// Writes the dataset under `dir` (creating `dir/young/...`); returns the file count.
pub fn write_dataset(dir: &Path, subjects: u16, trials: u16, seed: u64) -> Result<usize> {
    let files = generate(&SynthConfig {
        subjects,
        trials,
        seed,
        subject_without_gyro: true,
    });
    for (rel, text) in &files {
        write_atomic(&dir.join(rel), text.as_bytes())?;
    }
    Ok(files.len())
}
