//! `fallkd loso`: the leave-one-subject-out study. Every subject with usable trials is a fold's
//! test subject; each fold trains a teacher, then the students (the KD ones after their fold's
//! teacher), as child processes (`children`). The report gives mean +- std over folds and every
//! fold's numbers; a stopped study continues where it stopped.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::checkpoint::write_atomic;
use crate::children::{Job, config_args, run_all};
use crate::config::RunConfig;
use crate::dataset::{
    LoadReport, OLD_SUBJECT_OFFSET, data_root, load_old_adults, load_trials, subjects,
    without_lockbox,
};
use crate::ensemble::Ensemble;
use crate::evaluation::{Protocol, RunResult, ms};
use crate::run_dir::RunSummary;
use crate::study::{Row, Study, select_rows};

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct LosoOptions {
    /// Base configuration files.
    pub configs: Vec<PathBuf>,
    /// Overrides for every run.
    pub sets: Vec<String>,
    /// Test subjects (all usable subjects when empty).
    pub folds: Vec<u16>,
    /// Row names (the default rows when empty).
    pub rows: Vec<String>,
    /// Further distilled-student rows, `NAME=KEY=VALUE;KEY=VALUE` each.
    pub kd_rows: Vec<String>,
    /// Further feature-model rows, `NAME=KEY=VALUE;KEY=VALUE` each.
    pub features_rows: Vec<String>,
    /// Further student rows without distillation, `NAME=KEY=VALUE;KEY=VALUE` each.
    pub student_rows: Vec<String>,
    /// Runs at a time.
    pub parallel: usize,
    /// GPUs to spread runs over (0: `device` for every run).
    pub num_gpus: usize,
    /// Device for every run when `num_gpus` is 0.
    pub device: String,
    /// Seeds: every row is trained once per seed in every fold (the configuration's seed when
    /// empty).
    pub seeds: Vec<u64>,
    /// Score the older adults (each by one fold's models) when the data root has them.
    pub old_adults: bool,
    /// Also hold the next fold's test older adults out of training as validation older adults
    /// (`data.old_adults.val`), for `--old-alarm-budget`.
    pub old_adult_val: bool,
    /// Paired tests "A beats B" (row names).
    pub compare: Vec<(String, String)>,
    /// Write the report from the runs that finished, without training anything.
    pub report_only: bool,
    /// Ensemble rows (the mean probability of other rows, no training).
    pub ensembles: Vec<Ensemble>,
    /// How the operating threshold is chosen, and the alarm logic.
    pub protocol: Protocol,
    /// The rows of a study file (`--study`), in place of the selection above.
    pub study: Option<Vec<Row>>,
}

/// What a study runs over: the data root, its folds and seeds, and the older adults scored for
/// false alarms.
struct Plan {
    root: PathBuf,
    folds: Vec<u16>,
    seeds: Vec<u64>,
    old_subjects: Vec<u16>,
    report: LoadReport,
}

impl Plan {
    /// The folds (every subject with falls and ADLs, or `--folds`, checked), seeds and older
    /// adults of a study of `n_rows` rows.
    fn new(opts: &LosoOptions, cfg: &RunConfig, out: &Path, n_rows: usize) -> Result<Plan> {
        let root = data_root(cfg, out)?;
        let (trials, report) = load_trials(&root, cfg.data.gyro, true, cfg.data.dedup)?;
        let trials = without_lockbox(trials, cfg);
        let (subjects, evaluable) = subjects(&trials);
        drop(trials);
        let folds = if opts.folds.is_empty() {
            evaluable.clone()
        } else {
            for f in &opts.folds {
                if !evaluable.contains(f) {
                    bail!(
                        "--folds: subject S{f:02} has no usable trials of both classes under {} (usable with falls and ADLs: {}; {})",
                        root.display(),
                        fmt_subjects(&evaluable),
                        report.summary()
                    );
                }
            }
            opts.folds.clone()
        };
        if subjects.len() < 3 || evaluable.len() < 2 {
            bail!(
                "leave-one-subject-out needs at least 3 subjects, 2 of them with falls and ADLs (test, validation, training); {} has {} ({} with both)",
                root.display(),
                subjects.len(),
                evaluable.len()
            );
        }
        let one_class: Vec<u16> = subjects
            .iter()
            .copied()
            .filter(|s| !evaluable.contains(s))
            .collect();
        eprintln!(
            "[loso] {} folds x {} rows from {} (subjects {}{})",
            folds.len(),
            n_rows,
            root.display(),
            fmt_subjects(&subjects),
            if one_class.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} train only: their usable trials are of one class",
                    fmt_subjects(&one_class)
                )
            }
        );

        let seeds = if opts.seeds.is_empty() {
            vec![cfg.seed]
        } else {
            opts.seeds.clone()
        };
        // Older adults: old subject k (in sorted order) is scored by the models of fold k mod
        // folds, so each is scored once per seed by models that never trained on them.
        let old_subjects: Vec<u16> = if opts.old_adults {
            let (old, _) = load_old_adults(&root, cfg.data.dedup)?;
            let old = without_lockbox(old, cfg);
            let s: std::collections::BTreeSet<u16> = old
                .iter()
                .map(|t| t.key.subject - OLD_SUBJECT_OFFSET)
                .collect();
            s.into_iter().collect()
        } else {
            vec![]
        };
        if opts.old_adult_val && (old_subjects.is_empty() || folds.len() < 2) {
            bail!(
                "--old-adult-val needs older adults under the data root (old/) and two folds or more: each fold validates on the next fold's older adults"
            );
        }
        if !old_subjects.is_empty() {
            eprintln!(
                "[loso] older adults {} scored for false alarms, one fold's models each",
                old_subjects
                    .iter()
                    .map(|s| format!("S{s:02}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }

        Ok(Plan {
            root,
            folds,
            seeds,
            old_subjects,
            report,
        })
    }

    /// The older adults scored by the models of the fold at `fold_index`: old subject k (in
    /// sorted order) by fold k mod folds, so each is scored once per seed by models that never
    /// trained on them.
    fn old_of(&self, fold_index: usize) -> Vec<u16> {
        self.old_subjects
            .iter()
            .enumerate()
            .filter(|(k, _)| k % self.folds.len() == fold_index)
            .map(|(_, &s)| s)
            .collect()
    }
}

/// The child processes of a study: every row in every fold and seed (the KD rows after their
/// fold's teacher), the cheap feature rows first.
fn jobs(opts: &LosoOptions, plan: &Plan, rows: &[Row], out: &Path) -> Result<Vec<Job>> {
    let mut common = config_args(&opts.configs, &opts.sets);
    common.push("--set".into());
    common.push(format!(
        "data.root={}",
        crate::flags::yaml(&plan.root.display().to_string())?
    ));
    if opts.num_gpus == 0 {
        common.push("--device".into());
        common.push(opts.device.clone());
    }

    let mut jobs: Vec<Job> = Vec::new();
    for &seed in &plan.seeds {
        for (fi, &fold) in plan.folds.iter().enumerate() {
            let fold_dir = run_dir(out, seed, fold);
            let teacher_dir = fold_dir.join("teacher");
            let mut teacher_job = None;
            for r in rows {
                let mut args = common.clone();
                args.extend([
                    "--set".to_string(),
                    "data.split.kind=loso".into(),
                    "--set".into(),
                    format!("data.split.fold={fold}"),
                    "--set".into(),
                    format!("seed={seed}"),
                ]);
                let old = plan.old_of(fi);
                let list = |v: &[u16]| v.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
                if !r.teacher && !old.is_empty() {
                    args.extend([
                        "--set".to_string(),
                        format!("data.old_adults.test=[{}]", list(&old)),
                    ]);
                }
                let old_val = plan.old_of((fi + 1) % plan.folds.len());
                if opts.old_adult_val && !r.teacher && !old_val.is_empty() {
                    args.extend([
                        "--set".to_string(),
                        format!("data.old_adults.val=[{}]", list(&old_val)),
                    ]);
                }
                if r.kd {
                    args.extend([
                        "--set".to_string(),
                        "kd.enabled=true".into(),
                        "--set".into(),
                        format!(
                            "kd.teacher={}",
                            crate::flags::yaml(&teacher_dir.display().to_string())?
                        ),
                    ]);
                }
                for s in &r.set {
                    args.extend(["--set".to_string(), s.clone()]);
                }
                if r.teacher {
                    teacher_job = Some(jobs.len());
                }
                jobs.push(Job {
                    name: format!("seed {seed} S{fold:02}/{}", r.name),
                    sub: if r.teacher {
                        "train-teacher"
                    } else if r.features {
                        "train-features"
                    } else {
                        "train-student"
                    }
                    .into(),
                    out: fold_dir.join(&r.name),
                    args,
                    after: if r.kd { teacher_job } else { None },
                });
            }
        }
    }
    // The cheap feature rows first: their tables are there within seconds.
    let order: Vec<usize> = (0..jobs.len())
        .filter(|&i| jobs[i].sub == "train-features")
        .chain((0..jobs.len()).filter(|&i| jobs[i].sub != "train-features"))
        .collect();
    let remap: std::collections::BTreeMap<usize, usize> = order
        .iter()
        .enumerate()
        .map(|(new, &old)| (old, new))
        .collect();
    Ok(order
        .iter()
        .map(|&i| {
            let mut j = jobs[i].clone();
            j.after = j.after.map(|a| remap[&a]);
            j
        })
        .collect())
}

/// The runs of the study that finished, with their predictions.
fn finished_results(out: &Path, plan: &Plan, rows: &[Row]) -> Result<Vec<RunResult>> {
    let mut results: Vec<RunResult> = Vec::new();
    for &seed in &plan.seeds {
        for &fold in &plan.folds {
            for r in rows {
                let dir = run_dir(out, seed, fold).join(&r.name);
                if let Some(summary) = RunSummary::read(&dir)? {
                    let (preds, recs) = crate::predictions::read(&dir)?.unwrap_or_default();
                    results.push(RunResult {
                        row: r.name.clone(),
                        seed,
                        fold,
                        summary,
                        preds,
                        recs,
                    });
                }
            }
        }
    }
    Ok(results)
}

/// Adds the ensemble rows, then writes `loso.md`, `loso.csv` and `operating-points.csv`; returns
/// the report's path.
fn write_report(
    opts: &LosoOptions,
    plan: &Plan,
    rows: &[Row],
    results: Vec<RunResult>,
    out: &Path,
) -> Result<PathBuf> {
    let mut rows = rows.to_vec();
    let mut results = results;
    for e in &opts.ensembles {
        if let Some(p) = e.parts.iter().find(|p| !rows.iter().any(|r| &r.name == *p)) {
            bail!("--ensemble {}: {p} is not a row of this study", e.name);
        }
        if rows.iter().any(|r| r.name == e.name) {
            bail!("--ensemble {}: the name is a row already", e.name);
        }
        results.extend(e.combine(&results)?);
        rows.push(Row {
            name: e.name.clone(),
            teacher: false,
            features: false,
            kd: false,
            set: vec![],
            default: false,
        });
    }
    let mut opts = opts.clone();
    if opts.compare.is_empty() {
        opts.compare = default_comparisons(&rows);
    }
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    let points = crate::evaluation::deployment_points(&results, &names, &opts.protocol);
    let md = report_markdown(&rows, &plan.folds, &results, &opts, &plan.report, &points);
    let path = out.join("loso.md");
    write_atomic(&path, md.as_bytes())?;
    let mut csv = format!(
        "seed,fold,run,val_subjects,{},val_threshold,best_epoch,parameters\n",
        RunSummary::METRIC_FIELDS
    );
    for r in &results {
        let s = &r.summary;
        let _ = writeln!(
            csv,
            "{},S{:02},{},{},{},{:.4},{},{}",
            r.seed,
            r.fold,
            r.row,
            fmt_subjects(&s.split.val),
            s.metric_fields(),
            s.threshold,
            s.best_epoch,
            s.parameters
        );
    }
    write_atomic(&out.join("loso.csv"), csv.as_bytes())?;
    write_atomic(
        &out.join("operating-points.csv"),
        crate::evaluation::deployment_csv(&points).as_bytes(),
    )?;
    println!("{md}");
    Ok(path)
}

/// Runs the study into `out` and writes `loso.md` and `loso.csv`; returns the report path.
pub fn run(opts: &LosoOptions, out: &Path) -> Result<PathBuf> {
    let rows = match &opts.study {
        Some(rows) => rows.clone(),
        None => select_rows(
            &opts.rows,
            &opts.kd_rows,
            &opts.features_rows,
            &opts.student_rows,
        )?,
    };
    let cfg = RunConfig::load(&opts.configs, &opts.sets)?;
    std::fs::create_dir_all(out)?;
    let plan = Plan::new(opts, &cfg, out, rows.len())?;
    let jobs = jobs(opts, &plan, &rows, out)?;
    let failures = if opts.report_only {
        vec![]
    } else {
        run_all(&jobs, opts.parallel, opts.num_gpus, "loso")?
    };
    let results = finished_results(out, &plan, &rows)?;
    let path = write_report(opts, &plan, &rows, results, out)?;
    if !failures.is_empty() {
        bail!(
            "{} runs failed (the report holds the others; run the same command again to retry): {}",
            failures.len(),
            failures.join("; ")
        );
    }
    Ok(path)
}

/// "KD beats no KD" first (the shipped configuration's pair, then the plain one), then every student row against the feature model.
pub fn default_comparisons(rows: &[Row]) -> Vec<(String, String)> {
    let has = |n: &str| rows.iter().any(|r| r.name == n);
    let mut v = Vec::new();
    for (kd, nokd) in [
        ("student-kd-wearer-wf-aug", "student-nokd-wearer-wf-aug"),
        ("student-kd-wearer-wf", "student-nokd-wearer-wf"),
        ("student-kd-wearer", "student-nokd-wearer"),
        ("student-kd", "student-nokd"),
    ] {
        if has(kd) && has(nokd) {
            v.push((kd.to_string(), nokd.to_string()));
        }
    }
    if has("features-gbm") {
        for r in rows.iter().filter(|r| !r.teacher && !r.features) {
            v.push((r.name.clone(), "features-gbm".to_string()));
        }
    }
    v
}

/// The folder of one seed's fold.
pub fn run_dir(out: &Path, seed: u64, fold: u16) -> PathBuf {
    out.join(format!("seed{seed}")).join(format!("S{fold:02}"))
}

fn fmt_subjects(s: &[u16]) -> String {
    s.iter()
        .map(|s| format!("S{s:02}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The study's tables: the wearer-level report (`evaluation`), then mean +- std of the
/// per-run window metrics at 0.5 and the test F1 (AUC) of every fold, first seed.
pub fn report_markdown(
    rows: &[Row],
    folds: &[u16],
    results: &[RunResult],
    opts: &LosoOptions,
    load: &crate::dataset::LoadReport,
    points: &[crate::evaluation::DeploymentPoint],
) -> String {
    let mut md = String::from("# Leave-one-subject-out\n\n");
    let _ = writeln!(
        md,
        "Folds (test subjects): {}. Each fold validates on one other subject with falls and ADLs (drawn with the run's seed) and trains on the rest; every row is trained once per seed in every fold. Data: {}.\n",
        fmt_subjects(folds),
        load.summary()
    );
    if !load.duplicates.is_empty() {
        let _ = writeln!(
            md,
            "Identical recordings dropped ({}): {}.\n",
            load.duplicates.len(),
            load.duplicates.join("; ")
        );
    }
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    md.push_str("## As a wearer feels it\n\n");
    md.push_str(&crate::evaluation::report(
        results,
        &names,
        &opts.protocol,
        &opts.compare,
    ));
    md.push_str(&crate::evaluation::deployment_markdown(points));
    md.push_str("\n## Window metrics at 0.5 (mean +- sample std over folds x seeds)\n\n");
    md.push_str("| run | runs | F1 | precision | recall | accuracy | AUC | F1 @ val thr | params |\n|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let of: Vec<&RunSummary> = results
            .iter()
            .filter(|x| x.row == r.name)
            .map(|x| &x.summary)
            .collect();
        if of.is_empty() {
            let _ = writeln!(md, "| {} | 0 | | | | | | | |", r.name);
            continue;
        }
        let col = |f: &dyn Fn(&RunSummary) -> f64| ms(&of.iter().map(|x| f(x)).collect::<Vec<_>>());
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            of.len(),
            col(&|s| s.test.f1),
            col(&|s| s.test.precision),
            col(&|s| s.test.recall),
            col(&|s| s.test.accuracy),
            col(&|s| s.test.auc),
            col(&|s| s.test_at_val_threshold.f1),
            of[0].parameters
        );
    }
    let Some(first_seed) = results.iter().map(|r| r.seed).min() else {
        return md;
    };
    let _ = write!(
        md,
        "\n## Test F1 (AUC) at 0.5 per fold, seed {first_seed}\n\n| fold | val |"
    );
    for r in rows {
        let _ = write!(md, " {} |", r.name);
    }
    md.push_str("\n|---|---|");
    for _ in rows {
        md.push_str("---|");
    }
    md.push('\n');
    for &fold in folds {
        let of = |name: &str| {
            results
                .iter()
                .find(|x| x.seed == first_seed && x.fold == fold && x.row == name)
        };
        let val = results
            .iter()
            .find(|x| x.seed == first_seed && x.fold == fold)
            .map_or(String::new(), |x| fmt_subjects(&x.summary.split.val));
        let _ = write!(md, "| S{fold:02} | {val} |");
        for r in rows {
            match of(&r.name) {
                Some(x) => {
                    let _ = write!(
                        md,
                        " {:.3} ({:.3}) |",
                        x.summary.test.f1, x.summary.test.auc
                    );
                }
                None => md.push_str(" - |"),
            }
        }
        md.push('\n');
    }
    md
}

/// `fallkd loso`: the leave-one-subject-out study.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Configuration, data, device, seed, epochs.
    #[command(flatten)]
    pub common: crate::flags::Common,
    /// A study file: named rows, each a built-in row or a kind and a partial configuration, with
    /// its comparisons and ensembles (kd_config/study-example.yaml; docs/cli.md). In place of
    /// --rows, --kd-row, --features-row and --student-row; --compare and --ensemble add to its own.
    #[arg(long, conflicts_with_all = ["rows", "kd_rows", "features_rows", "student_rows"])]
    pub study: Option<PathBuf>,
    /// Output folder (one sub-folder per fold).
    #[arg(long, default_value = "runs/loso")]
    pub out: PathBuf,
    /// Test subjects, e.g. 29,30 (default: every subject with both falls and ADLs left after
    /// de-duplication; the others only train).
    #[arg(long, value_delimiter = ',')]
    pub folds: Vec<u16>,
    /// Rows (default: teacher, student-nokd, student-kd, student-kd-position,
    /// baseline-fixed-rate; also student-kd-cleaned, student-kd-tokens32,
    /// student-kd-tokens128).
    #[arg(long, value_delimiter = ',')]
    pub rows: Vec<String>,
    /// A further distilled-student row, NAME=KEY=VALUE[;KEY=VALUE...] (repeatable), e.g.
    /// --kd-row 'student-kd-posw4=train.loss={kind: bce, pos_weight: 4}'.
    #[arg(long = "kd-row")]
    pub kd_rows: Vec<String>,
    /// A further feature-model row, NAME=KEY=VALUE[;KEY=VALUE...] (repeatable), e.g.
    /// --features-row 'features-gbm-w6=features.model=gbm;window.length={by: duration, seconds: 6}'.
    #[arg(long = "features-row")]
    pub features_rows: Vec<String>,
    /// A further student row trained without distillation (kd.enabled=false, then these
    /// overrides; no teacher needed), NAME=KEY=VALUE[;KEY=VALUE...] (repeatable), e.g.
    /// --student-row 'student-nokd-posw4=train.loss={kind: bce, pos_weight: 4}'.
    #[arg(long = "student-row")]
    pub student_rows: Vec<String>,
    /// Runs at a time (on CPU each gets its share of the cores).
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    /// Spread runs over this many GPUs (0: --device for every run).
    #[arg(long, default_value_t = 0)]
    pub num_gpus: usize,
    /// Seeds: every row trains once per seed in every fold (default: the config's seed).
    #[arg(long, value_delimiter = ',')]
    pub seeds: Vec<u64>,
    /// Do not score the older adults (old/ under the data root) for false alarms.
    #[arg(long)]
    pub no_old_adults: bool,
    /// Hold each fold's next fold's older adults out of training as validation older adults
    /// (`data.old_adults.val`), the false-alarm side of --old-alarm-budget (changes what the
    /// rows that train on older adults train on).
    #[arg(long)]
    pub old_adult_val: bool,
    /// Raise each run's operating threshold, where needed, until at most this share of the
    /// validation older adults' recordings (pooled over the row's folds of the seed, the run's
    /// own test older adults left out) alarm; needs runs made with --old-adult-val.
    #[arg(long)]
    pub old_alarm_budget: Option<f64>,
    /// Alarm logic of the per-recording scores.
    #[command(flatten)]
    pub alarm: crate::flags::AlarmArgs,
    /// A paired test "A beats B" as A:B (repeatable; default: KD against no KD,
    /// student-kd-wearer:student-nokd-wearer and student-kd:student-nokd, then every student
    /// row against features-gbm, where those rows run).
    #[arg(long)]
    pub compare: Vec<String>,
    /// Only write the report from the runs that finished (train nothing).
    #[arg(long)]
    pub report_only: bool,
    /// An ensemble row NAME=A+B[+C...]: the mean fall probability of rows A, B, ... of the
    /// same seed and fold, scored like any row (repeatable; trains nothing).
    #[arg(long = "ensemble")]
    pub ensembles: Vec<String>,
    /// Where each run's operating threshold sits once the best validation F1 is found: edge
    /// (the lowest validation probability reaching it, the protocol of RESULTS.md so far) or
    /// margin (half way down to the next lower validation probability: the same validation
    /// F1, with a margin for new wearers).
    #[arg(long, value_enum, default_value = "edge")]
    pub threshold_rule: fallkd_core::metrics::ThresholdRule,
    /// How each run's operating threshold is chosen (never from its test subject): val-f1
    /// (best F1 on the pooled validation windows, placed by --threshold-rule; RESULTS.md's
    /// protocol so far), fixed (0.5, chooses nothing) or nested (per run, whichever of the two
    /// gives the better recording F1 on each validation subject scored at the threshold the
    /// other validation subjects give).
    #[arg(long, value_enum, default_value = "val-f1")]
    pub threshold_choice: crate::evaluation::ThresholdChoice,
}

/// Runs `fallkd loso`: the flags checked and lowered into [`LosoOptions`].
pub fn cli(a: &Args) -> Result<()> {
    let alarm = a.alarm.config()?;
    if let Some(b) = a.old_alarm_budget
        && !(0.0..=1.0).contains(&b)
    {
        bail!("--old-alarm-budget must lie in [0, 1] (a share of recordings), got {b}");
    }
    let sets = a.common.overrides()?;
    let study = a
        .study
        .as_deref()
        .map(|p| Study::load(p, &a.common.configs, &sets))
        .transpose()?;
    let from_study = study.as_ref().map(Study::comparisons).unwrap_or_default();
    let compare = a
        .compare
        .iter()
        .map(|c| {
            c.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| anyhow::anyhow!("--compare {c}: expected A:B (row names)"))
        })
        .collect::<Result<Vec<_>>>()?;
    let compare = from_study.into_iter().chain(compare).collect();
    let mut ensembles = match &study {
        Some(s) => s.ensemble_rows()?,
        None => Vec::new(),
    };
    for e in &a.ensembles {
        ensembles.push(Ensemble::parse(e)?);
    }
    let opts = LosoOptions {
        configs: a.common.configs.clone(),
        sets,
        folds: a.folds.clone(),
        rows: a.rows.clone(),
        kd_rows: a.kd_rows.clone(),
        features_rows: a.features_rows.clone(),
        student_rows: a.student_rows.clone(),
        parallel: a.parallel,
        num_gpus: a.num_gpus,
        device: a.common.device.device.name.clone(),
        seeds: a.seeds.clone(),
        protocol: Protocol {
            alarm,
            choice: a.threshold_choice,
            rule: a.threshold_rule,
            old_alarm_budget: a.old_alarm_budget,
        },
        old_adults: !a.no_old_adults,
        old_adult_val: a.old_adult_val,
        compare,
        report_only: a.report_only,
        ensembles,
        study: study.as_ref().map(Study::rows).transpose()?,
    };
    run(&opts, &a.out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::{AUGMENT, known_rows};

    #[test]
    fn rows_default_and_checked() {
        let rows = select_rows(&[], &[], &[], &[]).unwrap();
        let d: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            d,
            [
                "teacher",
                "student-nokd",
                "student-kd",
                "student-kd-position",
                "baseline-fixed-rate",
                "features-gbm",
                "peak-rule"
            ]
        );
        assert!(
            rows.iter()
                .filter(|r| r.features)
                .all(|r| !r.kd && !r.teacher)
        );
        let c = default_comparisons(&rows);
        assert_eq!(c[0], ("student-kd".to_string(), "student-nokd".to_string()));
        assert!(c.iter().skip(1).all(|(_, b)| b == "features-gbm"));
        assert!(!c.iter().any(|(a, _)| a == "teacher" || a == "peak-rule"));
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let wearer = select_rows(
            &names(&[
                "teacher",
                "student-nokd",
                "student-kd",
                "student-nokd-wearer",
                "student-kd-wearer",
                "student-nokd-wearer-wf",
                "student-kd-wearer-wf",
                "features-gbm",
            ]),
            &[],
            &[],
            &[],
        )
        .unwrap();
        let c = default_comparisons(&wearer);
        assert_eq!(
            c[..3],
            [
                (
                    "student-kd-wearer-wf".into(),
                    "student-nokd-wearer-wf".into()
                ),
                ("student-kd-wearer".into(), "student-nokd-wearer".into()),
                ("student-kd".into(), "student-nokd".into())
            ]
        );
        let wf = wearer
            .iter()
            .find(|r| r.name == "student-nokd-wearer-wf")
            .unwrap();
        assert!(!wf.kd && wf.set.contains(&"student.window_features=true".to_string()));
        // The overrides, in order, that the study's finished runs were made with: a finished run
        // whose row changes is not the same run any more.
        let set = |name: &str| {
            known_rows()
                .into_iter()
                .find(|r| r.name == name)
                .unwrap()
                .set
        };
        assert_eq!(
            set("student-kd-wearer-wf"),
            [
                "student.time_mode=timestamps",
                "train.gyro_dropout=0.5",
                "data.old_adults.train=true",
                "student.window_features=true"
            ]
        );
        assert_eq!(
            set("student-nokd-wearer"),
            [
                "kd.enabled=false",
                "train.gyro_dropout=0.5",
                "data.old_adults.train=true"
            ]
        );
        assert_eq!(set("student-nokd-wearer-wf-aug").last().unwrap(), AUGMENT);
        let e = select_rows(&["student-kd".into()], &[], &[], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("need the teacher row"), "{e}");
        let e = select_rows(&["tacher".into()], &[], &[], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown row \"tacher\""), "{e}");
        assert_eq!(
            select_rows(&["baseline-fixed-rate".into()], &[], &[], &[])
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn kd_rows_are_parsed_and_checked() {
        let rows = select_rows(
            &[],
            &[
                "student-kd-posw4=train.loss={kind: bce, pos_weight: 4}; student.num_tokens=32"
                    .into(),
            ],
            &[],
            &[],
        )
        .unwrap();
        let r = rows.last().unwrap();
        assert_eq!(r.name, "student-kd-posw4");
        assert!(r.kd && !r.teacher);
        assert_eq!(
            r.set,
            [
                "train.loss={kind: bce, pos_weight: 4}",
                "student.num_tokens=32"
            ]
        );
        for (bad, why) in [
            ("no-equals", "expected NAME=KEY=VALUE"),
            ("a/b=x=1", "letters, digits"),
            ("student-kd=x=1", "built-in row"),
            ("r=x", "KEY=VALUE"),
        ] {
            let e = select_rows(&[], &[bad.into()], &[], &[])
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let e = select_rows(&[], &["r=x=1".into(), "r=y=2".into()], &[], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("given twice"), "{e}");
        let e = select_rows(&["baseline-fixed-rate".into()], &["r=x=1".into()], &[], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("need the teacher row"), "{e}");
    }

    #[test]
    fn student_rows_train_without_a_teacher() {
        let rows = select_rows(
            &["student-kd".into()],
            &[],
            &[],
            &["student-nokd-posw4=train.loss={kind: bce, pos_weight: 4}".into()],
        );
        // A KD row is there, so the teacher row is still required...
        let e = rows.unwrap_err().to_string();
        assert!(e.contains("need the teacher row"), "{e}");
        // ...but a no-KD student row alone needs none, and disables KD before its overrides.
        let rows = select_rows(
            &["student-nokd".into()],
            &[],
            &[],
            &["student-nokd-posw4=train.loss={kind: bce, pos_weight: 4}".into()],
        )
        .unwrap();
        let r = rows.last().unwrap();
        assert_eq!(r.name, "student-nokd-posw4");
        assert!(!r.kd && !r.teacher && !r.features);
        assert_eq!(
            r.set,
            ["kd.enabled=false", "train.loss={kind: bce, pos_weight: 4}"]
        );
        let e = select_rows(&[], &["r=x=1".into()], &[], &["r=y=2".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--student-row") && e.contains("given twice"),
            "{e}"
        );
    }

    #[test]
    fn features_rows_are_parsed_and_checked() {
        let rows = select_rows(
            &["features-gbm".into()],
            &[],
            &[
                "features-gbm-w6=features.model=gbm; window.length={by: duration, seconds: 6}"
                    .into(),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        let r = &rows[1];
        assert_eq!(r.name, "features-gbm-w6");
        assert!(r.features && !r.kd && !r.teacher);
        assert_eq!(
            r.set,
            [
                "features.model=gbm",
                "window.length={by: duration, seconds: 6}"
            ]
        );
        let e = select_rows(&[], &[], &["features-gbm=x=1".into()], &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--features-row") && e.contains("built-in row"),
            "{e}"
        );
        let e = select_rows(
            &["teacher".into()],
            &["r=x=1".into()],
            &["r=y=2".into()],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("--features-row") && e.contains("given twice"),
            "{e}"
        );
    }
}
