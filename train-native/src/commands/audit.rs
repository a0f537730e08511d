//! `fallkd analyze-timestamps --data-root DIR`: the watch timestamp audit.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use fallkd_core::data::audit::{AuditRow, IntervalStats, PairStats};

use crate::checkpoint::write_atomic;
use crate::dataset::{LoadReport, read_recordings};

/// Per-subject rows and the overall row, over the recordings left once identical copies are
/// dropped (`Recordings::drop_duplicates`: each copy is listed in the loading report's
/// `duplicates`), and the loading report.
pub fn audit(root: &Path) -> Result<(Vec<AuditRow>, AuditRow, LoadReport)> {
    let mut rec = read_recordings(root, false)?;
    rec.drop_duplicates();
    let mut rows: BTreeMap<u16, AuditRow> = BTreeMap::new();
    for (key, r) in &rec.accelerometer {
        let row = rows.entry(key.subject).or_insert_with(|| AuditRow {
            name: format!("S{:02}", key.subject),
            ..Default::default()
        });
        row.accelerometer
            .add(&IntervalStats::of(&key.to_string(), &r.timestamps));
        if let Some(g) = rec.gyroscope.get(key) {
            let mut p = PairStats::default();
            p.add_trial(&r.timestamps, &g.timestamps);
            row.pairs.add(&p);
        }
    }
    for (key, r) in &rec.gyroscope {
        let row = rows.entry(key.subject).or_insert_with(|| AuditRow {
            name: format!("S{:02}", key.subject),
            ..Default::default()
        });
        row.gyroscope
            .add(&IntervalStats::of(&key.to_string(), &r.timestamps));
    }
    let mut overall = AuditRow {
        name: "overall".into(),
        ..Default::default()
    };
    for r in rows.values() {
        overall.add(r);
    }
    Ok((rows.into_values().collect(), overall, rec.report))
}

fn line(name: &str, s: &IntervalStats) -> String {
    format!(
        "{:<8} {:>6} {:>9} {:>7.2}% {:>7.2}% {:>8} {:>6} {:>10.2} {:>8.1}",
        name,
        s.files,
        s.samples,
        100.0 * s.duplicate_fraction(),
        100.0 * s.backwards_fraction(),
        s.gaps_over_100ms,
        s.gaps_over_1s,
        s.largest_gap_s,
        s.effective_rate_hz()
    )
}

/// Runs the audit, prints it, writes `json_out`.
pub fn run(root: &Path, json_out: &Path) -> Result<()> {
    let (rows, overall, report) = audit(root)?;
    let load = report.summary();
    println!("Timestamp audit of {} ({load})", root.display());
    if !report.duplicates.is_empty() {
        println!(
            "\nidentical recordings dropped before the audit ({}):",
            report.duplicates.len()
        );
        for d in &report.duplicates {
            println!("  {d}");
        }
    }
    for (title, pick) in [("watch accelerometer", 0), ("watch gyroscope", 1)] {
        println!("\n{title}");
        println!(
            "{:<8} {:>6} {:>9} {:>8} {:>8} {:>8} {:>6} {:>10} {:>8}",
            "subject", "files", "samples", "dup", "back", ">0.1s", ">1s", "max gap s", "rate Hz"
        );
        for r in rows.iter().chain(std::iter::once(&overall)) {
            let s = if pick == 0 {
                &r.accelerometer
            } else {
                &r.gyroscope
            };
            if s.files > 0 || r.name == "overall" {
                println!("{}", line(&r.name, s));
            }
        }
    }
    println!("\naccelerometer vs gyroscope (trials with both)");
    println!(
        "{:<8} {:>7} {:>14} {:>16} {:>15}",
        "subject", "trials", "rows differ", "mean |offset| s", "max |offset| s"
    );
    for r in rows.iter().chain(std::iter::once(&overall)) {
        if r.pairs.trials > 0 {
            println!(
                "{:<8} {:>7} {:>14} {:>16.3} {:>15.3}",
                r.name,
                r.pairs.trials,
                r.pairs.row_count_mismatch,
                r.pairs.mean_abs_start_offset_s,
                r.pairs.max_abs_start_offset_s
            );
        }
    }
    let a = &overall.accelerometer;
    println!(
        "\noverall: accelerometer duplicates {:.1}%, backwards {:.2}%, files with a gap over 1 s {}/{}, largest gap {:.0} s ({})",
        100.0 * a.duplicate_fraction(),
        100.0 * a.backwards_fraction(),
        a.files_with_gap_over_1s,
        a.files,
        a.largest_gap_s,
        a.largest_gap_file
    );
    let json = serde_json::json!({ "data_root": root, "loading": load, "duplicates_dropped": report.duplicates, "subjects": rows, "overall": overall });
    write_atomic(json_out, &serde_json::to_vec_pretty(&json)?)?;
    println!("written {}", json_out.display());
    Ok(())
}

/// `fallkd analyze-timestamps`: audit watch timestamps.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// SmartFallMM root.
    #[arg(long)]
    pub data_root: std::path::PathBuf,
    /// JSON output.
    #[arg(long, default_value = "timestamp_audit.json")]
    pub json: std::path::PathBuf,
}

/// Runs `fallkd analyze-timestamps`.
pub fn cli(a: &Args) -> Result<()> {
    run(&a.data_root, &a.json)
}
