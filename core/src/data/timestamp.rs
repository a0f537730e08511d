//! Watch timestamps: `YYYY-MM-DD HH:MM:SS[.f...]` local wall-clock time (0-9 fraction digits; the
//! data has 1, 2, 3 and 6), also with a `T` separator or with dots between hours, minutes and
//! seconds (`HH.MM.SS`), or a plain Unix time in seconds or, when above 1e11, 1e14 or 1e17,
//! milliseconds, microseconds or nanoseconds. A Unix time that is still beyond 1e11 s (the
//! year 5138) is refused: at that size a double cannot hold the milliseconds between samples.
//! Parsed to seconds since 1970-01-01 (the zone is irrelevant: only differences are used).
//!
//! Field recordings also hold a time of day alone (`HH:MM:SS[.f...]` or `HH.MM.SS[.f...]`, no
//! date): [`parse_stamp`] reads those as seconds since midnight and says so ([`Stamp::TimeOfDay`]),
//! so that the caller can count the repair and handle a midnight roll-over.

/// One timestamp field, read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stamp {
    /// Seconds since 1970-01-01: a date and time, or a Unix time.
    Absolute(f64),
    /// Seconds since midnight of an unknown day: a time of day without a date.
    TimeOfDay(f64),
}

impl Stamp {
    /// The seconds, whatever the origin.
    pub fn seconds(self) -> f64 {
        match self {
            Stamp::Absolute(s) | Stamp::TimeOfDay(s) => s,
        }
    }
}

/// Largest Unix time accepted, in seconds (1e11 s: the year 5138).
pub const MAX_UNIX_SECONDS: f64 = 1e11;

const EXPECTED: &str =
    "expected YYYY-MM-DD HH:MM:SS.fff, a time of day HH:MM:SS.fff or HH.MM.SS.fff, or Unix seconds";

/// Parses a timestamp field in any form the watch files use: what [`parse_timestamp`] accepts,
/// or a time of day alone. `Err` holds a reason for the user.
pub fn parse_stamp(field: &str) -> Result<Stamp, String> {
    let s = field.trim().trim_matches('"');
    if looks_like_time_of_day(s) {
        return parse_time_of_day(s).map(Stamp::TimeOfDay);
    }
    parse_timestamp(s).map(Stamp::Absolute)
}

/// Like [`parse_stamp`], but only a written date-time or time of day: a plain number is refused
/// (used to find a timestamp among value columns, where a number is a value).
pub fn parse_written_stamp(field: &str) -> Result<Stamp, String> {
    let s = field.trim().trim_matches('"');
    if looks_like_time_of_day(s) || looks_like_datetime(s) {
        parse_stamp(s)
    } else {
        Err(format!(
            "'{}' is not a written date-time or time of day (HH:MM:SS.fff or HH.MM.SS.fff)",
            truncate(s)
        ))
    }
}

fn looks_like_datetime(s: &str) -> bool {
    s.len() >= 19 && s.as_bytes()[4] == b'-'
}

/// A time of day has a colon, or at least two dots (`HH.MM.SS`; a number has one at most).
fn looks_like_time_of_day(s: &str) -> bool {
    !looks_like_datetime(s) && (s.contains(':') || s.matches('.').count() >= 2)
}

/// Parses a time of day alone, `H[H]:MM:SS[.f]` or `H[H].MM.SS[.f]` (0-9 fraction digits), to
/// seconds since midnight.
pub fn parse_time_of_day(field: &str) -> Result<f64, String> {
    let s = field.trim().trim_matches('"');
    let bad = || format!("'{}' is not a timestamp ({EXPECTED})", truncate(s));
    let (h, m, rest) = if s.contains(':') {
        let mut it = s.splitn(3, ':');
        match (it.next(), it.next(), it.next()) {
            (Some(h), Some(m), Some(rest)) => (h, m, rest),
            _ => return Err(bad()),
        }
    } else {
        let mut it = s.splitn(3, '.');
        match (it.next(), it.next(), it.next()) {
            (Some(h), Some(m), Some(rest)) => (h, m, rest),
            _ => return Err(bad()),
        }
    };
    let (sec, frac) = match rest.split_once('.') {
        Some((sec, frac)) => (sec, Some(frac)),
        None => (rest, None),
    };
    if !(1..=2).contains(&h.len()) || m.len() != 2 || sec.len() != 2 {
        return Err(bad());
    }
    let hour = digits(h, "hour", s)?;
    let minute = digits(m, "minute", s)?;
    let second = digits(sec, "second", s)?;
    if hour > 23 || minute > 59 || second > 60 {
        return Err(format!("'{}' is not a valid time of day", truncate(s)));
    }
    let frac = match frac {
        None => 0.0,
        Some(f) => fraction(f, s)?,
    };
    Ok((hour * 3600 + minute * 60 + second) as f64 + frac)
}

fn fraction(f: &str, full: &str) -> Result<f64, String> {
    if f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("bad fraction of a second in '{}'", truncate(full)));
    }
    Ok(f.parse::<u64>().unwrap_or(0) as f64 / 10f64.powi(f.len() as i32))
}

/// Parses one timestamp field; `Err` holds a reason for the user.
pub fn parse_timestamp(field: &str) -> Result<f64, String> {
    let s = field.trim().trim_matches('"');
    if s.is_empty() {
        return Err("empty timestamp".into());
    }
    if looks_like_datetime(s) {
        return parse_datetime(s);
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => {
            let secs = if v > 1e17 {
                v / 1e9
            } else if v > 1e14 {
                v / 1e6
            } else if v > 1e11 {
                v / 1e3
            } else {
                v
            };
            in_range(
                secs,
                s,
                "a Unix time in seconds, milliseconds, microseconds or nanoseconds",
            )
        }
        _ => Err(format!("'{}' is not a timestamp ({EXPECTED})", truncate(s))),
    }
}

/// A numeric time field in a unit the file names (`seconds_per_unit`: 1e-3 for milliseconds),
/// in seconds; refused when negative or not finite, and beyond [`MAX_UNIX_SECONDS`] as
/// [`parse_timestamp`] refuses it.
pub fn parse_number_in(field: &str, seconds_per_unit: f64) -> Result<f64, String> {
    let s = field.trim().trim_matches('"');
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => in_range(
            v * seconds_per_unit,
            s,
            "a time in the unit its column names",
        ),
        _ => Err(format!(
            "'{}' is not a time (a number at least 0 in the unit its column names)",
            truncate(s)
        )),
    }
}

/// `secs` when below [`MAX_UNIX_SECONDS`] (past it a double cannot hold the milliseconds
/// between samples), else why `field`, read as `what`, is refused.
fn in_range(secs: f64, field: &str, what: &str) -> Result<f64, String> {
    if secs >= MAX_UNIX_SECONDS {
        return Err(format!("'{}' is too large for {what}", truncate(field)));
    }
    Ok(secs)
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

fn digits(s: &str, what: &str, full: &str) -> Result<u32, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad {what} in timestamp '{}'", truncate(full)));
    }
    s.parse::<u32>()
        .map_err(|_| format!("bad {what} in timestamp '{}'", truncate(full)))
}

fn parse_datetime(s: &str) -> Result<f64, String> {
    let b = s.as_bytes();
    let sep_ok = b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b' ' || b[10] == b'T')
        && (b[13] == b':' || b[13] == b'.')
        && b[16] == b[13];
    if !sep_ok || !b[..19].is_ascii() {
        return Err(format!("'{}' is not YYYY-MM-DD HH:MM:SS", truncate(s)));
    }
    let year = digits(&s[0..4], "year", s)? as i64;
    let month = digits(&s[5..7], "month", s)?;
    let day = digits(&s[8..10], "day", s)?;
    let hour = digits(&s[11..13], "hour", s)?;
    let minute = digits(&s[14..16], "minute", s)?;
    let second = digits(&s[17..19], "second", s)?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(format!("'{}' is not a valid date and time", truncate(s)));
    }
    let rest = &s[19..];
    let frac = if rest.is_empty() {
        0.0
    } else if let Some(f) = rest.strip_prefix('.') {
        fraction(f, s)?
    } else {
        return Err(format!(
            "unexpected '{}' after the seconds in '{}'",
            truncate(rest),
            truncate(s)
        ));
    };
    let days = days_from_civil(year, month, day);
    Ok(days as f64 * 86_400.0 + (hour * 3600 + minute * 60 + second) as f64 + frac)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_fraction_width() {
        let base = parse_timestamp("2022-08-04 11:24:02").unwrap();
        assert!((parse_timestamp("2022-08-04 11:24:02.384").unwrap() - base - 0.384).abs() < 1e-6);
        assert!((parse_timestamp("2022-08-04 11:24:02.96").unwrap() - base - 0.96).abs() < 1e-6);
        assert!((parse_timestamp("2022-08-04 11:24:02.7").unwrap() - base - 0.7).abs() < 1e-6);
        assert!(
            (parse_timestamp("2022-08-04T11:24:02.384123").unwrap() - base - 0.384123).abs() < 1e-6
        );
        assert_eq!(parse_timestamp("1970-01-02 00:00:00").unwrap(), 86_400.0);
        assert_eq!(parse_timestamp("1659612242384").unwrap(), 1_659_612_242.384);
        // Microseconds and nanoseconds since 1970 are read as such.
        assert!((parse_timestamp("1659612242384123").unwrap() - 1_659_612_242.384123).abs() < 1e-5);
        assert!(
            (parse_timestamp("1659612242384123456").unwrap() - 1_659_612_242.384123).abs() < 1e-5
        );
        // Beyond any unit: refused, not read as a time where a double cannot hold milliseconds.
        let e = parse_timestamp("99999999999999999999999").unwrap_err();
        assert!(e.contains("too large"), "{e}");
        assert!(parse_timestamp("1e300").is_err());
    }

    #[test]
    fn rejects_garbage_with_a_reason() {
        for bad in [
            "",
            "x",
            "2022-13-04 11:24:02",
            "2022-02-30 11:24:02",
            "2022-08-04 11:24:02.",
            "2022-08-04 11:24:02.12a",
            "-5",
            "NaN",
            "2022-08-04 11:24:0é",
        ] {
            assert!(parse_timestamp(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn reads_a_time_of_day_alone_as_seconds_since_midnight() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        let t = parse_time_of_day("12:22:46.778000").unwrap();
        assert!(close(t, 12.0 * 3600.0 + 22.0 * 60.0 + 46.778), "{t}");
        assert!(close(
            parse_time_of_day("13.50.22.969").unwrap(),
            49_822.969
        ));
        assert!(close(parse_time_of_day("9:05:01").unwrap(), 32_701.0));
        assert!(close(parse_time_of_day("00.00.00").unwrap(), 0.0));
        assert!(close(
            parse_time_of_day("23:59:59.123456789").unwrap(),
            86_399.123456789
        ));
        assert_eq!(
            parse_stamp(" 12:22:46.778 ").unwrap(),
            Stamp::TimeOfDay(parse_time_of_day("12:22:46.778").unwrap())
        );
        for bad in [
            "24:00:00",
            "12:60:00",
            "12:22",
            "12:2:46",
            "12:22:46.",
            "12:22:46.1234567890",
            "12:22:46,5",
            "12.22",
            "0.0085.1",
            "1.05.2",
            "12:22:4é",
            "-1:22:46",
            "12::46",
        ] {
            assert!(parse_time_of_day(bad).is_err(), "accepted {bad:?}");
            assert!(
                parse_stamp(bad).is_err() || bad == "12.22",
                "accepted {bad:?}"
            );
        }
        // One dot is a number (Unix seconds), not a time of day.
        assert_eq!(parse_stamp("12.22").unwrap(), Stamp::Absolute(12.22));
    }

    #[test]
    fn stamps_tell_dates_from_times_of_day_and_written_from_numbers() {
        let dotted = parse_timestamp("2022-08-04 13.50.22.969").unwrap();
        assert_eq!(dotted, parse_timestamp("2022-08-04 13:50:22.969").unwrap());
        assert!(parse_timestamp("2022-08-04 13.50:22").is_err());
        assert_eq!(
            parse_stamp("2022-08-04 13:50:22.969").unwrap(),
            Stamp::Absolute(dotted)
        );
        assert_eq!(
            parse_stamp("1659612242").unwrap(),
            Stamp::Absolute(1_659_612_242.0)
        );
        assert!(parse_written_stamp("1659612242").is_err());
        assert!(parse_written_stamp("-9.57").is_err());
        assert!(matches!(
            parse_written_stamp("13.50.22.969"),
            Ok(Stamp::TimeOfDay(_))
        ));
        assert!(matches!(
            parse_written_stamp("2022-08-04 13:50:22.969"),
            Ok(Stamp::Absolute(_))
        ));
        let e = parse_stamp("yesterday").unwrap_err();
        assert!(e.contains("HH:MM:SS.fff"), "{e}");
    }
}
