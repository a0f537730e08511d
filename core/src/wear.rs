//! Where the sensor seems to be worn: the note live mode shows when the motion looks like a phone
//! in a trouser pocket rather than a watch on the wrist (issue #36).
//!
//! The models learnt from a watch on the wrist. Walking with a watch, the arm hangs and swings:
//! gravity lies along the watch's x axis (the forearm; 63 % of the archive's walking recordings
//! hold it within 30 degrees of x, 4 % within 30 degrees of y). A phone in a trouser pocket stands
//! upright while its wearer walks: gravity lies along its y axis (the long side). So a stretch of
//! movement with gravity within 30 degrees of the device's y axis reads as a phone in a pocket.
//! It is a hint, not a measurement: no phone-in-pocket recording was available to measure how
//! often it catches one (docs/browser.md gives the rate at which it fires on the archive's watch
//! recordings).

/// Settings of [`pocket_note`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PocketRule {
    /// Largest angle, in degrees, between gravity and the device's y axis.
    pub max_angle_deg: f64,
    /// Smallest spread (standard deviation) of |a|, as a share of gravity: the wearer moves.
    pub min_motion: f64,
    /// Largest spread of |a|, as a share of gravity (above it: a fall or a shake, not walking).
    pub max_motion: f64,
    /// Fewest samples a stretch needs.
    pub min_samples: usize,
    /// Smallest autocorrelation of |a| at a walking period (0.35-1.2 s: a step or a stride):
    /// the wearer walks.
    pub min_cadence: f64,
}

impl Default for PocketRule {
    fn default() -> Self {
        PocketRule {
            max_angle_deg: 30.0,
            min_motion: 0.08,
            max_motion: 1.0,
            min_samples: 50,
            min_cadence: 0.5,
        }
    }
}

/// What a stretch of accelerometer samples says about where the sensor is worn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wear {
    /// Angle, in degrees, between the stretch's mean acceleration (gravity) and the device's y
    /// axis (either direction).
    pub angle_to_y_deg: f64,
    /// Standard deviation of |a| as a share of |mean a|.
    pub motion: f64,
    /// Highest autocorrelation of |a| (on a 50 Hz clock) at a lag of 0.35-1.2 s.
    pub cadence: f64,
    /// The stretch reads as a phone in a trouser pocket under the rule.
    pub pocket: bool,
}

/// Reads a stretch of accelerometer samples (`(N, 3)`, any unit: only directions and ratios
/// count) at `timestamps` (seconds, sorted) under `rule`. `None` when the stretch is too short
/// or its mean is zero.
pub fn wear(acc: &[[f32; 3]], timestamps: &[f64], rule: &PocketRule) -> Option<Wear> {
    if acc.len() < rule.min_samples.max(2) || timestamps.len() != acc.len() {
        return None;
    }
    let n = acc.len() as f64;
    let mut mean = [0.0f64; 3];
    for a in acc {
        for (m, v) in mean.iter_mut().zip(a) {
            *m += f64::from(*v) / n;
        }
    }
    let g = mean.iter().map(|m| m * m).sum::<f64>().sqrt();
    if !(g.is_finite() && g > 0.0) {
        return None;
    }
    let mags: Vec<f64> = acc
        .iter()
        .map(|a| a.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt())
        .collect();
    let mm = mags.iter().sum::<f64>() / n;
    let sd = (mags.iter().map(|m| (m - mm).powi(2)).sum::<f64>() / n).sqrt();
    let angle_to_y_deg = (mean[1].abs() / g).clamp(0.0, 1.0).acos().to_degrees();
    let motion = sd / g;
    let cadence = cadence(&mags, timestamps);
    Some(Wear {
        angle_to_y_deg,
        motion,
        cadence,
        pocket: angle_to_y_deg <= rule.max_angle_deg
            && motion >= rule.min_motion
            && motion <= rule.max_motion
            && cadence >= rule.min_cadence,
    })
}

/// The highest autocorrelation of `mags` (at `timestamps`), put on a 50 Hz clock, at a lag of
/// 0.35-1.2 s; 0 for a stretch too short to hold two such periods.
fn cadence(mags: &[f64], timestamps: &[f64]) -> f64 {
    const HZ: f64 = 50.0;
    let (t0, t1) = (timestamps[0], timestamps[timestamps.len() - 1]);
    let n = ((t1 - t0) * HZ).floor() as usize;
    if n < (2.4 * HZ) as usize {
        return 0.0;
    }
    // Linear interpolation onto the clock.
    let mut even = Vec::with_capacity(n);
    let mut j = 0;
    for i in 0..n {
        let t = t0 + i as f64 / HZ;
        while j + 2 < timestamps.len() && timestamps[j + 1] <= t {
            j += 1;
        }
        let (ta, tb) = (timestamps[j], timestamps[j + 1]);
        let w = if tb > ta {
            ((t - ta) / (tb - ta)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        even.push(mags[j] * (1.0 - w) + mags[j + 1] * w);
    }
    let m = even.iter().sum::<f64>() / n as f64;
    let x: Vec<f64> = even.iter().map(|v| v - m).collect();
    let var = x.iter().map(|v| v * v).sum::<f64>();
    if var <= 0.0 {
        return 0.0;
    }
    ((0.35 * HZ) as usize..=(1.2 * HZ) as usize)
        .filter(|&lag| lag < n)
        .map(|lag| {
            x[..n - lag]
                .iter()
                .zip(&x[lag..])
                .map(|(a, b)| a * b)
                .sum::<f64>()
                / var
        })
        .fold(0.0, f64::max)
}

/// The note for the wearer when a stretch reads as a phone in a pocket, else `None`.
pub fn pocket_note(acc: &[[f32; 3]], timestamps: &[f64], rule: &PocketRule) -> Option<String> {
    wear(acc, timestamps, rule).filter(|w| w.pocket).map(|w| {
        format!(
            "the motion looks like a phone in a trouser pocket (upright, gravity {:.0} degrees from \
             its long side, while walking), not a watch on the wrist: the model learnt from a \
             watch, so it may miss falls or alarm on other movements here",
            w.angle_to_y_deg
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten seconds at 50 Hz of walking: gravity along `down` (a unit vector), a 2 Hz bounce of
    /// `bounce` g along it and a sway across it.
    fn walk(down: [f32; 3], bounce: f32) -> (Vec<[f32; 3]>, Vec<f64>) {
        let across = [down[1], down[2], down[0]];
        let acc = (0..500)
            .map(|i| {
                let t = i as f32 / 50.0;
                let b = 1.0 + bounce * (2.0 * std::f32::consts::PI * 2.0 * t).sin();
                let s = 0.2 * (2.0 * std::f32::consts::PI * 1.0 * t).sin();
                [0, 1, 2].map(|k| 9.81 * (b * down[k] + s * across[k]))
            })
            .collect();
        (acc, (0..500).map(|i| i as f64 / 50.0).collect())
    }

    #[test]
    fn a_phone_upright_in_a_pocket_is_noted_and_a_wrist_is_not() {
        let rule = PocketRule::default();
        // Phone in a pocket: gravity along -y, walking.
        let note = |(a, t): (Vec<[f32; 3]>, Vec<f64>)| pocket_note(&a, &t, &rule);
        let note = note(walk([0.0, -1.0, 0.0], 0.3)).unwrap();
        assert!(note.contains("phone in a trouser pocket"), "{note}");
        // Tilted 20 degrees: still the pocket.
        let (s, c) = 20f32.to_radians().sin_cos();
        let read = |(a, t): (Vec<[f32; 3]>, Vec<f64>)| wear(&a, &t, &rule);
        assert!(read(walk([s, c, 0.0], 0.3)).unwrap().pocket);
        // A watch on a hanging arm: gravity along x.
        assert!(!read(walk([1.0, 0.0, 0.0], 0.3)).unwrap().pocket);
        // Upright but still (standing, or lying on a table on its side): no note.
        assert!(!read(walk([0.0, 1.0, 0.0], 0.0)).unwrap().pocket);
        // Upright and moving, but without a walking rhythm (noise): no note.
        let (a, t) = walk([0.0, 1.0, 0.0], 0.0);
        let mut r = crate::rng::Rng::new(5);
        let shaken: Vec<[f32; 3]> = a
            .iter()
            .map(|v| v.map(|x| x + 3.0 * (r.uniform() as f32 - 0.5)))
            .collect();
        let w = wear(&shaken, &t, &rule).unwrap();
        assert!(w.motion >= rule.min_motion && !w.pocket, "{w:?}");
        // Too short, or no gravity at all: nothing to say.
        let (a, t) = walk([0.0, 1.0, 0.0], 0.3);
        assert!(wear(&a[..10], &t[..10], &rule).is_none());
        assert!(wear(&[[0.0; 3]; 60], &t[..60], &rule).is_none());
    }

    #[test]
    fn units_do_not_matter() {
        let rule = PocketRule::default();
        let (ms2, t) = walk([0.3, -0.95, 0.1], 0.25);
        let g: Vec<[f32; 3]> = ms2.iter().map(|a| a.map(|v| v / 9.81)).collect();
        let (a, b) = (wear(&ms2, &t, &rule).unwrap(), wear(&g, &t, &rule).unwrap());
        assert!((a.angle_to_y_deg - b.angle_to_y_deg).abs() < 1e-3);
        assert!((a.motion - b.motion).abs() < 1e-4);
        assert_eq!(a.pocket, b.pocket);
    }
}
