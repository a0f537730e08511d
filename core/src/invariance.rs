//! The same recording as another watch or another wearer would write it (issue #32): resampled,
//! on the other wrist, turned in the band, written in g, cut short around the impact. A detector
//! that holds on new watches gives the same alarms on all of them; `fallkd score --invariance`
//! measures it on real recordings and `core/tests/invariance.rs` on generated ones.
//!
//! Transforms act on the parsed files (each sensor with its own clock, as the watch wrote it)
//! and give new file bytes ([`SensorFile::to_csv`]), so the result is scored by exactly the path
//! a user's upload takes: parsing, unit detection, assembly, windowing, the model.

use crate::data::events::Interpolator;
use crate::data::imu_csv::ImuRecording;
use crate::data::units::STANDARD_GRAVITY;
use crate::data::window::segments;

/// One sensor's samples: times in seconds (Unix time, as parsed) and x, y, z.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SensorFile {
    /// Seconds, in file order.
    pub timestamps: Vec<f64>,
    /// x, y, z per sample.
    pub values: Vec<[f32; 3]>,
}

impl From<&ImuRecording> for SensorFile {
    fn from(r: &ImuRecording) -> Self {
        SensorFile {
            timestamps: r.timestamps.clone(),
            values: r.values.clone(),
        }
    }
}

impl SensorFile {
    /// The file as a watch CSV: no header, `unix_seconds,x,y,z` per line (microsecond times,
    /// values to 6 significant digits), which the parser reads back.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.values.len() * 48);
        for (t, v) in self.timestamps.iter().zip(&self.values) {
            out.push_str(&format!("{t:.6},{:.6e},{:.6e},{:.6e}\n", v[0], v[1], v[2]));
        }
        out.into_bytes()
    }

    fn map(&self, f: impl Fn([f32; 3]) -> [f32; 3]) -> SensorFile {
        SensorFile {
            timestamps: self.timestamps.clone(),
            values: self.values.iter().map(|&v| f(v)).collect(),
        }
    }

    fn keep(&self, from: f64, to: f64) -> SensorFile {
        let (timestamps, values) = self
            .timestamps
            .iter()
            .zip(&self.values)
            .filter(|(t, _)| (from..=to).contains(*t))
            .map(|(t, v)| (*t, *v))
            .unzip();
        SensorFile { timestamps, values }
    }

    /// Linear interpolation onto `grid` (inside the file's own span only).
    fn resampled(&self, grid: &[f64]) -> SensorFile {
        let mut order: Vec<usize> = (0..self.timestamps.len()).collect();
        order.sort_by(|&a, &b| self.timestamps[a].total_cmp(&self.timestamps[b]));
        let ts: Vec<f64> = order.iter().map(|&i| self.timestamps[i]).collect();
        let vs: Vec<[f32; 3]> = order.iter().map(|&i| self.values[i]).collect();
        let interp = Interpolator::new(&vs, &ts);
        let Some((lo, hi)) = interp.span() else {
            return SensorFile::default();
        };
        let (timestamps, values) = grid
            .iter()
            .filter(|t| (lo..=hi).contains(*t))
            .map(|&t| (t, interp.at(t)))
            .unzip();
        SensorFile { timestamps, values }
    }
}

/// A recording: the accelerometer file and, when there is one, the gyroscope file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recording {
    /// Accelerometer, m/s^2 with gravity (or g, once [`Transform::InG`] has run).
    pub acc: SensorFile,
    /// Gyroscope, rad/s.
    pub gyro: Option<SensorFile>,
}

impl Recording {
    /// The time of the largest |acceleration| (the impact of a fall), `None` without samples.
    pub fn impact_time(&self) -> Option<f64> {
        self.acc
            .timestamps
            .iter()
            .zip(&self.acc.values)
            .map(|(&t, v)| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2], t))
            .filter(|(m, _)| m.is_finite())
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, t)| t)
    }
}

/// One way another watch or wearer changes a recording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transform {
    /// Both sensors on one even clock at this rate (Hz), by linear interpolation, from the
    /// accelerometer's first sample of each stretch without a gap over 1 s (gaps stay gaps: a
    /// watch that lost its data there would lose it at any rate): another watch's sampling.
    Resample(f64),
    /// The other wrist: the acceleration's x negated, the rotation rate's y and z (a
    /// pseudo-vector under a mirror).
    Mirror,
    /// The watch frame turned by this many degrees about its z axis (the face's normal), both
    /// sensors: a watch worn turned, or another brand's axis convention.
    Turn(f64),
    /// The acceleration written in g instead of m/s^2.
    InG,
    /// The recording starts this many seconds before the impact.
    StartBeforeImpact(f64),
    /// The recording ends this many seconds after the impact.
    EndAfterImpact(f64),
}

impl Transform {
    /// The transforms of issue #32's yardstick, in report order.
    pub fn standard() -> Vec<Transform> {
        vec![
            Transform::Resample(20.0),
            Transform::Resample(25.0),
            Transform::Resample(50.0),
            Transform::Resample(100.0),
            Transform::Mirror,
            Transform::Turn(90.0),
            Transform::Turn(180.0),
            Transform::InG,
            Transform::StartBeforeImpact(1.0),
            Transform::EndAfterImpact(1.0),
        ]
    }

    /// A short name for reports (`resample-20hz`, `mirror`, `turn-90`, `in-g`, `start-1s`,
    /// `end-1s`).
    pub fn name(&self) -> String {
        match self {
            Transform::Resample(hz) => format!("resample-{hz}hz"),
            Transform::Mirror => "mirror".into(),
            Transform::Turn(deg) => format!("turn-{deg}"),
            Transform::InG => "in-g".into(),
            Transform::StartBeforeImpact(s) => format!("start-{s}s-before-impact"),
            Transform::EndAfterImpact(s) => format!("end-{s}s-after-impact"),
        }
    }

    /// Whether the transform only applies to recordings with an impact to cut around (falls).
    pub fn needs_impact(&self) -> bool {
        matches!(
            self,
            Transform::StartBeforeImpact(_) | Transform::EndAfterImpact(_)
        )
    }

    /// The recording as the transform leaves it.
    pub fn apply(&self, r: &Recording) -> Recording {
        let both = |f: &dyn Fn(&SensorFile) -> SensorFile| Recording {
            acc: f(&r.acc),
            gyro: r.gyro.as_ref().map(f),
        };
        match *self {
            Transform::Resample(hz) => {
                let mut ts = r.acc.timestamps.clone();
                ts.sort_by(f64::total_cmp);
                let mut grid = Vec::new();
                for seg in segments(&ts, MAX_GAP_S) {
                    let (lo, hi) = (ts[seg.start], ts[seg.end - 1]);
                    let n = ((hi - lo) * hz + 1e-9).floor() as usize + 1;
                    grid.extend((0..n).map(|i| lo + i as f64 / hz));
                }
                both(&|f| f.resampled(&grid))
            }
            Transform::Mirror => Recording {
                acc: r.acc.map(|v| [-v[0], v[1], v[2]]),
                gyro: r.gyro.as_ref().map(|g| g.map(|v| [v[0], -v[1], -v[2]])),
            },
            Transform::Turn(deg) => {
                let (s, c) = (deg.to_radians().sin() as f32, deg.to_radians().cos() as f32);
                both(&|f| f.map(|v| [c * v[0] - s * v[1], s * v[0] + c * v[1], v[2]]))
            }
            Transform::InG => Recording {
                acc: r
                    .acc
                    .map(|v| v.map(|x| (x as f64 / STANDARD_GRAVITY) as f32)),
                gyro: r.gyro.clone(),
            },
            Transform::StartBeforeImpact(s) => match r.impact_time() {
                Some(t) => both(&|f| f.keep(t - s, f64::INFINITY)),
                None => r.clone(),
            },
            Transform::EndAfterImpact(s) => match r.impact_time() {
                Some(t) => both(&|f| f.keep(f64::NEG_INFINITY, t + s)),
                None => r.clone(),
            },
        }
    }
}

/// The gap that splits a recording (the models' `window.max_gap_s` default), in seconds.
const MAX_GAP_S: f64 = 1.0;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::imu_csv::parse_imu_csv;

    fn rec() -> Recording {
        let ts: Vec<f64> = (0..200).map(|i| 1.7e9 + (i / 2) as f64 * 0.05).collect();
        let acc = (0..200)
            .map(|i| {
                let spike = if i == 120 { 30.0 } else { 0.0 };
                [0.3 * i as f32 % 1.0, 1.0, 9.8 + spike]
            })
            .collect();
        let gyro = (0..200).map(|i| [0.01 * i as f32, -0.5, 0.25]).collect();
        Recording {
            acc: SensorFile {
                timestamps: ts.clone(),
                values: acc,
            },
            gyro: Some(SensorFile {
                timestamps: ts,
                values: gyro,
            }),
        }
    }

    #[test]
    fn written_files_parse_back_to_the_same_samples() {
        let r = rec();
        let parsed = parse_imu_csv("a.csv", &r.acc.to_csv()).unwrap();
        assert_eq!(parsed.values.len(), 200);
        for ((t, v), (t2, v2)) in r
            .acc
            .timestamps
            .iter()
            .zip(&r.acc.values)
            .zip(parsed.timestamps.iter().zip(&parsed.values))
        {
            assert!((t - t2).abs() < 2e-6, "{t} {t2}");
            for (a, b) in v.iter().zip(v2) {
                assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0));
            }
        }
    }

    #[test]
    fn each_transform_does_what_it_says() {
        let r = rec();
        let at = |t: Transform| t.apply(&r);
        let rs = at(Transform::Resample(20.0));
        assert_eq!(
            rs.acc.timestamps.len(),
            (4.95f64 * 20.0).floor() as usize + 1
        );
        assert!(
            rs.acc
                .timestamps
                .windows(2)
                .all(|w| (w[1] - w[0] - 0.05).abs() < 1e-6)
        );
        assert_eq!(rs.gyro.as_ref().unwrap().timestamps, rs.acc.timestamps);
        // A gap stays a gap.
        let mut gap = r.clone();
        for t in gap.acc.timestamps.iter_mut().skip(100) {
            *t += 60.0;
        }
        let rg = Transform::Resample(20.0).apply(&gap);
        assert!(rg.acc.timestamps.windows(2).any(|w| w[1] - w[0] > 50.0));
        assert!(rg.acc.timestamps.len() < 110, "{}", rg.acc.timestamps.len());
        let m = at(Transform::Mirror);
        assert_eq!(
            m.acc.values[5],
            [-r.acc.values[5][0], 1.0, r.acc.values[5][2]]
        );
        assert_eq!(m.gyro.unwrap().values[5], [0.01f32 * 5.0, 0.5, -0.25]);
        let t = at(Transform::Turn(90.0));
        let (a, b) = (r.acc.values[7], t.acc.values[7]);
        assert!((b[0] + a[1]).abs() < 1e-5 && (b[1] - a[0]).abs() < 1e-5 && b[2] == a[2]);
        let g = at(Transform::InG);
        assert!((g.acc.values[0][2] - 9.8 / 9.80665).abs() < 1e-6);
        let impact = r.impact_time().unwrap();
        assert_eq!(impact, r.acc.timestamps[120]);
        let s = at(Transform::StartBeforeImpact(1.0));
        assert!((s.acc.timestamps[0] - (impact - 1.0)).abs() < 1e-6);
        let e = at(Transform::EndAfterImpact(1.0));
        assert!((e.acc.timestamps.last().unwrap() - (impact + 1.0)).abs() < 1e-6);
        assert_eq!(Transform::standard().len(), 10);
        assert!(
            Transform::standard()
                .iter()
                .filter(|t| t.needs_impact())
                .count()
                == 2
        );
    }
}
