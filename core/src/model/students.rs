//! Either student: the tagged configuration ([`StudentConfig`]) and the module ([`Student`]) that
//! training, the model file, the CLI and the browser all hold, with one `forward` on a
//! [`StudentBatch`].

use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::fixed_rate::{FixedRateStudent, FixedRateStudentConfig, FlatFixedRateConfig};
use super::output::ModelOutput;
use super::student::{TimestampAwareStudent, TimestampAwareStudentConfig};
use crate::batch::StudentBatch;
use crate::error::Error;

/// Which student, with its configuration (the model file's `arch`, tagged by `kind`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StudentConfig {
    /// The timestamp-aware student.
    TimestampAware(TimestampAwareStudentConfig),
    /// The fixed-rate baseline (files written before its trunk was nested load too).
    #[serde(deserialize_with = "fixed_rate_config")]
    FixedRate(FixedRateStudentConfig),
}

/// A fixed-rate configuration, nested or as files exported before the nesting wrote it.
fn fixed_rate_config<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<FixedRateStudentConfig, D::Error> {
    use serde::de::Error as _;
    let v = serde_json::Value::deserialize(d)?;
    // The flat form has no `trunk`; anything else reads as the nested form, so that its errors
    // name the key at fault.
    if v.get("trunk").is_none() && v.get("embed_dim").is_some() {
        return FlatFixedRateConfig::deserialize(v)
            .map(Into::into)
            .map_err(D::Error::custom);
    }
    FixedRateStudentConfig::deserialize(v).map_err(D::Error::custom)
}

impl StudentConfig {
    /// Checks the configuration, naming the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            StudentConfig::TimestampAware(c) => c.validate(),
            StudentConfig::FixedRate(c) => c.validate(),
        }
    }

    /// Builds the student on `device`.
    pub fn init(&self, device: &Device) -> Student {
        match self {
            StudentConfig::TimestampAware(c) => Student::TimestampAware(c.init(device)),
            StudentConfig::FixedRate(c) => Student::FixedRate(c.init(device)),
        }
    }

    /// Model width D.
    pub fn embed_dim(&self) -> usize {
        match self {
            StudentConfig::TimestampAware(c) => c.embed_dim,
            StudentConfig::FixedRate(c) => c.trunk.embed_dim,
        }
    }
}

impl TimestampAwareStudentConfig {
    /// The fixed-rate baseline with the same trunk (width, tokens, heads, layers, dropout,
    /// positional encoding, Gram tokens): the baseline a run's `student.arch: fixed-rate` trains.
    pub fn fixed_rate(&self) -> FixedRateStudentConfig {
        FixedRateStudentConfig::new(self.trunk())
            .with_input_channels(self.input_channels)
            .with_num_tokens(self.num_tokens)
    }
}

/// A student of either kind.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // one per run or detector, never in a collection
pub enum Student {
    /// Timestamp-aware: events, timestamps and mask through the event-token resampler.
    TimestampAware(TimestampAwareStudent),
    /// Fixed-rate baseline: the window interpolated onto an even grid.
    FixedRate(FixedRateStudent),
}

impl Student {
    /// Fall logits and trunk outputs of a batch of windows.
    ///
    /// # Shapes
    /// - batch: `events (B, N, 6)` (`(B, N, 8)` with magnitude channels), `timestamps (B, N)`,
    ///   `mask (B, N)` for the timestamp-aware student (and `features (B, F)` with its
    ///   window-feature path); `grid (B, L, 6)` for the
    ///   fixed-rate baseline
    /// - output: `logits (B)`, `features (B, D)`, `tokens (B, L, D)`, `pooled_tokens (B, G, D)`,
    ///   `attention (B, L)` (see [`ModelOutput`])
    pub fn forward(&self, batch: &StudentBatch) -> ModelOutput {
        match self {
            Student::TimestampAware(m) => m.forward(
                batch.events.clone(),
                batch.timestamps.clone(),
                batch.mask.clone(),
                batch.features.clone(),
            ),
            Student::FixedRate(m) => m.forward(batch.grid.clone()),
        }
    }

    /// Tokens L (the resampler's, or the baseline's grid length).
    pub fn num_tokens(&self) -> usize {
        match self {
            Student::TimestampAware(m) => m.num_tokens(),
            Student::FixedRate(m) => m.num_tokens(),
        }
    }

    /// The timestamp-aware student, if this is one.
    pub fn timestamp_aware(&self) -> Option<&TimestampAwareStudent> {
        match self {
            Student::TimestampAware(m) => Some(m),
            Student::FixedRate(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_twin_keeps_the_trunk_settings() {
        let ts = TimestampAwareStudentConfig::new()
            .with_embed_dim(32)
            .with_num_tokens(16)
            .with_num_layers(1)
            .with_dropout(0.2);
        let fr = ts.fixed_rate();
        assert_eq!(
            (
                fr.trunk.embed_dim,
                fr.num_tokens,
                fr.trunk.num_layers,
                fr.trunk.dropout,
                fr.trunk.max_len
            ),
            (32, 16, 1, 0.2, 16)
        );
        assert_eq!(StudentConfig::FixedRate(fr).embed_dim(), 32);
    }

    #[test]
    fn the_tag_is_the_model_files_kind() {
        let fr = TimestampAwareStudentConfig::new().fixed_rate();
        let j = serde_json::to_value(StudentConfig::FixedRate(fr.clone())).unwrap();
        assert_eq!(j["kind"], "fixed-rate");
        let back: StudentConfig = serde_json::from_value(j).unwrap();
        let StudentConfig::FixedRate(back) = back else {
            panic!("{back:?}")
        };
        assert_eq!(back.to_string(), fr.to_string());
        // A file exported before the trunk was nested: every setting flat beside `kind`.
        let flat = serde_json::json!({
            "kind": "fixed-rate", "input_channels": 6, "embed_dim": 32, "num_tokens": 16,
            "num_heads": 2, "num_layers": 1, "dropout": 0.2, "use_pos_enc": true,
            "gram_tokens": 8
        });
        let StudentConfig::FixedRate(old) = serde_json::from_value(flat).unwrap() else {
            panic!("not the baseline")
        };
        let want = TimestampAwareStudentConfig::new()
            .with_embed_dim(32)
            .with_num_tokens(16)
            .with_num_heads(2)
            .with_num_layers(1)
            .with_dropout(0.2)
            .with_gram_tokens(8)
            .fixed_rate();
        assert_eq!(old.to_string(), want.to_string());
        // Neither form: refused, naming what is missing.
        let e = serde_json::from_value::<StudentConfig>(serde_json::json!({"kind": "fixed-rate"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("trunk"), "{e}");
    }
}
