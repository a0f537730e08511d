//! Data: parsing SmartFallMM CSV from bytes, trial assembly, windowing, normalisation, splits
//! and the timestamp audit. No filesystem access: callers hand in bytes and names.

pub mod audit;
pub mod augment;
pub mod columns;
pub mod cuts;
pub mod dedup;
pub mod events;
pub mod gravity;
pub mod hard_negatives;
pub mod imu_csv;
pub mod lockbox;
pub mod normalize;
pub mod skeleton_csv;
pub mod split;
pub mod timestamp;
pub mod trial;
pub mod units;
pub mod window;

pub use crate::error::DataError;
