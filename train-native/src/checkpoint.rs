//! Atomic files: write to a temporary file in the same folder, flush, then rename, so an
//! interrupted run never leaves a half-written checkpoint behind.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    {
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

/// Saves a module's weights (Burnpack) atomically.
pub fn save_module<M: Module>(module: &M, path: &Path) -> Result<()> {
    let bytes = module
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| anyhow::anyhow!("cannot encode weights: {e}"))?;
    write_atomic(path, &bytes)
}

/// Loads weights saved by [`save_module`] into `module`.
pub fn load_module<M: Module>(module: M, path: &Path, _device: &Device) -> Result<M> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| anyhow::anyhow!("{} is not a Burnpack checkpoint: {e}", path.display()))?;
    module.try_load_record(record).map_err(|e| {
        anyhow::anyhow!(
            "{} does not fit this model's architecture: {e}",
            path.display()
        )
    })
}
