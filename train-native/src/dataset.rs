//! Reading a SmartFallMM folder (or a generated one) into trials, and preparing split windows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fallkd_core::batch::{EventWindow, events_in, window_feature_row_in};
use fallkd_core::data::cuts::cut_copies;
use fallkd_core::data::dedup::{Duplicate, content_hash, find_duplicates};
use fallkd_core::data::events::Event;
use fallkd_core::data::gravity::Axes;
use fallkd_core::data::hard_negatives::hard_negatives;
use fallkd_core::data::imu_csv::{ImuRecording, parse_imu_csv};
use fallkd_core::data::lockbox;
use fallkd_core::data::normalize::{FeatureStats, MagnitudeStats, NormStats};
use fallkd_core::data::skeleton_csv::parse_skeleton_csv;
use fallkd_core::data::split::{Split, fixed_split, leave_one_subject_out};
use fallkd_core::data::trial::{GyroPolicy, Trial, TrialKey, assemble_trial};
use fallkd_core::data::window::{Purpose, Window, WindowConfig, window_trial, window_trials};

use fallkd_core::provenance::{DataHasher, DataOrigin};

use crate::config::{LockboxPolicy, RunConfig, SplitKind};

/// The three modality folders of a dataset root.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `.../skeleton`.
    pub skeleton: PathBuf,
    /// `.../accelerometer/watch`.
    pub accelerometer: PathBuf,
    /// `.../gyroscope/watch`.
    pub gyroscope: PathBuf,
}

impl Layout {
    /// Accepts the folder holding `young/`, or `young/` itself.
    pub fn find(root: &Path) -> Result<Layout> {
        for base in [root.join("young"), root.to_path_buf()] {
            let l = Layout {
                skeleton: base.join("skeleton"),
                accelerometer: base.join("accelerometer").join("watch"),
                gyroscope: base.join("gyroscope").join("watch"),
            };
            if l.accelerometer.is_dir() {
                return Ok(l);
            }
        }
        bail!(
            "{} does not look like a SmartFallMM root: expected young/accelerometer/watch/ below it \
             (unpack the archive with `tar -xzf smartfallmm-young.tar.gz -C DIR` and pass DIR, \
             or run `fallkd generate --out DIR`)",
            root.display()
        )
    }

    fn csv_files(dir: &Path) -> Result<Vec<PathBuf>> {
        if !dir.is_dir() {
            return Ok(vec![]);
        }
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
            .collect();
        v.sort();
        Ok(v)
    }
}

/// What happened to every file and trial.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Files parsed (possibly with repairs).
    pub loaded_files: usize,
    /// Files rejected, with the reason.
    pub rejected_files: Vec<String>,
    /// Trials left out, with the reason.
    pub skipped_trials: Vec<String>,
    /// Header lines skipped, mangled values fixed, non-finite rows dropped, skeleton frames filled.
    pub repairs: [usize; 4],
    /// Trials dropped as copies of another recording (`data.dedup`), with the reason.
    pub duplicates: Vec<String>,
    /// Files read with a field-format repair (time of day only, timestamp in another column,
    /// trailing junk line), one line each naming the file and the repairs.
    pub format_repairs: Vec<String>,
}

impl LoadReport {
    /// One-paragraph summary.
    pub fn summary(&self) -> String {
        format!(
            "{} files loaded ({} with a format repair), {} rejected; {} trials left out, {} of them identical copies of another recording; repairs: {} header lines skipped, {} duplicate-column values fixed, {} non-finite rows dropped, {} skeleton frames filled",
            self.loaded_files,
            self.format_repairs.len(),
            self.rejected_files.len(),
            self.skipped_trials.len(),
            self.duplicates.len(),
            self.repairs[0],
            self.repairs[1],
            self.repairs[2],
            self.repairs[3]
        )
    }
}

/// The recordings of `dir`: the archive's layout (`accelerometer/watch/NAME.csv`, with
/// `gyroscope/watch/NAME.csv` when there is one) or, failing that, every `*.csv` directly in
/// `dir` as an accelerometer file without a gyroscope.
pub fn recordings_in(dir: &Path) -> Result<Vec<(std::path::PathBuf, Option<std::path::PathBuf>)>> {
    let layout = dir.join("accelerometer").join("watch");
    let (acc_dir, gyro_dir) = if layout.is_dir() {
        (layout, Some(dir.join("gyroscope").join("watch")))
    } else {
        (dir.to_path_buf(), None)
    };
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&acc_dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot list the folder: {e}", acc_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
        .collect();
    files.sort();
    if files.is_empty() {
        anyhow::bail!(
            "{}: no .csv recordings (expected accelerometer/watch/*.csv or *.csv)",
            dir.display()
        );
    }
    Ok(files
        .into_iter()
        .map(|a| {
            let g = gyro_dir
                .as_ref()
                .map(|g| g.join(a.file_name().expect("a file")))
                .filter(|g| g.is_file());
            (a, g)
        })
        .collect())
}

/// A file's bytes; the error names the file.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Every `SxxAyyTzz.csv` of `dir` through `parse`, by trial; a file with another name or one
/// `parse` refuses is listed in the report's rejected files.
fn parse_folder<T>(
    dir: &Path,
    report: &mut LoadReport,
    mut parse: impl FnMut(&str, &[u8], &mut LoadReport) -> Result<T, String>,
) -> Result<BTreeMap<TrialKey, T>> {
    let mut out = BTreeMap::new();
    for p in Layout::csv_files(dir)? {
        let name = p.display().to_string();
        let Some(key) = TrialKey::parse(&name) else {
            report
                .rejected_files
                .push(format!("{name}: name is not SxxAyyTzz.csv"));
            continue;
        };
        match parse(&name, &read(&p)?, report) {
            Ok(r) => {
                report.loaded_files += 1;
                out.insert(key, r);
            }
            Err(e) => report.rejected_files.push(e),
        }
    }
    Ok(out)
}

fn imu_folder(dir: &Path, report: &mut LoadReport) -> Result<BTreeMap<TrialKey, ImuRecording>> {
    parse_folder(dir, report, |name, bytes, report| {
        let r = parse_imu_csv(name, bytes).map_err(|e| e.to_string())?;
        report.repairs[0] += r.repairs.header_lines_skipped;
        report.repairs[1] += r.repairs.mangled_values_fixed;
        report.repairs[2] += r.repairs.non_finite_lines_dropped;
        if r.repairs.time_of_day_lines > 0
            || r.repairs.timestamp_column.is_some()
            || r.repairs.trailing_lines_dropped > 0
        {
            report
                .format_repairs
                .push(format!("{name}: {}", r.repairs.describe().join("; ")));
        }
        Ok(r)
    })
}

/// Parsed recordings of a folder, before trial assembly (also used by the audit).
pub struct Recordings {
    /// Accelerometer files by trial.
    pub accelerometer: BTreeMap<TrialKey, ImuRecording>,
    /// Gyroscope files by trial.
    pub gyroscope: BTreeMap<TrialKey, ImuRecording>,
    /// Skeleton frames by trial.
    pub skeleton: BTreeMap<TrialKey, Vec<fallkd_core::data::skeleton_csv::Frame>>,
    /// What happened.
    pub report: LoadReport,
}

impl Recordings {
    /// Drops every trial whose watch recording (accelerometer and gyroscope samples) is an
    /// identical copy of another trial's, keeping the first name with a skeleton recording
    /// (`data::dedup`); each drop is reported in `report.duplicates` and `report.skipped_trials`.
    pub fn drop_duplicates(&mut self) -> Vec<Duplicate> {
        let hashes: BTreeMap<TrialKey, (u64, Option<u64>)> = self
            .accelerometer
            .iter()
            .map(|(k, a)| {
                (
                    *k,
                    (content_hash(a), self.gyroscope.get(k).map(content_hash)),
                )
            })
            .collect();
        let dups = find_duplicates(&hashes, |k| self.skeleton.contains_key(k));
        for d in &dups {
            self.accelerometer.remove(&d.dropped);
            self.gyroscope.remove(&d.dropped);
            self.skeleton.remove(&d.dropped);
            self.report.duplicates.push(d.to_string());
            self.report.skipped_trials.push(d.to_string());
        }
        dups
    }
}

/// Parses every CSV of the three folders; a bad file is reported, never fatal.
pub fn read_recordings(root: &Path, with_skeleton: bool) -> Result<Recordings> {
    let layout = Layout::find(root)?;
    let mut report = LoadReport::default();
    let accelerometer = imu_folder(&layout.accelerometer, &mut report)?;
    let gyroscope = imu_folder(&layout.gyroscope, &mut report)?;
    let skeleton = if with_skeleton {
        parse_folder(&layout.skeleton, &mut report, |name, bytes, report| {
            let r = parse_skeleton_csv(name, bytes).map_err(|e| e.to_string())?;
            report.repairs[0] += r.header_lines_skipped;
            report.repairs[3] += r.frames_filled;
            Ok(r.frames)
        })?
    } else {
        BTreeMap::new()
    };
    Ok(Recordings {
        accelerometer,
        gyroscope,
        skeleton,
        report,
    })
}

/// Trials with accelerometer (+ gyroscope per policy) and, if `require_skeleton`, skeleton;
/// with `dedup`, identical copies of a recording are dropped first (one kept).
pub fn load_trials(
    root: &Path,
    policy: GyroPolicy,
    require_skeleton: bool,
    dedup: bool,
) -> Result<(Vec<Trial>, LoadReport)> {
    let mut rec = read_recordings(root, true)?;
    if dedup {
        rec.drop_duplicates();
    }
    let mut trials = Vec::new();
    let keys: BTreeSet<TrialKey> = rec.accelerometer.keys().copied().collect();
    for key in keys {
        let skeleton = rec.skeleton.remove(&key);
        if require_skeleton && skeleton.is_none() {
            rec.report
                .skipped_trials
                .push(format!("{key}: no skeleton recording"));
            continue;
        }
        let acc = &rec.accelerometer[&key];
        match assemble_trial(key, acc, rec.gyroscope.get(&key), skeleton, policy) {
            Ok(t) => trials.push(t),
            Err(why) => rec.report.skipped_trials.push(format!("{key}: {why}")),
        }
    }
    if trials.is_empty() {
        bail!(
            "no usable trial under {} ({})",
            root.display(),
            rec.report.summary()
        );
    }
    Ok((trials, rec.report))
}

/// Trials split into windows, with statistics fitted on training subjects.
pub struct Prepared {
    /// All trials (windows refer to them by index).
    pub trials: Vec<Trial>,
    /// The split used.
    pub split: Split,
    /// Training windows (class-aware strides).
    pub train: Vec<Window>,
    /// Validation windows (fixed stride).
    pub val: Vec<Window>,
    /// Test windows (fixed stride).
    pub test: Vec<Window>,
    /// Normalisation statistics of the training subjects.
    pub stats: NormStats,
    /// Loading report.
    pub report: LoadReport,
    /// Evaluation windows of the older adults scored by this run (`data.old_adults.test`).
    pub old_test: Vec<Window>,
    /// Evaluation windows of the validation older adults (`data.old_adults.val`): predicted for
    /// the operating threshold, never trained on.
    pub old_val: Vec<Window>,
}

/// Older adults' subject numbers are stored as this offset plus their own (old S01 is subject
/// 101), so that they never collide with the young subjects or generated data.
pub const OLD_SUBJECT_OFFSET: u16 = 100;

/// The older adults' daily-living recordings under `root/old/accelerometer/watch` (accelerometer
/// only, so the gyroscope is marked missing), subject numbers offset by [`OLD_SUBJECT_OFFSET`].
/// Empty when the folder is absent; duplicates dropped when `dedup`.
pub fn load_old_adults(root: &Path, dedup: bool) -> Result<(Vec<Trial>, LoadReport)> {
    let dir = root.join("old").join("accelerometer").join("watch");
    let mut report = LoadReport::default();
    if !dir.is_dir() {
        return Ok((vec![], report));
    }
    let accelerometer = imu_folder(&dir, &mut report)?;
    let mut rec = Recordings {
        accelerometer,
        gyroscope: BTreeMap::new(),
        skeleton: BTreeMap::new(),
        report,
    };
    if dedup {
        rec.drop_duplicates();
    }
    let mut trials = Vec::new();
    for (key, acc) in &rec.accelerometer {
        let key = TrialKey {
            subject: key.subject + OLD_SUBJECT_OFFSET,
            ..*key
        };
        match assemble_trial(key, acc, None, None, GyroPolicy::KeepMissing) {
            Ok(t) => trials.push(t),
            Err(why) => rec.report.skipped_trials.push(format!("{key}: {why}")),
        }
    }
    Ok((trials, rec.report))
}

/// Adds the older adults a run asks for: `data.old_adults.test` subjects as `old_test`
/// evaluation windows, `data.old_adults.val` subjects as `old_val` ones, and with `data.old_adults.train` every other older adult's windows to
/// the training windows (daily living only: extra negatives).
fn add_old_adults(p: &mut Prepared, cfg: &RunConfig, root: &Path) -> Result<()> {
    let o = &cfg.data.old_adults;
    if o.test.is_empty() && o.val.is_empty() && !o.train {
        return Ok(());
    }
    let (old, report) = load_old_adults(root, cfg.data.dedup)?;
    let old = without_lockbox(old, cfg);
    if old.is_empty() {
        bail!(
            "data.old_adults asks for older adults, but {} holds no old/accelerometer/watch/ recordings (tar -xzf smartfallmm-old-adl.tar.gz -C {}): {}",
            root.display(),
            root.display(),
            report.summary()
        );
    }
    for (what, list) in [("test", &o.test), ("val", &o.val)] {
        if let Some(s) = list
            .iter()
            .find(|&&s| !old.iter().any(|t| t.key.subject == s + OLD_SUBJECT_OFFSET))
        {
            bail!("data.old_adults.{what}: older adult S{s:02} has no usable recording");
        }
    }
    let base = p.trials.len();
    for (i, t) in old.iter().enumerate() {
        let own = t.key.subject - OLD_SUBJECT_OFFSET;
        if o.test.contains(&own) {
            p.old_test
                .extend(window_trial(base + i, t, &cfg.window, Purpose::Eval));
        } else if o.val.contains(&own) {
            p.old_val
                .extend(window_trial(base + i, t, &cfg.window, Purpose::Eval));
        } else if o.train {
            p.train
                .extend(window_trial(base + i, t, &cfg.window, Purpose::Train));
        }
    }
    p.trials.extend(old);
    Ok(())
}

/// The subjects of `trials`, and those of them with both fall and ADL trials (the only ones a
/// test or validation set can be made of).
pub fn subjects(trials: &[Trial]) -> (Vec<u16>, Vec<u16>) {
    let all: BTreeSet<u16> = trials.iter().map(|t| t.key.subject).collect();
    let both = all
        .iter()
        .copied()
        .filter(|&s| {
            let of = || trials.iter().filter(move |t| t.key.subject == s);
            of().any(|t| t.key.is_fall()) && of().any(|t| !t.key.is_fall())
        })
        .collect();
    (all.into_iter().collect(), both)
}

/// Resolves the configured split over the subjects present (`evaluable`: those with both
/// classes).
pub fn resolve_split(cfg: &RunConfig, subjects: &[u16], evaluable: &[u16]) -> Result<Split> {
    let s = &cfg.data.split;
    match s.kind {
        SplitKind::Loso => {
            let fold = s.fold.expect("validated");
            if subjects.contains(&fold) && !evaluable.contains(&fold) {
                bail!(
                    "data.split.fold: subject S{fold:02} has usable trials of one class only (no falls or no ADLs), so it cannot be a test subject; subjects with both: {:?}",
                    evaluable
                );
            }
            leave_one_subject_out(subjects, evaluable, cfg.seed)
                .into_iter()
                .find(|f| f.test == [fold])
                .with_context(|| {
                    format!("data.split.fold: subject S{fold:02} has no usable trials")
                })
        }
        SplitKind::Fixed => {
            let (val, test) = if s.val.is_empty() && s.test.is_empty() {
                // Automatic: the last subject tests, the one before validates.
                let n = subjects.len();
                if n < 3 {
                    bail!("need at least 3 subjects for an automatic split, found {n}");
                }
                (vec![subjects[n - 2]], vec![subjects[n - 1]])
            } else {
                (s.val.clone(), s.test.clone())
            };
            fixed_split(subjects, &val, &test).map_err(|e| anyhow::anyhow!("data.split: {e}"))
        }
    }
}

/// `trials` without the lockbox subjects' (young or older adults', their numbers offset by
/// [`OLD_SUBJECT_OFFSET`]) unless the run includes them (`data.lockbox`).
pub fn without_lockbox(trials: Vec<Trial>, cfg: &RunConfig) -> Vec<Trial> {
    if cfg.data.lockbox == LockboxPolicy::Include {
        return trials;
    }
    trials
        .into_iter()
        .filter(|t| {
            let s = t.key.subject;
            if s > OLD_SUBJECT_OFFSET {
                !lockbox::is_old(s - OLD_SUBJECT_OFFSET)
            } else {
                !lockbox::is_young(s)
            }
        })
        .collect()
}

/// Loads (or generates), splits, windows and fits statistics.
pub fn prepare(cfg: &RunConfig, root: &Path) -> Result<Prepared> {
    let (trials, report) = load_trials(root, cfg.data.gyro, true, cfg.data.dedup)?;
    let mut trials = without_lockbox(trials, cfg);
    let (subjects, evaluable) = subjects(&trials);
    let split = resolve_split(cfg, &subjects, &evaluable)?;
    // The training subjects' recordings as loaded, for the copies below.
    let training: Vec<Trial> = if cfg.train.hard_negatives > 0 || cfg.train.cut_copies > 0 {
        trials
            .iter()
            .filter(|t| split.train.contains(&t.key.subject))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    if cfg.train.hard_negatives > 0 {
        trials.extend(hard_negatives(
            &training,
            cfg.train.hard_negatives,
            cfg.seed,
        ));
    }
    if cfg.train.cut_copies > 0 {
        trials.extend(cut_copies(&training, cfg.train.cut_copies, cfg.seed));
    }
    let mut p = prepare_split(trials, split, &cfg.window, report);
    add_old_adults(&mut p, cfg, root)?;
    let axes = cfg.student.axes;
    p.stats.axes = axes;
    if axes != Axes::Device {
        // The IMU statistics of the events as the student reads them: in the run's frame.
        let framed: Vec<Vec<Event>> = p
            .train
            .iter()
            .map(|w| events_in(&EventWindow::from(w), axes).into_owned())
            .collect();
        let fitted = NormStats::fit(framed.iter().flatten(), std::iter::empty());
        p.stats.imu_mean = fitted.imu_mean;
        p.stats.imu_std = fitted.imu_std;
    }
    if cfg.student.model.window_features {
        // The window-feature path's scaling, from the training windows (older adults' included
        // when they train) as the model will see them.
        let rows: Vec<_> = p
            .train
            .iter()
            .map(|w| window_feature_row_in(&EventWindow::from(w), axes))
            .collect();
        p.stats.features = Some(FeatureStats::fit(rows.iter().map(|r| &r[..])));
    }
    if cfg.student.model.magnitude_channels {
        // The magnitude channels' scaling, from the training windows' events likewise.
        p.stats.magnitude = Some(MagnitudeStats::fit(
            p.train.iter().flat_map(|w| w.events.iter()),
        ));
    }
    Ok(p)
}

/// The data a prepared run trains and validates on, hashed: the young subjects of the split's
/// training and validation sets (hard negatives written into them included), the older adults
/// that train or validate. Test subjects are not part of it.
pub fn data_origin(p: &Prepared, cfg: &RunConfig) -> DataOrigin {
    let o = &cfg.data.old_adults;
    // An older adult's own number (S01 for subject 101); None for a young subject.
    let old_own = |t: &Trial| {
        (t.key.subject > OLD_SUBJECT_OFFSET).then(|| t.key.subject - OLD_SUBJECT_OFFSET)
    };
    let uses = |t: &Trial| match old_own(t) {
        Some(own) => o.val.contains(&own) || (o.train && !o.test.contains(&own)),
        None => p.split.train.contains(&t.key.subject) || p.split.val.contains(&t.key.subject),
    };
    let mut used: Vec<(String, &Trial)> = p
        .trials
        .iter()
        .filter(|t| uses(t))
        .map(|t| (t.key.to_string(), t))
        .collect();
    used.sort_by(|a, b| a.0.cmp(&b.0));
    let mut hasher = DataHasher::default();
    let mut old = BTreeSet::new();
    for (name, t) in &used {
        hasher.add(name, t.gyro_missing, &t.timestamps, &t.events);
        old.extend(old_own(t));
    }
    let (sha256, recordings) = hasher.finish();
    DataOrigin {
        sha256,
        recordings,
        train_subjects: p.split.train.clone(),
        val_subjects: p.split.val.clone(),
        old_adults: old.into_iter().collect(),
        source: cfg.data.root.as_ref().map_or("generated data".into(), |r| {
            let lockbox = match cfg.data.lockbox {
                LockboxPolicy::Exclude => "lockbox excluded",
                LockboxPolicy::Include => "lockbox included",
            };
            format!("{} ({lockbox})", r.display())
        }),
    }
}

/// Windows and statistics for one split of loaded trials.
pub fn prepare_split(
    trials: Vec<Trial>,
    split: Split,
    window: &WindowConfig,
    report: LoadReport,
) -> Prepared {
    let pick = |subjects: &[u16], purpose| {
        let mut w = window_trials(&trials, window, purpose);
        w.retain(|w| subjects.contains(&w.key.subject));
        w
    };
    let train = pick(&split.train, Purpose::Train);
    let val = pick(&split.val, Purpose::Eval);
    let test = pick(&split.test, Purpose::Eval);
    let stats = NormStats::fit(
        trials
            .iter()
            .filter(|t| split.train.contains(&t.key.subject))
            .flat_map(|t| t.events.iter()),
        trials
            .iter()
            .filter(|t| split.train.contains(&t.key.subject))
            .flat_map(|t| t.skeleton.iter().flatten()),
    );
    Prepared {
        trials,
        split,
        train,
        val,
        test,
        stats,
        report,
        old_test: vec![],
        old_val: vec![],
    }
}

/// The dataset root of a run: the configured one, or generated data under `runs_root/generated`
/// (created once per seed and size).
pub fn data_root(cfg: &RunConfig, runs_root: &Path) -> Result<PathBuf> {
    if let Some(r) = &cfg.data.root {
        return Ok(r.clone());
    }
    let dir = runs_root.join(format!(
        "generated-s{}-n{}x{}",
        cfg.seed, cfg.data.synth_subjects, cfg.data.synth_trials
    ));
    if !dir.join("young").is_dir() {
        write_dataset(
            &dir,
            cfg.data.synth_subjects,
            cfg.data.synth_trials,
            cfg.seed,
        )?;
    }
    Ok(dir)
}

/// Writes the dataset under `dir` (creating `dir/young/...`); returns the file count.
pub fn write_dataset(dir: &Path, subjects: u16, trials: u16, seed: u64) -> Result<usize> {
    let files = fallkd_core::synth::generate(&fallkd_core::synth::SynthConfig {
        subjects,
        trials,
        seed,
        subject_without_gyro: true,
    });
    for (rel, text) in &files {
        crate::checkpoint::write_atomic(&dir.join(rel), text.as_bytes())?;
    }
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(subject: u16) -> Trial {
        Trial {
            key: TrialKey {
                subject,
                activity: 1,
                trial: 1,
            },
            events: vec![],
            timestamps: vec![],
            gyro_missing: false,
            skeleton: None,
        }
    }

    #[test]
    fn the_lockbox_is_dropped_unless_included() {
        // Young S31 and S44, old S01 (101) and S09 (109) are in the lockbox.
        let all = || [30, 31, 44, 101, 102, 109].map(trial).to_vec();
        let mut cfg = RunConfig::default();
        let kept: Vec<u16> = without_lockbox(all(), &cfg)
            .iter()
            .map(|t| t.key.subject)
            .collect();
        assert_eq!(kept, [30, 102]);
        cfg.data.lockbox = LockboxPolicy::Include;
        assert_eq!(without_lockbox(all(), &cfg).len(), 6);
    }
}
