//! Hard negatives the data lacks (issue #32): sharp wrist impacts without a body fall. A copy of
//! a daily-living recording gets a table hit, a run of claps or a jump's landing written into its
//! acceleration (and a jolt into its rotation rate), and stays a daily-living recording.
//!
//! What makes them not falls is what they lack: no free fall before the impact (except the
//! jump's short flight, which lands on the feet: no change of posture), no change of the gravity
//! direction across it, and no stillness after it: the recording's own movement goes on around
//! the added impact. The skeleton of the copy is the original's, so a teacher distilling into the
//! student sees daily living where the watch feels an impact.

use super::events::Event;
use super::trial::Trial;
use crate::rng::Rng;

/// One g in m/s^2.
const G: f64 = 9.80665;

/// The kinds of impact written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impact {
    /// One sharp spike (a hand hitting a table): 2-6 g over 20-60 ms with a rebound.
    TableHit,
    /// Three to six spikes 0.3-0.6 s apart (clapping): 1.5-4 g each.
    Claps,
    /// A push (1.5 g for 0.2 s), a flight (0.2-0.4 g for 0.2-0.35 s), a landing (2-5 g).
    Jump,
}

/// A half-sine pulse of height 1 centred on `c`, `width` seconds wide, at time `t`.
fn pulse(t: f64, c: f64, width: f64) -> f64 {
    let x = (t - c) / width + 0.5;
    if (0.0..=1.0).contains(&x) {
        (std::f64::consts::PI * x).sin()
    } else {
        0.0
    }
}

/// A random unit vector.
fn direction(rng: &mut Rng) -> [f64; 3] {
    loop {
        let v = [rng.normal(), rng.normal(), rng.normal()];
        let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        if n > 1e-6 {
            return v.map(|x| x / n);
        }
    }
}

/// One drawn impact: its spikes (centre s, width s, height m/s^2, direction; a zero direction
/// is along gravity), the jump's flight (from, to, the share of acceleration left) and the
/// rotation-rate jolt (rad/s) that comes with the spikes.
struct Drawn {
    spikes: Vec<(f64, f64, f64, [f64; 3])>,
    flight: Option<(f64, f64, f64)>,
    jolt: [f64; 3],
}

fn draw(kind: Impact, at: f64, rng: &mut Rng) -> Drawn {
    let mut spikes = Vec::new();
    let mut flight = None;
    match kind {
        Impact::TableHit => {
            spikes.push((
                at,
                rng.range(0.02, 0.06),
                rng.range(2.0, 6.0) * G,
                direction(rng),
            ));
        }
        Impact::Claps => {
            let n = 3 + (rng.uniform() * 4.0) as usize;
            let gap = rng.range(0.3, 0.6);
            let d = direction(rng);
            for i in 0..n {
                spikes.push((
                    at + i as f64 * gap,
                    rng.range(0.02, 0.05),
                    rng.range(1.5, 4.0) * G,
                    d,
                ));
            }
        }
        Impact::Jump => {
            let fly = rng.range(0.2, 0.35);
            // Push, flight (scale of gravity left), landing.
            flight = Some((at - fly, at, rng.range(0.2, 0.4)));
            spikes.push((at - fly - 0.1, 0.2, 0.5 * G, [0.0; 3]));
            spikes.push((at, rng.range(0.04, 0.08), rng.range(2.0, 5.0) * G, [0.0; 3]));
        }
    }
    let jolt = direction(rng).map(|x| x * rng.range(1.0, 3.0));
    Drawn {
        spikes,
        flight,
        jolt,
    }
}

/// A copy of `trial` (daily living) with one impact of `kind` written in at a random time at
/// least 0.5 s from either end (the trial unchanged when it is shorter than 1.5 s or a fall).
/// Along gravity for the jump (the body goes up and lands), in a random direction otherwise.
pub fn with_impact(trial: &Trial, kind: Impact, rng: &mut Rng) -> Trial {
    let mut out = trial.clone();
    let (Some(&t0), Some(&t1)) = (trial.timestamps.first(), trial.timestamps.last()) else {
        return out;
    };
    if trial.key.is_fall() || t1 - t0 < 1.5 {
        return out;
    }
    // Claps last up to 3 s: they start early enough to end inside the recording.
    let last = if kind == Impact::Claps {
        t1 - 3.6
    } else {
        t1 - 0.5
    };
    let d = draw(kind, rng.range(t0 + 0.5, last.max(t0 + 0.5)), rng);
    // The recording's gravity direction, for the jump.
    let mut g = [0f64; 3];
    for e in &trial.events {
        for (s, v) in g.iter_mut().zip(&e[..3]) {
            *s += *v as f64;
        }
    }
    let n = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt().max(1e-9);
    let up = g.map(|x| x / n);
    let gyro_missing = trial.gyro_missing;
    for (e, &t) in out.events.iter_mut().zip(&trial.timestamps) {
        add(e, &d, up, t, gyro_missing);
    }
    out
}

fn add(e: &mut Event, d: &Drawn, up: [f64; 3], t: f64, gyro_missing: bool) {
    let mut extra = [0f64; 3];
    if let Some((from, to, left)) = d.flight
        && (from..to).contains(&t)
    {
        // In the air the watch feels `left` of its usual acceleration.
        for (x, v) in extra.iter_mut().zip(&e[..3]) {
            *x -= (1.0 - left) * *v as f64;
        }
    }
    let mut size = 0f64;
    for &(c, width, height, dir) in &d.spikes {
        let p = pulse(t, c, width) * height
            // The rebound: a smaller pulse the other way just after.
            - 0.4 * pulse(t, c + 0.75 * width, 0.5 * width) * height;
        let dir = if dir == [0.0; 3] { up } else { dir };
        for (x, u) in extra.iter_mut().zip(dir) {
            *x += p * u;
        }
        size = size.max(pulse(t, c, 2.0 * width).abs());
    }
    for (v, x) in e[..3].iter_mut().zip(extra) {
        *v = (*v as f64 + x).clamp(-78.0, 78.0) as f32;
    }
    if !gyro_missing && size > 0.0 {
        for (v, j) in e[3..].iter_mut().zip(d.jolt) {
            *v += (j * size) as f32;
        }
    }
}

/// `copies` hard-negative copies of each daily-living trial in `trials` (kinds in turn: table
/// hit, claps, jump), each with the trial number raised by `1000 * (copy + 1)` so that it never
/// takes a real trial's name. Falls give none.
pub fn hard_negatives(trials: &[Trial], copies: usize, seed: u64) -> Vec<Trial> {
    let kinds = [Impact::TableHit, Impact::Claps, Impact::Jump];
    let mut out = Vec::new();
    for (i, t) in trials.iter().enumerate() {
        if t.key.is_fall() {
            continue;
        }
        for c in 0..copies {
            let mut rng = Rng::new(seed ^ crate::rng::mix64(((i as u64) << 8) | c as u64));
            let kind = kinds[(i + c) % kinds.len()];
            let mut copy = with_impact(t, kind, &mut rng);
            copy.key.trial = copy.key.trial.saturating_add(1000 * (c as u16 + 1));
            out.push(copy);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::trial::TrialKey;

    fn walking(activity: u16) -> Trial {
        let ts: Vec<f64> = (0..400).map(|i| i as f64 * 0.025).collect();
        let events = ts
            .iter()
            .map(|t| {
                let s = (t * 6.0).sin() as f32;
                [0.5 * s, 0.3, 9.8 + s, 0.2 * s, 0.1, 0.0]
            })
            .collect();
        Trial {
            key: TrialKey {
                subject: 30,
                activity,
                trial: 1,
            },
            events,
            timestamps: ts,
            gyro_missing: false,
            skeleton: None,
        }
    }

    fn peak(t: &Trial) -> f32 {
        t.events
            .iter()
            .map(|e| (e[0] * e[0] + e[1] * e[1] + e[2] * e[2]).sqrt())
            .fold(0.0, f32::max)
    }

    #[test]
    fn impacts_are_sharp_and_leave_the_rest_of_the_recording() {
        let t = walking(8);
        for (k, kind) in [Impact::TableHit, Impact::Claps, Impact::Jump]
            .into_iter()
            .enumerate()
        {
            let mut rng = Rng::new(k as u64);
            let hit = with_impact(&t, kind, &mut rng);
            assert_eq!(hit.timestamps, t.timestamps);
            assert!(peak(&hit) > 1.5 * 9.8, "{kind:?}: peak {}", peak(&hit));
            let changed = hit
                .events
                .iter()
                .zip(&t.events)
                .filter(|(a, b)| a != b)
                .count();
            // A few hundred milliseconds at most of a 10 s recording.
            assert!(
                changed > 0 && changed < 120,
                "{kind:?}: {changed} samples changed"
            );
            // The recording's own movement goes on around the impact.
            assert_eq!(hit.events[..16], t.events[..16]);
        }
    }

    #[test]
    fn copies_are_daily_living_with_new_names_and_falls_give_none() {
        let trials = vec![walking(8), walking(11)];
        let hn = hard_negatives(&trials, 2, 5);
        assert_eq!(hn.len(), 2);
        assert!(hn.iter().all(|t| !t.key.is_fall()));
        assert_eq!((hn[0].key.trial, hn[1].key.trial), (1001, 2001));
        let again = hard_negatives(&trials, 2, 5);
        assert!(
            hn.iter()
                .zip(&again)
                .all(|(a, b)| a.key == b.key && a.events == b.events)
        );
        let fall = with_impact(&walking(11), Impact::TableHit, &mut Rng::new(1));
        assert_eq!(fall.events, walking(11).events);
    }
}
