//! Watch accelerometer / gyroscope CSV: `timestamp,x,y,z` per line (SmartFallMM), or a logger's
//! file with a header row of column names ([`super::columns`]: time and x, y, z found by name,
//! other columns ignored).
//!
//! Repairs (each counted in [`ImuRecording::repairs`], none silent):
//! - a first line of column names (no field a number or a timestamp) is read as the header;
//! - numeric times whose median step between samples is 4 or more, in a file whose header gives
//!   no unit, are milliseconds (steps under 4000: a watch at 250 Hz or less), microseconds
//!   (under 4e6) or nanoseconds: no watch worth reading samples once in 4 seconds;
//! - a first line that is a pandas header (a field is `Unnamed: N`, or it has no timestamp) is
//!   skipped;
//! - the same kind of pandas line (a field `Unnamed: N`) as the last line of the file is dropped;
//!   anywhere else it is an error;
//! - on the first line, a value written as `<number>.<k>` where `<number>` also appears in that
//!   line is a pandas duplicate-column mangle: the `.<k>` is dropped;
//! - a line whose x, y or z is NaN or infinite is dropped;
//! - timestamps that hold a time of day only (`HH:MM:SS.fff`, no date) are read as seconds since
//!   midnight; a time more than 12 h before the previous one is a midnight roll-over and adds a
//!   day;
//! - when the first field of the first data line is not a timestamp but exactly one other column
//!   holds a written time (`HH:MM:SS.fff`, `HH.MM.SS.fff` or a full date-time) and the rest are
//!   numbers, that column is the timestamp and the other three, in order, are x, y, z; every
//!   later line must have it there too;
//! - blank lines and a byte-order mark are ignored; `\r\n` line ends are accepted.
//!
//! Everything else (wrong column count, a value or timestamp that does not parse, a time of day
//! mixed with dates, no samples left) is an error naming the file, the line and the reason.
//! Order is kept as recorded: sorting and duplicate handling belong to trial assembly and the
//! audit.

use super::columns::{Columns, Sensor, TimeUnit, header_columns};
use super::timestamp::{Stamp, parse_number_in, parse_stamp, parse_timestamp, parse_written_stamp};
use crate::error::DataError;

/// What was repaired while parsing one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repairs {
    /// Pandas header lines skipped.
    pub header_lines_skipped: usize,
    /// Duplicate-column suffixes (`.1`) removed from values.
    pub mangled_values_fixed: usize,
    /// Lines dropped because a value was NaN or infinite.
    pub non_finite_lines_dropped: usize,
    /// Lines whose timestamp held a time of day only (no date), read as seconds since midnight.
    pub time_of_day_lines: usize,
    /// Midnight roll-overs among time-of-day timestamps (each added a day).
    pub midnight_rollovers: usize,
    /// The 1-based column the timestamp was found in, when it was not the first.
    pub timestamp_column: Option<usize>,
    /// Pandas junk lines (`...,Unnamed: 3`) dropped from the end of the file.
    pub trailing_lines_dropped: usize,
    /// What a header row of column names said (which columns were read).
    pub header: Option<String>,
    /// The unit numeric times were read in when the file does not say (from their steps).
    pub time_unit: Option<String>,
    /// Rows of other sensors skipped in a file whose sensor column names each row's, with the
    /// column's name.
    pub other_sensor_lines: Option<(usize, String)>,
}

impl Repairs {
    /// True when nothing was repaired.
    pub fn is_empty(&self) -> bool {
        *self == Repairs::default()
    }

    /// One sentence per kind of repair, for the user (empty when nothing was repaired).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.header.clone());
        out.extend(self.time_unit.clone());
        if let Some((n, column)) = &self.other_sensor_lines {
            out.push(format!(
                "skipped {} of other sensors (by the '{column}' column)",
                count(*n, "line")
            ));
        }
        if self.header_lines_skipped > 0 {
            out.push(format!(
                "skipped {} (pandas column names such as 'Unnamed: 3')",
                count(self.header_lines_skipped, "header line")
            ));
        }
        if let Some(c) = self.timestamp_column {
            out.push(format!(
                "the timestamp is in column {c}, not column 1: the other three columns were \
                 read, in order, as x, y, z"
            ));
        }
        if self.time_of_day_lines > 0 {
            let mut s = format!(
                "timestamps hold a time of day only, no date ({}): read as seconds since midnight",
                count(self.time_of_day_lines, "line")
            );
            if self.midnight_rollovers > 0 {
                s += &format!(
                    "; {} past midnight each added a day",
                    count(self.midnight_rollovers, "roll-over")
                );
            }
            out.push(s);
        }
        if self.mangled_values_fixed > 0 {
            out.push(format!(
                "removed the pandas duplicate-column suffix from {} (written like 0.0085.1 for 0.0085)",
                count(self.mangled_values_fixed, "value")
            ));
        }
        if self.non_finite_lines_dropped > 0 {
            out.push(format!(
                "dropped {} holding NaN or infinite values",
                count(self.non_finite_lines_dropped, "line")
            ));
        }
        if self.trailing_lines_dropped > 0 {
            out.push(format!(
                "dropped {} at the end of the file (pandas column names such as 'Unnamed: 3', not data)",
                count(self.trailing_lines_dropped, "trailing line")
            ));
        }
        out
    }
}

fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// One parsed watch sensor file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct ImuRecording {
    /// Seconds since 1970 (wall clock of the phone/watch), as recorded; when the file holds a
    /// time of day only ([`Repairs::time_of_day_lines`]), seconds since midnight of its first day.
    pub timestamps: Vec<f64>,
    /// x, y, z per sample.
    pub values: Vec<[f32; 3]>,
    /// 1-based source line of each sample.
    pub lines: Vec<usize>,
    /// What was repaired.
    pub repairs: Repairs,
    /// Read for the accelerometer, the file holds a gyroscope too (its columns, or rows naming
    /// it): [`parse_imu_csv_for`] with [`Sensor::Gyroscope`] reads it.
    pub gyroscope_too: bool,
}

fn is_pandas_header(fields: &[&str]) -> bool {
    pandas_junk_field(fields).is_some()
        || parse_timestamp(fields[0]).is_err()
            && fields
                .iter()
                .skip(1)
                .all(|f| f.trim().parse::<f64>().is_ok())
            && fields.len() == 3
}

/// A field pandas writes for a column without a name (`Unnamed: 3`): the line holds column
/// names, not data.
fn pandas_junk_field<'a>(fields: &[&'a str]) -> Option<&'a str> {
    fields
        .iter()
        .map(|f| f.trim())
        .find(|f| f.starts_with("Unnamed"))
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

/// The fields of a 4-column line other than the timestamp column `ts`, in order, each with its
/// 1-based column number.
fn value_fields<'a>(fields: &[&'a str], ts: usize) -> Vec<(usize, &'a str)> {
    fields
        .iter()
        .enumerate()
        .filter(|&(c, _)| c != ts)
        .map(|(c, f)| (c + 1, *f))
        .collect()
}

/// The timestamp column (0-based) of a file, decided on its first data line: the first column
/// when it holds a timestamp and the rest are numbers; otherwise the one other column holding a
/// written time when the rest are numbers; the first column when that is not unique (its errors
/// are then reported as before).
fn timestamp_column(fields: &[&str]) -> usize {
    let values_ok = |ts: usize| {
        let v: Vec<&str> = value_fields(fields, ts).iter().map(|(_, f)| *f).collect();
        v.iter()
            .all(|f| f.trim().parse::<f32>().is_ok() || unmangle(f, &v).is_some())
    };
    if parse_stamp(fields[0]).is_ok() && values_ok(0) {
        return 0;
    }
    let found: Vec<usize> = (1..fields.len())
        .filter(|&c| parse_written_stamp(fields[c]).is_ok() && values_ok(c))
        .collect();
    match found[..] {
        [c] => c,
        _ => 0,
    }
}

/// A line of column names: two or more fields, none empty, a number or a timestamp.
fn is_named_header(fields: &[&str]) -> bool {
    fields.len() >= 2
        && fields.iter().all(|f| {
            let f = f.trim().trim_matches('"');
            !f.is_empty() && f.parse::<f64>().is_err() && parse_stamp(f).is_err()
        })
}

/// Numeric times whose median step is 4 or more are not a watch's seconds (a sample every 4 s
/// cannot show a fall): they are milliseconds, microseconds or nanoseconds (by the step's size),
/// rescaled with a note.
fn relative_time_unit(rec: &mut ImuRecording) {
    let mut steps: Vec<f64> = rec
        .timestamps
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0.0)
        .collect();
    if steps.is_empty() {
        return;
    }
    let mid = steps.len() / 2;
    let step = *steps.select_nth_unstable_by(mid, f64::total_cmp).1;
    let unit = match step {
        s if s < 4.0 => return,
        s if s < 4e3 => TimeUnit::Millis,
        s if s < 4e6 => TimeUnit::Micros,
        _ => TimeUnit::Nanos,
    };
    for t in &mut rec.timestamps {
        *t *= unit.seconds();
    }
    rec.repairs.time_unit = Some(format!(
        "times read as {} (their median step is {step}; in seconds that would be one sample every {step} s)",
        unit.name()
    ));
}

/// Turns time-of-day stamps into a continuous clock across midnight.
#[derive(Default)]
struct Clock {
    /// Seconds added to each time of day (a multiple of a day).
    offset: f64,
    /// The previous sample's time.
    previous: Option<f64>,
}

impl Clock {
    const DAY: f64 = 86_400.0;

    /// Seconds since midnight of the first day; counts roll-overs in `rollovers`.
    fn time(&mut self, time_of_day: f64, rollovers: &mut usize) -> f64 {
        let mut t = time_of_day + self.offset;
        if let Some(prev) = self.previous {
            if t < prev - Self::DAY / 2.0 {
                self.offset += Self::DAY;
                *rollovers += 1;
                t += Self::DAY;
            } else if t > prev + Self::DAY / 2.0 && self.offset >= Self::DAY {
                // A late sample from before the roll-over (a small backwards step across
                // midnight): it belongs to the previous day.
                t -= Self::DAY;
            }
        }
        self.previous = Some(t);
        t
    }
}

fn field_text(f: &str) -> String {
    f.trim().chars().take(30).collect()
}

/// Parses one accelerometer or gyroscope file (the accelerometer's columns of a file holding
/// both).
pub fn parse_imu_csv(file: &str, bytes: &[u8]) -> Result<ImuRecording, DataError> {
    parse_imu_csv_for(file, bytes, Sensor::Accelerometer)
}

/// Parses `sensor`'s samples of a file ([`super::columns`]: a file holding both sensors gives
/// each its own columns or rows; a file of one sensor is read alike for either).
pub fn parse_imu_csv_for(
    file: &str,
    bytes: &[u8],
    sensor: Sensor,
) -> Result<ImuRecording, DataError> {
    let mut parser = ImuParser::for_sensor(file, crate::error::csv_text(file, bytes)?, sensor);
    while parser.parse(usize::MAX)? {}
    parser.finish()
}

/// [`parse_imu_csv`] a chunk of lines at a time, for callers that yield in between (the browser
/// parses a long file in chunks so that the page keeps answering).
pub struct ImuParser<'a> {
    file: &'a str,
    text: &'a str,
    /// Bytes of `text` read.
    pos: usize,
    /// 0-based index of the next line.
    next_line: usize,
    rec: ImuRecording,
    first_content: bool,
    /// Timestamp column (0-based) and the first data line, decided there.
    layout: Option<(usize, usize)>,
    /// Whether timestamps are times of day, and the line that decided it.
    kind: Option<(bool, usize)>,
    clock: Clock,
    /// The columns a header row named.
    columns: Option<Columns>,
    /// Times were plain numbers (not written dates or times of day).
    numeric_times: bool,
    /// The sensor read.
    sensor: Sensor,
}

impl<'a> ImuParser<'a> {
    /// A parser for `text`, the whole of `file`, read for the accelerometer.
    pub fn new(file: &'a str, text: &'a str) -> ImuParser<'a> {
        ImuParser::for_sensor(file, text, Sensor::Accelerometer)
    }

    /// A parser for `sensor`'s samples of `text`, the whole of `file`.
    pub fn for_sensor(file: &'a str, text: &'a str, sensor: Sensor) -> ImuParser<'a> {
        ImuParser {
            sensor,
            file,
            text,
            pos: 0,
            next_line: 0,
            rec: ImuRecording {
                timestamps: Vec::new(),
                values: Vec::new(),
                lines: Vec::new(),
                repairs: Repairs::default(),
                gyroscope_too: false,
            },
            first_content: true,
            layout: None,
            kind: None,
            clock: Clock::default(),
            columns: None,
            numeric_times: false,
        }
    }

    /// Reads up to `max_lines` more lines (split as [`str::lines`] splits); whether any remain.
    ///
    /// # Errors
    /// A [`DataError`] naming the file, the line and the reason.
    pub fn parse(&mut self, max_lines: usize) -> Result<bool, DataError> {
        for _ in 0..max_lines {
            if self.pos >= self.text.len() {
                return Ok(false);
            }
            let rest = &self.text[self.pos..];
            let (raw, used) = match rest.find('\n') {
                Some(k) => (&rest[..k], k + 1),
                None => (rest, rest.len()),
            };
            self.pos += used;
            let i = self.next_line;
            self.next_line += 1;
            self.line(i, raw)?;
        }
        Ok(self.pos < self.text.len())
    }

    /// Bytes of the text read so far.
    pub fn bytes_read(&self) -> usize {
        self.pos
    }

    /// Reads line `i` (0-based), whose end is at `self.pos`.
    fn line(&mut self, i: usize, raw: &str) -> Result<(), DataError> {
        let file = self.file;
        let rec = &mut self.rec;
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            return Ok(());
        }
        let fields: Vec<&str> = line.split(',').collect();
        let is_first = std::mem::replace(&mut self.first_content, false);
        if is_first && is_pandas_header(&fields) {
            rec.repairs.header_lines_skipped += 1;
            return Ok(());
        }
        if is_first && is_named_header(&fields) {
            let c = header_columns(&fields, self.sensor)
                .map_err(|r| DataError::line(file, line_no, r))?;
            rec.repairs.header = Some(c.note.clone());
            rec.gyroscope_too = self.sensor == Sensor::Accelerometer && c.other_sensor;
            self.columns = Some(c);
            return Ok(());
        }
        if let Some(c) = &self.columns {
            if fields.len() < c.width() {
                return Err(DataError::line(
                    file,
                    line_no,
                    format!(
                        "expected at least {} columns, as the header line names, found {}",
                        c.width(),
                        fields.len()
                    ),
                ));
            }
            if let Some((k, column)) = &c.sensor_column {
                let named = fields[*k];
                if !self.sensor.matches_value(named) {
                    if self.sensor == Sensor::Accelerometer
                        && Sensor::Gyroscope.matches_value(named)
                    {
                        rec.gyroscope_too = true;
                    }
                    rec.repairs
                        .other_sensor_lines
                        .get_or_insert_with(|| (0, field_text(column)))
                        .0 += 1;
                    return Ok(());
                }
            }
            let field = fields[c.time];
            let at =
                |r: String| DataError::line(file, line_no, format!("column {}: {r}", c.time + 1));
            let stamp = if field.trim().trim_matches('"').parse::<f64>().is_ok() {
                self.numeric_times = true;
                Stamp::Absolute(match c.time_unit {
                    Some(unit) => parse_number_in(field, unit.seconds()).map_err(at)?,
                    None => parse_timestamp(field).map_err(at)?,
                })
            } else {
                parse_stamp(field).map_err(at)?
            };
            let values: Vec<(usize, &str)> = c.xyz.iter().map(|&k| (k + 1, fields[k])).collect();
            return self.sample(line_no, stamp, field, &values, is_first);
        }
        if let Some(junk) = pandas_junk_field(&fields) {
            // A pandas line may only be the first or the last with content.
            if self.text[self.pos..].trim().is_empty() {
                rec.repairs.trailing_lines_dropped += 1;
                return Ok(());
            }
            return Err(DataError::line(
                file,
                line_no,
                format!(
                    "'{}' is a pandas column name, not data; such a line may only be the \
                 first or the last of the file",
                    field_text(junk)
                ),
            ));
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
        let (ts_col, decided_on) = *self
            .layout
            .get_or_insert_with(|| (timestamp_column(&fields), line_no));
        if ts_col > 0 {
            rec.repairs.timestamp_column = Some(ts_col + 1);
        }
        let stamp = if ts_col == 0 {
            parse_stamp(fields[0]).map_err(|r| DataError::line(file, line_no, r))?
        } else {
            parse_written_stamp(fields[ts_col]).map_err(|r| {
                DataError::line(
                    file,
                    line_no,
                    format!(
                        "column {col} ('{}') is not a timestamp, but line {decided_on} has \
                     the timestamp in column {col} and every line must: {r}",
                        field_text(fields[ts_col]),
                        col = ts_col + 1,
                    ),
                )
            })?
        };
        if ts_col == 0 && fields[0].trim().parse::<f64>().is_ok() {
            self.numeric_times = true;
        }
        let values = value_fields(&fields, ts_col);
        self.sample(line_no, stamp, fields[ts_col], &values, is_first)
    }

    /// Adds one sample: its time (checked against the file's form) and its x, y, z fields with
    /// their 1-based columns.
    fn sample(
        &mut self,
        line_no: usize,
        stamp: Stamp,
        stamp_field: &str,
        values: &[(usize, &str)],
        is_first: bool,
    ) -> Result<(), DataError> {
        let file = self.file;
        let rec = &mut self.rec;
        let is_time_of_day = matches!(stamp, Stamp::TimeOfDay(_));
        let (first_kind, kind_line) = *self.kind.get_or_insert((is_time_of_day, line_no));
        if first_kind != is_time_of_day {
            let (this, that) = if is_time_of_day {
                ("a time of day only", "a date")
            } else {
                ("a date", "a time of day only")
            };
            return Err(DataError::line(
                file,
                line_no,
                format!(
                    "timestamp '{}' holds {this}, but line {kind_line} holds {that}; a file \
                 must use one form",
                    field_text(stamp_field)
                ),
            ));
        }
        let t = match stamp {
            Stamp::Absolute(t) => t,
            Stamp::TimeOfDay(t) => {
                rec.repairs.time_of_day_lines += 1;
                self.clock.time(t, &mut rec.repairs.midnight_rollovers)
            }
        };
        let row: Vec<&str> = values.iter().map(|(_, f)| *f).collect();
        let mut xyz = [0f32; 3];
        let mut finite = true;
        for (k, &(column, field)) in values.iter().enumerate() {
            let v = match field.trim().parse::<f32>() {
                Ok(v) => v,
                Err(_) => match unmangle(field, &row).filter(|_| is_first) {
                    Some(base) => {
                        rec.repairs.mangled_values_fixed += 1;
                        base.parse::<f32>().expect("checked by unmangle")
                    }
                    None => {
                        return Err(DataError::line(
                            file,
                            line_no,
                            format!("column {column} ('{}') is not a number", field_text(field)),
                        ));
                    }
                },
            };
            finite &= v.is_finite();
            xyz[k] = v;
        }
        if !finite {
            rec.repairs.non_finite_lines_dropped += 1;
            return Ok(());
        }
        rec.timestamps.push(t);
        rec.values.push(xyz);
        rec.lines.push(line_no);
        Ok(())
    }

    /// The recording.
    ///
    /// # Errors
    /// When the file held no sample.
    pub fn finish(self) -> Result<ImuRecording, DataError> {
        let named_unit = self.columns.as_ref().and_then(|c| c.time_unit).is_some();
        let (file, mut rec) = (self.file, self.rec);
        if self.numeric_times && !named_unit {
            relative_time_unit(&mut rec);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A time in a unit its column names is held to the bounds of any other time.
    #[test]
    fn a_named_unit_time_beyond_the_year_5138_or_negative_is_refused() {
        let e = parse_imu_csv("f.csv", b"Time (s),x,y,z\n0,1,2,3\n1e30,1,2,3\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(
            e.reason.contains("column 1") && e.reason.contains("too large"),
            "{e}"
        );
        let e = parse_imu_csv("f.csv", b"t_ms,x,y,z\n-5,1,2,3\n").unwrap_err();
        assert!(e.reason.contains("not a time"), "{e}");
        let r = parse_imu_csv("f.csv", b"t_ms,x,y,z\n0,1,2,3\n20,1,2,3\n").unwrap();
        assert_eq!(r.timestamps, vec![0.0, 0.02]);
    }

    /// Every line count per chunk gives what one pass gives, repairs and errors alike.
    #[test]
    fn parsing_in_chunks_equals_one_pass() {
        let files: [&[u8]; 5] = [
            b"0.1,0.2,0.3,Unnamed: 3\n2022-08-04 11:24:02.384,1,2,3\r\n\n2022-08-04 11:24:02.4,4,5,6\n",
            b"23:59:59.900000,1,2,3\n00:00:00.100000,4,5,6\n1.05,1.00,-0.64,Unnamed: 3\n\n",
            b"-9.57,13.50.22.969,-3.09,0.43\n-9.5,13.50.23.000,-3.1,0.4",
            b"2022-08-04 11:24:02.384,1,2,3\n1.05,1.00,-0.64,Unnamed: 3\n2022-08-04 11:24:02.4,4,5,6\n",
            b"2022-08-04 11:24:02.384,1,2,3\n2022-08-04 11:24:02.4,4,x,6\n",
        ];
        for bytes in files {
            let whole = parse_imu_csv("f.csv", bytes);
            for chunk in 1..4 {
                let text = crate::error::csv_text("f.csv", bytes).unwrap();
                let mut p = ImuParser::new("f.csv", text);
                let chunked = loop {
                    match p.parse(chunk) {
                        Ok(true) => assert!(p.bytes_read() < text.len()),
                        Ok(false) => break p.finish(),
                        Err(e) => break Err(e),
                    }
                };
                match (&whole, &chunked) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!(
                            (&a.timestamps, &a.values, &a.lines),
                            (&b.timestamps, &b.values, &b.lines)
                        );
                        assert_eq!(a.repairs.describe(), b.repairs.describe());
                    }
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                    _ => panic!("{whole:?} vs {chunked:?}"),
                }
            }
        }
    }

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

    #[test]
    fn reads_times_of_day_as_seconds_since_midnight_and_counts_it() {
        let r = parse_imu_csv(
            "tod.csv",
            b"12:22:46.778000,0.65,-7.42,4.84\n12:22:46.8,0.6,-7.4,4.8\n12:22:47,1,2,3\n",
        )
        .unwrap();
        let t0 = 12.0 * 3600.0 + 22.0 * 60.0 + 46.778;
        assert!((r.timestamps[0] - t0).abs() < 1e-6);
        assert!((r.timestamps[1] - r.timestamps[0] - 0.022).abs() < 1e-6);
        assert!((r.timestamps[2] - t0 - 0.222).abs() < 1e-6);
        assert_eq!(r.values[0], [0.65, -7.42, 4.84]);
        assert_eq!(r.repairs.time_of_day_lines, 3);
        assert_eq!(r.repairs.midnight_rollovers, 0);
        assert!(r.repairs.describe()[0].contains("time of day only"));
    }

    #[test]
    fn a_midnight_roll_over_adds_a_day() {
        let r = parse_imu_csv(
            "tod.csv",
            b"23:59:59.5,1,2,3\n00:00:00.1,1,2,3\n23:59:59.9,1,2,3\n00:00:00.3,1,2,3\n",
        )
        .unwrap();
        let t = &r.timestamps;
        assert!((t[1] - t[0] - 0.6).abs() < 1e-6, "{t:?}");
        // A late sample from before midnight stays on the first day (a small backwards step,
        // left for trial assembly to sort), and does not undo the roll-over.
        assert!((t[2] - t[0] - 0.4).abs() < 1e-6, "{t:?}");
        assert!((t[3] - t[0] - 0.8).abs() < 1e-6, "{t:?}");
        assert_eq!(r.repairs.midnight_rollovers, 1);
        assert!(r.repairs.describe()[0].contains("1 roll-over"));
    }

    #[test]
    fn times_of_day_and_dates_do_not_mix() {
        let e =
            parse_imu_csv("m.csv", b"12:22:46.7,1,2,3\n2022-08-04 12:22:46.8,1,2,3\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.reason.contains("line 1 holds a time of day only"), "{e}");
    }

    #[test]
    fn finds_the_timestamp_in_another_column() {
        let r = parse_imu_csv(
            "moved.csv",
            b"-9.57,13.50.22.969,-3.09,0.43\n-9.5,13.50.23.001,-3.0,0.4\n",
        )
        .unwrap();
        assert_eq!(r.values, vec![[-9.57, -3.09, 0.43], [-9.5, -3.0, 0.4]]);
        assert!((r.timestamps[0] - 49_822.969).abs() < 1e-6);
        assert!((r.timestamps[1] - r.timestamps[0] - 0.032).abs() < 1e-6);
        assert_eq!(r.repairs.timestamp_column, Some(2));
        assert_eq!(r.repairs.time_of_day_lines, 2);
        assert!(r.repairs.describe().iter().any(|s| s.contains("column 2")));
        // Full date-times (with either separator) in another column, after a pandas header.
        let r = parse_imu_csv(
            "moved.csv",
            b"0.1,0.2,0.3,Unnamed: 3\n1,2,3,2022-08-04 13.50.22.969\n4,5,6,2022-08-04 13:50:23\n",
        )
        .unwrap();
        assert_eq!(r.values, vec![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        assert!((r.timestamps[1] - r.timestamps[0] - 0.031).abs() < 1e-6);
        assert_eq!(r.repairs.timestamp_column, Some(4));
        assert_eq!(r.repairs.time_of_day_lines, 0);
        // A plain number in the first column is still read as a value when another column
        // holds the written time.
        let r = parse_imu_csv("moved.csv", b"9.57,13:50:22.969,-3.09,0.43\n").unwrap();
        assert_eq!(
            (r.values[0], r.repairs.timestamp_column),
            ([9.57, -3.09, 0.43], Some(2))
        );
    }

    #[test]
    fn a_moved_timestamp_column_is_required_on_every_line() {
        let e = parse_imu_csv(
            "moved.csv",
            b"-9.57,13.50.22.969,-3.09,0.43\n13.50.23.001,-9.5,-3.0,0.4\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(
            e.reason
                .starts_with("column 2 ('-9.5') is not a timestamp, but line 1"),
            "{e}"
        );
        // Two columns with written times: ambiguous, so the first column is the timestamp
        // and the others must be numbers.
        let e = parse_imu_csv("two.csv", b"1,13:50:22.9,13:50:23.0,2\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(
            e.reason
                .starts_with("column 2 ('13:50:22.9') is not a number"),
            "{e}"
        );
    }

    #[test]
    fn drops_a_trailing_pandas_line_but_not_one_in_the_middle() {
        let r = parse_imu_csv(
            "t.csv",
            b"2022-08-04 11:24:02.1,1,2,3\n2022-08-04 11:24:02.2,4,5,6\n1.05,1.00,-0.64,Unnamed: 3\n\r\n",
        )
        .unwrap();
        assert_eq!(r.values.len(), 2);
        assert_eq!(r.repairs.trailing_lines_dropped, 1);
        assert!(r.repairs.describe()[0].contains("end of the file"));
        let e = parse_imu_csv(
            "t.csv",
            b"2022-08-04 11:24:02.1,1,2,3\n1.05,1.00,-0.64,Unnamed: 3\n2022-08-04 11:24:02.2,4,5,6\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(
            e.reason.contains("'Unnamed: 3' is a pandas column name"),
            "{e}"
        );
        // Header and trailer with nothing between: still a header-only file.
        let e = parse_imu_csv(
            "t.csv",
            b"0.1,0.2,0.3,Unnamed: 3\n1.05,1.00,-0.64,Unnamed: 3\n",
        )
        .unwrap_err();
        assert!(e.reason.contains("only a header"), "{e}");
        // Any other bad last line stays an error.
        let e =
            parse_imu_csv("t.csv", b"2022-08-04 11:24:02.1,1,2,3\n2022-08-04 11:2\n").unwrap_err();
        assert_eq!(e.line, Some(2));
    }
}
