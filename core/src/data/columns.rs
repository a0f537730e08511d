//! A logger's header row: which columns hold the time and x, y, z.
//!
//! Phone and watch loggers write a first line of column names: `time,x,y,z` (an Android
//! `SensorManager` dump), `Time (s),Acceleration x (m/s^2),...` (phyphox), `time,seconds_elapsed,
//! z,y,x` (Sensor Logger), `accel_time_list,accel_x_list,...`, or a Core Motion export with
//! several sensors (`accelerometerTimestamp_sinceReboot(s),accelerometerAccelerationX(G),...`).
//! A line is a header when none of its fields is a number or a timestamp. Its names are read:
//! - **axes**: a name whose letters and digits, units in brackets left out, end in `x`, `y` or
//!   `z` (`x`, `accel_x`, `Acceleration x (m/s^2)`, `gyroZ`); the columns sharing the rest of
//!   the name form a sensor. A file with several sensors takes the accelerometer's (a name with
//!   `acc`) when one is there, else the first complete triple, and says which it read;
//! - **time**: the first name holding `time`, `stamp`, `elapsed` or `date`, or the word `t` or
//!   `ts` (`ts_ms`);
//!   among several, one sharing the sensor's name (`accelerometerTimestamp...`) first;
//! - **time unit**: from the time column's name, `(s)`, `sec`, `seconds`, `(ms)`, `_ms`,
//!   `millis`, `(us)`, `micros`, `(ns)`, `_ns`, `nanos`.
//!
//! A header of four names none of which can be read is taken as time, x, y, z in that order.

/// The unit of a numeric time column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// Seconds.
    Seconds,
    /// Milliseconds.
    Millis,
    /// Microseconds.
    Micros,
    /// Nanoseconds.
    Nanos,
}

impl TimeUnit {
    /// Seconds per unit.
    pub fn seconds(self) -> f64 {
        match self {
            TimeUnit::Seconds => 1.0,
            TimeUnit::Millis => 1e-3,
            TimeUnit::Micros => 1e-6,
            TimeUnit::Nanos => 1e-9,
        }
    }

    /// Its name, for notes.
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "seconds",
            TimeUnit::Millis => "milliseconds",
            TimeUnit::Micros => "microseconds",
            TimeUnit::Nanos => "nanoseconds",
        }
    }
}

/// Where a header row says the data is.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    /// 0-based column of the time.
    pub time: usize,
    /// 0-based columns of x, y, z.
    pub xyz: [usize; 3],
    /// The time unit the name gives, if it gives one.
    pub time_unit: Option<TimeUnit>,
    /// What was read, for the user's notes.
    pub note: String,
}

impl Columns {
    /// Fields a data line needs.
    pub fn width(&self) -> usize {
        1 + self.time.max(self.xyz[0]).max(self.xyz[1]).max(self.xyz[2])
    }
}

/// The name without units in brackets, lower-case, letters and digits only.
fn squeeze(name: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            c if depth == 0 && c.is_alphanumeric() => out.extend(c.to_lowercase()),
            _ => {}
        }
    }
    out
}

/// The axis a name ends in, with the rest of the name (the sensor); or, failing that, the axis
/// of its one word that is `x`, `y` or `z` alone (`accel_x_list`).
fn axis(name: &str) -> Option<(usize, String)> {
    let s = squeeze(name);
    if let Some(k) = s.chars().last().and_then(|c| "xyz".find(c)) {
        return Some((k, s[..s.len() - 1].to_string()));
    }
    let words: Vec<String> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut found = words
        .iter()
        .enumerate()
        .filter(|(_, w)| w.len() == 1 && "xyz".contains(w.as_str()));
    let (i, w) = found.next()?;
    if found.next().is_some() {
        return None;
    }
    let rest: String = words
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != i)
        .map(|(_, w)| w.as_str())
        .collect();
    Some(("xyz".find(w.as_str())?, rest))
}

fn is_time_name(name: &str) -> bool {
    let s = squeeze(name);
    name.split(|c: char| !c.is_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case("t") || w.eq_ignore_ascii_case("ts"))
        || ["time", "stamp", "elapsed", "date"]
            .iter()
            .any(|w| s.contains(w))
}

/// The time unit a column name gives.
fn time_unit(name: &str) -> Option<TimeUnit> {
    let l = name.to_lowercase();
    let has = |w: &[&str]| w.iter().any(|w| l.contains(w));
    if has(&["(ns)", "[ns]", "_ns", "nanos"]) {
        Some(TimeUnit::Nanos)
    } else if has(&["(us)", "[us]", "(µs)", "_us", "micros"]) {
        Some(TimeUnit::Micros)
    } else if has(&["(ms)", "[ms]", "_ms", "millis"]) {
        Some(TimeUnit::Millis)
    } else if has(&["(s)", "[s]", "sec"]) {
        Some(TimeUnit::Seconds)
    } else {
        None
    }
}

fn quote(name: &str) -> String {
    format!("'{}'", name.trim().chars().take(40).collect::<String>())
}

/// Reads a header row (`fields` of a line none of whose fields is a number or a timestamp;
/// the caller checks that). `Err` says what is missing.
pub fn header_columns(fields: &[&str]) -> Result<Columns, String> {
    let names: Vec<&str> = fields.iter().map(|f| f.trim().trim_matches('"')).collect();
    // Sensors: the rest of the name -> [x, y, z] columns, in order of first appearance.
    let mut sensors: Vec<(String, [Option<usize>; 3])> = Vec::new();
    for (c, n) in names.iter().enumerate() {
        if is_time_name(n) {
            continue;
        }
        if let Some((k, rest)) = axis(n) {
            match sensors.iter_mut().find(|(r, _)| *r == rest) {
                Some((_, s)) => {
                    s[k].get_or_insert(c);
                }
                None => {
                    let mut s = [None; 3];
                    s[k] = Some(c);
                    sensors.push((rest, s));
                }
            }
        }
    }
    let complete: Vec<(&String, [usize; 3])> = sensors
        .iter()
        .filter_map(|(r, s)| Some((r, [s[0]?, s[1]?, s[2]?])))
        .collect();
    let chosen = complete
        .iter()
        .find(|(r, _)| r.contains("acc"))
        .or_else(|| complete.first());
    let times: Vec<usize> = (0..names.len())
        .filter(|&c| is_time_name(names[c]))
        .collect();
    let listed = names
        .iter()
        .map(|n| quote(n))
        .collect::<Vec<_>>()
        .join(", ");
    let Some(&(sensor, xyz)) = chosen else {
        if names.len() == 4 && complete.is_empty() && times.len() <= 1 {
            return Ok(Columns {
                time: 0,
                xyz: [1, 2, 3],
                time_unit: time_unit(names[0]),
                note: format!(
                    "skipped the header line ({listed}): its names say nothing of the columns, read in order as time, x, y, z"
                ),
            });
        }
        return Err(format!(
            "a header line without x, y and z columns (names ending in x, y and z, such as accel_x or 'Acceleration x (m/s^2)'): {listed}"
        ));
    };
    let prefix: String = sensor.chars().take(3).collect();
    let time = times
        .iter()
        .copied()
        .find(|&c| !prefix.is_empty() && squeeze(names[c]).starts_with(&prefix))
        .or_else(|| times.first().copied())
        .ok_or_else(|| {
            format!(
                "a header line without a time column (a name holding 'time', 'stamp', 'elapsed' or 'date'): {listed}"
            )
        })?;
    let unit = time_unit(names[time]);
    let mut note = format!(
        "read the header line: time from {}{}, x, y, z from {}, {}, {}",
        quote(names[time]),
        unit.map_or(String::new(), |u| format!(" (in {})", u.name())),
        quote(names[xyz[0]]),
        quote(names[xyz[1]]),
        quote(names[xyz[2]]),
    );
    if complete.len() > 1 {
        note += &format!(
            " (the file holds {} sensors; this one was read)",
            complete.len()
        );
    }
    Ok(Columns {
        time,
        xyz,
        time_unit: unit,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(line: &str) -> Columns {
        header_columns(&line.split(',').collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn loggers_headers_are_read() {
        let c = cols("accel_time_list,accel_x_list,accel_y_list,accel_z_list");
        assert_eq!((c.time, c.xyz), (0, [1, 2, 3]));
        assert!(c.note.contains("'accel_x_list'"), "{}", c.note);
        let c = cols(
            "Time (s),Acceleration x (m/s^2),Acceleration y (m/s^2),Acceleration z (m/s^2),Absolute acceleration (m/s^2)",
        );
        assert_eq!(
            (c.time, c.xyz, c.time_unit),
            (0, [1, 2, 3], Some(TimeUnit::Seconds))
        );
        let c = cols("time,seconds_elapsed,z,y,x");
        assert_eq!((c.time, c.xyz), (0, [4, 3, 2]));
        let c = cols("timestamp,x,y,z");
        assert_eq!((c.time, c.xyz, c.time_unit), (0, [1, 2, 3], None));
        let c = cols("ts_ms,gyro_x,gyro_y,gyro_z");
        assert_eq!(c.time_unit, Some(TimeUnit::Millis));
        let c = cols(
            "loggingTime(txt),accelerometerTimestamp_sinceReboot(s),accelerometerAccelerationX(G),accelerometerAccelerationY(G),accelerometerAccelerationZ(G),gyroTimestamp_sinceReboot(s),gyroRotationX(rad/s),gyroRotationY(rad/s),gyroRotationZ(rad/s)",
        );
        assert_eq!((c.time, c.xyz), (1, [2, 3, 4]));
        assert!(c.note.contains("2 sensors"), "{}", c.note);
        let c = cols(
            "gyroTimestamp_sinceReboot(s),gyroRotationX(rad/s),gyroRotationY(rad/s),gyroRotationZ(rad/s)",
        );
        assert_eq!(
            (c.time, c.xyz, c.time_unit),
            (0, [1, 2, 3], Some(TimeUnit::Seconds))
        );
    }

    #[test]
    fn headers_that_name_no_axes_or_no_time_are_refused_saying_what_is_missing() {
        let e = header_columns(&["a", "b", "c", "d", "e"]).unwrap_err();
        assert!(e.contains("without x, y and z") && e.contains("'e'"), "{e}");
        let e = header_columns(&["ax", "ay", "az", "label"]).unwrap_err();
        assert!(e.contains("without a time column"), "{e}");
        assert_eq!(
            header_columns(&["a", "b", "c", "d"]).unwrap().xyz,
            [1, 2, 3]
        );
    }
}
