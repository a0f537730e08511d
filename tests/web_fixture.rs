//! The native half of the browser comparison: the bundled student (`web/assets/student.fallkd`)
//! on one generated window, and on a live buffer of the same recording (`predict_live`, what the
//! page's live mode calls), must give the probabilities stored in `web/tests/fixture.json`, which
//! the browser tests (CPU and WebGPU) compare against. Regenerate after changing the model:
//! `FALLKD_WRITE_FIXTURE=1 cargo test --test web_fixture`.

use fallkd_core::batch::EventWindow;
use fallkd_core::burn::tensor::Device;
use fallkd_core::inference::{Detector, predict_live, prepare_recording, recording_windows};
use fallkd_core::synth::{SynthConfig, generate, watch_files};

#[test]
fn bundled_student_matches_the_browser_fixture() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = std::fs::read(root.join("web/assets/student.fallkd")).unwrap();
    let det = Detector::from_bytes(&model, &Device::flex()).unwrap();
    let files = generate(&SynthConfig::one_subject(1, 7));
    let get = |p: &str| {
        files
            .iter()
            .find(|(n, _)| n == p)
            .map(|(_, t)| t.as_bytes().to_vec())
            .unwrap()
    };
    let cfg = det.header.window_config();
    // Whether a live stream can score window `w` of `trial` as it is: its look-ahead
    // (`feature_context_ahead_s`) ends before its segment does (a live buffer running on past a
    // gap scores the newer segment's window instead).
    let live_scorable = |trial: &fallkd_core::data::trial::Trial,
                         w: &fallkd_core::data::window::Window| {
        let segments = fallkd_core::data::window::segments(&trial.timestamps, cfg.max_gap_s);
        let end = w.start_s + w.timestamps.last().unwrap();
        segments
            .iter()
            .find(|r| {
                trial.timestamps[r.start] <= w.start_s + 1e-9
                    && w.start_s <= trial.timestamps[r.end - 1]
            })
            .is_some_and(|r| end + cfg.context_ahead_s() <= trial.timestamps[r.end - 1] + 1e-9)
    };
    // The first fall recording (then daily living) with a window the live stream can score.
    let (windows, trial) = (10..=14)
        .chain(1..=9)
        .find_map(|a| {
            let name = format!("S01A{a:02}T01.csv");
            let acc = get(&format!("young/accelerometer/watch/{name}"));
            let gyro = get(&format!("young/gyroscope/watch/{name}"));
            let (windows, trial, _) =
                recording_windows((&name, &acc), Some((&name, &gyro)), &cfg).ok()?;
            windows
                .iter()
                .any(|w| live_scorable(&trial, w))
                .then_some((windows, trial))
        })
        .expect("a generated recording with a window the live stream can score");
    // The window whose probability is closest to 0.5, where the sigmoid is steepest: a 1e-4
    // match there pins the logit tightly (a probability near 0 or 1 would hide a logit error).
    let all: Vec<EventWindow> = windows.iter().map(EventWindow::from).collect();
    let probs = pollster::block_on(det.run(&all)).unwrap();
    let pick = (0..all.len())
        .filter(|&i| live_scorable(&trial, &windows[i]))
        .min_by(|&a, &b| {
            (probs[a].0 - 0.5)
                .abs()
                .total_cmp(&(probs[b].0 - 0.5).abs())
        })
        .expect("a window the live stream can score");
    // The window alone (its own events, no feature context): what the padded-batch checks feed.
    let w = EventWindow {
        context: None,
        ..all[pick].clone()
    };
    // The live buffer that has the same window scored: the stream's last `live_span_s` seconds
    // up to the window's end and the seconds its context reaches past it.
    let picked = &windows[pick];
    let t_live = picked.start_s + picked.timestamps.last().unwrap() + cfg.context_ahead_s();
    let span = cfg.live_span_s(det.header.window_seconds);
    let live: Vec<usize> = (0..trial.timestamps.len())
        .filter(|&i| trial.timestamps[i] <= t_live + 1e-9 && trial.timestamps[i] > t_live - span)
        .collect();
    let live_events: Vec<f32> = live.iter().flat_map(|&i| trial.events[i]).collect();
    let live_timestamps: Vec<f64> = live.iter().map(|&i| trial.timestamps[i]).collect();
    let live_prob = pollster::block_on(predict_live(&det, &live_events, &live_timestamps)).unwrap();
    assert!(
        (live_prob - probs[pick].0).abs() < 0.05,
        "the live buffer scores the picked window: {live_prob} against {}",
        probs[pick].0
    );
    assert!(
        det.host.is_some(),
        "on the CPU backend the host forward runs"
    );
    let prob = pollster::block_on(det.run(std::slice::from_ref(&w))).unwrap()[0].0;
    assert!(prob.is_finite() && (0.0..=1.0).contains(&prob));
    let short = EventWindow {
        events: w.events[..40].to_vec(),
        timestamps: w.timestamps[..40].to_vec(),
        context: None,
    };
    let alone = pollster::block_on(det.run(std::slice::from_ref(&short))).unwrap()[0].0;
    // The tensor forward (what WebGPU runs) on a padded batch, the window and its first 40 events:
    // the same probabilities as the host forward's, padding changing nothing.
    let mut tensor = det.clone();
    tensor.host = None;
    let batch: Vec<f64> = pollster::block_on(tensor.run(&[w.clone(), short.clone()]))
        .unwrap()
        .iter()
        .map(|r| r.0)
        .collect();
    assert!(
        (batch[0] - prob).abs() < 1e-5 && (batch[1] - alone).abs() < 1e-5,
        "tensor forward (padded batch) {batch:?} against the host forward's {prob}, {alone}"
    );
    let path = root.join("web/tests/fixture.json");
    let fixture = serde_json::json!({
        "events": w.events.iter().flatten().collect::<Vec<_>>(),
        "timestamps": w.timestamps,
        "prob": prob,
        "short_prob": alone,
        "live_events": live_events,
        "live_timestamps": live_timestamps,
        "live_prob": live_prob,
    });
    if std::env::var_os("FALLKD_WRITE_FIXTURE").is_some() {
        std::fs::write(&path, serde_json::to_string(&fixture).unwrap()).unwrap();
    }
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("web/tests/fixture.json"))
            .unwrap();
    // Compare as the browser test reads them (f32 events, f64 seconds): serde_json's default
    // float parsing may differ from the written value in the last f64 digit.
    let events: Vec<f32> = serde_json::from_value(stored["events"].clone()).unwrap();
    let want: Vec<f32> = w.events.iter().flatten().copied().collect();
    assert!(
        events == want,
        "fixture input differs: regenerate it (see the module doc)"
    );
    let ts: Vec<f64> = serde_json::from_value(stored["timestamps"].clone()).unwrap();
    assert_eq!(ts.len(), w.timestamps.len());
    assert!(
        ts.iter()
            .zip(&w.timestamps)
            .all(|(a, b)| (a - b).abs() < 1e-12)
    );
    assert!(
        (stored["short_prob"].as_f64().unwrap() - alone).abs() < 1e-6,
        "short-window probability changed: regenerate the fixture"
    );
    let stored_live: Vec<f32> = serde_json::from_value(stored["live_events"].clone()).unwrap();
    let stored_live_ts: Vec<f64> =
        serde_json::from_value(stored["live_timestamps"].clone()).unwrap();
    assert!(
        stored_live == live_events
            && stored_live_ts.len() == live_timestamps.len()
            && stored_live_ts
                .iter()
                .zip(&live_timestamps)
                .all(|(a, b)| (a - b).abs() < 1e-12),
        "fixture live buffer differs: regenerate it (see the module doc)"
    );
    assert!(
        (stored["live_prob"].as_f64().unwrap() - live_prob).abs() < 1e-6,
        "live-buffer probability changed: regenerate the fixture"
    );
    let sp = stored["prob"].as_f64().unwrap();
    assert!(
        (sp - prob).abs() < 1e-6,
        "native probability {prob} differs from the fixture's {sp}: regenerate it if the model changed"
    );
}

/// `analyze` cuts and scores windows a batch at a time (bounded memory for long uploads): it must
/// give exactly what scoring every window of `prepare_recording` at once gives, clean and under
/// a stress perturbation, with progress reported while parsing and after every batch.
#[test]
fn batched_analysis_equals_scoring_every_window_at_once() {
    use fallkd_core::inference::{Progress, Stress, analyze_with_progress, prepare_recording};
    use fallkd_core::perturb::Perturbation;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = std::fs::read(root.join("web/assets/student.fallkd")).unwrap();
    let mut det = Detector::from_bytes(&model, &Device::flex()).unwrap();
    det.batch_size = 2;
    let files = generate(&SynthConfig::one_subject(1, 3));
    let acc = files
        .iter()
        .find(|(n, _)| n == "young/accelerometer/watch/S01A01T01.csv")
        .map(|(_, t)| t.as_bytes().to_vec())
        .unwrap();
    let r = prepare_recording(("a.csv", &acc), None, &det.header.window_config()).unwrap();
    assert!(
        r.windows.len() > 2 * det.batch_size,
        "{} windows",
        r.windows.len()
    );
    let all: Vec<EventWindow> = r.windows.iter().map(EventWindow::from).collect();
    let stress = Stress {
        perturbation: Perturbation::at_severity("jitter", 0.5).unwrap(),
        seed: 9,
    };
    let perturbed: Vec<EventWindow> = all
        .iter()
        .enumerate()
        .map(|(i, w)| w.perturbed(&stress.perturbation, stress.seed ^ i as u64))
        .collect();
    let at_once = pollster::block_on(det.run(&all)).unwrap();
    let at_once_perturbed = pollster::block_on(det.run(&perturbed)).unwrap();
    let calls = std::cell::RefCell::new(Vec::new());
    let a = pollster::block_on(analyze_with_progress(
        &det,
        (("a.csv", &acc), None, Default::default()),
        Some(stress),
        &|p| {
            // (file being parsed, done, total); no file while scoring.
            calls.borrow_mut().push(match p {
                Progress::Parsing { file, done, total } => (Some(file.to_string()), done, total),
                Progress::Scoring { done, total } => (None, done, total),
            })
        },
    ))
    .unwrap();
    assert_eq!(a.windows.len(), all.len());
    for (i, w) in a.windows.iter().enumerate() {
        assert_eq!(w.prob, at_once[i].0, "window {i}");
        assert_eq!(w.attention, at_once[i].1, "window {i}");
        assert_eq!(w.prob_perturbed, Some(at_once_perturbed[i].0), "window {i}");
        assert_eq!(w.start_s, r.windows[i].start_s);
        assert_eq!(w.events, r.windows[i].events.len());
    }
    let calls = calls.into_inner();
    // The file is read first (one chunk: it has fewer lines than a chunk), then the windows.
    assert_eq!(calls[0], (Some("a.csv".to_string()), acc.len(), acc.len()));
    let calls: Vec<(usize, usize)> = calls
        .iter()
        .filter(|c| c.0.is_none())
        .map(|c| (c.1, c.2))
        .collect();
    let n = all.len();
    assert_eq!(calls.len(), n.div_ceil(det.batch_size));
    assert_eq!(calls.last(), Some(&(n, n)));
    assert!(calls.windows(2).all(|c| c[0].0 < c[1].0));
}

/// The personal model's side of the browser comparison (issue #33: the page and `fallkd
/// personalize` give the same model): the bundled student personalised on generated recordings
/// (the first trial of every activity labelled), then its threshold and its probabilities on two
/// held-out recordings; and the threshold of the same student personalised on the daily living
/// alone (the fall windows shipped with the model joining in). Stored in
/// `web/tests/personal-fixture.json`, which the browser test computes again in the page's code
/// and compares within 1e-4.
#[test]
fn personal_model_matches_the_browser_fixture() {
    use fallkd_core::personalize::{LabelledFiles, PersonalizeConfig, personalize_files};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = std::fs::read(root.join("web/assets/student.fallkd")).unwrap();
    let files = generate(&SynthConfig::one_subject(2, 7));
    let get = |n: &str| watch_files(&files, n).unwrap();
    let names: Vec<String> = (1..=14).map(|a| format!("S01A{a:02}T01.csv")).collect();
    let labelled: Vec<LabelledFiles> = names
        .iter()
        .enumerate()
        .map(|(i, n)| LabelledFiles {
            acc: (n.as_str(), get(n).0),
            gyro: Some((n.as_str(), get(n).1)),
            fall: i + 1 >= 10,
        })
        .collect();
    let (bytes, report) =
        personalize_files(&model, &labelled, &PersonalizeConfig::default(), "fixture").unwrap();
    let det = Detector::from_bytes(&bytes, &Device::flex()).unwrap();
    let mut probs = Vec::new();
    for n in ["S01A10T02.csv", "S01A01T02.csv"] {
        let (acc, gyro) = get(n);
        let r = prepare_recording((n, acc), Some((n, gyro)), &det.header.window_config()).unwrap();
        let ws: Vec<EventWindow> = r.windows.iter().map(EventWindow::from).collect();
        probs.extend(
            pollster::block_on(det.run(&ws))
                .unwrap()
                .iter()
                .map(|p| p.0),
        );
    }
    // Daily living alone (activities 1-9): the fall windows shipped with the model join in.
    let (adl_bytes, adl) = personalize_files(
        &model,
        &labelled[..9],
        &PersonalizeConfig::default(),
        "fixture",
    )
    .unwrap();
    assert!(adl.replayed > 0, "{adl:?}");
    let adl_threshold = Detector::from_bytes(&adl_bytes, &Device::flex())
        .unwrap()
        .header
        .threshold;
    let fixture = serde_json::json!({
        "threshold": det.header.threshold,
        "adapted": report.adapted,
        "used": report.used,
        "probs": probs,
        "adl_only": {"threshold": adl_threshold, "replayed": adl.replayed, "used": adl.used},
    });
    let path = root.join("web/tests/personal-fixture.json");
    if std::env::var_os("FALLKD_WRITE_FIXTURE").is_some() {
        std::fs::write(&path, serde_json::to_string(&fixture).unwrap()).unwrap();
    }
    let stored: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&path).expect("web/tests/personal-fixture.json"),
    )
    .unwrap();
    assert_eq!(stored["adapted"], fixture["adapted"]);
    assert_eq!(stored["used"], fixture["used"]);
    assert!((stored["threshold"].as_f64().unwrap() - det.header.threshold).abs() < 1e-9);
    assert_eq!(
        stored["adl_only"]["replayed"],
        fixture["adl_only"]["replayed"]
    );
    assert_eq!(stored["adl_only"]["used"], fixture["adl_only"]["used"]);
    assert!((stored["adl_only"]["threshold"].as_f64().unwrap() - adl_threshold).abs() < 1e-9);
    let want: Vec<f64> = serde_json::from_value(stored["probs"].clone()).unwrap();
    assert_eq!(want.len(), probs.len());
    for (w, p) in want.iter().zip(&probs) {
        assert!(
            (w - p).abs() < 1e-6,
            "stored {w}, now {p}: regenerate the fixture"
        );
    }
}
