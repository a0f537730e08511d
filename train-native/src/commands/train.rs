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

/// `fallkd train-teacher`: train the skeleton teacher.
#[derive(clap::Args, Debug)]
pub struct TeacherArgs {
    /// Configuration, data, device, seed, epochs.
    #[command(flatten)]
    pub common: crate::flags::Common,
    /// Run directory.
    #[arg(long, default_value = "runs/teacher")]
    pub out: std::path::PathBuf,
    /// Continue an interrupted run in --out.
    #[arg(long)]
    pub resume: bool,
}

/// Runs `fallkd train-teacher`.
pub fn cli_teacher(a: &TeacherArgs) -> Result<()> {
    train_from_flags(&a.common, &[], Role::Teacher, &a.out, a.resume)
}

/// Trains `role` with the configuration the flags give (`first`: a command's own overrides).
/// With `resume` the flags are still read: `run` refuses any it would ignore.
fn train_from_flags(
    c: &crate::flags::Common,
    first: &[String],
    role: Role,
    out: &Path,
    resume: bool,
) -> Result<()> {
    let (cfg, explicit) = c.config(first)?;
    if role == Role::Student
        && cfg.kd.enabled
        && cfg.student.arch == crate::config::StudentArch::FixedRate
    {
        eprintln!("note: distilling into the fixed-rate baseline");
    }
    let resume = resume.then_some(&explicit[..]);
    run(&cfg, role, out, c.device.get(), resume, !c.quiet)?;
    Ok(())
}

/// `fallkd train-student`: train a student, with or without distillation.
#[derive(clap::Args, Debug)]
pub struct StudentArgs {
    /// Configuration, data, device, seed, epochs.
    #[command(flatten)]
    pub common: crate::flags::Common,
    /// Distil from the teacher (--teacher-weights or kd.teacher). Without --kd or --no-kd: KD
    /// when --teacher-weights is given, else the configuration's kd.enabled. A --set of
    /// kd.enabled wins over both.
    #[arg(long, overrides_with = "no_kd")]
    pub kd: bool,
    /// Train without distillation.
    #[arg(long, overrides_with = "kd")]
    pub no_kd: bool,
    /// Teacher run directory for KD.
    #[arg(long)]
    pub teacher_weights: Option<std::path::PathBuf>,
    /// Use the fixed-rate (interpolating) baseline architecture.
    #[arg(long)]
    pub fixed_rate: bool,
    /// How timestamps enter the student.
    #[arg(long, value_enum)]
    pub time_mode: Option<fallkd_core::model::TimeMode>,
    /// Tokens L.
    #[arg(long)]
    pub num_tokens: Option<usize>,
    /// Add attention KD.
    #[arg(long)]
    pub attention_kd: bool,
    /// Attention KD weight.
    #[arg(long)]
    pub attention_weight: Option<f64>,
    /// Divergence of attention KD.
    #[arg(long, value_enum)]
    pub attention_loss: Option<fallkd_core::losses::AttentionDivergence>,
    /// Embedding KD weight.
    #[arg(long)]
    pub embedding_weight: Option<f64>,
    /// Gram KD weight.
    #[arg(long)]
    pub gram_weight: Option<f64>,
    /// COMODO weight.
    #[arg(long)]
    pub comodo_weight: Option<f64>,
    /// Run directory.
    #[arg(long, default_value = "runs/student")]
    pub out: std::path::PathBuf,
    /// Continue an interrupted run in --out.
    #[arg(long)]
    pub resume: bool,
}

impl StudentArgs {
    /// The student flags as configuration overrides (before --set, which wins over them).
    fn overrides(&self) -> Result<Vec<String>> {
        use crate::flags::yaml;
        let mut sets = Vec::new();
        if self.kd || (!self.no_kd && self.teacher_weights.is_some()) {
            sets.push("kd.enabled=true".to_string());
        } else if self.no_kd {
            sets.push("kd.enabled=false".to_string());
        }
        if let Some(t) = &self.teacher_weights {
            sets.push(format!("kd.teacher={}", yaml(&t.display().to_string())?));
        }
        if self.fixed_rate {
            sets.push("student.arch=fixed-rate".into());
        }
        if let Some(m) = self.time_mode {
            sets.push(format!("student.time_mode={}", yaml(&m)?));
        }
        if let Some(l) = self.num_tokens {
            sets.push(format!("student.num_tokens={l}"));
        }
        // --attention-kd alone weighs it 1.
        let attention = self.attention_weight.or(self.attention_kd.then_some(1.0));
        if let Some(w) = attention {
            sets.push(format!("kd.weights.attention={w}"));
        }
        if let Some(l) = self.attention_loss {
            sets.push(format!("kd.attention.divergence={}", yaml(&l)?));
        }
        for (k, v) in [
            ("embedding", self.embedding_weight),
            ("gram", self.gram_weight),
            ("comodo", self.comodo_weight),
        ] {
            if let Some(v) = v {
                sets.push(format!("kd.weights.{k}={v}"));
            }
        }
        Ok(sets)
    }
}

/// Runs `fallkd train-student`.
pub fn cli_student(a: &StudentArgs) -> Result<()> {
    train_from_flags(&a.common, &a.overrides()?, Role::Student, &a.out, a.resume)
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
