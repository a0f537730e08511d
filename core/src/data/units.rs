//! Units of a watch's acceleration: m/s^2 (what the models read) or g, told apart by gravity.
//!
//! At rest a watch feels 1 g, which is 9.81 in m/s^2 and 1.0 in g; over any recording of a
//! person wearing it the median |a| stays near that (falls and jumps are short). A median |a|
//! between 0.5 and 2.5 can only be g (in m/s^2 it would be a watch in free fall most of the
//! time); anything else is read as m/s^2.

/// One g in m/s^2.
pub const STANDARD_GRAVITY: f64 = 9.80665;

/// The unit of an accelerometer file's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccUnit {
    /// Metres per second squared (the SmartFallMM watch, Android's `SensorManager`).
    MetresPerSecond2,
    /// Multiples of standard gravity (Apple's Core Motion, many loggers).
    G,
}

/// The median |a| of `values` (0 without samples; non-finite samples skipped).
pub fn median_magnitude(values: &[[f32; 3]]) -> f64 {
    let mut m: Vec<f64> = values
        .iter()
        .map(|v| ((v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) as f64).sqrt())
        .filter(|m| m.is_finite())
        .collect();
    if m.is_empty() {
        return 0.0;
    }
    let mid = m.len() / 2;
    *m.select_nth_unstable_by(mid, f64::total_cmp).1
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
/// m/s^2 alone (`None`).
pub fn acc_to_si(values: &mut [[f32; 3]]) -> Option<String> {
    match detect_acc_unit(values) {
        AccUnit::MetresPerSecond2 => None,
        AccUnit::G => {
            let median = median_magnitude(values);
            for v in values.iter_mut() {
                *v = v.map(|x| (x as f64 * STANDARD_GRAVITY) as f32);
            }
            Some(format!(
                "acceleration read as g (median |a| {median:.2}) and converted to m/s^2"
            ))
        }
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
        let note = acc_to_si(&mut g).unwrap();
        assert!(note.contains("as g"), "{note}");
        for (a, b) in g.iter().zip(&si) {
            assert!((a[2] - b[2]).abs() < 1e-5);
        }
        let mut unchanged = si.clone();
        assert_eq!(acc_to_si(&mut unchanged), None);
        assert_eq!(unchanged, si);
        // A fall's spike does not move the median.
        let mut spiky = rest.clone();
        spiky[10] = [0.0, 0.0, 6.0];
        assert_eq!(detect_acc_unit(&spiky), AccUnit::G);
        assert_eq!(detect_acc_unit(&[]), AccUnit::MetresPerSecond2);
    }
}
