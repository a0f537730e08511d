//! Files as phone and watch loggers write them (`tests/fixtures/loggers/`, built from each app's
//! documented layout: phyphox, Sensor Logger, an Android `SensorManager` dump, an Apple Core
//! Motion export, a dataset's `*_list` columns in g, a headerless file in milliseconds from the
//! start) are read into the same recording: 400 samples 20 ms apart, a wrist at rest in m/s^2
//! and rad/s, with notes that say what was read.

use fallkd_core::data::window::WindowConfig;
use fallkd_core::inference::prepare_recording;

fn fixture(name: &str) -> Vec<u8> {
    let p = format!(
        "{}/tests/fixtures/loggers/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Reads a pair through the path `fallkd predict` and the page take; returns the notes.
fn read(acc: &str, gyro: Option<&str>) -> Vec<String> {
    let (a, g) = (fixture(acc), gyro.map(fixture));
    let r = prepare_recording((acc, &a), gyro.zip(g.as_deref()), &WindowConfig::default())
        .unwrap_or_else(|e| panic!("{acc}: {e}"));
    let t = &r.trial;
    let n = t.timestamps.len();
    assert!(n >= 395, "{acc}: {n} events");
    let step = t.timestamps[n - 1] / (n - 1) as f64;
    assert!((step - 0.02).abs() < 1e-3, "{acc}: {step} s between events");
    let a0 = t.events[0];
    let g = (a0[0] * a0[0] + a0[1] * a0[1] + a0[2] * a0[2]).sqrt();
    assert!((g - 9.7).abs() < 0.4, "{acc}: |a| {g} (m/s^2 expected)");
    // x, y, z in order: x about 1.2, y about 2.0, z about 9.4 (the fixture's wrist).
    assert!(
        (a0[0] - 1.2).abs() < 0.1 && (a0[1] - 2.2).abs() < 0.1,
        "{acc}: {a0:?}"
    );
    if gyro.is_some() {
        assert!(!t.gyro_missing, "{acc}");
        let w = t.events.iter().map(|e| e[4].abs()).fold(0f32, f32::max);
        assert!(w > 0.1 && w < 0.3, "{acc}: gyroscope y up to {w} rad/s");
    }
    r.notes
}

fn has(notes: &[String], what: &str) -> bool {
    notes.iter().any(|n| n.contains(what))
}

#[test]
fn phyphox_sensor_logger_android_and_core_motion_files_are_read() {
    let n = read("phyphox-accelerometer.csv", Some("phyphox-gyroscope.csv"));
    assert!(has(&n, "time from 'Time (s)' (in seconds)"), "{n:?}");
    let n = read(
        "sensor-logger-TotalAcceleration.csv",
        Some("sensor-logger-Gyroscope.csv"),
    );
    assert!(has(&n, "x, y, z from 'x', 'y', 'z'"), "{n:?}");
    let n = read(
        "android-accelerometer.csv",
        Some("android-gyroscope-deg.csv"),
    );
    assert!(has(&n, "degrees per second"), "{n:?}");
    let n = read("core-motion-export.csv", None);
    assert!(
        has(&n, "accelerometerAccelerationX(G)") && has(&n, "2 sensors"),
        "{n:?}"
    );
    assert!(has(&n, "read as g"), "{n:?}");
}

#[test]
fn seconds_or_milliseconds_from_the_start_are_read() {
    let n = read("accel-time-list.csv", None);
    assert!(
        has(&n, "'accel_time_list'") && has(&n, "read as g"),
        "{n:?}"
    );
    let n = read("ms-from-start.csv", None);
    assert!(has(&n, "times read as milliseconds"), "{n:?}");
}
