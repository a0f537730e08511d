//! The native half of the browser comparison: the bundled student (`web/assets/student.fallkd`)
//! on one generated window must give the probability stored in `web/tests/fixture.json`, which
//! the browser tests (CPU and WebGPU) compare against. Regenerate after changing the model:
//! `FALLKD_WRITE_FIXTURE=1 cargo test --test web_fixture`.

use fallkd_core::burn::tensor::Device;
use fallkd_core::data::batch::EventWindow;
use fallkd_core::inference::{Detector, recording_windows};
use fallkd_core::synth::{SynthConfig, generate};

#[test]
fn bundled_student_matches_the_browser_fixture() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = std::fs::read(root.join("web/assets/student.fallkd")).unwrap();
    let det = Detector::from_bytes(&model, &Device::flex()).unwrap();
    let files = generate(&SynthConfig {
        subjects: 1,
        trials: 1,
        seed: 7,
        subject_without_gyro: false,
    });
    let get = |p: &str| {
        files
            .iter()
            .find(|(n, _)| n == p)
            .map(|(_, t)| t.as_bytes().to_vec())
            .unwrap()
    };
    let acc = get("young/accelerometer/watch/S01A11T01.csv");
    let gyro = get("young/gyroscope/watch/S01A11T01.csv");
    let (windows, _, _) = recording_windows(
        ("S01A11T01.csv", &acc),
        Some(("S01A11T01.csv", &gyro)),
        det.header.window_seconds,
    )
    .unwrap();
    let w = EventWindow::from(&windows[windows.len() / 2]);
    let prob = pollster::block_on(det.run(&[w.clone()])).unwrap()[0].0;
    assert!(prob.is_finite() && (0.0..=1.0).contains(&prob));
    let path = root.join("web/tests/fixture.json");
    let fixture = serde_json::json!({
        "events": w.events.iter().flatten().collect::<Vec<_>>(),
        "timestamps": w.timestamps,
        "prob": prob,
    });
    if std::env::var_os("FALLKD_WRITE_FIXTURE").is_some() {
        std::fs::write(&path, serde_json::to_string(&fixture).unwrap()).unwrap();
    }
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("web/tests/fixture.json"))
            .unwrap();
    assert_eq!(
        stored["events"], fixture["events"],
        "fixture input differs: regenerate it (see the module doc)"
    );
    assert_eq!(stored["timestamps"], fixture["timestamps"]);
    let sp = stored["prob"].as_f64().unwrap();
    assert!(
        (sp - prob).abs() < 1e-6,
        "native probability {prob} differs from the fixture's {sp}: regenerate it if the model changed"
    );
}
