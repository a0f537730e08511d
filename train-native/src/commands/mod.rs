//! One module per subcommand.

pub mod ablation;
pub mod audit;
pub mod evaluate;
pub mod export;
pub mod export_onnx;
pub mod features;
pub mod generate;
pub mod inspect;
pub mod loso;
pub mod personalize;
pub mod personalize_study;
pub mod pipeline;
pub mod predict;
pub mod score;
pub mod speed;
pub mod stress;
pub mod train;
