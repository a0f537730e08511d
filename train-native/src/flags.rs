//! The command-line flags several commands share, and their lowering into what the library takes:
//! `--device` into a [`Device`] (checked while the command line is parsed), the training flags
//! into a [`RunConfig`], the alarm flags into an [`AlarmConfig`].

use std::path::PathBuf;

use anyhow::Result;
use burn::tensor::Device;
use fallkd_core::alarm::AlarmConfig;

use crate::config::{RunConfig, explicit_keys};
use crate::device::parse_device;

/// A device named on the command line: the name (passed on to child processes) and the device.
#[derive(Clone, Debug)]
pub struct DeviceChoice {
    /// As given: cpu, cuda, cuda:N or libtorch.
    pub name: String,
    /// The device it names.
    pub device: Device,
}

fn device_choice(name: &str) -> Result<DeviceChoice> {
    Ok(DeviceChoice {
        name: name.to_string(),
        device: parse_device(name)?,
    })
}

/// A setting turned `on` or `off` on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    /// On.
    On,
    /// Off.
    Off,
}

impl Switch {
    /// Whether it is on.
    pub fn on(self) -> bool {
        self == Switch::On
    }
}

/// Parses a share between 0 and 1 (`--replay-tolerance`).
pub fn share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}`: a share lies between 0 and 1, e.g. 0.05")),
    }
}

/// Where models run: the one `--device` flag of every command that runs one.
#[derive(clap::Args, Clone, Debug)]
pub struct DeviceArg {
    /// cpu (default), cuda, cuda:N or libtorch (the last three need --features tch).
    #[arg(long = "device", default_value = "cpu", value_parser = device_choice)]
    pub device: DeviceChoice,
}

impl DeviceArg {
    /// The device.
    pub fn get(&self) -> &Device {
        &self.device.device
    }
}

/// Options shared by commands that train.
#[derive(clap::Args, Clone, Debug)]
pub struct Common {
    /// YAML configuration file(s), later ones override earlier ones.
    #[arg(long = "config")]
    pub configs: Vec<PathBuf>,
    /// Override one key, e.g. --set train.epochs=5 (repeatable).
    #[arg(long = "set")]
    pub sets: Vec<String>,
    /// SmartFallMM root (the folder holding young/); generated data when absent.
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// The device.
    #[command(flatten)]
    pub device: DeviceArg,
    /// Seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Maximum epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

impl Common {
    /// The run's configuration: the files, then `first` (a command's own flags, so that an
    /// explicit `--set` wins over them), then `--set`, then --data-root, --seed and --epochs; and
    /// the keys set explicitly (what a resumed run must not change).
    pub fn config(&self, first: &[String]) -> Result<(RunConfig, Vec<String>)> {
        let mut sets = first.to_vec();
        sets.extend(self.overrides()?);
        let cfg = RunConfig::load(&self.configs, &sets)?;
        let explicit = explicit_keys(&self.configs, &sets)?;
        Ok((cfg, explicit))
    }

    /// `--set` overrides with --data-root, --seed and --epochs folded in.
    pub fn overrides(&self) -> Result<Vec<String>> {
        let mut sets = self.sets.clone();
        if let Some(r) = &self.data_root {
            sets.push(format!("data.root={}", yaml(&r.display().to_string())?));
        }
        if let Some(s) = self.seed {
            sets.push(format!("seed={s}"));
        }
        if let Some(e) = self.epochs {
            sets.push(format!("train.epochs={e}"));
        }
        Ok(sets)
    }
}

/// The alarm logic (`fallkd_core::alarm`): a window votes at the threshold; an alarm needs K of
/// the last N windows; after one, none for the refractory period.
#[derive(clap::Args, Clone, Debug)]
pub struct AlarmArgs {
    /// Votes needed among the last --alarm-n windows.
    #[arg(long, default_value_t = 1)]
    pub alarm_k: usize,
    /// Windows looked at.
    #[arg(long, default_value_t = 1)]
    pub alarm_n: usize,
    /// Seconds after an alarm during which no new one fires.
    #[arg(long, default_value_t = 30.0)]
    pub refractory_s: f64,
}

impl AlarmArgs {
    /// The checked configuration (its threshold is set where the operating point is known).
    pub fn config(&self) -> Result<AlarmConfig> {
        let a = AlarmConfig {
            threshold: 0.5,
            k: self.alarm_k,
            n: self.alarm_n,
            refractory_s: self.refractory_s,
        };
        a.validate()?;
        Ok(a)
    }
}

/// `v` as a one-line YAML value for a `--set key=value`.
pub fn yaml<T: serde::Serialize>(v: &T) -> Result<String> {
    Ok(serde_yaml::to_string(v)?.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        common: Common,
    }

    #[test]
    fn a_bad_device_is_refused_while_parsing() {
        let err = Cli::try_parse_from(["fallkd", "--device", "tpu"])
            .err()
            .expect("refused");
        assert!(err.to_string().contains("unknown device 'tpu'"), "{err}");
        let ok = Cli::try_parse_from(["fallkd", "--seed", "3", "--set", "seed=4"]).unwrap();
        assert_eq!(ok.common.device.device.name, "cpu");
        // --seed is applied after --set.
        let (cfg, explicit) = ok.common.config(&[]).unwrap();
        assert_eq!(cfg.seed, 3);
        assert!(explicit.iter().any(|k| k == "seed"), "{explicit:?}");
    }
}
