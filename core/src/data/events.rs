//! Event streams: IMU samples with their (unreliable) timestamps.

/// Channels per event: accelerometer xyz (m/s^2) + gyroscope xyz (rad/s).
pub const CHANNELS: usize = 6;

/// One IMU event.
pub type Event = [f32; CHANNELS];

/// Stable sort of events by timestamp (equal timestamps keep their order). Timestamps must not
/// be NaN; parsing rejects those.
pub fn sort_events<const C: usize>(events: &mut Vec<[f32; C]>, timestamps: &mut Vec<f64>) {
    assert_eq!(
        events.len(),
        timestamps.len(),
        "events and timestamps differ in length"
    );
    if timestamps.windows(2).all(|w| w[0] <= w[1]) {
        return;
    }
    let mut order: Vec<usize> = (0..timestamps.len()).collect();
    order.sort_by(|&a, &b| timestamps[a].total_cmp(&timestamps[b]));
    *events = order.iter().map(|&i| events[i]).collect();
    *timestamps = order.iter().map(|&i| timestamps[i]).collect();
}

/// Sorted samples with runs of equal timestamps averaged, for interpolation.
#[derive(Debug, Clone)]
pub struct Interpolator<const C: usize> {
    times: Vec<f64>,
    values: Vec<[f32; C]>,
}

impl<const C: usize> Interpolator<C> {
    /// Builds from samples sorted by time (stable-sort first); duplicates are averaged.
    pub fn new(values: &[[f32; C]], timestamps: &[f64]) -> Self {
        assert_eq!(
            values.len(),
            timestamps.len(),
            "values and timestamps differ in length"
        );
        let mut times: Vec<f64> = Vec::with_capacity(values.len());
        let mut out: Vec<[f32; C]> = Vec::with_capacity(values.len());
        let mut counts: Vec<u32> = Vec::with_capacity(values.len());
        for (v, &t) in values.iter().zip(timestamps) {
            if times.last() == Some(&t) {
                let acc = out.last_mut().expect("non-empty");
                for (a, b) in acc.iter_mut().zip(v) {
                    *a += *b;
                }
                *counts.last_mut().expect("non-empty") += 1;
            } else {
                times.push(t);
                out.push(*v);
                counts.push(1);
            }
        }
        for (v, &c) in out.iter_mut().zip(&counts) {
            v.iter_mut().for_each(|a| *a /= c as f32);
        }
        Interpolator { times, values: out }
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// First and last time.
    pub fn span(&self) -> Option<(f64, f64)> {
        Some((*self.times.first()?, *self.times.last()?))
    }

    /// Linear interpolation at `t` (clamped to the ends); zeros when empty.
    pub fn at(&self, t: f64) -> [f32; C] {
        let n = self.times.len();
        if n == 0 {
            return [0.0; C];
        }
        if n == 1 || t <= self.times[0] {
            return self.values[0];
        }
        if t >= self.times[n - 1] {
            return self.values[n - 1];
        }
        let k = self.times.partition_point(|&x| x <= t) - 1;
        let (ta, tb) = (self.times[k], self.times[k + 1]);
        let w = ((t - ta) / (tb - ta)) as f32;
        let mut v = [0.0; C];
        for (c, slot) in v.iter_mut().enumerate() {
            *slot = self.values[k][c] * (1.0 - w) + self.values[k + 1][c] * w;
        }
        v
    }

    /// Values at `l` instants evenly spaced over the span (the middle when `l == 1`).
    pub fn grid(&self, l: usize) -> Vec<[f32; C]> {
        let Some((t0, t1)) = self.span() else {
            return vec![[0.0; C]; l];
        };
        (0..l)
            .map(|j| {
                let f = if l == 1 {
                    0.5
                } else {
                    j as f64 / (l - 1) as f64
                };
                self.at(t0 + (t1 - t0) * f)
            })
            .collect()
    }
}
