//! Durations in Go's `time.ParseDuration` syntax, the one syntax every duration flag
//! takes (KSM's timeouts are Go durations, so manifests written for it carry over).

use std::time::Duration;

/// Parses `300ms`, `1.5h`, `2h45m`, `1m0s`, `0`. Negative durations are refused (no
/// flag here has a use for them).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let invalid = || format!("invalid duration {text:?} (examples: 5s, 1m0s, 1h30m, 250ms)");
    if text.is_empty() || text.starts_with('-') {
        return Err(invalid());
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let number: f64 = rest[..number_end].parse().map_err(|_| invalid())?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(invalid()),
        };
        nanos += number * scale;
        rest = &rest[unit_end..];
    }
    if !nanos.is_finite() || nanos > u64::MAX as f64 {
        return Err(invalid());
    }
    // Rounding to whole nanoseconds is what Go does too.
    Ok(Duration::from_nanos(nanos.round() as u64))
}

/// Formats like Go's `Duration.String` for whole milliseconds: `5s`, `1m0s`, `5m0s`,
/// `1h0m0s`, so `--validate-config` prints defaults the way KSM documents them.
pub fn format(duration: Duration) -> String {
    if duration.is_zero() {
        return "0s".to_string();
    }
    let millis = duration.as_millis();
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let hours = millis / 3_600_000;
    let minutes = millis / 60_000 % 60;
    let seconds = millis % 60_000;
    let seconds = if seconds % 1000 == 0 {
        format!("{}s", seconds / 1000)
    } else {
        format!("{}s", (seconds as f64) / 1000.0)
    };
    match (hours, minutes) {
        (0, 0) => seconds,
        (0, m) => format!("{m}m{seconds}"),
        (h, m) => format!("{h}h{m}m{seconds}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse("1m0s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        for bad in ["", "5", "-5s", "5x", "s", "1m0", "abc"] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn go_duration_formatting() {
        assert_eq!(format(Duration::from_secs(5)), "5s");
        assert_eq!(format(Duration::from_secs(60)), "1m0s");
        assert_eq!(format(Duration::from_secs(300)), "5m0s");
        assert_eq!(format(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format(Duration::ZERO), "0s");
    }
}
