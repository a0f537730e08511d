//! `fallkd train-teacher` and `fallkd train-student`.

use std::path::Path;

use anyhow::{Result, bail};
use burn::tensor::Device;

use crate::config::RunConfig;
use crate::dataset::{data_root, prepare};
use crate::run_dir::{Role, RunSummary};
use crate::trainer::{RunOptions, train};

/// Loads data for `cfg` and trains one model into `out`.
pub fn run(
    cfg: &RunConfig,
    role: Role,
    out: &Path,
    device: &Device,
    resume: Option<&[String]>,
    progress: bool,
) -> Result<RunSummary> {
    let cfg = if let Some(explicit) = resume {
        let saved = crate::run_dir::RunDir::new(out).config()?;
        let ignored = ignored_by_resume(&saved, cfg, explicit)?;
        if !ignored.is_empty() {
            bail!(
                "--resume continues {} with the configuration it started with; these settings differ from it and would be ignored: {} (drop them, or start a new run in another --out)",
                out.display(),
                ignored.join(", ")
            );
        }
        saved
    } else {
        cfg.clone()
    };
    let runs_root = out.parent().unwrap_or(Path::new("."));
    let root = data_root(&cfg, runs_root)?;
    let data = prepare(&cfg, &root)?;
    if progress {
        eprintln!(
            "{}: {} (split {}: train {:?} val {:?} test {:?}; windows {} / {} / {})",
            out.display(),
            data.report.summary(),
            data.split.name,
            data.split.train,
            data.split.val,
            data.split.test,
            data.train.len(),
            data.val.len(),
            data.test.len()
        );
    }
    let s = train(
        &cfg,
        role,
        &data,
        device,
        &RunOptions {
            out: out.to_path_buf(),
            resume: resume.is_some(),
            progress,
            stop_after: None,
        },
    )?;
    println!("{}: {}", out.display(), s.test_line());
    Ok(s)
}

/// The keys a resumed run would ignore: those of `given` that differ from the run's saved
/// configuration and were either set explicitly (`explicit`: keys or sections named by `--set`,
/// flags and configuration files) or moved away from their default.
pub fn ignored_by_resume(
    saved: &RunConfig,
    given: &RunConfig,
    explicit: &[String],
) -> Result<Vec<String>> {
    let flat = |c: &RunConfig| -> Result<std::collections::BTreeMap<String, String>> {
        let mut out = std::collections::BTreeMap::new();
        crate::config::flatten("", &serde_yaml::to_value(c)?, &mut out);
        Ok(out)
    };
    let (saved, given, default) = (flat(saved)?, flat(given)?, flat(&RunConfig::default())?);
    let named = |k: &str| {
        explicit.iter().any(|e| {
            k == e
                || k.strip_prefix(e.as_str())
                    .is_some_and(|r| r.starts_with('.'))
        })
    };
    Ok(given
        .iter()
        .filter(|(k, v)| (named(k) || default.get(*k) != Some(v)) && saved.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_names_the_settings_it_would_ignore() {
        let set = |s: &[&str]| {
            RunConfig::load(&[], &s.iter().map(|x| x.to_string()).collect::<Vec<_>>()).unwrap()
        };
        let saved = set(&["train.epochs=7", "student.num_tokens=32"]);
        // The same flags again (as `fallkd loso` passes them), or none: nothing ignored.
        let keys = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(
            ignored_by_resume(&saved, &saved, &keys(&["train.epochs", "student"]))
                .unwrap()
                .is_empty()
        );
        assert!(
            ignored_by_resume(&saved, &RunConfig::default(), &[])
                .unwrap()
                .is_empty()
        );
        let e = ignored_by_resume(&saved, &set(&["train.epochs=9", "train.lr=0.01"]), &[]).unwrap();
        assert_eq!(e, ["train.epochs=9", "train.lr=0.01"]);
        // A flag asking for the default value is named too when the run saved another.
        let e = ignored_by_resume(&saved, &RunConfig::default(), &keys(&["train.epochs"])).unwrap();
        assert_eq!(e, ["train.epochs=12"]);
    }
}
