//! The exported student: one file the CLI writes and the browser reads.
//!
//! Layout (format 2): the 8 bytes `FALLKD02`, a little-endian u32 length, that many bytes of
//! JSON ([`ModelHeader`]: architecture, normalisation statistics, decision threshold,
//! provenance), the Burnpack bytes of the weights, then the 32-byte SHA-256 of everything before
//! it. A file whose checksum does not match is refused: one flipped bit in the weights changes
//! the answer and would otherwise load silently.
//!
//! Format 1 (`FALLKD01`, written before the checksum) has no trailer; it still loads, marked
//! unchecked ([`FileCheck`]).

use crate::error::Error;
use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};

use crate::alarm::AlarmConfig;
use crate::data::normalize::NormStats;
use crate::data::window::{FallWindows, WindowConfig, WindowLength};
use crate::fall_replay::FallReplay;
use crate::model::{Student, StudentConfig};
use crate::provenance::{Provenance, hex, sha256, sha256_hex};

/// Format 1: no checksum.
const MAGIC_V1: &[u8; 8] = b"FALLKD01";
/// Format 2: a SHA-256 trailer over the whole file.
const MAGIC: &[u8; 8] = b"FALLKD02";
/// Bytes of the trailer.
const CHECKSUM_BYTES: usize = 32;

/// What loading found about the file itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileCheck {
    /// The format version (1 or 2; 0 for a header built in memory).
    pub format: u8,
    /// The checksum was present and matched (format 2).
    pub checked: bool,
    /// SHA-256 of the whole file, hex: the model's identity (a personal model names its base
    /// by it).
    pub sha256: String,
}

impl FileCheck {
    /// One line for the user.
    pub fn describe(&self) -> String {
        match (self.format, self.checked) {
            (2, true) => format!("format 2, checksum verified (sha256 {})", &self.sha256),
            (1, _) => format!(
                "format 1, unchecked: written before model files carried a checksum, so damage cannot be detected (sha256 {}); export it again to add one",
                &self.sha256
            ),
            _ => "not read from a file".into(),
        }
    }
}

/// Everything needed to run the weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelHeader {
    /// Architecture and its configuration.
    pub arch: StudentConfig,
    /// Normalisation statistics of the training subjects.
    pub stats: NormStats,
    /// Decision threshold on the fall probability (best on validation).
    pub threshold: f64,
    /// Window length in seconds the model was trained on.
    pub window_seconds: f64,
    /// Free-form provenance (run name, data, split, metrics).
    pub description: String,
    /// Every windowing setting the model was trained with (files written before this field
    /// existed: None, a `window_seconds` window with default settings).
    #[serde(default)]
    pub window: Option<WindowConfig>,
    /// The alarm logic shipped with the model (None: one window at `threshold`, 30 s
    /// refractory).
    #[serde(default)]
    pub alarm: Option<AlarmConfig>,
    /// The probability with which training zeroed a window's gyroscope (0: the model always had
    /// one; it then expects a gyroscope).
    #[serde(default)]
    pub gyro_dropout: f64,
    /// Where the model comes from (None in files written before provenance existed).
    #[serde(default)]
    pub provenance: Option<Provenance>,
    /// Fall windows of the run's validation subjects, for a wearer who labels no fall
    /// ([`crate::fall_replay`]; None in files exported before they existed, or from a run whose
    /// validation subjects have no fall).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fall_replay: Option<FallReplay>,
    /// What loading found about the file (format, checksum); not stored in the header.
    #[serde(skip)]
    pub file: FileCheck,
}

impl ModelHeader {
    /// The windowing to use on a recording: the training settings, with every window of the
    /// recording kept and strided alike (labels are unknown at inference, so nothing may depend
    /// on the file's name).
    pub fn window_config(&self) -> WindowConfig {
        let base = self.window.clone().unwrap_or(WindowConfig {
            length: WindowLength::Duration {
                seconds: self.window_seconds,
            },
            ..Default::default()
        });
        WindowConfig {
            fall_windows: FallWindows::All,
            eval_fall_stride: None,
            ..base
        }
    }

    /// The alarm logic of the model.
    pub fn alarm_config(&self) -> AlarmConfig {
        self.alarm.unwrap_or(AlarmConfig {
            threshold: self.threshold,
            ..Default::default()
        })
    }
}

/// Serialises header and weights.
pub fn to_bytes(header: &ModelHeader, weights: ModuleRecord) -> Result<Vec<u8>, Error> {
    let json = serde_json::to_vec(header)
        .map_err(|e| Error::ModelFile(format!("cannot encode the header: {e}")))?;
    let pack = weights
        .into_bytes()
        .map_err(|e| Error::ModelFile(format!("cannot encode the weights: {e}")))?;
    let len = u32::try_from(json.len())
        .map_err(|_| Error::ModelFile("the header is over 4 GiB".into()))?;
    let mut out = Vec::with_capacity(12 + json.len() + pack.len() + CHECKSUM_BYTES);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&pack);
    let sum = sha256(&out);
    out.extend_from_slice(&sum);
    Ok(out)
}

/// Reads the header only (after checking the file's checksum, format 2), and returns it with
/// the weights' bytes.
pub fn read_header(bytes: &[u8]) -> Result<(ModelHeader, &[u8]), Error> {
    let format = match bytes.get(..8) {
        Some(m) if m == MAGIC => 2,
        Some(m) if m == MAGIC_V1 => 1,
        _ => {
            return Err(Error::ModelFile(
                "not a fallkd model file (it should start with FALLKD02, or FALLKD01 for older files; export one with `fallkd export`)".into(),
            ));
        }
    };
    let body = if format == 2 {
        let Some(split) = bytes.len().checked_sub(CHECKSUM_BYTES).filter(|&n| n >= 12) else {
            return Err(Error::ModelFile(
                "the model file is truncated (shorter than its header and checksum)".into(),
            ));
        };
        let (body, sum) = bytes.split_at(split);
        let actual = sha256(body);
        if actual != sum {
            return Err(Error::ModelFile(format!(
                "the model file is damaged: its SHA-256 checksum does not match its contents (stored {}, computed {}); a byte changed after export, or the file is cut short. Download or export it again",
                hex(sum),
                hex(&actual)
            )));
        }
        body
    } else {
        bytes
    };
    if body.len() < 12 {
        return Err(Error::ModelFile(
            "the model file is truncated (header cut short)".into(),
        ));
    }
    let len = u32::from_le_bytes(body[8..12].try_into().expect("4 bytes")) as usize;
    let json = body
        .get(12..12 + len)
        .ok_or_else(|| Error::ModelFile("the model file is truncated (header cut short)".into()))?;
    let mut value: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| Error::ModelFile(format!("the model header is corrupt: {e}")))?;
    upgrade_header(&mut value);
    let mut header: ModelHeader = serde_json::from_value(value)
        .map_err(|e| Error::ModelFile(format!("the model header is corrupt: {e}")))?;
    header.file = FileCheck {
        format,
        checked: format == 2,
        sha256: sha256_hex(bytes),
    };
    Ok((header, &body[12 + len..]))
}

/// Fills in the architecture keys that model files written before they existed lack, with the
/// values those files were trained with (burn's `Config` derive has no per-field serde default).
fn upgrade_header(value: &mut serde_json::Value) {
    let Some(arch) = value.get_mut("arch").and_then(|a| a.as_object_mut()) else {
        return;
    };
    if arch.get("kind").and_then(|k| k.as_str()) == Some("timestamp-aware") {
        arch.entry("window_features")
            .or_insert(serde_json::Value::Bool(false));
        arch.entry("feature_hidden").or_insert(32.into());
        arch.entry("magnitude_channels")
            .or_insert(serde_json::Value::Bool(false));
    }
}

/// Checks what the header's parts must agree on before any weight is read.
fn check_header(header: &ModelHeader) -> Result<(), Error> {
    header
        .window_config()
        .validate()
        .map_err(|e| Error::ModelFile(format!("bad header: {e}")))?;
    let s = &header.stats;
    if !s.imu_mean.iter().all(|v| v.is_finite())
        || !s.imu_std.iter().all(|v| v.is_finite() && *v > 0.0)
    {
        return Err(Error::ModelFile(
            "bad header: the normalisation statistics hold non-finite means or deviations that are not positive".into(),
        ));
    }
    // Batches hold the watch's six channels (plus any magnitude channels): a model that reads
    // another number would fail on its first window.
    let channels = match &header.arch {
        StudentConfig::TimestampAware(c) => c.input_channels,
        StudentConfig::FixedRate(c) => c.input_channels,
    };
    if channels != crate::data::events::CHANNELS {
        return Err(Error::ModelFile(format!(
            "bad header: the student reads {channels} input channels; the watch gives {} (accelerometer and gyroscope x, y, z)",
            crate::data::events::CHANNELS
        )));
    }
    if let StudentConfig::TimestampAware(c) = &header.arch {
        // Batches take their magnitude channels from the statistics, the model its input
        // width from the configuration: they must agree, both ways.
        match (c.magnitude_channels, &header.stats.magnitude) {
            (true, None) => {
                return Err(Error::ModelFile(
                    "bad header: the student reads magnitude channels but the statistics carry no magnitude scaling".into(),
                ));
            }
            (false, Some(_)) => {
                return Err(Error::ModelFile(
                    "bad header: the statistics carry magnitude scaling but the student does not read magnitude channels".into(),
                ));
            }
            (true, Some(m))
                if !m.mean.iter().all(|v| v.is_finite())
                    || !m.std.iter().all(|v| v.is_finite() && *v > 0.0) =>
            {
                return Err(Error::ModelFile(
                    "bad header: the magnitude scaling holds non-finite means or deviations that are not positive".into(),
                ));
            }
            _ => {}
        }
        let scaled = header
            .stats
            .features
            .as_ref()
            .map(|f| (f.mean.len(), f.std.len()));
        let n = crate::features::NUM_FEATURES;
        match (c.window_features, scaled) {
            (false, _) => {}
            (true, Some((a, b))) if a == n && b == n => {
                let f = header.stats.features.as_ref().expect("checked");
                if !f.mean.iter().all(|v| v.is_finite())
                    || !f.std.iter().all(|v| v.is_finite() && *v > 0.0)
                {
                    return Err(Error::ModelFile(
                        "bad header: the feature scaling holds non-finite means or deviations that are not positive".into(),
                    ));
                }
            }
            (true, got) => {
                return Err(Error::ModelFile(format!(
                    "bad header: the student has the window-feature path but the statistics carry {} (it needs the scaling of all {n} features)",
                    match got {
                        None => "no feature scaling".to_string(),
                        Some((a, b)) => format!("{a} means and {b} deviations"),
                    }
                )));
            }
        }
    }
    Ok(())
}

/// Reads header and weights onto `device`.
pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<(ModelHeader, Student), Error> {
    let (header, pack) = read_header(bytes)?;
    check_header(&header)?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(pack.to_vec()))
        .map_err(|e| Error::ModelFile(format!("the model weights are corrupt: {e}")))?;
    let bad = |e: burn::store::RecordError| {
        Error::ModelFile(format!(
            "the weights do not fit the architecture in the header: {e}"
        ))
    };
    header
        .arch
        .validate()
        .map_err(|e| Error::ModelFile(format!("bad architecture in header: {e}")))?;
    let model = match header.arch.init(device) {
        Student::TimestampAware(m) => {
            Student::TimestampAware(m.try_load_record(record).map_err(bad)?)
        }
        Student::FixedRate(m) => Student::FixedRate(m.try_load_record(record).map_err(bad)?),
    };
    Ok((header, model))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TimestampAwareStudentConfig;

    fn file(header: &serde_json::Value) -> Vec<u8> {
        let json = serde_json::to_vec(header).unwrap();
        let mut b = MAGIC_V1.to_vec();
        b.extend_from_slice(&(json.len() as u32).to_le_bytes());
        b.extend_from_slice(&json);
        b
    }

    fn header(arch: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "arch": arch,
            "stats": serde_json::to_value(NormStats::default()).unwrap(),
            "threshold": 0.5,
            "window_seconds": 4.0,
            "description": "test",
        })
    }

    fn student(extra: &[(&str, serde_json::Value)]) -> serde_json::Value {
        let mut a = serde_json::to_value(TimestampAwareStudentConfig::new()).unwrap();
        let o = a.as_object_mut().unwrap();
        o.remove("window_features");
        o.remove("feature_hidden");
        o.remove("magnitude_channels");
        o.insert("kind".into(), "timestamp-aware".into());
        for (k, v) in extra {
            o.insert(k.to_string(), v.clone());
        }
        a
    }

    #[test]
    fn headers_written_before_the_window_feature_path_still_load() {
        let bytes = file(&header(student(&[])));
        let (h, rest) = read_header(&bytes).unwrap();
        assert!(rest.is_empty());
        let StudentConfig::TimestampAware(c) = h.arch else {
            panic!("wrong kind")
        };
        assert!(!c.window_features);
        assert_eq!(c.feature_hidden, 32);
        assert!(!c.magnitude_channels);
    }

    #[test]
    fn headers_with_unusable_statistics_or_windowing_are_refused() {
        let mut h = header(student(&[]));
        h["stats"]["imu_std"][2] = 0.0.into();
        let e = from_bytes(&file(&h), &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(e.contains("normalisation statistics"), "{e}");
        let mut h = header(student(&[]));
        h["window"] = serde_json::to_value(crate::data::window::WindowConfig {
            eval_stride: 1e-9,
            ..Default::default()
        })
        .unwrap();
        let e = from_bytes(&file(&h), &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(e.contains("eval_stride"), "{e}");
    }

    #[test]
    fn a_window_feature_student_without_feature_scaling_is_refused() {
        let bytes = file(&header(student(&[("window_features", true.into())])));
        assert!(read_header(&bytes).is_ok());
        let e = from_bytes(&bytes, &Device::flex()).unwrap_err().to_string();
        assert!(e.contains("no feature scaling"), "{e}");
    }

    #[test]
    fn magnitude_channels_and_their_scaling_come_together_or_not_at_all() {
        let on = student(&[("magnitude_channels", true.into())]);
        let e = from_bytes(&file(&header(on.clone())), &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no magnitude scaling"), "{e}");
        let scaling = serde_json::json!({"mean": [0.1, 0.2], "std": [1.0, 2.0]});
        let mut h = header(student(&[]));
        h["stats"]["magnitude"] = scaling.clone();
        let e = from_bytes(&file(&h), &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not read magnitude channels"), "{e}");
        let mut h = header(on);
        h["stats"]["magnitude"] = scaling;
        h["stats"]["magnitude"]["std"][1] = 0.0.into();
        let e = from_bytes(&file(&h), &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(e.contains("magnitude scaling holds"), "{e}");
    }

    #[test]
    fn a_student_reading_other_than_six_channels_is_refused() {
        let h = header(student(&[("input_channels", 7.into())]));
        let e = from_bytes(&file(&h), &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(e.contains("reads 7 input channels"), "{e}");
    }

    /// A format-2 file of a small untrained student.
    fn v2_file() -> Vec<u8> {
        let device = Device::flex();
        let arch = StudentConfig::TimestampAware(TimestampAwareStudentConfig::new());
        let record = match arch.init(&device) {
            Student::TimestampAware(m) => m.into_record(),
            Student::FixedRate(m) => m.into_record(),
        };
        let header = ModelHeader {
            arch,
            stats: NormStats::default(),
            threshold: 0.5,
            window_seconds: 4.0,
            description: "test".into(),
            window: None,
            alarm: None,
            gyro_dropout: 0.0,
            provenance: Some(Provenance {
                run: "runs/x".into(),
                commit: "abc".into(),
                ..Default::default()
            }),
            fall_replay: None,
            file: FileCheck::default(),
        };
        to_bytes(&header, record).unwrap()
    }

    #[test]
    fn a_written_file_loads_checked_with_its_provenance() {
        let bytes = v2_file();
        assert_eq!(&bytes[..8], MAGIC);
        let (h, _) = from_bytes(&bytes, &Device::flex()).unwrap();
        assert!(h.file.checked);
        assert_eq!(h.file.format, 2);
        assert_eq!(h.file.sha256, sha256_hex(&bytes));
        assert_eq!(h.provenance.unwrap().commit, "abc");
    }

    #[test]
    fn a_flipped_bit_anywhere_or_a_cut_is_refused_as_damaged() {
        let bytes = v2_file();
        let json_len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        // In the header's JSON, in the weights (start, middle, last byte), in the checksum.
        let weights = 12 + json_len;
        for at in [
            14,
            12 + json_len / 2,
            weights,
            (weights + bytes.len()) / 2,
            bytes.len() - CHECKSUM_BYTES - 1,
            bytes.len() - 1,
        ] {
            for bit in [0u8, 7] {
                let mut b = bytes.clone();
                b[at] ^= 1 << bit;
                let e = from_bytes(&b, &Device::flex()).unwrap_err().to_string();
                assert!(e.contains("damaged"), "byte {at} bit {bit}: {e}");
                let e = read_header(&b).unwrap_err().to_string();
                assert!(e.contains("damaged"), "byte {at} bit {bit}: {e}");
            }
        }
        let e = from_bytes(&bytes[..bytes.len() - 100], &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(e.contains("damaged"), "{e}");
        let e = from_bytes(&bytes[..20], &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated") || e.contains("damaged"), "{e}");
        // The length field pointing past the body.
        let mut b = bytes[..bytes.len() - CHECKSUM_BYTES].to_vec();
        b[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        let sum = sha256(&b);
        b.extend_from_slice(&sum);
        let e = from_bytes(&b, &Device::flex()).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn a_format_1_file_loads_unchecked() {
        let bytes = v2_file();
        let mut v1 = bytes[..bytes.len() - CHECKSUM_BYTES].to_vec();
        v1[..8].copy_from_slice(MAGIC_V1);
        let (h, _) = from_bytes(&v1, &Device::flex()).unwrap();
        assert_eq!(h.file.format, 1);
        assert!(!h.file.checked);
        assert!(
            h.file.describe().contains("unchecked"),
            "{}",
            h.file.describe()
        );
    }
}
