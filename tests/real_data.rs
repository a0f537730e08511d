//! Tests on the real SmartFallMM recordings. They need `FALLKD_SMARTFALLMM` pointing at the
//! unpacked archive (the folder holding `young/`); `.ci/run` sets it. Without it they print a
//! loud notice and return.

use std::path::{Path, PathBuf};

use fallkd_core::data::trial::GyroPolicy;
use fallkd_train::dataset::{Layout, load_trials, read_recordings};

fn root() -> Option<PathBuf> {
    // Written to the stderr handle directly: the test harness captures eprintln! of passing tests.
    let notice = |why: &str| {
        use std::io::Write;
        let bar = "!".repeat(78);
        let _ = writeln!(
            std::io::stderr().lock(),
            "\n{bar}\n!! SKIPPING REAL-DATA TEST: {why}\n!! Unpack ../shared/smartfallmm/smartfallmm-young.tar.gz into data/ and set\n!! FALLKD_SMARTFALLMM=data (see README, \"Real data\").\n{bar}\n"
        );
    };
    match std::env::var_os("FALLKD_SMARTFALLMM") {
        None => {
            notice("FALLKD_SMARTFALLMM is not set");
            None
        }
        Some(p) => {
            let p = PathBuf::from(p);
            if Layout::find(&p).is_ok() {
                Some(p)
            } else {
                notice(&format!(
                    "FALLKD_SMARTFALLMM={} holds no young/accelerometer/watch",
                    p.display()
                ));
                None
            }
        }
    }
}

fn count_csv(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "csv"))
            .count()
    })
}

#[test]
fn every_file_loads_or_is_rejected_with_a_reason() {
    let Some(root) = root() else { return };
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
fn trial_assembly_matches_the_documented_counts() {
    let Some(root) = root() else { return };
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
fn timestamp_audit_reproduces_the_known_pathologies() {
    let Some(root) = root() else { return };
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
