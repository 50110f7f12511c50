//! Go's `time.Duration` text form (`1h0m0s`, `1.5s`, `300ms`), which `metav1.Duration`
//! uses in JSON while protobuf carries int64 nanoseconds.

use thiserror::Error;

const MICROSECOND: u64 = 1_000;
const MILLISECOND: u64 = 1_000_000;
const SECOND: u64 = 1_000_000_000;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("missing unit after a number at byte {0}")]
    MissingUnit(usize),
    #[error("unknown unit {0:?} (expected ns, us, µs, ms, s, m or h)")]
    UnknownUnit(String),
    #[error("expected a number at byte {0}")]
    ExpectedNumber(usize),
    #[error("duration does not fit in int64 nanoseconds")]
    Overflow,
}

/// Formats nanoseconds the way Go's `Duration.String()` does.
pub fn format(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let magnitude = nanos.unsigned_abs();
    let body = if magnitude < MICROSECOND {
        format!("{magnitude}ns")
    } else if magnitude < MILLISECOND {
        format!("{}µs", with_fraction(magnitude, MICROSECOND))
    } else if magnitude < SECOND {
        format!("{}ms", with_fraction(magnitude, MILLISECOND))
    } else {
        let seconds = with_fraction(magnitude % MINUTE, SECOND);
        let minutes = magnitude / MINUTE;
        if minutes == 0 {
            format!("{seconds}s")
        } else if magnitude < HOUR {
            format!("{minutes}m{seconds}s")
        } else {
            format!("{}h{}m{seconds}s", magnitude / HOUR, minutes % 60)
        }
    };
    format!("{sign}{body}")
}

/// `value / unit` with the remainder as a decimal fraction without trailing zeros.
fn with_fraction(value: u64, unit: u64) -> String {
    let whole = value / unit;
    let rest = value % unit;
    if rest == 0 {
        return whole.to_string();
    }
    let digits = unit.ilog10() as usize;
    let fraction = format!("{rest:0digits$}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

/// Parses Go's duration syntax: an optional sign, then one or more decimal numbers
/// each followed by a unit (`1h30m`, `-1.5s`, `300ms`); a lone `0` is allowed.
pub fn parse(text: &str) -> Result<i64, DurationError> {
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        Some(_) => (false, text),
        None => return Err(DurationError::Empty),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(DurationError::Empty);
    }
    let offset = text.len() - rest.len();
    let mut total: u128 = 0;
    let mut position = 0;
    let bytes = rest.as_bytes();
    while position < bytes.len() {
        let start = position;
        while position < bytes.len()
            && (bytes[position].is_ascii_digit() || bytes[position] == b'.')
        {
            position += 1;
        }
        let number = &rest[start..position];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(DurationError::ExpectedNumber(offset + start));
        }
        let unit_start = position;
        while position < bytes.len()
            && !(bytes[position].is_ascii_digit() || bytes[position] == b'.')
        {
            position += 1;
        }
        let unit = match &rest[unit_start..position] {
            "" => return Err(DurationError::MissingUnit(offset + unit_start)),
            "ns" => 1,
            "us" | "µs" | "μs" => MICROSECOND,
            "ms" => MILLISECOND,
            "s" => SECOND,
            "m" => MINUTE,
            "h" => HOUR,
            other => return Err(DurationError::UnknownUnit(other.to_string())),
        };
        total = total
            .checked_add(scaled(number, unit).ok_or(DurationError::Overflow)?)
            .ok_or(DurationError::Overflow)?;
    }
    let limit = if negative {
        i64::MIN.unsigned_abs() as u128
    } else {
        i64::MAX as u128
    };
    if total > limit {
        return Err(DurationError::Overflow);
    }
    Ok(if negative {
        (total as i128).wrapping_neg() as i64
    } else {
        total as i64
    })
}

/// `number * unit` for a decimal `number` such as `1.5`, truncated to whole nanoseconds.
fn scaled(number: &str, unit: u64) -> Option<u128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut result = whole.checked_mul(unit as u128)?;
    let mut scale = unit as u128;
    for digit in fraction.bytes() {
        scale /= 10;
        if scale == 0 {
            break;
        }
        result = result.checked_add(u128::from(digit - b'0') * scale)?;
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        let cases: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (1_500_000_000, "1.5s"),
            (90 * SECOND as i64, "1m30s"),
            (HOUR as i64, "1h0m0s"),
            (-(HOUR as i64) - 1, "-1h0m0.000000001s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ];
        for (nanos, text) in cases {
            assert_eq!(format(*nanos), *text, "{nanos}");
        }
    }

    #[test]
    fn parses_like_go() {
        assert_eq!(parse("1h0m0s"), Ok(HOUR as i64));
        assert_eq!(parse("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse("-300ms"), Ok(-300_000_000));
        assert_eq!(parse("1h30m"), Ok((HOUR + 30 * MINUTE) as i64));
        assert_eq!(parse("2µs3ns"), Ok(2_003));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("-2562047h47m16.854775808s"), Ok(i64::MIN));
        assert_eq!(
            parse("2562047h47m16.854775808s"),
            Err(DurationError::Overflow)
        );
        assert_eq!(parse("5"), Err(DurationError::MissingUnit(1)));
        assert_eq!(parse("5d"), Err(DurationError::UnknownUnit("d".into())));
        assert_eq!(parse(""), Err(DurationError::Empty));
        assert_eq!(parse("h"), Err(DurationError::ExpectedNumber(0)));
    }

    #[test]
    fn round_trips() {
        for nanos in [
            1,
            999,
            1_000_001,
            59 * SECOND as i64,
            25 * HOUR as i64 + 7,
            -42,
        ] {
            assert_eq!(parse(&format(nanos)), Ok(nanos), "{}", format(nanos));
        }
    }
}
