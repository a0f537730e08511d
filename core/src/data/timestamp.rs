//! Watch timestamps: `YYYY-MM-DD HH:MM:SS[.f...]` local wall-clock time (0-9 fraction digits; the
//! data has 1, 2, 3 and 6), also with a `T` separator, or a plain Unix time in seconds or, when
//! above 1e11, milliseconds. Parsed to seconds since 1970-01-01 (the zone is irrelevant: only
//! differences are used).

/// Parses one timestamp field; `Err` holds a reason for the user.
pub fn parse_timestamp(field: &str) -> Result<f64, String> {
    let s = field.trim().trim_matches('"');
    if s.is_empty() {
        return Err("empty timestamp".into());
    }
    if s.len() >= 19 && s.as_bytes()[4] == b'-' {
        return parse_datetime(s);
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(if v > 1e11 { v / 1000.0 } else { v }),
        _ => Err(format!(
            "'{}' is not a timestamp (expected YYYY-MM-DD HH:MM:SS.fff or Unix seconds)",
            truncate(s)
        )),
    }
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
        && b[13] == b':'
        && b[16] == b':';
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
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
            return Err(format!("bad fraction of a second in '{}'", truncate(s)));
        }
        f.parse::<u64>().unwrap_or(0) as f64 / 10f64.powi(f.len() as i32)
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
}
