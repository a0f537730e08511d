//! `fallkd generate --out DIR`: the generated SmartFallMM look-alike.

use std::path::Path;

use anyhow::Result;

/// Writes the dataset under `dir` (creating `dir/young/...`); returns the file count.
pub fn run(dir: &Path, subjects: u16, trials: u16, seed: u64) -> Result<usize> {
    crate::dataset::write_dataset(dir, subjects, trials, seed)
}

/// `fallkd generate`: write the generated SmartFallMM look-alike dataset.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output folder (gets young/...).
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// Subjects.
    #[arg(long, default_value_t = 8)]
    pub subjects: u16,
    /// Trials per activity and subject.
    #[arg(long, default_value_t = 2)]
    pub trials: u16,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Runs `fallkd generate`.
pub fn cli(a: &Args) -> Result<()> {
    let t0 = std::time::Instant::now();
    let n = run(&a.out, a.subjects, a.trials, a.seed)?;
    println!(
        "wrote {n} files under {} in {:.1} s",
        a.out.join("young").display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
