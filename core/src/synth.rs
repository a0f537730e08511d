//! A generated SmartFallMM look-alike, for fast tests and the default demo.
//!
//! A kinematic 32-joint body (Azure Kinect joint order) performs the SmartFallMM activities:
//! nine ADLs and five fall directions, varied per synthetic subject (body size, speed, motion
//! amplitude, sensor noise, watch rate). The watch IMU is derived from the left wrist: the
//! accelerometer is the second derivative of the wrist position plus gravity, expressed in a
//! sensor frame that rotates with the forearm (clipped at 8 g like the real watch); the gyroscope
//! is the forearm's angular velocity in that frame. Sensor values are taken at the true sample
//! instants while the written timestamps are the watch's delivery times, with the real watch's
//! pathologies: bursts (exact duplicates and 0-5 ms steps), occasional backwards steps, and gaps.
//! Skeleton (30 fps, mm, tracking noise) and IMU are cut independently, as in the real data.
//! Some files carry the real data's file defects (a pandas header-only gyroscope file, a
//! duplicate-column mangle, a subject without gyroscope) so the loader's repairs are exercised.
//!
//! Output is the SmartFallMM layout (`young/{skeleton,accelerometer/watch,gyroscope/watch}`),
//! returned as `(relative path, CSV text)` pairs: the caller writes them.

use crate::data::skeleton_csv::{JOINTS, SKELETON_DIM};
use crate::rng::Rng;

/// Generator settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Subjects (numbered from 1).
    pub subjects: u16,
    /// Trials per activity and subject.
    pub trials: u16,
    /// Seed: same seed, same bytes.
    pub seed: u64,
    /// Give the last subject no gyroscope files (like S32 and S35).
    pub subject_without_gyro: bool,
}

impl SynthConfig {
    /// One subject with a gyroscope: `trials` trials of every activity.
    pub fn one_subject(trials: u16, seed: u64) -> SynthConfig {
        SynthConfig {
            subjects: 1,
            trials,
            seed,
            subject_without_gyro: false,
        }
    }
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            subjects: 8,
            trials: 2,
            seed: 7,
            subject_without_gyro: true,
        }
    }
}

type V3 = [f64; 3];
type M3 = [[f64; 3]; 3];

fn mul(a: &M3, b: &M3) -> M3 {
    let mut o = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            o[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    o
}
fn apply(m: &M3, v: V3) -> V3 {
    [0, 1, 2].map(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2])
}
fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
fn rx(a: f64) -> M3 {
    let (s, c) = a.sin_cos();
    [[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]]
}
fn ry(a: f64) -> M3 {
    let (s, c) = a.sin_cos();
    [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]
}
fn rz(a: f64) -> M3 {
    let (s, c) = a.sin_cos();
    [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]
}
fn smoothstep(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}
/// Raise-hold-lower bump over [a, a + d].
fn bump(t: f64, a: f64, d: f64) -> f64 {
    smoothstep((t - a) / (0.3 * d)) * (1.0 - smoothstep((t - a - 0.7 * d) / (0.3 * d)))
}

/// Joint angles and root position at one instant.
#[derive(Debug, Clone, Copy, Default)]
struct Pose {
    pelvis: V3,
    yaw: f64,
    pitch: f64,
    roll: f64,
    l_flex: f64,
    l_abd: f64,
    l_elbow: f64,
    l_pron: f64,
    r_flex: f64,
    r_abd: f64,
    r_elbow: f64,
    hip_l: f64,
    knee_l: f64,
    hip_r: f64,
    knee_r: f64,
}

/// Per-subject traits.
#[derive(Debug, Clone, Copy)]
struct Subject {
    scale: f64,
    speed: f64,
    amp: f64,
    rate_hz: f64,
    acc_noise: f64,
    gyro_noise: f64,
}

/// Per-trial randomness drawn once.
#[derive(Debug, Clone, Copy)]
struct TrialParams {
    activity: u16,
    duration: f64,
    t_event: f64,
    d_event: f64,
    period: f64,
    phase: f64,
    amp: f64,
    dir_jitter: f64,
    recovers: bool,
}

fn pose(s: &Subject, p: &TrialParams, t: f64) -> Pose {
    let sc = s.scale;
    let sway = 0.02 * (t * 1.3 + p.phase).sin();
    let mut q = Pose {
        pelvis: [15.0 * (t * 0.7 + p.phase).sin(), 1000.0 * sc, 3000.0],
        pitch: 0.03 + sway,
        l_flex: 0.05,
        l_abd: 0.08,
        l_elbow: 0.15,
        r_flex: 0.05,
        r_abd: 0.08,
        r_elbow: 0.15,
        ..Default::default()
    };
    match p.activity {
        1..=9 => daily_living(&mut q, s, p, t),
        10..=14 => falling(&mut q, s, p, t),
        _ => {}
    }
    q
}

/// The movements of daily activity `p.activity` (1-9) on top of the standing pose `q`.
fn daily_living(q: &mut Pose, s: &Subject, p: &TrialParams, t: f64) {
    let sc = s.scale;
    let w = 2.0 * std::f64::consts::PI / p.period;
    let a = p.amp;
    match p.activity {
        1 => {
            // drinking: cup to mouth every period
            let k = 0.5 - 0.5 * (w * t + p.phase).cos();
            let k = k * k;
            q.l_flex = 0.2 + 0.9 * a * k;
            q.l_elbow = 0.3 + 1.9 * a * k;
            q.l_pron = 0.8 * k;
        }
        2 => {
            // pick up an object: bend, hold, return
            let b = bump(t, p.t_event, 2.5 * p.d_event);
            q.pitch += 1.2 * a * b;
            q.pelvis[1] -= 180.0 * sc * b;
            q.hip_l = 0.5 * b;
            q.hip_r = 0.5 * b;
            q.knee_l = 0.7 * b;
            q.knee_r = 0.7 * b;
            q.l_flex = 0.05 + 1.1 * b;
            q.r_flex = 0.05 + 0.9 * b;
        }
        3 => {
            // jacket on/off: large irregular arm motions
            let k = (w * t + p.phase).sin();
            let k2 = (1.7 * w * t).sin();
            q.l_abd = 0.4 + 0.9 * a * (0.5 + 0.5 * k);
            q.l_flex = 0.3 + 0.6 * a * (0.5 + 0.5 * k2);
            q.l_elbow = 0.6 + 0.8 * (0.5 - 0.5 * k);
            q.r_abd = 0.4 + 0.9 * a * (0.5 - 0.5 * k);
            q.r_elbow = 0.6 + 0.8 * (0.5 + 0.5 * k2);
            q.yaw = 0.3 * k2;
        }
        4 => {
            // stepping up and down
            let k = (w * t + p.phase).sin();
            q.pelvis[1] += 90.0 * sc * (1.0 + k);
            q.hip_l = 0.6 * (0.5 + 0.5 * (w * t).cos()).max(0.0);
            q.knee_l = q.hip_l * 1.3;
            q.l_flex = 0.15 * k;
            q.r_flex = -0.15 * k;
            q.pitch += 0.1 * (0.5 + 0.5 * k);
        }
        5 => {
            // sweeping
            let k = (w * t + p.phase).sin();
            q.pitch += 0.3;
            q.yaw = 0.25 * k;
            q.l_flex = 0.7;
            q.l_abd = 0.2 + 0.45 * a * k;
            q.l_elbow = 0.5;
            q.r_flex = 0.6;
            q.r_abd = 0.2 - 0.4 * a * k;
        }
        6 => {
            // washing hands: small fast rubbing
            let k = (3.0 * w * t + p.phase).sin();
            q.pitch += 0.15;
            q.l_flex = 0.8;
            q.l_elbow = 1.4 + 0.15 * a * k;
            q.l_abd = -0.1 + 0.1 * k;
            q.l_pron = 0.4 * k;
            q.r_flex = 0.8;
            q.r_elbow = 1.4 - 0.15 * a * k;
        }
        7 => {
            // waving with the watch arm
            let k = (2.0 * w * t + p.phase).sin();
            let up = smoothstep((t - 0.8) / 0.8) * (1.0 - smoothstep((t - p.duration + 1.5) / 0.8));
            q.l_abd = 0.08 + 2.2 * up;
            q.l_elbow = 0.15 + (0.6 + 0.5 * a * k) * up;
            q.l_pron = 0.5 * k * up;
        }
        8 => {
            // walking (timed-up-and-go: out, turn, back)
            let v = 1100.0 * s.speed * sc;
            let half = p.duration / 2.0;
            let turn = smoothstep((t - half + 0.6) / 1.2);
            let dist = if t < half {
                v * t
            } else {
                v * half - v * (t - half)
            };
            q.pelvis[2] += dist * 0.5;
            q.yaw = std::f64::consts::PI * turn;
            let step = (2.0 * std::f64::consts::PI * 0.9 * s.speed * t + p.phase).sin();
            q.pelvis[1] += 20.0 * sc * (2.0 * step).abs();
            q.hip_l = 0.35 * step;
            q.hip_r = -0.35 * step;
            q.knee_l = 0.4 * (0.5 - 0.5 * step);
            q.knee_r = 0.4 * (0.5 + 0.5 * step);
            q.l_flex = -0.35 * a * step;
            q.r_flex = 0.35 * a * step;
        }
        9 => {
            // sit down, stand up (fast sitting is a hard negative)
            let down = smoothstep((t - p.t_event) / (0.6 * p.d_event + 0.3));
            let up = smoothstep((t - p.t_event - p.period * 0.5) / 1.2);
            let sit = down * (1.0 - up);
            q.pelvis[1] -= 450.0 * sc * sit;
            q.hip_l = 1.5 * sit;
            q.hip_r = 1.5 * sit;
            q.knee_l = 1.5 * sit;
            q.knee_r = 1.5 * sit;
            let lean =
                bump(t, p.t_event - 0.3, 1.2) + bump(t, p.t_event + p.period * 0.5 - 0.3, 1.5);
            q.pitch += 0.45 * lean;
            q.l_flex = 0.2 * sit + 0.3 * lean;
        }
        _ => {}
    }
}

/// A fall (activities 10-14): optional steps, then rotation under gravity, impact, lying.
fn falling(q: &mut Pose, s: &Subject, p: &TrialParams, t: f64) {
    let sc = s.scale;
    let a = p.amp;
    let x = ((t - p.t_event) / p.d_event).clamp(0.0, 1.0);
    let s_fall = x * x; // accelerating
    let after = (t - p.t_event - p.d_event).max(0.0);
    let bounce = if t > p.t_event + p.d_event {
        0.06 * (-9.0 * after).exp() * (28.0 * after).sin()
    } else {
        0.0
    };
    let k = s_fall + bounce;
    let ang = (1.45 + p.dir_jitter) * k;
    match p.activity {
        10 => q.pitch -= ang,
        11 => q.pitch += ang,
        12 => q.roll += ang,
        13 => q.roll -= ang,
        _ => {
            q.yaw += 1.6 * k;
            q.roll += if p.dir_jitter > 0.0 { ang } else { -ang };
        }
    }
    q.pelvis[1] -= 750.0 * sc * k;
    let dir = match p.activity {
        10 => [0.0, 0.0, -1.0],
        11 => [0.0, 0.0, 1.0],
        12 => [-1.0, 0.0, 0.0],
        13 => [1.0, 0.0, 0.0],
        _ => [0.7, 0.0, 0.7],
    };
    for i in [0, 2] {
        q.pelvis[i] += 400.0 * sc * k * dir[i];
    }
    // protective reaction of the arms
    let reach = smoothstep((t - p.t_event - 0.15) / 0.4);
    q.l_flex += reach * if p.activity == 11 { 1.4 } else { 0.5 } * a;
    q.l_abd += reach * if p.activity == 12 { 1.2 } else { 0.3 };
    q.l_elbow += reach * 0.3;
    q.r_flex += reach * 1.0 * a;
    // pre-fall walking for some trials
    if p.recovers {
        let step = (2.0 * std::f64::consts::PI * 0.9 * t).sin() * (1.0 - x.min(1.0));
        q.l_flex -= 0.3 * step * (t < p.t_event) as u8 as f64;
        q.pelvis[2] += 300.0 * t.min(p.t_event) * 0.5;
    }
    if after > 1.5 {
        // lying, small movements
        q.l_flex += 0.1 * (after * 1.1).sin();
    }
}

/// The 32 joints (mm) and the left-forearm orientation (sensor frame) of a pose.
fn joints(q: &Pose, sc: f64) -> ([V3; JOINTS], M3) {
    let rt = mul(&mul(&ry(q.yaw), &rx(q.pitch)), &rz(q.roll));
    let p = q.pelvis;
    let at = |v: V3| add(p, apply(&rt, [v[0] * sc, v[1] * sc, v[2] * sc]));
    let mut j = [[0.0; 3]; JOINTS];
    j[0] = p;
    j[1] = at([0.0, 200.0, 0.0]);
    j[2] = at([0.0, 400.0, 0.0]);
    j[3] = at([0.0, 560.0, 0.0]);
    j[26] = at([0.0, 650.0, 20.0]);
    j[27] = at([0.0, 650.0, 100.0]);
    j[28] = at([-35.0, 680.0, 85.0]);
    j[29] = at([-75.0, 660.0, 20.0]);
    j[30] = at([35.0, 680.0, 85.0]);
    j[31] = at([75.0, 660.0, 20.0]);
    let mut left_forearm = [[0.0; 3]; 3];
    for (side, base) in [(-1.0, 4usize), (1.0, 11usize)] {
        let (flex, abd, elbow, pron) = if side < 0.0 {
            (q.l_flex, q.l_abd, q.l_elbow, q.l_pron)
        } else {
            (q.r_flex, q.r_abd, q.r_elbow, 0.0)
        };
        j[base] = at([side * 80.0, 500.0, 0.0]);
        let shoulder = at([side * 180.0, 500.0, 0.0]);
        j[base + 1] = shoulder;
        let r_arm = mul(&rt, &mul(&rz(side * abd), &rx(flex)));
        let elbow_p = add(shoulder, apply(&r_arm, [0.0, -280.0 * sc, 0.0]));
        j[base + 2] = elbow_p;
        let r_fore = mul(&r_arm, &mul(&rx(elbow), &ry(pron)));
        let wrist = add(elbow_p, apply(&r_fore, [0.0, -250.0 * sc, 0.0]));
        j[base + 3] = wrist;
        j[base + 4] = add(wrist, apply(&r_fore, [0.0, -80.0 * sc, 0.0]));
        j[base + 5] = add(wrist, apply(&r_fore, [0.0, -160.0 * sc, 0.0]));
        j[base + 6] = add(
            wrist,
            apply(&r_fore, [side * -30.0 * sc, -70.0 * sc, 30.0 * sc]),
        );
        if side < 0.0 {
            left_forearm = r_fore;
        }
    }
    for (side, base, hip, knee) in [
        (-1.0, 18usize, q.hip_l, q.knee_l),
        (1.0, 22usize, q.hip_r, q.knee_r),
    ] {
        let h = at([side * 100.0, -20.0, 0.0]);
        j[base] = h;
        let r_th = mul(&rt, &rx(hip));
        let k = add(h, apply(&r_th, [0.0, -420.0 * sc, 0.0]));
        j[base + 1] = k;
        let r_sh = mul(&r_th, &rx(-knee));
        let a = add(k, apply(&r_sh, [0.0, -400.0 * sc, 0.0]));
        j[base + 2] = a;
        j[base + 3] = add(a, apply(&r_sh, [0.0, -50.0 * sc, 120.0 * sc]));
    }
    (j, left_forearm)
}

fn wrist_and_frame(s: &Subject, p: &TrialParams, t: f64) -> (V3, M3) {
    let (j, r) = joints(&pose(s, p, t), s.scale);
    (j[7], r)
}

/// True accelerometer (m/s^2, sensor frame, clipped at 78) and gyroscope (rad/s) at `t`.
fn imu_at(s: &Subject, p: &TrialParams, t: f64) -> ([f64; 3], [f64; 3]) {
    let h = 0.005;
    let (pm, rm) = wrist_and_frame(s, p, t - h);
    let (p0, r0) = wrist_and_frame(s, p, t);
    let (pp, rp) = wrist_and_frame(s, p, t + h);
    let acc_world: V3 = [0, 1, 2].map(|i| (pp[i] - 2.0 * p0[i] + pm[i]) / (h * h) / 1000.0);
    let f_world = add(acc_world, [0.0, 9.81, 0.0]);
    let rt = [
        [r0[0][0], r0[1][0], r0[2][0]],
        [r0[0][1], r0[1][1], r0[2][1]],
        [r0[0][2], r0[1][2], r0[2][2]],
    ];
    let acc = apply(&rt, f_world).map(|v| v.clamp(-78.0, 78.0));
    let mut dr = [[0.0; 3]; 3];
    for i in 0..3 {
        for k in 0..3 {
            dr[i][k] = (rp[i][k] - rm[i][k]) / (2.0 * h);
        }
    }
    let om = mul(&rt, &dr);
    let gyro = [
        0.5 * (om[2][1] - om[1][2]),
        0.5 * (om[0][2] - om[2][0]),
        0.5 * (om[1][0] - om[0][1]),
    ];
    (acc, gyro)
}

/// Watch delivery timestamps for true sample instants `true_t` (relative seconds).
fn delivery_times(rng: &mut Rng, true_t: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(true_t.len());
    let mut i = 0;
    while i < true_t.len() {
        let batch = 1 + rng.below(4);
        let deliver = true_t[(i + batch - 1).min(true_t.len() - 1)] + rng.range(0.0, 0.004);
        for k in 0..batch.min(true_t.len() - i) {
            let r = rng.uniform();
            let step = if k == 0 || r < 0.45 {
                0.0
            } else {
                rng.range(0.001, 0.005)
            };
            let prev: f64 = if k == 0 {
                deliver
            } else {
                *out.last().unwrap()
            };
            out.push(if k == 0 { deliver } else { prev + step });
        }
        i += batch;
    }
    // Rare backwards steps (~0.4 %).
    for k in 1..out.len() {
        if rng.uniform() < 0.004 {
            out[k] = out[k - 1] - rng.range(0.001, 0.02);
        }
    }
    out
}

/// Formats seconds since 1970 as `YYYY-MM-DD HH:MM:SS.fff`, dropping trailing fraction zeros
/// as the real watch files do (`.96`, `.7`).
pub fn format_timestamp(secs: f64) -> String {
    let ms_total = (secs * 1000.0).round() as i64;
    let days = ms_total.div_euclid(86_400_000);
    let ms_day = ms_total.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, ms) = (
        ms_day / 3_600_000,
        ms_day / 60_000 % 60,
        ms_day / 1000 % 60,
        ms_day % 1000,
    );
    let mut out = format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}");
    if ms != 0 {
        let f = format!("{ms:03}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn fmt_f(v: f64) -> String {
    let s = format!("{v:.7}");
    let s = s.trim_end_matches('0');
    s.strip_suffix('.').unwrap_or(s).to_string()
}

/// The watch files of young recording `name` (`S01A10T01.csv`) among generated `files`: the
/// accelerometer's and the gyroscope's bytes.
pub fn watch_files<'a>(files: &'a [(String, String)], name: &str) -> Option<(&'a [u8], &'a [u8])> {
    let get = |sensor: &str| {
        let path = format!("young/{sensor}/watch/{name}");
        files
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, t)| t.as_bytes())
    };
    Some((get("accelerometer")?, get("gyroscope")?))
}

/// Generates the dataset: `(relative path, CSV text)` for every file.
pub fn generate(cfg: &SynthConfig) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut master = Rng::new(cfg.seed);
    for subj in 1..=cfg.subjects {
        let subject = Subject {
            scale: master.range(0.9, 1.1),
            speed: master.range(0.8, 1.2),
            amp: master.range(0.75, 1.25),
            rate_hz: if subj % 3 == 0 {
                master.range(80.0, 110.0)
            } else {
                master.range(35.0, 45.0)
            },
            acc_noise: master.range(0.05, 0.25),
            gyro_noise: master.range(0.01, 0.05),
        };
        let no_gyro = cfg.subject_without_gyro && subj == cfg.subjects && cfg.subjects > 1;
        let day0 = crate::data::timestamp::days_from_civil(2024, 7, 1 + (subj as u32 % 27)) as f64
            * 86_400.0
            + 9.0 * 3600.0;
        for activity in 1..=14u16 {
            for trial in 1..=cfg.trials {
                let seed =
                    cfg.seed ^ ((subj as u64) << 40 | (activity as u64) << 20 | trial as u64);
                let mut rng = Rng::new(seed.wrapping_mul(0x2545_F491_4F6C_DD1D));
                let duration = rng.range(9.0, 13.0);
                let p = TrialParams {
                    activity,
                    duration,
                    t_event: rng.range(2.0, duration - 4.0),
                    d_event: rng.range(0.7, 1.1) / subject.speed.sqrt(),
                    period: rng.range(3.0, 5.0) / subject.speed,
                    // A phase in [0, 6.28), not TAU: the literal is part of the generated
                    // dataset's definition (changing it changes every recording per seed).
                    #[allow(clippy::approx_constant)]
                    phase: rng.range(0.0, 6.28),
                    amp: subject.amp * rng.range(0.8, 1.2),
                    dir_jitter: rng.range(-0.2, 0.2),
                    recovers: rng.uniform() < 0.4,
                };
                let name = format!("S{subj:02}A{activity:02}T{trial:02}.csv");
                let start = day0 + activity as f64 * 600.0 + trial as f64 * 60.0;
                // Skeleton: 30 fps over its own cut of the trial.
                let (s0, s1) = (rng.range(0.0, 0.8), duration - rng.range(0.0, 0.8));
                let mut sk = String::new();
                let mut k = 0;
                loop {
                    let t = s0 + k as f64 / 30.0;
                    if t > s1 {
                        break;
                    }
                    let (j, _) = joints(&pose(&subject, &p, t), subject.scale);
                    let row: Vec<String> = (0..SKELETON_DIM)
                        .map(|c| fmt_f(j[c / 3][c % 3] + rng.normal() * 6.0))
                        .collect();
                    sk.push_str(&row.join(","));
                    sk.push('\n');
                    k += 1;
                }
                files.push((format!("young/skeleton/{name}"), sk));
                // Watch: accelerometer and gyroscope sampled independently.
                let gap = (rng.uniform() < 0.3)
                    .then(|| (rng.range(2.0, duration - 2.0), rng.range(1.2, 6.0)));
                for (sensor, offset) in [
                    ("accelerometer", rng.range(0.0, 0.5)),
                    ("gyroscope", rng.range(0.0, 1.5)),
                ] {
                    if sensor == "gyroscope" && no_gyro {
                        continue;
                    }
                    let rate = subject.rate_hz * rng.range(0.95, 1.05);
                    let mut true_t = Vec::new();
                    let mut t = offset;
                    while t < duration {
                        let in_gap = gap.is_some_and(|(g0, gl)| t >= g0 && t < g0 + gl);
                        if !in_gap {
                            true_t.push(t);
                        }
                        t += (1.0 / rate) * rng.range(0.8, 1.2);
                    }
                    let stamps = delivery_times(&mut rng, &true_t);
                    let mut csv = String::new();
                    if sensor == "gyroscope" && subj == 2 && activity == 5 && trial == 1 {
                        // Real-data defect: a gyroscope file holding only a pandas header.
                        files.push((
                            format!("young/gyroscope/watch/{name}"),
                            "-0.08425667,0.23323223,-0.0048844446,Unnamed: 3\n".into(),
                        ));
                        continue;
                    }
                    for (i, (&tt, &ts)) in true_t.iter().zip(&stamps).enumerate() {
                        let (a, g) = imu_at(&subject, &p, tt);
                        let v = if sensor == "accelerometer" {
                            a.map(|x| (x + rng.normal() * subject.acc_noise).clamp(-78.0, 78.0))
                        } else {
                            g.map(|x| x + rng.normal() * subject.gyro_noise)
                        };
                        let mut vals: Vec<String> = v.iter().map(|&x| fmt_f(x)).collect();
                        if i == 0
                            && sensor == "gyroscope"
                            && activity == 10
                            && trial == 1
                            && subj == 1
                        {
                            // Real-data defect: pandas duplicate-column mangle on the first line.
                            vals[2] = format!("{}.1", vals[1]);
                        }
                        csv.push_str(&format!(
                            "{},{}\n",
                            format_timestamp(start + ts),
                            vals.join(",")
                        ));
                    }
                    files.push((format!("young/{sensor}/watch/{name}"), csv));
                }
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::timestamp::parse_timestamp;

    #[test]
    fn timestamps_round_trip_with_trimmed_fractions() {
        for s in [
            "2024-07-23 14:18:14.96",
            "2024-07-23 14:18:16.7",
            "2024-02-29 00:00:00",
            "2024-07-23 23:59:59.999",
        ] {
            assert_eq!(format_timestamp(parse_timestamp(s).unwrap()), s);
        }
    }

    /// An average subject at 40 Hz without sensor noise.
    fn still_subject() -> Subject {
        Subject {
            scale: 1.0,
            speed: 1.0,
            amp: 1.0,
            rate_hz: 40.0,
            acc_noise: 0.0,
            gyro_noise: 0.0,
        }
    }

    #[test]
    fn resting_wrist_measures_gravity() {
        let s = still_subject();
        let p = TrialParams {
            activity: 6,
            duration: 10.0,
            t_event: 3.0,
            d_event: 1.0,
            period: 4.0,
            phase: 0.0,
            amp: 0.0,
            dir_jitter: 0.0,
            recovers: false,
        };
        let (a, _) = imu_at(&s, &p, 1.0);
        let norm = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
        assert!((norm - 9.81).abs() < 1.5, "|a| = {norm}");
    }

    #[test]
    fn falls_hit_harder_than_drinking() {
        let s = still_subject();
        let peak = |activity| {
            let p = TrialParams {
                activity,
                duration: 10.0,
                t_event: 3.0,
                d_event: 0.9,
                period: 4.0,
                phase: 0.0,
                amp: 1.0,
                dir_jitter: 0.1,
                recovers: false,
            };
            (0..1000)
                .map(|i| {
                    imu_at(&s, &p, i as f64 * 0.01)
                        .0
                        .iter()
                        .map(|x| x * x)
                        .sum::<f64>()
                        .sqrt()
                })
                .fold(0.0, f64::max)
        };
        assert!(
            peak(11) > 2.0 * peak(1),
            "fall {} vs drink {}",
            peak(11),
            peak(1)
        );
    }
}
