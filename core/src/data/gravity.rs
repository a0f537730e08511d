//! Gravity axes: a window's events in a frame that gravity fixes rather than the watch's case,
//! so that the other wrist, a watch turned in its band or another brand's axis convention give
//! the student the same input (issue #32, invariance by construction).
//!
//! Per event, from the window's gravity direction `g` (the time-weighted mean acceleration,
//! made a unit vector) and the raw acceleration `a` and rotation rate `w`:
//! `[|a|, a.g, |a - (a.g) g|, |w|, |w.g|, |w - (w.g) g|]`: the acceleration's size, its
//! vertical part (posture and free fall) and its horizontal size, and the same for the rotation.
//! Every channel is a length or a dot product of vectors that turn together, so a rotation of
//! the watch frame leaves them unchanged; a mirror (the other wrist) turns the gyroscope into
//! minus its mirror image (a pseudo-vector), which the absolute values absorb. A missing
//! gyroscope (all zeros) stays zero.
//!
//! The time weights (each sample holds until the next, at most 0.1 s) keep the gravity estimate
//! from leaning toward a burst's many samples, so it does not depend on the sampling rate.

use serde::{Deserialize, Serialize};

use super::events::Event;

/// The frame a student reads a window's events in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Axes {
    /// The watch's own x, y, z axes (what every model before issue #32 reads).
    #[default]
    Device,
    /// Lengths and gravity projections, the same in any watch frame ([`to_gravity_axes`]).
    Gravity,
}

impl Axes {
    /// Whether this is the device frame (the default, left out of written files).
    pub fn is_device(&self) -> bool {
        *self == Axes::Device
    }
}

/// Longest time one sample stands for in the gravity average, in seconds.
const MAX_HOLD_S: f64 = 0.1;

/// The window's gravity direction: the time-weighted mean acceleration as a unit vector, or
/// `None` when it is zero (an empty window, or one in free fall throughout).
pub fn gravity_direction(events: &[Event], timestamps: &[f64]) -> Option<[f64; 3]> {
    let n = events.len().min(timestamps.len());
    if n == 0 {
        return None;
    }
    let mut sum = [0f64; 3];
    let mut total = 0f64;
    for i in 0..n {
        let w = if i + 1 < n {
            (timestamps[i + 1] - timestamps[i]).clamp(0.0, MAX_HOLD_S)
        } else {
            0.0
        };
        for (s, v) in sum.iter_mut().zip(&events[i][..3]) {
            *s += w * finite(*v);
        }
        total += w;
    }
    if total <= 0.0 {
        // No time between the samples: every sample counts once.
        sum = [0.0; 3];
        for e in &events[..n] {
            for (s, v) in sum.iter_mut().zip(&e[..3]) {
                *s += finite(*v);
            }
        }
    }
    let norm = (sum[0] * sum[0] + sum[1] * sum[1] + sum[2] * sum[2]).sqrt();
    (norm > 1e-9 && norm.is_finite()).then(|| [sum[0] / norm, sum[1] / norm, sum[2] / norm])
}

fn finite(v: f32) -> f64 {
    if v.is_finite() { v as f64 } else { 0.0 }
}

/// `[|v|, |v.g| or v.g, |v - (v.g) g|]` of one vector.
fn split(v: &[f32], g: Option<[f64; 3]>, signed: bool) -> [f32; 3] {
    let v = [finite(v[0]), finite(v[1]), finite(v[2])];
    let len = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    let Some(g) = g else {
        return [len as f32, 0.0, 0.0];
    };
    let along = v[0] * g[0] + v[1] * g[1] + v[2] * g[2];
    let across = (len * len - along * along).max(0.0).sqrt();
    [
        len as f32,
        if signed { along } else { along.abs() } as f32,
        across as f32,
    ]
}

/// The events of one window in gravity axes (module docs); `timestamps` in seconds, sorted.
///
/// # Shapes
/// - `events`: n events of 6 channels (acceleration m/s^2, rotation rate rad/s).
/// - output: n events of 6 channels.
pub fn to_gravity_axes(events: &[Event], timestamps: &[f64]) -> Vec<Event> {
    let g = gravity_direction(events, timestamps);
    events
        .iter()
        .map(|e| {
            let a = split(&e[..3], g, true);
            let w = split(&e[3..], g, false);
            [a[0], a[1], a[2], w[0], w[1], w[2]]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn window(seed: u64) -> (Vec<Event>, Vec<f64>) {
        let mut rng = Rng::new(seed);
        let mut t = 0.0;
        let (mut ev, mut ts) = (vec![], vec![]);
        for i in 0..120 {
            // Bursts: some duplicates, some short steps, some long ones.
            t += [0.0, 0.003, 0.04][i % 3];
            ts.push(t);
            let spike = if i == 60 { 25.0 } else { 0.0 };
            ev.push([
                (1.0 + rng.normal() * 0.5) as f32,
                (2.0 + rng.normal() * 0.5) as f32,
                (9.0 + rng.normal() * 0.5 + spike) as f32,
                rng.normal() as f32,
                rng.normal() as f32,
                rng.normal() as f32,
            ]);
        }
        (ev, ts)
    }

    fn turn(e: &Event, r: &[[f32; 3]; 3], mirror: bool) -> Event {
        let m = |v: [f32; 3]| {
            let mut o = [0f32; 3];
            for (i, row) in r.iter().enumerate() {
                o[i] = row[0] * v[0] + row[1] * v[1] + row[2] * v[2];
            }
            o
        };
        let (mut a, mut w) = ([e[0], e[1], e[2]], [e[3], e[4], e[5]]);
        if mirror {
            // The other wrist: x mirrored; the rotation rate is a pseudo-vector.
            a[0] = -a[0];
            w = [w[0], -w[1], -w[2]];
        }
        let (a, w) = (m(a), m(w));
        [a[0], a[1], a[2], w[0], w[1], w[2]]
    }

    #[test]
    fn turned_and_mirrored_watches_read_alike() {
        let (ev, ts) = window(3);
        let base = to_gravity_axes(&ev, &ts);
        let (c, s) = (0.6f32, 0.8f32);
        let rotations = [
            [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
            [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]],
            [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]],
        ];
        for r in rotations {
            for mirror in [false, true] {
                let moved: Vec<Event> = ev.iter().map(|e| turn(e, &r, mirror)).collect();
                let got = to_gravity_axes(&moved, &ts);
                for (a, b) in base.iter().zip(&got) {
                    for (x, y) in a.iter().zip(b) {
                        assert!((x - y).abs() < 1e-3, "{a:?} vs {b:?}");
                    }
                }
            }
        }
        // And the device frame is not: the check above can fail.
        let moved: Vec<Event> = ev.iter().map(|e| turn(e, &rotations[0], false)).collect();
        assert!((moved[0][0] - ev[0][0]).abs() > 0.1);
    }

    #[test]
    fn gravity_is_vertical_and_a_missing_gyroscope_stays_zero() {
        let ts: Vec<f64> = (0..10).map(|i| i as f64 * 0.025).collect();
        let ev: Vec<Event> = (0..10).map(|_| [0.0, 0.0, 9.81, 0.0, 0.0, 0.0]).collect();
        let g = to_gravity_axes(&ev, &ts);
        assert!((g[3][0] - 9.81).abs() < 1e-4 && (g[3][1] - 9.81).abs() < 1e-4);
        assert!(g[3][2].abs() < 1e-3 && g.iter().all(|e| e[3..] == [0.0; 3]));
        // No gravity at all (free fall), duplicates only, empty: finite, no panic.
        assert!(
            to_gravity_axes(&[[0.0; 6]; 4], &[0.0; 4])
                .iter()
                .flatten()
                .all(|v| v.is_finite())
        );
        assert!(to_gravity_axes(&[], &[]).is_empty());
        assert_eq!(
            gravity_direction(&[[f32::NAN, 0.0, 2.0, 0.0, 0.0, 0.0]], &[0.0]),
            Some([0.0, 0.0, 1.0])
        );
    }

    #[test]
    fn a_burst_does_not_pull_the_gravity_estimate() {
        // 1 s lying on the x axis at 25 Hz, then 1 s on z at 25 Hz whose first instant repeats
        // 100 times (a burst of duplicates): equal times, so gravity sits halfway.
        let mut ev = vec![];
        let mut ts = vec![];
        for i in 0..25 {
            ev.push([9.81, 0.0, 0.0, 0.0, 0.0, 0.0]);
            ts.push(i as f64 * 0.04);
        }
        for i in 0..26 {
            for _ in 0..if i == 0 { 100 } else { 1 } {
                ev.push([0.0, 0.0, 9.81, 0.0, 0.0, 0.0]);
                ts.push(1.0 + i as f64 * 0.04);
            }
        }
        let g = gravity_direction(&ev, &ts).unwrap();
        assert!(g[0] > 0.5 && g[2] > 0.5, "{g:?}");
    }
}
