//! `fallkd ablation --role teacher|student`: sweeps from `kd_config/ablation_kd.yaml`,
//! each configuration a child `fallkd` process, `--parallel N` at a time, spread over
//! `--num-gpus N` GPUs (see `children`); finished runs are kept; one summary table at the end.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::checkpoint::write_atomic;
use crate::children::{Job, config_args, run_all};
use crate::run_dir::RunSummary;
use crate::sweep::{Variant, summary_table};

/// The ablation file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AblationFile {
    /// Base configuration files for teacher runs.
    pub teacher_base: Vec<PathBuf>,
    /// Teacher variants.
    pub teacher: Vec<Variant>,
    /// Base configuration files for student runs.
    pub student_base: Vec<PathBuf>,
    /// Student variants (tokens, time features, KD combinations).
    pub student: Vec<Variant>,
}

/// Runs the `which` sweep ("teacher" or "student").
#[allow(clippy::too_many_arguments)]
pub fn run(
    which: &str,
    file: &Path,
    extra_sets: &[String],
    out: &Path,
    parallel: usize,
    num_gpus: usize,
    only: Option<&str>,
) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let ab: AblationFile = serde_yaml::from_str(&text)
        .with_context(|| format!("{} is not a valid ablation file", file.display()))?;
    let (base, variants, sub) = match which {
        "teacher" => (ab.teacher_base, ab.teacher, "train-teacher"),
        _ => (ab.student_base, ab.student, "train-student"),
    };
    let variants: Vec<Variant> = variants
        .into_iter()
        .filter(|v| only.is_none_or(|o| o.split(',').any(|x| x == v.name)))
        .collect();
    if variants.is_empty() {
        bail!("no {which} variant selected in {}", file.display());
    }
    std::fs::create_dir_all(out)?;
    let jobs: Vec<Job> = variants
        .iter()
        .map(|v| Job {
            name: v.name.clone(),
            sub: sub.to_string(),
            out: out.join(&v.name),
            args: config_args(&base, extra_sets.iter().chain(&v.set)),
            after: None,
        })
        .collect();
    let failures = run_all(&jobs, parallel, num_gpus, "ablation")?;
    let mut rows = Vec::new();
    for v in &variants {
        if let Some(s) = RunSummary::read(&out.join(&v.name))? {
            rows.push((v.clone(), s));
        }
    }
    let table = summary_table(&rows);
    write_atomic(&out.join("summary.md"), table.as_bytes())?;
    let mut csv = format!(
        "name,overrides,{},parameters,ms_per_window\n",
        RunSummary::METRIC_FIELDS
    );
    for (v, s) in &rows {
        csv.push_str(&format!(
            "{},\"{}\",{},{},{:.3}\n",
            v.name,
            v.set.join(" "),
            s.metric_fields(),
            s.parameters,
            s.ms_per_window
        ));
    }
    write_atomic(&out.join("summary.csv"), csv.as_bytes())?;
    println!("{table}");
    if !failures.is_empty() {
        bail!(
            "{} ablation runs failed: {}",
            failures.len(),
            failures.join("; ")
        );
    }
    Ok(())
}

/// `fallkd ablation`: a sweep of an ablation file's teacher or student variants.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Whose variants: teacher or student.
    #[arg(long, value_enum)]
    pub role: AblationRole,
    /// Ablation file.
    #[arg(long, default_value = "kd_config/ablation_kd.yaml")]
    pub file: PathBuf,
    /// Extra overrides for every run (e.g. --set data.root=data).
    #[arg(long = "set")]
    pub sets: Vec<String>,
    /// Output folder (default runs/teacher-ablation or runs/student-ablation).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Runs at a time.
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    /// Spread runs over this many GPUs (0: CPU).
    #[arg(long, default_value_t = 0)]
    pub num_gpus: usize,
    /// Only these variants (comma-separated names).
    #[arg(long)]
    pub only: Option<String>,
}

/// The two sweeps of an ablation file.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AblationRole {
    /// The teacher's variants.
    Teacher,
    /// The student's variants.
    Student,
}

impl AblationRole {
    fn name(self) -> &'static str {
        match self {
            AblationRole::Teacher => "teacher",
            AblationRole::Student => "student",
        }
    }
}

/// Runs `fallkd ablation`.
pub fn cli(a: &Args) -> Result<()> {
    let role = a.role.name();
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| format!("runs/{role}-ablation").into());
    run(
        role,
        &a.file,
        &a.sets,
        &out,
        a.parallel,
        a.num_gpus,
        a.only.as_deref(),
    )
}
