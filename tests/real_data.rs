//! Tests on the real SmartFallMM recordings. They need `FALLKD_SMARTFALLMM` pointing at the
//! unpacked archives (the folder holding `young/` and `old/`); `.ci/run` sets it. They are
//! `#[ignore]`d, so a plain `cargo test` lists them as ignored rather than passed;
//! `scripts/test.sh` runs them with `--include-ignored` when the variable is set, and run that
//! way without the data they fail with the reason.

use std::path::{Path, PathBuf};

use fallkd_core::data::trial::GyroPolicy;
use fallkd_train::dataset::{
    Layout, OLD_SUBJECT_OFFSET, load_old_adults, load_trials, read_recordings,
};

/// The data root; panics with the reason when it is missing (these tests are ignored unless
/// asked for, and asked for they must not pass without data).
fn root() -> PathBuf {
    let p = PathBuf::from(std::env::var_os("FALLKD_SMARTFALLMM").unwrap_or_else(|| {
        panic!(
            "FALLKD_SMARTFALLMM is not set. Unpack ../shared/smartfallmm/*.tar.gz into data/ and set FALLKD_SMARTFALLMM=data (docs/data.md, \"Real data\")"
        )
    }));
    assert!(
        Layout::find(&p).is_ok(),
        "FALLKD_SMARTFALLMM={} holds no young/accelerometer/watch",
        p.display()
    );
    p
}

fn count_csv(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "csv"))
            .count()
    })
}

#[test]
#[ignore = "needs the real data: FALLKD_SMARTFALLMM"]
fn every_file_loads_or_is_rejected_with_a_reason() {
    let root = root();
    let layout = Layout::find(&root).unwrap();
    let on_disk = count_csv(&layout.skeleton)
        + count_csv(&layout.accelerometer)
        + count_csv(&layout.gyroscope);
    assert_eq!(on_disk, 1887, "the shipped archive has 1,887 CSV files");
    let rec = read_recordings(&root, true).unwrap();
    let r = &rec.report;
    assert_eq!(
        r.loaded_files + r.rejected_files.len(),
        on_disk,
        "{}",
        r.summary()
    );
    eprintln!("{}", r.summary());
    for why in &r.rejected_files {
        // Every rejection names a file and a reason.
        assert!(why.contains(".csv") && why.contains(": "), "{why}");
        eprintln!("rejected: {why}");
    }
    // The known defects: header-only gyroscope files are rejected, duplicate-column mangles fixed.
    assert!(
        r.rejected_files
            .iter()
            .any(|w| w.contains("S30A05T01.csv") && w.contains("only a header"))
    );
    assert!(r.repairs[1] >= 9, "{}", r.summary());
    assert_eq!(rec.skeleton.len(), 751);
}

#[test]
#[ignore = "needs the real data: FALLKD_SMARTFALLMM"]
fn trial_assembly_matches_the_documented_counts() {
    let root = root();
    let (dropped, report) = load_trials(&root, GyroPolicy::Drop, true, false).unwrap();
    let falls = dropped.iter().filter(|t| t.is_fall()).count();
    // 414 trials have skeleton, accelerometer and a gyroscope file with data (176 falls); in four
    // of them the gyroscope stops before the accelerometer starts, so nothing can be merged.
    let no_overlap: Vec<&String> = report
        .skipped_trials
        .iter()
        .filter(|s| s.contains("do not overlap"))
        .collect();
    assert_eq!(no_overlap.len(), 4, "{no_overlap:?}");
    for k in ["S30A06T02", "S34A09T04", "S39A07T02", "S39A11T02"] {
        assert!(
            no_overlap.iter().any(|s| s.starts_with(k)),
            "{k} not reported"
        );
    }
    assert_eq!(
        (dropped.len(), falls),
        (414 - 4, 176 - 1),
        "skeleton + accelerometer + usable gyroscope"
    );
    let (kept, _) = load_trials(&root, GyroPolicy::KeepMissing, true, false).unwrap();
    assert_eq!(kept.len(), 512, "skeleton + accelerometer");
    assert!(kept.iter().any(|t| t.gyro_missing && t.key.subject == 32));
    for t in &kept {
        assert!(
            t.timestamps.windows(2).all(|w| w[0] <= w[1]),
            "{} unsorted",
            t.key
        );
        assert!(t.events.iter().flatten().all(|v| v.is_finite()));
    }
}

#[test]
#[ignore = "needs the real data: FALLKD_SMARTFALLMM"]
fn timestamp_audit_reproduces_the_known_pathologies() {
    let root = root();
    let (_, overall, _) = fallkd_train::commands::audit::audit(&root).unwrap();
    let a = &overall.accelerometer;
    assert!(
        (0.15..0.20).contains(&a.duplicate_fraction()),
        "duplicates {}",
        a.duplicate_fraction()
    );
    assert!(
        (1400.0..1600.0).contains(&a.largest_gap_s),
        "largest gap {}",
        a.largest_gap_s
    );
    assert!(a.largest_gap_file.contains("S44A08T02"));
    assert!((0.002..0.008).contains(&a.backwards_fraction()));
}

#[test]
#[ignore = "needs the real data: FALLKD_SMARTFALLMM"]
fn identical_recordings_are_dropped_one_copy_kept() {
    let root = root();
    let (all, _) = load_trials(&root, GyroPolicy::Drop, true, false).unwrap();
    let (kept, report) = load_trials(&root, GyroPolicy::Drop, true, true).unwrap();
    let has =
        |v: &[fallkd_core::data::trial::Trial], k: &str| v.iter().any(|t| t.key.to_string() == k);
    // S46A01-A06 are one recording filed as 30 ADL trials: one kept, the first name with a
    // skeleton recording (S46A01T01 has none).
    assert!(has(&kept, "S46A01T02") && !has(&kept, "S46A02T01") && !has(&kept, "S46A06T05"));
    // S45A10T13-T14 and S45A11-A14: one fall recording filed 22 times; S45A10T13 and T14 have
    // no skeleton, so the first copy with one is kept.
    assert!(has(&kept, "S45A11T01") && !has(&kept, "S45A14T05"));
    for d in [
        "S46A02T01: the same watch recording as S46A01T02",
        "S46A01T01: the same watch recording as S46A01T02",
        "S45A10T13: the same watch recording as S45A11T01",
    ] {
        assert!(
            report.duplicates.iter().any(|x| x.starts_with(d)),
            "{d} not reported"
        );
    }
    assert!(
        all.len() - kept.len() >= 60,
        "{} of {}",
        kept.len(),
        all.len()
    );
    assert!(report.duplicates.len() >= 70, "{}", report.duplicates.len());
    // No two kept trials share their watch samples.
    let mut seen = std::collections::HashSet::new();
    for t in &kept {
        let bits: Vec<u32> = t.events.iter().flatten().map(|x| x.to_bits()).collect();
        assert!(seen.insert(bits), "{} duplicates another kept trial", t.key);
    }
    let (_, _, audit) = fallkd_train::commands::audit::audit(&root).unwrap();
    assert_eq!(audit.duplicates.len(), report.duplicates.len());
}

#[test]
#[ignore = "needs the real data: FALLKD_SMARTFALLMM"]
fn older_adults_load_as_accelerometer_only_daily_living() {
    let root = root();
    let (old, report) = load_old_adults(&root, true).unwrap();
    assert!(old.len() >= 250, "{} ({})", old.len(), report.summary());
    let subjects: std::collections::BTreeSet<u16> = old.iter().map(|t| t.key.subject).collect();
    assert_eq!(subjects.len(), 11);
    assert!(
        subjects
            .iter()
            .all(|s| (OLD_SUBJECT_OFFSET + 1..=OLD_SUBJECT_OFFSET + 11).contains(s))
    );
    assert!(
        old.iter()
            .all(|t| t.gyro_missing && !t.is_fall() && t.skeleton.is_none())
    );
}

/// How often live mode's phone-in-pocket note (`fallkd_core::wear`) fires on the archive's watch
/// recordings, worn on the wrist: on 10 s stretches (5 s apart; a shorter recording is one
/// stretch), by group. A guard written before the rule was run on the data: at most 10 % of the
/// stretches of each group. Printed for docs/browser.md.
#[test]
#[ignore = "needs the real data: FALLKD_SMARTFALLMM"]
fn the_pocket_note_rarely_fires_on_a_wrist() {
    use fallkd_core::wear::{PocketRule, wear};
    let root = root();
    let (young, _) = load_trials(&root, GyroPolicy::KeepMissing, false, true).unwrap();
    let (old, _) = load_old_adults(&root, true).unwrap();
    let rule = PocketRule::default();
    let mut groups: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for t in young.iter().chain(&old) {
        let group = if t.key.subject > OLD_SUBJECT_OFFSET {
            "older adults' daily living"
        } else if t.is_fall() {
            "young, falls"
        } else if t.key.activity == 8 {
            "young, walking"
        } else {
            "young, other daily living"
        };
        let acc: Vec<[f32; 3]> = t.events.iter().map(|e| [e[0], e[1], e[2]]).collect();
        let end = t.timestamps.last().copied().unwrap_or(0.0);
        let mut start = 0.0;
        loop {
            let idx: Vec<usize> = (0..acc.len())
                .filter(|&i| t.timestamps[i] >= start && t.timestamps[i] < start + 10.0)
                .collect();
            let ts: Vec<f64> = idx.iter().map(|&i| t.timestamps[i]).collect();
            if let Some(w) = wear(&idx.iter().map(|&i| acc[i]).collect::<Vec<_>>(), &ts, &rule) {
                let g = groups.entry(group).or_default();
                g.0 += 1;
                g.1 += usize::from(w.pocket);
            }
            start += 5.0;
            if start + 10.0 > end {
                break;
            }
        }
    }
    for (group, (n, pocket)) in &groups {
        println!(
            "pocket note on the wrist: {group}: {pocket} of {n} stretches ({:.1} %)",
            100.0 * *pocket as f64 / *n as f64
        );
    }
    for (group, (n, pocket)) in &groups {
        assert!(
            *pocket as f64 <= 0.10 * *n as f64,
            "{group}: the pocket note fires on {pocket} of {n} wrist stretches"
        );
    }
    assert_eq!(groups.len(), 4, "{groups:?}");
}
