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
