//! Watch accelerometer / gyroscope CSV: no header, `timestamp,x,y,z` per line.
//!
//! Repairs (each counted in [`ImuRecording::repairs`], none silent):
//! - a first line that is a pandas header (its last field is `Unnamed: N`, or it has no
//!   timestamp) is skipped;
//! - on the first line, a value written as `<number>.<k>` where `<number>` also appears in that
//!   line is a pandas duplicate-column mangle: the `.<k>` is dropped;
//! - a line whose x, y or z is NaN or infinite is dropped;
//! - blank lines and a byte-order mark are ignored; `\r\n` line ends are accepted.
//!
//! Everything else (wrong column count, a value or timestamp that does not parse, no samples
//! left) is an error naming the file, the line and the reason. Order is kept as recorded:
//! sorting and duplicate handling belong to trial assembly and the audit.

use super::error::DataError;
use super::timestamp::parse_timestamp;

/// What was repaired while parsing one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repairs {
    /// Pandas header lines skipped.
    pub header_lines_skipped: usize,
    /// Duplicate-column suffixes (`.1`) removed from values.
    pub mangled_values_fixed: usize,
    /// Lines dropped because a value was NaN or infinite.
    pub non_finite_lines_dropped: usize,
}

impl Repairs {
    /// True when nothing was repaired.
    pub fn is_empty(&self) -> bool {
        *self == Repairs::default()
    }
}

/// One parsed watch sensor file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct ImuRecording {
    /// Seconds since 1970 (wall clock of the phone/watch), as recorded.
    pub timestamps: Vec<f64>,
    /// x, y, z per sample.
    pub values: Vec<[f32; 3]>,
    /// 1-based source line of each sample.
    pub lines: Vec<usize>,
    /// What was repaired.
    pub repairs: Repairs,
}

fn is_pandas_header(fields: &[&str]) -> bool {
    fields
        .last()
        .is_some_and(|f| f.trim().starts_with("Unnamed"))
        || parse_timestamp(fields[0]).is_err()
            && fields
                .iter()
                .skip(1)
                .all(|f| f.trim().parse::<f64>().is_ok())
            && fields.len() == 3
}

/// Value with a pandas `.k` suffix removed when the base value also appears in `row`.
fn unmangle<'a>(field: &'a str, row: &[&str]) -> Option<&'a str> {
    let f = field.trim();
    let (base, suffix) = f.rsplit_once('.')?;
    if suffix.is_empty()
        || !suffix.bytes().all(|b| b.is_ascii_digit())
        || base.parse::<f64>().is_err()
    {
        return None;
    }
    row.iter().any(|other| other.trim() == base).then_some(base)
}

/// Parses one accelerometer or gyroscope file.
pub fn parse_imu_csv(file: &str, bytes: &[u8]) -> Result<ImuRecording, DataError> {
    let text = super::error::csv_text(file, bytes)?;
    let mut rec = ImuRecording {
        timestamps: Vec::new(),
        values: Vec::new(),
        lines: Vec::new(),
        repairs: Repairs::default(),
    };
    let mut first_content = true;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let is_first = std::mem::replace(&mut first_content, false);
        if is_first && is_pandas_header(&fields) {
            rec.repairs.header_lines_skipped += 1;
            continue;
        }
        if fields.len() != 4 {
            return Err(DataError::line(
                file,
                line_no,
                format!(
                    "expected 4 columns (timestamp,x,y,z), found {}",
                    fields.len()
                ),
            ));
        }
        let t = parse_timestamp(fields[0]).map_err(|r| DataError::line(file, line_no, r))?;
        let mut xyz = [0f32; 3];
        let mut finite = true;
        for (k, field) in fields[1..].iter().enumerate() {
            let v = match field.trim().parse::<f32>() {
                Ok(v) => v,
                Err(_) => match unmangle(field, &fields[1..]).filter(|_| is_first) {
                    Some(base) => {
                        rec.repairs.mangled_values_fixed += 1;
                        base.parse::<f32>().expect("checked by unmangle")
                    }
                    None => {
                        return Err(DataError::line(
                            file,
                            line_no,
                            format!(
                                "column {} ('{}') is not a number",
                                k + 2,
                                field.trim().chars().take(30).collect::<String>()
                            ),
                        ));
                    }
                },
            };
            finite &= v.is_finite();
            xyz[k] = v;
        }
        if !finite {
            rec.repairs.non_finite_lines_dropped += 1;
            continue;
        }
        rec.timestamps.push(t);
        rec.values.push(xyz);
        rec.lines.push(line_no);
    }
    if rec.values.is_empty() {
        let why = if rec.repairs.header_lines_skipped > 0 {
            "holds only a header line and no samples"
        } else {
            "holds no samples"
        };
        return Err(DataError::file(
            file,
            format!("{why}; the recording cannot be used"),
        ));
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_rows_and_keeps_order() {
        let r = parse_imu_csv(
            "a.csv",
            b"2022-08-04 11:24:02.384,1,2,3\n2022-08-04 11:24:02.3,4,5,6\r\n\n",
        )
        .unwrap();
        assert_eq!(r.values, vec![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        assert!(r.timestamps[0] > r.timestamps[1]);
        assert_eq!(r.lines, vec![1, 2]);
        assert!(r.repairs.is_empty());
    }

    #[test]
    fn skips_pandas_header_and_rejects_header_only_files() {
        let e = parse_imu_csv(
            "S30A05T01.csv",
            b"-0.08425667,0.23323223,-0.0048844446,Unnamed: 3\n",
        )
        .unwrap_err();
        assert_eq!(e.file, "S30A05T01.csv");
        assert!(e.reason.contains("only a header"), "{e}");
        let r = parse_imu_csv(
            "g.csv",
            b"0.1,0.2,0.3,Unnamed: 3\n2022-08-04 11:24:02.384,1,2,3\n",
        )
        .unwrap();
        assert_eq!(r.repairs.header_lines_skipped, 1);
        assert_eq!(r.values.len(), 1);
    }

    #[test]
    fn fixes_duplicate_column_mangle_on_the_first_line_only() {
        let r = parse_imu_csv(
            "g.csv",
            b"2022-07-21 14:28:17.166,0.01099,0.008547778,0.008547778.1\n",
        )
        .unwrap();
        assert_eq!(r.values[0], [0.01099, 0.008547778, 0.008547778]);
        assert_eq!(r.repairs.mangled_values_fixed, 1);
        let e = parse_imu_csv(
            "g.csv",
            b"2022-07-21 14:28:17.166,1,2,3\n2022-07-21 14:28:17.2,0.5,0.5.1,3\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn errors_name_line_and_reason() {
        let e = parse_imu_csv(
            "x.csv",
            b"2022-07-21 14:28:17.166,1,2,3\n2022-07-21 14:28:17.2,1,2\n",
        )
        .unwrap_err();
        assert_eq!((e.line, e.reason.contains("4 columns")), (Some(2), true));
        let e = parse_imu_csv("x.csv", b"2022-07-21 14:28:17.166,1,abc,3\n").unwrap_err();
        assert!(
            e.to_string().starts_with("x.csv:1: column 3 ('abc')"),
            "{e}"
        );
        let e = parse_imu_csv("x.csv", b"yesterday,1,2,3\n").unwrap_err();
        assert!(e.to_string().contains("x.csv:1"), "{e}");
        assert!(parse_imu_csv("x.csv", b"").is_err());
        assert!(
            parse_imu_csv("x.csv", &[0xff, 0xfe, 0x00])
                .unwrap_err()
                .reason
                .contains("UTF-8")
        );
    }

    #[test]
    fn drops_non_finite_rows_and_counts_them() {
        let r = parse_imu_csv("x.csv", b"2022-07-21 14:28:17.1,1,2,3\n2022-07-21 14:28:17.2,NaN,2,3\n2022-07-21 14:28:17.3,1,inf,3\n").unwrap();
        assert_eq!(r.values.len(), 1);
        assert_eq!(r.repairs.non_finite_lines_dropped, 2);
    }
}
