//! Data: parsing SmartFallMM CSV from bytes, trial assembly, windowing, normalisation, splits
//! and the timestamp audit. No filesystem access: callers hand in bytes and names.

pub mod events;
