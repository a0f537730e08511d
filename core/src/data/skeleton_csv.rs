//! Skeleton CSV: no header, 96 columns per frame (32 joints x xyz, camera space, mm), nominal
//! 30 frames per second, no timestamps.
//!
//! Repairs (counted): a first line of which more than half the fields are not numbers is a
//! header and is skipped;
//! a frame holding NaN/inf (lost tracking) is replaced by the nearest earlier valid frame (the
//! next valid one at the start). A wrong column count, an unparsable value, or no valid frame at
//! all is an error naming the file, the line and the reason.

use crate::error::DataError;

/// Joints in the Azure-Kinect-style body.
pub const JOINTS: usize = 32;
/// Values per frame.
pub const SKELETON_DIM: usize = JOINTS * 3;
/// Nominal frame rate.
pub const SKELETON_FPS: f64 = 30.0;

/// One frame.
pub type Frame = [f32; SKELETON_DIM];

/// A parsed skeleton recording.
#[derive(Debug, Clone, PartialEq)]
pub struct SkeletonRecording {
    /// Frames in file order.
    pub frames: Vec<Frame>,
    /// Header lines skipped.
    pub header_lines_skipped: usize,
    /// Frames with NaN/inf filled from a neighbour.
    pub frames_filled: usize,
}

/// Parses one skeleton file.
pub fn parse_skeleton_csv(file: &str, bytes: &[u8]) -> Result<SkeletonRecording, DataError> {
    let text = crate::error::csv_text(file, bytes)?;
    let mut frames: Vec<Frame> = Vec::new();
    let mut valid: Vec<bool> = Vec::new();
    let mut header_lines_skipped = 0;
    let mut first = true;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let parsed: Vec<Result<f32, _>> = fields.iter().map(|f| f.trim().parse::<f32>()).collect();
        let failures = parsed.iter().filter(|p| p.is_err()).count();
        if std::mem::replace(&mut first, false) && failures * 2 > fields.len() {
            header_lines_skipped += 1;
            continue;
        }
        if fields.len() != SKELETON_DIM {
            return Err(DataError::line(
                file,
                i + 1,
                format!(
                    "expected {SKELETON_DIM} columns (32 joints x xyz), found {}",
                    fields.len()
                ),
            ));
        }
        let mut frame = [0f32; SKELETON_DIM];
        let mut ok = true;
        for (k, p) in parsed.into_iter().enumerate() {
            match p {
                Ok(v) => {
                    ok &= v.is_finite();
                    frame[k] = v;
                }
                Err(_) => {
                    return Err(DataError::line(
                        file,
                        i + 1,
                        format!(
                            "column {} ('{}') is not a number",
                            k + 1,
                            fields[k].trim().chars().take(30).collect::<String>()
                        ),
                    ));
                }
            }
        }
        frames.push(frame);
        valid.push(ok);
    }
    let Some(first_valid) = valid.iter().position(|&v| v) else {
        return Err(DataError::file(
            file,
            if frames.is_empty() {
                "holds no frames"
            } else {
                "holds no frame without NaN/inf values"
            },
        ));
    };
    let mut frames_filled = 0;
    for k in 0..frames.len() {
        if !valid[k] {
            frames[k] = if k < first_valid {
                frames[first_valid]
            } else {
                frames[k - 1]
            };
            frames_filled += 1;
        }
    }
    Ok(SkeletonRecording {
        frames,
        header_lines_skipped,
        frames_filled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(v: f32) -> String {
        vec![v.to_string(); SKELETON_DIM].join(",")
    }

    #[test]
    fn parses_frames_and_fills_nan_frames() {
        let text = format!("{}\n{}\n{}\n", row(f32::NAN), row(1.0), row(f32::NAN));
        let r = parse_skeleton_csv("s.csv", text.as_bytes()).unwrap();
        assert_eq!(r.frames.len(), 3);
        assert!(r.frames.iter().all(|f| f[0] == 1.0));
        assert_eq!(r.frames_filled, 2);
    }

    #[test]
    fn errors_name_the_line() {
        let text = format!("{}\n1,2,3\n", row(1.0));
        let e = parse_skeleton_csv("s.csv", text.as_bytes()).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.reason.contains("96 columns"));
        assert!(
            parse_skeleton_csv(
                "s.csv",
                format!("{}\n", row(2.0).replacen("2", "zz", 1)).as_bytes()
            )
            .unwrap_err()
            .reason
            .contains("not a number")
        );
        assert!(
            parse_skeleton_csv("s.csv", b"")
                .unwrap_err()
                .reason
                .contains("no frames")
        );
        assert!(parse_skeleton_csv("s.csv", format!("{}\n", row(f32::NAN)).as_bytes()).is_err());
    }
}
