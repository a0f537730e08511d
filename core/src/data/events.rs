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

    /// Mean over `[a, b]` of the line through the samples (the ends held flat outside the span,
    /// as [`Interpolator::at`] does): exact, by the trapezoid rule between `a`, every sample
    /// time inside, and `b`. The value at `a` when `b <= a`.
    pub fn mean(&self, a: f64, b: f64) -> [f32; C] {
        if b.partial_cmp(&a) != Some(std::cmp::Ordering::Greater) {
            return self.at(a);
        }
        let first = self.times.partition_point(|&x| x <= a);
        let last = self.times.partition_point(|&x| x < b);
        // The samples inside are their own values: no search for them.
        let inner = (first..last.max(first)).map(|k| (self.times[k], self.values[k]));
        let points = inner.chain(std::iter::once((b, self.at(b))));
        let mut sum = [0.0f64; C];
        let (mut t_prev, mut v_prev) = (a, self.at(a));
        for (t, v) in points {
            let dt = t - t_prev;
            for c in 0..C {
                sum[c] += 0.5 * dt * (v_prev[c] as f64 + v[c] as f64);
            }
            (t_prev, v_prev) = (t, v);
        }
        sum.map(|x| (x / (b - a)) as f32)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_integrates_the_line_exactly() {
        // 0 at t=0, 2 at t=1, 0 at t=2: a triangle.
        let i = Interpolator::new(&[[0.0f32], [2.0], [0.0]], &[0.0, 1.0, 2.0]);
        assert!((i.mean(0.0, 2.0)[0] - 1.0).abs() < 1e-6);
        // [0.5, 1.5]: area 0.5 * (1 + 2) * 0.5 * 2 = 1.5 over 1 s.
        assert!((i.mean(0.5, 1.5)[0] - 1.5).abs() < 1e-6);
        // Inside one piece it is the value at the middle.
        assert!((i.mean(0.2, 0.4)[0] - 0.6).abs() < 1e-6);
        // Held flat past the ends, and an empty interval gives the value there.
        assert!((i.mean(2.0, 4.0)[0]).abs() < 1e-6);
        assert_eq!(i.mean(1.0, 1.0), i.at(1.0));
        assert_eq!(i.mean(1.0, 0.5), i.at(1.0));
    }

    #[test]
    fn a_mean_over_a_spike_differs_less_between_rates_than_the_instant() {
        // A one-sample spike at t = 1.02 s: a 100 Hz watch writes it, a 20 Hz one misses it.
        let at = |hz: f64| {
            let ts: Vec<f64> = (0..(2.0 * hz) as usize).map(|k| k as f64 / hz).collect();
            let vs: Vec<[f32; 1]> = ts
                .iter()
                .map(|&t| [if (t - 1.02).abs() < 0.001 { 30.0 } else { 10.0 }])
                .collect();
            Interpolator::new(&vs, &ts)
        };
        let (fast, slow) = (at(100.0), at(20.0));
        let instant = (fast.at(1.02)[0] - slow.at(1.02)[0]).abs();
        let mean = (fast.mean(0.97, 1.07)[0] - slow.mean(0.97, 1.07)[0]).abs();
        assert!((instant - 20.0).abs() < 1e-4, "{instant}");
        // The spike's triangle: 20 high, 0.02 s wide at its base (area 0.2), over 0.1 s: 2.
        assert!((mean - 2.0).abs() < 1e-4, "{mean}");
    }
}
