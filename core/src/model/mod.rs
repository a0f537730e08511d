//! Neural networks: the skeleton teacher, the event-based student, the fixed-rate baseline and
//! the blocks they share.

pub mod attention_pooling;
pub mod dropout;
pub mod encoder;
pub mod fixed_rate;
pub mod host_forward;
#[cfg(not(target_arch = "wasm32"))]
pub mod host_train;
pub mod jitter;
pub mod joint_embedding;
pub mod masking;
pub mod output;
pub mod positional;
pub mod resampler;
pub mod squeeze_excitation;
pub mod student;
pub mod students;
pub mod teacher;
pub mod trunk;

pub use attention_pooling::{TemporalAttentionPooling, TemporalAttentionPoolingConfig};
pub use dropout::{dropout, seed_dropout, seed_training};
pub use encoder::encoder_forward;
pub use fixed_rate::{FixedRateStudent, FixedRateStudentConfig};
pub use host_forward::{ForwardParts, HostStudent};
#[cfg(not(target_arch = "wasm32"))]
pub use host_train::{HostForward, HostInputs, HostNet, HostOutputs, OutputGrads, ParamGrad};
pub use jitter::jitter;
pub use joint_embedding::{JointEmbedding, JointEmbeddingConfig};
pub use output::ModelOutput;
pub use positional::{LearnedPositionalEncoding, LearnedPositionalEncodingConfig};
pub use resampler::{EventTokenResampler, EventTokenResamplerConfig, TimeMode};
pub use squeeze_excitation::{SqueezeExcitation, SqueezeExcitationConfig};
pub use student::{TimestampAwareStudent, TimestampAwareStudentConfig};
pub use students::{Student, StudentConfig};
pub use teacher::{SkeletonTransformer, SkeletonTransformerConfig};
pub use trunk::{Trunk, TrunkConfig};
