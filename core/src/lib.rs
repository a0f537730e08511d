//! # fallkd-core
//!
//! The platform-independent heart of fallkd: models, knowledge-distillation losses, SmartFallMM
//! parsing, windowing, perturbations and metrics. No filesystem access and no CLI, so the same
//! code runs natively and in the browser (wasm32).

pub mod alarm;
pub mod batch;
pub mod data;
pub mod error;
pub use error::Error;
pub mod fall_replay;
pub mod features;
pub mod inference;
pub mod invariance;
pub mod losses;
pub mod metrics;
pub mod model;
pub mod model_file;
pub mod onnx;
pub mod personalize;
pub mod perturb;
pub mod provenance;
pub mod rng;
pub mod synth;
pub mod wear;

pub use burn;
