//! `fallkd generate --out DIR`: the generated SmartFallMM look-alike.

use std::path::Path;

use anyhow::Result;

/// Writes the dataset under `dir` (creating `dir/young/...`); returns the file count.
pub fn run(dir: &Path, subjects: u16, trials: u16, seed: u64) -> Result<usize> {
    crate::dataset::write_dataset(dir, subjects, trials, seed)
}
