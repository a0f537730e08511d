//! Hand-made window features for a baseline fall classifier.
//!
//! One window is a slice of events `[ax, ay, az, gx, gy, gz]` (accelerometer in m/s^2 with
//! gravity, gyroscope in rad/s) plus their timestamps in seconds since the window's first event.
//! The real watch delivers events in bursts (exact duplicate timestamps, then 0-5 ms steps, then
//! 30-60 ms gaps), so every time-based feature is written to stay finite on such timing: the jerk
//! merges samples sharing a timestamp and differentiates over at least 20 ms, and integrals give
//! duplicate intervals zero weight.
//!
//! [`window_features`] never panics and always returns finite values: empty or one-event windows
//! give zeros where a feature is undefined, non-finite inputs are read as 0, and timestamps that
//! go backwards are held at the previous value.

/// Standard gravity in m/s^2 (1 g).
const G: f64 = 9.81;
/// Free-fall threshold on |a| (0.5 g).
const FREE_FALL: f64 = 0.5 * G;
/// Shortest time span the jerk is differentiated over, in seconds.
const JERK_SPAN_S: f64 = 0.02;
/// Tolerance when comparing time spans, in seconds.
const TIME_EPS: f64 = 1e-9;

/// Number of features.
pub const NUM_FEATURES: usize = 50;

const NAMES: [&str; NUM_FEATURES] = [
    // |a| distribution
    "acc_mag_mean",
    "acc_mag_std",
    "acc_mag_min",
    "acc_mag_max",
    "acc_mag_range",
    "acc_mag_q10",
    "acc_mag_q50",
    "acc_mag_q90",
    "acc_mag_max_minus_median",
    "acc_peak_g",
    "acc_peak_time_frac",
    // impact dynamics
    "acc_jerk_max",
    "acc_energy",
    "acc_frac_above_2g",
    "freefall_frac",
    "freefall_longest_s",
    // stillness
    "still_std_last_1s",
    "still_std_after_peak",
    "still_after_peak_coverage",
    // per-axis acceleration
    "acc_x_mean",
    "acc_x_std",
    "acc_x_min",
    "acc_x_max",
    "acc_y_mean",
    "acc_y_std",
    "acc_y_min",
    "acc_y_max",
    "acc_z_mean",
    "acc_z_std",
    "acc_z_min",
    "acc_z_max",
    // orientation
    "orient_change_rad",
    "grav_before_x",
    "grav_before_y",
    "grav_before_z",
    "grav_after_x",
    "grav_after_y",
    "grav_after_z",
    // gyroscope
    "gyro_mag_mean",
    "gyro_mag_std",
    "gyro_mag_max",
    "gyro_mag_q90",
    "gyro_x_std",
    "gyro_y_std",
    "gyro_z_std",
    "gyro_rotation_rad",
    "acc_max_near_gyro_peak",
    "gyro_missing",
    // timing
    "duration_s",
    "event_rate_hz",
];

/// Names of the features, in the order [`window_features`] returns them (for reports).
pub fn feature_names() -> [&'static str; NUM_FEATURES] {
    NAMES
}

/// Replaces, in a row of [`window_features`] of `events`, the features tied to the watch's own
/// axes or to its sampling rate, for a student that reads gravity axes
/// ([`crate::data::gravity`]): the per-axis acceleration block (`acc_x_mean` .. `acc_z_max`)
/// and the gyroscope's per-axis spread (`gyro_x_std` .. `gyro_z_std`) become the same
/// statistics of the gravity-axes channels (size, vertical part, horizontal size); the gravity
/// directions of the first and last second (`grav_before_*`, `grav_after_*`) and
/// `event_rate_hz` become 0 (`orient_change_rad`, the angle between those directions, stays:
/// it does not depend on the frame). What is left does not change when the watch is turned,
/// mirrored or resampled, apart from what resampling does to the signal itself.
pub fn frame_free(
    row: &mut [f32; NUM_FEATURES],
    events: &[[f32; 6]],
    timestamps: &[f64],
    gyro_missing: bool,
) {
    let n = events.len().min(timestamps.len());
    let framed = crate::data::gravity::to_gravity_axes(&events[..n], &timestamps[..n]);
    let at = |name: &str| feature_index(name).expect("a feature name");
    let first = at("acc_x_mean");
    for c in 0..3 {
        let xs = framed.iter().map(|e| e[c] as f64);
        let (m, sd) = mean_std(xs.clone());
        let mn = xs.clone().fold(f64::INFINITY, f64::min);
        let mx = xs.fold(f64::NEG_INFINITY, f64::max);
        let v = if n > 0 { [m, sd, mn, mx] } else { [0.0; 4] };
        for (k, v) in v.into_iter().enumerate() {
            row[first + 4 * c + k] = finite_or_zero(v) as f32;
        }
    }
    // The gravity directions of the first and last second (grav_before_x .. grav_after_z), and
    // the rate.
    for i in (at("grav_before_x")..=at("grav_after_z")).chain([at("event_rate_hz")]) {
        row[i] = 0.0;
    }
    let gyro_first = at("gyro_x_std");
    for c in 0..3 {
        let sd = if gyro_missing || n == 0 {
            0.0
        } else {
            mean_std(framed.iter().map(|e| e[3 + c] as f64)).1
        };
        row[gyro_first + c] = finite_or_zero(sd) as f32;
    }
}

/// Index of the feature called `name` in [`feature_names`], or `None` if there is none.
pub fn feature_index(name: &str) -> Option<usize> {
    NAMES.iter().position(|n| *n == name)
}

/// Features of one window, in the order of [`feature_names`].
///
/// `events` are `[ax, ay, az, gx, gy, gz]`, `timestamps` seconds since the window's first event
/// (sorted ascending; duplicates allowed). Only the first `min(events.len(), timestamps.len())`
/// events are used. When `gyro_missing` is set every gyroscope feature is 0 and the
/// `gyro_missing` feature is 1. Never panics; empty or one-event windows give finite values
/// (zeros where undefined), and every output is finite.
pub fn window_features(
    events: &[[f32; 6]],
    timestamps: &[f64],
    gyro_missing: bool,
) -> [f32; NUM_FEATURES] {
    let out = compute(events, timestamps, gyro_missing);
    let mut res = [0f32; NUM_FEATURES];
    for (r, &v) in res.iter_mut().zip(out.values.iter()) {
        let v = v as f32;
        *r = if v.is_finite() { v } else { 0.0 };
    }
    res
}

/// Collects feature values in order.
struct Out {
    values: [f64; NUM_FEATURES],
    count: usize,
}

impl Out {
    fn push(&mut self, v: f64) {
        if let Some(slot) = self.values.get_mut(self.count) {
            *slot = v;
        }
        self.count += 1;
    }
}

fn finite_or_zero(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

/// Population mean and standard deviation (0, 0 when empty).
fn mean_std(xs: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let (mut n, mut sum) = (0usize, 0.0);
    for x in xs.clone() {
        n += 1;
        sum += x;
    }
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = sum / n as f64;
    let var = xs.map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
    (mean, var.max(0.0).sqrt())
}

/// Quantile `q` in [0, 1] of an ascending slice with linear interpolation (0 when empty).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            let frac = pos - lo as f64;
            sorted[lo] + (sorted[hi] - sorted[lo]) * frac
        }
    }
}

fn norm3(v: [f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

/// Mean vector of the samples whose index passes `keep` (zeros if none).
fn mean_vec(vs: &[[f64; 3]], keep: impl Fn(usize) -> bool) -> [f64; 3] {
    let mut s = [0.0; 3];
    let mut n = 0usize;
    for (i, v) in vs.iter().enumerate() {
        if keep(i) {
            for c in 0..3 {
                s[c] += v[c];
            }
            n += 1;
        }
    }
    if n > 0 {
        for c in &mut s {
            *c /= n as f64;
        }
    }
    s
}

/// `v` scaled to unit length, or zeros when it is (nearly) zero.
fn unit(v: [f64; 3]) -> [f64; 3] {
    let n = norm3(v);
    if n > 1e-6 {
        [v[0] / n, v[1] / n, v[2] / n]
    } else {
        [0.0; 3]
    }
}

/// Sanitised timestamps: relative to the first finite one, non-finite or backward steps held at
/// the previous value, so the result is finite, starts at 0 and never decreases.
fn clean_times(timestamps: &[f64]) -> Vec<f64> {
    let base = timestamps
        .iter()
        .copied()
        .find(|t| t.is_finite())
        .unwrap_or(0.0);
    let mut prev = 0.0f64;
    timestamps
        .iter()
        .map(|&t| {
            let v = t - base;
            if v.is_finite() && v > prev {
                prev = v;
            }
            prev
        })
        .collect()
}

/// Max |d|a|/dt| with samples sharing a timestamp averaged first and differences taken over at
/// least [`JERK_SPAN_S`], so bursts cannot give infinite or huge spurious jerk.
fn max_jerk(t: &[f64], mag: &[f64]) -> f64 {
    // Merge exact-duplicate timestamps into one averaged sample.
    let mut mt: Vec<f64> = Vec::with_capacity(t.len());
    let mut mm: Vec<f64> = Vec::with_capacity(t.len());
    let mut i = 0;
    while i < t.len() {
        let mut j = i;
        let mut sum = 0.0;
        while j < t.len() && t[j] == t[i] {
            sum += mag[j];
            j += 1;
        }
        mt.push(t[i]);
        mm.push(sum / (j - i) as f64);
        i = j;
    }
    let mut best = 0.0f64;
    let mut j = 0;
    for i in 0..mt.len() {
        j = j.max(i + 1);
        while j < mt.len() && mt[j] - mt[i] < JERK_SPAN_S - TIME_EPS {
            j += 1;
        }
        if j >= mt.len() {
            break;
        }
        let dt = mt[j] - mt[i];
        if dt > 0.0 {
            best = best.max((mm[j] - mm[i]).abs() / dt);
        }
    }
    best
}

/// Longest run of consecutive free-fall samples, in seconds. Each run spans from the midpoint
/// before its first sample to the midpoint after its last (clamped to the window).
fn longest_free_fall(t: &[f64], mag: &[f64]) -> f64 {
    let n = t.len();
    let mut best = 0.0f64;
    let mut i = 0;
    while i < n {
        if mag[i] >= FREE_FALL {
            i += 1;
            continue;
        }
        let s = i;
        while i < n && mag[i] < FREE_FALL {
            i += 1;
        }
        let e = i - 1;
        let start = if s > 0 { 0.5 * (t[s - 1] + t[s]) } else { t[s] };
        let end = if e + 1 < n {
            0.5 * (t[e] + t[e + 1])
        } else {
            t[e]
        };
        best = best.max(end - start);
    }
    best
}

fn compute(events: &[[f32; 6]], timestamps: &[f64], gyro_missing: bool) -> Out {
    let mut out = Out {
        values: [0.0; NUM_FEATURES],
        count: 0,
    };
    let n = events.len().min(timestamps.len());
    let t = clean_times(&timestamps[..n]);
    let acc: Vec<[f64; 3]> = events[..n]
        .iter()
        .map(|e| std::array::from_fn(|c| finite_or_zero(f64::from(e[c]))))
        .collect();
    let gyr: Vec<[f64; 3]> = events[..n]
        .iter()
        .map(|e| std::array::from_fn(|c| finite_or_zero(f64::from(e[c + 3]))))
        .collect();
    let mag: Vec<f64> = acc.iter().map(|&v| norm3(v)).collect();
    let duration = t.last().copied().unwrap_or(0.0);

    // |a| distribution: overall intensity and spread of the movement.
    let (mag_mean, mag_std) = mean_std(mag.iter().copied());
    let mut sorted = mag.clone();
    sorted.sort_by(f64::total_cmp);
    let mag_min = sorted.first().copied().unwrap_or(0.0);
    let mag_max = sorted.last().copied().unwrap_or(0.0);
    let q50 = quantile_sorted(&sorted, 0.5);
    out.push(mag_mean);
    out.push(mag_std);
    out.push(mag_min);
    out.push(mag_max);
    out.push(mag_max - mag_min);
    out.push(quantile_sorted(&sorted, 0.1));
    out.push(q50);
    out.push(quantile_sorted(&sorted, 0.9));
    out.push(mag_max - q50);
    // Impact peak: its height in g and where it falls in the window (0..1).
    let peak = mag
        .iter()
        .enumerate()
        .fold(None::<(usize, f64)>, |best, (i, &m)| match best {
            Some((_, bm)) if bm >= m => best,
            _ => Some((i, m)),
        });
    let t_peak = peak.map_or(0.0, |(i, _)| t[i]);
    out.push(mag_max / G);
    out.push(if duration > 0.0 {
        t_peak / duration
    } else {
        0.0
    });

    // Impact dynamics: sharpness of the impact (jerk), energy about 1 g, hard-impact share,
    // and the free-fall phase (|a| < 0.5 g) that precedes many falls.
    out.push(max_jerk(&t, &mag));
    out.push(mag.iter().map(|m| (m - G) * (m - G)).sum::<f64>() / n.max(1) as f64);
    out.push(mag.iter().filter(|&&m| m > 2.0 * G).count() as f64 / n.max(1) as f64);
    out.push(mag.iter().filter(|&&m| m < FREE_FALL).count() as f64 / n.max(1) as f64);
    out.push(longest_free_fall(&t, &mag));

    // Stillness: lying still after a fall gives a small |a| spread at the end of the window and
    // from 0.5 s to 1.5 s after the peak (0 when the window ends before that; the coverage says
    // which share of that second the window holds, so "undefined" and "still" can be told apart).
    let last_from = duration - 1.0;
    out.push(
        mean_std(
            (0..n)
                .filter(|&i| t[i] >= last_from - TIME_EPS)
                .map(|i| mag[i]),
        )
        .1,
    );
    let (lo, hi) = (t_peak + 0.5, t_peak + 1.5);
    let after: Vec<f64> = (0..n)
        .filter(|&i| peak.is_some() && t[i] >= lo - TIME_EPS && t[i] <= hi + TIME_EPS)
        .map(|i| mag[i])
        .collect();
    out.push(if after.len() >= 2 {
        mean_std(after.iter().copied()).1
    } else {
        0.0
    });
    out.push(if peak.is_some() {
        (duration.min(hi) - lo).clamp(0.0, 1.0)
    } else {
        0.0
    });

    // Per-axis acceleration: posture (mean gravity share) and per-axis movement.
    for c in 0..3 {
        let (m, s) = mean_std(acc.iter().map(|v| v[c]));
        let mn = acc.iter().map(|v| v[c]).fold(f64::INFINITY, f64::min);
        let mx = acc.iter().map(|v| v[c]).fold(f64::NEG_INFINITY, f64::max);
        out.push(m);
        out.push(s);
        out.push(if n > 0 { mn } else { 0.0 });
        out.push(if n > 0 { mx } else { 0.0 });
    }

    // Orientation: angle between the gravity direction of the first and the last second (a fall
    // usually ends in another posture), and both gravity directions.
    let before = mean_vec(&acc, |i| t[i] <= 1.0 + TIME_EPS);
    let after_v = mean_vec(&acc, |i| t[i] >= last_from - TIME_EPS);
    let (ub, ua) = (unit(before), unit(after_v));
    let angle = if ub != [0.0; 3] && ua != [0.0; 3] {
        let dot = ub[0] * ua[0] + ub[1] * ua[1] + ub[2] * ua[2];
        let cross = [
            ub[1] * ua[2] - ub[2] * ua[1],
            ub[2] * ua[0] - ub[0] * ua[2],
            ub[0] * ua[1] - ub[1] * ua[0],
        ];
        norm3(cross).atan2(dot)
    } else {
        0.0
    };
    out.push(angle);
    for v in ub.into_iter().chain(ua) {
        out.push(v);
    }

    // Gyroscope: how fast and how much the wrist rotated, and how hard the impact was near the
    // fastest rotation. All 0 without a gyroscope, flagged by `gyro_missing`.
    if gyro_missing || n == 0 {
        for _ in 0..9 {
            out.push(0.0);
        }
    } else {
        let gm: Vec<f64> = gyr.iter().map(|&v| norm3(v)).collect();
        let (g_mean, g_std) = mean_std(gm.iter().copied());
        let mut gs = gm.clone();
        gs.sort_by(f64::total_cmp);
        let ig = gm
            .iter()
            .enumerate()
            .fold(0usize, |b, (i, &m)| if m > gm[b] { i } else { b });
        out.push(g_mean);
        out.push(g_std);
        out.push(gs.last().copied().unwrap_or(0.0));
        out.push(quantile_sorted(&gs, 0.9));
        for c in 0..3 {
            out.push(mean_std(gyr.iter().map(|v| v[c])).1);
        }
        // Trapezoidal integral of |g| dt; duplicate timestamps give zero-length intervals.
        out.push(
            (1..n)
                .map(|i| 0.5 * (gm[i] + gm[i - 1]) * (t[i] - t[i - 1]))
                .sum::<f64>(),
        );
        out.push(
            (0..n)
                .filter(|&i| (t[i] - t[ig]).abs() <= 0.5 + TIME_EPS)
                .map(|i| mag[i])
                .fold(0.0, f64::max),
        );
    }
    out.push(if gyro_missing { 1.0 } else { 0.0 });

    // Timing: window length and the event rate ((events - 1) / duration), which vary per watch.
    out.push(duration);
    out.push(if duration > 0.0 {
        (n - 1) as f64 / duration
    } else {
        0.0
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feat(f: &[f32; NUM_FEATURES], name: &str) -> f32 {
        f[feature_index(name).unwrap_or_else(|| panic!("no feature {name}"))]
    }

    fn all_finite(f: &[f32]) -> bool {
        f.iter().all(|v| v.is_finite())
    }

    /// 50 Hz, 4 s: standing still, 0.3 s free fall, a 6 g spike at 1.8 s, then lying still with
    /// gravity on x.
    fn fall_window() -> (Vec<[f32; 6]>, Vec<f64>) {
        let mut ev = Vec::new();
        let mut ts = Vec::new();
        for i in 0..200 {
            let t = i as f64 * 0.02;
            let noise = 0.02 * ((i * 7919 % 13) as f32 - 6.0) / 6.0;
            let e = if t < 1.5 {
                [0.1 + noise, 0.2, 9.8, 0.05, 0.0, 0.02]
            } else if t < 1.8 {
                [0.3, 0.2, 0.8 + noise, 2.0, 3.0, 1.0]
            } else if t < 1.86 {
                [40.0, 10.0, 40.0, 4.0, 5.0, 2.0]
            } else {
                [9.8 + noise, 0.3, 0.2, 0.01, 0.0, 0.0]
            };
            ev.push(e);
            ts.push(t);
        }
        (ev, ts)
    }

    /// 50 Hz, 4 s of gentle arm swing: |a| = 9.81 +- 2 m/s^2 at 2 Hz.
    fn walk_window() -> (Vec<[f32; 6]>, Vec<f64>) {
        let mut ev = Vec::new();
        let mut ts = Vec::new();
        for i in 0..200 {
            let t = i as f64 * 0.02;
            let s = (2.0 * std::f64::consts::PI * 2.0 * t).sin();
            let sway = (2.0 * std::f64::consts::PI * 1.0 * t).sin();
            ev.push([
                (0.8 * sway) as f32,
                (1.0 * s) as f32,
                (9.81 + 2.0 * s) as f32,
                (0.5 * sway) as f32,
                (0.3 * s) as f32,
                0.1,
            ]);
            ts.push(t);
        }
        (ev, ts)
    }

    #[test]
    fn names_match_count() {
        let (ev, ts) = fall_window();
        assert_eq!(compute(&ev, &ts, false).count, NUM_FEATURES);
        assert_eq!(compute(&ev, &ts, true).count, NUM_FEATURES);
        assert_eq!(compute(&[], &[], false).count, NUM_FEATURES);
        assert_eq!(compute(&ev[..1], &ts[..1], false).count, NUM_FEATURES);
        let names = feature_names();
        for (i, a) in names.iter().enumerate() {
            assert!(!names[..i].contains(a), "duplicate name {a}");
        }
    }

    #[test]
    fn fall_vs_walk() {
        let (ev, ts) = fall_window();
        let fall = window_features(&ev, &ts, false);
        let (ev, ts) = walk_window();
        let walk = window_features(&ev, &ts, false);
        assert!(all_finite(&fall) && all_finite(&walk));

        let peak_fall = feat(&fall, "acc_peak_g");
        let peak_walk = feat(&walk, "acc_peak_g");
        assert!(
            peak_fall > 5.5 && peak_fall < 6.5,
            "fall peak {peak_fall} g"
        );
        assert!(peak_walk < 1.3, "walk peak {peak_walk} g");
        let tf = feat(&fall, "acc_peak_time_frac");
        assert!((tf - 1.8 / 3.98).abs() < 0.02, "peak time frac {tf}");

        let jf = feat(&fall, "acc_jerk_max");
        let jw = feat(&walk, "acc_jerk_max");
        assert!(jf > 10.0 * jw, "jerk fall {jf} vs walk {jw}");
        assert!(jf > 1000.0, "jerk fall {jf}");

        let sf = feat(&fall, "still_std_after_peak");
        let sw = feat(&walk, "still_std_after_peak");
        assert!(sf < 0.05, "still after peak (fall) {sf}");
        assert!(sw > 0.5, "still after peak (walk) {sw}");
        assert_eq!(feat(&fall, "still_after_peak_coverage"), 1.0);
        assert!(feat(&fall, "still_std_last_1s") < 0.05);
        assert!(feat(&walk, "still_std_last_1s") > 0.5);

        assert!((feat(&fall, "freefall_frac") - 15.0 / 200.0).abs() < 1e-6);
        let ff = feat(&fall, "freefall_longest_s");
        assert!((ff - 0.3).abs() < 0.03, "free fall {ff} s");
        assert_eq!(feat(&walk, "freefall_frac"), 0.0);
        assert_eq!(feat(&walk, "freefall_longest_s"), 0.0);

        let of = feat(&fall, "orient_change_rad");
        assert!(
            (of - std::f32::consts::FRAC_PI_2).abs() < 0.1,
            "orientation {of}"
        );
        assert!(feat(&walk, "orient_change_rad") < 0.2);
        assert!(feat(&fall, "grav_after_x") > 0.99);
        assert!(feat(&fall, "grav_before_z") > 0.99);

        assert!(feat(&fall, "acc_max_near_gyro_peak") > 50.0);
        assert!(feat(&fall, "gyro_rotation_rad") > 0.5);
        assert_eq!(feat(&fall, "gyro_missing"), 0.0);
        assert!((feat(&fall, "duration_s") - 3.98).abs() < 1e-5);
        assert!((feat(&fall, "event_rate_hz") - 50.0).abs() < 1e-3);
    }

    #[test]
    fn duplicate_timestamps_give_finite_jerk() {
        // Bursts: 4 events sharing a timestamp, then 0-5 ms steps, then 30-60 ms gaps.
        let mut ev = Vec::new();
        let mut ts = Vec::new();
        let mut t = 0.0;
        for burst in 0..40 {
            for k in 0..4 {
                let m = if (burst + k) % 2 == 0 { 30.0 } else { 2.0 };
                ev.push([m, 0.0, 0.0, 0.1, 0.0, 0.0]);
                ts.push(t);
            }
            for k in 0..3 {
                t += 0.001 * k as f64;
                ev.push([9.8, 0.0, 0.0, 0.1, 0.0, 0.0]);
                ts.push(t);
            }
            t += 0.03 + 0.01 * (burst % 4) as f64;
        }
        let f = window_features(&ev, &ts, false);
        assert!(all_finite(&f));
        let j = feat(&f, "acc_jerk_max");
        // |a| stays within [2, 30], so over >= 20 ms the jerk cannot exceed 28 / 0.02.
        assert!(j > 0.0 && j <= 28.0 / 0.02 + 1e-3, "jerk {j}");
        // Only duplicates: one merged sample, no jerk, zero duration, zero rotation.
        let f = window_features(&ev[..4], &[0.5; 4], false);
        assert!(all_finite(&f));
        assert_eq!(feat(&f, "acc_jerk_max"), 0.0);
        assert_eq!(feat(&f, "duration_s"), 0.0);
        assert_eq!(feat(&f, "gyro_rotation_rad"), 0.0);
        assert_eq!(feat(&f, "event_rate_hz"), 0.0);
    }

    #[test]
    fn degenerate_windows_are_finite() {
        let f = window_features(&[], &[], false);
        assert!(f.iter().all(|&v| v == 0.0));
        let f = window_features(&[], &[], true);
        assert_eq!(feat(&f, "gyro_missing"), 1.0);
        assert_eq!(f.iter().filter(|&&v| v != 0.0).count(), 1);

        let f = window_features(&[[0.0, 0.0, 9.81, 0.1, 0.2, 0.3]], &[0.0], false);
        assert!(all_finite(&f));
        assert!((feat(&f, "acc_peak_g") - 1.0).abs() < 1e-6);
        assert_eq!(feat(&f, "acc_mag_std"), 0.0);
        assert_eq!(feat(&f, "acc_jerk_max"), 0.0);
        assert_eq!(feat(&f, "orient_change_rad"), 0.0);

        // Non-finite inputs and mismatched lengths still give finite features.
        let ev = [
            [f32::NAN, 1.0, f32::INFINITY, 0.0, f32::NEG_INFINITY, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        ];
        let f = window_features(&ev, &[f64::NAN, 0.1, 0.05, 7.0], false);
        assert!(all_finite(&f));
        let f = window_features(&ev, &[0.0], false);
        assert!(all_finite(&f));
        let big = [[78.0f32, 78.0, 78.0, 1e30, 1e30, 1e30]; 3];
        let f = window_features(&big, &[0.0, 1e-12, 2e-12], false);
        assert!(all_finite(&f));
    }

    #[test]
    fn gyro_features_zero_when_missing() {
        let (ev, ts) = fall_window();
        let f = window_features(&ev, &ts, true);
        // Every gyroscope feature but the flag itself.
        let gyro = NAMES.iter().filter(|n| {
            (n.starts_with("gyro_") && **n != "gyro_missing") || n.contains("gyro_peak")
        });
        assert_eq!(gyro.clone().count(), 9);
        for name in gyro {
            assert_eq!(feat(&f, name), 0.0, "{name}");
        }
        assert_eq!(feat(&f, "gyro_missing"), 1.0);
        // Accelerometer features do not depend on the flag.
        let g = window_features(&ev, &ts, false);
        assert_eq!(feat(&f, "acc_jerk_max"), feat(&g, "acc_jerk_max"));
        assert!(feat(&g, "gyro_mag_max") > 0.0);
    }
}
