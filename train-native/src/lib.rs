//! fallkd-train: the native side of fallkd (data from disk, training, reports). The `fallkd`
//! binary is a thin command-line layer over this library.

pub mod batcher;
pub mod checkpoint;
pub mod children;
pub mod commands;
pub mod config;
pub mod dataset;
pub mod device;
pub mod ensemble;
pub mod epoch;
pub mod evaluation;
pub mod flags;
pub mod gbm;
pub mod host_step;
pub mod model;
pub mod plot;
pub mod predictions;
pub mod run_dir;
pub mod source;
pub mod stats;
pub mod study;
pub mod sweep;
pub mod teacher_cache;
pub mod trainer;
pub mod weight_average;
