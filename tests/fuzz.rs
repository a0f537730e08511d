//! Mutation fuzzing of every parser that reads outside bytes, with no fuzzing toolchain: the watch
//! CSV, the skeleton CSV, timestamps, the exported model file, the YAML configuration and the
//! page's upload path (parse, assemble, window, features, model), each from seed inputs in every
//! layout the project knows, mutated 1-4 times per input (bit flips, random bytes, tokens such
//! as `nan`, `1e39`, `:`, `,`, line breaks, deleted/duplicated/swapped ranges, truncation).
//!
//! A target fails on a panic, or when a successful parse breaks its contract (non-finite values,
//! misordered or mis-sized output). The inputs that once failed live in `tests/fuzz-regressions/`
//! and run in the normal test command, with a short burst of every target.
//!
//! The long run, outside CI (docs/data.md, "Fuzzing"):
//! `FALLKD_FUZZ_INPUTS=1000000 cargo test --locked --test fuzz -- --ignored --nocapture`
//! writes any failing input to `target/fuzz-failures/` and fails naming them. What no panic hook
//! can catch (an abort, running out of memory) is found with `FALLKD_FUZZ_DUMP=1`, which writes
//! each input to `target/fuzz-last.bin` before running it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Instant;

use fallkd_core::batch::{EventWindow, window_feature_row};
use fallkd_core::burn::tensor::Device;
use fallkd_core::data::columns::Sensor;
use fallkd_core::data::imu_csv::{parse_imu_csv, parse_imu_csv_for};
use fallkd_core::data::skeleton_csv::parse_skeleton_csv;
use fallkd_core::data::timestamp::{parse_time_of_day, parse_timestamp};
use fallkd_core::data::units::{AccUnit, GyroUnit, Units};
use fallkd_core::inference::{Detector, analyze, prepare_recording, prepare_recording_in};
use fallkd_core::rng::Rng;
use fallkd_train::config::RunConfig;

/// Tokens that parsers treat specially.
const TOKENS: &[&str] = &[
    ",",
    "\n",
    "\r\n",
    "\r",
    ".",
    ":",
    "-",
    "+",
    " ",
    "\t",
    "\"",
    "e",
    "E",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e39",
    "-1e39",
    "1e308",
    "0",
    "-0",
    "9999999999999",
    "0.000",
    "2022-08-04 ",
    "12:22:46.778",
    "23:59:59.999",
    "00:00:00.001",
    "Unnamed: 3",
    "timestamp",
    "\u{feff}",
    "é",
    "\u{0}",
    "{",
    "}",
    "[",
    "]",
    "kind:",
    "timestamp-aware",
    "true",
    "null",
    "- ",
    "#",
    "'",
];

/// The watch-file layouts the project reads (see core/src/data/imu_csv.rs).
fn imu_seeds() -> Vec<Vec<u8>> {
    let rows = |f: &dyn Fn(usize) -> String, n: usize| -> Vec<u8> {
        (0..n).map(f).collect::<Vec<_>>().join("\n").into_bytes()
    };
    vec![
        rows(
            &|i| {
                format!(
                    "2022-08-04 12:22:{:06.3},{:.3},{:.3},{:.3}",
                    10.0 + i as f64 * 0.025,
                    0.1 * i as f64,
                    -9.8,
                    0.3
                )
            },
            60,
        ),
        rows(
            &|i| {
                format!(
                    "{},{:.2},{:.2},{:.2}",
                    1659615766778u64 + 25 * i as u64,
                    1.0,
                    -9.5,
                    0.2
                )
            },
            60,
        ),
        rows(
            &|i| format!("12:22:{:06.3},0.65,-7.42,4.84", 46.0 + i as f64 * 0.02),
            60,
        ),
        rows(
            &|i| format!("-9.57,13.50.{:06.3},-3.09,0.43", 22.0 + i as f64 * 0.03),
            60,
        ),
        {
            let mut v = b"timestamp,x,y,z\n".to_vec();
            v.extend(rows(
                &|i| format!("2022-08-04 23:59:{:06.3},1,2,3", 58.0 + i as f64 * 0.05),
                60,
            ));
            v.extend_from_slice(b"\n1.05,1.00,-0.64,Unnamed: 3\n");
            v
        },
        rows(&|i| format!("2022-08-04 12:00:00.{:03},1,2,3", i % 3), 40),
        b"timestamp,x,y,z\n".to_vec(),
        Vec::new(),
    ]
    .into_iter()
    .chain(logger_seeds())
    .collect()
}

/// The first 40 lines of the logger fixtures (header rows, named columns, time units).
fn logger_seeds() -> Vec<Vec<u8>> {
    [
        "phyphox-accelerometer.csv",
        "sensor-logger-TotalAcceleration.csv",
        "android-gyroscope-deg.csv",
        "core-motion-export.csv",
        "accel-time-list.csv",
        "ms-from-start.csv",
        "combined-one-time.csv",
        "android-sensor-rows.csv",
    ]
    .iter()
    .map(|f| {
        let text = std::fs::read_to_string(format!("core/tests/fixtures/loggers/{f}"))
            .expect("logger fixture");
        text.lines()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes()
    })
    .collect()
}

fn skeleton_seeds() -> Vec<Vec<u8>> {
    let frame = |i: usize| {
        (0..96)
            .map(|k| format!("{:.4}", (k as f64 * 0.01 + i as f64 * 0.001).sin()))
            .collect::<Vec<_>>()
            .join(",")
    };
    vec![
        (0..12)
            .map(frame)
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes(),
        {
            let mut v = (0..96)
                .map(|k| format!("j{k}"))
                .collect::<Vec<_>>()
                .join(",")
                .into_bytes();
            v.push(b'\n');
            v.extend(
                (0..6)
                    .map(frame)
                    .collect::<Vec<_>>()
                    .join("\n")
                    .into_bytes(),
            );
            v
        },
    ]
}

fn yaml_seeds() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = std::fs::read_dir("kd_config")
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    v.push(
        b"student: {window_features: true, num_tokens: 32}\ntrain: {select: val-loss}\n".to_vec(),
    );
    v.push(b"window: {length: {by: count, events: 128}, crop_events: 100}\n".to_vec());
    v
}

fn model_bytes() -> Vec<u8> {
    std::fs::read("web/assets/student.fallkd").expect("the shipped model")
}

/// The shipped model, read once.
fn model_bytes_cached() -> &'static [u8] {
    static M: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    M.get_or_init(model_bytes)
}

/// A model file written before checksums (format 1), kept to test that it still loads.
fn model_bytes_v1() -> Vec<u8> {
    std::fs::read("tests/fixtures/student-format1.fallkd").expect("the kept format-1 model")
}

/// One mutation step on `b`.
fn mutate_once(b: &mut Vec<u8>, rng: &mut Rng, seeds: &[Vec<u8>]) {
    let n = b.len();
    let at = |rng: &mut Rng| if n == 0 { 0 } else { rng.below(n + 1).min(n) };
    match rng.below(10) {
        0 if n > 0 => {
            let i = rng.below(n);
            b[i] ^= 1 << rng.below(8);
        }
        1 if n > 0 => {
            let i = rng.below(n);
            b[i] = rng.below(256) as u8;
        }
        2 | 3 => {
            let i = at(rng);
            let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
            b.splice(i..i, t.iter().copied());
        }
        4 if n > 0 => {
            let i = rng.below(n);
            let len = 1 + rng.below(16.min(n - i));
            b.drain(i..i + len);
        }
        5 if n > 0 => {
            let i = rng.below(n);
            let len = 1 + rng.below(64.min(n - i));
            let chunk: Vec<u8> = b[i..i + len].to_vec();
            let j = at(rng);
            b.splice(j..j, chunk);
        }
        6 if n > 0 => b.truncate(rng.below(n)),
        7 if n > 0 => {
            // Swap two lines.
            let mut lines: Vec<Vec<u8>> = b.split(|&c| c == b'\n').map(|l| l.to_vec()).collect();
            let (x, y) = (rng.below(lines.len()), rng.below(lines.len()));
            lines.swap(x, y);
            *b = lines.join(&b'\n');
        }
        8 => {
            // Splice in part of another seed.
            let s = &seeds[rng.below(seeds.len())];
            if !s.is_empty() {
                let i = rng.below(s.len());
                let len = 1 + rng.below(128.min(s.len() - i));
                let j = at(rng);
                b.splice(j..j, s[i..i + len].iter().copied());
            }
        }
        _ => {
            // A field replaced by a number of extreme size or a token.
            let j = at(rng);
            let v = match rng.below(4) {
                0 => format!("{}", rng.normal() * 1e30),
                1 => format!("{}", -(rng.below(1 << 20) as i64)),
                2 => format!("{:e}", rng.uniform() * 1e-40),
                _ => "99999999999999999999999".into(),
            };
            b.splice(j..j, v.into_bytes());
        }
    }
}

fn mutated(seeds: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let mut b = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        mutate_once(&mut b, rng, seeds);
    }
    b
}

/// The contract of each target on one input: `Err(message)` when it is broken, else whether the
/// input was accepted (so that the report shows how deep the inputs reach).
type Check<'a> = dyn Fn(&[u8]) -> Result<bool, String> + 'a;

fn check_imu(b: &[u8]) -> Result<bool, String> {
    let parsed = parse_imu_csv("fuzz.csv", b);
    let ok = parsed.is_ok();
    // A file holding the gyroscope too is read again for it (as the upload path does).
    let gyro = parsed
        .as_ref()
        .ok()
        .filter(|r| r.gyroscope_too)
        .map(|_| parse_imu_csv_for("fuzz.csv", b, Sensor::Gyroscope));
    for r in std::iter::once(parsed).chain(gyro).flatten() {
        if r.values.len() != r.timestamps.len() || r.lines.len() != r.values.len() {
            return Err("imu: columns of different lengths".into());
        }
        if !r.timestamps.iter().all(|t| t.is_finite()) {
            return Err("imu: a non-finite timestamp".into());
        }
        if !r.values.iter().flatten().all(|v| v.is_finite()) {
            return Err("imu: a non-finite value".into());
        }
    }
    Ok(ok)
}

fn check_skeleton(b: &[u8]) -> Result<bool, String> {
    match parse_skeleton_csv("fuzz.csv", b) {
        Ok(r) if !r.frames.iter().flatten().all(|v| v.is_finite()) => {
            Err("skeleton: a non-finite coordinate".into())
        }
        r => Ok(r.is_ok()),
    }
}

fn check_timestamp(b: &[u8]) -> Result<bool, String> {
    let s = String::from_utf8_lossy(b);
    let mut any = false;
    for line in s.lines().take(4) {
        for field in line.split(',').take(4) {
            if let Ok(t) = parse_timestamp(field) {
                any = true;
                if !t.is_finite() {
                    return Err(format!("timestamp: {field:?} gave {t}"));
                }
            }
            if let Ok(t) = parse_time_of_day(field)
                && !(0.0..86_400.0 + 1.0).contains(&t)
            {
                return Err(format!("time of day: {field:?} gave {t}"));
            }
        }
    }
    Ok(any)
}

fn check_yaml(b: &[u8]) -> Result<bool, String> {
    let text = String::from_utf8_lossy(b).into_owned();
    Ok(RunConfig::from_texts(&[("fuzz.yaml".into(), text)], &[]).is_ok())
}

struct Upload {
    detector: Detector,
    every: usize,
    count: std::cell::Cell<usize>,
}

impl Upload {
    fn new(every: usize) -> Upload {
        Upload {
            detector: Detector::from_bytes(&model_bytes(), &Device::flex()).unwrap(),
            every,
            count: std::cell::Cell::new(0),
        }
    }

    /// The page's path: both files parsed, assembled and windowed as the model says; features of
    /// every window; the model itself on one scored upload in `every`.
    fn check(&self, acc: &[u8], gyro: &[u8]) -> Result<bool, String> {
        let cfg = self.detector.header.window_config();
        // The accelerometer file alone (it may hold the gyroscope too), with units given or not.
        let k = self.count.get();
        let units = Units {
            acc: [None, Some(AccUnit::G), Some(AccUnit::MetresPerSecond2)][k % 3],
            gyro: [None, Some(GyroUnit::DegPerS), Some(GyroUnit::RadPerS)][(k / 3) % 3],
        };
        if let Ok(r) = prepare_recording_in(("acc.csv", acc), None, &cfg, units)
            && r.windows.is_empty()
        {
            return Err("upload: one file accepted with no window".into());
        }
        let Ok(r) = prepare_recording(("acc.csv", acc), Some(("gyro.csv", gyro)), &cfg) else {
            return Ok(false);
        };
        if r.windows.is_empty() {
            return Err("upload: accepted with no window".into());
        }
        let ws: Vec<EventWindow> = r.windows.iter().map(EventWindow::from).collect();
        for w in &ws {
            if !window_feature_row(w).iter().all(|v| v.is_finite()) {
                return Err("upload: a non-finite window feature".into());
            }
        }
        let k = self.count.get() + 1;
        self.count.set(k);
        if k.is_multiple_of(self.every) {
            // The whole page path (`analyze`: the model and the alarm logic) on this upload.
            let a = pollster::block_on(analyze(
                &self.detector,
                ("acc.csv", acc),
                Some(("gyro.csv", gyro)),
                None,
            ))
            .map_err(|e| {
                format!("upload: accepted by prepare_recording, refused by analyze: {e}")
            })?;
            if !a.windows.iter().all(|w| (0.0..=1.0).contains(&w.prob)) {
                return Err("upload: a probability outside [0, 1]".into());
            }
            if !a.alarms.iter().all(|t| t.is_finite()) {
                return Err("upload: a non-finite alarm time".into());
            }
        }
        Ok(true)
    }
}

/// A model file: loading must never panic; one loaded model in `every` scores a fixed upload
/// through the page's path, with probabilities in [0, 1] (or a clear refusal).
fn check_model(b: &[u8], every: usize, count: &std::cell::Cell<usize>) -> Result<bool, String> {
    // A format-2 file with a changed byte must be refused by its checksum; sealed again (a new
    // checksum over the mutated body) it goes on to the header and weight parsers.
    let sealed;
    let b = if b.starts_with(b"FALLKD02") && b.len() >= 44 {
        let body = &b[..b.len() - 32];
        if b != model_bytes_cached() && Detector::from_bytes(b, &Device::flex()).is_ok() {
            return Err("model file: a changed format-2 file passed its checksum".into());
        }
        sealed = [body, &fallkd_core::provenance::sha256(body)].concat();
        &sealed[..]
    } else {
        b
    };
    let Ok(det) = Detector::from_bytes(b, &Device::flex()) else {
        return Ok(false);
    };
    count.set(count.get() + 1);
    if count.get().is_multiple_of(every) {
        let acc = &imu_seeds()[0];
        if let Ok(a) = pollster::block_on(analyze(&det, ("acc.csv", acc), None, None))
            && !a.windows.iter().all(|w| (0.0..=1.0).contains(&w.prob))
        {
            return Err("model file: a loaded model gave a probability outside [0, 1]".into());
        }
    }
    Ok(true)
}

/// Runs `inputs` mutated inputs through `check`; returns the failures as files written.
fn fuzz(
    name: &str,
    seeds: &[Vec<u8>],
    inputs: usize,
    seed: u64,
    check: &Check<'_>,
) -> Vec<PathBuf> {
    let mut rng = Rng::new(seed);
    let mut failures = Vec::new();
    let mut accepted = 0usize;
    let dump = std::env::var_os("FALLKD_FUZZ_DUMP").is_some();
    let t0 = Instant::now();
    for i in 0..inputs {
        let b = mutated(seeds, &mut rng);
        if dump {
            std::fs::write("target/fuzz-last.bin", &b).unwrap();
        }
        let res = catch_unwind(AssertUnwindSafe(|| check(&b)));
        let why = match res {
            Ok(Ok(ok)) => {
                accepted += ok as usize;
                continue;
            }
            Ok(Err(m)) => m,
            Err(p) => p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into()),
        };
        let dir = PathBuf::from("target/fuzz-failures").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join(format!("{i}.bin"));
        std::fs::write(&f, &b).unwrap();
        eprintln!("[fuzz] {name} input {i}: {why} -> {}", f.display());
        failures.push(f);
        if failures.len() >= 20 {
            break;
        }
    }
    eprintln!(
        "[fuzz] {name}: {inputs} inputs in {:.1} s, {accepted} accepted, {} failures",
        t0.elapsed().as_secs_f64(),
        failures.len()
    );
    failures
}

/// An upload is two files: the mutated input is split at a 0xFF byte into accelerometer and
/// gyroscope (seeds pair layouts).
fn upload_seeds() -> Vec<Vec<u8>> {
    let imu = imu_seeds();
    let mut v = Vec::new();
    for a in &imu[..6] {
        for g in [&imu[0], &imu[2], &imu[6]] {
            let mut b = a.clone();
            b.push(0xFF);
            b.extend_from_slice(g);
            v.push(b);
        }
    }
    v
}

fn split_upload(b: &[u8]) -> (&[u8], &[u8]) {
    match b.iter().position(|&c| c == 0xFF) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &[]),
    }
}

/// Runs the targets named in `only` (all when `None`).
fn all_targets(
    inputs: usize,
    model_inputs: usize,
    every: usize,
    only: Option<&str>,
) -> Vec<PathBuf> {
    // Panics are caught and reported one line each, not with a backtrace per input.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let on = |name: &str| only.is_none_or(|o| o.split(',').any(|t| t.trim() == name));
    let upload = Upload::new(every);
    let loaded = std::cell::Cell::new(0);
    let mut f = Vec::new();
    if on("imu-csv") {
        f.extend(fuzz("imu-csv", &imu_seeds(), inputs, 1, &check_imu));
    }
    if on("skeleton-csv") {
        f.extend(fuzz(
            "skeleton-csv",
            &skeleton_seeds(),
            inputs,
            2,
            &check_skeleton,
        ));
    }
    if on("timestamp") {
        f.extend(fuzz("timestamp", &imu_seeds(), inputs, 3, &check_timestamp));
    }
    if on("yaml-config") {
        f.extend(fuzz("yaml-config", &yaml_seeds(), inputs, 4, &check_yaml));
    }
    if on("upload") {
        f.extend(fuzz("upload", &upload_seeds(), inputs, 5, &|b| {
            let (a, g) = split_upload(b);
            upload.check(a, g)
        }));
    }
    if on("model-file") {
        // Half the inputs mutate a whole file (a mutation in the weights reloads the model),
        // half its header and the start of the weights, which fail faster; half are format 2
        // (checksummed, sealed again after the mutation: see `check_model`), half format 1 (the
        // kept older file).
        let m = model_bytes();
        let len = 12 + u32::from_le_bytes(m[8..12].try_into().unwrap()) as usize;
        let head = m[..len + 64].to_vec();
        let v1 = model_bytes_v1();
        let v1_len = 12 + u32::from_le_bytes(v1[8..12].try_into().unwrap()) as usize;
        let v1_head = v1[..v1_len + 64].to_vec();
        let seeds = vec![m.clone(), head.clone(), v1, v1_head];
        f.extend(fuzz("model-file", &seeds, model_inputs, 6, &|b| {
            check_model(b, every, &loaded)
        }));
    }
    std::panic::set_hook(hook);
    f
}

/// The short burst in the normal test command, and every saved regression input.
#[test]
fn parsers_survive_a_fuzzing_burst_and_the_saved_regressions() {
    let failures = all_targets(2_000, 300, 10, None);
    assert!(failures.is_empty(), "fuzzing failures: {failures:?}");
    let upload = Upload::new(1);
    let loaded = std::cell::Cell::new(0);
    let root = PathBuf::from("tests/fuzz-regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&root).into_iter().flatten() {
        let dir = entry.unwrap().path();
        let target = dir.file_name().unwrap().to_string_lossy().into_owned();
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let b = std::fs::read(&f).unwrap();
            let res = match target.as_str() {
                "imu-csv" => check_imu(&b),
                "skeleton-csv" => check_skeleton(&b),
                "timestamp" => check_timestamp(&b),
                "yaml-config" => check_yaml(&b),
                "upload" => {
                    let (a, g) = split_upload(&b);
                    upload.check(a, g)
                }
                "model-file" => check_model(&b, 1, &loaded),
                other => panic!("{}: unknown fuzz target {other}", f.display()),
            };
            assert!(res.is_ok(), "{}: {res:?}", f.display());
            n += 1;
        }
    }
    assert!(n > 0, "no saved regression inputs under {}", root.display());
    eprintln!("[fuzz] {n} saved regression inputs pass");
}

/// The long run: `FALLKD_FUZZ_INPUTS` inputs per target (default 10^6), the model file
/// `FALLKD_FUZZ_MODEL_INPUTS` (default the same); `FALLKD_FUZZ_TARGETS=upload,model-file` runs
/// only those.
#[test]
#[ignore = "long, outside CI: FALLKD_FUZZ_INPUTS=1000000 cargo test --test fuzz -- --ignored"]
fn fuzz_every_parser_long() {
    let n: usize = std::env::var("FALLKD_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let model_n: usize = std::env::var("FALLKD_FUZZ_MODEL_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    let only = std::env::var("FALLKD_FUZZ_TARGETS").ok();
    let failures = all_targets(n, model_n, 500, only.as_deref());
    assert!(failures.is_empty(), "fuzzing failures: {failures:?}");
}
