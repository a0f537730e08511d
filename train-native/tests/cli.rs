//! The `fallkd` binary end to end on a tiny generated dataset: `fallkd loso` trains every fold's
//! runs as child processes, the non-KD rows really train without KD, a `--kd-row` gets its
//! overrides, the report averages the folds, and a second call keeps the finished runs. (Here rather than in the root `tests/`:
//! only this package's tests can name the binary through `CARGO_BIN_EXE_fallkd`.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fallkd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fallkd"))
}

/// The command's standard output, after asserting that it succeeded (its standard error shown
/// otherwise).
fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The command's standard error, after asserting that it failed and named each of `needles`.
fn refused(o: &Output, needles: &[&str]) -> String {
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "it succeeded: {e}");
    for n in needles {
        assert!(e.contains(n), "no `{n}` in: {e}");
    }
    e
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fallkd-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const TINY: &[&str] = &[
    "data.skeleton_frames=32",
    "teacher={embed_dim: 32, num_layers: 1, num_heads: 2, dropout: 0.1, use_pos_enc: true, max_len: 64}",
    "student={embed_dim: 16, num_tokens: 16, num_heads: 2, num_layers: 1, dropout: 0.0}",
    "train={epochs: 1, batch_size: 16, lr: 0.003, warmup_epochs: 0.5, patience: 10, max_batches_per_epoch: 3}",
    "window.max_events=96",
];

/// `fallkd loso` over folds S01 and S03, seed 7, the tiny models, with `rows` and `extra` flags.
fn loso_rows(data: &Path, out: &Path, rows: &str, extra: &[&str]) -> std::process::Output {
    let mut c = fallkd();
    c.arg("loso")
        .arg("--data-root")
        .arg(data)
        .arg("--out")
        .arg(out)
        .args(["--folds", "1,3", "--seeds", "7", "--rows", rows])
        .args(extra);
    for s in TINY {
        c.arg("--set").arg(s);
    }
    c.output().unwrap()
}

fn loso(data: &Path, out: &Path) -> std::process::Output {
    loso_rows(
        data,
        out,
        "teacher,student-nokd,student-kd,baseline-fixed-rate,features-gbm,peak-rule",
        &[
            "--kd-row",
            "student-kd-l8=student.num_tokens=8;kd.weights.gram=0",
            "--parallel",
            "2",
        ],
    )
}

/// Four generated subjects, one trial per activity, under `data`.
fn generate(data: &Path) {
    let st = fallkd()
        .args([
            "generate",
            "--subjects",
            "4",
            "--trials",
            "1",
            "--seed",
            "3",
            "--out",
        ])
        .arg(data)
        .status()
        .unwrap();
    assert!(st.success());
}

/// The `row K of N` items of the report line that starts with `prefix`.
fn counts_after(md: &str, prefix: &str) -> Vec<(String, usize, usize)> {
    let line = md
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in:\n{md}"));
    line.trim_end_matches('.')
        .split("; ")
        .map(|item| {
            let w: Vec<&str> = item.split_whitespace().collect();
            assert!(w.len() >= 4 && w[2] == "of", "{item:?}");
            (
                w[0].to_string(),
                w[1].parse().unwrap(),
                w[3].parse().unwrap(),
            )
        })
        .collect()
}

fn kd_enabled(run: &Path) -> bool {
    let cfg = std::fs::read_to_string(run.join("config.yaml")).unwrap();
    let kd = &cfg[cfg.find("\nkd:").expect("kd section")..];
    let line = kd
        .lines()
        .find(|l| l.trim_start().starts_with("enabled:"))
        .unwrap();
    line.trim().ends_with("true")
}

#[test]
fn loso_trains_every_fold_reports_and_keeps_finished_runs() {
    let dir = scratch("loso");
    let data = dir.join("data");
    generate(&data);
    let out = dir.join("loso");
    let o = loso(&data, &out);
    ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);

    for fold in ["S01", "S03"] {
        let f = out.join("seed7").join(fold);
        for run in [
            "teacher",
            "student-nokd",
            "student-kd",
            "baseline-fixed-rate",
            "features-gbm",
            "peak-rule",
        ] {
            assert!(
                f.join(run).join("metrics.json").is_file(),
                "{fold}/{run} did not finish: {err}"
            );
            // Every run leaves its window predictions for the wearer-level report.
            let preds = std::fs::read_to_string(f.join(run).join("predictions.csv")).unwrap();
            assert!(
                preds.lines().any(|l| l.starts_with("test,")),
                "{fold}/{run}"
            );
            assert!(preds.lines().any(|l| l.starts_with("val,")), "{fold}/{run}");
        }
        let seed = std::fs::read_to_string(f.join("student-kd/config.yaml")).unwrap();
        assert!(seed.starts_with("seed: 7"), "{seed}");
        assert!(
            !kd_enabled(&f.join("student-nokd")),
            "{fold}: nokd distilled"
        );
        assert!(
            !kd_enabled(&f.join("baseline-fixed-rate")),
            "{fold}: baseline distilled"
        );
        assert!(kd_enabled(&f.join("student-kd")));
        let cfg = std::fs::read_to_string(f.join("student-kd/config.yaml")).unwrap();
        assert!(
            cfg.contains(&format!("seed7/{fold}/teacher")),
            "{fold}: the KD student must distil from its own fold's teacher:\n{cfg}"
        );
        let extra = std::fs::read_to_string(f.join("student-kd-l8/config.yaml")).unwrap();
        assert!(
            kd_enabled(&f.join("student-kd-l8"))
                && extra.contains("num_tokens: 8")
                && extra.contains(&format!("{fold}/teacher")),
            "{fold}: --kd-row not applied:\n{extra}"
        );
        let m = std::fs::read_to_string(f.join("student-kd/metrics.json")).unwrap();
        let want = format!("\"test\": [\n      {}", fold[1..].trim_start_matches('0'));
        assert!(
            m.contains(&want),
            "{fold}: test subject not the fold's:\n{m}"
        );
    }
    let csv = std::fs::read_to_string(out.join("loso.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 7, "{csv}");
    let md = std::fs::read_to_string(out.join("loso.md")).unwrap();
    let row = md
        .lines()
        .find(|l| l.starts_with("| student-kd |"))
        .expect("student-kd row");
    assert!(row.contains("| 2 |") && row.contains("+-"), "{row}");
    // The wearer-level tables: recordings, the reference rows, and KD against no KD.
    for want in [
        "## As a wearer feels it",
        "### Recordings",
        "| features-gbm | 2 |",
        "| student-kd | student-nokd | window F1 (operating point) |",
        "| student-kd | features-gbm |",
    ] {
        assert!(md.contains(want), "{want} missing:\n{md}");
    }

    // Again: nothing retrains.
    let stamp = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let before = stamp(&out.join("seed7/S01/student-kd/metrics.json"));
    let o = loso(&data, &out);
    ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("14 of 14 runs already finished"), "{err}");
    assert_eq!(
        before,
        stamp(&out.join("seed7/S01/student-kd/metrics.json"))
    );

    // An ensemble row from finished runs (nothing trains), and one naming a row the study lacks.
    let report = |ensemble: &str, choice: &str| {
        loso_rows(
            &data,
            &out,
            "teacher,student-kd,features-gbm",
            &[
                "--report-only",
                "--ensemble",
                ensemble,
                "--threshold-rule",
                "margin",
                "--threshold-choice",
                choice,
            ],
        )
    };
    let o = report("mix=student-kd+features-gbm", "val-f1");
    ok(&o);
    let md = std::fs::read_to_string(out.join("loso.md")).unwrap();
    let row = md
        .lines()
        .find(|l| l.starts_with("| mix | 2 |"))
        .unwrap_or_else(|| panic!("no ensemble row with 2 runs:\n{md}"));
    assert!(row.contains("+-"), "{row}");
    assert!(md.contains("(the margin rule: same validation F1)"), "{md}");
    // The nested threshold choice names what it took for every row, the ensemble's too.
    let o = report("mix=student-kd+features-gbm", "nested");
    ok(&o);
    let md = std::fs::read_to_string(out.join("loso.md")).unwrap();
    assert!(
        md.contains("scored at the threshold found on the other validation subjects (nested"),
        "{md}"
    );
    let picks = counts_after(
        &md,
        "The nested choice took the validation-F1 threshold (else 0.5) in: ",
    );
    assert!(
        ["teacher", "student-kd", "features-gbm", "mix"]
            .iter()
            .all(|r| picks.iter().any(|(row, _, n)| row == r && *n == 2)),
        "{picks:?}"
    );
    let o = report("mix=student-kd+student-nokd-absent", "val-f1");
    refused(&o, &["student-nokd-absent is not a row"]);

    // A wrong fold is refused with the usable subjects named.
    let o = fallkd()
        .arg("loso")
        .arg("--data-root")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .args(["--folds", "9"])
        .output()
        .unwrap();
    refused(
        &o,
        &["subject S09 has no usable trials", "ADLs: S01 S02 S03"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn loso_holds_validation_older_adults_out_and_budgets_their_alarms() {
    let dir = scratch("loso-old-val");
    let data = dir.join("data");
    generate(&data);
    // Three "older adults": generated subjects' ADL accelerometer recordings filed under old/.
    let young = data.join("young/accelerometer/watch");
    let old = data.join("old/accelerometer/watch");
    std::fs::create_dir_all(&old).unwrap();
    for (k, young_subject) in [(1, "S01"), (2, "S02"), (3, "S04")] {
        for a in 1..=4 {
            let from = young.join(format!("{young_subject}A{a:02}T01.csv"));
            std::fs::copy(&from, old.join(format!("S{k:02}A{a:02}T01.csv")))
                .unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        }
    }
    let out = dir.join("loso");
    // Old S01 is a lockbox subject of the real archive (results/lockbox/RULE.md): these generated
    // older adults keep their numbers only with the lockbox included.
    let run = |extra: &[&str]| {
        let extra: Vec<&str> = extra
            .iter()
            .copied()
            .chain(["--set", "data.lockbox=include"])
            .collect();
        loso_rows(&data, &out, "features-gbm-wearer,peak-rule", &extra)
    };
    let o = run(&["--old-adult-val"]);
    ok(&o);
    // Fold S01 (first) tests older adults 1 and 3, validates on 2; fold S03 the other way.
    let cfg =
        std::fs::read_to_string(out.join("seed7/S01/features-gbm-wearer/config.yaml")).unwrap();
    assert!(
        cfg.contains("test:\n    - 1\n    - 3") && cfg.contains("val:\n    - 2"),
        "{cfg}"
    );
    let preds =
        std::fs::read_to_string(out.join("seed7/S01/features-gbm-wearer/predictions.csv")).unwrap();
    assert!(
        preds.lines().any(|l| l.starts_with("old-val,102,")),
        "no validation older adult predictions"
    );
    assert!(
        !preds
            .lines()
            .any(|l| l.starts_with("old-val,101,") || l.starts_with("old,102,"))
    );
    // The budget: 0 % raises every run whose pool holds an alarming validation recording; the
    // report says so. Out of range: refused.
    let o = run(&["--report-only", "--old-alarm-budget", "0"]);
    ok(&o);
    let md = std::fs::read_to_string(out.join("loso.md")).unwrap();
    assert!(
        md.contains("until at most 0.0 % of the validation older adults' recordings alarm"),
        "{md}"
    );
    // A 0 % budget leaves no validation older adult's recording alarming: it raises a threshold
    // somewhere (here one fold of each row), and every run was checked against it.
    let raised = counts_after(
        &md,
        "The older-adult alarm budget raised the threshold in: ",
    );
    assert!(
        raised.iter().any(|(_, k, _)| *k > 0) && raised.iter().all(|(_, _, n)| *n == 2),
        "{raised:?}\n{md}"
    );
    assert!(
        !md.contains("no validation older adult to apply it to"),
        "{md}"
    );
    let o = run(&["--report-only", "--old-alarm-budget", "1.5"]);
    refused(&o, &["--old-alarm-budget must lie in [0, 1]"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn predict_scores_a_folder_and_counts_read_repaired_refused() {
    let dir = scratch("predict-dir");
    let (acc, gyro) = (dir.join("accelerometer/watch"), dir.join("gyroscope/watch"));
    std::fs::create_dir_all(&acc).unwrap();
    std::fs::create_dir_all(&gyro).unwrap();
    let csv = |n: usize, z: f64| {
        (0..n)
            .map(|i| {
                let t = i as f64 * 0.025;
                format!(
                    "2022-08-04 12:{:02}:{:06.3},0.1,{z},0.3\n",
                    (t / 60.0) as u32,
                    t % 60.0
                )
            })
            .collect::<String>()
    };
    std::fs::write(acc.join("a-good.csv"), csv(400, -9.8)).unwrap();
    std::fs::write(gyro.join("a-good.csv"), csv(400, 0.1)).unwrap();
    // A header-only gyroscope beside a good accelerometer: read without it, with a note.
    std::fs::write(acc.join("b-gyro-broken.csv"), csv(400, -9.8)).unwrap();
    std::fs::write(gyro.join("b-gyro-broken.csv"), "timestamp,x,y,z\n").unwrap();
    // An unreadable accelerometer line: refused with file, line and reason; the rest go on.
    let mut bad = csv(50, -9.8);
    bad.push_str("2022-08-04 12:00:99.000,1,2,3\n");
    std::fs::write(acc.join("c-broken.csv"), bad).unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/assets/student.fallkd");
    let out = fallkd()
        .args(["predict", "--model"])
        .arg(&model)
        .arg("--dir")
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = ok(&out);
    assert!(
        stdout.contains("3 recordings: 1 read, 1 repaired, 1 refused"),
        "{stdout}"
    );
    assert!(stdout.contains("b-gyro-broken.csv: repaired"), "{stdout}");
    assert!(stdout.contains("gyroscope file not used"), "{stdout}");
    let refused = stdout
        .lines()
        .skip_while(|l| !l.contains("c-broken.csv: refused"))
        .nth(1)
        .unwrap_or_default();
    assert!(refused.contains("c-broken.csv:51:"), "{stdout}");
    // --acc and --dir together are refused by the argument parser.
    let both = fallkd()
        .args(["predict", "--acc", "x.csv", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!both.status.success());
}

/// A run's numbers without its timings: every metrics.csv column but seconds and steps/s, and
/// metrics.json's test metrics.
fn run_numbers(run: &Path) -> (Vec<String>, String) {
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| header[i] != "seconds" && header[i] != "steps_per_s")
        .collect();
    let rows = csv
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            keep.iter().map(|&i| f[i]).collect::<Vec<_>>().join(",")
        })
        .collect();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("metrics.json")).unwrap()).unwrap();
    (
        rows,
        format!(
            "{} {} {}",
            json["best_epoch"], json["test"], json["threshold"]
        ),
    )
}

#[test]
fn a_run_killed_at_random_moments_resumes_to_the_same_result() {
    let dir = scratch("sigkill");
    let args = |out: &Path| {
        let mut c = fallkd();
        c.args([
            "train-student",
            "--no-kd",
            "--quiet",
            "--seed",
            "5",
            "--out",
        ])
        .arg(out);
        for s in TINY {
            c.arg("--set").arg(s);
        }
        c.args(["--set", "train.epochs=8", "--set", "train.patience=8"]);
        c.args(["--set", "train.max_batches_per_epoch=10"]);
        c.args(["--set", "student.dropout=0.1"]);
        c
    };
    // The uninterrupted run (it also writes the generated data both runs read).
    let whole = dir.join("whole");
    let o = args(&whole).output().unwrap();
    ok(&o);
    // The same run, SIGKILLed at pseudo-random moments and resumed until it finishes by itself:
    // each attempt is killed a random time after it has committed one more epoch, so the kills
    // land inside epochs, during checkpoint writes and between epochs, and every resume starts
    // from a later epoch.
    let killed = dir.join("killed");
    let epochs_done = || -> u64 {
        std::fs::read_to_string(killed.join("state.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["epochs_done"].as_u64())
            .unwrap_or(0)
    };
    // An epoch's time (training and validation) from the uninterrupted run's log.
    let csv = std::fs::read_to_string(whole.join("metrics.csv")).unwrap();
    let col = csv
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|h| h == "seconds")
        .unwrap();
    let secs: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(col).unwrap().parse().unwrap())
        .collect();
    let per_epoch_ms = ((secs.iter().sum::<f64>() / secs.len() as f64 * 1000.0) as u64).max(10);
    let (mut kills, mut resumed_from, mut x) = (0, Vec::new(), 0x9E37_79B9_7F4A_7C15u64);
    for attempt in 0.. {
        assert!(attempt < 50, "the killed run never finished");
        let mut c = args(&killed);
        let start = epochs_done();
        if killed.join("state.json").is_file() {
            c.arg("--resume");
            resumed_from.push(start);
        }
        let mut child = c
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let extra = std::time::Duration::from_millis(x % per_epoch_ms);
        let mut committed_at = None;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if committed_at.is_none() && epochs_done() > start {
                committed_at = Some(std::time::Instant::now());
            }
            if committed_at.is_some_and(|t| t.elapsed() >= extra) {
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        };
        match status {
            Some(s) => {
                let mut err = String::new();
                std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
                assert!(s.success(), "attempt {attempt}: {err}");
                break;
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
            }
        }
    }
    eprintln!("killed {kills} times; resumed after epochs {resumed_from:?}");
    assert!(kills >= 3, "the run was killed only {kills} times");
    assert!(resumed_from.iter().any(|&e| e >= 2), "{resumed_from:?}");
    assert_eq!(
        run_numbers(&killed),
        run_numbers(&whole),
        "after {kills} kills"
    );
    assert!(
        !killed.join("ckpt").exists(),
        "staged checkpoints left behind"
    );
}

#[test]
fn resume_refuses_flags_it_would_ignore() {
    let dir = scratch("resume-flags");
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("config.yaml"), "train:\n  epochs: 1\n").unwrap();
    for (sub, extra) in [
        ("train-teacher", vec!["--epochs", "3"]),
        ("train-student", vec!["--set", "train.epochs=3", "--no-kd"]),
    ] {
        let o = fallkd()
            .arg(sub)
            .arg("--resume")
            .arg("--out")
            .arg(&run)
            .args(&extra)
            .output()
            .unwrap();
        refused(&o, &["would be ignored", "train.epochs=3"]);
    }
}

/// A student whose window features read a longer context reaching past the window
/// (`window.feature_context_s`, `window.feature_context_ahead_s`) gives the same per-window
/// probabilities through `fallkd export` + `fallkd predict` (the page's `inference::analyze`) as
/// in its own run's evaluation: the context travels in the model file and is cut alike on both
/// sides.
#[test]
fn feature_context_travels_from_training_to_predict() {
    let dir = scratch("feature-context");
    let data = dir.join("data");
    generate(&data);
    let run = dir.join("run");
    let mut c = fallkd();
    c.arg("train-student")
        .arg("--data-root")
        .arg(&data)
        .arg("--out")
        .arg(&run)
        .arg("--quiet");
    for s in TINY.iter().chain(&[
        "kd.enabled=false",
        "student.window_features=true",
        "window.feature_context_s=8",
        "window.feature_context_ahead_s=3",
        "seed=5",
    ]) {
        c.arg("--set").arg(s);
    }
    let out = c.output().unwrap();
    ok(&out);
    let cfg = std::fs::read_to_string(run.join("config.yaml")).unwrap();
    assert!(cfg.contains("feature_context_s: 8"), "{cfg}");
    assert!(cfg.contains("feature_context_ahead_s: 3"), "{cfg}");
    let model = dir.join("m.fallkd");
    let st = fallkd()
        .arg("export")
        .arg("--run")
        .arg(&run)
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    ok(&st);
    // The model carries its validation subjects' fall windows for personalisation.
    let o = fallkd().arg("inspect").arg(&model).output().unwrap();
    let info = String::from_utf8_lossy(&o.stdout);
    assert!(
        info.contains("fall replay") && info.contains("fall recordings of validation subjects"),
        "{info}"
    );
    // The run's test windows of one ADL recording (ADL trials keep every window, as predict does).
    let preds = std::fs::read_to_string(run.join("predictions.csv")).unwrap();
    let rows: Vec<Vec<&str>> = preds
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let first = rows
        .iter()
        .find(|r| r[0] == "test" && r[2].parse::<u16>().unwrap() < 10)
        .expect("a test ADL window");
    let key = (first[1], first[2], first[3]);
    let want: Vec<f64> = rows
        .iter()
        .filter(|r| r[0] == "test" && (r[1], r[2], r[3]) == key)
        .map(|r| r[8].parse().unwrap())
        .collect();
    let name = format!(
        "S{:02}A{:02}T{:02}.csv",
        key.0.parse::<u16>().unwrap(),
        key.1.parse::<u16>().unwrap(),
        key.2.parse::<u16>().unwrap()
    );
    let young = data.join("young");
    let p = fallkd()
        .args(["predict", "--json", "--model"])
        .arg(&model)
        .arg("--acc")
        .arg(young.join("accelerometer/watch").join(&name))
        .arg("--gyro")
        .arg(young.join("gyroscope/watch").join(&name))
        .output()
        .unwrap();
    let stdout = ok(&p);
    let json = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("the JSON line");
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let got: Vec<f64> = v["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["prob"].as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), want.len(), "{name}: windows");
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-4, "{name}: {g} vs {w}");
    }
    // The file says where it comes from, and a damaged copy is refused.
    let inspect = |m: &Path| fallkd().arg("inspect").arg(m).output().unwrap();
    let o = inspect(&model);
    let text = ok(&o);
    assert!(text.contains("checksum verified"), "{text}");
    let origin: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("origin.json")).unwrap()).unwrap();
    let sha = origin["data"]["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    assert!(
        text.contains(&format!("data         sha256 {sha}")),
        "{text}"
    );
    assert!(text.contains(": train S01, validation S02"), "{text}");
    assert!(
        text.contains("the best F1 on the run's validation windows"),
        "{text}"
    );
    let bytes = std::fs::read(&model).unwrap();
    for at in [20, bytes.len() / 2, bytes.len() - 40] {
        let mut b = bytes.clone();
        b[at] ^= 0x10;
        let bad = dir.join("damaged.fallkd");
        std::fs::write(&bad, &b).unwrap();
        for o in [
            inspect(&bad),
            fallkd()
                .args(["predict", "--model"])
                .arg(&bad)
                .arg("--acc")
                .arg(young.join("accelerometer/watch").join(&name))
                .output()
                .unwrap(),
        ] {
            refused(&o, &["damaged.fallkd", "damaged: its SHA-256"]);
        }
    }
}

/// A model file written before checksums (format 1) still loads, saying it is unchecked.
#[test]
fn a_model_file_without_a_checksum_loads_and_says_so() {
    let v1 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/student-format1.fallkd");
    let o = fallkd().arg("inspect").arg(&v1).output().unwrap();
    let text = ok(&o);
    assert!(text.contains("format 1, unchecked"), "{text}");
    assert!(text.contains("provenance   none"), "{text}");
    let dir = scratch("format1");
    let data = dir.join("data");
    generate(&data);
    let young = data.join("young/accelerometer/watch");
    let acc = std::fs::read_dir(&young)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let o = fallkd()
        .args(["predict", "--model"])
        .arg(&v1)
        .arg("--acc")
        .arg(&acc)
        .output()
        .unwrap();
    ok(&o);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("format 1, unchecked"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn score_reports_a_wearers_figures_and_the_invariance_table() {
    let dir = scratch("score");
    let data = dir.join("data");
    generate(&data);
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/assets/student.fallkd");
    let out = dir.join("score");
    let o = fallkd()
        .args(["score", "--model"])
        .arg(&model)
        .arg("--data-root")
        .arg(&data)
        .args(["--young", "1,2", "--invariance", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = ok(&o);
    let md = std::fs::read_to_string(out.join("score.md")).unwrap();
    assert_eq!(md, stdout);
    assert!(
        md.contains("young S01 S02") && md.contains("| falls caught (of "),
        "{md}"
    );
    // The shipped student reads gravity axes: the other wrist, turns and g change no alarm.
    for v in ["mirror", "turn-90", "turn-180", "in-g"] {
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| {v} |")))
            .unwrap();
        assert!(
            row.contains("| 100.0 %") && row.ends_with("| yes |"),
            "{row}"
        );
    }
    assert_eq!(
        md.lines().filter(|l| l.starts_with("| resample-")).count(),
        4
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("score.json")).unwrap()).unwrap();
    assert_eq!(json[0]["variants"].as_array().unwrap().len(), 11);
    // An unknown subject is refused, naming it.
    let o = fallkd()
        .args(["score", "--model"])
        .arg(&model)
        .arg("--data-root")
        .arg(&data)
        .args(["--young", "77", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    refused(&o, &["S77"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `fallkd export-onnx` writes the ONNX model and test vectors whose probabilities are
/// `fallkd predict`'s on the same recording; a damaged model is refused (the parity of the ONNX
/// model itself is tests/onnx_export.rs's, with tract).
#[test]
fn export_onnx_writes_the_model_and_test_vectors_of_a_recording() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = root.join("web/assets/student.fallkd");
    let dir = scratch("onnx");
    let data = dir.join("data");
    generate(&data);
    let acc = data.join("young/accelerometer/watch/S01A10T01.csv");
    let gyro = data.join("young/gyroscope/watch/S01A10T01.csv");
    let (onnx, vectors) = (dir.join("student.onnx"), dir.join("vectors.json"));
    let o = fallkd()
        .args(["export-onnx", "--model"])
        .arg(&model)
        .arg("--out")
        .arg(&onnx)
        .arg("--vectors")
        .arg(&vectors)
        .arg("--acc")
        .arg(&acc)
        .arg("--gyro")
        .arg(&gyro)
        .output()
        .unwrap();
    ok(&o);
    let bytes = std::fs::read(&onnx).unwrap();
    // ModelProto field 1 (ir_version) first, as a varint.
    assert_eq!(bytes[0], 0x08, "a protobuf ModelProto");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&vectors).unwrap()).unwrap();
    let got: Vec<f64> = v["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["probability"].as_f64().unwrap())
        .collect();
    let p = fallkd()
        .args(["predict", "--json", "--model"])
        .arg(&model)
        .arg("--acc")
        .arg(&acc)
        .arg("--gyro")
        .arg(&gyro)
        .output()
        .unwrap();
    let stdout = ok(&p);
    let json = stdout.lines().find(|l| l.starts_with('{')).unwrap();
    let want: Vec<f64> = serde_json::from_str::<serde_json::Value>(json).unwrap()["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["prob"].as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-4, "vector {g}, predict {w}");
    }
    let n = v["max_events"].as_u64().unwrap() as usize;
    let first = &v["windows"][0]["inputs"];
    assert_eq!(first["mask"].as_array().unwrap().len(), n);
    assert_eq!(first["timestamps"].as_array().unwrap().len(), n);
    // A damaged model is refused, naming it.
    let mut b = std::fs::read(&model).unwrap();
    let at = b.len() / 2;
    b[at] ^= 0x04;
    let bad = dir.join("damaged.fallkd");
    std::fs::write(&bad, &b).unwrap();
    let o = fallkd()
        .args(["export-onnx", "--model"])
        .arg(&bad)
        .arg("--out")
        .arg(dir.join("bad.onnx"))
        .output()
        .unwrap();
    refused(&o, &["damaged.fallkd", "damaged"]);
    assert!(!dir.join("bad.onnx").exists());
}

/// `fallkd personalize`: a labels file of generated recordings gives a personal model that
/// `inspect` describes and `predict` runs; a bad labels file is refused naming its line.
#[test]
fn personalize_writes_a_personal_model_from_a_labels_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = root.join("web/assets/student.fallkd");
    let dir = scratch("personalize");
    let data = dir.join("data");
    generate(&data);
    let mut labels = String::from("acc,gyro,label\n");
    for a in 1..=14 {
        let name = format!("S01A{a:02}T01.csv");
        labels += &format!(
            "data/young/accelerometer/watch/{name},data/young/gyroscope/watch/{name},{}\n",
            if a >= 10 { "fall" } else { "adl" }
        );
    }
    std::fs::write(dir.join("labels.csv"), &labels).unwrap();
    let out = dir.join("personal.fallkd");
    // `fallkd personalize` of the shipped model on the labels file `csv`, into `to`.
    let personalize = |csv: &str, to: &Path, extra: &[&str]| {
        fallkd()
            .arg("personalize")
            .args(extra)
            .arg("--model")
            .arg(&model)
            .arg("--labels")
            .arg(dir.join(csv))
            .arg("--out")
            .arg(to)
            .output()
            .unwrap()
    };
    let o = personalize("labels.csv", &out, &[]);
    let text = ok(&o);
    assert!(text.contains("14 labelled recordings (5 falls"), "{text}");
    let o = fallkd().arg("inspect").arg(&out).output().unwrap();
    let info = ok(&o);
    assert!(info.contains("checksum verified"), "{info}");
    assert!(
        info.contains("adapted from") && info.contains("personal     "),
        "{info}"
    );
    // A personal model exports for watch apps as any model does.
    let o = fallkd()
        .args(["export-onnx", "--model"])
        .arg(&out)
        .arg("--out")
        .arg(dir.join("personal.onnx"))
        .output()
        .unwrap();
    ok(&o);
    let o = fallkd()
        .args(["predict", "--model"])
        .arg(&out)
        .arg("--acc")
        .arg(data.join("young/accelerometer/watch/S01A10T01.csv"))
        .output()
        .unwrap();
    ok(&o);
    // Daily living alone: the fall windows shipped with the model join in.
    let adl: String = labels
        .lines()
        .filter(|l| !l.ends_with(",fall"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("adl.csv"), adl).unwrap();
    let o = personalize("adl.csv", &dir.join("adl.fallkd"), &[]);
    let text = ok(&o);
    assert!(
        text.contains("9 labelled recordings (0 falls")
            && text.contains("22 fall windows shipped with the model joined in"),
        "{text}"
    );
    // A tolerance outside 0-1 is refused by the command line.
    let o = personalize(
        "adl.csv",
        &dir.join("never.fallkd"),
        &["--replay-tolerance", "1.5"],
    );
    refused(&o, &["between 0 and 1"]);
    // A bad label names the file and the line.
    std::fs::write(
        dir.join("bad.csv"),
        "acc,gyro,label\ndata/young/accelerometer/watch/S01A01T01.csv,,maybe\n",
    )
    .unwrap();
    let o = personalize("bad.csv", &dir.join("never.fallkd"), &[]);
    refused(&o, &["bad.csv:2", "'maybe'"]);
    assert!(!dir.join("never.fallkd").exists());
}
