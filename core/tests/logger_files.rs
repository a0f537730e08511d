//! Files as phone and watch loggers write them (`tests/fixtures/loggers/`, built from each app's
//! documented layout: phyphox, Sensor Logger, an Android `SensorManager` dump, an Apple Core
//! Motion export, a dataset's `*_list` columns in g, a headerless file in milliseconds from the
//! start, files holding both sensors: in columns beside one time, or in rows naming their
//! sensor) are read into the same recording: 400 samples 20 ms apart, a wrist at rest in m/s^2
//! and rad/s, with notes that say what was read; units given by the user are used.

use fallkd_core::data::units::{AccUnit, GyroUnit, Units};
use fallkd_core::data::window::WindowConfig;
use fallkd_core::inference::prepare_recording_in;

fn fixture(name: &str) -> Vec<u8> {
    let p = format!(
        "{}/tests/fixtures/loggers/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Reads a pair through the path `fallkd predict` and the page take; returns the notes.
fn read(acc: &str, gyro: Option<&str>) -> Vec<String> {
    read_in(acc, gyro, gyro.is_some(), Units::default())
}

/// [`read`] with the units given, checking the gyroscope is read (`with_gyro`: from its own
/// file or from the accelerometer's).
fn read_in(acc: &str, gyro: Option<&str>, with_gyro: bool, units: Units) -> Vec<String> {
    let (a, g) = (fixture(acc), gyro.map(fixture));
    let r = prepare_recording_in(
        (acc, &a),
        gyro.zip(g.as_deref()),
        &WindowConfig::default(),
        units,
    )
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
    assert_eq!(t.gyro_missing, !with_gyro, "{acc}: {:?}", r.notes);
    if with_gyro {
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
    let n = read_in("core-motion-export.csv", None, true, Units::default());
    assert!(
        has(&n, "accelerometerAccelerationX(G)") && has(&n, "the accelerometer's were read"),
        "{n:?}"
    );
    assert!(
        has(&n, "gyroRotationX(rad/s)") && has(&n, "the gyroscope's were read"),
        "{n:?}"
    );
    assert!(has(&n, "read as g"), "{n:?}");
}

#[test]
fn both_sensors_of_one_file_are_read() {
    let n = read_in("combined-one-time.csv", None, true, Units::default());
    assert!(has(&n, "x, y, z from 'gx', 'gy', 'gz'"), "{n:?}");
    let n = read_in("android-sensor-rows.csv", None, true, Units::default());
    assert!(
        has(&n, "the accelerometer's rows by 'sensor'")
            && has(&n, "the gyroscope's rows by 'sensor'"),
        "{n:?}"
    );
    // The accelerometer's read skipped the gyroscope's 400 rows and the magnetometer's 40.
    assert!(
        has(
            &n,
            "skipped 440 lines of other sensors (by the 'sensor' column)"
        ),
        "{n:?}"
    );
    assert!(has(&n, "degrees per second"), "{n:?}");
    // A file of one sensor given for the gyroscope is read whatever its columns' names.
    read(
        "android-accelerometer.csv",
        Some("android-gyroscope-deg.csv"),
    );
}

#[test]
fn given_units_are_used_and_disagreement_is_noted() {
    // The Core Motion export is in g: told so, it reads as detected, saying it was given.
    let n = read_in(
        "core-motion-export.csv",
        None,
        true,
        Units {
            acc: Some(AccUnit::G),
            gyro: Some(GyroUnit::RadPerS),
        },
    );
    assert!(has(&n, "acceleration read as g, as given"), "{n:?}");
    // The deg/s gyroscope told deg/s: converted, saying it was given.
    let n = read_in(
        "android-accelerometer.csv",
        Some("android-gyroscope-deg.csv"),
        true,
        Units {
            acc: None,
            gyro: Some(GyroUnit::DegPerS),
        },
    );
    assert!(
        has(&n, "rotation read as degrees per second, as given"),
        "{n:?}"
    );
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
