//! Umbrella crate; see fallkd-core.
pub use fallkd_core as core;
