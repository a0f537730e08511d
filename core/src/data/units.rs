//! Units of a watch's acceleration: m/s^2 (what the models read) or g, told apart by gravity;
//! and of its rotation: rad/s or degrees per second, told apart by size ([`gyro_to_si`]).
//!
//! At rest a watch feels 1 g, which is 9.81 in m/s^2 and 1.0 in g; over any recording of a
//! person wearing it the median |a| stays near that (falls and jumps are short). A median |a|
//! between 0.5 and 2.5 can only be g (in m/s^2 it would be a watch in free fall most of the
//! time); anything else is read as m/s^2.

/// One g in m/s^2.
pub const STANDARD_GRAVITY: f64 = 9.80665;

/// The unit of an accelerometer file's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum AccUnit {
    /// Metres per second squared (the SmartFallMM watch, Android's `SensorManager`).
    #[cfg_attr(feature = "clap", value(name = "m/s^2", alias = "ms2"))]
    #[serde(rename = "m/s^2")]
    MetresPerSecond2,
    /// Multiples of standard gravity (Apple's Core Motion, many loggers).
    #[cfg_attr(feature = "clap", value(name = "g"))]
    #[serde(rename = "g")]
    G,
}

impl AccUnit {
    /// Its name in notes.
    pub fn name(self) -> &'static str {
        match self {
            AccUnit::MetresPerSecond2 => "m/s^2",
            AccUnit::G => "g",
        }
    }
}

/// The unit of a gyroscope file's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum GyroUnit {
    /// Radians per second (the SmartFallMM watch, Android, Core Motion).
    #[cfg_attr(feature = "clap", value(name = "rad/s", alias = "rads"))]
    #[serde(rename = "rad/s")]
    RadPerS,
    /// Degrees per second (many IMU loggers and datasets).
    #[cfg_attr(feature = "clap", value(name = "deg/s", alias = "degs"))]
    #[serde(rename = "deg/s")]
    DegPerS,
}

impl GyroUnit {
    /// Its name in notes.
    pub fn name(self) -> &'static str {
        match self {
            GyroUnit::RadPerS => "rad/s",
            GyroUnit::DegPerS => "degrees per second",
        }
    }
}

/// The units a user gives for a recording's files (`--acc-unit`, `--gyro-unit`, the page's unit
/// choices); `None` detects them from the values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Units {
    /// The accelerometer's unit, or detect it.
    pub acc: Option<AccUnit>,
    /// The gyroscope's unit, or detect it.
    pub gyro: Option<GyroUnit>,
}

/// The size of each sample of `values`, non-finite ones skipped.
fn magnitudes(values: &[[f32; 3]]) -> Vec<f64> {
    values
        .iter()
        .map(|v| ((v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) as f64).sqrt())
        .filter(|m| m.is_finite())
        .collect()
}

/// The `q`-quantile (0..=1, the lower neighbour) of `m`, reordering it; `None` when empty.
fn quantile(m: &mut [f64], q: f64) -> Option<f64> {
    let k = ((m.len() as f64 * q) as usize).min(m.len().checked_sub(1)?);
    Some(*m.select_nth_unstable_by(k, f64::total_cmp).1)
}

/// The median |a| of `values` (0 without samples; non-finite samples skipped).
pub fn median_magnitude(values: &[[f32; 3]]) -> f64 {
    quantile(&mut magnitudes(values), 0.5).unwrap_or(0.0)
}

/// The unit `values` are written in, from their median |a| (module docs).
pub fn detect_acc_unit(values: &[[f32; 3]]) -> AccUnit {
    if (0.5..=2.5).contains(&median_magnitude(values)) {
        AccUnit::G
    } else {
        AccUnit::MetresPerSecond2
    }
}

/// Converts accelerometer `values` written in g to m/s^2 in place, and says so; leaves values in
/// m/s^2 alone (`None`). The unit is `given`, or detected from gravity; a given unit the values
/// disagree with is used, with a note saying what they suggest.
pub fn acc_to_si(values: &mut [[f32; 3]], given: Option<AccUnit>) -> Option<String> {
    let detected = detect_acc_unit(values);
    let median = median_magnitude(values);
    let unit = given.unwrap_or(detected);
    if unit == AccUnit::G {
        for v in values.iter_mut() {
            *v = v.map(|x| (x as f64 * STANDARD_GRAVITY) as f32);
        }
    }
    let converted = if unit == AccUnit::G {
        " and converted to m/s^2"
    } else {
        ""
    };
    match given {
        None if unit == AccUnit::MetresPerSecond2 => None,
        None => Some(format!(
            "acceleration read as g (median |a| {median:.2}){converted}"
        )),
        Some(u) if u == detected && u == AccUnit::MetresPerSecond2 => None,
        Some(u) if u == detected => Some(format!(
            "acceleration read as g, as given (median |a| {median:.2}){converted}"
        )),
        Some(u) => Some(format!(
            "acceleration read as {}, as given{converted}, although its median |a| {median:.2} suggests {}",
            u.name(),
            detected.name()
        )),
    }
}

/// A gyroscope is in degrees per second when the 99th percentile of |omega| is above this
/// (60 rad/s, 3400 deg/s: past the 2000 deg/s range of watch gyroscopes; the SmartFallMM
/// watch's files reach 40 rad/s at most) ...
pub const DEG_PER_S_P99_ABOVE: f64 = 60.0;
/// ... or its median |omega| is above this (8 rad/s would be a wrist spinning most of the time;
/// the SmartFallMM files' medians stay under 3.7 rad/s, while an arm that moves at all passes
/// 8 deg/s). A calm recording in deg/s can pass for rad/s: the note then says nothing, and
/// only the file's own unit tells.
pub const DEG_PER_S_MEDIAN_ABOVE: f64 = 8.0;

/// The unit gyroscope `values` are written in, from their size (the bounds above), with the
/// median and 99th percentile of |omega|; `None` without samples.
pub fn detect_gyro_unit(values: &[[f32; 3]]) -> Option<(GyroUnit, f64, f64)> {
    let mut m = magnitudes(values);
    let p99 = quantile(&mut m, 0.99)?;
    let median = quantile(&mut m, 0.5)?;
    let unit = if p99 <= DEG_PER_S_P99_ABOVE && median <= DEG_PER_S_MEDIAN_ABOVE {
        GyroUnit::RadPerS
    } else {
        GyroUnit::DegPerS
    };
    Some((unit, median, p99))
}

/// Converts gyroscope `values` written in degrees per second to rad/s in place, and says so;
/// leaves values in rad/s alone (`None`). The unit is `given`, or detected from the values'
/// size; a given unit the values disagree with is used, with a note saying what they suggest.
pub fn gyro_to_si(values: &mut [[f32; 3]], given: Option<GyroUnit>) -> Option<String> {
    let (detected, median, p99) = detect_gyro_unit(values)?;
    let unit = given.unwrap_or(detected);
    if unit == GyroUnit::DegPerS {
        let f = std::f64::consts::PI / 180.0;
        for v in values.iter_mut() {
            *v = v.map(|x| (x as f64 * f) as f32);
        }
    }
    let sizes = format!("median |omega| {median:.1}, 99th percentile {p99:.0}");
    match given {
        None if unit == GyroUnit::RadPerS => None,
        None => Some(format!(
            "rotation read as degrees per second ({sizes}: too fast for rad/s) and converted to rad/s"
        )),
        Some(u) if u == detected && u == GyroUnit::RadPerS => None,
        Some(u) if u == detected => Some(format!(
            "rotation read as degrees per second, as given ({sizes}), and converted to rad/s"
        )),
        Some(GyroUnit::RadPerS) => Some(format!(
            "rotation read as rad/s, as given, although its size ({sizes}) suggests degrees per second"
        )),
        Some(GyroUnit::DegPerS) => Some(format!(
            "rotation read as degrees per second, as given, and converted to rad/s, although its \
             size ({sizes}) would pass for rad/s"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gravity_tells_the_unit() {
        let rest = vec![[0.1f32, 0.2, 0.98]; 50];
        assert_eq!(detect_acc_unit(&rest), AccUnit::G);
        let si: Vec<[f32; 3]> = rest.iter().map(|v| v.map(|x| x * 9.80665)).collect();
        assert_eq!(detect_acc_unit(&si), AccUnit::MetresPerSecond2);
        let mut g = rest.clone();
        let note = acc_to_si(&mut g, None).unwrap();
        assert!(note.contains("as g"), "{note}");
        for (a, b) in g.iter().zip(&si) {
            assert!((a[2] - b[2]).abs() < 1e-5);
        }
        let mut unchanged = si.clone();
        assert_eq!(acc_to_si(&mut unchanged, None), None);
        assert_eq!(unchanged, si);
        // A fall's spike does not move the median.
        let mut spiky = rest.clone();
        spiky[10] = [0.0, 0.0, 6.0];
        assert_eq!(detect_acc_unit(&spiky), AccUnit::G);
        assert_eq!(detect_acc_unit(&[]), AccUnit::MetresPerSecond2);
    }

    #[test]
    fn degrees_per_second_are_told_by_their_size() {
        // Up to 40 rad/s in a few samples, as the SmartFallMM watch records.
        let mut moving: Vec<[f32; 3]> =
            (0..200).map(|i| [(i % 7) as f32 * 0.5, 1.0, 0.2]).collect();
        moving[3] = [40.0, 0.0, 0.0];
        let mut rad = moving.clone();
        assert_eq!(gyro_to_si(&mut rad, None), None);
        assert_eq!(rad, moving);
        let mut deg: Vec<[f32; 3]> = moving.iter().map(|v| v.map(|x| x.to_degrees())).collect();
        let note = gyro_to_si(&mut deg, None).unwrap();
        assert!(note.contains("degrees per second"), "{note}");
        for (a, b) in deg.iter().zip(&moving) {
            assert!((a[0] - b[0]).abs() < 1e-5 && (a[1] - b[1]).abs() < 1e-5);
        }
        assert_eq!(gyro_to_si(&mut [], None), None);
    }

    #[test]
    fn a_given_unit_is_used_and_a_disagreeing_one_is_noted() {
        let rest = vec![[0.1f32, 0.2, 0.98]; 50];
        // Given and detected agree: converted, saying it was given.
        let mut g = rest.clone();
        let note = acc_to_si(&mut g, Some(AccUnit::G)).unwrap();
        assert!(
            note.contains("as given") && !note.contains("although"),
            "{note}"
        );
        assert!((g[0][2] - 0.98 * 9.80665).abs() < 1e-4);
        // Given m/s^2 for values in g: kept as they are, with what they suggest.
        let mut kept = rest.clone();
        let note = acc_to_si(&mut kept, Some(AccUnit::MetresPerSecond2)).unwrap();
        assert!(note.contains("suggests g"), "{note}");
        assert_eq!(kept, rest);
        // Given m/s^2 for values in m/s^2: nothing to say.
        let mut si: Vec<[f32; 3]> = rest.iter().map(|v| v.map(|x| x * 9.80665)).collect();
        assert_eq!(acc_to_si(&mut si, Some(AccUnit::MetresPerSecond2)), None);
        // Given g for values in m/s^2: converted as told, with a warning.
        let note = acc_to_si(&mut si, Some(AccUnit::G)).unwrap();
        assert!(note.contains("suggests m/s^2"), "{note}");
        // A calm gyroscope in deg/s passes for rad/s unless told.
        let calm = vec![[2.0f32, 1.0, 0.5]; 100];
        let mut auto = calm.clone();
        assert_eq!(gyro_to_si(&mut auto, None), None);
        let mut told = calm.clone();
        let note = gyro_to_si(&mut told, Some(GyroUnit::DegPerS)).unwrap();
        assert!(note.contains("would pass for rad/s"), "{note}");
        assert!((told[0][0] - 2.0f32.to_radians()).abs() < 1e-6);
        // Told rad/s for values only deg/s can be: kept, with a warning.
        let mut fast = vec![[200.0f32, 10.0, 5.0]; 100];
        let note = gyro_to_si(&mut fast, Some(GyroUnit::RadPerS)).unwrap();
        assert!(note.contains("suggests degrees per second"), "{note}");
        assert_eq!(fast[0][0], 200.0);
    }
}
