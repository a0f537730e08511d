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
//!
//! **One file, both sensors.** A file read for a [`Sensor`] takes that sensor's columns: the
//! accelerometer's triple (a name with `acc`, not a `user` or `linear` acceleration without
//! gravity), or the gyroscope's (`gyr`, `rot`, `angular`, or a bare `g`/`w` before the axis). A
//! file with one row per sample of either sensor names it in a column `sensor`, `type`,
//! `sensor_type` or `sensor_name`; rows of the other sensors are skipped and counted
//! ([`Sensor::matches_value`]). [`Columns::other_sensor`] says whether the file holds a gyroscope
//! beside the accelerometer, so that the caller reads it too.

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

/// The sensor a file is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sensor {
    /// The accelerometer (every file's, unless told otherwise).
    #[default]
    Accelerometer,
    /// The gyroscope.
    Gyroscope,
}

impl Sensor {
    /// Its name in notes.
    pub fn name(self) -> &'static str {
        match self {
            Sensor::Accelerometer => "accelerometer",
            Sensor::Gyroscope => "gyroscope",
        }
    }

    /// The other one.
    pub fn other(self) -> Sensor {
        match self {
            Sensor::Accelerometer => Sensor::Gyroscope,
            Sensor::Gyroscope => Sensor::Accelerometer,
        }
    }

    /// Whether a triple's name (the columns' names less the axis, squeezed) is this sensor's.
    fn matches_name(self, rest: &str) -> bool {
        match self {
            Sensor::Accelerometer => {
                rest.contains("acc") && !rest.contains("user") && !rest.contains("linear")
                    || rest == "a"
            }
            Sensor::Gyroscope => {
                ["gyr", "rot", "angular"].iter().any(|w| rest.contains(w))
                    || rest == "g"
                    || rest == "w"
            }
        }
    }

    /// Whether a sensor column's value names this sensor: a name holding `acc` (not a linear or
    /// uncalibrated acceleration) or Android's type number 1; `gyr` (not uncalibrated) or 4.
    pub fn matches_value(self, value: &str) -> bool {
        let v = value.trim().trim_matches('"').to_lowercase();
        let uncal = v.contains("uncal");
        match self {
            Sensor::Accelerometer => {
                v == "1" || v.contains("acc") && !v.contains("linear") && !uncal
            }
            Sensor::Gyroscope => v == "4" || v.contains("gyr") && !uncal,
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
    /// The column naming each row's sensor, in a file of several sensors' rows, and its name.
    pub sensor_column: Option<(usize, String)>,
    /// The header names columns of the other sensor too (read for the accelerometer: a
    /// gyroscope's columns). A file with a sensor column tells by its rows instead.
    pub other_sensor: bool,
    /// What was read, for the user's notes.
    pub note: String,
}

impl Columns {
    /// Fields a data line needs.
    pub fn width(&self) -> usize {
        1 + self
            .time
            .max(self.xyz[0])
            .max(self.xyz[1])
            .max(self.xyz[2])
            .max(self.sensor_column.as_ref().map_or(0, |c| c.0))
    }
}

fn is_sensor_column(name: &str) -> bool {
    ["sensor", "type", "sensortype", "sensorname"].contains(&squeeze(name).as_str())
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
/// the caller checks that) for `sensor`. `Err` says what is missing.
pub fn header_columns(fields: &[&str], sensor: Sensor) -> Result<Columns, String> {
    let names: Vec<&str> = fields.iter().map(|f| f.trim().trim_matches('"')).collect();
    let sensor_column = names.iter().position(|n| is_sensor_column(n));
    // Sensors: the rest of the name -> [x, y, z] columns, in order of first appearance.
    let mut sensors: Vec<(String, [Option<usize>; 3])> = Vec::new();
    for (c, n) in names.iter().enumerate() {
        if is_time_name(n) || sensor_column == Some(c) {
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
    let named = |s: Sensor| complete.iter().find(|(r, _)| s.matches_name(r));
    // The sensor's columns, else the first triple that is not the other sensor's (a file of one
    // sensor, `time,x,y,z`, or of rows naming their sensor); read for the accelerometer (what a
    // file is read for unless it is given as a gyroscope), any first triple.
    let chosen = named(sensor)
        .or_else(|| {
            complete
                .iter()
                .find(|(r, _)| !sensor.other().matches_name(r))
        })
        .or_else(|| complete.first().filter(|_| sensor == Sensor::Accelerometer));
    let other_sensor = sensor == Sensor::Accelerometer
        && sensor_column.is_none()
        && named(Sensor::Gyroscope).is_some_and(|g| Some(g) != chosen);
    let times: Vec<usize> = (0..names.len())
        .filter(|&c| is_time_name(names[c]))
        .collect();
    let listed = names
        .iter()
        .map(|n| quote(n))
        .collect::<Vec<_>>()
        .join(", ");
    let Some(&(triple, xyz)) = chosen else {
        if sensor == Sensor::Gyroscope && !complete.is_empty() {
            return Err(format!(
                "a header line without gyroscope columns (names holding 'gyr' or 'rot' and ending in x, y and z): {listed}"
            ));
        }
        if names.len() == 4 && complete.is_empty() && times.len() <= 1 {
            return Ok(Columns {
                time: 0,
                xyz: [1, 2, 3],
                time_unit: time_unit(names[0]),
                sensor_column: None,
                other_sensor: false,
                note: format!(
                    "skipped the header line ({listed}): its names say nothing of the columns, read in order as time, x, y, z"
                ),
            });
        }
        return Err(format!(
            "a header line without x, y and z columns (names ending in x, y and z, such as accel_x or 'Acceleration x (m/s^2)'): {listed}"
        ));
    };
    let prefix: String = triple.chars().take(3).collect();
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
    let sensor_column = sensor_column.map(|c| (c, names[c].to_string()));
    if let Some((c, _)) = sensor_column {
        note += &format!(", the {}'s rows by {}", sensor.name(), quote(names[c]));
    } else if complete.len() > 1 {
        note += &format!(
            " (the file holds {} sensors; the {}'s were read here)",
            complete.len(),
            sensor.name()
        );
    }
    Ok(Columns {
        time,
        xyz,
        time_unit: unit,
        sensor_column,
        other_sensor,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(line: &str) -> Columns {
        cols_for(line, Sensor::Accelerometer).unwrap()
    }

    fn cols_for(line: &str, sensor: Sensor) -> Result<Columns, String> {
        header_columns(&line.split(',').collect::<Vec<_>>(), sensor)
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
        assert!(c.note.contains("2 sensors") && c.other_sensor, "{}", c.note);
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
        let acc = Sensor::Accelerometer;
        let e = header_columns(&["a", "b", "c", "d", "e"], acc).unwrap_err();
        assert!(e.contains("without x, y and z") && e.contains("'e'"), "{e}");
        let e = header_columns(&["ax", "ay", "az", "label"], acc).unwrap_err();
        assert!(e.contains("without a time column"), "{e}");
        assert_eq!(
            header_columns(&["a", "b", "c", "d"], acc).unwrap().xyz,
            [1, 2, 3]
        );
        let e = cols_for("time,ax,ay,az", Sensor::Gyroscope).unwrap_err();
        assert!(e.contains("without gyroscope columns"), "{e}");
    }

    #[test]
    fn each_sensor_of_a_combined_file_is_found() {
        let both = "loggingTime(txt),accelerometerTimestamp_sinceReboot(s),accelerometerAccelerationX(G),accelerometerAccelerationY(G),accelerometerAccelerationZ(G),gyroTimestamp_sinceReboot(s),gyroRotationX(rad/s),gyroRotationY(rad/s),gyroRotationZ(rad/s)";
        let g = cols_for(both, Sensor::Gyroscope).unwrap();
        assert_eq!((g.time, g.xyz), (5, [6, 7, 8]));
        assert!(
            !g.other_sensor && g.note.contains("gyroscope's"),
            "{}",
            g.note
        );
        // One time, both triples; the gyroscope first does not fool the accelerometer.
        let a = cols("t,gx,gy,gz,ax,ay,az");
        assert_eq!((a.time, a.xyz, a.other_sensor), (0, [4, 5, 6], true));
        let g = cols_for("t,gx,gy,gz,ax,ay,az", Sensor::Gyroscope).unwrap();
        assert_eq!(g.xyz, [1, 2, 3]);
        // Gravity-free accelerations are not the accelerometer when it is there.
        let a = cols(
            "time,userAccelerationX,userAccelerationY,userAccelerationZ,accelerometerX,accelerometerY,accelerometerZ",
        );
        assert_eq!(a.xyz, [4, 5, 6]);
        // Rows naming their sensor.
        for sensor in [Sensor::Accelerometer, Sensor::Gyroscope] {
            let c = cols_for("timestamp,sensor,x,y,z", sensor).unwrap();
            assert_eq!((c.time, c.xyz), (0, [2, 3, 4]));
            assert_eq!(c.sensor_column, Some((1, "sensor".to_string())));
            assert!(c.note.contains("'sensor'"), "{}", c.note);
        }
        assert!(Sensor::Accelerometer.matches_value("android.sensor.accelerometer"));
        assert!(!Sensor::Accelerometer.matches_value("android.sensor.linear_acceleration"));
        assert!(Sensor::Gyroscope.matches_value("GYRO") && Sensor::Gyroscope.matches_value("4"));
        assert!(!Sensor::Gyroscope.matches_value("android.sensor.gyroscope_uncalibrated"));
        assert!(!Sensor::Gyroscope.matches_value("magnetometer"));
    }
}
