//! `--device cpu | cuda[:i] | libtorch`.

use anyhow::{Result, bail};
use burn::tensor::Device;

/// Parses a device name.
pub fn parse_device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::flex()),
        n if n == "libtorch" || n == "cuda" || n.starts_with("cuda:") => tch_device(n),
        other => bail!("unknown device '{other}': use cpu, cuda, cuda:N or libtorch"),
    }
}

#[cfg(feature = "tch")]
#[allow(deprecated)] // burn-tch is deprecated upstream but is the CUDA path users asked for
fn tch_device(name: &str) -> Result<Device> {
    Ok(match name {
        "libtorch" => Device::libtorch(),
        "cuda" => Device::libtorch_cuda(0),
        n => {
            let i: usize = n[5..]
                .parse()
                .map_err(|_| anyhow::anyhow!("bad GPU index in '{n}'"))?;
            Device::libtorch_cuda(i)
        }
    })
}

#[cfg(not(feature = "tch"))]
fn tch_device(name: &str) -> Result<Device> {
    bail!(
        "--device {name} needs the libtorch backend: rebuild with `cargo build --release -p fallkd-train --features tch` \
         against a libtorch (docs/gpu.md)"
    )
}
