//! Where a model comes from: the data it trained on, its configuration, the code, the figures
//! that chose it and how its threshold was set. Written into the model file by `fallkd export`,
//! printed by `fallkd inspect`, shown by the page.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The data a model trained and was validated on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataOrigin {
    /// SHA-256 over the training and validation recordings as the loader assembled them (see
    /// [`DataHasher`]), hex.
    pub sha256: String,
    /// Recordings hashed.
    pub recordings: usize,
    /// Young subjects that trained.
    pub train_subjects: Vec<u16>,
    /// Young subjects that chose epochs and the threshold.
    pub val_subjects: Vec<u16>,
    /// Older adults whose daily living trained (as negatives) or validated.
    pub old_adults: Vec<u16>,
    /// What the data was (a folder, or generated data).
    pub source: String,
}

/// One figure that chose the model or describes it (`lockbox recording F1`, `0.812 +- 0.009`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Figure {
    /// What was measured, and on what.
    pub name: String,
    /// The value as reported (with its spread).
    pub value: String,
}

/// Where a model file comes from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Provenance {
    /// The run (or recipe) that trained it.
    pub run: String,
    /// The training data.
    pub data: DataOrigin,
    /// The run's resolved configuration (YAML).
    pub config: String,
    /// The source revision that trained it (`git` commit, `-dirty` with local changes;
    /// `unknown` outside a checkout).
    pub commit: String,
    /// When the file was written (UTC, ISO 8601).
    pub exported: String,
    /// How the alarm threshold was chosen.
    pub threshold_choice: String,
    /// The figures that chose it (lockbox, across-watch, folds), as reported.
    pub figures: Vec<Figure>,
    /// SHA-256 of the model file this one adapted, for a personal model; empty otherwise.
    pub base_model: String,
    /// What personalisation did, for a personal model.
    pub personalization: Option<Personalization>,
}

/// What personalisation did (`core::personalize`), kept in a personal model's provenance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Personalization {
    /// Labelled recordings it learnt from.
    pub recordings: usize,
    /// Of them, falls.
    pub falls: usize,
    /// Their windows.
    pub windows: usize,
    /// What adapted: `threshold`, or `head and threshold`.
    pub adapted: String,
    /// The personal alarm threshold.
    pub threshold: f64,
    /// Errors (missed falls plus alarming daily-living recordings) of the base model on the
    /// labelled recordings, each held out in cross-validation.
    pub base_errors: usize,
    /// The same for the personal model.
    pub personal_errors: usize,
    /// Whether the personal model is used (it made no more errors than the base model).
    pub used: bool,
    /// Why, in a sentence for the wearer.
    pub why: String,
    /// When (UTC, ISO 8601; from the caller's clock).
    pub date: String,
    /// Fall windows shipped with the model that joined in (no fall was labelled;
    /// [`crate::fall_replay`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub replayed: usize,
    /// The threshold they held down to, when they lowered it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_cap: Option<f64>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// SHA-256 of the assembled recordings, independent of file layout and order: each recording's
/// name, gyroscope flag, timestamps (f64) and channels (f32), little-endian, recordings sorted
/// by name by the caller.
#[derive(Default)]
pub struct DataHasher {
    hash: Sha256,
    count: usize,
}

impl DataHasher {
    /// Adds one recording.
    pub fn add(
        &mut self,
        name: &str,
        gyro_missing: bool,
        timestamps: &[f64],
        channels: &[[f32; 6]],
    ) {
        self.hash.update((name.len() as u64).to_le_bytes());
        self.hash.update(name.as_bytes());
        self.hash.update([gyro_missing as u8]);
        self.hash.update((timestamps.len() as u64).to_le_bytes());
        for t in timestamps {
            self.hash.update(t.to_le_bytes());
        }
        for c in channels {
            for v in c {
                self.hash.update(v.to_le_bytes());
            }
        }
        self.count += 1;
    }

    /// The hex digest and the number of recordings added.
    pub fn finish(self) -> (String, usize) {
        (hex(&self.hash.finalize()), self.count)
    }
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha256(bytes))
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the Unix epoch (UTC).
pub fn iso_utc(unix_s: u64) -> String {
    let days = (unix_s / 86_400) as i64;
    let rem = unix_s % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso_utc(1_796_648_645), "2026-12-07T13:04:05Z");
    }

    #[test]
    fn the_data_hash_sees_every_sample_and_the_order() {
        let h = |a: f32, names: [&str; 2]| {
            let mut d = DataHasher::default();
            for n in names {
                d.add(n, false, &[0.0, 0.1], &[[a, 0., 0., 0., 0., 0.], [1.; 6]]);
            }
            d.finish()
        };
        let base = h(1.0, ["a", "b"]);
        assert_eq!(base.1, 2);
        assert_eq!(base, h(1.0, ["a", "b"]));
        assert_ne!(base.0, h(1.000_001, ["a", "b"]).0);
        assert_ne!(base.0, h(1.0, ["b", "a"]).0);
        assert_eq!(sha256_hex(b"abc").len(), 64);
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
