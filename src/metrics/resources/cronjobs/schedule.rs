//! CronJob schedules exactly as KSM reads them: `github.com/netresearch/go-cron`'s
//! `ParseStandard` (a robfig/cron v3 descendant) on `CRON_TZ=<spec.timeZone> <schedule>`,
//! and its `SpecSchedule.Next` walk over wall-clock fields.
//!
//! Why not a crate: the Rust cron crates differ from this parser where it shows in
//! the metrics. `cron` wants 6–7 fields (seconds first); `croner` and `saffron`
//! match day-of-month OR day-of-week when both are restricted, where go-cron's
//! standard parser requires both (AND); none rejects a step as large as its range
//! (`*/60`, `*/32` in KSM's cases), accepts `?`, wrap-around ranges (`22-2`,
//! `FRI-MON`) and Go's duration syntax for `@every`, or steps through DST gaps
//! with go-cron's rules (a skipped hour counts as matched). The parser is small,
//! so it is written here against go-cron's documented grammar. Time zones come
//! from `jiff` (system zoneinfo, bundled IANA data as fallback, like Go's
//! `LoadLocation` with `time/tzdata` embedded, which KSM does).

use std::sync::LazyLock;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::metrics::kube::GO_ZERO_TIME_UNIX;

/// A parsed schedule. `next` takes and returns Unix seconds.
#[derive(Debug, Clone)]
pub enum Schedule {
    Fields(Fields),
    /// `@every <duration>`, in whole seconds (at least one).
    Every(i64),
    /// `@triggered`, `@manual`, `@none`: never due; `Next` is Go's zero time.
    Never,
}

/// A five-field (or descriptor) schedule: one bit per allowed value.
#[derive(Debug, Clone)]
pub struct Fields {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    /// Sunday is bit 0 (`7` is folded into it).
    dow: u64,
    zone: TimeZone,
}

/// The schedule as KSM parses it: with `CRON_TZ=<zone> ` prepended when the
/// CronJob names a time zone. `None` when it does not parse (or the zone is unknown).
pub fn parse(schedule: &str, time_zone: Option<&str>) -> Option<Schedule> {
    match time_zone {
        Some(zone) => parse_spec(&format!("CRON_TZ={zone} {schedule}")),
        None => parse_spec(schedule),
    }
}

impl Schedule {
    /// The first activation strictly after `after` (Unix seconds).
    pub fn next(&self, after: i64) -> i64 {
        match self {
            Schedule::Fields(fields) => fields.next(after),
            Schedule::Every(seconds) => after.saturating_add(*seconds),
            Schedule::Never => GO_ZERO_TIME_UNIX,
        }
    }
}

// ---- parsing -------------------------------------------------------------------

const MAX_SPEC_LENGTH: usize = 1024;
const STAR: u64 = 1 << 63;

struct Bounds {
    min: u32,
    max: u32,
    names: &'static [(&'static str, u32)],
}

const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
#[rustfmt::skip]
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[("jan", 1), ("feb", 2), ("mar", 3), ("apr", 4), ("may", 5), ("jun", 6),
             ("jul", 7), ("aug", 8), ("sep", 9), ("oct", 10), ("nov", 11), ("dec", 12)],
};
#[rustfmt::skip]
const DOW: Bounds = Bounds {
    min: 0,
    max: 7,
    names: &[("sun", 0), ("mon", 1), ("tue", 2), ("wed", 3), ("thu", 4), ("fri", 5), ("sat", 6)],
};

fn parse_spec(spec: &str) -> Option<Schedule> {
    if spec.is_empty() || spec.len() > MAX_SPEC_LENGTH {
        return None;
    }
    let (zone, spec) = split_time_zone(spec)?;
    if spec.starts_with('@') {
        return descriptor(spec, zone);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = fields.as_slice() else {
        return None;
    };
    // Quartz extensions (L, W, #) are off in the standard parser; Jenkins' H too,
    // which never parses as a number or name anyway.
    let upper_dom = dom.to_ascii_uppercase();
    if upper_dom.contains('L') || upper_dom.contains('W') || dow.contains('#') {
        return None;
    }
    Some(Schedule::Fields(Fields {
        minute: field(minute, &MINUTES)?,
        hour: field(hour, &HOURS)?,
        dom: field(dom, &DOM)?,
        month: field(month, &MONTHS)?,
        dow: fold_sunday(field(dow, &DOW)?),
        zone,
    }))
}

/// A leading `TZ=<zone> ` or `CRON_TZ=<zone> ` (quotes around the zone allowed):
/// the zone and the rest; the process's local zone without one.
fn split_time_zone(spec: &str) -> Option<(TimeZone, &str)> {
    if !spec.starts_with("TZ=") && !spec.starts_with("CRON_TZ=") {
        return Some((go_local().clone(), spec));
    }
    let space = spec.find(' ')?;
    let equals = spec.find('=')?;
    let mut name = spec.get(equals + 1..space)?;
    if name.len() >= 2 {
        let quoted = |q: char| name.starts_with(q) && name.ends_with(q);
        if quoted('"') || quoted('\'') {
            name = &name[1..name.len() - 1];
        }
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+' | ':');
    if name.is_empty() || name.len() > 64 || !name.chars().all(allowed) {
        return None;
    }
    let zone = load_location(name)?;
    let rest = spec[space..].trim();
    (!rest.is_empty()).then_some((zone, rest))
}

/// Go's `time.LoadLocation`: `""`/`UTC`, `Local`, or an IANA name spelled exactly
/// as in the database (Go looks it up as a file name, so case matters).
fn load_location(name: &str) -> Option<TimeZone> {
    match name {
        "" | "UTC" => Some(TimeZone::UTC),
        "Local" => Some(go_local().clone()),
        _ if name.contains("..") || name.starts_with('/') || name.starts_with('\\') => None,
        _ => named_zone(name),
    }
}

fn named_zone(name: &str) -> Option<TimeZone> {
    TimeZone::get(name)
        .ok()
        .filter(|zone| zone.iana_name() == Some(name))
}

/// Go's `time.Local`, settled once per process as Go does: `TZ` unset reads
/// `/etc/localtime`; `TZ=""` or `TZ=UTC` is UTC; `TZ=[:]<name>` or `TZ=[:]/<path>`
/// loads that zone; anything that fails to load is UTC.
pub fn go_local() -> &'static TimeZone {
    static LOCAL: LazyLock<TimeZone> =
        LazyLock::new(|| local_zone(std::env::var("TZ").ok().as_deref()));
    &LOCAL
}

fn local_zone(tz: Option<&str>) -> TimeZone {
    let from_file = |path: &str| {
        std::fs::read(path)
            .ok()
            .and_then(|data| TimeZone::tzif("Local", &data).ok())
    };
    let zone = match tz {
        None => from_file("/etc/localtime"),
        Some(tz) => {
            let tz = tz.strip_prefix(':').unwrap_or(tz);
            if tz.starts_with('/') {
                from_file(tz)
            } else if !tz.is_empty() && tz != "UTC" {
                named_zone(tz)
            } else {
                None
            }
        }
    };
    zone.unwrap_or(TimeZone::UTC)
}

/// `@yearly` … `@hourly`, `@every <duration>` (at least a second, whole seconds
/// kept), `@triggered`/`@manual`/`@none`.
fn descriptor(spec: &str, zone: TimeZone) -> Option<Schedule> {
    let all = |b: &Bounds| bits(b.min, b.max, 1) | STAR;
    let fields = |hour, dom, month, dow| {
        Some(Schedule::Fields(Fields {
            minute: 1,
            hour,
            dom,
            month,
            dow: fold_sunday(dow),
            zone: zone.clone(),
        }))
    };
    match spec {
        "@yearly" | "@annually" => fields(1, 1 << 1, 1 << 1, all(&DOW)),
        "@monthly" => fields(1, 1 << 1, all(&MONTHS), all(&DOW)),
        "@weekly" => fields(1, all(&DOM), all(&MONTHS), 1),
        "@daily" | "@midnight" => fields(1, all(&DOM), all(&MONTHS), all(&DOW)),
        "@hourly" => fields(all(&HOURS), all(&DOM), all(&MONTHS), all(&DOW)),
        "@triggered" | "@manual" | "@none" => Some(Schedule::Never),
        _ => {
            let nanos = go_duration(spec.strip_prefix("@every ")?)?;
            (nanos >= NANOS_PER_SECOND).then_some(Schedule::Every(nanos / NANOS_PER_SECOND))
        }
    }
}

/// A comma-separated list of ranges (empty items are skipped, as Go's
/// `strings.FieldsFunc` does).
fn field(text: &str, b: &Bounds) -> Option<u64> {
    text.split(',')
        .filter(|r| !r.is_empty())
        .try_fold(0, |acc, r| Some(acc | range(r, b)?))
}

/// `*`, `?`, `n`, `n-m`, each with an optional `/step`; `n/step` runs to the
/// maximum; a range may wrap around (`22-2`); a step must be smaller than its range.
fn range(expr: &str, b: &Bounds) -> Option<u64> {
    let mut parts = expr.split('/');
    let span = parts.next()?;
    let step = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let ends: Vec<&str> = span.split('-').collect();
    let (start, mut end, mut extra) = if ends[0] == "*" || ends[0] == "?" {
        (b.min, b.max, STAR)
    } else {
        match ends.as_slice() {
            [single] => {
                let v = number_or_name(single, b)?;
                (v, v, 0)
            }
            [low, high] => (number_or_name(low, b)?, number_or_name(high, b)?, 0),
            _ => return None,
        }
    };
    let step = match step {
        None => 1,
        Some(step) => {
            let step = number(step)?;
            if ends.len() == 1 {
                end = b.max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
    };
    if start < b.min || end > b.max || step == 0 {
        return None;
    }
    let size = if start > end {
        (b.max - start + 1) + (end - b.min + 1)
    } else {
        end - start + 1
    };
    if step > 1 && step >= size {
        return None;
    }
    if start > end {
        let width = b.max - b.min + 1;
        let mut out = 0;
        let mut i = start;
        while i <= end + width {
            let v = if i > b.max {
                (i - b.min) % width + b.min
            } else {
                i
            };
            out |= 1 << v;
            i += step;
        }
        return Some(out | extra);
    }
    Some(bits(start, end, step) | extra)
}

fn number_or_name(text: &str, b: &Bounds) -> Option<u32> {
    let lower = text.to_ascii_lowercase();
    match b.names.iter().find(|(name, _)| *name == lower) {
        Some(&(_, value)) => Some(value),
        None => number(text),
    }
}

/// Go's `strconv.Atoi` (a leading `+` allowed), non-negative; values too large for
/// any field still parse and then fail the range check.
fn number(text: &str) -> Option<u32> {
    let value: i64 = text.parse().ok()?;
    if value < 0 {
        return None;
    }
    Some(u32::try_from(value).unwrap_or(u32::MAX))
}

fn bits(low: u32, high: u32, step: u32) -> u64 {
    (low..=high)
        .step_by(step as usize)
        .fold(0, |acc, i| acc | 1 << i)
}

fn fold_sunday(dow: u64) -> u64 {
    if dow & (1 << 7) != 0 {
        (dow | 1) & !(1 << 7)
    } else {
        dow
    }
}

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// Go's `time.ParseDuration`, in nanoseconds.
fn go_duration(text: &str) -> Option<i64> {
    const LIMIT: u64 = 1 << 63;
    let (negative, mut s) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if s == "0" {
        return Some(0);
    }
    if s.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !(s.starts_with('.') || s.starts_with(|c: char| c.is_ascii_digit())) {
            return None;
        }
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let mut whole: u64 = 0;
        for d in s[..digits].bytes() {
            whole = whole.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            if whole > LIMIT {
                return None;
            }
        }
        s = &s[digits..];
        let (mut fraction, mut scale, mut fraction_digits) = (0u64, 1f64, 0);
        if let Some(rest) = s.strip_prefix('.') {
            fraction_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let mut overflow = false;
            for d in rest[..fraction_digits].bytes() {
                if overflow {
                    continue;
                }
                match fraction.checked_mul(10).map(|f| f + u64::from(d - b'0')) {
                    Some(f) if f <= LIMIT && fraction <= (LIMIT - 1) / 10 => {
                        fraction = f;
                        scale *= 10.0;
                    }
                    _ => overflow = true,
                }
            }
            s = &rest[fraction_digits..];
        } else if digits == 0 {
            return None;
        }
        if digits == 0 && fraction_digits == 0 {
            return None;
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        let unit: u64 = match &s[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        s = &s[unit_len..];
        if whole > LIMIT / unit {
            return None;
        }
        let mut v = whole * unit;
        if fraction > 0 {
            v += (fraction as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return None;
            }
        }
        total = total.checked_add(v).filter(|&t| t <= LIMIT)?;
    }
    if negative {
        return Some((total as i128).wrapping_neg() as i64);
    }
    i64::try_from(total).ok()
}

// ---- next activation -----------------------------------------------------------

/// Wall-clock fields of an instant in a zone.
#[derive(Debug, Clone, Copy)]
struct Wall {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    /// Sunday = 0.
    weekday: i64,
}

impl Fields {
    fn offset(&self, unix: i64) -> i64 {
        Timestamp::from_second(unix)
            .map(|t| i64::from(self.zone.to_offset(t).seconds()))
            .unwrap_or(0)
    }

    fn wall(&self, unix: i64) -> Wall {
        let local = unix + self.offset(unix);
        let days = local.div_euclid(86_400);
        let seconds = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Wall {
            year,
            month,
            day,
            hour: seconds / 3600,
            minute: seconds / 60 % 60,
            second: seconds % 60,
            weekday: (days + 4).rem_euclid(7),
        }
    }

    /// Go's `time.Date` in the zone: overflowing months and days roll over; a wall
    /// time in a gap or overlap takes the offset in force just before it (Go's rule).
    fn date(&self, year: i64, month: i64, day: i64, time: (i64, i64, i64)) -> i64 {
        let (hour, minute, second) = time;
        let year = year + (month - 1).div_euclid(12);
        let month = (month - 1).rem_euclid(12) + 1;
        let wall = (days_from_civil(year, month, 1) + day - 1) * 86_400
            + hour * 3600
            + minute * 60
            + second;
        wall - self.offset(wall - self.offset(wall))
    }

    /// Go's `AddDate(0, months, days)`: the same wall-clock time that many months
    /// and days later.
    fn add_date(&self, t: i64, months: i64, days: i64) -> i64 {
        let w = self.wall(t);
        let time = (w.hour, w.minute, w.second);
        self.date(w.year, w.month + months, w.day + days, time)
    }

    fn day_matches(&self, w: &Wall) -> bool {
        // go-cron's standard parser requires day of month AND day of week.
        has(self.dom, w.day) && has(self.dow, w.weekday)
    }

    /// go-cron's `SpecSchedule.Next`, step for step (the seconds field is always 0).
    fn next(&self, after: i64) -> i64 {
        if [self.minute, self.hour, self.dom, self.month, self.dow]
            .iter()
            .any(|b| b & !STAR == 0)
        {
            // An empty field never matches: Next gives up after its five-year search.
            return GO_ZERO_TIME_UNIX;
        }
        let mut t = after + 1;
        let year_limit = self.wall(t).year + 5;
        let mut added = false;
        'wrap: loop {
            if self.wall(t).year > year_limit {
                return GO_ZERO_TIME_UNIX;
            }
            while !has(self.month, self.wall(t).month) {
                if !added {
                    added = true;
                    let w = self.wall(t);
                    t = self.date(w.year, w.month, 1, (0, 0, 0));
                }
                t = self.add_date(t, 1, 0);
                if self.wall(t).month == 1 {
                    continue 'wrap;
                }
            }
            while !self.day_matches(&self.wall(t)) {
                if !added {
                    added = true;
                    let w = self.wall(t);
                    t = self.date(w.year, w.month, w.day, (0, 0, 0));
                }
                t = self.add_date(t, 0, 1);
                // Back to midnight after a DST shift moved the day's start.
                let hour = self.wall(t).hour;
                if hour > 12 {
                    t += (24 - hour) * 3600;
                } else {
                    t -= hour * 3600;
                }
                if self.wall(t).day == 1 {
                    continue 'wrap;
                }
            }
            while !has(self.hour, self.wall(t).hour) {
                if !added {
                    added = true;
                    let w = self.wall(t);
                    t = self.date(w.year, w.month, w.day, (w.hour, 0, 0));
                }
                let previous = self.wall(t).hour;
                t += 3600;
                let current = self.wall(t).hour;
                // A wanted hour skipped by a DST jump counts as reached.
                if current - previous == 2 && has(self.hour, current - 1) {
                    break;
                }
                if current == 0 {
                    continue 'wrap;
                }
            }
            while !has(self.minute, self.wall(t).minute) {
                if !added {
                    added = true;
                    t -= t.rem_euclid(60);
                }
                t += 60;
                if self.wall(t).minute == 0 {
                    continue 'wrap;
                }
            }
            // go-cron does not carry the seconds step's `added` back to the loop.
            while self.wall(t).second != 0 {
                t += 1;
                if self.wall(t).second == 0 {
                    continue 'wrap;
                }
            }
            return t;
        }
    }
}

fn has(bits: u64, value: i64) -> bool {
    (0..63).contains(&value) && bits & (1 << value) != 0
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1–12, any day).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Next activation of `spec` in UTC (or the spec's own `CRON_TZ=`).
    fn next(spec: &str, zone: Option<&str>, after: i64) -> i64 {
        let zone = zone.or(Some("UTC"));
        match parse(spec, zone) {
            Some(schedule) => schedule.next(after),
            None => panic!("{spec:?} should parse"),
        }
    }

    #[test]
    fn accepts_what_the_standard_parser_accepts() {
        for spec in [
            "0 */6 * * *",
            "*/59 * * * *",
            "0 22-2 * * *",
            "0 0 * * FRI-MON",
            "0 0 ? * 7",
            "0 0 1,15 jan-MAR *",
            "1,,2 * * * *",
            "+5 * * * *",
            "5/15 * * * *",
            "@hourly",
            "@annually",
            "@every 1h30m",
            "@none",
            "TZ=Europe/Berlin 0 * * * *",
            "CRON_TZ='Asia/Tokyo' @daily",
        ] {
            assert!(parse(spec, None).is_some(), "{spec:?}");
        }
    }

    #[test]
    fn rejects_what_the_standard_parser_rejects() {
        for spec in [
            "",
            "*/60 * * * *",
            "*/120 4-22 * * *",
            "0 1 */32,1-7 * 3",
            "5-5/2 * * * *",
            "0 0 0 * *",
            "0 24 * * *",
            "0 0 * 13 *",
            "0 0 * * 8",
            "0 0 L * *",
            "0 0 15W * *",
            "0 0 * * FRI#3",
            "H * * * *",
            "* * * *",
            "0 * * * * *",
            "*/0 * * * *",
            "1-2-3 * * * *",
            "1/2/3 * * * *",
            "jan * * * *",
            "@bogus",
            " @hourly",
            "@every 500ms",
            "@every 1",
            "@every",
            "TZ=UTC",
            "TZ= 0 * * * *",
            "TZ=Nowhere/Zone 0 * * * *",
            "TZ=../etc 0 * * * *",
        ] {
            assert!(parse(spec, None).is_none(), "{spec:?}");
        }
        assert!(parse("0 * * * *", Some("Invalid/Zone")).is_none());
        // Go looks zones up by file name: the spelling must be exact.
        assert!(parse("0 * * * *", Some("asia/shanghai")).is_none());
        assert!(parse("0 * * * *", Some("Asia Shanghai")).is_none());
        assert!(parse("0 * * * *", Some("")).is_none());
        assert!(parse("0 * * * *", Some("Asia/Shanghai")).is_some());
    }

    #[test]
    fn next_follows_the_zone() {
        // KSM's cases: 2018-03-11T04:34:56Z, every six hours.
        assert_eq!(next("0 */6 * * *", None, 1_520_742_896), 1_520_748_000);
        assert_eq!(
            next("0 */6 * * *", Some("Asia/Shanghai"), 1_520_742_896),
            1_520_762_400
        );
    }

    #[test]
    fn day_of_month_and_day_of_week_must_both_match() {
        // After Monday 2024-01-01: the next first of a month that is a Monday.
        assert_eq!(next("0 0 1 * MON", None, 1_704_067_200), 1_711_929_600);
        // Sunday as 7, after Monday 2024-01-01.
        assert_eq!(next("0 0 * * 7", None, 1_704_067_200), 1_704_585_600);
    }

    #[test]
    fn ranges_wrap_around() {
        // 2024-01-01T02:30Z -> 22:00 the same day.
        assert_eq!(next("0 22-2 * * *", None, 1_704_076_200), 1_704_146_400);
    }

    #[test]
    fn impossible_dates_give_go_zero_time() {
        assert_eq!(next("0 0 30 2 *", None, 1_704_067_200), GO_ZERO_TIME_UNIX);
        assert_eq!(next(", * * * *", None, 1_704_067_200), GO_ZERO_TIME_UNIX);
        assert_eq!(next("@triggered", None, 1_704_067_200), GO_ZERO_TIME_UNIX);
    }

    #[test]
    fn every_adds_whole_seconds() {
        assert_eq!(next("@every 90m", None, 1_000), 1_000 + 5_400);
        assert_eq!(next("@every 1.5s", None, 1_000), 1_001);
    }

    #[test]
    fn dst_gaps_and_overlaps_step_like_go_cron() {
        let ny = Some("America/New_York");
        // 02:30 does not exist on 2024-03-10; the skipped hour counts as reached and
        // the run lands at 03:30 EDT (07:30Z). From 2024-03-09T08:00Z.
        assert_eq!(next("30 2 * * *", ny, 1_709_971_200), 1_710_055_800);
        // 01:30 happens twice on 2024-11-03; Next returns both.
        assert_eq!(next("30 1 * * *", ny, 1_730_610_000), 1_730_611_800);
        assert_eq!(next("30 1 * * *", ny, 1_730_611_800), 1_730_615_400);
    }

    #[test]
    fn local_zone_reads_tz_like_go() {
        let name = |tz: Option<&str>| local_zone(tz).iana_name().map(str::to_string);
        assert_eq!(name(Some("")), Some("UTC".into()));
        assert_eq!(name(Some("UTC")), Some("UTC".into()));
        assert_eq!(name(Some("Asia/Tokyo")), Some("Asia/Tokyo".into()));
        assert_eq!(name(Some(":Asia/Tokyo")), Some("Asia/Tokyo".into()));
        assert_eq!(name(Some("asia/tokyo")), Some("UTC".into()));
        assert_eq!(name(Some("Nowhere/Zone")), Some("UTC".into()));
        assert_eq!(name(Some("/nonexistent/zone")), Some("UTC".into()));
    }

    #[test]
    fn durations_parse_like_go() {
        const S: i64 = NANOS_PER_SECOND;
        assert_eq!(go_duration("1h30m"), Some(5_400 * S));
        assert_eq!(go_duration("1.5h"), Some(5_400 * S));
        assert_eq!(go_duration(".5s"), Some(S / 2));
        assert_eq!(go_duration("-1s"), Some(-S));
        assert_eq!(go_duration("0"), Some(0));
        assert_eq!(go_duration("1µs"), Some(1_000));
        assert_eq!(go_duration("9223372036854775807ns"), Some(i64::MAX));
        for bad in ["", "1", ".", "1e3s", "1 h", "9223372036854775808ns", "h"] {
            assert_eq!(go_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-719_468, -1, 0, 59, 19_723, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(
            days_from_civil(2024, 3, 1) - days_from_civil(2024, 2, 1),
            29
        );
    }
}
